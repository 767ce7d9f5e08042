import binding from './binding'
import { invalidArgType } from './errors'
import { Registry, registryHandle } from './registry'
import { Token } from './token'
import { finalizeWith, unfinalize } from './intrinsics'

const finalizer = new FinalizationRegistry<number>((handle) => {
  binding.wakerClose(handle)
})

/**
 * Wakes a blocked `poll()`, as mio's `Waker`: `wake()` delivers a readable
 * event with the waker's token.
 *
 * mio allows one `Waker` per `Poll`; a second one throws `EEXIST` (even after
 * the first is closed, as in mio): share the one you have. Wakes may
 * coalesce into a single event.
 *
 * @example
 * ```ts
 * const WAKE = Token(10)
 * const waker = new Waker(poll.registry, WAKE)
 * waker.wake()
 * poll.poll(events, null) // returns at once with a readable event for WAKE
 * ```
 */
export class Waker implements Disposable {
  #handle: number

  constructor(registry: Registry, token: Token) {
    if (!Registry.isRegistry(registry)) throw invalidArgType('registry', 'a Registry (poll.registry)', registry)
    this.#handle = binding.wakerNew(registryHandle(registry), Token(token))
    finalizeWith(finalizer, this, this.#handle, this)
  }

  /** Wakes the `Poll`. */
  wake(): void {
    binding.wakerWake(this.#handle)
  }

  /**
   * A form of this waker that other threads can wake it through: post it to
   * another thread (`postMessage`), rebuild it there with `SharedWaker.from`,
   * and call `wake()`. It stays valid while this waker is open.
   *
   * `postMessage` copies data, not classes: what arrives is a plain
   * {@link SharedWakerMessage} (`{ id }`), without `wake`. Type the message
   * as that, and rebuild.
   *
   * @example
   * ```ts
   * // in the worker that polls:
   * parentPort.postMessage(waker.share())
   * // in the main thread:
   * worker.on('message', (message: SharedWakerMessage) => SharedWaker.from(message).wake())
   * ```
   */
  share(): SharedWaker {
    return new SharedWaker(binding.wakerShare(this.#handle))
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#handle === 0
  }

  /** Closes the waker. Closing again does nothing. */
  close(): void {
    const handle = this.#handle
    if (handle === 0) return
    this.#handle = 0
    unfinalize(finalizer, this)
    binding.wakerClose(handle)
  }

  /** `close()`, for `using`: `using waker = new Waker(poll.registry, token)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close()
  }
}

/**
 * A {@link SharedWaker} as `postMessage` delivers it to another thread: its
 * data, without its methods. Rebuild it with {@link SharedWaker.from}.
 */
export interface SharedWakerMessage {
  /** The process-wide id of the waker. */
  readonly id: number
}

/**
 * A {@link Waker} as any thread of the process can wake it: a plain id,
 * which `postMessage` carries as a {@link SharedWakerMessage} (`{ id }`).
 */
export class SharedWaker {
  /** The process-wide id of the waker. */
  readonly id: number

  /**
   * The waker `id` names, as `waker.share().id` gave it (a plain number, so
   * it crosses `postMessage`). Waking a closed waker's id returns `false`.
   */
  constructor(id: number) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
      throw invalidArgType('id', 'the id of a shared Waker (from waker.share())', id)
    }
    this.id = id
  }

  /** Rebuilds a shared waker after `postMessage` (which turns it into a {@link SharedWakerMessage}). */
  static from(value: SharedWakerMessage): SharedWaker {
    if (typeof value !== 'object' || value === null) throw invalidArgType('value', 'a shared Waker ({ id })', value)
    return new SharedWaker(value.id)
  }

  /** Wakes the waker's `Poll`, from any thread. Returns `false` if the waker is closed. */
  wake(): boolean {
    return binding.wakerWakeShared(this.id)
  }
}
