// A generic hostile-argument harness: for every public method and every
// argument position, an argument whose getters, Proxy traps or conversions
// run code that closes the source or the Poll, detaches or transfers the
// call's buffers, forces a collection, or calls back into node-mio. The
// assertion, for every combination: no crash and no abort (this process
// survives), a documented error (a TypeError/RangeError/Error with a code
// node-mio documents, or the program's own exception) or a correct result,
// and no byte read or written outside the caller's live buffers: every byte
// that crosses a connection is one of the two patterns the test and the
// peers write (heap memory sent or received by mistake would show other
// bytes), and buffers allocated where freed memory is reused stay untouched.
import test from 'ava'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as mio from 'node-mio'
import * as raw from '../index.js'

const { Events, Interest, Poll, TcpListener, TcpStream, UdpSocket, Waker } = mio
const unix = process.platform !== 'win32'
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})

/** What the peers send, and what the test writes. */
const IN = 0x3c
const OUT = 0x5a

/** Errors node-mio documents (system errors are `E*` codes with a syscall). */
const DOCUMENTED = new Set([
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_OUT_OF_RANGE',
  'ERR_SOCKET_CLOSED',
  'ERR_MIO_CLOSED',
  'ERR_INVALID_ADDRESS',
  'ERR_INVALID_IP_ADDRESS',
  'ERR_SOCKET_BAD_PORT',
  'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM',
])

/** The program's own exception, thrown by a hostile getter. */
class Hostile extends Error {}

/** Everything one call can touch, made fresh for each call. */
class World {
  readonly poll = new Poll()
  readonly events = new Events(16)
  readonly listener = TcpListener.bind('127.0.0.1:0')
  readonly client: mio.TcpStream
  readonly server: mio.TcpStream
  readonly udpA = UdpSocket.bind('127.0.0.1:0')
  readonly udpB = UdpSocket.bind('127.0.0.1:0')
  readonly waker: InstanceType<typeof Waker>
  readonly unixPair: [mio.UnixStream, mio.UnixStream] | undefined
  readonly datagrams: [mio.UnixDatagram, mio.UnixDatagram] | undefined
  readonly pipe: [mio.PipeSender, mio.PipeReceiver] | undefined
  /** Buffers handed to the call, which an action may detach. */
  readonly buffers: Uint8Array[] = []
  /** Buffers allocated after a detach, where freed memory is reused: must stay 0. */
  canaries: Uint8Array[] = []

  constructor() {
    this.client = TcpStream.connect(this.listener.localAddr())
    let accepted = this.listener.accept()
    const deadline = Date.now() + 5000
    while (accepted === null && Date.now() < deadline) accepted = this.listener.accept()
    if (accepted === null) throw new Error('no connection')
    this.server = accepted[0]
    this.waker = new Waker(this.poll.registry, 1000)
    this.client.write(Buffer.alloc(512, IN))
    this.udpA.sendTo(Buffer.alloc(64, IN), this.udpB.localAddr())
    this.udpB.connect(this.udpA.localAddr())
    if (unix) {
      this.unixPair = mio.UnixStream.pair()
      this.unixPair[0].write(Buffer.alloc(256, IN))
      this.datagrams = mio.UnixDatagram.pair()
      this.datagrams[0].send(Buffer.alloc(32, IN))
      this.pipe = mio.pipe()
      this.pipe[0].write(Buffer.alloc(128, IN))
    }
  }

  /** A buffer for the call: filled with OUT (for writes) or 0 (for reads). */
  buffer(size: number, fill: number): Uint8Array {
    const buf = new Uint8Array(size).fill(fill)
    this.buffers.push(buf)
    return buf
  }

  /** Closes and drains everything; checks every byte that crossed. */
  finish(check: (ok: boolean, what: string) => void): void {
    for (const canary of this.canaries) check(canary.every((x) => x === 0), 'a canary buffer was written')
    const chunk = Buffer.alloc(65536)
    const drain = (read: () => number | null, what: string): void => {
      for (let i = 0; i < 64; i++) {
        let n: number | null
        try {
          n = read()
        } catch {
          return
        }
        if (n === null || n === 0) return
        check(chunk.subarray(0, n).every((x) => x === OUT || x === IN), `${what}: a byte nobody wrote`)
      }
    }
    drain(() => this.server.read(chunk), 'tcp')
    drain(() => this.udpA.recv(chunk), 'udp')
    if (this.unixPair) drain(() => this.unixPair![0].read(chunk), 'unix stream')
    if (this.datagrams) drain(() => this.datagrams![0].recv(chunk), 'unix datagram')
    if (this.pipe) drain(() => this.pipe![1].read(chunk), 'pipe')
    for (const closable of [
      this.client,
      this.server,
      this.listener,
      this.udpA,
      this.udpB,
      this.waker,
      ...(this.unixPair ?? []),
      ...(this.datagrams ?? []),
      ...(this.pipe ?? []),
      this.poll,
    ]) {
      closable.close()
    }
  }
}

/** What a hostile conversion does. */
type Action = (world: World) => void
const ACTIONS: Record<string, Action> = {
  'close the source': (w) => {
    for (const s of [w.client, w.server, w.udpA, w.udpB, ...(w.unixPair ?? []), ...(w.datagrams ?? []), ...(w.pipe ?? [])]) s.close()
  },
  'close the Poll': (w) => w.poll.close(),
  'detach the buffers': (w) => {
    for (const buf of w.buffers) {
      if (buf.byteLength > 0) structuredClone(buf.buffer, { transfer: [buf.buffer as ArrayBuffer] })
    }
    gc()
    for (const buf of w.buffers) w.canaries.push(new Uint8Array(Math.max(buf.length, 16)))
  },
  collect: () => gc(),
  're-enter node-mio': (w) => {
    const tmp = Buffer.alloc(8)
    for (const call of [
      () => w.poll.poll(w.events, 0),
      () => w.server.read(tmp),
      () => w.client.write(Buffer.alloc(4, OUT)),
      () => w.poll.registry.register(w.udpB, 5, Interest.READABLE),
      () => w.poll.registry.deregister(w.udpB),
      () => w.waker.wake(),
      () => new Poll().close(),
    ]) {
      try {
        call()
      } catch {}
    }
  },
  throw: () => {
    throw new Hostile('thrown by a hostile argument')
  },
}

/** Hostile forms of an argument: each runs `act` when the binding or wrapper looks at it. */
function hostileForms(value: unknown, act: () => void): Array<[string, unknown]> {
  const forms: Array<[string, unknown]> = [
    ['valueOf/toString/toPrimitive', {
      valueOf() { act(); return value },
      toString() { act(); return String(value) },
      [Symbol.toPrimitive]() { act(); return value },
    }],
  ]
  if (typeof value === 'object' && value !== null) {
    forms.push(['a Proxy whose traps act', new Proxy(value, {
      get(target, key, receiver) { act(); return Reflect.get(target, key, receiver) },
      has(target, key) { act(); return Reflect.has(target, key) },
      ownKeys(target) { act(); return Reflect.ownKeys(target) },
      getOwnPropertyDescriptor(target, key) { act(); return Reflect.getOwnPropertyDescriptor(target, key) },
      getPrototypeOf(target) { act(); return Reflect.getPrototypeOf(target) },
    })])
    if (ArrayBuffer.isView(value)) {
      // A real Uint8Array whose own accessors shadow the prototype's.
      const view = value as Uint8Array
      const shadowed = new Uint8Array(view.buffer, view.byteOffset, view.length)
      for (const key of ['byteLength', 'length', 'byteOffset', 'buffer']) {
        const real = Reflect.get(Uint8Array.prototype, key, view)
        Object.defineProperty(shadowed, key, { get() { act(); return real } })
      }
      forms.push(['a Uint8Array with acting accessors', shadowed])
    }
    if (Array.isArray(value)) {
      const acting: unknown[] = []
      value.forEach((element, i) => Object.defineProperty(acting, i, { enumerable: true, get() { act(); return element } }))
      forms.push(['an array with acting index getters', acting])
    }
    if (!ArrayBuffer.isView(value) && !Array.isArray(value)) {
      const acting: Record<string, unknown> = {}
      const fields = value as Record<string, unknown>
      for (const key of Object.keys(value)) {
        Object.defineProperty(acting, key, {
          enumerable: true,
          get() { act(); return fields[key] },
          set(next: unknown) { act(); fields[key] = next },
        })
      }
      forms.push(['an object with acting getters', acting])
    }
  }
  return forms
}

/** One public method: how to call it, and its arguments' plausible values. */
interface Case {
  name: string
  unix?: boolean
  args: (w: World) => unknown[]
  call: (w: World, args: unknown[]) => unknown
}

const rd = (w: World): Uint8Array => w.buffer(64, 0)
const wr = (w: World): Uint8Array => w.buffer(64, OUT)

const CASES: Case[] = [
  { name: 'Poll.poll', args: (w) => [w.events, 0], call: (w, [e, t]) => w.poll.poll(e as mio.Events, t as number) },
  { name: 'Registry.register', args: (w) => [w.udpB, 3, Interest.READABLE], call: (w, [s, t, i]) => w.poll.registry.register(s as mio.Source, t as number, i as mio.Interest) },
  { name: 'Registry.reregister', args: (w) => { w.poll.registry.register(w.udpB, 3, Interest.READABLE); return [w.udpB, 4, Interest.WRITABLE] }, call: (w, [s, t, i]) => w.poll.registry.reregister(s as mio.Source, t as number, i as mio.Interest) },
  { name: 'Registry.deregister', args: (w) => { w.poll.registry.register(w.udpB, 3, Interest.READABLE); return [w.udpB] }, call: (w, [s]) => w.poll.registry.deregister(s as mio.Source) },
  { name: 'new Waker', args: () => [new Poll().registry, 9], call: (_w, [r, t]) => new Waker(r as mio.Registry, t as number).close() },
  { name: 'new Events', args: () => [8], call: (_w, [c]) => new Events(c as number) },
  { name: 'Interest.add', args: () => [Interest.WRITABLE], call: (_w, [i]) => Interest.READABLE.add(i as mio.Interest) },
  { name: 'TcpStream.read', args: (w) => [rd(w), 0, 64], call: (w, [b, o, l]) => w.server.read(b as Uint8Array, o as number, l as number) },
  { name: 'TcpStream.write', args: (w) => [wr(w), 0, 64], call: (w, [b, o, l]) => w.client.write(b as Uint8Array, o as number, l as number) },
  { name: 'TcpStream.readv', args: (w) => [[rd(w), rd(w)]], call: (w, [b]) => w.server.readv(b as Uint8Array[]) },
  { name: 'TcpStream.writev', args: (w) => [[wr(w), wr(w)]], call: (w, [b]) => w.client.writev(b as Uint8Array[]) },
  { name: 'TcpStream.peek', args: (w) => [rd(w)], call: (w, [b]) => w.server.peek(b as Uint8Array) },
  { name: 'TcpStream.shutdown', args: () => ['write'], call: (w, [h]) => w.client.shutdown(h as 'write') },
  { name: 'TcpStream.setNodelay', args: () => [true], call: (w, [on]) => w.client.setNodelay(on as boolean) },
  { name: 'TcpStream.setKeepalive', args: () => [{ idle: 2000, interval: 1000 }], call: (w, [k]) => w.client.setKeepalive(k as mio.KeepaliveOptions) },
  { name: 'TcpStream.setLinger', args: () => [1000], call: (w, [ms]) => w.client.setLinger(ms as number) },
  { name: 'TcpStream.setTtl', args: () => [64], call: (w, [ttl]) => w.client.setTtl(ttl as number) },
  { name: 'TcpStream.connect', args: (w) => [w.listener.localAddr(), { nodelay: true, localAddress: '127.0.0.1:0' }], call: (_w, [a, o]) => TcpStream.connect(a as mio.SocketAddressInput, o as mio.ConnectOptions).close() },
  { name: 'TcpListener.bind', args: () => ['127.0.0.1:0', { backlog: 8, reuseAddress: true }], call: (_w, [a, o]) => TcpListener.bind(a as string, o as mio.ListenOptions).close() },
  { name: 'UdpSocket.sendTo', args: (w) => [wr(w), w.udpA.localAddr(), 0, 64], call: (w, [b, to, o, l]) => w.udpB.sendTo(b as Uint8Array, to as mio.SocketAddressInput, o as number, l as number) },
  { name: 'UdpSocket.recvFrom', args: (w) => [rd(w), { address: '', family: 'IPv4', port: 0, size: 0 }], call: (w, [b, into]) => w.udpB.recvFrom(b as Uint8Array, into as mio.RemoteInfo) },
  { name: 'UdpSocket.peekFrom', args: (w) => [rd(w)], call: (w, [b]) => w.udpB.peekFrom(b as Uint8Array) },
  { name: 'UdpSocket.send', args: (w) => [wr(w)], call: (w, [b]) => w.udpB.send(b as Uint8Array) },
  { name: 'UdpSocket.recv', args: (w) => [rd(w)], call: (w, [b]) => w.udpB.recv(b as Uint8Array) },
  { name: 'UdpSocket.connect', args: (w) => [w.udpA.localAddr()], call: (w, [a]) => w.udpB.connect(a as mio.SocketAddressInput) },
  { name: 'UdpSocket.setMulticastTtlV4', args: () => [4], call: (w, [ttl]) => w.udpB.setMulticastTtlV4(ttl as number) },
  { name: 'UdpSocket.joinMulticastV4', args: () => ['239.1.2.3', '0.0.0.0'], call: (w, [g, i]) => w.udpB.joinMulticastV4(g as string, i as string) },
  { name: 'UdpSocket.bind', args: () => ['127.0.0.1:0', { broadcast: true, recvBufferSize: 65536 }], call: (_w, [a, o]) => UdpSocket.bind(a as string, o as mio.UdpBindOptions).close() },
  { name: 'UnixStream.read', unix: true, args: (w) => [rd(w)], call: (w, [b]) => w.unixPair![1].read(b as Uint8Array) },
  { name: 'UnixStream.write', unix: true, args: (w) => [wr(w)], call: (w, [b]) => w.unixPair![1].write(b as Uint8Array) },
  { name: 'UnixStream.readv', unix: true, args: (w) => [[rd(w), rd(w)]], call: (w, [b]) => w.unixPair![1].readv(b as Uint8Array[]) },
  { name: 'UnixStream.writev', unix: true, args: (w) => [[wr(w), wr(w)]], call: (w, [b]) => w.unixPair![1].writev(b as Uint8Array[]) },
  { name: 'UnixDatagram.send', unix: true, args: (w) => [wr(w)], call: (w, [b]) => w.datagrams![1].send(b as Uint8Array) },
  { name: 'UnixDatagram.recv', unix: true, args: (w) => [rd(w)], call: (w, [b]) => w.datagrams![1].recv(b as Uint8Array) },
  { name: 'UnixDatagram.recvFrom', unix: true, args: (w) => [rd(w)], call: (w, [b]) => w.datagrams![1].recvFrom(b as Uint8Array) },
  { name: 'PipeSender.write', unix: true, args: (w) => [wr(w)], call: (w, [b]) => w.pipe![0].write(b as Uint8Array) },
  { name: 'PipeSender.writev', unix: true, args: (w) => [[wr(w), wr(w)]], call: (w, [b]) => w.pipe![0].writev(b as Uint8Array[]) },
  { name: 'PipeReceiver.read', unix: true, args: (w) => [rd(w)], call: (w, [b]) => w.pipe![1].read(b as Uint8Array) },
  { name: 'PipeReceiver.readv', unix: true, args: (w) => [[rd(w), rd(w)]], call: (w, [b]) => w.pipe![1].readv(b as Uint8Array[]) },
]

/** The outcome is documented: a known error, the program's own, or a plain value. */
function judge(outcome: { error?: unknown; value?: unknown }, world: World, check: (ok: boolean, what: string) => void): void {
  if ('error' in outcome) {
    const error = outcome.error
    if (error instanceof Hostile) return
    check(error instanceof Error, `not an Error: ${String(error)}`)
    const code = (error as NodeJS.ErrnoException).code
    const ok = typeof code === 'string' && (DOCUMENTED.has(code) || (/^E[A-Z]+$/.test(code) && typeof (error as NodeJS.ErrnoException).syscall === 'string'))
    check(ok, `undocumented error: ${code} ${(error as Error).message}`)
    return
  }
  // A read's bytes are what the peer sent.
  for (const buf of world.buffers) {
    if (buf.byteLength === 0) continue
    check(buf.every((x) => x === 0 || x === IN || x === OUT), 'a buffer holds bytes nobody sent')
  }
}

for (const c of CASES) {
  const t_ = c.unix && !unix ? test.skip : test
  t_(`hostile arguments: ${c.name}`, (t) => {
    let runs = 0
    const failures: string[] = []
    const plain = new World()
    const arity = c.args(plain).length
    plain.finish(() => {})
    for (let position = 0; position < arity; position++) {
      for (const [actionName, action] of Object.entries(ACTIONS)) {
        // One fresh world per form, to count forms first.
        const probe = new World()
        const formCount = hostileForms(c.args(probe)[position], () => {}).length
        probe.finish(() => {})
        for (let form = 0; form < formCount; form++) {
          const world = new World()
          const args = c.args(world)
          const act = (): void => action(world)
          const [formName, hostile] = hostileForms(args[position], act)[form]!
          args[position] = hostile
          const label = `${c.name} arg ${position} as ${formName}, which does "${actionName}"`
          const check = (ok: boolean, what: string): void => {
            if (!ok) failures.push(`${label}: ${what}`)
          }
          let outcome: { error?: unknown; value?: unknown }
          try {
            outcome = { value: c.call(world, args) }
          } catch (error) {
            outcome = { error }
          }
          judge(outcome, world, check)
          world.finish(check)
          runs++
        }
      }
    }
    t.deepEqual(failures, [])
    t.true(runs > 0)
    t.log(`${runs} hostile calls`)
  })
}

/**
 * The raw binding, as any code in the process reaches it: every function,
 * every argument position, with hostile values. It converts nothing (a
 * number argument must be a number), so the hostile code never runs; what
 * matters is that nothing crashes and every error is documented.
 */
test('hostile arguments: every raw binding function', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'node-mio-raw-'))
  const failures: string[] = []
  // Functions that block, adopt arbitrary descriptors, or watch (driven elsewhere).
  const skip = new Set(['sourceFromFd', 'sourceFdNew', 'sourceSetNonblocking', 'sourceDetachFd', 'watchStart', 'fastCalls', 'namedPipeNew', 'namedPipeOpen'])
  const bindingFns = Object.entries(raw).filter(([name, value]) => typeof value === 'function' && !skip.has(name)) as Array<[string, (...args: unknown[]) => unknown]>
  let calls = 0
  for (const [name, fn] of bindingFns) {
    for (let position = 0; position < Math.max(fn.length, 3); position++) {
      const world = new World()
      const handles = {
        poll: 0,
        socket: Object.getOwnPropertySymbols(world.server).map((s) => (world.server as unknown as Record<symbol, number>)[s])[0]!,
      }
      const hostileValues: unknown[] = [
        ...hostileForms(1, () => world.poll.close()).map(([, v]) => v),
        new Proxy([], { get() { gc(); return undefined } }),
        new Float64Array(new SharedArrayBuffer(64)),
        new Uint8Array(new (ArrayBuffer as unknown as new (size: number, options: object) => ArrayBuffer)(16, { maxByteLength: 16 })),
        Number.NaN,
        -1,
        2 ** 53,
        'x'.repeat(300),
        join(dir, 'sock'),
        null,
        undefined,
      ]
      for (const hostile of hostileValues) {
        const args: unknown[] = [handles.socket, world.buffer(16, OUT), '127.0.0.1:9', 1, 1]
        args[position] = hostile
        try {
          fn(...args)
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code
          const ok = error instanceof Error && typeof code === 'string' && (DOCUMENTED.has(code) || code === 'InvalidArg' || code === 'NumberExpected' || code === 'StringExpected' || code === 'ObjectExpected' || code === 'FunctionExpected' || code === 'BooleanExpected' || /^E[A-Z]+$/.test(code))
          if (!ok) failures.push(`${name}(${position}): ${code} ${(error as Error).message}`)
        }
        calls++
      }
      world.finish(() => {})
      void handles.poll
    }
  }
  rmSync(dir, { recursive: true, force: true })
  t.deepEqual(failures, [])
  t.log(`${calls} raw calls`)
})
