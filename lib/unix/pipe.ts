import binding from '../binding'
import { checkBoolean } from '../validate'
import { read, readv, write, writev } from '../io'
import { requireUnix } from '../platform'
import { adoptPair, checkFd, kConstruct, handleOf, Source } from '../source'

/**
 * The writing end of a pipe (mio's `pipe::Sender`). Closing it gives the
 * receiver a read-closed event (and `read` returns `0`). Unix only.
 */
export class PipeSender extends Source {
  /** Adopts a pipe's write end (checked, made non-blocking, owned). */
  static fromFd(fd: number): PipeSender {
    return new PipeSender(binding.sourceFromFd('PipeSender', checkFd(fd)), kConstruct)
  }

  /** Writes from `buf`: the count taken (maybe short), or `null` when the pipe is full. */
  write(buf: Uint8Array, offset?: number, length?: number): number | null {
    return write(handleOf(this), buf, offset, length)
  }

  /** Writes up to 64 buffers in one system call: the total taken, or `null`. */
  writev(bufs: readonly Uint8Array[]): number | null {
    return writev(handleOf(this), bufs)
  }

  /** Sets or clears `O_NONBLOCK` (on by default; a blocking end blocks this thread). */
  setNonblocking(nonblocking: boolean): void {
    checkBoolean(nonblocking, 'nonblocking')
    binding.sourceSetNonblocking(handleOf(this), nonblocking)
  }

  /** The end `handle` names, which the binding just made, owned by the new object. @internal */
  static adopt(handle: number, key: typeof kConstruct): PipeSender {
    return new PipeSender(handle, key)
  }
}

/**
 * The reading end of a pipe (mio's `pipe::Receiver`). When every sender is
 * closed it gets a read-closed event and `read` returns `0`. Unix only.
 */
export class PipeReceiver extends Source {
  /** Adopts a pipe's read end (checked, made non-blocking, owned). */
  static fromFd(fd: number): PipeReceiver {
    return new PipeReceiver(binding.sourceFromFd('PipeReceiver', checkFd(fd)), kConstruct)
  }

  /** Reads into `buf`: the count, `0` when every sender is closed, or `null` when empty. */
  read(buf: Uint8Array, offset?: number, length?: number): number | null {
    return read(handleOf(this), buf, offset, length)
  }

  /**
   * Reads into several buffers with one system call (`readv`, mio's
   * `read_vectored`), filling them in order: the total count, `0` at the end
   * of the stream, or `null` when nothing is ready. At most 64 buffers; they
   * must not overlap.
   */
  readv(bufs: readonly Uint8Array[]): number | null {
    return readv(handleOf(this), bufs)
  }

  /** Sets or clears `O_NONBLOCK` (on by default; a blocking end blocks this thread). */
  setNonblocking(nonblocking: boolean): void {
    checkBoolean(nonblocking, 'nonblocking')
    binding.sourceSetNonblocking(handleOf(this), nonblocking)
  }

  /** The end `handle` names, which the binding just made, owned by the new object. @internal */
  static adopt(handle: number, key: typeof kConstruct): PipeReceiver {
    return new PipeReceiver(handle, key)
  }
}

/**
 * A non-blocking, close-on-exec pipe, as mio's `unix::pipe::new()`:
 * `[sender, receiver]`. Unix only.
 *
 * Hand an end to a child process through `stdio` (its descriptor is
 * `end.fd`), then close your copy of that end:
 *
 * @example
 * ```ts
 * const [toChild, childStdin] = pipe()
 * const [childStdout, fromChild] = pipe()
 * const child = spawn('cat', { stdio: [childStdin.fd, childStdout.fd, 'inherit'] })
 * childStdin.close()
 * childStdout.close()
 * poll.registry.register(fromChild, Token(1), Interest.READABLE)
 * toChild.write(Buffer.from('hello'))
 * ```
 */
export function pipe(): [PipeSender, PipeReceiver] {
  requireUnix('pipe')
  return adoptPair(binding.pipeNew(), (sender, receiver) => [PipeSender.adopt(sender, kConstruct), PipeReceiver.adopt(receiver, kConstruct)])
}
