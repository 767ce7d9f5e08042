// Shared test helpers, after mio's tests/util/mod.rs.
import type { ExecutionContext } from 'ava'
import { Worker } from 'node:worker_threads'
import { Events, Poll, type Event, type Token } from 'node-mio'

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
