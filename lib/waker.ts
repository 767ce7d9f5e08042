import binding from './binding'
import { invalidArgType } from './errors'
import { Registry } from './registry'
import { Token } from './token'

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
    if (!(registry instanceof Registry)) throw invalidArgType('registry', 'a Registry (poll.registry)', registry)
    this.#handle = binding.wakerNew(registry.handle, Token(token))
    finalizer.register(this, this.#handle, this)
  }

  /** Wakes the `Poll`. */
  wake(): void {
    binding.wakerWake(this.#handle)
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
    finalizer.unregister(this)
    binding.wakerClose(handle)
  }

  [Symbol.dispose](): void {
    this.close()
  }
}
