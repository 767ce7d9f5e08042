// Port of mio's tests/udp_socket.rs.
//
// Not ported:
// - assert_size (release, Unix) and is_send_and_sync: Rust-only properties
//   (type sizes, Send + Sync).
// - unconnected_udp_socket_std, connected_udp_socket_std (`from_std`) and
//   udp_socket_raw_fd (`as_raw_fd`/`into_raw_fd`/`from_raw_fd`): handing a
//   descriptor in and out is tested in fd-handoff.spec.ts. The smoke tests
//   they share run through the _ipv4 and _ipv6 variants.
//
// mio's assert_socket_non_blocking and assert_socket_close_on_exec read
// fcntl(2) flags; here they read the same flags from /proc/self/fdinfo on
// Linux (and, as mio does on Windows, check nothing elsewhere).
//
// std threads become worker threads (`Peer`): udp_socket_reregister and
// udp_socket_no_events_after_deregister get their datagram from a node:dgram
// socket in a worker, sent after the registration as mio's barrier orders it.
import test, { type ExecutionContext } from 'ava'
import { Events, Interest, Poll, Token, UdpSocket, type RemoteInfo, type SocketAddress } from 'node-mio'
import { assertCloseOnExec, assertNonBlocking, socketFd } from './support/descriptors.ts'
import { expectEvents, expectNoEvents, initWithPoll } from './support/events.ts'
import { ANY_LOCAL, ANY_LOCAL_V6, defaultTtl } from './support/sockets.ts'
import { expectBothReadable, expectQuietRegistration, pollWith, registerBothWritable, type PollScope } from './support/shared-b-fixtures.ts'
import { Peer } from './support/workers.ts'

const DATA1 = Buffer.from('Hello world!')
const DATA2 = Buffer.from('Hello mars!')

const LISTENER = Token(0)
const SENDER = Token(1)
const ID1 = Token(2)
const ID2 = Token(3)
const ID3 = Token(4)

// ---- mio's util assertions, for UDP sockets -------------------------------

/** mio's `checked_write!`: the whole buffer went out. */
function checkedWrite(t: ExecutionContext, sent: number | null, data: Uint8Array): void {
  t.is(sent, data.length, 'short write')
}

/** mio's `expect_read!` for recv and peek. */
function expectRead(t: ExecutionContext, n: number | null, buf: Buffer, expected: Uint8Array): void {
  t.is(n, expected.length)
  t.deepEqual(buf.subarray(0, n ?? 0), Buffer.from(expected))
}

/** mio's `expect_read!` for recv_from and peek_from; `source` undefined is mio's `__anywhere`. */
function expectReadFrom(t: ExecutionContext, info: RemoteInfo | null, buf: Buffer, expected: Uint8Array, source?: SocketAddress): void {
  t.not(info, null, 'unable to read from socket: WouldBlock (null)')
  if (info === null) return
  t.is(info.size, expected.length)
  t.deepEqual(buf.subarray(0, info.size), Buffer.from(expected))
  if (source !== undefined) t.deepEqual({ address: info.address, family: info.family, port: info.port }, source)
}

/** mio's `.unwrap()` of a non-blocking call: `null` (WouldBlock) is a failure. */
function must<T>(value: T | null, what: string): T {
  if (value === null) throw new Error(`${what} returned WouldBlock (null)`)
  return value
}

/** A Poll and two sockets on loopback (mio's opening lines), closed together. */
function twoSockets(): PollScope<readonly [UdpSocket, UdpSocket]> {
  return pollWith(UdpSocket.bind(ANY_LOCAL), UdpSocket.bind(ANY_LOCAL))
}

/**
 * Registers three sockets as ID1, ID2 and ID3 with `interests`, then
 * expects each one registered for WRITABLE writable (fresh sockets are).
 */
function registerThree(t: ExecutionContext, poll: Poll, events: Events, sockets: readonly [UdpSocket, UdpSocket, UdpSocket], interests: [Interest, Interest, Interest]): void {
  const tokens = [ID1, ID2, ID3]
  sockets.forEach((socket, i) => poll.registry.register(socket, tokens[i]!, interests[i]!))

  expectEvents(
    t,
    poll,
    events,
    tokens.filter((_, i) => interests[i]!.isWritable()).map((token) => ({ token, readiness: ['writable'] })),
  )
}

/** A Poll and three sockets on loopback, closed together. */
function threeSockets(): PollScope<readonly [UdpSocket, UdpSocket, UdpSocket]> {
  return pollWith(UdpSocket.bind(ANY_LOCAL), UdpSocket.bind(ANY_LOCAL), UdpSocket.bind(ANY_LOCAL))
}

// ---- tests ----------------------------------------------------------------

test('empty_datagram', (t) => {
  const EMPTY = Buffer.alloc(0)

  using scope = twoSockets()
  const { poll, events, owned: [s1, s2] } = scope

  poll.registry.register(s1, ID1, Interest.WRITABLE)
  poll.registry.register(s2, ID2, Interest.READABLE)

  expectEvents(t, poll, events, [{ token: ID1, readiness: ['writable'] }])

  checkedWrite(t, s1.sendTo(EMPTY, s2.localAddr()), EMPTY)

  const buf = Buffer.alloc(10)

  expectEvents(t, poll, events, [{ token: ID2, readiness: ['readable'] }])
  expectReadFrom(t, s2.recvFrom(buf), buf, EMPTY, s1.localAddr())
})

// mio's smoke tests, each over IPv4 and IPv6.
const families: Array<[string, string]> = [
  ['ipv4', ANY_LOCAL],
  ['ipv6', ANY_LOCAL_V6],
]
for (const [family, local] of families) {
  test(`unconnected_udp_socket_${family}`, (t) => {
    using socket1 = UdpSocket.bind(local)
    using socket2 = UdpSocket.bind(local)
    smokeTestUnconnectedUdpSocket(t, socket1, socket2)
  })

  test(`connected_udp_socket_${family}`, (t) => {
    using socket1 = UdpSocket.bind(local)
    using socket2 = UdpSocket.bind(local)
    socket1.connect(socket2.localAddr())
    socket2.connect(socket1.localAddr())
    smokeTestConnectedUdpSocket(t, socket1, socket2)
  })
}

/**
 * The smoke tests' start: both sockets non-blocking and close-on-exec,
 * registered for both interests as `ID1` and `ID2`, both writable at once.
 */
function smokeStart(t: ExecutionContext, poll: Poll, events: Events, socket1: UdpSocket, socket2: UdpSocket): void {
  assertNonBlocking(t, socketFd(t, socket1, 'udp'))
  assertCloseOnExec(t, socketFd(t, socket1, 'udp'))
  assertNonBlocking(t, socketFd(t, socket2, 'udp'))
  assertCloseOnExec(t, socketFd(t, socket2, 'udp'))

  registerBothWritable(t, poll, events, [socket1, socket2], [ID1, ID2])
}

function smokeTestUnconnectedUdpSocket(t: ExecutionContext, socket1: UdpSocket, socket2: UdpSocket): void {
  const { poll, events } = initWithPoll()
  using _poll = poll

  const address1 = socket1.localAddr()
  const address2 = socket2.localAddr()

  smokeStart(t, poll, events, socket1, socket2)

  const buf = Buffer.alloc(20)
  t.is(socket1.peekFrom(buf), null, 'expected WouldBlock (null)')
  t.is(socket1.recvFrom(buf), null, 'expected WouldBlock (null)')

  checkedWrite(t, socket1.sendTo(DATA1, address2), DATA1)
  checkedWrite(t, socket2.sendTo(DATA2, address1), DATA2)

  expectBothReadable(t, poll, events, [ID1, ID2])

  expectReadFrom(t, socket1.peekFrom(buf), buf, DATA2, address2)
  expectReadFrom(t, socket2.peekFrom(buf), buf, DATA1, address1)

  expectReadFrom(t, socket1.recvFrom(buf), buf, DATA2, address2)
  expectReadFrom(t, socket2.recvFrom(buf), buf, DATA1, address1)

  t.is(socket1.takeError(), null)
  t.is(socket2.takeError(), null)
}

// mio's option tests, on a socket bound to loopback. The boolean options:
// set on and read back, set off and read back, no pending error. mio
// ignores the multicast_loop_v6 tests on GNU/Hurd ("Multicast loop v6 isn't
// supported on GNU/Hurd"), a platform Node.js does not run on.
const booleanOptions: Array<[string, string, (socket: UdpSocket, on: boolean) => void, (socket: UdpSocket) => boolean]> = [
  ['broadcast', ANY_LOCAL, (socket, on) => socket.setBroadcast(on), (socket) => socket.broadcast()],
  ['multicast_loop_v4', ANY_LOCAL, (socket, on) => socket.setMulticastLoopV4(on), (socket) => socket.multicastLoopV4()],
  ['multicast_loop_v6', ANY_LOCAL_V6, (socket, on) => socket.setMulticastLoopV6(on), (socket) => socket.multicastLoopV6()],
]
for (const [option, local, set, get] of booleanOptions) {
  test(`set_get_${option}`, (t) => {
    using socket1 = UdpSocket.bind(local)

    set(socket1, true)
    t.true(get(socket1))

    set(socket1, false)
    t.false(get(socket1))

    t.is(socket1.takeError(), null)
  })
}

// The TTLs: set 10, read it back, no pending error.
const ttlOptions: Array<[string, (socket: UdpSocket, ttl: number) => void, (socket: UdpSocket) => number]> = [
  ['ttl', (socket, ttl) => socket.setTtl(ttl), (socket) => socket.ttl()],
  ['multicast_ttl_v4', (socket, ttl) => socket.setMulticastTtlV4(ttl), (socket) => socket.multicastTtlV4()],
]
for (const [option, set, get] of ttlOptions) {
  test(`set_get_${option}`, (t) => {
    using socket1 = UdpSocket.bind(ANY_LOCAL)

    const TTL = 10
    set(socket1, TTL)
    t.is(get(socket1), TTL)

    t.is(socket1.takeError(), null)
  })
}

// Each option read without a previous set: its default.
const optionDefaults: Array<[string, string, (socket: UdpSocket) => unknown, () => unknown, string]> = [
  ['ttl', ANY_LOCAL, (socket) => socket.ttl(), defaultTtl, 'the system default'],
  ['broadcast', ANY_LOCAL, (socket) => socket.broadcast(), () => false, 'off by default'],
  ['multicast_loop_v4', ANY_LOCAL, (socket) => socket.multicastLoopV4(), () => true, 'on by default'],
  ['multicast_ttl_v4', ANY_LOCAL, (socket) => socket.multicastTtlV4(), () => 1, 'one hop by default (RFC 1112)'],
  ['multicast_loop_v6', ANY_LOCAL_V6, (socket) => socket.multicastLoopV6(), () => true, 'on by default'],
]
for (const [option, local, get, expected, why] of optionDefaults) {
  test(`get_${option}_without_previous_set`, (t) => {
    using socket1 = UdpSocket.bind(local)
    t.is(get(socket1), expected(), why)
  })
}

function smokeTestConnectedUdpSocket(t: ExecutionContext, socket1: UdpSocket, socket2: UdpSocket): void {
  const { poll, events } = initWithPoll()
  using _poll = poll

  smokeStart(t, poll, events, socket1, socket2)

  let buf = Buffer.alloc(20)
  t.is(socket1.peek(buf), null, 'expected WouldBlock (null)')
  t.is(socket1.recv(buf), null, 'expected WouldBlock (null)')

  checkedWrite(t, socket1.send(DATA1), DATA1)
  checkedWrite(t, socket2.send(DATA2), DATA2)

  expectBothReadable(t, poll, events, [ID1, ID2])

  buf = Buffer.alloc(20)
  expectRead(t, socket1.peek(buf), buf, DATA2)
  expectRead(t, socket2.peek(buf), buf, DATA1)

  expectRead(t, socket1.recv(buf), buf, DATA2)
  expectRead(t, socket2.recv(buf), buf, DATA1)

  t.is(socket1.takeError(), null)
  t.is(socket2.takeError(), null)
}

/**
 * The reconnect tests' sockets: three on loopback, 1 and 2 connected to
 * each other, 3 to 1; no pending error on any of them once `body` is done.
 */
function withThreeSockets(
  t: ExecutionContext,
  body: (poll: Poll, events: Events, sockets: [UdpSocket, UdpSocket, UdpSocket], addresses: [SocketAddress, SocketAddress, SocketAddress]) => void,
): void {
  using scope = threeSockets()
  const { poll, events, owned: [socket1, socket2, socket3] } = scope

  const address1 = socket1.localAddr()
  const address2 = socket2.localAddr()
  const address3 = socket3.localAddr()

  socket1.connect(address2)
  socket2.connect(address1)
  socket3.connect(address1)

  body(poll, events, [socket1, socket2, socket3], [address1, address2, address3])

  t.is(socket1.takeError(), null)
  t.is(socket2.takeError(), null)
  t.is(socket3.takeError(), null)
}

test('reconnect_udp_socket_sending', (t) => {
  withThreeSockets(t, (poll, events, [socket1, socket2, socket3], [, , address3]) => {
    registerThree(t, poll, events, [socket1, socket2, socket3], [Interest.READABLE.add(Interest.WRITABLE), Interest.READABLE, Interest.READABLE])

    checkedWrite(t, socket1.send(DATA1), DATA1)

    expectEvents(t, poll, events, [{ token: ID2, readiness: ['readable'] }])

    const buf = Buffer.alloc(20)
    expectRead(t, socket2.recv(buf), buf, DATA1)

    socket1.connect(address3)
    checkedWrite(t, socket1.send(DATA2), DATA2)

    expectEvents(t, poll, events, [{ token: ID3, readiness: ['readable'] }])

    expectRead(t, socket3.recv(buf), buf, DATA2)
  })
})

test('reconnect_udp_socket_receiving', (t) => {
  withThreeSockets(t, (poll, events, [socket1, socket2, socket3], [, address2, address3]) => {
    registerThree(t, poll, events, [socket1, socket2, socket3], [Interest.READABLE, Interest.WRITABLE, Interest.WRITABLE])

    checkedWrite(t, socket2.send(DATA1), DATA1)

    expectEvents(t, poll, events, [{ token: ID1, readiness: ['readable'] }])

    const buf = Buffer.alloc(20)
    expectRead(t, socket1.recv(buf), buf, DATA1)

    // this will reregister socket1 resetting the interests
    t.is(socket1.recv(buf), null, 'expected WouldBlock (null)')

    socket1.connect(address3)

    checkedWrite(t, socket3.send(DATA2), DATA2)

    expectEvents(t, poll, events, [{ token: ID1, readiness: ['readable'] }])

    // Read all data.
    // On Windows, reading part of data returns error WSAEMSGSIZE (10040).
    expectRead(t, socket1.recv(buf), buf, DATA2)

    // this will reregister socket1 resetting the interests
    t.is(socket1.recv(buf), null, 'expected WouldBlock (null)')

    // Now connect back to socket 2.
    socket1.connect(address2)

    checkedWrite(t, socket2.send(DATA2), DATA2)

    expectEvents(t, poll, events, [{ token: ID1, readiness: ['readable'] }])

    expectRead(t, socket1.recv(buf), buf, DATA2)
  })
})

test('unconnected_udp_socket_connected_methods', (t) => {
  using scope = twoSockets()
  const { poll, events, owned: [socket1, socket2] } = scope
  const address2 = socket2.localAddr()

  poll.registry.register(socket1, ID1, Interest.WRITABLE)
  poll.registry.register(socket2, ID2, Interest.READABLE)

  expectEvents(t, poll, events, [{ token: ID1, readiness: ['writable'] }])

  // Socket is unconnected, but we're using an connected method.
  // mio: "address required" (EDESTADDRREQ); on Windows mio sees "(os error
  // 10057)" (WSAENOTCONN; Wine 8: WSAEINVAL), which node-mio reports as
  // EDESTADDRREQ, the same on every OS; not checked on GNU/Hurd and Cygwin.
  if (process.platform !== 'cygwin') {
    const error = t.throws(() => socket1.send(DATA1), { code: 'EDESTADDRREQ' })
    if (process.platform !== 'win32') t.regex(error?.message ?? '', /address required/)
  }

  // Now send some actual data.
  checkedWrite(t, socket1.sendTo(DATA1, address2), DATA1)

  expectEvents(t, poll, events, [{ token: ID2, readiness: ['readable'] }])

  // Receive methods don't require the socket to be connected, you just won't
  // know the sender.
  const buf = Buffer.alloc(20)
  expectRead(t, socket2.peek(buf), buf, DATA1)
  expectRead(t, socket2.recv(buf), buf, DATA1)

  t.is(socket1.takeError(), null)
  t.is(socket2.takeError(), null)
})

test('connected_udp_socket_unconnected_methods', (t) => {
  using scope = threeSockets()
  const { poll, events, owned: [socket1, socket2, socket3] } = scope

  const address2 = socket2.localAddr()
  const address3 = socket3.localAddr()

  socket1.connect(address3)
  socket3.connect(address2)

  registerThree(t, poll, events, [socket1, socket2, socket3], [Interest.WRITABLE, Interest.WRITABLE, Interest.READABLE])

  // Can't use `send_to`.
  // Linux (and Android) and GNU/Hurd Windows actually allow `send_to` even if
  // the socket is connected, so mio checks nothing there.
  if (!['android', 'linux', 'win32', 'cygwin'].includes(process.platform)) {
    const error = t.throws(() => socket1.sendTo(DATA1, address2), { code: 'EISCONN' })
    t.regex(error?.message ?? '', /already connected/)
    // Even if the address is the same.
    const same = t.throws(() => socket1.sendTo(DATA1, address3), { code: 'EISCONN' })
    t.regex(same?.message ?? '', /already connected/)
  }

  checkedWrite(t, socket2.sendTo(DATA2, address3), DATA2)

  expectEvents(t, poll, events, [{ token: ID3, readiness: ['readable'] }])

  const buf = Buffer.alloc(20)
  expectReadFrom(t, socket3.peekFrom(buf), buf, DATA2, address2)
  expectReadFrom(t, socket3.recvFrom(buf), buf, DATA2, address2)

  t.is(socket1.takeError(), null)
  t.is(socket2.takeError(), null)
  t.is(socket3.takeError(), null)
})

test('udp_socket_register', (t) => {
  expectQuietRegistration(t, () => UdpSocket.bind(ANY_LOCAL), ID1)

  // NOTE: more tests are done in the smoke tests above.
})

/**
 * mio's `send_packets`: sends `nPackets` datagrams of DATA1 to `address` over
 * UDP from another thread. mio's thread waits on a barrier before each send;
 * here the worker is started where mio's barrier is passed, and `ready(n)`
 * reports each datagram as sent (read `peer.value` to wait for it).
 */
function sendPackets(address: SocketAddress, nPackets: number): Peer {
  return new Peer(
    `
    const dgram = require('node:dgram')
    const socket = dgram.createSocket('udp4')
    socket.on('error', (e) => { console.error(e); process.exit(1) })
    socket.bind(0, '127.0.0.1', () => {
      let sent = 0
      const next = () => {
        if (sent === data.nPackets) return socket.close()
        socket.send(Buffer.from(data.payload), data.port, data.address, (err, n) => {
          if (err || n !== data.payload.length) { console.error(err ?? 'short write'); process.exit(1) }
          ready(++sent)
          next()
        })
      }
      next()
    })
    `,
    { address: address.address, port: address.port, nPackets, payload: [...DATA1] },
  )
}

/**
 * The frame of the tests that get one datagram from mio's sending thread: a
 * socket on loopback, registered by `register`, the thread started and its
 * packet sent, `body`, then the thread's clean exit; the thread is
 * terminated whatever happened.
 */
async function withOnePacket(t: ExecutionContext, register: (poll: Poll, socket: UdpSocket) => void, body: (poll: Poll, events: Events, socket: UdpSocket) => void): Promise<void> {
  const { poll, events } = initWithPoll()
  using _poll = poll

  using socket = UdpSocket.bind(ANY_LOCAL)
  const address = socket.localAddr()

  register(poll, socket)
  // Let the packet be sent.
  const thread = sendPackets(address, 1)
  try {
    t.is(thread.value, 1)
    body(poll, events, socket)
    t.is(await thread.exited(), 0, 'unable to join thread')
  } finally {
    await thread.terminate()
  }
}

test('udp_socket_reregister', async (t) => {
  await withOnePacket(
    t,
    (poll, socket) => poll.registry.register(socket, ID1, Interest.WRITABLE),
    (poll, events, socket) => {
      expectEvents(t, poll, events, [{ token: ID1, readiness: ['writable'] }]) // Not readable!

      poll.registry.reregister(socket, ID2, Interest.READABLE)
      expectEvents(t, poll, events, [{ token: ID2, readiness: ['readable'] }])

      const buf = Buffer.alloc(20)
      expectReadFrom(t, socket.recvFrom(buf), buf, DATA1)
    },
  )
})

test('udp_socket_no_events_after_deregister', async (t) => {
  await withOnePacket(
    t,
    (poll, socket) => poll.registry.register(socket, ID1, Interest.READABLE),
    (poll, events, socket) => {
      poll.registry.deregister(socket)

      expectNoEvents(t, poll, events)

      // But we do expect a packet to be sent.
      const buf = Buffer.alloc(20)
      expectReadFrom(t, socket.recvFrom(buf), buf, DATA1)
    },
  )
})

/**
 * mio's event loop of send_recv_udp and multicast (its `UdpHandler`): tx
 * registered writable as SENDER, rx readable as LISTENER; polls without a
 * time limit, `send`ing the rest of "hello world" on each writable event,
 * until rx is readable: `receive` reads into the buffer it is given (and
 * checks the sender) and returns the size, which must hold the message.
 */
function sendUntilReceived(
  t: ExecutionContext,
  poll: Poll,
  tx: UdpSocket,
  rx: UdpSocket,
  send: (buf: Buffer) => number,
  receive: (rxBuf: Buffer) => number,
): void {
  poll.registry.register(tx, SENDER, Interest.WRITABLE)
  poll.registry.register(rx, LISTENER, Interest.READABLE)

  const events = new Events(1024)

  const msg = 'hello world'
  let buf = Buffer.from(msg)
  const rxBuf = Buffer.alloc(1024)
  let shutdown = false

  while (!shutdown) {
    poll.poll(events, null)

    for (const event of events) {
      if (event.isReadable() && event.token === LISTENER) {
        const cnt = receive(rxBuf)
        t.is(rxBuf.subarray(0, cnt).toString('utf8'), msg)
        shutdown = true
      }

      if (event.isWritable() && event.token === SENDER) {
        const cnt = send(buf)
        // Advance the buffer.
        buf = buf.subarray(cnt)
      }
    }
  }
}

/** mio's `send_recv_udp`: an event loop sends "hello world" from tx to rx. */
function sendRecvUdp(t: ExecutionContext, tx: UdpSocket, rx: UdpSocket, connected: boolean): void {
  using poll = new Poll()

  // ensure that the sockets are non-blocking
  const scratch = Buffer.alloc(128)
  t.is(rx.recvFrom(scratch), null, 'expected WouldBlock (null)')

  sendUntilReceived(
    t,
    poll,
    tx,
    rx,
    (buf) => (!connected ? must(tx.sendTo(buf, rx.localAddr()), 'send_to') : must(tx.send(buf), 'send')),
    (rxBuf) => (!connected ? must(rx.recvFrom(rxBuf), 'recv_from').size : must(rx.recv(rxBuf), 'recv')),
  )
}

/** mio's `connected_sockets`: the sender and the receiver, connected to each other. */
function connectedSockets(t: ExecutionContext): [UdpSocket, UdpSocket] {
  const tx = UdpSocket.bind(ANY_LOCAL)
  const rx = UdpSocket.bind(ANY_LOCAL)

  const txAddr = tx.localAddr()
  const rxAddr = rx.localAddr()

  t.notThrows(() => tx.connect(rxAddr))
  t.notThrows(() => rx.connect(txAddr))

  return [tx, rx]
}

test('udp_socket', (t) => {
  using tx = UdpSocket.bind(ANY_LOCAL)
  using rx = UdpSocket.bind(ANY_LOCAL)

  sendRecvUdp(t, tx, rx, false)
})

test('udp_socket_send_recv', (t) => {
  const sockets = connectedSockets(t)
  using tx = sockets[0]
  using rx = sockets[1]

  sendRecvUdp(t, tx, rx, true)
})

test('udp_socket_discard', (t) => {
  const sockets = connectedSockets(t)
  using tx = sockets[0]
  using rx = sockets[1]
  using udpOutside = UdpSocket.bind(ANY_LOCAL)

  t.notThrows(() => udpOutside.connect(rx.localAddr()))

  using poll = new Poll()

  const events = new Events(1024)

  poll.registry.register(udpOutside, ID1, Interest.WRITABLE)

  // Fresh sockets are not guaranteed by POSIX to be immediately writable (and
  // aren't always on WASI), so we need to wait briefly for writability here:
  expectEvents(t, poll, events, [{ token: ID1, readiness: ['writable'] }])

  const hello = Buffer.from('hello world')
  checkedWrite(t, udpOutside.send(hello), hello)

  poll.registry.register(rx, LISTENER, Interest.READABLE)
  poll.registry.register(tx, SENDER, Interest.WRITABLE)

  poll.poll(events, 5000)

  t.false(
    [...events].some((event) => event.isReadable() && event.token === LISTENER),
    'no readable event: the datagram came from outside the connected peer',
  )
  t.is(rx.recv(Buffer.alloc(64)), null, 'and nothing waits to be received')
})

/**
 * Why `multicast` cannot run here, or `null`. mio ignores it on Android
 * ("Multicast doesn't work on Android 64bit"); elsewhere joining the group
 * needs a multicast-capable interface (a route for 224.0.0.0/4 or a default
 * route): without one the join fails with ENODEV, an environment limit, not a
 * node-mio bug. Any other error lets the test run and fail with it.
 */
function multicastUnavailable(): string | null {
  if (process.platform === 'android') return "mio: Multicast doesn't work on Android 64bit"
  const probe = UdpSocket.bind(ANY_LOCAL)
  try {
    probe.joinMulticastV4('227.1.1.100', '0.0.0.0')
    return null
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENODEV') {
      return 'joining 227.1.1.100 on 0.0.0.0 fails with ENODEV: no multicast-capable interface or route in this environment'
    }
    return null
  } finally {
    probe.close()
  }
}

const noMulticast = multicastUnavailable()
if (noMulticast !== null) console.warn(`udp-socket.spec.ts: multicast skipped: ${noMulticast}`)

;(noMulticast === null ? test : test.skip)('multicast', (t) => {
  using poll = new Poll()

  using tx = UdpSocket.bind(ANY_LOCAL)
  using rx = UdpSocket.bind(ANY_LOCAL)

  const any = '0.0.0.0'
  rx.joinMulticastV4('227.1.1.100', any)
  rx.joinMulticastV4('227.1.1.101', any)

  let localhost: string
  {
    using sock = UdpSocket.bind(ANY_LOCAL)
    localhost = sock.localAddr().address
  }

  // mio's UdpHandler.
  sendUntilReceived(
    t,
    poll,
    tx,
    rx,
    (buf) => must(tx.sendTo(buf, rx.localAddr()), 'send_to'),
    (rxBuf) => {
      const from = must(rx.recvFrom(rxBuf), 'recv_from')
      t.is(from.address, localhost)
      return from.size
    },
  )
})

test('et_behavior_recv', (t) => {
  using scope = twoSockets()
  const { poll, events, owned: [socket1, socket2] } = scope

  const address2 = socket2.localAddr()

  poll.registry.register(socket1, ID1, Interest.WRITABLE)
  poll.registry.register(socket2, ID2, Interest.READABLE.add(Interest.WRITABLE))

  expectEvents(t, poll, events, [
    { token: ID1, readiness: ['writable'] },
    { token: ID2, readiness: ['writable'] },
  ])

  socket1.connect(address2)

  let buf = Buffer.alloc(20)
  checkedWrite(t, socket1.send(DATA1), DATA1)
  expectEvents(t, poll, events, [{ token: ID2, readiness: ['readable'] }])

  expectRead(t, socket2.recv(buf), buf, DATA1)

  // this will reregister the socket2, resetting the interests
  t.is(socket2.recv(buf), null, 'expected WouldBlock (null)')
  checkedWrite(t, socket1.send(DATA1), DATA1)
  expectEvents(t, poll, events, [{ token: ID2, readiness: ['readable'] }])

  buf = Buffer.alloc(20)
  expectRead(t, socket2.recv(buf), buf, DATA1)
})

test('et_behavior_recv_from', (t) => {
  using scope = twoSockets()
  const { poll, events, owned: [socket1, socket2] } = scope

  const address1 = socket1.localAddr()
  const address2 = socket2.localAddr()

  poll.registry.register(socket1, ID1, Interest.READABLE.add(Interest.WRITABLE))
  poll.registry.register(socket2, ID2, Interest.READABLE.add(Interest.WRITABLE))

  expectEvents(t, poll, events, [
    { token: ID1, readiness: ['writable'] },
    { token: ID2, readiness: ['writable'] },
  ])

  checkedWrite(t, socket1.sendTo(DATA1, address2), DATA1)

  expectEvents(t, poll, events, [{ token: ID2, readiness: ['readable'] }])

  const buf = Buffer.alloc(20)
  expectReadFrom(t, socket2.recvFrom(buf), buf, DATA1, address1)

  // this will reregister the socket2, resetting the interests
  t.is(socket2.recvFrom(buf), null, 'expected WouldBlock (null)')
  checkedWrite(t, socket1.sendTo(DATA1, address2), DATA1)
  expectEvents(t, poll, events, [{ token: ID2, readiness: ['readable'] }])

  expectReadFrom(t, socket2.recvFrom(buf), buf, DATA1, address1)

  t.is(socket1.takeError(), null)
  t.is(socket2.takeError(), null)
})
