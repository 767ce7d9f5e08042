// Operation sequences (property-based, fast-check): random programs over
// real TCP and Unix streams, pipes and UDP sockets on one Poll, checked
// against a model after every step.
//
// Invariants: every call either succeeds or throws the error the contract
// names for that state (code and class), never another; bytes read are the
// bytes written, in order; every event names a source registered under that
// token right now (or the waker); nothing leaks a descriptor. A failure
// shrinks to a short program and prints the seed and path that replay it:
// NODE_MIO_FUZZ_SEED=<seed> NODE_MIO_FUZZ_PATH=<path> npx ava __test__/fuzz.spec.ts
// `npm run fuzz -- --runs N` runs the same properties longer.
import test, { type ExecutionContext } from 'ava'
import fc from 'fast-check'
import { readdirSync, readlinkSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import {
  Events,
  hasErrorCode,
  Interest,
  pipe,
  Poll,
  SharedWaker,
  TcpListener,
  TcpStream,
  Token,
  UdpSocket,
  UnixStream,
  Waker,
  type Source,
  type Watch,
} from 'node-mio'
import { terminateReleases } from './support/platform.ts'

const RUNS = Number(process.env.NODE_MIO_FUZZ_RUNS ?? 40)
const SEED = process.env.NODE_MIO_FUZZ_SEED === undefined ? undefined : Number(process.env.NODE_MIO_FUZZ_SEED)
const PATH = process.env.NODE_MIO_FUZZ_PATH
const params = { numRuns: RUNS, seed: SEED, path: PATH }

const unix = process.platform !== 'win32'
/** The open descriptors (Linux), by what each names: `socket:[123]`, `anon_inode:[eventpoll]`... */
function descriptors(): Map<string, string> | null {
  if (process.platform !== 'linux') return null
  const open = new Map<string, string>()
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`)
      // What a program makes: sockets, pipes, and epoll and eventfd
      // descriptors. Files and folders are the test runner's (tsx opens its
      // cache folder while it compiles a module another test imports).
      if (/^(socket|pipe|anon_inode):/.test(target)) open.set(fd, target)
    } catch {
      // closed between the listing and the read (the listing's own descriptor)
    }
  }
  return open
}

/** Descriptors open now that were not open at `before`: what a run leaked. */
function leaked(before: Map<string, string> | null): string[] {
  const after = descriptors()
  if (before === null || after === null) return []
  return [...after].filter(([fd, target]) => before.get(fd) !== target).map(([fd, target]) => `${fd} -> ${target}`)
}

type Kind = 'tcp' | 'unix' | 'pipe' | 'udp'
const KINDS: Kind[] = unix ? ['tcp', 'unix', 'pipe', 'udp'] : ['tcp', 'udp']
const WAKE = Token(1_000_000)

/** One direction of bytes: `writer` to `reader`, and what is still in flight. */
interface Channel {
  kind: Kind
  writer: Source & { write(b: Uint8Array): number | null; writev?(b: Uint8Array[]): number | null }
  reader: Source & { read?(b: Uint8Array): number | null; readv?(b: Uint8Array[]): number | null; recv?(b: Uint8Array): number | null }
  /** Bytes written and not yet read (streams), or datagrams (UDP). */
  inFlight: Buffer[]
  /** A side closed: from then on only errors and counts are checked, not bytes. */
  broken: boolean
  /** The writer closed and everything before it was read: the reader reads 0 next. */
  ended: boolean
}

type Op =
  | { op: 'register' | 'reregister'; source: number; interest: 'r' | 'w' | 'rw' }
  | { op: 'deregister' | 'close'; source: number }
  | { op: 'write'; channel: number; size: number; vectored: boolean }
  | { op: 'read'; channel: number; vectored: boolean }
  | { op: 'poll' | 'wake' | 'watchStart' | 'watchStop' | 'closePollInCallback' | 'newPoll' | 'sharedWakeAfterClose' }
  | { op: 'pollAsync'; timeout: number; abandon: boolean }

const opArb = (sources: number, channels: number): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constantFrom('register' as const, 'reregister' as const), source: fc.nat(sources - 1), interest: fc.constantFrom('r' as const, 'w' as const, 'rw' as const) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('deregister' as const), source: fc.nat(sources - 1) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('close' as const), source: fc.nat(sources - 1) }) },
    { weight: 5, arbitrary: fc.record({ op: fc.constant('write' as const), channel: fc.nat(channels - 1), size: fc.integer({ min: 1, max: 3000 }), vectored: fc.boolean() }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('read' as const), channel: fc.nat(channels - 1), vectored: fc.boolean() }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('poll' as const, 'wake' as const, 'watchStart' as const, 'watchStop' as const) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('closePollInCallback' as const, 'newPoll' as const, 'sharedWakeAfterClose' as const) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('pollAsync' as const), timeout: fc.integer({ min: 0, max: 3 }), abandon: fc.boolean() }) },
  )

/** Waits for the event loop to run pending callbacks (a watch's, a timer's). */
const turn = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function makeChannel(kind: Kind): { channel: Channel; close: () => void } {
  switch (kind) {
    case 'tcp': {
      const listener = TcpListener.bind('127.0.0.1:0')
      const client = TcpStream.connect(listener.localAddr())
      let accepted = listener.accept()
      for (let i = 0; accepted === null && i < 2000; i++) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1)
        accepted = listener.accept()
      }
      listener.close()
      if (accepted === null) throw new Error('no connection on loopback')
      const server = accepted[0]
      return { channel: { kind, writer: client, reader: server, inFlight: [], broken: false, ended: false }, close: () => (client.close(), server.close()) }
    }
    case 'unix': {
      const [a, b] = UnixStream.pair()
      return { channel: { kind, writer: a, reader: b, inFlight: [], broken: false, ended: false }, close: () => (a.close(), b.close()) }
    }
    case 'pipe': {
      const [sender, receiver] = pipe()
      return { channel: { kind, writer: sender, reader: receiver, inFlight: [], broken: false, ended: false }, close: () => (sender.close(), receiver.close()) }
    }
    case 'udp': {
      const rx = UdpSocket.bind('127.0.0.1:0')
      const tx = UdpSocket.bind('127.0.0.1:0')
      tx.connect(rx.localAddr())
      rx.connect(tx.localAddr())
      const writer = Object.assign(tx, { write: (b: Uint8Array) => tx.send(b) })
      return { channel: { kind, writer, reader: rx, inFlight: [], broken: false, ended: false }, close: () => (tx.close(), rx.close()) }
    }
  }
}

/** Runs `fn`; returns `null` or the error's code, failing on an error without one. */
function outcome(fn: () => unknown): string | null {
  try {
    fn()
    return null
  } catch (error) {
    if (!hasErrorCode(error)) throw new Error(`an error without a code: ${String(error)}`)
    return error.code
  }
}

class World {
  poll = new Poll()
  events = new Events(64)
  waker = new Waker(this.poll.registry, WAKE)
  watch: Watch | undefined
  watchEvents = new Events(64)
  channels: Channel[] = []
  sources: Source[] = []
  closers: Array<() => void> = []
  /** Current token of each registered source (with the current Poll). */
  tokens = new Map<Source, number>()
  closed = new Set<Source>()
  pollClosed = false
  /** An abandoned `pollAsync` still waiting: it holds the Poll as a watch does. */
  pendingAsync = new Set<Promise<unknown>>()
  nextToken = 1
  problems: string[] = []

  constructor(kinds: Kind[]) {
    for (const kind of kinds) {
      const { channel, close } = makeChannel(kind)
      this.channels.push(channel)
      this.sources.push(channel.writer, channel.reader)
      this.closers.push(close)
    }
  }

  /** Every event must name a source registered under that token now, or the waker. */
  checkEvents(events: Events, where: string): void {
    const current = new Set(this.tokens.values())
    for (const event of events) {
      if (event.token !== WAKE && !current.has(event.token)) this.problems.push(`${where}: event for token ${event.token}, registered: [${[...current]}]`)
    }
  }

  expect(where: string, actual: string | null, allowed: Array<string | null>): void {
    if (!allowed.includes(actual)) this.problems.push(`${where}: got ${actual ?? 'success'}, expected ${allowed.map((a) => a ?? 'success').join(' or ')}`)
  }

  channelOf(source: Source): Channel | undefined {
    return this.channels.find((c) => c.writer === source || c.reader === source)
  }

  close(source: Source): void {
    source.close()
    this.closed.add(source)
    this.tokens.delete(source)
    const channel = this.channelOf(source)
    if (channel === undefined) return
    // UDP has no end of stream; a closed stream reader, or a writer, ends the byte check.
    if (channel.kind === 'udp' || channel.reader === source) channel.broken = true
    else channel.ended = true
  }

  async run(step: Op): Promise<void> {
    const where = JSON.stringify(step)
    switch (step.op) {
      case 'register':
      case 'reregister':
      case 'deregister': {
        const source = this.sources[step.source]!
        const token = this.nextToken++
        const kind = 'interest' in step ? step.interest : 'r'
        const interest = kind === 'r' ? Interest.READABLE : kind === 'w' ? Interest.WRITABLE : Interest.READABLE.add(Interest.WRITABLE)
        const registered = this.tokens.has(source)
        const got = outcome(() => {
          if (step.op === 'register') this.poll.registry.register(source, token, interest)
          else if (step.op === 'reregister') this.poll.registry.reregister(source, token, interest)
          else this.poll.registry.deregister(source)
        })
        // The registry is checked before the source.
        const expected = this.pollClosed
          ? 'ERR_MIO_CLOSED'
          : this.closed.has(source)
            ? 'ERR_SOCKET_CLOSED'
            : step.op === 'register'
              ? registered ? 'EEXIST' : null
              : registered ? null : 'ENOENT'
        this.expect(where, got, [expected])
        if (got === null) {
          if (step.op === 'deregister') this.tokens.delete(source)
          else this.tokens.set(source, token)
        }
        break
      }
      case 'close': {
        const source = this.sources[step.source]!
        this.expect(where, outcome(() => this.close(source)), [null])
        this.expect(`${where} again`, outcome(() => source.close()), [null])
        break
      }
      case 'write': {
        const channel = this.channels[step.channel]!
        const bytes = Buffer.alloc(step.size, 0)
        for (let i = 0; i < bytes.length; i++) bytes[i] = (this.nextToken + i) & 255
        this.nextToken++
        let count: number | null = null
        const got = outcome(() => {
          if (step.vectored && channel.writer.writev !== undefined) count = channel.writer.writev([bytes.subarray(0, step.size >> 1), bytes.subarray(step.size >> 1)])
          else count = channel.writer.write(bytes)
        })
        if (this.closed.has(channel.writer)) this.expect(where, got, ['ERR_SOCKET_CLOSED'])
        else if (this.closed.has(channel.reader)) this.expect(where, got, [null, 'EPIPE', 'ECONNRESET', 'ECONNREFUSED'])
        else {
          this.expect(where, got, [null])
          if (count !== null && count > 0) channel.inFlight.push(bytes.subarray(0, count))
          if (channel.kind === 'udp' && count !== null && count !== step.size) this.problems.push(`${where}: a datagram was sent short: ${count}`)
        }
        break
      }
      case 'read': {
        const channel = this.channels[step.channel]!
        const buf = Buffer.alloc(4096)
        const got: Buffer[] = []
        let end = false
        const error = outcome(() => {
          for (let i = 0; i < 10_000; i++) {
            let n: number | null
            if (channel.kind === 'udp') n = channel.reader.recv!(buf)
            else if (step.vectored) n = channel.reader.readv!([buf.subarray(0, 700), buf.subarray(700, 1500)])
            else n = channel.reader.read!(buf)
            if (n === null) return
            if (n === 0 && channel.kind !== 'udp') {
              end = true
              return
            }
            got.push(Buffer.from(buf.subarray(0, n)))
          }
        })
        if (this.closed.has(channel.reader)) {
          this.expect(where, error, ['ERR_SOCKET_CLOSED'])
          break
        }
        this.expect(where, error, channel.broken || channel.ended ? [null, 'ECONNRESET'] : [null])
        if (channel.broken) break
        if (channel.kind === 'udp') {
          for (const datagram of got) {
            const sent = channel.inFlight.shift()
            if (sent === undefined || !sent.equals(datagram)) this.problems.push(`${where}: datagram of ${datagram.length} bytes was not the next one sent`)
          }
        } else {
          const expected = Buffer.concat(channel.inFlight)
          const read = Buffer.concat(got)
          if (!expected.subarray(0, read.length).equals(read)) this.problems.push(`${where}: ${read.length} bytes read are not the bytes written, in order`)
          channel.inFlight = read.length < expected.length ? [expected.subarray(read.length)] : []
          if (end && !(channel.ended && channel.inFlight.length === 0)) this.problems.push(`${where}: end of stream while the writer is open or bytes are in flight`)
        }
        break
      }
      case 'poll': {
        let count = 0
        const got = outcome(() => (count = this.poll.poll(this.events, 0)))
        this.expect(where, got, this.pollClosed ? ['ERR_MIO_CLOSED'] : this.whenBusy('EBUSY'))
        if (got === null && count === this.events.length) this.checkEvents(this.events, where)
        break
      }
      case 'wake':
        // A Waker outlives its Poll (mio's too): waking it still succeeds.
        this.expect(where, outcome(() => this.waker.wake()), [null])
        break
      case 'watchStart': {
        const allowed = this.pollClosed ? ['ERR_MIO_CLOSED'] : this.whenBusy('EEXIST')
        let watch: Watch | undefined
        const got = outcome(() => (watch = this.poll.watch(this.watchEvents, (events) => this.checkEvents(events, `${where} callback`))))
        this.expect(where, got, allowed)
        if (watch !== undefined) this.watch = watch
        await turn()
        break
      }
      case 'watchStop':
        this.expect(where, outcome(() => this.watch?.stop()), [null])
        break
      case 'pollAsync': {
        const allowed = this.pollClosed ? ['ERR_MIO_CLOSED'] : this.whenBusy('EEXIST')
        const events = new Events(64)
        const settled = this.poll.pollAsync(events, step.timeout).then(
          (count) => (count === events.length ? this.checkEvents(events, where) : undefined, null),
          (error: unknown) => (hasErrorCode(error) ? error.code : `no code: ${String(error)}`),
        )
        if (step.abandon && allowed.includes(null)) {
          // It settles on its own (the timeout is short), or when its Poll closes.
          const pending = settled.then((got) => {
            this.expect(`${where} (abandoned)`, got, [...allowed, 'ERR_MIO_CLOSED'])
            this.pendingAsync.delete(pending)
          })
          this.pendingAsync.add(pending)
          break
        }
        this.expect(where, await settled, allowed)
        break
      }
      case 'closePollInCallback': {
        if (this.pollClosed) break
        this.watch?.stop()
        await Promise.all(this.pendingAsync)
        let closedInside = false
        const watch = this.poll.watch(this.watchEvents, () => {
          if (closedInside) return
          closedInside = true
          this.poll.close()
        })
        this.waker.wake()
        for (let i = 0; i < 200 && !closedInside; i++) await turn(1)
        if (!closedInside) this.problems.push(`${where}: the watch never called back`)
        if (watch.active) this.problems.push(`${where}: the watch is still active after its Poll closed`)
        this.pollClosed = true
        this.tokens.clear()
        break
      }
      case 'newPoll': {
        // Sources of a closed Poll are free to register with another.
        this.watch?.stop()
        this.waker.close()
        this.poll.close()
        this.poll = new Poll()
        this.waker = new Waker(this.poll.registry, WAKE)
        this.pollClosed = false
        this.tokens.clear()
        break
      }
      case 'sharedWakeAfterClose': {
        const poll = new Poll()
        const waker = new Waker(poll.registry, Token(5))
        const shared = SharedWaker.from({ id: waker.share().id })
        poll.close()
        this.expect(where, outcome(() => shared.wake()), [null])
        waker.close()
        if (shared.wake()) this.problems.push(`${where}: a closed waker's SharedWaker still woke`)
        break
      }
    }
  }

  /**
   * What a call that needs the Poll's events may give: `code` while a watch
   * holds them; either while an abandoned `pollAsync` may (it holds them
   * only if nothing was ready when it started, which the model cannot know).
   */
  whenBusy(code: string): Array<string | null> {
    if (this.watch?.active === true) return [code]
    return this.pendingAsync.size === 0 ? [null] : [null, code]
  }

  async close_(): Promise<void> {
    this.watch?.stop()
    await Promise.all(this.pendingAsync)
    this.waker.close()
    this.poll.close()
    for (const close of this.closers) close()
  }
}

/** Runs a property; a failure reports the shrunk program, its seed and path, and what broke. */
async function check<T>(t: ExecutionContext, property: fc.IAsyncProperty<T>, parameters: fc.Parameters<T>): Promise<void> {
  const details = await fc.check(property, parameters)
  if (details.failed) {
    const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
    t.fail(`${fc.defaultReportMessage(details) ?? ''}\n\nWhat broke:\n${cause}`)
  }
}

const programArb = fc
  .array(fc.constantFrom(...KINDS), { minLength: 1, maxLength: 4 })
  .chain((kinds) => fc.tuple(fc.constant(kinds), fc.array(opArb(kinds.length * 2, kinds.length), { minLength: 1, maxLength: 40 })))

test.serial('random programs keep every contract (register, I/O, poll, wake, watch, pollAsync, close)', async (t) => {
  t.timeout(10 * 60_000)
  const before = descriptors()
  await check(
    t,
    fc.asyncProperty(programArb, async ([kinds, program]) => {
      const world = new World(kinds)
      try {
        for (const step of program) {
          await world.run(step)
          if (world.problems.length > 0) break
        }
      } finally {
        await world.close_()
      }
      if (world.problems.length > 0) throw new Error(world.problems.join('\n'))
    }),
    params,
  )
  await turn(20)
  t.deepEqual(leaked(before), [], 'no descriptor leaked')
})

;(terminateReleases ? test.serial : test.serial.skip)('a worker terminated at a random moment of a blocking poll ends cleanly', async (t) => {
  t.timeout(5 * 60_000)
  const before = descriptors()
  await check(
    t,
    fc.asyncProperty(fc.integer({ min: 0, max: 30 }), fc.boolean(), async (delay, watch) => {
      const worker = new Worker(
        `
        const { parentPort } = require('node:worker_threads')
        const { Events, Interest, Poll, TcpListener, Token } = require(${JSON.stringify(createRequire(import.meta.url).resolve('node-mio'))})
        const poll = new Poll()
        const listener = TcpListener.bind('127.0.0.1:0')
        poll.registry.register(listener, Token(1), Interest.READABLE)
        parentPort.postMessage('ready')
        if (${watch}) poll.watch(new Events(8), () => {})
        else for (;;) poll.poll(new Events(8), null)
        `,
        { eval: true },
      )
      await new Promise((resolve) => worker.once('message', resolve))
      await turn(delay)
      const code = await worker.terminate()
      if (code !== 1) throw new Error(`terminate() gave exit code ${code}`)
    }),
    { ...params, numRuns: Math.max(4, Math.round(RUNS / 4)) },
  )
  await turn(20)
  t.deepEqual(leaked(before), [], 'no descriptor leaked')
})
