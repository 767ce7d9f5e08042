import binding from './binding'

/** How a watch runs: libuv's `uv_poll` on the selector, or a polling thread. */
export type WatchMode = 'uv' | 'thread'

const finalizer = new FinalizationRegistry<[number, WatchMode]>(([handle, mode]) => {
  if (mode === 'uv') binding.watchStop(handle)
  else binding.watchThreadStop(handle)
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
  /** Takes the events a stopped polling thread had polled and not delivered. */
  readonly #keep: ((batch: Float64Array) => void) | undefined

  /** @internal */
  constructor(handle: number, owner: object, mode: WatchMode, keep?: (batch: Float64Array) => void) {
    this.#handle = handle
    this.#owner = owner
    this.mode = mode
    this.#keep = keep
    finalizer.register(this, [handle, mode], this)
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
    finalizer.unregister(this)
    if (this.mode === 'uv') {
      binding.watchStop(handle)
    } else {
      // The thread consumed these events' readiness: they are not lost, the
      // Poll returns them next.
      const leftover = binding.watchThreadStop(handle)
      if (leftover !== null) this.#keep?.(leftover)
    }
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
    if (this.mode === 'uv') binding.watchRef(this.#handle, keepAlive)
    else binding.watchThreadRef(this.#handle, keepAlive)
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
