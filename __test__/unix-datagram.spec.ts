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
import { expectBothReadable, expectQuietRegistration, pollWith, registerBothWritable, type PollScope } from './support/shared-b-fixtures.ts'

const DATA1 = Buffer.from('Hello same host!')
const DATA2 = Buffer.from('Why hello mio!')
const DEFAULT_BUF_SIZE = 64
const TOKEN_1 = Token(0)
const TOKEN_2 = Token(1)
const TOKENS: [Token, Token] = [TOKEN_1, TOKEN_2]

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
  const { path1, path2, datagram1, datagram2 } = bindTwo(t, name)
  if (connected) {
    datagram1.connect(path2)
    datagram2.connect(path1)
  }
  if (!fromStd) return [datagram1, datagram2]
  return [UnixDatagram.fromFd(makeBlocking(datagram1.detachFd())), UnixDatagram.fromFd(makeBlocking(datagram2.detachFd()))]
}

/** Two sockets bound to fresh paths named `${name}1` and `${name}2` (mio's `temp_file`). */
function bindTwo(t: ExecutionContext, name: string): { path1: string; path2: string; datagram1: UnixDatagram; datagram2: UnixDatagram } {
  const dir = tempDir(t)
  const path1 = join(dir, `${name}1`)
  const path2 = join(dir, `${name}2`)
  const datagram1 = UnixDatagram.bind(path1)
  try {
    return { path1, path2, datagram1, datagram2: UnixDatagram.bind(path2) }
  } catch (error) {
    datagram1.close()
    throw error
  }
}

/** {@link bindTwo} with a Poll, all closed together. */
function boundPair(t: ExecutionContext, name: string): PollScope<readonly [UnixDatagram, UnixDatagram]> & { path1: string; path2: string } {
  const { path1, path2, datagram1, datagram2 } = bindTwo(t, name)
  return { ...pollWith(datagram1, datagram2), path1, path2 }
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
    smokeTest(t, datagram1, datagram2, connected)
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
  using scope = pollWith(...UnixDatagram.pair())
  const { poll, events, owned: [datagram1, datagram2] } = scope
  exchange(t, poll, events, datagram1, datagram2)
})

rdhup('unix_datagram_shutdown', (t) => {
  using scope = boundPair(t, 'unix_datagram_shutdown')
  const { poll, events, owned: [datagram1, datagram2], path2 } = scope

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

/** {@link boundPair} with `datagram1` registered as TOKEN_1 for `interest`, then `datagram2` connected to it. */
function registeredThenConnected(t: ExecutionContext, name: string, interest: Interest): PollScope<readonly [UnixDatagram, UnixDatagram]> {
  const scope = boundPair(t, name)
  const [datagram1, datagram2] = scope.owned
  try {
    scope.poll.registry.register(datagram1, TOKEN_1, interest)

    datagram2.connect(scope.path1)
  } catch (error) {
    scope[Symbol.dispose]()
    throw error
  }
  return scope
}

unix('unix_datagram_reregister', (t) => {
  using scope = registeredThenConnected(t, 'unix_datagram_reregister', Interest.READABLE)
  const { poll, events, owned: [datagram1] } = scope
  poll.registry.reregister(datagram1, TOKEN_1, Interest.WRITABLE)
  expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['writable'] }])
})

unix('unix_datagram_deregister', (t) => {
  using scope = registeredThenConnected(t, 'unix_datagram_deregister', Interest.WRITABLE)
  const { poll, events, owned: [datagram1] } = scope
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

/**
 * mio's exchange over two datagram sockets: both writable, nothing to
 * receive, each sends the other one datagram and receives the other's.
 * Connected sockets use send/recv; with `paths` (the sockets' own, in
 * order) sendTo the other's path and recvFrom, which names the sender.
 */
function exchange(t: ExecutionContext, poll: Poll, events: Events, datagram1: UnixDatagram, datagram2: UnixDatagram, paths?: [string, string]): void {
  registerBothWritable(t, poll, events, [datagram1, datagram2], TOKENS)

  const buf = Buffer.alloc(DEFAULT_BUF_SIZE)
  const receive = (datagram: UnixDatagram) => (paths === undefined ? datagram.recv(buf) : datagram.recvFrom(buf))
  t.is(receive(datagram1), null, 'expected WouldBlock (null)')
  t.is(receive(datagram2), null, 'expected WouldBlock (null)')

  checkedWrite(t, paths === undefined ? datagram1.send(DATA1) : datagram1.sendTo(DATA1, paths[1]), DATA1)
  checkedWrite(t, paths === undefined ? datagram2.send(DATA2) : datagram2.sendTo(DATA2, paths[0]), DATA2)
  expectBothReadable(t, poll, events, TOKENS)

  if (paths === undefined) {
    expectRead(t, datagram1.recv(buf), buf, DATA2)
    expectRead(t, datagram2.recv(buf), buf, DATA1)
  } else {
    expectReadFrom(t, datagram1.recvFrom(buf), buf, DATA2, paths[1])
    expectReadFrom(t, datagram2.recvFrom(buf), buf, DATA1, paths[0])
  }

  t.is(datagram1.takeError(), null)
  t.is(datagram2.takeError(), null)
}

/** mio's smoke tests: both non-blocking and close-on-exec, their addresses, then the {@link exchange}. */
function smokeTest(t: ExecutionContext, datagram1: UnixDatagram, datagram2: UnixDatagram, connected: boolean): void {
  const { poll, events } = initWithPoll()
  using _poll = poll

  // A blocking socket would hang in recv() or recvFrom() below.
  if (!assertNonBlocking(t, datagram1.fd) || !assertNonBlocking(t, datagram2.fd)) return
  assertCloseOnExec(t, datagram1.fd)
  assertCloseOnExec(t, datagram2.fd)

  if (!connected) {
    const addr1 = datagram1.localAddr()
    const addr2 = datagram2.localAddr()
    if (!('path' in addr1) || !('path' in addr2)) return void t.fail('failed to get pathname')
    exchange(t, poll, events, datagram1, datagram2, [addr1.path, addr2.path])
    return
  }

  const localAddr1 = datagram1.localAddr()
  const peerAddr1 = datagram1.peerAddr()
  const localAddr2 = datagram2.localAddr()
  const peerAddr2 = datagram2.peerAddr()
  t.true('path' in localAddr1, 'failed to get pathname')
  t.true('path' in localAddr2, 'failed to get pathname')
  t.deepEqual(localAddr1, peerAddr2)
  t.deepEqual(localAddr2, peerAddr1)

  exchange(t, poll, events, datagram1, datagram2)
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
