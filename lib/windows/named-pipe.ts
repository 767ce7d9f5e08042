import binding from '../binding'
import { checkString } from '../validate'
import { read, readv, write, writev } from '../io'
import { unavailable } from '../errors'
import type { SystemError } from '../system-error'
import { kConstruct, handleOf, Source } from '../source'

/** The binding's named-pipe calls, which exist only in Windows builds. */
interface WindowsBinding {
  namedPipeNew(name: string): number
  namedPipeOpen(name: string): number
  namedPipeConnect(handle: number): boolean
  namedPipeDisconnect(handle: number): void
  namedPipeTakeError(handle: number): SystemError | null
}

function windows(): WindowsBinding {
  if (process.platform !== 'win32') throw unavailable('NamedPipe', 'Windows')
  return binding as unknown as WindowsBinding
}

/**
 * A Windows named pipe, as mio's `windows::NamedPipe`. **Windows only**:
 * elsewhere every method throws `ERR_FEATURE_UNAVAILABLE_ON_PLATFORM` (use
 * `UnixListener`/`UnixStream` there).
 *
 * `NamedPipe.create(name)` makes the server end; `connect()` returns `true`
 * once a client is connected, else `false` and a writable event tells when
 * it completes (then check `takeError()`). `NamedPipe.open(name)` opens a
 * client end. Reads and writes return `null` when they would block; mio
 * buffers them internally, and all I/O waits for the pipe to be registered.
 *
 * @example
 * ```ts
 * const server = NamedPipe.create('\\\\.\\pipe\\my-app')
 * poll.registry.register(server, SERVER, Interest.READABLE.add(Interest.WRITABLE))
 * if (!server.connect()) {
 *   // wait for a writable event, then: server.takeError() === null
 * }
 * ```
 */
export class NamedPipe extends Source {
  /** Creates the server end of `name` (`\\.\pipe\...`): duplex, byte mode, first instance. */
  static create(name: string): NamedPipe {
    checkString(name, 'name')
    return new NamedPipe(windows().namedPipeNew(name), kConstruct)
  }

  /** Opens the client end of an existing pipe, for overlapped I/O. */
  static open(name: string): NamedPipe {
    checkString(name, 'name')
    return new NamedPipe(windows().namedPipeOpen(name), kConstruct)
  }

  /** Starts or checks the connect of a server end: `true` when a client is connected. */
  connect(): boolean {
    return windows().namedPipeConnect(handleOf(this))
  }

  /** Disconnects the client of a server end, so that another can connect. */
  disconnect(): void {
    windows().namedPipeDisconnect(handleOf(this))
  }

  /** The outcome of a completed connect: an error, or `null`. */
  takeError(): SystemError | null {
    return windows().namedPipeTakeError(handleOf(this))
  }

  /** Reads into `buf`: the count, `0` at the end, or `null` when nothing is ready. */
  read(buf: Uint8Array, offset?: number, length?: number): number | null {
    windows()
    return read(handleOf(this), buf, offset, length)
  }

  /** Writes from `buf`: the count taken, or `null` when it would block. */
  write(buf: Uint8Array, offset?: number, length?: number): number | null {
    windows()
    return write(handleOf(this), buf, offset, length)
  }

  /**
   * Writes up to 64 buffers as one message (mio's `write_vectored`): the
   * total taken, or `null` when it would block. mio copies them into its own
   * write buffer, so the pipe takes all of them or none.
   */
  writev(bufs: readonly Uint8Array[]): number | null {
    windows()
    return writev(handleOf(this), bufs)
  }

  /**
   * Reads into up to 64 buffers in order (mio's `read_vectored`): the
   * count, `0` at the end, or `null` when nothing is ready.
   */
  readv(bufs: readonly Uint8Array[]): number | null {
    windows()
    return readv(handleOf(this), bufs)
  }
}
