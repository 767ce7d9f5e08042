import binding from './binding'
import { kConstruct } from './source'
import { finalizeWith, unfinalize } from './intrinsics'

/** How a watch runs: libuv's `uv_poll` on the selector, or a polling thread. */
export type WatchMode = 'uv' | 'thread'

const drivers = binding.watchDrivers() as WatchMode[]

/**
 * The driver a new watch uses: the best this runtime has (`'uv'` with
 * Node.js on Unix; `'thread'` on Windows, Bun and Deno), or `'thread'`
 * when `NODE_MIO_WATCH=thread`. @internal
 */
export function watchDriver(): WatchMode {
  return process.env.NODE_MIO_WATCH === 'thread' ? 'thread' : (drivers[0] ?? 'thread')
}

const finalizer = new FinalizationRegistry<number>((handle) => {
  binding.watchStop(handle)
})

/**
 * A running watch: {@link Poll.watch} delivering readiness on Node's event
 * loop. Like a timer or a `node:net` server, a watch keeps the process alive
 * while it is ref'd (the default); `unref()` lets the process exit while it
 * waits.
 */
export class Watch implements Disposable {
  #handle: number
  #refed = true
  // The Poll (and so its selector) lives as long as the watch object.
  readonly #owner: object
  /** `'uv'`: the selector watched on libuv's loop; `'thread'`: a polling thread. */
  readonly mode: WatchMode

  private constructor(handle: number, owner: object, mode: WatchMode, key: typeof kConstruct) {
    if (key !== kConstruct || typeof handle !== 'number' || !(handle > 0)) {
      throw new TypeError('Watch has no public constructor: use poll.watch()')
    }
    this.#handle = handle
    this.#owner = owner
    this.mode = mode
    finalizeWith(finalizer, this, handle, this)
  }

  /**
   * The watch `handle` names, which the binding just started, keeping
   * `owner` (its Poll) alive. Only node-mio holds `key`. @internal
   */
  static of(handle: number, owner: object, mode: WatchMode, key: typeof kConstruct): Watch {
    return new Watch(handle, owner, mode, key)
  }

  /** Whether the watch is still running. */
  get active(): boolean {
    return this.#handle !== 0
  }

  /** Stops the watch: no callback runs after this returns. Stopping again does nothing. */
  stop(): void {
    const handle = this.#handle
    if (handle === 0) return
    this.#handle = 0
    unfinalize(finalizer, this)
    // Events the driver took and did not deliver stay with the Poll.
    binding.watchStop(handle)
  }

  /** Keeps the process alive while the watch waits (the default). */
  ref(): this {
    if (this.#handle !== 0) this.#ref(true)
    this.#refed = true
    return this
  }

  /** Lets the process exit while the watch waits, as `timer.unref()`. */
  unref(): this {
    if (this.#handle !== 0) this.#ref(false)
    this.#refed = false
    return this
  }

  #ref(keepAlive: boolean): void {
    binding.watchRef(this.#handle, keepAlive)
  }

  /** Whether the watch keeps the process alive. */
  hasRef(): boolean {
    return this.#handle !== 0 && this.#refed
  }

  /** `stop()`, for `using`. */
  [Symbol.dispose](): void {
    this.stop()
  }

  /** @internal */
  get owner(): object {
    return this.#owner
  }
}
