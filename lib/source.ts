import binding from './binding'
import { socketClosed } from './errors'
import { checkInteger } from './validate'
import { requireUnix } from './platform'
import { finalizeWith, unfinalize } from './intrinsics'

/**
 * Proof that a wrapper (a source, a `Registry`, a `Watch`) is being built by
 * node-mio itself from a handle the binding just gave it (from `bind`,
 * `connect`, `accept`, `fromFd`...), never from a handle someone passed
 * in, which would make two objects own one native object, and a finalizer
 * close what its wrapper never made. Not exported from the package.
 */
export const kConstruct: unique symbol = Symbol('node-mio.construct')

/**
 * The handle of `source`, kept in a private field that no program can read
 * or replace. Not exported from the package (the benches and specs load it
 * from dist/).
 */
export let handleOf!: (source: object) => number

const finalizer = new FinalizationRegistry<number>((handle) => {
  binding.sourceClose(handle)
})

/**
 * What every socket shares: a native handle, `close()`, `using` support,
 * and closing on garbage collection. Register it with a {@link Registry}
 * (mio's `event::Source`).
 *
 * Closing deregisters the source: the OS forgets it, though an event already
 * returned by the current `poll()` may still name its token. A source the
 * program forgot is closed when it is garbage-collected; close sockets
 * explicitly to release them at a known time.
 */
export abstract class Source implements Disposable {
  // A private field, defined (not assigned) by the constructor: no setter a
  // program puts anywhere runs, and nothing outside this class reaches it.
  #handle: number

  static {
    handleOf = (source) => (source as Source).#handle
  }

  /** Sockets come from their static methods (`TcpStream.connect`, `UdpSocket.bind`, ...). */
  protected constructor(handle: number, key: typeof kConstruct) {
    if (key !== kConstruct || typeof handle !== 'number' || !(handle > 0)) {
      throw new TypeError(`${new.target.name} has no public constructor: use its static methods (bind, connect, accept, fromFd)`)
    }
    this.#handle = handle
    finalizeWith(finalizer, this, handle, this)
  }

  /** @internal */
  static isSource(value: unknown): value is Source {
    return typeof value === 'object' && value !== null && #handle in value
  }

  /**
   * For the Unix-only members: a closed source is `ERR_SOCKET_CLOSED` first,
   * on every OS, as for every other method; only an open one learns that
   * the platform lacks the member.
   */
  #requireUnixOpen(what: string): void {
    if (this.#handle === 0) throw socketClosed()
    requireUnix(what)
  }

  /** Whether `close()` was called. Any other use after close throws `ERR_SOCKET_CLOSED`. */
  get closed(): boolean {
    return this.#handle === 0
  }

  /**
   * The OS descriptor (mio's `AsRawFd`), still owned by this object: pass it
   * to a child process's `stdio`, say, but do not close it. Unix only.
   */
  get fd(): number {
    this.#requireUnixOpen('fd')
    return binding.sourceRawFd(this.#handle)
  }

  /**
   * Deregisters this source and hands its descriptor to the caller, who owns
   * it from now on (to give to `new net.Socket({ fd })`, another process, or
   * `fromFd` again). This object is closed afterwards. Unix only.
   *
   * @example
   * ```ts
   * const [stream] = listener.accept()!
   * const socket = new net.Socket({ fd: stream.detachFd() })
   * ```
   */
  detachFd(): number {
    this.#requireUnixOpen('detachFd')
    const fd = binding.sourceDetachFd(this.#handle)
    this.#handle = 0
    unfinalize(finalizer, this)
    return fd
  }

  /** Closes the socket (and deregisters it). Closing again does nothing. */
  close(): void {
    const handle = this.#handle
    if (handle === 0) return
    this.#handle = 0
    unfinalize(finalizer, this)
    binding.sourceClose(handle)
  }

  /** `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close()
  }
}

/**
 * Builds the wrapper of a source the binding just made (`accept`): if
 * building it throws, the source is closed before the error propagates,
 * never left open with no object to close it. @internal
 */
export function adopt<T>(handle: number, build: (handle: number) => T): T {
  try {
    return build(handle)
  } catch (error) {
    binding.sourceClose(handle)
    throw error
  }
}

/** {@link adopt} for two new sources (a pair, a pipe). @internal */
export function adoptPair<T>(pair: { first: number; second: number }, build: (first: number, second: number) => T): T {
  const { first, second } = pair
  try {
    return build(first, second)
  } catch (error) {
    binding.sourceClose(first)
    binding.sourceClose(second)
    throw error
  }
}

/** Checks a descriptor argument of `fromFd`. @internal */
export function checkFd(fd: unknown): number {
  requireUnix('fromFd')
  checkInteger(fd, 'fd', 0, 0x7fff_ffff)
  return fd
}
