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
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import * as mio from 'node-mio'
import * as raw from '../index.js'
import { fdTarget, openFdCount } from './support/descriptors.ts'
import { handleOf, registryHandle } from './support/internals.ts'
import { closeSync as closeFd } from './support/raw-fd.ts'
import { sleep as sleepMs } from './support/workers.ts'

const { Events, Interest, Poll, Registry, TcpListener, TcpStream, Token, UdpSocket, Waker } = mio
const unix = process.platform !== 'win32'
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})

/** What the peers send, and what the test writes. */
const IN = 0x3c
const OUT = 0x5a

/** Errors node-mio documents (system errors are `E*` codes with a syscall). */
const DOCUMENTED = new Set([
  'ERR_MIO_INVALID_HANDLE',
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
      () => w.client.writev([Buffer.alloc(2, OUT), Buffer.alloc(2, OUT)]),
      () => w.udpB.recvFrom(Buffer.alloc(8), { address: '', family: 'IPv4', port: 0, size: 0 }),
      () => w.unixPair?.[0].sendWithFds(Buffer.alloc(1, OUT), [w.udpA]),
      () => w.datagrams?.[0].sendWithFds(Buffer.alloc(1, OUT), [w.udpA, w.udpB]),
      () => new mio.DatagramBatch(1, 16).setTarget(0, w.udpA.localAddr()),
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
  { name: 'UnixStream.sendWithFds', unix: true, args: (w) => [wr(w), [w.udpA, w.udpB]], call: (w, [b, f]) => w.unixPair![1].sendWithFds(b as Uint8Array, f as mio.Source[]) },
  { name: 'UnixDatagram.sendWithFds', unix: true, args: (w) => [wr(w), [w.udpA, w.udpB]], call: (w, [b, f]) => w.datagrams![1].sendWithFds(b as Uint8Array, f as mio.Source[]) },
  { name: 'UnixStream.recvWithFds', unix: true, args: (w) => [rd(w), 4], call: (w, [b, m]) => closeReceived(w.unixPair![1].recvWithFds(b as Uint8Array, m as number)) },
  { name: 'UnixDatagram.recvWithFds', unix: true, args: (w) => [rd(w), 4], call: (w, [b, m]) => closeReceived(w.datagrams![1].recvWithFds(b as Uint8Array, m as number)) },
  { name: 'DatagramBatch.setTarget', args: (w) => [0, w.udpA.localAddr()], call: (_w, [i, to]) => new mio.DatagramBatch(2, 16).setTarget(i as number, to as mio.SocketAddressInput) },
]

/** Closes the descriptors a receive returned (the harness checks bytes, not descriptors). */
function closeReceived(got: mio.FdsReceived | null): mio.FdsReceived | null {
  for (const fd of got?.fds ?? []) closeFd(fd)
  return got
}

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
        socket: handleOf(world.server),
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

// ------------------------------------------------- identity and ownership
//
// A handle names one object of one table in one thread; a descriptor has one
// owner; user code cannot observe or redirect a call's state, and a result
// is never built by assignments that run a program's setters while a new
// socket or descriptor has no owner yet.

const identity = createRequire(import.meta.url)('./fixtures/handle-identity.cjs') as {
  makeObjects(raw: unknown): Record<string, number>
  broken(raw: unknown, objects: Record<string, number>): string[]
  closeObjects(raw: unknown, objects: Record<string, number>): void
  callEverything(
    raw: unknown,
    own: Record<string, number>,
    foreign: Record<string, number>,
    skip: (table: string, foreignTable: string) => boolean,
  ): { calls: number; outcomes: Array<{ call: string; code?: string; message?: string; returned?: string }> }
}
const TABLES = ['source', 'poll', 'registry', 'events', 'waker', 'watch'] as const
const tablesOf = (objects: Record<string, number>): Record<string, number> => Object.fromEntries(TABLES.map((name) => [name, objects[name]!]))

/** Errors that refuse a call before it acts: a bad handle, or an argument the call checks first. */
const REFUSALS = new Set(['ERR_MIO_INVALID_HANDLE', 'ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE', 'InvalidArg', 'NumberExpected', 'StringExpected', 'ObjectExpected', 'FunctionExpected', 'BooleanExpected', 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM'])

test('handles: every raw function given a handle of another table refuses it and acts on nothing', (t) => {
  const objects = identity.makeObjects(raw)
  try {
    const { calls, outcomes } = identity.callEverything(raw, objects, tablesOf(objects), (table, foreign) => table === foreign)
    const acted = outcomes.filter((o) => o.code === undefined || !REFUSALS.has(o.code))
    t.deepEqual(acted.map((o) => `${o.call}: ${o.returned ?? `${o.code} ${o.message}`}`), [], 'every call is refused')
    // The functions whose only argument is the handle say exactly why.
    const handleOnly = ['sourceClose', 'pollClose', 'registryClose', 'wakerClose', 'watchStop', 'eventsRelease', 'sourceDetachFd', 'pollRegistry', 'registryTryClone', 'wakerWake', 'wakerShare', 'socketLocalAddr']
      .filter((name) => typeof (raw as unknown as Record<string, unknown>)[name] === 'function') // (no sourceDetachFd on Windows)
    const closing = outcomes.filter((o) => handleOnly.some((name) => o.call.startsWith(`${name}(`)))
    t.is(closing.length, handleOnly.length * (TABLES.length - 1), `each of ${handleOnly.join(', ')} called with every other table's handle`)
    for (const o of closing) t.is(o.code, 'ERR_MIO_INVALID_HANDLE', `${o.call}: ${o.message}`)
    t.regex(closing.find((o) => o.call === 'pollClose(0: source)')!.message!, /names a socket, not a Poll/)
    t.deepEqual(identity.broken(raw, objects), [], 'every object is still open and works')
    t.log(`${calls} calls`)
  } finally {
    identity.closeObjects(raw, objects)
  }
})

test('handles: a handle made by another thread names nothing here, and this thread\'s calls leave the worker\'s objects alone', async (t) => {
  const fixture = join(import.meta.dirname, 'fixtures', 'handle-identity.cjs')
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads')
    const raw = require(workerData.binding)
    const identity = require(workerData.fixture)
    const objects = identity.makeObjects(raw)
    parentPort.postMessage(objects)
    parentPort.once('message', () => {
      // The main thread's calls with this thread's handles: all refused there.
      const broken = identity.broken(raw, objects)
      // This thread's own calls with the main thread's handles.
      identity.closeObjects(raw, objects)
      parentPort.postMessage(broken)
    })
    `,
    { eval: true, workerData: { binding: join(import.meta.dirname, '..', 'index.js'), fixture } },
  )
  try {
    const theirs = await new Promise<Record<string, number>>((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
    })
    const ours = identity.makeObjects(raw)
    try {
      const { outcomes } = identity.callEverything(raw, ours, tablesOf(theirs), () => false)
      const acted = outcomes.filter((o) => o.code === undefined || !REFUSALS.has(o.code))
      t.deepEqual(acted.map((o) => `${o.call}: ${o.returned ?? `${o.code} ${o.message}`}`), [], 'every call is refused')
      const close = outcomes.find((o) => o.call === 'sourceClose(0: source)')!
      t.is(close.code, 'ERR_MIO_INVALID_HANDLE')
      t.regex(close.message!, /another thread/)
      t.deepEqual(identity.broken(raw, ours), [], "this thread's objects are untouched")
    } finally {
      identity.closeObjects(raw, ours)
    }
    const broken = await new Promise<string[]>((resolve) => {
      worker.once('message', resolve)
      worker.postMessage('check')
    })
    t.deepEqual(broken, [], "the worker's objects are untouched")
  } finally {
    await worker.terminate()
  }
})

test('forged wrappers: no wrapper can be made from a handle, and no finalizer closes what its wrapper did not make', async (t) => {
  const poll = new Poll()
  const listener = TcpListener.bind('127.0.0.1:0')
  const registry = registryHandle(poll.registry)
  const socket = handleOf(listener)
  const R = Registry as unknown as { of(...args: unknown[]): unknown; release(...args: unknown[]): void }
  const W = mio.Watch as unknown as { of(...args: unknown[]): unknown }
  try {
    const forgeries: Array<[string, () => unknown]> = [
      ['new Registry(handle)', () => Reflect.construct(Registry, [registry])],
      ['new Registry(handle, undefined, key-like)', () => Reflect.construct(Registry, [registry, undefined, Symbol('node-mio.construct')])],
      ['Registry.of(handle)', () => R.of(registry)],
      ['Watch.of(handle, poll)', () => W.of(socket, poll, 'thread')],
      ['new Watch(handle)', () => Reflect.construct(mio.Watch, [socket, poll, 'thread'])],
      ['new TcpListener(handle)', () => Reflect.construct(TcpListener, [socket])],
      ['new TcpStream(handle, key-like)', () => Reflect.construct(TcpStream, [socket, Symbol('node-mio.construct')])],
    ]
    if (unix) {
      const P = mio.PipeSender as unknown as { adopt(...args: unknown[]): unknown }
      forgeries.push(['PipeSender.adopt(handle)', () => P.adopt(socket)])
      forgeries.push(['new UnixStream(handle)', () => Reflect.construct(mio.UnixStream, [socket])])
    }
    for (const [what, forge] of forgeries) t.throws(forge, { instanceOf: TypeError }, what)
    // Releasing the Poll's own registry needs node-mio's key.
    R.release(poll.registry)
    t.false(poll.registry.closed, 'Registry.release without the key does nothing')
    // Whatever the forgeries left for the collector closes nothing.
    for (let i = 0; i < 3; i++) {
      gc()
      await new Promise((resolve) => setImmediate(resolve))
    }
    t.notThrows(() => poll.registry.register(listener, Token(1), Interest.READABLE), 'the registry still works')
    t.is(poll.poll(new Events(4), 0), 0)
    t.is(listener.localAddr().address, '127.0.0.1', 'the listener is still open')
  } finally {
    listener.close()
    poll.close()
  }
})

/** Names the results of node-mio's calls have: fields a setter could swallow. */
const RESULT_KEYS = ['handle', 'address', 'family', 'port', 'size', 'fds', 'path', 'abstract', 'unnamed', 'pid', 'uid', 'gid', 'first', 'second', 'enabled', 'idle', 'interval', 'code', 'errno', 'syscall']
const INDEX_KEYS = ['0', '1', '2', '3']

/** Installs a setter for every key on both prototypes: throwing or swallowing. Returns the undo. */
function prototypeSetters(mode: 'throw' | 'swallow', symbols: symbol[]): () => void {
  const undo: Array<() => void> = []
  const install = (target: object, key: PropertyKey): void => {
    Object.defineProperty(target, key, {
      configurable: true,
      set() {
        if (mode === 'throw') throw new Hostile(`setter ${String(key)}`)
      },
    })
    undo.push(() => Reflect.deleteProperty(target, key))
  }
  for (const key of [...RESULT_KEYS, ...symbols]) install(Object.prototype, key)
  for (const key of INDEX_KEYS) install(Array.prototype, key)
  return () => undo.forEach((fn) => fn())
}

/** A call that returns an object or an array: made ready outside the setters, then called. */
interface ResultCase {
  name: string
  unix?: boolean
  /** Makes the call ready (a pending connection, a datagram waiting); returns the call and a clean-up. */
  arrange(): { call: () => unknown; cleanup: () => void }
}

const closeAll = (value: unknown): void => {
  const seen = Array.isArray(value) ? value : [value]
  for (const item of seen) if (item instanceof mio.Source || item instanceof Poll || item instanceof Waker) item.close()
  if (value && typeof value === 'object' && 'fds' in value) for (const fd of (value as { fds: number[] }).fds ?? []) closeFd(fd)
}

const RESULT_CASES: ResultCase[] = [
  {
    name: 'TcpListener.accept',
    arrange() {
      const listener = TcpListener.bind('127.0.0.1:0')
      const client = TcpStream.connect(listener.localAddr())
      sleepMs(20)
      return { call: () => listener.accept(), cleanup: () => { client.close(); listener.close() } }
    },
  },
  {
    name: 'UnixListener.accept',
    unix: true,
    arrange() {
      const dir = mkdtempSync(join(tmpdir(), 'node-mio-id-'))
      const listener = mio.UnixListener.bind(join(dir, 's'))
      const client = mio.UnixStream.connect(join(dir, 's'))
      return { call: () => listener.accept(), cleanup: () => { client.close(); listener.close(); rmSync(dir, { recursive: true, force: true }) } }
    },
  },
  { name: 'UnixStream.pair', unix: true, arrange: () => ({ call: () => mio.UnixStream.pair(), cleanup: () => {} }) },
  { name: 'UnixDatagram.pair', unix: true, arrange: () => ({ call: () => mio.UnixDatagram.pair(), cleanup: () => {} }) },
  { name: 'pipe', unix: true, arrange: () => ({ call: () => mio.pipe(), cleanup: () => {} }) },
  ...(['UnixStream', 'UnixDatagram'] as const).map((kind): ResultCase => ({
    name: `${kind}.recvWithFds`,
    unix: true,
    arrange() {
      const [a, b] = mio[kind].pair()
      const carried = mio.UnixDatagram.pair()
      a.sendWithFds(Buffer.from('x'), [carried[0], carried[1], carried[0]])
      return { call: () => b.recvWithFds(Buffer.alloc(8)), cleanup: () => { a.close(); b.close(); carried[0].close(); carried[1].close() } }
    },
  })),
  {
    name: 'UdpSocket.recvFrom',
    arrange() {
      const a = UdpSocket.bind('127.0.0.1:0')
      const b = UdpSocket.bind('127.0.0.1:0')
      a.sendTo(Buffer.from('x'), b.localAddr())
      sleepMs(10)
      return { call: () => b.recvFrom(Buffer.alloc(8)), cleanup: () => { a.close(); b.close() } }
    },
  },
  {
    name: 'UnixDatagram.recvFrom',
    unix: true,
    arrange() {
      const [a, b] = mio.UnixDatagram.pair()
      a.send(Buffer.from('x'))
      return { call: () => b.recvFrom(Buffer.alloc(8)), cleanup: () => { a.close(); b.close() } }
    },
  },
  {
    name: 'UnixStream.peerCred',
    unix: true,
    arrange() {
      const [a, b] = mio.UnixStream.pair()
      return { call: () => a.peerCred(), cleanup: () => { a.close(); b.close() } }
    },
  },
  {
    name: 'TcpStream.keepalive',
    arrange() {
      const listener = TcpListener.bind('127.0.0.1:0')
      const client = TcpStream.connect(listener.localAddr())
      return { call: () => client.keepalive(), cleanup: () => { client.close(); listener.close() } }
    },
  },
  { name: 'TcpListener.bind', arrange: () => ({ call: () => TcpListener.bind('127.0.0.1:0', { backlog: 8 }), cleanup: () => {} }) },
  { name: 'UdpSocket.bind', arrange: () => ({ call: () => UdpSocket.bind('127.0.0.1:0'), cleanup: () => {} }) },
  { name: 'TcpListener.localAddr', arrange() { const l = TcpListener.bind('127.0.0.1:0'); return { call: () => l.localAddr(), cleanup: () => l.close() } } },
  {
    name: 'UdpSocket.fromFd',
    unix: true,
    arrange() {
      const donor = UdpSocket.bind('127.0.0.1:0')
      const fd = donor.detachFd()
      const target = fdTarget(fd)
      // Closed here unless the call adopted it (and its result was closed).
      return { call: () => UdpSocket.fromFd(fd), cleanup: () => { if (fdTarget(fd) === target) closeFd(fd) } }
    },
  },
  { name: 'new Poll, poll.registry, tryClone', arrange: () => ({ call: () => { const p = new Poll(); p.registry.tryClone().close(); return p }, cleanup: () => {} }) },
]

for (const c of RESULT_CASES) {
  for (const mode of ['throw', 'swallow'] as const) {
    // Serial: the descriptor count is the whole process's, so no other
    // test of this file may open or close one meanwhile.
    const t_ = (c.unix && !unix) || openFdCount() === null ? test.skip : test.serial
    t_(`results: ${c.name} with ${mode === 'throw' ? 'throwing' : 'swallowing'} setters on Object.prototype and Array.prototype leaves no descriptor unowned`, (t) => {
      const sample = UdpSocket.bind('127.0.0.1:0')
      const symbols = Reflect.ownKeys(sample).filter((key): key is symbol => typeof key === 'symbol')
      sample.close()
      for (let round = 0; round < 20; round++) {
        const before = openFdCount()
        const { call, cleanup } = c.arrange()
        const undo = prototypeSetters(mode, symbols)
        let outcome: { value?: unknown; error?: unknown }
        try {
          outcome = { value: call() }
        } catch (error) {
          outcome = { error }
        } finally {
          undo()
        }
        if ('error' in outcome) t.true(outcome.error instanceof Hostile, `round ${round}: only the program's own exception: ${String(outcome.error)}`)
        else {
          t.not(outcome.value, undefined)
          // Every field is there, whatever the setters did.
          const value = outcome.value
          if (Array.isArray(value)) t.true(value.every((item) => item !== undefined), 'every element is defined')
          closeAll(value)
        }
        cleanup()
        t.is(openFdCount(), before, `round ${round}: descriptors open once the call's results and its arrangement are closed`)
      }
    })
  }
}

test('re-entry: a getter that sends descriptors on another channel cannot change what the outer send carries', (t) => {
  if (!unix) return t.pass()
  for (const kind of ['UnixStream', 'UnixDatagram'] as const) {
    const [outerA, outerB] = mio[kind].pair()
    const [innerA, innerB] = mio[kind].pair()
    const given = mio.UnixDatagram.pair()
    const other = mio.UnixDatagram.pair()
    try {
      // The second element's getter sends first: whatever the outer call
      // copied of the first element must survive it.
      const fds: unknown[] = [given[0].fd]
      Object.defineProperty(fds, 1, { enumerable: true, get: () => { innerA.sendWithFds(Buffer.from('i'), [other[0].fd, other[1].fd, other[0].fd]); return given[1].fd } })
      t.is(outerA.sendWithFds(Buffer.from('o'), fds as number[]), 1)
      const outer = outerB.recvWithFds(Buffer.alloc(4))!
      const inner = innerB.recvWithFds(Buffer.alloc(4))!
      t.is(outer.fds.length, 2, `${kind}: the outer send carries exactly its two descriptors`)
      t.deepEqual(outer.fds.map(fdTarget), [given[0].fd, given[1].fd].map(fdTarget), `${kind}: the ones it was given`)
      t.deepEqual(inner.fds.map(fdTarget), [other[0].fd, other[1].fd, other[0].fd].map(fdTarget), `${kind}: the inner send carries its own`)
      for (const fd of [...outer.fds, ...inner.fds]) closeFd(fd)
    } finally {
      for (const s of [outerA, outerB, innerA, innerB, ...given, ...other]) s.close()
    }
  }
})

test('re-entry: setters on recvFrom\'s `into` that receive again cannot change the outer result', (t) => {
  const a = UdpSocket.bind('127.0.0.1:0')
  const b = UdpSocket.bind('127.0.0.1:0')
  const receiver = UdpSocket.bind('127.0.0.1:0')
  const other = UdpSocket.bind('127.0.0.1:0')
  try {
    a.sendTo(Buffer.from('outer'), receiver.localAddr())
    b.sendTo(Buffer.from('inner'), other.localAddr())
    sleepMs(20)
    const fields: Record<string, unknown> = {}
    let inner: mio.RemoteInfo | null = null
    const into = {} as mio.RemoteInfo
    for (const key of ['address', 'family', 'port', 'size']) {
      Object.defineProperty(into, key, {
        enumerable: true,
        get: () => fields[key],
        set: (value: unknown) => {
          inner ??= other.recvFrom(Buffer.alloc(16), { address: '', family: 'IPv4', port: 0, size: 0 })
          fields[key] = value
        },
      })
    }
    const got = receiver.recvFrom(Buffer.alloc(16), into)!
    t.truthy(inner, 'the setter received on the other socket')
    t.is(got.port, a.localAddr().port, 'the outer result names the outer sender')
    t.is(got.size, 5)
    t.is(inner!.port, b.localAddr().port)
  } finally {
    for (const s of [a, b, receiver, other]) s.close()
  }
})

test('re-entry: option getters that bind again cannot change the outer socket\'s options', (t) => {
  const inner: mio.UdpSocket[] = []
  const options = {
    get recvBufferSize() {
      inner.push(UdpSocket.bind('127.0.0.1:0', { recvBufferSize: 4096, sendBufferSize: 4096 }))
      return 65536
    },
    sendBufferSize: 65536,
  }
  const outer = UdpSocket.bind('127.0.0.1:0', options)
  try {
    t.is(inner.length, 1)
    t.true(outer.recvBufferSize() >= 65536, 'the outer socket has its own receive buffer size')
    t.true(outer.sendBufferSize() >= 65536)
    t.true(inner[0]!.recvBufferSize() < 65536, 'the inner one has its own')
  } finally {
    outer.close()
    for (const s of inner) s.close()
  }
})

test('re-entry: an address getter that sets another batch\'s target cannot change this batch\'s target', (t) => {
  const outer = new mio.DatagramBatch(2, 64)
  const inner = new mio.DatagramBatch(2, 64)
  const target = {
    get address() {
      inner.setTarget(0, '127.0.0.9:9999')
      return '127.0.0.1'
    },
    port: 1234,
  }
  outer.setTarget(0, target)
  t.deepEqual([outer.family(0), outer.address(0), outer.port(0)], ['IPv4', '127.0.0.1', 1234])
  t.deepEqual([inner.family(0), inner.address(0), inner.port(0)], ['IPv4', '127.0.0.9', 9999])
})

test('descriptors: fromFd refuses a descriptor a live source owns, naming the owner; detachFd hands it over', (t) => {
  if (!unix) return t.pass()
  const owners: Array<[string, () => mio.Source]> = [
    ['UdpSocket', () => UdpSocket.bind('127.0.0.1:0')],
    ['TcpListener', () => TcpListener.bind('127.0.0.1:0')],
    ['UnixDatagram', () => mio.UnixDatagram.unbound()],
    ['UnixStream', () => mio.UnixStream.pair()[0]],
    ['PipeSender', () => mio.pipe()[0]],
    ['PipeReceiver', () => mio.pipe()[1]],
  ]
  const adopters: Array<[string, (fd: number) => mio.Source]> = [
    ['UdpSocket', (fd) => UdpSocket.fromFd(fd)],
    ['TcpListener', (fd) => TcpListener.fromFd(fd)],
    ['TcpStream', (fd) => TcpStream.fromFd(fd)],
    ['UnixDatagram', (fd) => mio.UnixDatagram.fromFd(fd)],
    ['UnixStream', (fd) => mio.UnixStream.fromFd(fd)],
    ['UnixListener', (fd) => mio.UnixListener.fromFd(fd)],
    ['PipeSender', (fd) => mio.PipeSender.fromFd(fd)],
    ['PipeReceiver', (fd) => mio.PipeReceiver.fromFd(fd)],
  ]
  const made: mio.Source[] = []
  try {
    for (const [ownerName, make] of owners) {
      const owner = make()
      made.push(owner)
      const fd = owner.fd
      for (const [adopterName, adopt] of adopters) {
        const error = t.throws(() => made.push(adopt(fd)), { code: 'ERR_MIO_FD_OWNED' }, `${adopterName}.fromFd(${ownerName}'s fd)`)
        t.regex(error?.message ?? '', new RegExp(`owned by a live ${ownerName}`))
      }
      t.is(fdTarget(fd) !== null, true, 'the owner keeps its descriptor')
    }
    // The finding: adopt a live socket's descriptor, close the owner, and a
    // new socket gets the number: the adopter must not exist to close it.
    const a = UdpSocket.bind('127.0.0.1:0')
    t.throws(() => UdpSocket.fromFd(a.fd), { code: 'ERR_MIO_FD_OWNED' })
    // Handed over, it is adopted once.
    const fd = a.detachFd()
    const adopted = UdpSocket.fromFd(fd)
    made.push(adopted)
    t.throws(() => UdpSocket.fromFd(fd), { code: 'ERR_MIO_FD_OWNED' }, 'the adopter owns it now')
    t.is(adopted.localAddr().address, '127.0.0.1')
    // Closed, the number is free again.
    adopted.close()
    const c = UdpSocket.bind('127.0.0.1:0')
    made.push(c)
    t.throws(() => UdpSocket.fromFd(c.fd), { code: 'ERR_MIO_FD_OWNED' }, 'a new owner of a reused number is protected too')
  } finally {
    for (const s of made) s.close()
  }
})
