import binding, { fast } from './binding'
import { invalidArgType, outOfRange } from './errors'
import { Events, eventsStorage, setLength } from './events'
import { Registry } from './registry'

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

  /** Creates the OS selector (epoll, kqueue or IOCP). */
  constructor() {
    this.#handle = binding.pollNew()
    this.#held = { poll: this.#handle, registry: 0 }
    finalizer.register(this, this.#held, this)
  }

  /** The registry that registers sources with this `Poll`. */
  get registry(): Registry {
    if (this.#registry === undefined) {
      this.#registry = new Registry(binding.pollRegistry(this.#handle), this)
      this.#held.registry = this.#registry.handle
    }
    return this.#registry
  }

  /**
   * Waits for readiness events and stores them in `events` (clearing it
   * first); returns how many arrived.
   *
   * @param timeout milliseconds to wait, fractions allowed; `0` returns at
   *   once; `null` (or `Infinity`) waits until an event arrives. A wait cut
   *   short by a signal, or one that times out, returns `0`.
   */
  poll(events: Events, timeout: number | null): number {
    if (!(events instanceof Events)) throw invalidArgType('events', 'an instance of Events', events)
    let ms: number
    if (timeout === null) {
      ms = -1
    } else if (typeof timeout === 'number' && timeout >= 0) {
      ms = timeout === Infinity ? -1 : timeout
    } else if (typeof timeout === 'number') {
      throw outOfRange('timeout', 'a non-negative number of milliseconds, or null', timeout)
    } else {
      throw invalidArgType('timeout', 'a number or null', timeout)
    }
    const count = fast.pollPoll(this.#handle, eventsStorage(events), ms)
    setLength(events, count)
    return count
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
    finalizer.unregister(this)
    if (this.#registry !== undefined) binding.registryClose(this.#registry.handle)
    binding.pollClose(handle)
  }

  [Symbol.dispose](): void {
    this.close()
  }
}
