import binding from './binding'
import { invalidArgType } from './errors'
import { checkInterest, type Interest } from './interest'
import { handleOf, kConstruct, Source } from './source'
import { Token } from './token'
import { finalizeWith, unfinalize } from './intrinsics'

const finalizer = new FinalizationRegistry<number>((handle) => {
  binding.registryClose(handle)
})

/** The native handle of `registry` (a private field). @internal */
export let registryHandle!: (registry: Registry) => number

function sourceHandle(source: unknown): number {
  if (!Source.isSource(source)) throw invalidArgType('source', 'a node-mio socket (TcpListener, TcpStream, UdpSocket, ...)', source)
  return handleOf(source)
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

  static {
    registryHandle = (registry) => registry.#handle
  }

  private constructor(handle: number, owner: object | undefined, key: typeof kConstruct) {
    if (key !== kConstruct || typeof handle !== 'number' || !(handle > 0)) {
      throw new TypeError('Registry has no public constructor: use poll.registry or registry.tryClone()')
    }
    this.#handle = handle
    // The Poll stays alive while its registry is reachable.
    this.#owner = owner
    if (owner === undefined) finalizeWith(finalizer, this, handle, this)
  }

  /**
   * The registry `handle` names, which the binding just made; `owner` (its
   * Poll) is kept alive with it. Only node-mio holds `key`. @internal
   */
  static of(handle: number, owner: object | undefined, key: typeof kConstruct): Registry {
    return new Registry(handle, owner, key)
  }

  /** @internal */
  static isRegistry(value: unknown): value is Registry {
    return typeof value === 'object' && value !== null && #handle in value
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
    return new Registry(binding.registryTryClone(this.#handle), undefined, kConstruct)
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
  static release(registry: Registry, key: typeof kConstruct): void {
    if (key === kConstruct) registry.#release()
  }

  #release(): void {
    const handle = this.#handle
    if (handle === 0) return
    this.#handle = 0
    unfinalize(finalizer, this)
    binding.registryClose(handle)
  }

  /** `close()`, for `using`: `using registry = poll.registry.tryClone()` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close()
  }
}
