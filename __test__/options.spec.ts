// Socket options (socket2 through the binding): every option round-trips,
// through the options object of bind/connect and through the setters, and
// shows its effect where loopback lets one see it.
//
// Linux specifics asserted here (other OSes only get the round trips):
// - SO_RCVBUF/SO_SNDBUF read back as twice the value set (man 7 socket);
// - the accept queue of a listener holds backlog + 1 connections; a SYN
//   beyond that is dropped, so the client stays in SYN_SENT;
// - SO_LINGER 0 makes close() send a RST: the peer gets readable, error,
//   readClosed and writeClosed, its first read throws ECONNRESET, the next
//   returns 0 (end of stream), and a write throws EPIPE;
// - the keepalive timer shows in /proc/net/tcp (timer 2, in USER_HZ ticks);
// - 127.255.255.255 is lo's broadcast address.
import test, { type ExecutionContext } from 'ava'
import { readFileSync } from 'node:fs'
import {
  Events,
  Interest,
  Poll,
  TcpListener,
  TcpStream,
  Token,
  UdpSocket,
  UnixDatagram,
  UnixStream,
  type ConnectOptions,
} from 'node-mio'
import { expectEvents, expectNoEvents, initWithPoll, readiness } from './support/events.ts'
import { ANY_LOCAL, ANY_LOCAL_V6, addrText, polledPair } from './support/sockets.ts'
import { underWine } from './support/platform.ts'
import { polledConnection } from './support/shared-b-fixtures.ts'

const linux = process.platform === 'linux'
// SO_REUSEPORT does not exist on Windows: there the option and the methods
// throw ERR_FEATURE_UNAVAILABLE_ON_PLATFORM (asserted below), and the other
// options still round-trip.
const hasReusePort = process.platform !== 'win32'
const UNAVAILABLE = { code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' }

/** `socket.reusePort()` is `expected`, or throws where the OS has no SO_REUSEPORT. */
function reusePortIs(t: ExecutionContext, socket: { reusePort(): boolean }, expected: boolean): void {
  if (hasReusePort) t.is(socket.reusePort(), expected)
  else t.throws(() => socket.reusePort(), UNAVAILABLE)
}

/** `socket.setReusePort(on)`, or asserts it throws where the OS has no SO_REUSEPORT. */
function setReusePort(t: ExecutionContext, socket: { setReusePort(on: boolean): void }, on: boolean): void {
  if (hasReusePort) socket.setReusePort(on)
  else t.throws(() => socket.setReusePort(on), UNAVAILABLE)
}

/**
 * `options` with `reusePort: true` where the OS has it; elsewhere asserts
 * that `create` with it throws, and returns the options without it.
 */
function withReusePort<O extends object, R extends Disposable>(t: ExecutionContext, options: O, create: (options: O) => R): O {
  if (hasReusePort) return { ...options, reusePort: true }
  t.throws(() => dispose(create({ ...options, reusePort: true })), UNAVAILABLE)
  return options
}
function dispose(resource: Disposable): void {
  resource[Symbol.dispose]()
}

/**
 * Keepalive timing is set on every OS but read back only where the OS
 * can: Windows has no getsockopt for it (SIO_KEEPALIVE_VALS is set-only), so
 * there `keepalive()` is `{ enabled }` alone.
 */
function keepaliveIs(t: ExecutionContext, stream: TcpStream, expected: { enabled: boolean; idle?: number; interval?: number }): void {
  if (process.platform === 'win32') t.deepEqual(stream.keepalive(), { enabled: expected.enabled })
  else t.deepEqual(stream.keepalive(), expected)
}
const SERVER = Token(0)
const CLIENT = Token(1)

/** `/proc/net/tcp` rows as { local port, remote port, state, rx queue, timer, ticks }. */
function procNetTcp(): { local: number; remote: number; state: number; rxQueue: number; timer: number; when: number }[] {
  return readFileSync('/proc/net/tcp', 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const c = line.trim().split(/\s+/)
      /** Field `i`'s hex number, or its `part`th `:`-separated hex number. */
      const hex = (i: number, part?: number): number => parseInt((part === undefined ? c[i] : c[i]?.split(':')[part]) ?? '', 16)
      const [timer = NaN, when = NaN] = (c[5] ?? '').split(':').map((x) => parseInt(x, 16))
      return {
        local: hex(1, 1),
        remote: hex(2, 1),
        state: hex(3),
        rxQueue: hex(4, 1),
        timer,
        when,
      }
    })
}

const TCP_ESTABLISHED = 0x01
const TCP_SYN_SENT = 0x02
const TCP_LISTEN = 0x0a

/** `t.throws`, then `t.like` on the error (ava's `t.throws` checks no `syscall`). */
function throwsLike(t: ExecutionContext, fn: () => unknown, expected: Record<string, unknown>): void {
  t.like(t.throws(fn), expected)
}

/** `2 * size` on Linux (the kernel doubles SO_RCVBUF/SO_SNDBUF); `>= size` elsewhere. */
function assertBufferSize(t: ExecutionContext, actual: number, size: number, what: string): void {
  t.true(actual >= size, `${what}: ${actual} < ${size}`)
  if (linux) t.is(actual, 2 * size, `${what}: Linux doubles the size set`)
}

/** Sets each value in turn and reads it back: `get()` is the value just set. */
function roundTrips<V>(t: ExecutionContext, set: (value: V) => void, get: () => V, ...values: V[]): void {
  for (const value of values) {
    set(value)
    t.is(get(), value)
  }
}

/** `setReusePort(on)` then `reusePort()` is `on`, for each value (where the OS has SO_REUSEPORT). */
function reusePortRoundTrips(t: ExecutionContext, socket: { setReusePort(on: boolean): void; reusePort(): boolean }, ...values: boolean[]): void {
  for (const on of values) {
    setReusePort(t, socket, on)
    reusePortIs(t, socket, on)
  }
}

interface Buffered {
  setRecvBufferSize(size: number): void
  recvBufferSize(): number
  setSendBufferSize(size: number): void
  sendBufferSize(): number
}

/** Sets the buffer sizes given and reads them back (`assertBufferSize`); `label` starts the messages. */
function bufferSizesRoundTrip(t: ExecutionContext, socket: Buffered, sizes: { recv?: number; send?: number }, label = ''): void {
  if (sizes.recv !== undefined) {
    socket.setRecvBufferSize(sizes.recv)
    assertBufferSize(t, socket.recvBufferSize(), sizes.recv, `${label}recvBufferSize`)
  }
  if (sizes.send !== undefined) {
    socket.setSendBufferSize(sizes.send)
    assertBufferSize(t, socket.sendBufferSize(), sizes.send, `${label}sendBufferSize`)
  }
}

// ---- round trips through the options object ------------------------------

test('TcpListener.bind options round-trip', (t) => {
  const size = 32 * 1024
  using listener = TcpListener.bind(
    ANY_LOCAL,
    withReusePort(t, { reuseAddress: false, backlog: 16, recvBufferSize: size, sendBufferSize: size }, (o) => TcpListener.bind(ANY_LOCAL, o)),
  )
  t.false(listener.reuseAddress())
  reusePortIs(t, listener, true)
  assertBufferSize(t, listener.recvBufferSize(), size, 'recvBufferSize')
  assertBufferSize(t, listener.sendBufferSize(), size, 'sendBufferSize')

  using other = TcpListener.bind(ANY_LOCAL, { reuseAddress: true, reusePort: false })
  t.true(other.reuseAddress())
  reusePortIs(t, other, false)

  using v6 = TcpListener.bind(ANY_LOCAL_V6, { ipv6Only: true })
  t.true(v6.ipv6Only())
  using v6dual = TcpListener.bind('[::]:0', { ipv6Only: false })
  t.false(v6dual.ipv6Only())
  // Linux sets IPV6_V6ONLY itself on bind to a specific (not v4-mapped) IPv6
  // address, whatever the option said: such a socket can see no IPv4.
  using v6specific = TcpListener.bind(ANY_LOCAL_V6, { ipv6Only: false })
  if (linux) t.true(v6specific.ipv6Only())
})

test('TcpListener defaults are mio\'s: SO_REUSEADDR on (Unix), SO_REUSEPORT off', (t) => {
  using plain = TcpListener.bind(ANY_LOCAL)
  t.is(plain.reuseAddress(), process.platform !== 'win32')
  reusePortIs(t, plain, false)
  // An options object that sets nothing keeps the same defaults.
  using empty = TcpListener.bind(ANY_LOCAL, { backlog: undefined })
  t.is(empty.reuseAddress(), process.platform !== 'win32')
  reusePortIs(t, empty, false)
})

test('TcpStream.connect options round-trip', (t) => {
  const size = 32 * 1024
  using listener = TcpListener.bind(ANY_LOCAL)
  const options: ConnectOptions = {
    nodelay: true,
    keepalive: { idle: 5000, interval: 2000 },
    linger: 3000,
    recvBufferSize: size,
    sendBufferSize: size,
    reuseAddress: true,
  }
  using stream = TcpStream.connect(listener.localAddr(), withReusePort(t, options, (o) => TcpStream.connect(listener.localAddr(), o)))
  t.true(stream.nodelay())
  keepaliveIs(t, stream, { enabled: true, idle: 5000, interval: 2000 })
  t.is(stream.linger(), 3000)
  assertBufferSize(t, stream.recvBufferSize(), size, 'recvBufferSize')
  assertBufferSize(t, stream.sendBufferSize(), size, 'sendBufferSize')
  t.true(stream.reuseAddress())
  reusePortIs(t, stream, true)

  using off = TcpStream.connect(listener.localAddr(), { nodelay: false, keepalive: false, linger: null, reuseAddress: false })
  t.false(off.nodelay())
  t.false(off.keepalive().enabled)
  t.is(off.linger(), null)
  t.false(off.reuseAddress())
  reusePortIs(t, off, false)

  using on = TcpStream.connect(listener.localAddr(), { keepalive: true, linger: 0 })
  t.true(on.keepalive().enabled)
  t.is(on.linger(), 0)

  using v6listener = TcpListener.bind(ANY_LOCAL_V6)
  using v6 = TcpStream.connect(v6listener.localAddr(), { ipv6Only: true })
  t.true(v6.ipv6Only())
  using v6dual = TcpStream.connect(v6listener.localAddr(), { ipv6Only: false })
  t.false(v6dual.ipv6Only())
})

test('TcpStream defaults: no nodelay, keepalive off, linger off, no address reuse', (t) => {
  using listener = TcpListener.bind(ANY_LOCAL)
  using stream = TcpStream.connect(listener.localAddr())
  t.false(stream.nodelay())
  t.false(stream.keepalive().enabled)
  t.is(stream.linger(), null)
  t.false(stream.reuseAddress())
  reusePortIs(t, stream, false)
})

test('UdpSocket.bind options round-trip', (t) => {
  const size = 32 * 1024
  using socket = UdpSocket.bind(
    ANY_LOCAL,
    withReusePort(t, { reuseAddress: true, broadcast: true, recvBufferSize: size, sendBufferSize: size }, (o) => UdpSocket.bind(ANY_LOCAL, o)),
  )
  t.true(socket.reuseAddress())
  reusePortIs(t, socket, true)
  t.true(socket.broadcast())
  assertBufferSize(t, socket.recvBufferSize(), size, 'recvBufferSize')
  assertBufferSize(t, socket.sendBufferSize(), size, 'sendBufferSize')

  using plain = UdpSocket.bind(ANY_LOCAL)
  t.false(plain.reuseAddress())
  reusePortIs(t, plain, false)
  t.false(plain.broadcast())

  using v6 = UdpSocket.bind(ANY_LOCAL_V6, { ipv6Only: true })
  t.true(v6.ipv6Only())
  t.true(v6.onlyV6())
  using v6dual = UdpSocket.bind('[::]:0', { ipv6Only: false })
  t.false(v6dual.ipv6Only())
  t.false(v6dual.onlyV6())
})

// ---- round trips through the setters ---------------------------------------

test('setters round-trip on a TcpListener', (t) => {
  using listener = TcpListener.bind(ANY_LOCAL)
  roundTrips(t, (on: boolean) => listener.setReuseAddress(on), () => listener.reuseAddress(), false, true)
  reusePortRoundTrips(t, listener, true, false)
  bufferSizesRoundTrip(t, listener, { recv: 48 * 1024, send: 24 * 1024 })
})

test('setters round-trip on a TcpStream', (t) => {
  using connection = polledConnection(t)
  const { client, server } = connection
  for (const stream of [client, server]) {
    roundTrips(t, (on: boolean) => stream.setNodelay(on), () => stream.nodelay(), true, false)

    stream.setKeepalive({ idle: 7000, interval: 3000 })
    keepaliveIs(t, stream, { enabled: true, idle: 7000, interval: 3000 })
    // Only the idle time: the interval stays.
    stream.setKeepalive({ idle: 9000 })
    keepaliveIs(t, stream, { enabled: true, idle: 9000, interval: 3000 })
    stream.setKeepalive(false)
    t.false(stream.keepalive().enabled)
    stream.setKeepalive(true)
    t.true(stream.keepalive().enabled)
    stream.setKeepalive({})
    t.true(stream.keepalive().enabled)

    roundTrips(t, (ms: number | null) => stream.setLinger(ms), () => stream.linger(), 2000, 0, null)

    roundTrips(t, (on: boolean) => stream.setReuseAddress(on), () => stream.reuseAddress(), true, false)
    reusePortRoundTrips(t, stream, true, false)

    bufferSizesRoundTrip(t, stream, { recv: 40 * 1024, send: 20 * 1024 })
  }
})

test('setters round-trip on a UdpSocket', (t) => {
  using socket = UdpSocket.bind(ANY_LOCAL)
  roundTrips(t, (on: boolean) => socket.setBroadcast(on), () => socket.broadcast(), true, false)
  roundTrips(t, (on: boolean) => socket.setReuseAddress(on), () => socket.reuseAddress(), true)
  reusePortRoundTrips(t, socket, true)
  bufferSizesRoundTrip(t, socket, { recv: 64 * 1024, send: 16 * 1024 })
})

test('buffer sizes round-trip on Unix sockets', (t) => {
  if (process.platform === 'win32') return t.pass('no Unix sockets')
  const [a, b] = UnixStream.pair()
  using _a = a
  using _b = b
  bufferSizesRoundTrip(t, a, { recv: 32 * 1024 }, 'UnixStream ')
  bufferSizesRoundTrip(t, b, { send: 32 * 1024 }, 'UnixStream ')
  const [c, d] = UnixDatagram.pair()
  using _c = c
  using _d = d
  bufferSizesRoundTrip(t, c, { recv: 16 * 1024 }, 'UnixDatagram ')
  bufferSizesRoundTrip(t, d, { send: 16 * 1024 }, 'UnixDatagram ')
})

test('buffer sizes beyond the system maximum are clamped to it, not refused (Linux)', (t) => {
  if (!linux) return t.pass('Linux-specific limits')
  const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'))
  const wmemMax = Number(readFileSync('/proc/sys/net/core/wmem_max', 'utf8'))
  using socket = UdpSocket.bind(ANY_LOCAL, { recvBufferSize: 0x7fff_ffff, sendBufferSize: 0x7fff_ffff })
  t.is(socket.recvBufferSize(), 2 * rmemMax)
  t.is(socket.sendBufferSize(), 2 * wmemMax)
})

test('ipv6Only() of an IPv4 socket is the OS error EOPNOTSUPP (Linux)', (t) => {
  // IPV6_V6ONLY exists only on IPv6 sockets; Linux refuses the getsockopt.
  if (!linux) return t.pass('Linux-specific errno')
  using listener = TcpListener.bind(ANY_LOCAL)
  t.throws(() => listener.ipv6Only(), { code: 'EOPNOTSUPP', message: /getsockopt/ })
})

// ---- effects -----------------------------------------------------------------

test('reusePort: two listeners share a port and both accept; without it the second bind is EADDRINUSE', (t) => {
  if (!hasReusePort) return void t.throws(() => TcpListener.bind(ANY_LOCAL, { reusePort: true }), UNAVAILABLE)
  const { poll, events } = initWithPoll()
  using _poll = poll
  using first = TcpListener.bind(ANY_LOCAL, { reusePort: true })
  const port = first.localAddr().port
  throwsLike(t, () => TcpListener.bind(`127.0.0.1:${port}`), { code: 'EADDRINUSE', syscall: 'bind' })
  throwsLike(t, () => TcpListener.bind(`127.0.0.1:${port}`, { reusePort: false }), { code: 'EADDRINUSE', syscall: 'bind' })
  using second = TcpListener.bind(`127.0.0.1:${port}`, { reusePort: true })
  t.is(second.localAddr().port, port)

  poll.registry.register(first, Token(0), Interest.READABLE)
  poll.registry.register(second, Token(1), Interest.READABLE)
  // The kernel hashes each connection to one listener: with 32 clients the
  // chance that one listener gets none is 2^-31.
  const clients: TcpStream[] = []
  for (let i = 0; i < 32; i++) clients.push(TcpStream.connect(`127.0.0.1:${port}`))
  const counts: [number, number] = [0, 0]
  const accepted: TcpStream[] = []
  for (let round = 0; round < 10 && counts[0] + counts[1] < clients.length; round++) {
    poll.poll(events, 500)
    for (const event of events) {
      const listener = event.token === Token(0) ? first : second
      for (let a; (a = listener.accept()) !== null; ) {
        counts[event.token === Token(0) ? 0 : 1]++
        accepted.push(a[0])
        t.is(a[1].address, '127.0.0.1')
      }
    }
  }
  t.is(counts[0] + counts[1], clients.length)
  t.true(counts[0] > 0, `first listener accepted ${counts[0]}`)
  t.true(counts[1] > 0, `second listener accepted ${counts[1]}`)
  for (const s of [...clients, ...accepted]) s.close()
})

/** A UDP socket bound with `option`: a second one binds its port with the option too, and without it is EADDRINUSE. */
function secondUdpBindNeeds(t: ExecutionContext, option: { reusePort: true } | { reuseAddress: true }): void {
  using first = UdpSocket.bind(ANY_LOCAL, option)
  const port = first.localAddr().port
  throwsLike(t, () => UdpSocket.bind(`127.0.0.1:${port}`), { code: 'EADDRINUSE', syscall: 'bind' })
  using second = UdpSocket.bind(`127.0.0.1:${port}`, option)
  t.is(second.localAddr().port, port)
}

test('reusePort on UDP: a second socket binds the same port only with it', (t) => {
  if (!hasReusePort) return void t.throws(() => UdpSocket.bind(ANY_LOCAL, { reusePort: true }), UNAVAILABLE)
  secondUdpBindNeeds(t, { reusePort: true })
})

test('reuseAddress on UDP: a second socket binds the same port only with it', (t) => {
  secondUdpBindNeeds(t, { reuseAddress: true })
})

test('reuseAddress: a listener rebinds a port still held by a closed connection only with it', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const listener = TcpListener.bind(ANY_LOCAL)
  const port = listener.localAddr().port
  const [client, server] = polledPair(t, poll, events, listener)
  // The server closes first: its end (port `port`) lingers in FIN_WAIT2 or
  // TIME_WAIT, holding the port.
  server.close()
  poll.registry.register(client, CLIENT, Interest.READABLE)
  expectEvents(t, poll, events, [{ token: CLIENT, readiness: ['readable'] }])
  t.is(client.read(Buffer.alloc(16)), 0)
  client.close()
  listener.close()

  if (process.platform === 'win32') {
    // Windows lets a listener bind a port whose only holder is a closed
    // connection (TIME_WAIT) without SO_REUSEADDR, which there means taking
    // over a port in active use (so mio leaves it off); the same plain
    // Winsock program does it (scripts/cross/winsock-probe.c).
    const plain = TcpListener.bind(`127.0.0.1:${port}`, { reuseAddress: false })
    t.is(plain.localAddr().port, port)
    plain.close()
  } else {
    throwsLike(t, () => TcpListener.bind(`127.0.0.1:${port}`, { reuseAddress: false }), { code: 'EADDRINUSE', syscall: 'bind' })
  }
  using again = TcpListener.bind(`127.0.0.1:${port}`, { reuseAddress: true })
  t.is(again.localAddr().port, port)
})

test('backlog: the accept queue holds backlog + 1 connections, the next client waits in SYN_SENT (Linux)', (t) => {
  if (!linux) return t.pass('Linux accept-queue semantics')
  const { poll, events } = initWithPoll()
  using _poll = poll
  const backlog = 1
  using listener = TcpListener.bind(ANY_LOCAL, { backlog })
  const port = listener.localAddr().port
  const clients: TcpStream[] = []
  // backlog + 1 clients complete their handshake without an accept().
  for (let i = 0; i < backlog + 1; i++) {
    const client = TcpStream.connect(listener.localAddr())
    clients.push(client)
    poll.registry.register(client, Token(10 + i), Interest.WRITABLE)
    expectEvents(t, poll, events, [{ token: Token(10 + i), readiness: ['writable'] }])
    t.is(client.takeError(), null)
  }
  // The next one's SYN is dropped: no writable event, still SYN_SENT.
  const waiting = TcpStream.connect(listener.localAddr())
  clients.push(waiting)
  const WAITING = Token(20)
  poll.registry.register(waiting, WAITING, Interest.WRITABLE)
  expectNoEvents(t, poll, events)
  const waitingPort = waiting.localAddr().port
  const rows = procNetTcp()
  t.is(rows.find((r) => r.local === waitingPort && r.remote === port)?.state, TCP_SYN_SENT)
  t.is(rows.find((r) => r.local === port && r.state === TCP_LISTEN)?.rxQueue, backlog + 1)
  t.throws(() => waiting.peerAddr(), { code: 'ENOTCONN' })

  // Accepting one makes room: the retransmitted SYN gets in (SYN
  // retransmits come after 1 s, 3 s, ...: wait up to 10 x 500 ms).
  const first = listener.accept()
  t.not(first, null)
  first?.[0].close()
  let connected = false
  for (let round = 0; round < 10 && !connected; round++) {
    poll.poll(events, 500)
    connected = [...events].some((e) => e.token === WAITING && e.isWritable())
  }
  t.true(connected, 'the waiting client connected once the queue had room')
  t.is(waiting.takeError(), null)
  t.is(waiting.peerAddr().port, port)
  t.is(procNetTcp().find((r) => r.local === waitingPort && r.remote === port)?.state, TCP_ESTABLISHED)
  for (const c of clients) c.close()
})

test('backlog: the default (128) takes more clients than backlog 1 (Linux)', (t) => {
  if (!linux) return t.pass('Linux accept-queue semantics')
  const { poll, events } = initWithPoll()
  using _poll = poll
  using listener = TcpListener.bind(ANY_LOCAL)
  const clients: TcpStream[] = []
  for (let i = 0; i < 4; i++) {
    const client = TcpStream.connect(listener.localAddr())
    clients.push(client)
    poll.registry.register(client, Token(10 + i), Interest.WRITABLE)
    expectEvents(t, poll, events, [{ token: Token(10 + i), readiness: ['writable'] }])
  }
  const port = listener.localAddr().port
  t.is(procNetTcp().find((r) => r.local === port && r.state === TCP_LISTEN)?.rxQueue, 4)
  for (const c of clients) c.close()
})

test('localAddress: the client binds it before connecting and the server sees it as the peer', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  using listener = TcpListener.bind(ANY_LOCAL)

  // Another loopback address, port picked by the OS.
  const [a, aServer] = polledPair(t, poll, events, listener, { localAddress: '127.0.0.2:0' })
  t.is(a.localAddr().address, '127.0.0.2')
  t.deepEqual(aServer.peerAddr(), a.localAddr())

  // A fixed port (free a moment ago).
  const probe = TcpListener.bind(ANY_LOCAL)
  const port = probe.localAddr().port
  probe.close()
  const [b, bServer] = polledPair(t, poll, events, listener, { localAddress: `127.0.0.1:${port}` })
  t.deepEqual(b.localAddr(), { address: '127.0.0.1', family: 'IPv4', port })
  t.deepEqual(bServer.peerAddr(), { address: '127.0.0.1', family: 'IPv4', port })

  // A local address in use is EADDRINUSE from bind (the listener's own).
  throwsLike(t, () => TcpStream.connect(listener.localAddr(), { localAddress: listener.localAddr() }), {
    code: 'EADDRINUSE',
    syscall: 'bind',
  })
  for (const s of [a, aServer, b, bServer]) s.close()
})

test('linger 0 (option): close() resets the connection: the peer reads ECONNRESET (Linux)', (t) => {
  using connection = polledConnection(t, { linger: 0 })
  const { poll, events, client, server } = connection
  t.is(client.linger(), 0)
  poll.registry.register(server, SERVER, Interest.READABLE)
  client.close()
  expectEvents(t, poll, events, [{ token: SERVER, readiness: ['readable', 'readClosed'] }])
  if (!linux) {
    if (underWine) {
      // Windows documents a linger-0 close as a reset (closesocket: "hard",
      // abortive close); under Wine 8 a plain Winsock recv() after it reads
      // the end of the stream instead (scripts/cross/winsock-probe.c).
      t.log('Wine: a linger-0 close reads as the end of the stream (winsock-probe.c shows the same without node-mio)')
      t.is(server.read(Buffer.alloc(16)), 0)
    } else {
      t.throws(() => server.read(Buffer.alloc(16)), { code: 'ECONNRESET' })
    }
    return
  }
  // What Linux reports for a RST, exactly.
  assertResetPeer(t, poll, events, server)
})

test('linger 0 (setter, on the accepted end): close() resets the connection (Linux)', (t) => {
  if (!linux) return t.pass('Linux RST semantics')
  using connection = polledConnection(t)
  const { poll, events, client, server } = connection
  server.setLinger(0)
  t.is(server.linger(), 0)
  poll.registry.register(client, CLIENT, Interest.READABLE)
  server.close()
  expectEvents(t, poll, events, [{ token: CLIENT, readiness: ['readable'] }])
  assertResetPeer(t, poll, events, client)
})

/** The peer of a reset connection, on Linux: flags, then ECONNRESET, 0, EPIPE. */
function assertResetPeer(t: ExecutionContext, poll: Poll, events: Events, peer: TcpStream): void {
  // The event was consumed by expectEvents; reregistering reports the
  // current readiness again.
  poll.registry.reregister(peer, Token(9), Interest.READABLE)
  poll.poll(events, 500)
  const flags = [...events].filter((e) => e.token === Token(9)).map((e) => [...readiness(e)].sort())
  t.deepEqual(flags, [['error', 'readClosed', 'readable', 'writeClosed']])
  const buf = Buffer.alloc(16)
  throwsLike(t, () => peer.read(buf), { code: 'ECONNRESET', syscall: 'read' })
  t.is(peer.read(buf), 0)
  throwsLike(t, () => peer.write(Buffer.from('x')), { code: 'EPIPE', syscall: 'write' })
  t.is(peer.takeError(), null)
}

test('without linger, close() is an orderly shutdown: the peer reads 0, no error', (t) => {
  using connection = polledConnection(t)
  const { poll, events, client, server } = connection
  t.is(client.linger(), null)
  poll.registry.register(server, SERVER, Interest.READABLE)
  client.close()
  expectEvents(t, poll, events, [{ token: SERVER, readiness: ['readable', 'readClosed'] }])
  poll.registry.reregister(server, Token(9), Interest.READABLE)
  poll.poll(events, 500)
  for (const event of events) t.false(event.isError())
  t.is(server.read(Buffer.alloc(16)), 0)
})

// SO_LINGER counts whole seconds: a sub-second linger is rounded up (or
// refused), never truncated to 0, which would turn close() into a reset.
test('a sub-second linger must not turn close() into a reset', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  using listener = TcpListener.bind(ANY_LOCAL)
  let pair: [TcpStream, TcpStream]
  try {
    pair = polledPair(t, poll, events, listener, { linger: 500 })
  } catch (error) {
    t.like(error, { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
    return
  }
  const [client, server] = pair
  using _server = server
  t.not(client.linger(), 0, 'linger 500 ms reads back as 0: close() will reset')
  poll.registry.register(server, SERVER, Interest.READABLE)
  client.close()
  expectEvents(t, poll, events, [{ token: SERVER, readiness: ['readable'] }])
  t.is(server.read(Buffer.alloc(16)), 0, 'the peer must see an orderly close')
})

// SO_LINGER holds an int of seconds: a linger it cannot hold is a RangeError,
// never a wrapped value.
test('setLinger(2 ** 31 * 1000) either reads back exactly or is a RangeError', (t) => {
  using listener = TcpListener.bind(ANY_LOCAL)
  using stream = TcpStream.connect(listener.localAddr())
  const ms = 2 ** 31 * 1000
  try {
    stream.setLinger(ms)
  } catch (error) {
    t.like(error, { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
    return
  }
  t.is(stream.linger(), ms)
})

// Linux takes TCP_KEEPIDLE and TCP_KEEPINTVL in whole seconds from 1 to
// 32767: a value outside is a RangeError ERR_OUT_OF_RANGE (not a bare
// EINVAL), and a sub-second one is rounded up to the 1 s Linux can hold.
// Linux limits only: elsewhere the test is skipped.
;(linux ? test : test.skip)('keepalive timing the OS cannot hold is a RangeError, not a bare EINVAL (Linux)', (t) => {
  using listener = TcpListener.bind(ANY_LOCAL)
  using stream = TcpStream.connect(listener.localAddr())
  for (const keepalive of [{ idle: 0 }, { interval: 0 }, { idle: 32768 * 1000 }, { interval: 32768 * 1000 }]) {
    const error = t.throws(() => stream.setKeepalive(keepalive))
    t.like(error, { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }, JSON.stringify(keepalive))
  }
  for (const keepalive of [{ idle: 500 }, { interval: 500 }]) {
    try {
      stream.setKeepalive(keepalive)
    } catch (error) {
      t.like(error, { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }, JSON.stringify(keepalive))
      continue
    }
    const info = stream.keepalive()
    t.true((keepalive.idle === undefined || (info.idle ?? 0) >= 500) && (keepalive.interval === undefined || (info.interval ?? 0) >= 500))
  }
})

test('keepalive timing reads back and arms the kernel\'s keepalive timer (Linux /proc/net/tcp)', (t) => {
  using connection = polledConnection(t, { keepalive: { idle: 5000, interval: 1000 } })
  const { client, server } = connection
  keepaliveIs(t, client, { enabled: true, idle: 5000, interval: 1000 })
  t.false(server.keepalive().enabled)
  if (!linux) return
  const TIMER_KEEPALIVE = 2
  const USER_HZ = 100 // /proc/net/tcp counts clock ticks
  const row = () => procNetTcp().find((r) => r.local === client.localAddr().port && r.remote === client.peerAddr().port)
  const armed = row()
  t.is(armed?.timer, TIMER_KEEPALIVE)
  const remainingMs = ((armed?.when ?? 0) * 1000) / USER_HZ
  t.true(remainingMs > 0 && remainingMs <= 5000, `keepalive timer at ${remainingMs} ms`)
  // The server end has none.
  t.is(procNetTcp().find((r) => r.local === server.localAddr().port && r.remote === server.peerAddr().port)?.timer, 0)

  // A longer idle time (setter) moves the timer past the old maximum.
  client.setKeepalive({ idle: 600_000 })
  t.deepEqual(client.keepalive(), { enabled: true, idle: 600_000, interval: 1000 })
  const later = row()
  t.is(later?.timer, TIMER_KEEPALIVE)
  t.true(((later?.when ?? 0) * 1000) / USER_HZ > 5000)

  // Off: the timer is gone.
  client.setKeepalive(false)
  t.false(client.keepalive().enabled)
  t.is(row()?.timer, 0)
})

test('ipv6Only on [::]: with it an IPv4 listener shares the port and IPv4 clients are refused; without it [::] takes them', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  using only = TcpListener.bind('[::]:0', { ipv6Only: true })
  t.true(only.ipv6Only())
  const port = only.localAddr().port
  // Nothing of [::] covers IPv4: the same port binds on 127.0.0.1 ...
  const v4 = TcpListener.bind(`127.0.0.1:${port}`)
  v4.close()
  // ... and an IPv4 client is refused by [::].
  using refused = TcpStream.connect(`127.0.0.1:${port}`)
  poll.registry.register(refused, CLIENT, Interest.WRITABLE)
  expectEvents(t, poll, events, [{ token: CLIENT, readiness: ['writable'] }])
  t.like(refused.takeError(), { code: 'ECONNREFUSED' })

  using dual = TcpListener.bind('[::]:0', { ipv6Only: false })
  t.false(dual.ipv6Only())
  const dualPort = dual.localAddr().port
  throwsLike(t, () => TcpListener.bind(`127.0.0.1:${dualPort}`), { code: 'EADDRINUSE', syscall: 'bind' })
  using v4client = TcpStream.connect(`127.0.0.1:${dualPort}`)
  poll.registry.register(dual, SERVER, Interest.READABLE)
  expectEvents(t, poll, events, [{ token: SERVER, readiness: ['readable'] }])
  const accepted = dual.accept()
  t.not(accepted, null)
  using _conn = accepted?.[0]
  t.is(accepted?.[1].address, '::ffff:127.0.0.1')
  t.is(accepted?.[1].port, v4client.localAddr().port)
})

test('ipv6Only on a UDP [::] socket: IPv4 datagrams reach it only without the option', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  using only = UdpSocket.bind('[::]:0', { ipv6Only: true })
  const port = only.localAddr().port
  const v4 = UdpSocket.bind(`127.0.0.1:${port}`)
  v4.close()

  using dual = UdpSocket.bind('[::]:0', { ipv6Only: false })
  const dualPort = dual.localAddr().port
  throwsLike(t, () => UdpSocket.bind(`127.0.0.1:${dualPort}`), { code: 'EADDRINUSE', syscall: 'bind' })
  using sender = UdpSocket.bind(ANY_LOCAL)
  t.is(sender.sendTo(Buffer.from('v4'), `127.0.0.1:${dualPort}`), 2)
  poll.registry.register(dual, SERVER, Interest.READABLE)
  expectEvents(t, poll, events, [{ token: SERVER, readiness: ['readable'] }])
  const buf = Buffer.alloc(16)
  t.like(dual.recvFrom(buf), { address: '::ffff:127.0.0.1', port: sender.localAddr().port, size: 2 })
})

test('broadcast: sending to lo\'s broadcast address needs it (EACCES without) (Linux)', (t) => {
  if (!linux) return t.pass('127.255.255.255 is a broadcast route on Linux\'s lo')
  const { poll, events } = initWithPoll()
  using _poll = poll
  // A socket bound to the broadcast address receives its broadcasts.
  using receiver = UdpSocket.bind('127.255.255.255:0')
  const target = `127.255.255.255:${receiver.localAddr().port}`
  using plain = UdpSocket.bind(ANY_LOCAL)
  throwsLike(t, () => plain.sendTo(Buffer.from('no'), target), { code: 'EACCES', syscall: 'sendto' })

  using option = UdpSocket.bind(ANY_LOCAL, { broadcast: true })
  t.is(option.sendTo(Buffer.from('option'), target), 6)
  plain.setBroadcast(true)
  t.is(plain.sendTo(Buffer.from('setter'), target), 6)
  plain.setBroadcast(false)
  throwsLike(t, () => plain.sendTo(Buffer.from('no'), target), { code: 'EACCES', syscall: 'sendto' })

  poll.registry.register(receiver, SERVER, Interest.READABLE)
  expectEvents(t, poll, events, [{ token: SERVER, readiness: ['readable'] }])
  const buf = Buffer.alloc(16)
  const got: string[] = []
  for (let info; (info = receiver.recvFrom(buf)) !== null; ) got.push(buf.toString('utf8', 0, info.size))
  t.deepEqual(got.sort(), ['option', 'setter'])
})

test('nodelay reads back on both ends of a connection and survives traffic', (t) => {
  using connection = polledConnection(t, { nodelay: true })
  const { poll, events, client, server } = connection
  t.true(client.nodelay())
  t.false(server.nodelay())
  t.is(client.write(Buffer.from('a')), 1)
  t.is(client.write(Buffer.from('b')), 1)
  poll.registry.register(server, SERVER, Interest.READABLE)
  expectEvents(t, poll, events, [{ token: SERVER, readiness: ['readable'] }])
  const buf = Buffer.alloc(8)
  let text = ''
  for (let n; (n = server.read(buf)) !== null && n > 0; ) text += buf.toString('utf8', 0, n)
  t.is(text, 'ab')
  t.true(client.nodelay())
})

// ---- bad values --------------------------------------------------------------

test('unknown option keys are a TypeError ERR_INVALID_ARG_VALUE (per constructor)', (t) => {
  const unknown = { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }
  const err = (fn: () => unknown) => t.like(t.throws(fn), unknown)
  err(() => TcpListener.bind(ANY_LOCAL, { nodelay: true } as never))
  err(() => TcpListener.bind(ANY_LOCAL, { broadcast: true } as never))
  err(() => TcpListener.bind(ANY_LOCAL, { reuse_address: true } as never))
  err(() => TcpStream.connect('127.0.0.1:9', { backlog: 1 } as never))
  err(() => TcpStream.connect('127.0.0.1:9', { broadcast: true } as never))
  err(() => UdpSocket.bind(ANY_LOCAL, { backlog: 1 } as never))
  err(() => UdpSocket.bind(ANY_LOCAL, { nodelay: true } as never))
  err(() => UdpSocket.bind(ANY_LOCAL, { linger: 0 } as never))
  t.regex(t.throws(() => TcpListener.bind(ANY_LOCAL, { bogus: 1 } as never)).message, /bogus/)
})

test('bad option values are TypeError / RangeError with Node codes', (t) => {
  const type = { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }
  const range = { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }
  const check = (fn: () => unknown, expected: object) => t.like(t.throws(fn), expected)
  const addr = '127.0.0.1:9'

  check(() => TcpListener.bind(ANY_LOCAL, null as never), type)
  check(() => TcpListener.bind(ANY_LOCAL, 'reusePort' as never), type)
  check(() => TcpListener.bind(ANY_LOCAL, { reuseAddress: 1 } as never), type)
  check(() => TcpListener.bind(ANY_LOCAL, { reusePort: 'yes' } as never), type)
  check(() => TcpListener.bind(ANY_LOCAL, { ipv6Only: null } as never), type)
  check(() => TcpListener.bind(ANY_LOCAL, { backlog: '8' } as never), type)
  check(() => TcpListener.bind(ANY_LOCAL, { backlog: -1 }), range)
  check(() => TcpListener.bind(ANY_LOCAL, { backlog: 1.5 }), range)
  check(() => TcpListener.bind(ANY_LOCAL, { backlog: 2 ** 31 }), range)
  for (const size of [0, -1, 1.5, 2 ** 31, NaN]) {
    check(() => TcpListener.bind(ANY_LOCAL, { recvBufferSize: size }), range)
    check(() => UdpSocket.bind(ANY_LOCAL, { sendBufferSize: size }), range)
  }
  check(() => UdpSocket.bind(ANY_LOCAL, { recvBufferSize: '4096' } as never), type)
  check(() => UdpSocket.bind(ANY_LOCAL, { broadcast: 1 } as never), type)

  check(() => TcpStream.connect(addr, { nodelay: 'true' } as never), type)
  check(() => TcpStream.connect(addr, { keepalive: 'yes' } as never), type)
  check(() => TcpStream.connect(addr, { keepalive: null } as never), type)
  check(() => TcpStream.connect(addr, { keepalive: { idle: '1000' } } as never), type)
  check(() => TcpStream.connect(addr, { keepalive: { idle: -1 } }), range)
  check(() => TcpStream.connect(addr, { keepalive: { interval: NaN } }), range)
  check(() => TcpStream.connect(addr, { keepalive: { interval: Infinity } }), range)
  check(() => TcpStream.connect(addr, { linger: '0' } as never), type)
  check(() => TcpStream.connect(addr, { linger: -1 }), range)
  check(() => TcpStream.connect(addr, { linger: NaN }), range)
  check(() => TcpStream.connect(addr, { linger: Infinity }), range)
  check(() => TcpStream.connect(addr, { localAddress: 'not an address' }), { name: 'TypeError', code: 'ERR_INVALID_ADDRESS' })
  check(() => TcpStream.connect(addr, { localAddress: 42 } as never), { name: 'TypeError' })
})

test('bad setter values are TypeError / RangeError with Node codes', (t) => {
  const type = { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }
  const range = { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }
  const check = (fn: () => unknown, expected: object) => t.like(t.throws(fn), expected)
  using listener = TcpListener.bind(ANY_LOCAL)
  using stream = TcpStream.connect(listener.localAddr())
  using udp = UdpSocket.bind(ANY_LOCAL)

  check(() => listener.setReuseAddress(1 as never), type)
  check(() => listener.setReusePort('on' as never), type)
  check(() => listener.setRecvBufferSize(0), range)
  check(() => listener.setSendBufferSize(-5), range)
  check(() => listener.setSendBufferSize(1.25), range)
  check(() => listener.setRecvBufferSize('1' as never), type)
  check(() => stream.setNodelay(undefined as never), type)
  check(() => stream.setKeepalive(undefined as never), type)
  check(() => stream.setKeepalive(1 as never), type)
  check(() => stream.setKeepalive({ idle: -1 }), range)
  check(() => stream.setKeepalive({ interval: '5' } as never), type)
  check(() => stream.setLinger(-1), range)
  check(() => stream.setLinger(undefined as never), type)
  check(() => stream.setLinger(Infinity), range)
  check(() => udp.setBroadcast('true' as never), type)

  // Nothing changed.
  t.false(stream.keepalive().enabled)
  t.is(stream.linger(), null)
  t.false(udp.broadcast())
})

test('options and setters on a closed socket throw ERR_SOCKET_CLOSED', (t) => {
  const listener = TcpListener.bind(ANY_LOCAL)
  const stream = TcpStream.connect(listener.localAddr(), { nodelay: true })
  stream.close()
  listener.close()
  const closed = { code: 'ERR_SOCKET_CLOSED' }
  t.throws(() => stream.nodelay(), closed)
  t.throws(() => stream.setNodelay(true), closed)
  t.throws(() => stream.keepalive(), closed)
  t.throws(() => stream.setLinger(0), closed)
  t.throws(() => listener.reusePort(), closed)
  t.throws(() => listener.setRecvBufferSize(4096), closed)
})

test('connect with options takes the same address inputs as without (object or text)', (t) => {
  // connect() with options accepts the same address inputs as without.
  const { poll, events } = initWithPoll()
  using _poll = poll
  using listener = TcpListener.bind(ANY_LOCAL)
  for (const target of [listener.localAddr(), addrText(listener.localAddr())]) {
    using stream = TcpStream.connect(target, { nodelay: true })
    poll.registry.register(stream, CLIENT, Interest.WRITABLE)
    expectEvents(t, poll, events, [{ token: CLIENT, readiness: ['writable'] }])
    t.is(stream.takeError(), null)
    t.is(stream.peerAddr().port, listener.localAddr().port)
    poll.registry.deregister(stream)
    const accepted = listener.accept()
    accepted?.[0].close()
  }
})
