import binding from '../binding'
import { checkBoolean } from '../validate'
import { read, write, writev } from '../io'
import { requireUnix } from '../platform'
import { checkFd, kConstruct, handleOf, Source } from '../source'

/**
 * Registers any file descriptor the program holds, without taking
 * ownership, as mio's `unix::SourceFd`: a pipe to a child process, a serial
 * port or GPIO line opened with `fs.openSync`, an eventfd, a tty, a FIFO, a
 * `node:net` socket's descriptor. Linux, macOS and FreeBSD.
 *
 * `close()` deregisters it and forgets it; the descriptor stays open and
 * yours to close. For edge-triggered draining, make it non-blocking
 * (`setNonblocking(true)`) and use `read`/`write`, which return `null` when
 * they would block and `0` at the end.
 *
 * What the OS can watch: epoll (Linux) refuses regular files and directories
 * with `EPERM` (they are always ready: read them without a `Poll`). A FIFO
 * opened for reading before any writer opened it reads `0` (the end) until a
 * writer comes; open it with `O_RDWR` to keep it open across writers.
 *
 * @example
 * ```ts
 * const fd = fs.openSync('/dev/ttyUSB0', fs.constants.O_RDWR | fs.constants.O_NONBLOCK)
 * const port = new SourceFd(fd)
 * poll.registry.register(port, Token(7), Interest.READABLE)
 * // ... on a readable event, drain until would-block (null) or the end (0):
 * for (;;) {
 *   const n = port.read(buf)
 *   if (n === null) break // drained: wait for the next event
 *   if (n === 0) { port.close(); fs.closeSync(fd); break } // the end
 *   handle(buf.subarray(0, n))
 * }
 * ```
 */
export class SourceFd extends Source {
  /** Wraps `fd` (checked to be open; not made non-blocking, not owned). */
  constructor(fd: number) {
    requireUnix('SourceFd')
    super(binding.sourceFdNew(checkFd(fd)), kConstruct)
  }

  /** Reads with `read(2)`: the count, `0` at the end, or `null` when it would block. */
  read(buf: Uint8Array, offset?: number, length?: number): number | null {
    return read(handleOf(this), buf, offset, length)
  }

  /** Writes with `write(2)`: the count taken, or `null` when it would block. */
  write(buf: Uint8Array, offset?: number, length?: number): number | null {
    return write(handleOf(this), buf, offset, length)
  }

  /** Writes up to 64 buffers with `writev(2)`: the total taken, or `null`. */
  writev(bufs: readonly Uint8Array[]): number | null {
    return writev(handleOf(this), bufs)
  }

  /** Sets or clears `O_NONBLOCK` on the descriptor (it changes it for every holder). */
  setNonblocking(nonblocking: boolean): void {
    checkBoolean(nonblocking, 'nonblocking')
    binding.sourceSetNonblocking(handleOf(this), nonblocking)
  }
}
