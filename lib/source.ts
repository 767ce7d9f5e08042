import binding from './binding'
import { socketClosed } from './errors'
import { checkInteger } from './validate'
import { requireUnix } from './platform'

/** Where an I/O object keeps its native handle. Not exported from the package. */
export const kHandle: unique symbol = Symbol('node-mio.handle')

/**
 * Proof that a source is being built by node-mio itself (from `bind`,
 * `connect`, `accept`, `fromFd`...), never from a handle someone passed in,
 * which would make two objects own one socket. Not exported from the
 * package.
 */
export const kConstruct: unique symbol = Symbol('node-mio.construct')

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
  /** @internal */
  [kHandle]: number

  // The brand `isSource` tests with `#source in value`.
  // oxlint-disable-next-line eslint/no-unused-private-class-members
  readonly #source = true

  /** Sockets come from their static methods (`TcpStream.connect`, `UdpSocket.bind`, ...). */
  protected constructor(handle: number, key: typeof kConstruct) {
    if (key !== kConstruct || typeof handle !== 'number' || !(handle > 0)) {
      throw new TypeError(`${new.target.name} has no public constructor: use its static methods (bind, connect, accept, fromFd)`)
    }
    this[kHandle] = handle
    finalizer.register(this, handle, this)
  }

  /** @internal */
  static isSource(value: unknown): value is Source {
    return typeof value === 'object' && value !== null && #source in value
  }

  /**
   * For the Unix-only members: a closed source is `ERR_SOCKET_CLOSED` first,
   * on every OS, as for every other method; only an open one learns that
   * the platform lacks the member.
   */
  #requireUnixOpen(what: string): void {
    if (this[kHandle] === 0) throw socketClosed()
    requireUnix(what)
  }

  /** Whether `close()` was called. Any other use after close throws `ERR_SOCKET_CLOSED`. */
  get closed(): boolean {
    return this[kHandle] === 0
  }

  /**
   * The OS descriptor (mio's `AsRawFd`), still owned by this object: pass it
   * to a child process's `stdio`, say, but do not close it. Unix only.
   */
  get fd(): number {
    this.#requireUnixOpen('fd')
    return binding.sourceRawFd(this[kHandle])
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
    const fd = binding.sourceDetachFd(this[kHandle])
    this[kHandle] = 0
    finalizer.unregister(this)
    return fd
  }

  /** Closes the socket (and deregisters it). Closing again does nothing. */
  close(): void {
    const handle = this[kHandle]
    if (handle === 0) return
    this[kHandle] = 0
    finalizer.unregister(this)
    binding.sourceClose(handle)
  }

  /** `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close()
  }
}

/** Checks a descriptor argument of `fromFd`. @internal */
export function checkFd(fd: unknown): number {
  requireUnix('fromFd')
  checkInteger(fd, 'fd', 0, 0x7fff_ffff)
  return fd
}
