// Hostile inputs: every wrong argument, closed object and impossible request
// gets a clear error (the class and `code` Node.js core uses for the same
// mistake), and the process stays healthy: after each group, the same process
// still creates a Poll and a listener, connects and exchanges bytes.
import test, { type ExecutionContext } from 'ava'
import { DatagramBatch, Events, Interest, Poll, Registry, Source, TcpListener, TcpStream, Token, UdpSocket, Waker } from 'node-mio'
import { expectEvents } from './support/events.ts'
import { ANY_LOCAL, ANY_LOCAL_V6, addrText } from './support/sockets.ts'
import { sleep } from './support/workers.ts'
import { handleOf, registryHandle } from './support/internals.ts'
import * as raw from '../index.js'

type ErrorClass = typeof Error | typeof TypeError | typeof RangeError

/**
 * `fn` throws an instance of exactly `Class` (not a subclass: a system error
 * is a plain `Error`, a bad argument a `TypeError`) with `code`.
 */
function throwsExactly(t: ExecutionContext, fn: () => unknown, Class: ErrorClass, code: string, what = ''): NodeJS.ErrnoException | undefined {
  const error = t.throws(fn, { instanceOf: Class, code }, what) as NodeJS.ErrnoException | undefined
  if (error) t.is(Object.getPrototypeOf(error), Class.prototype, `${what}: exactly ${Class.name}`)
  return error
}

/** A Node-style system error: plain `Error`, `code`, negative `errno`, `syscall`. */
function isSystemError(t: ExecutionContext, error: NodeJS.ErrnoException | null | undefined, code: string, syscall: string): void {
  t.truthy(error, `expected a ${code} error`)
  if (!error) return
  t.is(Object.getPrototypeOf(error), Error.prototype, 'a system error is a plain Error')
  t.is(error.code, code)
  t.is(typeof error.errno, 'number')
  t.true(Number.isInteger(error.errno) && error.errno! < 0, `errno is libuv's negative number, got ${error.errno}`)
  t.is(error.syscall, syscall)
  t.regex(error.message, new RegExp(`^${syscall} ${code}`), 'message starts like Node: "<syscall> <code>"')
}

/** Everything still works: Poll, listener, connect, register, exchange bytes. */
function healthy(t: ExecutionContext): void {
  const poll = new Poll()
  const events = new Events(8)
  const listener = TcpListener.bind(ANY_LOCAL)
  const client = TcpStream.connect(listener.localAddr())
  try {
    poll.registry.register(listener, Token(0), Interest.READABLE)
    poll.registry.register(client, Token(1), Interest.WRITABLE)
    expectEvents(t, poll, events, [
      { token: 0, readiness: ['readable'] },
      { token: 1, readiness: ['writable'] },
    ])
    const accepted = listener.accept()
    t.not(accepted, null, 'health check: accept')
    const [server] = accepted!
    try {
      poll.registry.register(server, Token(2), Interest.READABLE)
      t.is(client.write(Buffer.from('ping')), 4, 'health check: write')
      expectEvents(t, poll, events, [{ token: 2, readiness: ['readable'] }])
      const buf = Buffer.alloc(16)
      t.is(server.read(buf), 4, 'health check: read')
      t.is(buf.toString('latin1', 0, 4), 'ping')
    } finally {
      server.close()
    }
  } finally {
    client.close()
    listener.close()
    poll.close()
  }
}

/** A connected TCP pair (client registered for WRITABLE with `poll`, then deregistered). */
function tcpPair(): { listener: TcpListener; client: TcpStream; server: TcpStream; close(): void } {
  const poll = new Poll()
  const events = new Events(4)
  const listener = TcpListener.bind(ANY_LOCAL)
  const client = TcpStream.connect(listener.localAddr())
  poll.registry.register(client, Token(1), Interest.WRITABLE)
  let accepted: ReturnType<TcpListener['accept']> = null
  for (let i = 0; i < 20 && accepted === null; i++) {
    poll.poll(events, 100)
    accepted = listener.accept()
  }
  poll.registry.deregister(client)
  poll.close()
  if (accepted === null) throw new Error('the connection was not accepted')
  const server = accepted[0]
  return {
    listener,
    client,
    server,
    close() {
      server.close()
      client.close()
      listener.close()
    },
  }
}

/** A UDP socket connected to a second one. */
function udpPair(): { a: UdpSocket; b: UdpSocket; close(): void } {
  const a = UdpSocket.bind(ANY_LOCAL)
  const b = UdpSocket.bind(ANY_LOCAL)
  a.connect(b.localAddr())
  b.connect(a.localAddr())
  return {
    a,
    b,
    close() {
      a.close()
      b.close()
    },
  }
}

/** A `Uint8Array` whose `ArrayBuffer` was transferred away (detached). */
function detached(offset = 0): Uint8Array {
  const ab = new ArrayBuffer(16)
  const view = new Uint8Array(ab, offset, 8)
  const transfer = (ab as ArrayBuffer & { transfer?: () => ArrayBuffer }).transfer
  if (typeof transfer === 'function') transfer.call(ab)
  else structuredClone(ab, { transfer: [ab] })
  if (view.byteLength !== 0) throw new Error('the buffer did not detach')
  return view
}

const show = (value: unknown): string => {
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'symbol') return value.toString()
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

const WRONG_NUMBER_TYPES: unknown[] = ['1', '', null, undefined, 1n, true, {}, [], [1], Symbol('n'), () => 1, new Number(1)]

// ---------------------------------------------------------------- tokens

const BAD_TOKEN_VALUES = [NaN, Infinity, -Infinity, -1, -0.5, 0.5, 1.5, 2 ** 53, 2 ** 53 + 2, 2 ** 64, Number.MAX_VALUE, -(2 ** 53)]

/**
 * The frame of the token and interest tests: a Poll, an unregistered
 * listener and a listener registered under token 1 (for reregister). After
 * `body`, the rejected calls must have left the first unregistered; then
 * everything is closed and the process is checked healthy.
 */
function withTwoListeners(t: ExecutionContext, body: (poll: Poll, listener: TcpListener, other: TcpListener) => void): void {
  const poll = new Poll()
  const listener = TcpListener.bind(ANY_LOCAL)
  const other = TcpListener.bind(ANY_LOCAL)
  poll.registry.register(other, Token(1), Interest.READABLE)
  try {
    body(poll, listener, other)
    throwsExactly(t, () => poll.registry.deregister(listener), Error, 'ENOENT', 'a rejected register leaves no registration')
  } finally {
    listener.close()
    other.close()
    poll.close()
  }
  healthy(t)
}

const BAD_TOKENS: Array<{ title: string; values: unknown[]; Class: ErrorClass; code: string; message?: string; after?: (poll: Poll) => void }> = [
  {
    title: 'tokens: wrong types are TypeError ERR_INVALID_ARG_TYPE everywhere a token goes',
    values: WRONG_NUMBER_TYPES,
    Class: TypeError,
    code: 'ERR_INVALID_ARG_TYPE',
    message: 'the message names the argument',
    // A Waker can still be made after the rejected ones.
    after: (poll) => new Waker(poll.registry, Token(7)).close(),
  },
  {
    title: 'tokens: NaN, Infinity, negative, fractional and huge are RangeError ERR_OUT_OF_RANGE',
    values: BAD_TOKEN_VALUES,
    Class: RangeError,
    code: 'ERR_OUT_OF_RANGE',
  },
]

for (const { title, values, Class, code, message, after } of BAD_TOKENS) {
  test(title, (t) => {
    withTwoListeners(t, (poll, listener, other) => {
      for (const bad of values) {
        const what = show(bad)
        const error = throwsExactly(t, () => Token(bad as number), Class, code, `Token(${what})`)
        if (error) t.regex(error.message, /"token"/, message)
        throwsExactly(t, () => poll.registry.register(listener, bad as number, Interest.READABLE), Class, code, `register ${what}`)
        throwsExactly(t, () => poll.registry.reregister(other, bad as number, Interest.READABLE), Class, code, `reregister ${what}`)
        throwsExactly(t, () => new Waker(poll.registry, bad as number), Class, code, `Waker ${what}`)
      }
      after?.(poll)
    })
  })
}

test('tokens: the extremes 0 and 2^53 - 1 are accepted and come back exactly', (t) => {
  const poll = new Poll()
  const events = new Events(4)
  const listener = TcpListener.bind(ANY_LOCAL)
  try {
    t.true(Token(-0) === 0, '-0 is token 0')
    t.is(Token.MAX, Number.MAX_SAFE_INTEGER)
    const waker = new Waker(poll.registry, Token.MAX)
    waker.wake()
    expectEvents(t, poll, events, [{ token: Token.MAX, readiness: ['readable'] }])
    poll.registry.register(listener, Token(0), Interest.READABLE)
    poll.registry.reregister(listener, Token.MAX - 1, Interest.READABLE)
    const client = TcpStream.connect(listener.localAddr())
    expectEvents(t, poll, events, [{ token: Token.MAX - 1, readiness: ['readable'] }])
    client.close()
    waker.close()
  } finally {
    listener.close()
    poll.close()
  }
  healthy(t)
})

// ---------------------------------------------------------------- interests

test('interests: anything but an Interest is TypeError ERR_INVALID_ARG_TYPE', (t) => {
  const bads: unknown[] = [
    0,
    1,
    3,
    Interest.READABLE.bits,
    'READABLE',
    null,
    undefined,
    { bits: 1 },
    [Interest.READABLE],
    Interest,
    true,
    1n,
  ]
  withTwoListeners(t, (poll, listener, other) => {
    for (const bad of bads) {
      const what = show(bad)
      const error = throwsExactly(t, () => poll.registry.register(listener, Token(0), bad as Interest), TypeError, 'ERR_INVALID_ARG_TYPE', `register ${what}`)
      if (error) t.regex(error.message, /"interest"/)
      throwsExactly(t, () => poll.registry.reregister(other, Token(0), bad as Interest), TypeError, 'ERR_INVALID_ARG_TYPE', `reregister ${what}`)
      throwsExactly(t, () => Interest.READABLE.add(bad as Interest), TypeError, 'ERR_INVALID_ARG_TYPE', `add ${what}`)
      throwsExactly(t, () => Interest.READABLE.remove(bad as Interest), TypeError, 'ERR_INVALID_ARG_TYPE', `remove ${what}`)
    }
  })
})

// ---------------------------------------------------------------- Events and poll()

test('Events capacity: 0, -1, 1.5, 2^21, NaN and friends are RangeError; wrong types TypeError', (t) => {
  for (const bad of [0, -0, -1, 1.5, 0.5, 2 ** 20 + 1, 2 ** 21, 2 ** 53, 2 ** 64, NaN, Infinity, -Infinity]) {
    const error = throwsExactly(t, () => new Events(bad), RangeError, 'ERR_OUT_OF_RANGE', `capacity ${show(bad)}`)
    if (error) t.regex(error.message, /"capacity"/)
  }
  for (const bad of WRONG_NUMBER_TYPES) {
    throwsExactly(t, () => new Events(bad as number), TypeError, 'ERR_INVALID_ARG_TYPE', `capacity ${show(bad)}`)
  }
  // The limits themselves work.
  const poll = new Poll()
  try {
    for (const capacity of [1, 2 ** 20]) {
      const events = new Events(capacity)
      t.is(events.capacity, capacity)
      t.is(poll.poll(events, 0), 0)
    }
  } finally {
    poll.close()
  }
  healthy(t)
})

test('poll(): a bad events argument is TypeError ERR_INVALID_ARG_TYPE', (t) => {
  const poll = new Poll()
  try {
    const bads: unknown[] = [null, undefined, {}, [], new Float64Array(8), 16, 'events', Events, { length: 0, capacity: 16 }]
    for (const bad of bads) {
      const error = throwsExactly(t, () => poll.poll(bad as Events, 0), TypeError, 'ERR_INVALID_ARG_TYPE', `events ${show(bad)}`)
      if (error) t.regex(error.message, /"events"/)
    }
  } finally {
    poll.close()
  }
  healthy(t)
})

test('poll(): a bad timeout is TypeError or RangeError; huge timeouts are accepted', (t) => {
  const poll = new Poll()
  const events = new Events(4)
  const waker = new Waker(poll.registry, Token(9))
  try {
    for (const bad of ['1', '', undefined, {}, [], true, 1n, Symbol('t'), new Number(1)]) {
      const error = throwsExactly(t, () => poll.poll(events, bad as number), TypeError, 'ERR_INVALID_ARG_TYPE', `timeout ${show(bad)}`)
      if (error) t.regex(error.message, /"timeout"/)
    }
    for (const bad of [NaN, -1, -0.001, -Infinity, -(2 ** 64)]) {
      const error = throwsExactly(t, () => poll.poll(events, bad), RangeError, 'ERR_OUT_OF_RANGE', `timeout ${show(bad)}`)
      if (error) t.regex(error.message, /"timeout"/)
    }
    // Timeouts beyond any Duration mean "forever": with a pending wake they
    // return at once with its event (no overflow, no panic).
    for (const huge of [Infinity, 1e300, 2 ** 64, Number.MAX_VALUE, 2 ** 53]) {
      waker.wake()
      t.is(poll.poll(events, huge), 1, `timeout ${show(huge)}`)
      t.is(events.get(0)?.token, 9)
    }
    // Tiny and zero timeouts return at once.
    for (const tiny of [0, -0, Number.MIN_VALUE, 1e-9, 0.5]) {
      t.is(poll.poll(events, tiny), 0, `timeout ${show(tiny)}`)
    }
  } finally {
    waker.close()
    poll.close()
  }
  healthy(t)
})

// ---------------------------------------------------------------- addresses

const BAD_ADDRESS_TEXT = [
  'localhost:80', // no DNS: mio takes addresses, not names
  'example.com:80',
  'nonsense',
  '',
  '1.2.3.4', // no port
  '[::1]', // no port
  '::1:80', // IPv6 without brackets
  '[::1:80',
  '127.0.0.1:',
  ':80',
  '127.0.0.1:-1',
  '127.0.0.1:80 ',
  ' 127.0.0.1:80',
  '256.0.0.1:80',
  '127.0.0.1:80:80',
  'http://127.0.0.1:80',
  '127.0.0.1:0x50',
]

// A valid address with a port out of range: node:net's RangeError, as in the object form.
const BAD_PORT_TEXT = ['127.0.0.1:70000', '127.0.0.1:65536', '[::1]:99999', '0.0.0.0:123456789012345678901234567890']

const BAD_ADDRESS_OBJECTS: Array<[unknown, ErrorClass, string]> = [
  [{ address: '127.0.0.1', port: 70000 }, RangeError, 'ERR_SOCKET_BAD_PORT'],
  [{ address: '127.0.0.1', port: 65536 }, RangeError, 'ERR_SOCKET_BAD_PORT'],
  [{ address: '127.0.0.1', port: -1 }, RangeError, 'ERR_SOCKET_BAD_PORT'],
  [{ address: '127.0.0.1', port: 1.5 }, RangeError, 'ERR_SOCKET_BAD_PORT'],
  [{ address: '127.0.0.1', port: NaN }, RangeError, 'ERR_SOCKET_BAD_PORT'],
  [{ address: '127.0.0.1', port: Infinity }, RangeError, 'ERR_SOCKET_BAD_PORT'],
  [{ address: '127.0.0.1', port: '80' }, TypeError, 'ERR_INVALID_ARG_TYPE'],
  [{ address: '127.0.0.1' }, TypeError, 'ERR_INVALID_ARG_TYPE'],
  [{ address: 1, port: 80 }, TypeError, 'ERR_INVALID_ARG_TYPE'],
  [{ port: 80 }, TypeError, 'ERR_INVALID_ARG_TYPE'],
  [{}, TypeError, 'ERR_INVALID_ARG_TYPE'],
  [[], TypeError, 'ERR_INVALID_ARG_TYPE'],
  [80, TypeError, 'ERR_INVALID_ARG_TYPE'],
  [null, TypeError, 'ERR_INVALID_ARG_TYPE'],
  [undefined, TypeError, 'ERR_INVALID_ARG_TYPE'],
  [true, TypeError, 'ERR_INVALID_ARG_TYPE'],
  [80n, TypeError, 'ERR_INVALID_ARG_TYPE'],
  [{ address: 'localhost', port: 80 }, TypeError, 'ERR_INVALID_ADDRESS'],
  [{ address: '[::1]', port: 80 }, TypeError, 'ERR_INVALID_ADDRESS'], // object form takes the bare address
  [{ address: '', port: 80 }, TypeError, 'ERR_INVALID_ADDRESS'],
]

test('addresses: bad text is TypeError ERR_INVALID_ADDRESS, a bad port RangeError ERR_SOCKET_BAD_PORT in either form; bad objects are the wrapper\'s codes', (t) => {
  const udp = UdpSocket.bind(ANY_LOCAL)
  const payload = Buffer.from('x')
  const uses: Array<[string, (addr: unknown) => unknown]> = [
    ['TcpListener.bind', (addr) => TcpListener.bind(addr as string).close()],
    ['TcpStream.connect', (addr) => TcpStream.connect(addr as string).close()],
    ['UdpSocket.bind', (addr) => UdpSocket.bind(addr as string).close()],
    ['udp.sendTo', (addr) => udp.sendTo(payload, addr as string)],
    ['udp.connect', (addr) => udp.connect(addr as string)],
  ]
  try {
    for (const [name, use] of uses) {
      for (const bad of BAD_ADDRESS_TEXT) {
        const error = throwsExactly(t, () => use(bad), TypeError, 'ERR_INVALID_ADDRESS', `${name}(${show(bad)})`)
        if (error) t.true(error.message.includes(JSON.stringify(bad)), `the message quotes the address: ${error.message}`)
      }
      for (const bad of BAD_PORT_TEXT) {
        const error = throwsExactly(t, () => use(bad), RangeError, 'ERR_SOCKET_BAD_PORT', `${name}(${show(bad)})`)
        if (error) t.true(error.message.includes(JSON.stringify(bad)), `the message quotes the address: ${error.message}`)
      }
      for (const [bad, Class, code] of BAD_ADDRESS_OBJECTS) {
        throwsExactly(t, () => use(bad), Class, code, `${name}(${show(bad)})`)
      }
    }
    // The object form names the offending field, in node:net's wording.
    const error = throwsExactly(t, () => TcpListener.bind({ address: '127.0.0.1', port: 70000 }), RangeError, 'ERR_SOCKET_BAD_PORT')
    if (error) t.regex(error.message, /^address\.port should be >= 0 and < 65536\. Received 70000\.$/)
    const target = throwsExactly(t, () => udp.sendTo(payload, { address: '127.0.0.1', port: -1 }), RangeError, 'ERR_SOCKET_BAD_PORT')
    if (target) t.regex(target.message, /^target\.port should be >= 0 and < 65536\. Received -1\.$/)
    // The UDP socket is untouched by all of that (never connected).
    throwsExactly(t, () => udp.peerAddr(), Error, 'ENOTCONN', 'udp.peerAddr after rejected connects')
  } finally {
    udp.close()
  }
  // Good object forms work, IPv4 and IPv6.
  const v4 = TcpListener.bind({ address: '127.0.0.1', port: 0 })
  t.is(v4.localAddr().family, 'IPv4')
  v4.close()
  const v6 = TcpListener.bind({ address: '::1', port: 0 })
  t.deepEqual(
    { address: v6.localAddr().address, family: v6.localAddr().family },
    { address: '::1', family: 'IPv6' },
  )
  v6.close()
  healthy(t)
})

// ---------------------------------------------------------------- buffers

test('buffers: anything but a Uint8Array is TypeError ERR_INVALID_ARG_TYPE, for every read and write', (t) => {
  const tcp = tcpPair()
  const udp = udpPair()
  const target = udp.b.localAddr()
  const bads: unknown[] = [
    null,
    undefined,
    'abc',
    123,
    [1, 2, 3],
    { length: 4, byteLength: 4 },
    new ArrayBuffer(4),
    new SharedArrayBuffer(4),
    new DataView(new ArrayBuffer(4)),
    new Uint16Array(2),
    new Int8Array(4),
    new Uint8ClampedArray(4),
    new Float64Array(1),
  ]
  const uses: Array<[string, (buf: unknown) => unknown]> = [
    ['TcpStream.read', (buf) => tcp.server.read(buf as Uint8Array)],
    ['TcpStream.peek', (buf) => tcp.server.peek(buf as Uint8Array)],
    ['TcpStream.write', (buf) => tcp.client.write(buf as Uint8Array)],
    ['TcpStream.writev', (buf) => tcp.client.writev([buf as Uint8Array])],
    ['UdpSocket.recvFrom', (buf) => udp.a.recvFrom(buf as Uint8Array)],
    ['UdpSocket.peekFrom', (buf) => udp.a.peekFrom(buf as Uint8Array)],
    ['UdpSocket.recv', (buf) => udp.a.recv(buf as Uint8Array)],
    ['UdpSocket.peek', (buf) => udp.a.peek(buf as Uint8Array)],
    ['UdpSocket.send', (buf) => udp.a.send(buf as Uint8Array)],
    ['UdpSocket.sendTo', (buf) => udp.a.sendTo(buf as Uint8Array, target)],
  ]
  try {
    for (const [name, use] of uses) {
      for (const bad of bads) {
        const error = throwsExactly(t, () => use(bad), TypeError, 'ERR_INVALID_ARG_TYPE', `${name}(${show(bad)})`)
        if (error) t.regex(error.message, name.endsWith('writev') ? /"bufs\[0\]"/ : /"buffer"/)
      }
    }
    // writev: the list itself, and which element is wrong.
    for (const bad of [null, undefined, 'abc', new Uint8Array(4), { length: 1, 0: new Uint8Array(1) }, 1]) {
      const error = throwsExactly(t, () => tcp.client.writev(bad as unknown as Uint8Array[]), TypeError, 'ERR_INVALID_ARG_TYPE', `writev(${show(bad)})`)
      if (error) t.regex(error.message, /"bufs"/)
    }
    const error = throwsExactly(t, () => tcp.client.writev([Buffer.from('a'), 'b' as unknown as Uint8Array]), TypeError, 'ERR_INVALID_ARG_TYPE')
    if (error) t.regex(error.message, /"bufs\[1\]"/)
    // Nothing was written by the rejected calls.
    t.is(tcp.server.read(Buffer.alloc(8)), null)
    t.is(udp.b.recv(Buffer.alloc(8)), null)
  } finally {
    tcp.close()
    udp.close()
  }
  healthy(t)
})

test('buffers: a zero-length read is RangeError ERR_OUT_OF_RANGE; a zero-length write returns 0', (t) => {
  const tcp = tcpPair()
  const udp = udpPair()
  const empties = (): Uint8Array[] => [new Uint8Array(0), Buffer.alloc(0), Buffer.alloc(8).subarray(3, 3), new Uint8Array(new ArrayBuffer(8), 8)]
  try {
    // Data is waiting, so a read into 0 bytes would return 0 and look like
    // the end of the stream: it must be refused instead.
    t.is(tcp.client.write(Buffer.from('data')), 4)
    t.is(udp.b.send(Buffer.from('dgram')), 5)
    sleep(20)
    const reads: Array<[string, (buf: Uint8Array) => unknown]> = [
      ['TcpStream.read', (buf) => tcp.server.read(buf)],
      ['TcpStream.peek', (buf) => tcp.server.peek(buf)],
      ['UdpSocket.recvFrom', (buf) => udp.a.recvFrom(buf)],
      ['UdpSocket.peekFrom', (buf) => udp.a.peekFrom(buf)],
      ['UdpSocket.recv', (buf) => udp.a.recv(buf)],
      ['UdpSocket.peek', (buf) => udp.a.peek(buf)],
    ]
    for (const [name, read] of reads) {
      for (const empty of empties()) {
        const error = throwsExactly(t, () => read(empty), RangeError, 'ERR_OUT_OF_RANGE', `${name}(empty)`)
        if (error) t.regex(error.message, /"buffer"/)
      }
    }
    // The data is still there.
    const buf = Buffer.alloc(16)
    t.is(tcp.server.read(buf), 4)
    t.is(buf.toString('latin1', 0, 4), 'data')
    t.is(udp.a.recv(buf), 5)

    for (const empty of empties()) {
      t.is(tcp.client.write(empty), 0, 'TcpStream.write(empty)')
      t.is(tcp.client.writev([empty]), 0, 'TcpStream.writev([empty])')
    }
    t.is(tcp.client.writev([]), 0, 'TcpStream.writev([])')
    sleep(20)
    t.is(tcp.server.read(buf), null, 'empty writes sent nothing')
    // A datagram may be empty: sending one returns 0.
    t.is(udp.b.send(new Uint8Array(0)), 0, 'UdpSocket.send(empty)')
    t.is(udp.b.sendTo(new Uint8Array(0), udp.a.localAddr()), 0, 'UdpSocket.sendTo(empty)')
  } finally {
    tcp.close()
    udp.close()
  }
  healthy(t)
})

test('buffers: a detached buffer is TypeError ERR_INVALID_ARG_VALUE, for every read and write', (t) => {
  const tcp = tcpPair()
  const udp = udpPair()
  const target = udp.b.localAddr()
  const uses: Array<[string, (buf: Uint8Array) => unknown]> = [
    ['TcpStream.read', (buf) => tcp.server.read(buf)],
    ['TcpStream.peek', (buf) => tcp.server.peek(buf)],
    ['TcpStream.write', (buf) => tcp.client.write(buf)],
    ['TcpStream.writev', (buf) => tcp.client.writev([Buffer.from('x'), buf])],
    ['UdpSocket.recvFrom', (buf) => udp.a.recvFrom(buf)],
    ['UdpSocket.peekFrom', (buf) => udp.a.peekFrom(buf)],
    ['UdpSocket.recv', (buf) => udp.a.recv(buf)],
    ['UdpSocket.peek', (buf) => udp.a.peek(buf)],
    ['UdpSocket.send', (buf) => udp.a.send(buf)],
    ['UdpSocket.sendTo', (buf) => udp.a.sendTo(buf, target)],
  ]
  try {
    t.is(tcp.client.write(Buffer.from('data')), 4)
    sleep(20)
    for (const [name, use] of uses) {
      for (const offset of [0, 4]) {
        const error = throwsExactly(t, () => use(detached(offset)), TypeError, 'ERR_INVALID_ARG_VALUE', `${name}(detached)`)
        if (error) t.regex(error.message, /detached/)
      }
    }
    // Nothing was consumed or sent by the rejected calls (writev is all or nothing).
    const buf = Buffer.alloc(16)
    t.is(tcp.server.read(buf), 4)
    t.is(tcp.server.read(buf), null)
    t.is(udp.b.recv(buf), null)
  } finally {
    tcp.close()
    udp.close()
  }
  healthy(t)
})

// ---------------------------------------------------------------- ttl, booleans, shutdown, multicast

test('ttl: wrong types TypeError ERR_INVALID_ARG_TYPE, out of range RangeError ERR_OUT_OF_RANGE', (t) => {
  const tcp = tcpPair()
  const udp = UdpSocket.bind(ANY_LOCAL)
  const setters: Array<[string, (ttl: number) => void, number, number]> = [
    ['TcpStream.setTtl', (ttl) => tcp.client.setTtl(ttl), 1, 255],
    ['TcpListener.setTtl', (ttl) => tcp.listener.setTtl(ttl), 1, 255],
    ['UdpSocket.setTtl', (ttl) => udp.setTtl(ttl), 1, 255],
    ['UdpSocket.setMulticastTtlV4', (ttl) => udp.setMulticastTtlV4(ttl), 0, 255],
  ]
  try {
    for (const [name, set, min, max] of setters) {
      for (const bad of WRONG_NUMBER_TYPES) {
        throwsExactly(t, () => set(bad as number), TypeError, 'ERR_INVALID_ARG_TYPE', `${name}(${show(bad)})`)
      }
      for (const bad of [min - 1, max + 1, 1.5, NaN, Infinity, -Infinity, 2 ** 32, 2 ** 32 + 64, -(2 ** 32) + 64]) {
        const error = throwsExactly(t, () => set(bad), RangeError, 'ERR_OUT_OF_RANGE', `${name}(${show(bad)})`)
        if (error) t.regex(error.message, /"ttl"/)
      }
      set(min)
      set(max)
    }
    t.is(tcp.client.ttl(), 255)
    t.is(udp.multicastTtlV4(), 255)
  } finally {
    tcp.close()
    udp.close()
  }
  healthy(t)
})

test('booleans: anything but true or false is TypeError ERR_INVALID_ARG_TYPE', (t) => {
  const tcp = tcpPair()
  const udp = UdpSocket.bind(ANY_LOCAL)
  const setters: Array<[string, (on: boolean) => void, () => boolean]> = [
    ['TcpStream.setNodelay', (on) => tcp.client.setNodelay(on), () => tcp.client.nodelay()],
    ['UdpSocket.setBroadcast', (on) => udp.setBroadcast(on), () => udp.broadcast()],
    ['UdpSocket.setMulticastLoopV4', (on) => udp.setMulticastLoopV4(on), () => udp.multicastLoopV4()],
  ]
  const bads: unknown[] = [1, 0, 'true', 'false', '', null, undefined, {}, [], new Boolean(true), 1n]
  try {
    for (const [name, set, get] of setters) {
      const before = get()
      for (const bad of bads) {
        throwsExactly(t, () => set(bad as boolean), TypeError, 'ERR_INVALID_ARG_TYPE', `${name}(${show(bad)})`)
      }
      t.is(get(), before, `${name}: a rejected value changed nothing`)
    }
  } finally {
    tcp.close()
    udp.close()
  }
  const v6 = UdpSocket.bind(ANY_LOCAL_V6)
  try {
    for (const bad of bads) {
      throwsExactly(t, () => v6.setMulticastLoopV6(bad as boolean), TypeError, 'ERR_INVALID_ARG_TYPE', `setMulticastLoopV6(${show(bad)})`)
    }
  } finally {
    v6.close()
  }
  healthy(t)
})

test("shutdown: a direction other than 'read', 'write' or 'both' is TypeError ERR_INVALID_ARG_VALUE", (t) => {
  const tcp = tcpPair()
  try {
    for (const bad of ['READ', 'Both', 'rw', '', 'read ', null, undefined, 0, 1, {}, ['read'], true]) {
      const error = throwsExactly(t, () => tcp.client.shutdown(bad as 'read'), TypeError, 'ERR_INVALID_ARG_VALUE', `shutdown(${show(bad)})`)
      if (error) t.regex(error.message, /"how"/)
    }
    // The connection is still open both ways.
    t.is(tcp.client.write(Buffer.from('ok')), 2)
    sleep(20)
    const buf = Buffer.alloc(4)
    t.is(tcp.server.read(buf), 2)
    t.is(tcp.server.write(Buffer.from('ok')), 2)
    sleep(20)
    t.is(tcp.client.read(buf), 2)
  } finally {
    tcp.close()
  }
  healthy(t)
})

test('multicast: bad groups, interfaces and indexes get clear errors', (t) => {
  const v4 = UdpSocket.bind(ANY_LOCAL)
  const v6 = UdpSocket.bind(ANY_LOCAL_V6)
  try {
    for (const op of ['joinMulticastV4', 'leaveMulticastV4'] as const) {
      throwsExactly(t, () => v4[op]('nope', '0.0.0.0'), TypeError, 'ERR_INVALID_IP_ADDRESS', `${op} group`)
      throwsExactly(t, () => v4[op]('224.0.0.1:80', '0.0.0.0'), TypeError, 'ERR_INVALID_IP_ADDRESS', `${op} group with port`)
      throwsExactly(t, () => v4[op]('224.0.0.1', 'eth0'), TypeError, 'ERR_INVALID_IP_ADDRESS', `${op} iface`)
      throwsExactly(t, () => v4[op]('ff02::1', '0.0.0.0'), TypeError, 'ERR_INVALID_IP_ADDRESS', `${op} v6 group`)
      for (const bad of [1, null, undefined, {}]) {
        throwsExactly(t, () => v4[op](bad as string, '0.0.0.0'), TypeError, 'ERR_INVALID_ARG_TYPE', `${op} group ${show(bad)}`)
        throwsExactly(t, () => v4[op]('224.0.0.1', bad as string), TypeError, 'ERR_INVALID_ARG_TYPE', `${op} iface ${show(bad)}`)
      }
    }
    for (const op of ['joinMulticastV6', 'leaveMulticastV6'] as const) {
      throwsExactly(t, () => v6[op]('nope', 0), TypeError, 'ERR_INVALID_IP_ADDRESS', `${op} group`)
      throwsExactly(t, () => v6[op]('224.0.0.1', 0), TypeError, 'ERR_INVALID_IP_ADDRESS', `${op} v4 group`)
      for (const bad of [-1, 1.5, NaN, 2 ** 32, Infinity]) {
        throwsExactly(t, () => v6[op]('ff02::1', bad), RangeError, 'ERR_OUT_OF_RANGE', `${op} iface ${show(bad)}`)
      }
      for (const bad of ['0', null, undefined, {}]) {
        throwsExactly(t, () => v6[op]('ff02::1', bad as number), TypeError, 'ERR_INVALID_ARG_TYPE', `${op} iface ${show(bad)}`)
      }
      for (const bad of [0, null, undefined, {}]) {
        throwsExactly(t, () => v6[op](bad as string, 0), TypeError, 'ERR_INVALID_ARG_TYPE', `${op} group ${show(bad)}`)
      }
    }
  } finally {
    v4.close()
    v6.close()
  }
  healthy(t)
})

// ---------------------------------------------------------------- closed objects

/** Calls every public method of a socket with valid arguments. */
function everyMethod<S extends Source>(methods: Record<string, (socket: S) => unknown>): Record<string, (socket: S) => unknown> {
  return methods
}

const buf4 = (): Buffer => Buffer.alloc(4)
/** The methods every IP socket has: TcpStream, TcpListener and UdpSocket. */
const IP_SOCKET_METHODS = everyMethod<TcpStream | TcpListener | UdpSocket>({
  localAddr: (s) => s.localAddr(),
  setTtl: (s) => s.setTtl(64),
  ttl: (s) => s.ttl(),
  takeError: (s) => s.takeError(),
  setRecvBufferSize: (s) => s.setRecvBufferSize(4096),
  recvBufferSize: (s) => s.recvBufferSize(),
  setSendBufferSize: (s) => s.setSendBufferSize(4096),
  sendBufferSize: (s) => s.sendBufferSize(),
  setReuseAddress: (s) => s.setReuseAddress(true),
  reuseAddress: (s) => s.reuseAddress(),
  setReusePort: (s) => s.setReusePort(true),
  reusePort: (s) => s.reusePort(),
  ipv6Only: (s) => s.ipv6Only(),
  detachFd: (s) => s.detachFd(),
})
const STREAM_METHODS = everyMethod<TcpStream>({
  ...IP_SOCKET_METHODS,
  read: (s) => s.read(buf4()),
  peek: (s) => s.peek(buf4()),
  write: (s) => s.write(Buffer.from('x')),
  writev: (s) => s.writev([Buffer.from('x')]),
  peerAddr: (s) => s.peerAddr(),
  shutdown: (s) => s.shutdown('both'),
  setNodelay: (s) => s.setNodelay(true),
  nodelay: (s) => s.nodelay(),
  readv: (s) => s.readv([buf4()]),
  setKeepalive: (s) => s.setKeepalive(true),
  keepalive: (s) => s.keepalive(),
  setLinger: (s) => s.setLinger(0),
  linger: (s) => s.linger(),
})
const LISTENER_METHODS = everyMethod<TcpListener>({
  ...IP_SOCKET_METHODS,
  accept: (s) => s.accept(),
})
const UDP_METHODS = everyMethod<UdpSocket>({
  ...IP_SOCKET_METHODS,
  sendTo: (s) => s.sendTo(Buffer.from('x'), '127.0.0.1:9'),
  recvFrom: (s) => s.recvFrom(buf4()),
  peekFrom: (s) => s.peekFrom(buf4()),
  recvBatch: (s) => s.recvBatch(new DatagramBatch(2, 8)),
  sendBatch: (s) => s.sendBatch(new DatagramBatch(2, 8), 0, 1),
  setGro: (s) => s.setGro(true),
  gro: (s) => s.gro(),
  setSegmentSize: (s) => s.setSegmentSize(1200),
  segmentSize: (s) => s.segmentSize(),
  connect: (s) => s.connect('127.0.0.1:9'),
  send: (s) => s.send(Buffer.from('x')),
  recv: (s) => s.recv(buf4()),
  peek: (s) => s.peek(buf4()),
  peerAddr: (s) => s.peerAddr(),
  setBroadcast: (s) => s.setBroadcast(true),
  broadcast: (s) => s.broadcast(),
  setMulticastLoopV4: (s) => s.setMulticastLoopV4(true),
  multicastLoopV4: (s) => s.multicastLoopV4(),
  setMulticastTtlV4: (s) => s.setMulticastTtlV4(1),
  multicastTtlV4: (s) => s.multicastTtlV4(),
  setMulticastLoopV6: (s) => s.setMulticastLoopV6(true),
  multicastLoopV6: (s) => s.multicastLoopV6(),
  joinMulticastV4: (s) => s.joinMulticastV4('224.0.0.1', '0.0.0.0'),
  leaveMulticastV4: (s) => s.leaveMulticastV4('224.0.0.1', '0.0.0.0'),
  joinMulticastV6: (s) => s.joinMulticastV6('ff02::1', 0),
  leaveMulticastV6: (s) => s.leaveMulticastV6('ff02::1', 0),
  onlyV6: (s) => s.onlyV6(),
})

/** Every public method along the prototype chain (close() is checked on its own). */
function publicMethods(proto: object): string[] {
  const names = new Set<string>()
  for (let p: object | null = proto; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (name !== 'constructor' && name !== 'close' && typeof Object.getOwnPropertyDescriptor(p, name)?.value === 'function') names.add(name)
    }
  }
  return [...names].sort()
}

test('closed sockets: every method throws Error ERR_SOCKET_CLOSED; close() twice is a no-op', (t) => {
  // The tables above cover every public method (a new one must be added here).
  t.deepEqual(Object.keys(STREAM_METHODS).sort(), publicMethods(TcpStream.prototype))
  t.deepEqual(Object.keys(LISTENER_METHODS).sort(), publicMethods(TcpListener.prototype))
  t.deepEqual(Object.keys(UDP_METHODS).sort(), publicMethods(UdpSocket.prototype))

  const tcp = tcpPair()
  const udp = UdpSocket.bind(ANY_LOCAL)
  const cases: Array<[string, Source, Record<string, (s: never) => unknown>]> = [
    ['TcpStream (connected)', tcp.client, STREAM_METHODS],
    ['TcpStream (accepted)', tcp.server, STREAM_METHODS],
    ['TcpListener', tcp.listener, LISTENER_METHODS],
    ['UdpSocket', udp, UDP_METHODS],
  ]
  for (const [name, socket, methods] of cases) {
    t.false(socket.closed)
    socket.close()
    t.true(socket.closed)
    t.notThrows(() => socket.close(), `${name}: second close()`)
    t.notThrows(() => socket[Symbol.dispose](), `${name}: dispose after close()`)
    t.true(socket.closed)
    for (const [method, call] of Object.entries(methods)) {
      const error = throwsExactly(t, () => call(socket as never), Error, 'ERR_SOCKET_CLOSED', `${name}.${method}() after close()`)
      if (error) t.regex(error.message, /closed/)
    }
  }
  // A zero-length write to a closed stream is an error too, not 0.
  throwsExactly(t, () => tcp.client.write(new Uint8Array(0)), Error, 'ERR_SOCKET_CLOSED', 'write(empty) after close()')
  throwsExactly(t, () => tcp.client.writev([]), Error, 'ERR_SOCKET_CLOSED', 'writev([]) after close()')
  // Argument errors still come first, with their own codes.
  throwsExactly(t, () => tcp.client.read(new Uint8Array(0)), RangeError, 'ERR_OUT_OF_RANGE')
  throwsExactly(t, () => tcp.client.setTtl(0), RangeError, 'ERR_OUT_OF_RANGE')
  tcp.close()
  healthy(t)
})

test('closed sockets: registering, reregistering or deregistering one throws ERR_SOCKET_CLOSED', (t) => {
  const poll = new Poll()
  const events = new Events(4)
  const registered = TcpListener.bind(ANY_LOCAL)
  const never = UdpSocket.bind(ANY_LOCAL)
  try {
    poll.registry.register(registered, Token(1), Interest.READABLE)
    registered.close()
    never.close()
    for (const socket of [registered, never]) {
      throwsExactly(t, () => poll.registry.register(socket, Token(2), Interest.READABLE), Error, 'ERR_SOCKET_CLOSED', 'register')
      throwsExactly(t, () => poll.registry.reregister(socket, Token(2), Interest.READABLE), Error, 'ERR_SOCKET_CLOSED', 'reregister')
      throwsExactly(t, () => poll.registry.deregister(socket), Error, 'ERR_SOCKET_CLOSED', 'deregister')
    }
    t.is(poll.poll(events, 0), 0, 'a closed source delivers no events')
  } finally {
    poll.close()
  }
  healthy(t)
})

test('closed Poll: poll, registry and Waker throw ERR_MIO_CLOSED; close() twice is a no-op', (t) => {
  const events = new Events(4)
  const listener = TcpListener.bind(ANY_LOCAL)
  const poll = new Poll()
  const registry = poll.registry
  const waker = new Waker(registry, Token(5))
  poll.registry.register(listener, Token(1), Interest.READABLE)
  poll.close()
  t.true(poll.closed)
  t.notThrows(() => poll.close())
  t.notThrows(() => poll[Symbol.dispose]())
  t.true(poll.closed)
  throwsExactly(t, () => poll.poll(events, 0), Error, 'ERR_MIO_CLOSED', 'poll()')
  throwsExactly(t, () => poll.poll(events, null), Error, 'ERR_MIO_CLOSED', 'poll(null) does not block on a closed Poll')
  const unregistered = TcpListener.bind(ANY_LOCAL)
  throwsExactly(t, () => registry.register(unregistered, Token(2), Interest.READABLE), Error, 'ERR_MIO_CLOSED', 'register')
  unregistered.close()
  throwsExactly(t, () => registry.reregister(listener, Token(2), Interest.READABLE), Error, 'ERR_MIO_CLOSED', 'reregister')
  throwsExactly(t, () => registry.deregister(listener), Error, 'ERR_MIO_CLOSED', 'deregister')
  throwsExactly(t, () => registry.tryClone(), Error, 'ERR_MIO_CLOSED', 'tryClone')
  throwsExactly(t, () => new Waker(registry, Token(6)), Error, 'ERR_MIO_CLOSED', 'new Waker')
  // The registry of a Poll closed before it was ever asked for.
  const fresh = new Poll()
  fresh.close()
  throwsExactly(t, () => fresh.registry, Error, 'ERR_MIO_CLOSED', 'registry of a closed Poll')
  throwsExactly(t, () => fresh.poll(events, 0), Error, 'ERR_MIO_CLOSED')

  // Closed Waker and closed cloned Registry.
  waker.close()
  t.true(waker.closed)
  t.notThrows(() => waker.close())
  throwsExactly(t, () => waker.wake(), Error, 'ERR_MIO_CLOSED', 'wake() after close()')
  const other = new Poll()
  const clone = other.registry.tryClone()
  clone.close()
  t.notThrows(() => clone.close())
  throwsExactly(t, () => clone.register(listener, Token(1), Interest.READABLE), Error, 'ERR_MIO_CLOSED', 'closed clone register')
  throwsExactly(t, () => clone.tryClone(), Error, 'ERR_MIO_CLOSED', 'closed clone tryClone')
  // poll.registry.close() does nothing: it lives as long as its Poll.
  other.registry.close()
  other.registry.register(listener, Token(1), Interest.READABLE)
  other.close()

  // The listener registered with the closed Poll is free to register elsewhere.
  const again = new Poll()
  t.notThrows(() => again.registry.register(listener, Token(1), Interest.READABLE))
  again.close()
  listener.close()
  healthy(t)
})

// ---------------------------------------------------------------- registration state

test('registration: a non-socket source is TypeError ERR_INVALID_ARG_TYPE', (t) => {
  const poll = new Poll()
  const bads: unknown[] = [{}, null, undefined, 1, 'socket', poll, poll.registry, new Events(1), Interest.READABLE, TcpListener, [], new (class Fake {})()]
  try {
    for (const bad of bads) {
      const what = show(bad)
      const error = throwsExactly(t, () => poll.registry.register(bad as Source, Token(1), Interest.READABLE), TypeError, 'ERR_INVALID_ARG_TYPE', `register ${what}`)
      if (error) t.regex(error.message, /"source"/)
      throwsExactly(t, () => poll.registry.reregister(bad as Source, Token(1), Interest.READABLE), TypeError, 'ERR_INVALID_ARG_TYPE', `reregister ${what}`)
      throwsExactly(t, () => poll.registry.deregister(bad as Source), TypeError, 'ERR_INVALID_ARG_TYPE', `deregister ${what}`)
    }
    for (const bad of [{}, null, undefined, 1, poll, new Events(1)]) {
      throwsExactly(t, () => new Waker(bad as Registry, Token(1)), TypeError, 'ERR_INVALID_ARG_TYPE', `Waker registry ${show(bad)}`)
    }
  } finally {
    poll.close()
  }
  healthy(t)
})

test('registration: twice is EEXIST, unregistered is ENOENT, another Poll is EEXIST', (t) => {
  const a = new Poll()
  const b = new Poll()
  const events = new Events(4)
  const listener = TcpListener.bind(ANY_LOCAL)
  const udp = UdpSocket.bind(ANY_LOCAL)
  try {
    for (const source of [listener, udp] as Source[]) {
      // Unregistered.
      isSystemError(t, t.throws(() => a.registry.reregister(source, Token(1), Interest.READABLE)), 'ENOENT', 'reregister')
      isSystemError(t, t.throws(() => a.registry.deregister(source)), 'ENOENT', 'deregister')

      a.registry.register(source, Token(1), Interest.READABLE)
      // Twice, through the Poll's registry or a clone of it.
      isSystemError(t, t.throws(() => a.registry.register(source, Token(2), Interest.WRITABLE)), 'EEXIST', 'register')
      const clone = a.registry.tryClone()
      isSystemError(t, t.throws(() => clone.register(source, Token(2), Interest.READABLE)), 'EEXIST', 'register')
      t.notThrows(() => clone.reregister(source, Token(1), Interest.READABLE), 'a clone of the same Poll may reregister')
      clone.close()
      // Through another Poll.
      isSystemError(t, t.throws(() => b.registry.register(source, Token(3), Interest.READABLE)), 'EEXIST', 'register')
      isSystemError(t, t.throws(() => b.registry.reregister(source, Token(3), Interest.READABLE)), 'EEXIST', 'reregister')
      isSystemError(t, t.throws(() => b.registry.deregister(source)), 'EEXIST', 'deregister')
      // The registration with `a` is intact.
      t.notThrows(() => a.registry.reregister(source, Token(1), Interest.READABLE))
      a.registry.deregister(source)
      isSystemError(t, t.throws(() => a.registry.deregister(source)), 'ENOENT', 'deregister')
      // Now `b` may have it.
      t.notThrows(() => b.registry.register(source, Token(3), Interest.READABLE))
      b.registry.deregister(source)
    }
    // The errors did not disturb event delivery.
    a.registry.register(listener, Token(1), Interest.READABLE)
    const client = TcpStream.connect(listener.localAddr())
    expectEvents(t, a, events, [{ token: 1, readiness: ['readable'] }])
    client.close()
  } finally {
    listener.close()
    udp.close()
    a.close()
    b.close()
  }
  healthy(t)
})

test('registration: a second Waker on a Poll is EEXIST, even after the first is closed', (t) => {
  const poll = new Poll()
  const events = new Events(4)
  try {
    const first = new Waker(poll.registry, Token(1))
    isSystemError(t, t.throws(() => new Waker(poll.registry, Token(2))), 'EEXIST', 'waker')
    const clone = poll.registry.tryClone()
    isSystemError(t, t.throws(() => new Waker(clone, Token(2))), 'EEXIST', 'waker')
    clone.close()
    first.close()
    isSystemError(t, t.throws(() => new Waker(poll.registry, Token(2))), 'EEXIST', 'waker')
    // Another Poll gets its own.
    const other = new Poll()
    const waker = new Waker(other.registry, Token(3))
    waker.wake()
    expectEvents(t, other, events, [{ token: 3, readiness: ['readable'] }])
    waker.close()
    other.close()
  } finally {
    poll.close()
  }
  healthy(t)
})

// ---------------------------------------------------------------- system errors

test('system errors: bind to an address in use is EADDRINUSE with address and port', (t) => {
  for (const local of [ANY_LOCAL, ANY_LOCAL_V6]) {
    const listener = TcpListener.bind(local)
    const udp = UdpSocket.bind(local)
    const taken = [listener.localAddr(), udp.localAddr()] as const
    try {
      const cases: Array<[string, () => unknown, (typeof taken)[number]]> = [
        ['TcpListener.bind', () => TcpListener.bind(taken[0]), taken[0]],
        ['TcpListener.bind (text)', () => TcpListener.bind(addrText(taken[0])), taken[0]],
        ['UdpSocket.bind', () => UdpSocket.bind(taken[1]), taken[1]],
      ]
      for (const [name, bind, addr] of cases) {
        const error = t.throws(bind, { instanceOf: Error, code: 'EADDRINUSE' }, name) as (NodeJS.ErrnoException & { address?: string; port?: number }) | undefined
        isSystemError(t, error, 'EADDRINUSE', 'bind')
        t.is(error?.address, addr.address, `${name}: address`)
        t.is(error?.port, addr.port, `${name}: port`)
        t.true(error?.message.includes(addrText(addr)), `${name}: the message names the address: ${error?.message}`)
      }
    } finally {
      listener.close()
      udp.close()
    }
  }
  healthy(t)
})

test('system errors: bind to an address this host does not have is EADDRNOTAVAIL with address and port', (t) => {
  // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never a local address.
  const error = t.throws(() => TcpListener.bind('192.0.2.1:4242'), { instanceOf: Error, code: 'EADDRNOTAVAIL' }) as
    | (NodeJS.ErrnoException & { address?: string; port?: number })
    | undefined
  isSystemError(t, error, 'EADDRNOTAVAIL', 'bind')
  t.is(error?.address, '192.0.2.1')
  t.is(error?.port, 4242)
  healthy(t)
})

test('system errors: a connect that fails at once throws with address and port', (t) => {
  if (process.platform !== 'linux') return t.pass('Linux refuses TCP to a broadcast address synchronously')
  const error = t.throws(() => TcpStream.connect('255.255.255.255:4242'), { instanceOf: Error, code: 'ENETUNREACH' }) as
    | (NodeJS.ErrnoException & { address?: string; port?: number })
    | undefined
  isSystemError(t, error, 'ENETUNREACH', 'connect')
  t.is(error?.address, '255.255.255.255')
  t.is(error?.port, 4242)
  healthy(t)
})

/** A port nothing listens on (bound, then closed). */
function closedPort(): string {
  const listener = TcpListener.bind(ANY_LOCAL)
  const addr = addrText(listener.localAddr())
  listener.close()
  return addr
}

/** Connects to a closed port and waits for the failure's event. */
function refusedConnect(t: ExecutionContext): { stream: TcpStream; address: string; done(): void } {
  const poll = new Poll()
  const events = new Events(4)
  const address = closedPort()
  const stream = TcpStream.connect(address)
  poll.registry.register(stream, Token(1), Interest.READABLE.add(Interest.WRITABLE))
  expectEvents(t, poll, events, [{ token: 1, readiness: ['writable'] }])
  return {
    stream,
    address,
    done() {
      stream.close()
      poll.close()
    },
  }
}

test('system errors: a refused connect shows ECONNREFUSED through takeError()', (t) => {
  const { stream, done } = refusedConnect(t)
  try {
    const error = stream.takeError()
    isSystemError(t, error, 'ECONNREFUSED', 'connect')
    t.is(stream.takeError(), null, 'taking the error clears it')
    throwsExactly(t, () => stream.peerAddr(), Error, 'ENOTCONN', 'peerAddr of a failed connect')
  } finally {
    done()
  }
  healthy(t)
})

test('system errors: a refused connect throws ECONNREFUSED from the first read()', (t) => {
  const { stream, done } = refusedConnect(t)
  try {
    const error = t.throws(() => stream.read(Buffer.alloc(4))) as NodeJS.ErrnoException | undefined
    isSystemError(t, error, 'ECONNREFUSED', 'read')
    t.is(stream.takeError(), null, 'the read took the error')
  } finally {
    done()
  }
  healthy(t)
})

// The error of a failed connect, taken later with takeError(), names the
// address connected to as node:net does: `address`, `port`, and a message
// "connect ECONNREFUSED 127.0.0.1:PORT".
test('system errors: the ECONNREFUSED of takeError() carries the address and port connected to', (t) => {
  const { stream, address, done } = refusedConnect(t)
  try {
    const error = stream.takeError() as (NodeJS.ErrnoException & { address?: string; port?: number }) | null
    const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))]
    t.is(error?.code, 'ECONNREFUSED')
    t.is(error?.address, host)
    t.is(error?.port, port)
    t.true(error?.message.includes(address), `the message names the address: ${error?.message}`)
  } finally {
    done()
  }
})

test('system errors: UDP failures are Node-style (ENOTCONN, EDESTADDRREQ, ECONNREFUSED, EMSGSIZE)', (t) => {
  const udp = UdpSocket.bind(ANY_LOCAL)
  try {
    isSystemError(t, t.throws(() => udp.peerAddr()), 'ENOTCONN', 'getpeername')
    // The same code on every OS (Winsock's own is WSAENOTCONN).
    isSystemError(t, t.throws(() => udp.send(Buffer.from('x'))), 'EDESTADDRREQ', 'send')
    if (process.platform === 'linux') {
      isSystemError(t, t.throws(() => udp.sendTo(Buffer.alloc(70_000), ANY_LOCAL.replace(':0', ':9'))), 'EMSGSIZE', 'sendto')
      // A connected socket learns (ICMP port unreachable) that nobody listens.
      const gone = UdpSocket.bind(ANY_LOCAL)
      const target = gone.localAddr()
      gone.close()
      udp.connect(target)
      t.is(udp.send(Buffer.from('x')), 1)
      let error: NodeJS.ErrnoException | undefined
      for (let i = 0; i < 50 && error === undefined; i++) {
        sleep(10)
        try {
          udp.recv(Buffer.alloc(4))
        } catch (e) {
          error = e as NodeJS.ErrnoException
        }
      }
      isSystemError(t, error, 'ECONNREFUSED', 'recv')
    }
  } finally {
    udp.close()
  }
  healthy(t)
})

// ---------------------------------------------------------------- forged state

test('forged handles: no program reaches a socket\'s handle, and the binding refuses forged ones, never acting on another object', (t) => {
  const tcp = tcpPair()
  const udp = UdpSocket.bind(ANY_LOCAL)
  const poll = new Poll()
  const fast = raw.fastCalls()
  const real = handleOf(tcp.client)
  try {
    // The handle is a private field: no own property, string or symbol,
    // holds it, so none can be read or replaced.
    for (const key of Reflect.ownKeys(tcp.client)) {
      t.not(Reflect.get(tcp.client, key), real, `own property ${String(key)} holds the handle`)
    }
    t.deepEqual(Reflect.ownKeys(tcp.client).filter((key) => typeof key === 'symbol'), [], 'no own symbol')
    // Numbers the binding never gave out: ERR_MIO_INVALID_HANDLE.
    for (const forged of [NaN, Infinity, -1, 0.5, 1, 2 ** 32 - 1, real + 0.5, real + 2 ** 44, 2 ** 53, 2 ** 64]) {
      throwsExactly(t, () => fast.streamRead(forged, Buffer.alloc(4)), TypeError, 'ERR_MIO_INVALID_HANDLE', `read with handle ${forged}`)
      throwsExactly(t, () => raw.socketLocalAddr(forged), TypeError, 'ERR_MIO_INVALID_HANDLE', `localAddr with handle ${forged}`)
    }
    // A live handle of another kind of socket: a type error, not a read from a listener.
    for (const forged of [handleOf(tcp.listener), handleOf(udp)]) {
      throwsExactly(t, () => fast.streamRead(forged, Buffer.alloc(4)), TypeError, 'ERR_INVALID_ARG_TYPE', 'read with a non-stream handle')
      throwsExactly(t, () => fast.streamWrite(forged, Buffer.from('x')), TypeError, 'ERR_INVALID_ARG_TYPE', 'write with a non-stream handle')
      throwsExactly(t, () => raw.socketSetNodelay(forged, true), TypeError, 'ERR_INVALID_ARG_TYPE', 'setNodelay with a non-stream handle')
    }
    // A live handle of another table (a Registry's) names no socket.
    const registry = registryHandle(poll.registry)
    throwsExactly(t, () => fast.streamRead(registry, Buffer.alloc(4)), TypeError, 'ERR_MIO_INVALID_HANDLE', 'read with a Registry handle')
    throwsExactly(t, () => raw.sourceClose(registry), TypeError, 'ERR_MIO_INVALID_HANDLE', 'close with a Registry handle')
    t.is(poll.poll(new Events(4), 0), 0, 'the Poll behind that registry still works')
    t.is(tcp.client.write(Buffer.from('fine')), 4, 'the socket still works')
  } finally {
    tcp.close()
    udp.close()
    poll.close()
  }
  healthy(t)
})

// Arguments are recognised by brand, not by `instanceof`: an object that
// only has the prototype of a Source, Events, Interest or Registry is a
// TypeError ERR_INVALID_ARG_TYPE, before it reaches code that assumes the
// real thing.
test('forged objects: an object with a Source prototype is TypeError ERR_INVALID_ARG_TYPE', (t) => {
  const poll = new Poll()
  try {
    const fake = Object.create(TcpStream.prototype) as TcpStream
    throwsExactly(t, () => poll.registry.register(fake, Token(1), Interest.READABLE), TypeError, 'ERR_INVALID_ARG_TYPE')
    throwsExactly(t, () => poll.registry.deregister(fake), TypeError, 'ERR_INVALID_ARG_TYPE')
  } finally {
    poll.close()
  }
})

test('forged objects: an object with an Events prototype is TypeError ERR_INVALID_ARG_TYPE', (t) => {
  const poll = new Poll()
  try {
    throwsExactly(t, () => poll.poll(Object.create(Events.prototype) as Events, 0), TypeError, 'ERR_INVALID_ARG_TYPE')
  } finally {
    poll.close()
  }
})

test('forged objects: an object with an Interest prototype is TypeError ERR_INVALID_ARG_TYPE', (t) => {
  const poll = new Poll()
  const listener = TcpListener.bind(ANY_LOCAL)
  try {
    throwsExactly(t, () => poll.registry.register(listener, Token(1), Object.create(Interest.prototype) as Interest), TypeError, 'ERR_INVALID_ARG_TYPE')
  } finally {
    listener.close()
    poll.close()
  }
})

test('forged objects: an object with a Registry prototype is TypeError ERR_INVALID_ARG_TYPE', (t) => {
  throwsExactly(t, () => new Waker(Object.create(Registry.prototype) as Registry, Token(1)), TypeError, 'ERR_INVALID_ARG_TYPE')
})

// Buffers are recognised as node:fs and node:net recognise them, not by
// `instanceof`: an object with Uint8Array's prototype, one with a
// `byteLength` as well, and a Proxy of a real Uint8Array are each a
// TypeError ERR_INVALID_ARG_TYPE for read and write.
test('forged objects: a fake Uint8Array is TypeError ERR_INVALID_ARG_TYPE', (t) => {
  const tcp = tcpPair()
  try {
    const fakes: Array<[string, () => unknown]> = [
      ['prototype only', () => Object.create(Uint8Array.prototype)],
      ['prototype and byteLength', () => Object.setPrototypeOf({ byteLength: 4, length: 4 }, Uint8Array.prototype)],
      ['Proxy', () => new Proxy(new Uint8Array(4), {})],
    ]
    for (const [name, make] of fakes) {
      throwsExactly(t, () => tcp.server.read(make() as Uint8Array), TypeError, 'ERR_INVALID_ARG_TYPE', `read(${name})`)
      throwsExactly(t, () => tcp.client.write(make() as Uint8Array), TypeError, 'ERR_INVALID_ARG_TYPE', `write(${name})`)
    }
  } finally {
    tcp.close()
  }
})

// An empty read is refused by what the buffer really holds, not by its
// `byteLength` property: a Uint8Array(0) claiming 100 bytes is RangeError
// ERR_OUT_OF_RANGE for read and peek, never a 0 that would fake the end of
// the stream while data is pending.
test('forged objects: a Uint8Array lying about its byteLength cannot fake the end of the stream', (t) => {
  const lying = (): Uint8Array => Object.defineProperty(new Uint8Array(0), 'byteLength', { value: 100 })
  const tcp = tcpPair()
  try {
    t.is(tcp.client.write(Buffer.from('data')), 4)
    sleep(20)
    throwsExactly(t, () => tcp.server.read(lying()), RangeError, 'ERR_OUT_OF_RANGE', 'read')
    throwsExactly(t, () => tcp.server.peek(lying()), RangeError, 'ERR_OUT_OF_RANGE', 'peek')
  } finally {
    tcp.close()
  }
})

// Sockets have no public constructor: a live socket's handle (a second
// owner of that socket) and a made-up handle are both refused with a
// TypeError.
test('forged objects: sockets have no public constructor', (t) => {
  const listener = TcpListener.bind(ANY_LOCAL)
  const handle = handleOf(listener)
  try {
    const Ctor = TcpListener as unknown as new (handle: number) => TcpListener
    t.throws(() => new Ctor(handle), { instanceOf: TypeError }, 'an alias of a live socket')
    t.throws(() => new Ctor(2 ** 32 + 1), { instanceOf: TypeError }, 'a made-up handle')
  } finally {
    listener.close()
  }
})
