// Shared test helpers, after mio's tests/util/mod.rs.
import type { ExecutionContext } from 'ava'
import { Worker } from 'node:worker_threads'
import { Events, Poll, Token, type Event } from 'node-mio'

export const ANY_LOCAL = '127.0.0.1:0'
export const ANY_LOCAL_V6 = '[::1]:0'

/** What an expected event must show (a subset of its flags). */
export type Readiness = 'readable' | 'writable' | 'error' | 'readClosed' | 'writeClosed' | 'priority' | 'aio' | 'lio'

export function readiness(event: Event): Set<Readiness> {
  const json = event.toJSON()
  const set = new Set<Readiness>()
  for (const key of ['readable', 'writable', 'error', 'readClosed', 'writeClosed', 'priority', 'aio', 'lio'] as const) {
    if (json[key]) set.add(key)
  }
  return set
}

/** A Poll plus `Events` of capacity 16, as mio's `init_with_poll`. */
export function initWithPoll(): { poll: Poll; events: Events } {
  return { poll: new Poll(), events: new Events(16) }
}

export interface ExpectedEvent {
  token: Token
  readiness: Readiness[]
}

/**
 * Polls up to 3 x 500 ms until every expected event was seen (each matched
 * once; extra events are ignored), as mio's `expect_events`.
 */
export function expectEvents(t: ExecutionContext, poll: Poll, events: Events, expected: ExpectedEvent[]): void {
  const missing = [...expected]
  for (let round = 0; round < 3 && missing.length > 0; round++) {
    poll.poll(events, 500)
    for (const event of events) {
      const flags = readiness(event)
      const at = missing.findIndex((want) => want.token === event.token && want.readiness.every((r) => flags.has(r)))
      if (at >= 0) missing.splice(at, 1)
    }
  }
  t.deepEqual(missing, [], 'expected events did not arrive')
}

/** A 50 ms poll must return nothing, as mio's `expect_no_events`. */
export function expectNoEvents(t: ExecutionContext, poll: Poll, events: Events): void {
  poll.poll(events, 50)
  t.deepEqual([...events].map((e) => e.toJSON()), [], 'expected no events')
}

/** `ip:port` text of an address, for connecting to it. */
export function addrText(addr: { address: string; port: number }): string {
  return addr.address.includes(':') ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`
}

/** Blocks this thread for `ms` (a peer in another thread keeps running). */
export function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/**
 * Runs `source` (the body of a function taking `workerData`) in a worker
 * thread: a peer that keeps running while this thread blocks in `poll()`, as
 * mio's tests use std threads. `ready()` inside the worker hands a number
 * back (a port, say); `peer.value` waits for it synchronously.
 */
export class Peer {
  readonly #worker: Worker
  readonly #shared = new Int32Array(new SharedArrayBuffer(8))
  readonly #exited: Promise<number>

  constructor(source: string, workerData: unknown = null) {
    const code = `
      const { workerData } = require('node:worker_threads')
      const shared = new Int32Array(workerData.shared)
      const ready = (value) => { Atomics.store(shared, 1, value); Atomics.store(shared, 0, 1); Atomics.notify(shared, 0) }
      ;(async (data) => { ${source} })(workerData.data).catch((e) => { console.error(e); process.exit(1) })
    `
    this.#worker = new Worker(code, { eval: true, workerData: { shared: this.#shared.buffer, data: workerData } })
    this.#exited = new Promise((resolve) => this.#worker.once('exit', resolve))
  }

  /** The value the worker passed to `ready()`, waiting up to 10 s for it. */
  get value(): number {
    if (Atomics.wait(this.#shared, 0, 0, 10_000) === 'timed-out' && Atomics.load(this.#shared, 0) === 0) {
      throw new Error('peer thread did not become ready')
    }
    return Atomics.load(this.#shared, 1)
  }

  /** Resolves with the worker's exit code. */
  exited(): Promise<number> {
    return this.#exited
  }

  terminate(): Promise<number> {
    return this.#worker.terminate()
  }
}

/**
 * A TCP echo server (node:net) in a worker thread, as mio's tests'
 * `echo_listener`. `port` is ready as soon as the constructor returns.
 */
export function echoServer(host = '127.0.0.1'): { port: number; address: string; peer: Peer } {
  const peer = new Peer(
    `
    const net = require('node:net')
    const server = net.createServer((s) => { s.on('data', (d) => s.write(d)); s.on('error', () => {}) })
    server.listen(0, data.host, () => ready(server.address().port))
    `,
    { host },
  )
  const port = peer.value
  return { port, address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`, peer }
}

// ---- Added for the TCP specs (tcp.spec.ts, tcp-stream.spec.ts, tcp-listener.spec.ts) ----
// (Imports are hoisted; they sit here to keep this file's edits append-only.)
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'
import { Interest, TcpListener, TcpStream, type SocketAddress } from 'node-mio'

/**
 * A reusable barrier shared by this thread and `Peer` workers, as mio's tests'
 * `std::sync::Barrier`: `wait()` returns once `parties` threads called it.
 * Pass `barrier.buffer` in a Peer's `workerData` and wait there with
 * `await barrierWait(data.barrier)` (include {@link BARRIER_WAIT_SOURCE} in
 * the Peer's source). Waits give up after 10 s with an error.
 */
export class Barrier {
  /** [arrived, generation, parties] */
  readonly buffer = new SharedArrayBuffer(12)
  readonly #state = new Int32Array(this.buffer)

  constructor(parties = 2) {
    Atomics.store(this.#state, 2, parties)
  }

  /** Blocks this thread until every party arrived. */
  wait(): void {
    const state = this.#state
    const generation = Atomics.load(state, 1)
    if (Atomics.add(state, 0, 1) + 1 === Atomics.load(state, 2)) {
      Atomics.store(state, 0, 0)
      Atomics.add(state, 1, 1)
      Atomics.notify(state, 1)
      return
    }
    while (Atomics.load(state, 1) === generation) {
      if (Atomics.wait(state, 1, generation, 10_000) === 'timed-out') throw new Error('barrier: the other threads did not arrive')
    }
  }
}

/** Source of `async barrierWait(buffer)`, a {@link Barrier}'s `wait()` for Peer code. */
export const BARRIER_WAIT_SOURCE = `
  async function barrierWait(buffer) {
    const state = new Int32Array(buffer)
    const generation = Atomics.load(state, 1)
    if (Atomics.add(state, 0, 1) + 1 === Atomics.load(state, 2)) {
      Atomics.store(state, 0, 0)
      Atomics.add(state, 1, 1)
      Atomics.notify(state, 1)
      return
    }
    // A pending Atomics.waitAsync does not keep a worker's event loop alive.
    const keepAlive = setInterval(() => {}, 1 << 30)
    try {
      while (Atomics.load(state, 1) === generation) {
        const result = Atomics.waitAsync(state, 1, generation, 10000)
        if ((result.async ? await result.value : result.value) === 'timed-out') throw new Error('barrier: the other threads did not arrive')
      }
    } finally {
      clearInterval(keepAlive)
    }
  }
`

/** The same source, under the name the Unix specs use. */
export const BARRIER_WAIT = BARRIER_WAIT_SOURCE

/** Whether `addr` is a loopback address (mio's `ip().is_loopback()`). */
export function isLoopback(addr: { address: string }): boolean {
  return addr.address === '::1' || /^127\.\d+\.\d+\.\d+$/.test(addr.address)
}

/**
 * std's blocking `accept()` for a node-mio listener that is not registered:
 * waits for a connection on a private Poll (up to 10 s), then deregisters.
 */
export function acceptBlocking(listener: TcpListener): [TcpStream, SocketAddress] {
  using poll = new Poll()
  const events = new Events(4)
  poll.registry.register(listener, 0, Interest.READABLE)
  try {
    for (let round = 0; round < 20; round++) {
      const accepted = listener.accept()
      if (accepted !== null) return accepted
      poll.poll(events, 500)
    }
    throw new Error('acceptBlocking: no connection arrived')
  } finally {
    poll.registry.deregister(listener)
  }
}

/**
 * A connected pair on loopback, as std's blocking `TcpStream::connect` plus
 * `TcpListener::accept` give it: `[client, accepted]`, both unregistered.
 */
export function connectedPair(): [TcpStream, TcpStream] {
  using listener = TcpListener.bind(ANY_LOCAL)
  const client = TcpStream.connect(addrText(listener.localAddr()))
  try {
    return [client, acceptBlocking(listener)[0]]
  } catch (error) {
    client.close()
    throw error
  }
}

const O_NONBLOCK = 0o4000
const O_CLOEXEC = 0o2000000

/**
 * The open-file flags (`/proc/self/fdinfo`) of this process's one descriptor
 * bound to `socket.localAddr()`'s port, found through `/proc/net/{tcp,udp}[6]`;
 * `null` off Linux, where nothing is checked (as mio checks nothing on Windows).
 */
export function socketFdFlags(t: ExecutionContext, socket: { localAddr(): SocketAddress }, protocol: 'tcp' | 'udp'): number | null {
  if (process.platform !== 'linux') return null
  const local = socket.localAddr()
  const table = readFileSync(`/proc/net/${protocol}${local.family === 'IPv6' ? '6' : ''}`, 'utf8')
  const inodes = new Set<string>()
  for (const line of table.trim().split('\n').slice(1)) {
    const columns = line.trim().split(/\s+/)
    if (parseInt(columns[1].split(':')[1], 16) === local.port) inodes.add(columns[9])
  }
  const fds: string[] = []
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1]
      if (inode !== undefined && inodes.has(inode)) fds.push(fd)
    } catch {
      // closed while listing
    }
  }
  t.is(fds.length, 1, `expected one descriptor for ${protocol} port ${local.port}, found ${fds.length}`)
  if (fds.length !== 1) return null
  const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fds[0]}`, 'utf8'))?.[1]
  return parseInt(flags ?? 'NaN', 8)
}

/** mio's `assert_socket_non_blocking` (Linux; a no-op elsewhere). */
export function assertSocketNonBlocking(t: ExecutionContext, socket: { localAddr(): SocketAddress }, protocol: 'tcp' | 'udp'): void {
  const flags = socketFdFlags(t, socket, protocol)
  if (flags !== null) t.not(flags & O_NONBLOCK, 0, 'socket not non-blocking')
}

/** mio's `assert_socket_close_on_exec` (Linux; a no-op elsewhere). */
export function assertSocketCloseOnExec(t: ExecutionContext, socket: { localAddr(): SocketAddress }, protocol: 'tcp' | 'udp'): void {
  const flags = socketFdFlags(t, socket, protocol)
  if (flags !== null) t.not(flags & O_CLOEXEC, 0, 'socket flag CLOEXEC not set')
}

// ---- Added for the issue-3 specs (watch.spec.ts, workers.spec.ts, examples-issue3.spec.ts) ----
// (Imports are hoisted; they sit here to keep this file's edits append-only.)
import { spawn } from 'node:child_process'

/** How a child process ended, and what it printed. */
export interface ChildResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * Runs `code` (CommonJS JavaScript, where `require('node-mio')` is this
 * package) in a fresh `node` process whose working directory is the project
 * directory, and resolves with its exit status and output. A child still
 * running after `patience` ms is killed and the promise rejects: a guard
 * against a hang, never a measurement. `env` is added to this process's.
 */
export function runNode(code: string, options: { env?: NodeJS.ProcessEnv; patience?: number } = {}): Promise<ChildResult> {
  const patience = options.patience ?? 30_000
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], {
      cwd: process.cwd(),
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`child process still running after ${patience} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    }, patience)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** The non-empty lines of `text`. */
export function linesOf(text: string): string[] {
  return text.split('\n').filter((line) => line !== '')
}

// ---- Unix domain sockets, pipes and descriptors ----------------------------
// (unix-listener, unix-stream, unix-datagram, unix-pipe, source-fd specs)

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SourceFd } from 'node-mio'

/** A fresh directory for socket paths and FIFOs, removed when the test ends (mio's `temp_file`). */
export function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'node-mio-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}


/** A descriptor's open-file flags (`fcntl(F_GETFL)` plus `O_CLOEXEC`), from /proc/self/fdinfo on Linux; `null` elsewhere. */
export function fdFlags(fd: number): number | null {
  if (process.platform !== 'linux') return null
  const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1]
  if (flags === undefined) throw new Error(`no flags in /proc/self/fdinfo/${fd}`)
  return parseInt(flags, 8)
}

/** mio's `assert_socket_non_blocking`, for any descriptor (checks nothing off Linux). Returns whether it passed. */
export function assertNonBlocking(t: ExecutionContext, fd: number): boolean {
  const flags = fdFlags(fd)
  return flags === null || t.not(flags & O_NONBLOCK, 0, 'socket not non-blocking')
}

/** The opposite of {@link assertNonBlocking}. */
export function assertBlocking(t: ExecutionContext, fd: number): boolean {
  const flags = fdFlags(fd)
  return flags === null || t.is(flags & O_NONBLOCK, 0, 'descriptor is non-blocking')
}

/** mio's `assert_socket_close_on_exec`, for any descriptor (checks nothing off Linux). */
export function assertCloseOnExec(t: ExecutionContext, fd: number): boolean {
  const flags = fdFlags(fd)
  return flags === null || t.not(flags & O_CLOEXEC, 0, 'socket flag CLOEXEC not set')
}

/**
 * Clears `O_NONBLOCK` on a descriptor the caller owns (through a `SourceFd`,
 * which leaves it open): a std-like blocking descriptor for the `fromFd`
 * ports of mio's `from_std` tests.
 */
export function makeBlocking(fd: number): number {
  const source = new SourceFd(fd)
  try {
    source.setNonblocking(false)
  } finally {
    source.close()
  }
  return fd
}

/** How many descriptors this process has open (Linux), for leak checks. */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length
}

// ---- Watch mode (watch.spec.ts, watch-thread.spec.ts) -----------------------

import net from 'node:net'
import { once } from 'node:events'

/**
 * How long a watch test waits for what it expects before failing (Wine runs
 * every socket call through its server process: longer there).
 */
export const PATIENCE = process.platform === 'win32' && process.env.WINECONFIGDIR !== undefined ? 90_000 : 20_000

/** Rejects after PATIENCE ms, naming what did not happen (`what` is read then). */
export function guard<T>(promise: Promise<T>, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`)), PATIENCE)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** A promise with its resolve function, for waiting on a callback. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/**
 * 10 node:net clients (this thread) each send 1,000 numbered records at
 * once to a node-mio server driven by `poll.watch`, which reads each
 * connection until WouldBlock on every event and, at the end of each stream,
 * compares what it got with what that client sent. Stale events for a
 * stream already closed are ignored (allowed in thread mode).
 */
export async function watchedTcpRecords(t: ExecutionContext): Promise<void> {

  // The clients (node:net, this thread) write everything at once; the server
  // reads each connection until WouldBlock on every event and, at the end of
  // each stream, compares what it got with what that client sent.
  const CLIENTS = 10
  const RECORDS = 1000
  const expected = (k: number): string => Array.from({ length: RECORDS }, (_, i) => `${k}:${i}\n`).join('')
  const poll = new Poll()
  const listener = TcpListener.bind('127.0.0.1:0')
  const streams = new Map<Token, { stream: TcpStream; chunks: Buffer[] }>()
  const results = new Map<number, string>()
  const problems: string[] = []
  const all = deferred()
  const buf = Buffer.alloc(4096)
  let next = 1
  poll.registry.register(listener, Token(0), Interest.READABLE)
  const watch = poll.watch(new Events(32), (events) => {
    for (const event of events) {
      if (event.token === 0) {
        for (let accepted; (accepted = listener.accept()) !== null; ) {
          const token = Token(next++)
          streams.set(token, { stream: accepted[0], chunks: [] })
          poll.registry.register(accepted[0], token, Interest.READABLE)
        }
        continue
      }
      const entry = streams.get(event.token)
      // A stale event for a stream already closed is allowed (and ignored).
      if (entry === undefined) continue
      for (;;) {
        const n = entry.stream.read(buf)
        if (n === null) break
        if (n > 0) {
          entry.chunks.push(Buffer.from(buf.subarray(0, n)))
          continue
        }
        const text = Buffer.concat(entry.chunks).toString()
        const k = Number(text.slice(0, text.indexOf(':')))
        if (results.has(k)) problems.push(`client ${k} seen twice`)
        results.set(k, text)
        streams.delete(event.token)
        entry.stream.close()
        if (results.size === CLIENTS) all.resolve()
        break
      }
    }
  })
  t.teardown(() => {
    watch.stop()
    for (const { stream } of streams.values()) stream.close()
    listener.close()
    poll.close()
  })
  const port = listener.localAddr().port
  const sockets = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, k) => {
      const socket = net.connect({ port, host: '127.0.0.1' })
      await guard(once(socket, 'connect'), `client ${k} to connect`)
      return socket
    }),
  )
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
  })
  sockets.forEach((socket, k) => socket.end(expected(k)))
  await guard(all.promise, `every stream to end (${results.size} of ${CLIENTS})`)
  t.deepEqual(problems, [])
  t.deepEqual([...results.keys()].sort((a, b) => a - b), Array.from({ length: CLIENTS }, (_, k) => k))
  for (const [k, text] of results) {
    t.is(text.length, expected(k).length, `client ${k}: byte count`)
    t.true(text === expected(k), `client ${k}: every record, in order, byte-exact`)
  }
}

import { setTimeout as delay } from 'node:timers/promises'
import type { Watch } from 'node-mio'

/** A few turns of the event loop: long enough for a pending callback to run if it were going to. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve))
    await delay(20)
  }
}

/** The tokens of a batch, in order (Events are views, valid only inside the callback). */
export function tokensOf(events: Events): Token[] {
  return [...events].map((event: Event) => event.token)
}

/**
 * An echo server on a node-mio TcpListener, driven by `poll.watch` on this
 * thread (or its polling thread): it reads until WouldBlock, writes back what
 * it can, and waits for a writable event for the rest (edge-triggered, as
 * mio requires). A stale event for a connection already closed is ignored.
 */
export class WatchedEchoServer {
  readonly poll = new Poll()
  readonly events = new Events(64)
  readonly listener = TcpListener.bind('127.0.0.1:0')
  readonly watch: Watch
  readonly connections = new Map<Token, { stream: TcpStream; pending: Buffer[]; eof: boolean }>()
  /** What happened, in order: 'batch' per callback (others add their own marks). */
  readonly log: string[] = []
  closed = 0
  #next = 1
  readonly #buf = Buffer.alloc(64 * 1024)

  constructor() {
    this.poll.registry.register(this.listener, Token(0), Interest.READABLE)
    this.watch = this.poll.watch(this.events, (events) => {
      this.log.push('batch')
      for (const event of events) {
        if (event.token === 0) this.#accept()
        else this.#serve(event.token)
      }
    })
  }

  get port(): number {
    return this.listener.localAddr().port
  }

  #accept(): void {
    for (let accepted; (accepted = this.listener.accept()) !== null; ) {
      const token = Token(this.#next++)
      this.connections.set(token, { stream: accepted[0], pending: [], eof: false })
      this.poll.registry.register(accepted[0], token, Interest.READABLE.add(Interest.WRITABLE))
    }
  }

  #serve(token: Token): void {
    const connection = this.connections.get(token)
    if (connection === undefined) return
    for (;;) {
      const n = connection.stream.read(this.#buf)
      if (n === null) break
      if (n === 0) {
        connection.eof = true
        break
      }
      connection.pending.push(Buffer.from(this.#buf.subarray(0, n)))
    }
    while (connection.pending.length > 0) {
      const head = connection.pending[0]
      const written = connection.stream.write(head)
      if (written === null) break
      if (written === head.length) connection.pending.shift()
      else connection.pending[0] = head.subarray(written)
    }
    if (connection.eof && connection.pending.length === 0) {
      this.connections.delete(token)
      connection.stream.close()
      this.closed++
    }
  }

  close(): void {
    this.watch.stop()
    for (const { stream } of this.connections.values()) stream.close()
    this.listener.close()
    this.poll.close()
  }
}

/** A node:net client of `port`, collecting what it receives. */
export async function client(port: number): Promise<{ socket: net.Socket; received: () => Buffer; receive: (length: number) => Promise<Buffer> }> {
  const socket = net.connect({ port, host: '127.0.0.1' })
  await guard(once(socket, 'connect'), 'the TCP connection')
  const chunks: Buffer[] = []
  let length = 0
  let wake: (() => void) | undefined
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk)
    length += chunk.length
    wake?.()
  })
  socket.on('close', () => wake?.())
  const received = (): Buffer => Buffer.concat(chunks)
  const receive = async (want: number): Promise<Buffer> => {
    while (length < want && !socket.destroyed) {
      await guard(new Promise<void>((resolve) => (wake = resolve)), `${want} bytes (got ${length})`)
    }
    return received()
  }
  return { socket, received, receive }
}

import dgram from 'node:dgram'
import { readFile } from 'node:fs/promises'
import { UdpSocket, type WatchMode } from 'node-mio'

/**
 * A node:net client in this thread talks to a `WatchedEchoServer`: round
 * trips started from timer ticks, an fs call, 1 MiB both ways, the close;
 * the interval keeps firing between the watch's callbacks.
 */
export async function watchedEchoWithTimers(t: ExecutionContext, mode: WatchMode): Promise<void> {
  const server = new WatchedEchoServer()
  t.teardown(() => server.close())
  t.is(server.watch.mode, mode)
  let ticks = 0
  const interval = setInterval(() => {
    ticks++
    if (server.log.length < 10_000) server.log.push('tick')
  }, 1)
  t.teardown(() => clearInterval(interval))
  const nextTick = async (): Promise<void> => {
    const seen = ticks
    while (ticks === seen) await guard(delay(1), 'a timer tick')
  }

  const { socket, receive } = await client(server.port)
  t.teardown(() => socket.destroy())

  // Round trips, each started from a timer tick: the watch does not hold the loop.
  let expected = ''
  for (let round = 1; round <= 5; round++) {
    await nextTick()
    const line = `round ${round}\n`
    expected += line
    socket.write(line)
    t.is((await receive(Buffer.byteLength(expected))).toString(), expected, `echo of round ${round}`)
  }

  // An fs call completes while the watch is active.
  const pkg = JSON.parse(await guard(readFile('package.json', 'utf8'), 'fs.readFile')) as { name: string }
  t.is(pkg.name, 'node-mio')

  // 1 MiB both ways at once: the server meets WouldBlock on write and waits
  // for writable events, the client in this same thread keeps reading.
  const big = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < big.length; i += 4) big.writeUInt32BE(i / 4, i)
  socket.write(big)
  const all = await receive(Buffer.byteLength(expected) + big.length)
  t.is(all.length, Buffer.byteLength(expected) + big.length)
  t.true(all.subarray(Buffer.byteLength(expected)).equals(big), 'the 1 MiB echo is byte-exact')

  // The client closes: the server sees the end and closes its side.
  socket.end()
  await guard(once(socket, 'close'), 'the server to close the connection')
  t.is(server.closed, 1)
  t.is(server.connections.size, 0)

  // The interval kept firing between the watch's callbacks.
  const first = server.log.indexOf('batch')
  const last = server.log.lastIndexOf('batch')
  t.true(first >= 0, 'the watch called back')
  t.true(server.log.slice(first, last).includes('tick'), 'timer ticks ran between watch callbacks')
  t.true(ticks >= 5)
}

/** 10,000 numbered datagrams from 10 sources through one watched Poll: none lost, in order per source. */
export async function tenThousandDatagrams(t: ExecutionContext, mode: WatchMode): Promise<void> {
  // Ten node-mio UDP sockets on one watched Poll; ten node:dgram senders in
  // this thread, one per socket, each sending 1,000 numbered datagrams with
  // at most WINDOW unacknowledged (so the kernel never has to drop one: a
  // missing datagram is a missed event). Every datagram is checked on
  // arrival: the right socket, the next number.
  const SOURCES = 10
  const PER_SOURCE = 1000
  const WINDOW = 8
  const poll = new Poll()
  const events = new Events(16)
  const receivers = Array.from({ length: SOURCES }, () => UdpSocket.bind('127.0.0.1:0'))
  const senders = Array.from({ length: SOURCES }, () => dgram.createSocket('udp4'))
  t.teardown(() => {
    poll.close()
    for (const r of receivers) r.close()
    for (const s of senders) s.close()
  })
  await Promise.all(
    senders.map((s) => {
      s.bind(0, '127.0.0.1')
      return guard(once(s, 'listening'), 'a sender socket')
    }),
  )
  receivers.forEach((r, k) => poll.registry.register(r, Token(k), Interest.READABLE))

  const next = new Array<number>(SOURCES).fill(0)
  const problems: string[] = []
  let total = 0
  let batches = 0
  const all = deferred()
  const buf = Buffer.alloc(64)
  const ack = Buffer.alloc(4)
  const watch = poll.watch(events, (batch) => {
    batches++
    for (const event of batch) {
      const k = event.token
      const receiver = receivers[k]
      if (receiver === undefined) {
        if (problems.length < 10) problems.push(`unknown token ${k}`)
        continue
      }
      for (let info; (info = receiver.recvFrom(buf)) !== null; ) {
        const source = buf.readUInt32BE(0)
        const seq = buf.readUInt32BE(4)
        if (info.size !== 8 || source !== k || seq !== next[k]) {
          if (problems.length < 10) problems.push(`socket ${k}: got source ${source} seq ${seq} (${info.size} bytes), expected seq ${next[k]}`)
        }
        next[k] = seq + 1
        total++
        ack.writeUInt32BE(seq, 0)
        receiver.sendTo(ack, { address: '127.0.0.1', port: info.port })
      }
    }
    if (total >= SOURCES * PER_SOURCE) all.resolve()
  })
  t.is(watch.mode, mode)
  const send = (k: number, seq: number): void => {
    const datagram = Buffer.alloc(8)
    datagram.writeUInt32BE(k, 0)
    datagram.writeUInt32BE(seq, 4)
    senders[k].send(datagram, receivers[k].localAddr().port, '127.0.0.1')
  }
  senders.forEach((s, k) => {
    s.on('message', (message: Buffer) => {
      const seq = message.readUInt32BE(0) + WINDOW
      if (seq < PER_SOURCE) send(k, seq)
    })
    for (let seq = 0; seq < WINDOW; seq++) send(k, seq)
  })

  await guard(all.promise, () => `10,000 datagrams (got ${total}: ${next.join(',')})`)
  await settle()
  watch.stop()
  t.deepEqual(problems, [], 'every datagram on its own socket, in order')
  t.is(total, SOURCES * PER_SOURCE, 'none lost, none duplicated')
  t.deepEqual(next, new Array(SOURCES).fill(PER_SOURCE))
  t.true(batches > 0)
}

/** `process.exit()` inside a watch callback (a child process), other watches running: exits with its code. */
export async function exitFromWatchCallback(t: ExecutionContext): Promise<void> {
  const result = await runNode(`
    const { Events, Poll, Token, Waker } = require('node-mio')
    const wakers = [0, 1, 2].map((i) => {
      const poll = new Poll()
      const waker = new Waker(poll.registry, Token(i))
      poll.watch(new Events(4), (events) => {
        console.log('callback ' + events.get(0).token)
        process.exit(3)
      })
      return waker
    })
    process.on('exit', (code) => console.log('exit ' + code))
    wakers[1].wake()
  `)
  t.is(result.signal, null)
  t.is(result.code, 3, result.stderr)
  t.deepEqual(linesOf(result.stdout), ['callback 1', 'exit 3'])
  t.is(result.stderr, '')
}

/**
 * Whether this is Windows emulated by Wine (which sets WINECONFIGDIR and
 * WINELOADER in every Windows process's environment). Only for the few
 * behaviours where Wine differs from Windows itself, each shown by a plain
 * Winsock program without node-mio (scripts/cross/winsock-probe.c).
 */
export const underWine = process.platform === 'win32' && process.env.WINECONFIGDIR !== undefined && process.env.WINELOADER !== undefined
