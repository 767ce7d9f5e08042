// Port of mio's tests/unix_datagram.rs.
//
// Not applicable (Rust-only): is_send_and_sync (UnixDatagram is
// Send + Sync).
//
// The `_from_std` variants bind (and connect) node-mio sockets, take their
// descriptors out with `detachFd()`, make them blocking again as std's
// sockets are, and adopt them with `UnixDatagram.fromFd` (which makes them
// non-blocking; the smoke tests check the flag).
//
// mio's platform ignores (Hurd, Cygwin, Solaris, NTO) do not concern Linux;
// they are mapped to Node.js's `sunos`/`cygwin` where they exist.
import test, { type ExecutionContext } from 'ava'
import { join } from 'node:path'
import { Interest, Token, UnixDatagram, type Events, type Poll, type UnixRemoteInfo } from 'node-mio'
import { assertCloseOnExec, assertNonBlocking, makeBlocking } from './support/descriptors.ts'
import { expectEvents, expectNoEvents, initWithPoll } from './support/events.ts'
import { tempDir } from './support/sockets.ts'
import { expectQuietRegistration } from './support/shared-b-fixtures.ts'

const DATA1 = Buffer.from('Hello same host!')
const DATA2 = Buffer.from('Why hello mio!')
const DEFAULT_BUF_SIZE = 64
const TOKEN_1 = Token(0)
const TOKEN_2 = Token(1)

const unix = process.platform === 'win32' ? test.skip : test
/** mio: "getting pathname isn't supported on Cygwin" (and GNU/Hurd). */
const pathnames = process.platform === 'win32' || (process.platform as string) === 'cygwin' ? test.skip : test
/** mio: "POLLRDHUP isn't supported on Solaris/Cygwin" (and Hurd, NTO). */
const rdhup = process.platform === 'win32' || process.platform === 'sunos' || (process.platform as string) === 'cygwin' ? test.skip : test

/**
 * The smoke tests' sockets: bound to two fresh paths named after the test,
 * connected to each other if `connected`, and with `fromStd` taken out as
 * blocking descriptors and adopted with `fromFd` (mio's `from_std`).
 */
function smokePair(t: ExecutionContext, name: string, connected: boolean, fromStd: boolean): [UnixDatagram, UnixDatagram] {
  const dir = tempDir(t)
  const path1 = join(dir, `${name}1`)
  const path2 = join(dir, `${name}2`)
  const datagram1 = UnixDatagram.bind(path1)
  const datagram2 = UnixDatagram.bind(path2)
  if (connected) {
    datagram1.connect(path2)
    datagram2.connect(path1)
  }
  if (!fromStd) return [datagram1, datagram2]
  return [UnixDatagram.fromFd(makeBlocking(datagram1.detachFd())), UnixDatagram.fromFd(makeBlocking(datagram2.detachFd()))]
}

// [name, connected, from_std]: the unconnected ones need pathnames.
const smokeTests: Array<[string, boolean, boolean]> = [
  ['unix_datagram_smoke_unconnected', false, false],
  ['unix_datagram_smoke_connected', true, false],
  ['unix_datagram_smoke_unconnected_from_std', false, true],
  ['unix_datagram_smoke_connected_from_std', true, true],
]
for (const [name, connected, fromStd] of smokeTests) {
  ;(connected ? unix : pathnames)(name, (t) => {
    const [first, second] = smokePair(t, name, connected, fromStd)
    using datagram1 = first
    using datagram2 = second
    if (connected) smokeTestConnected(t, datagram1, datagram2)
    else smokeTestUnconnected(t, datagram1, datagram2)
  })
}

unix('unix_datagram_connect', (t) => {
  const dir = tempDir(t)
  const path1 = join(dir, 'unix_datagram_connect1')
  const path2 = join(dir, 'unix_datagram_connect2')

  using datagram1 = UnixDatagram.bind(path1)
  const datagram1Local = datagram1.localAddr()
  using datagram2 = UnixDatagram.bind(path2)
  const datagram2Local = datagram2.localAddr()

  if (!('path' in datagram1Local) || !('path' in datagram2Local)) return void t.fail('failed to get pathname')
  t.notThrows(() => datagram1.connect(datagram1Local.path))
  t.notThrows(() => datagram2.connect(datagram2Local.path))
})

unix('unix_datagram_pair', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll

  const [datagram1, datagram2] = UnixDatagram.pair()
  using _datagram1 = datagram1
  using _datagram2 = datagram2
  exchangeConnected(t, poll, events, datagram1, datagram2)
})

rdhup('unix_datagram_shutdown', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const dir = tempDir(t)
  const path1 = join(dir, 'unix_datagram_shutdown1')
  const path2 = join(dir, 'unix_datagram_shutdown2')

  using datagram1 = UnixDatagram.bind(path1)
  using datagram2 = UnixDatagram.bind(path2)

  poll.registry.register(datagram1, TOKEN_1, Interest.WRITABLE.add(Interest.READABLE))
  poll.registry.register(datagram2, TOKEN_2, Interest.WRITABLE.add(Interest.READABLE))

  datagram1.connect(path2)
  expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['writable'] }])

  checkedWrite(t, datagram1.send(DATA1), DATA1)
  expectEvents(t, poll, events, [{ token: TOKEN_2, readiness: ['readable'] }])

  datagram1.shutdown('read')
  expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['readClosed'] }])

  datagram1.shutdown('write')
  expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['writeClosed'] }])

  t.throws(() => datagram1.send(DATA2), { code: 'EPIPE' })

  t.is(datagram1.takeError(), null)
})

unix('unix_datagram_register', (t) => {
  const path = join(tempDir(t), 'unix_datagram_register')
  expectQuietRegistration(t, () => UnixDatagram.bind(path), TOKEN_1)
})

unix('unix_datagram_reregister', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const dir = tempDir(t)
  const path1 = join(dir, 'unix_datagram_reregister1')
  const path2 = join(dir, 'unix_datagram_reregister2')

  using datagram1 = UnixDatagram.bind(path1)
  poll.registry.register(datagram1, TOKEN_1, Interest.READABLE)

  using datagram2 = UnixDatagram.bind(path2)
  datagram2.connect(path1)
  poll.registry.reregister(datagram1, TOKEN_1, Interest.WRITABLE)
  expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['writable'] }])
})

unix('unix_datagram_deregister', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const dir = tempDir(t)
  const path1 = join(dir, 'unix_datagram_deregister1')
  const path2 = join(dir, 'unix_datagram_deregister2')

  using datagram1 = UnixDatagram.bind(path1)
  poll.registry.register(datagram1, TOKEN_1, Interest.WRITABLE)

  using datagram2 = UnixDatagram.bind(path2)
  datagram2.connect(path1)
  poll.registry.deregister(datagram1)
  expectNoEvents(t, poll, events)
})

// ---- node-mio's own checks --------------------------------------------------

unix('recvFrom names the sender: a path, an abstract name, or unnamed', (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'receiver')
  using receiver = UnixDatagram.bind(path)
  const buf = Buffer.alloc(DEFAULT_BUF_SIZE)

  using named = UnixDatagram.bind(join(dir, 'named'))
  checkedWrite(t, named.sendTo(DATA1, path), DATA1)
  t.deepEqual(receiver.recvFrom(buf), { path: join(dir, 'named'), size: DATA1.length })

  using unbound = UnixDatagram.unbound()
  t.deepEqual(unbound.localAddr(), { unnamed: true })
  checkedWrite(t, unbound.sendTo(DATA2, path), DATA2)
  t.deepEqual(receiver.recvFrom(buf), { unnamed: true, size: DATA2.length })

  if (process.platform === 'linux') {
    const name = `node-mio-dgram-${process.pid}-${Date.now()}`
    using abstract = UnixDatagram.bind({ abstract: name })
    t.deepEqual(abstract.localAddr(), { abstract: Buffer.from(name) })
    checkedWrite(t, abstract.sendTo(DATA1, path), DATA1)
    t.deepEqual(receiver.recvFrom(buf), { abstract: Buffer.from(name), size: DATA1.length })
  }

  t.is(receiver.recvFrom(buf), null, 'expected WouldBlock (null)')
})

unix('send errors are Node-style: ENOTCONN unconnected, ENOENT to a missing path', (t) => {
  const dir = tempDir(t)
  using datagram = UnixDatagram.unbound()
  t.throws(() => datagram.send(DATA1), { code: 'ENOTCONN' })
  t.throws(() => datagram.peerAddr(), { code: 'ENOTCONN' })
  t.throws(() => datagram.sendTo(DATA1, join(dir, 'missing')), { code: 'ENOENT' })
  t.throws(() => datagram.connect(join(dir, 'missing')), { code: 'ENOENT' })
})

/** Both registered for both interests as `TOKEN_1` and `TOKEN_2`, both writable at once. */
function registerBothWritable(t: ExecutionContext, poll: Poll, events: Events, datagram1: UnixDatagram, datagram2: UnixDatagram): void {
  poll.registry.register(datagram1, TOKEN_1, Interest.READABLE.add(Interest.WRITABLE))
  poll.registry.register(datagram2, TOKEN_2, Interest.READABLE.add(Interest.WRITABLE))
  expectEvents(t, poll, events, [
    { token: TOKEN_1, readiness: ['writable'] },
    { token: TOKEN_2, readiness: ['writable'] },
  ])
}

/** Both readable at once, after each sent the other a datagram. */
function expectBothReadable(t: ExecutionContext, poll: Poll, events: Events): void {
  expectEvents(t, poll, events, [
    { token: TOKEN_1, readiness: ['readable'] },
    { token: TOKEN_2, readiness: ['readable'] },
  ])
}

/**
 * mio's exchange over two connected datagram sockets: both writable, nothing
 * to receive, each sends the other one datagram and receives the other's.
 */
function exchangeConnected(t: ExecutionContext, poll: Poll, events: Events, datagram1: UnixDatagram, datagram2: UnixDatagram): void {
  registerBothWritable(t, poll, events, datagram1, datagram2)

  const buf = Buffer.alloc(DEFAULT_BUF_SIZE)
  t.is(datagram1.recv(buf), null, 'expected WouldBlock (null)')
  t.is(datagram2.recv(buf), null, 'expected WouldBlock (null)')

  checkedWrite(t, datagram1.send(DATA1), DATA1)
  checkedWrite(t, datagram2.send(DATA2), DATA2)
  expectBothReadable(t, poll, events)

  expectRead(t, datagram1.recv(buf), buf, DATA2)
  expectRead(t, datagram2.recv(buf), buf, DATA1)

  t.is(datagram1.takeError(), null)
  t.is(datagram2.takeError(), null)
}

function smokeTestUnconnected(t: ExecutionContext, datagram1: UnixDatagram, datagram2: UnixDatagram): void {
  const { poll, events } = initWithPoll()
  using _poll = poll

  // A blocking socket would hang in recvFrom() below.
  if (!assertNonBlocking(t, datagram1.fd) || !assertNonBlocking(t, datagram2.fd)) return
  assertCloseOnExec(t, datagram1.fd)
  assertCloseOnExec(t, datagram2.fd)

  const addr1 = datagram1.localAddr()
  const addr2 = datagram2.localAddr()
  if (!('path' in addr1) || !('path' in addr2)) return void t.fail('failed to get pathname')
  const path1 = addr1.path
  const path2 = addr2.path

  registerBothWritable(t, poll, events, datagram1, datagram2)

  const buf = Buffer.alloc(DEFAULT_BUF_SIZE)
  t.is(datagram1.recvFrom(buf), null, 'expected WouldBlock (null)')
  t.is(datagram2.recvFrom(buf), null, 'expected WouldBlock (null)')

  checkedWrite(t, datagram1.sendTo(DATA1, path2), DATA1)
  checkedWrite(t, datagram2.sendTo(DATA2, path1), DATA2)
  expectBothReadable(t, poll, events)

  expectReadFrom(t, datagram1.recvFrom(buf), buf, DATA2, path2)
  expectReadFrom(t, datagram2.recvFrom(buf), buf, DATA1, path1)

  t.is(datagram1.takeError(), null)
  t.is(datagram2.takeError(), null)
}

function smokeTestConnected(t: ExecutionContext, datagram1: UnixDatagram, datagram2: UnixDatagram): void {
  const { poll, events } = initWithPoll()
  using _poll = poll

  if (!assertNonBlocking(t, datagram1.fd) || !assertNonBlocking(t, datagram2.fd)) return
  assertCloseOnExec(t, datagram1.fd)
  assertCloseOnExec(t, datagram2.fd)

  const localAddr1 = datagram1.localAddr()
  const peerAddr1 = datagram1.peerAddr()
  const localAddr2 = datagram2.localAddr()
  const peerAddr2 = datagram2.peerAddr()
  t.true('path' in localAddr1, 'failed to get pathname')
  t.true('path' in localAddr2, 'failed to get pathname')
  t.deepEqual(localAddr1, peerAddr2)
  t.deepEqual(localAddr2, peerAddr1)

  exchangeConnected(t, poll, events, datagram1, datagram2)
}

/** mio's `checked_write!`: the whole datagram went out. */
function checkedWrite(t: ExecutionContext, n: number | null, data: Uint8Array): void {
  t.is(n, data.length, 'short write')
}

/** mio's `expect_read!` for recv. */
function expectRead(t: ExecutionContext, n: number | null, buf: Buffer, expected: Uint8Array): void {
  t.is(n, expected.length)
  t.deepEqual(buf.subarray(0, n ?? 0), Buffer.from(expected))
}

/** mio's `expect_read!(... , path: source)` for recv_from. */
function expectReadFrom(t: ExecutionContext, info: UnixRemoteInfo | null, buf: Buffer, expected: Uint8Array, source: string): void {
  t.not(info, null, 'unable to read from socket: WouldBlock (null)')
  if (info === null) return
  t.is(info.size, expected.length)
  t.deepEqual(buf.subarray(0, info.size), Buffer.from(expected))
  t.deepEqual('path' in info ? info.path : info, source, 'failed to get pathname')
}
