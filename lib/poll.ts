import binding, { fast } from './binding'
import { closedWhilePending, invalidArgType, outOfRange, restated } from './errors'
import { Events, eventsStorage, isEvents, setLength } from './events'
import { Registry } from './registry'
import { kConstruct } from './source'
import { Watch, watchDriver } from './watch'
import { finalizeWith, unfinalize } from './intrinsics'

/** What a forgotten `Poll` leaves to close: its selector and its registry's entry. */
interface Held {
  poll: number
  registry: number
}

const finalizer = new FinalizationRegistry<Held>((held) => {
  if (held.registry !== 0) binding.registryClose(held.registry)
  binding.pollClose(held.poll)
})

/**
 * Polls for readiness events on all registered sources, as mio's `Poll`.
 *
 * `poll()` blocks the calling thread for up to `timeout` milliseconds, so
 * call it with a timeout (or `null`) only on a thread that has nothing else
 * to do, such as a worker; on Node's main thread use `0`.
 *
 * @example
 * ```ts
 * const poll = new Poll()
 * const events = new Events(128)
 * poll.registry.register(listener, Token(0), Interest.READABLE)
 * poll.poll(events, 100)
 * for (const event of events) console.log(event.token, event.isReadable())
 * poll.close()
 * ```
 */
export class Poll implements Disposable {
  #handle: number
  #registry: Registry | undefined
  readonly #held: Held
  #watch: Watch | undefined
  #pollAsyncPending = false
  readonly #onClose = new Set<() => void>()

  /** Creates the OS selector (epoll, kqueue or IOCP). */
  constructor() {
    this.#handle = binding.pollNew()
    this.#held = { poll: this.#handle, registry: 0 }
    finalizeWith(finalizer, this, this.#held, this)
  }

  /** The registry that registers sources with this `Poll`. */
  get registry(): Registry {
    if (this.#registry === undefined) {
      const handle = binding.pollRegistry(this.#handle)
      this.#held.registry = handle
      this.#registry = Registry.of(handle, this, kConstruct)
    }
    return this.#registry
  }

  /**
   * Waits for readiness events and stores them in `events` (clearing it
   * first); returns how many arrived.
   *
   * While a watch runs on this `Poll` (`watch`, `pollAsync`, `batches`),
   * the watch takes its events and `poll()` throws `EBUSY`, whatever the
   * timeout and the watch driver.
   *
   * @param timeout milliseconds to wait, fractions allowed; `0` returns at
   *   once; `null` (or `Infinity`) waits until an event arrives. A wait cut
   *   short by a signal, or one that times out, returns `0`.
   */
  poll(events: Events, timeout: number | null): number {
    if (!isEvents(events)) throw invalidArgType('events', 'an instance of Events', events)
    const ms = checkTimeout(timeout)
    const count = fast.pollPoll(this.#handle, eventsStorage(events), ms)
    setLength(events, count)
    return count
  }

  /**
   * Delivers readiness on Node's event loop: `callback(events)` runs on this
   * thread each time registered sources have events, without blocking the
   * thread (timers, `fs`, `node:net` keep running) and without a thread hop.
   * `events` holds the batch until the callback returns; the next batch
   * reuses it. Registering, reregistering, deregistering, closing and waking
   * from inside the callback all work. An exception thrown by the callback is
   * an uncaught exception, as from any event-loop callback.
   *
   * One watch (or pending `pollAsync`) per `Poll` at a time; a second is
   * `EEXIST`, and `poll()` on a watched `Poll` is `EBUSY`. Two drivers
   * deliver the same contract (`watch.mode` tells which runs): with Node.js
   * on Linux, macOS and FreeBSD, `'uv'` watches the `Poll`'s own epoll or
   * kqueue descriptor with libuv's `uv_poll` on this environment's loop
   * (each worker has its own), with no thread; elsewhere (Windows, whose
   * IOCP has no such descriptor, and runtimes without a usable libuv, Bun
   * and Deno) `'thread'`, a polling thread that owns the blocking poll and
   * hands each batch over. `NODE_MIO_WATCH=thread` forces the thread.
   * Events a watch took from the OS but had not delivered when it stopped
   * are kept: the next `poll()` or watch returns them first.
   *
   * @example
   * ```ts
   * const watch = poll.watch(new Events(256), (events) => {
   *   for (const event of events) handlers.get(event.token)?.(event)
   * })
   * // later:
   * watch.stop()
   * ```
   */
  watch(events: Events, callback: (events: Events) => void): Watch {
    if (!isEvents(events)) throw invalidArgType('events', 'an instance of Events', events)
    if (typeof callback !== 'function') throw invalidArgType('callback', 'a function', callback)
    const driver = watchDriver()
    const storage = eventsStorage(events)
    const capacity = events.capacity
    let id = 0
    let watch: Watch | undefined
    // The callback refers to this Poll, and the driver holds the callback
    // while the watch runs: a watched Poll is never garbage-collected.
    const onReady = (): void => {
      while (watch?.active === true) {
        const count = fast.watchTake(id, storage)
        setLength(events, count)
        if (count === 0) return
        callback(events)
        // A full batch: more may wait (a thread's queue, or more ready
        // sources than the capacity).
        if (count < capacity) return
      }
    }
    id = binding.watchStart(this.#handle, driver, capacity, onReady)
    watch = Watch.of(id, this, driver, kConstruct)
    this.#watch = watch
    // Events a stopped watch left with this Poll come first, without
    // waiting for the OS. The immediate is unref'd: the watch alone decides
    // whether the process stays alive (an unref'd watch must not keep the
    // loop running a turn, in which due unref'd timers would fire).
    setImmediate(onReady).unref()
    return watch
  }

  /**
   * Waits for events without blocking the thread: resolves with the number
   * of events stored in `events` (`0` when `timeout` ms pass first). The
   * default `timeout`, `null`, waits until an event arrives. A pending
   * `pollAsync` keeps the process alive, as a pending timer does. It holds
   * no thread-pool thread while it waits.
   *
   * One `pollAsync` (or watch) per `Poll` at a time: a second one rejects
   * with `EEXIST`. Closing the `Poll` while one is pending rejects it with
   * `ERR_MIO_CLOSED`, so a close is never mistaken for a timeout.
   *
   * @example
   * ```ts
   * const count = await poll.pollAsync(events, 1000)
   * if (count === 0) console.log('timed out')
   * ```
   */
  async pollAsync(events: Events, timeout: number | null = null): Promise<number> {
    const ms = checkTimeout(timeout)
    // Something may be ready already (unless a watch holds the Poll: then the
    // watch below refuses, as a second watch would).
    if (this.#watch?.active !== true) {
      const ready = this.poll(events, 0)
      if (ready > 0 || ms === 0) return ready
    }
    return new Promise<number>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      let watch: Watch | undefined
      const settle = (): void => {
        this.#pollAsyncPending = false
        this.#onClose.delete(onClose)
        watch?.stop()
        if (timer !== undefined) clearTimeout(timer)
      }
      const finish = (count: number): void => {
        settle()
        resolve(count)
      }
      const onClose = (): void => {
        settle()
        reject(closedWhilePending('Poll', 'pollAsync'))
      }
      const watched = this.#watch?.active === true
      const pending = this.#pollAsyncPending
      this.#onClose.add(onClose)
      try {
        watch = this.watch(events, (batch) => finish(batch.length))
      } catch (error) {
        this.#onClose.delete(onClose)
        if (pending) reject(restated(error, 'a pollAsync is already pending on this Poll: await it first'))
        else if (watched) reject(restated(error, 'this Poll is watched (poll.watch): its events go to the watch'))
        else reject(error)
        return
      }
      this.#pollAsyncPending = true
      if (ms >= 0) timer = setTimeout(() => finish(0), ms)
    })
  }

  /**
   * Batches of events as an async iterator, on Node's event loop (see
   * `watch`). Each batch is `events`, valid until the loop asks for the next.
   * Ends when the `Poll` closes.
   *
   * @example
   * ```ts
   * for await (const batch of poll.batches(new Events(128))) {
   *   for (const event of batch) handle(event)
   * }
   * ```
   */
  async *batches(events: Events): AsyncGenerator<Events, void, undefined> {
    while (!this.closed) {
      let count: number
      try {
        count = await this.pollAsync(events, null)
      } catch (error) {
        if (this.closed) return
        throw error
      }
      if (count > 0) yield events
    }
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#handle === 0
  }

  /**
   * Closes the selector. Sources registered with it stop getting events
   * (a `registry.tryClone()` still open keeps the selector alive). Closing
   * again does nothing.
   */
  close(): void {
    const handle = this.#handle
    if (handle === 0) return
    this.#handle = 0
    unfinalize(finalizer, this)
    this.#watch?.stop()
    // A copy: a callback may add or remove others while they run.
    for (const onClose of Array.from(this.#onClose)) onClose()
    if (this.#registry !== undefined) Registry.release(this.#registry, kConstruct)
    binding.pollClose(handle)
  }

  /** `close()`, for `using`: `using poll = new Poll()` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close()
  }
}

/** A timeout in ms, `-1` for none; checks the argument. */
function checkTimeout(timeout: unknown): number {
  if (timeout === null || timeout === Infinity) return -1
  if (typeof timeout === 'number' && timeout >= 0) return timeout
  if (typeof timeout === 'number') throw outOfRange('timeout', 'a non-negative number of milliseconds, or null', timeout)
  throw invalidArgType('timeout', 'a number or null', timeout)
}
