// Peers in worker threads, as mio's tests use std threads: a peer keeps
// running while this thread blocks in `poll()`.
import { Worker } from 'node:worker_threads'
import { PATIENCE } from './async.ts'

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
  // [ready, value, started]
  readonly #shared = new Int32Array(new SharedArrayBuffer(12))
  readonly #exited: Promise<number>

  constructor(source: string, workerData: unknown = null) {
    const code = `
      const { workerData } = require('node:worker_threads')
      const shared = new Int32Array(workerData.shared)
      const ready = (value) => { Atomics.store(shared, 1, value); Atomics.store(shared, 0, 1); Atomics.notify(shared, 0) }
      Atomics.store(shared, 2, 1)
      Atomics.notify(shared, 2)
      ;(async (data) => { ${source} })(workerData.data).catch((e) => { console.error(e); process.exit(1) })
    `
    this.#worker = new Worker(code, { eval: true, workerData: { shared: this.#shared.buffer, data: workerData } })
    this.#exited = new Promise((resolve) => this.#worker.once('exit', resolve))
    // Returns once the worker runs: a std thread in mio's tests starts at
    // once, a worker boots Node first (seconds under qemu), and the tests
    // time what the peer does, not that.
    Atomics.wait(this.#shared, 2, 0, PATIENCE)
  }

  /** Waits (up to `PATIENCE`) for the worker to call `ready()`. */
  waitReady(): void {
    if (Atomics.wait(this.#shared, 0, 0, PATIENCE) === 'timed-out' && Atomics.load(this.#shared, 0) === 0) {
      throw new Error('peer thread did not become ready')
    }
  }

  /** The value the worker passed to `ready()`, waiting for it as `waitReady`. */
  get value(): number {
    this.waitReady()
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
 * Source of `arrive(state)`, one party's arrival at a barrier whose `state`
 * is `[arrived, generation, parties]`: the last party to arrive resets the
 * count, starts the next generation and wakes the others, and gets `null`;
 * any other party gets the generation it must wait out. {@link Barrier} and
 * the Peer side ({@link BARRIER_WAIT}) both run this one text.
 */
const ARRIVE = `
  function arrive(state) {
    const generation = Atomics.load(state, 1)
    if (Atomics.add(state, 0, 1) + 1 === Atomics.load(state, 2)) {
      Atomics.store(state, 0, 0)
      Atomics.add(state, 1, 1)
      Atomics.notify(state, 1)
      return null
    }
    return generation
  }
`
// This thread compiles the same text that Peer workers get as source.
const arrive = new Function(`${ARRIVE}; return arrive`)() as (state: Int32Array) => number | null

/**
 * A reusable barrier shared by this thread and `Peer` workers, as mio's tests'
 * `std::sync::Barrier`: `wait()` returns once `parties` threads called it.
 * Pass `barrier.buffer` in a Peer's `workerData` and wait there with
 * `await barrierWait(data.barrier)` (include {@link BARRIER_WAIT} in the
 * Peer's source). Waits give up after 10 s with an error.
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
    const generation = arrive(state)
    if (generation === null) return
    while (Atomics.load(state, 1) === generation) {
      if (Atomics.wait(state, 1, generation, 10_000) === 'timed-out') throw new Error('barrier: the other threads did not arrive')
    }
  }
}

/** Source of `async barrierWait(buffer)`, a {@link Barrier}'s `wait()` for Peer code. */
export const BARRIER_WAIT = `
  ${ARRIVE}
  async function barrierWait(buffer) {
    const state = new Int32Array(buffer)
    const generation = arrive(state)
    if (generation === null) return
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
