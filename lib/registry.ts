import binding from './binding'
import { invalidArgType } from './errors'
import { checkInterest, type Interest } from './interest'
import { kHandle, Source } from './source'
import { Token } from './token'

const finalizer = new FinalizationRegistry<number>((handle) => {
  binding.registryClose(handle)
})

function sourceHandle(source: unknown): number {
  if (!Source.isSource(source)) throw invalidArgType('source', 'a node-mio socket (TcpListener, TcpStream, UdpSocket, ...)', source)
  return source[kHandle]
}

/**
 * Registers event sources with a {@link Poll}, as mio's `Registry`.
 *
 * Get it from `poll.registry`; `tryClone()` gives another handle to the same
 * `Poll`. Registration is edge-triggered: after an event, drain the source
 * (read, write or accept until it returns `null`) or no further event is
 * guaranteed.
 *
 * Errors are the same on every OS: registering a registered source (with this
 * or another `Poll`) throws `EEXIST`; reregistering or deregistering a source
 * that is not registered throws `ENOENT`.
 */
export class Registry {
  #handle: number
  readonly #owner: object | undefined

  private constructor(handle: number, owner?: object) {
    this.#handle = handle
    // The Poll stays alive while its registry is reachable.
    this.#owner = owner
    if (owner === undefined) finalizer.register(this, handle, this)
  }

  /** The registry `handle` names; `owner` (its Poll) is kept alive with it. @internal */
  static of(handle: number, owner?: object): Registry {
    return new Registry(handle, owner)
  }

  /** @internal */
  static isRegistry(value: unknown): value is Registry {
    return typeof value === 'object' && value !== null && #handle in value
  }

  /** @internal */
  get handle(): number {
    return this.#handle
  }

  /**
   * Registers `source` to deliver `interest` events with `token`.
   *
   * @example
   * ```ts
   * poll.registry.register(listener, Token(0), Interest.READABLE)
   * ```
   */
  register(source: Source, token: Token, interest: Interest): void {
    binding.registryRegister(this.#handle, sourceHandle(source), Token(token), checkInterest(interest).bits)
  }

  /** Replaces the token and interest of a registered source. */
  reregister(source: Source, token: Token, interest: Interest): void {
    binding.registryReregister(this.#handle, sourceHandle(source), Token(token), checkInterest(interest).bits)
  }

  /** Stops events for `source`; it stays open and usable. */
  deregister(source: Source): void {
    binding.registryDeregister(this.#handle, sourceHandle(source))
  }

  /** Another registry for the same `Poll` (its own selector descriptor, as mio's `try_clone`). */
  tryClone(): Registry {
    return new Registry(binding.registryTryClone(this.#handle))
  }

  /** Releases a cloned registry's descriptor. Does nothing for `poll.registry` (closed with its `Poll`). */
  close(): void {
    if (this.#owner !== undefined) return
    this.#release()
  }

  /** Whether this registry was closed (a clone by `close()`, `poll.registry` with its `Poll`). */
  get closed(): boolean {
    return this.#handle === 0
  }

  /**
   * Forgets the native registry: every later call throws `ERR_MIO_CLOSED`,
   * and the handle, never kept, can name nothing else. @internal
   */
  static release(registry: Registry): void {
    registry.#release()
  }

  #release(): void {
    const handle = this.#handle
    if (handle === 0) return
    this.#handle = 0
    finalizer.unregister(this)
    binding.registryClose(handle)
  }

  /** `close()`, for `using`: `using registry = poll.registry.tryClone()` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close()
  }
}
