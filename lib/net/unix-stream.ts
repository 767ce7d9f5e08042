import binding from '../binding'
import { read, readv, write, writev } from '../io'
import { requireUnix } from '../platform'
import { adoptPair, checkFd, kConstruct, handleOf, type Source } from '../source'
import { recvWithFds, sendWithFds, type FdsReceived } from './fds'
import { Socket } from './socket'
import { checkShutdown, type Shutdown } from './tcp-stream'
import { unixAddress, unixHandle, type UnixAddress, type UnixAddressInput } from './unix-addr'

/** A Unix socket peer's credentials (`UnixStream.peerCred()`, `UnixDatagram.peerCred()`). */
export interface PeerCred {
  /** The peer's process id, where the OS reports it (Linux, macOS); else `undefined`. */
  pid: number | undefined
  /** The peer's effective user id. */
  uid: number
  /** The peer's effective group id. */
  gid: number
}

/**
 * A non-blocking Unix domain stream socket, as mio's `UnixStream`. Reads and
 * writes behave like `TcpStream`'s: `null` when they would block, `0` at
 * the end of the stream. Unix only.
 *
 * @example
 * ```ts
 * const [a, b] = UnixStream.pair()
 * a.write(Buffer.from('ping'))
 * b.read(buf) // 4
 * ```
 */
export class UnixStream extends Socket {
  /**
   * Connects to a listening socket's path (or Linux abstract name). Like
   * mio, it may return before the connection is accepted: wait for writable.
   */
  static connect(addr: UnixAddressInput): UnixStream {
    requireUnix('UnixStream')
    return new UnixStream(unixHandle(addr, binding.unixStreamConnect, binding.unixStreamConnectAbstract), kConstruct)
  }

  /** Two connected, unnamed streams (`socketpair`). */
  static pair(): [UnixStream, UnixStream] {
    requireUnix('UnixStream')
    return adoptPair(binding.unixStreamPair(), (a, b) => [new UnixStream(a, kConstruct), new UnixStream(b, kConstruct)])
  }

  /** Adopts a connected Unix stream socket descriptor (checked, made non-blocking, owned). */
  static fromFd(fd: number): UnixStream {
    return new UnixStream(binding.sourceFromFd('UnixStream', checkFd(fd)), kConstruct)
  }

  /** Reads into `buf`: the count, `0` at the end of the stream, or `null` when nothing is ready. */
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

  /** Writes from `buf`: the count taken (maybe short), or `null` when the buffer is full. */
  write(buf: Uint8Array, offset?: number, length?: number): number | null {
    return write(handleOf(this), buf, offset, length)
  }

  /** Writes up to 64 buffers in one system call: the total taken, or `null`. */
  writev(bufs: readonly Uint8Array[]): number | null {
    return writev(handleOf(this), bufs)
  }

  /** The local address (usually `{ unnamed: true }` for a client). */
  localAddr(): UnixAddress {
    return unixAddress(binding.unixLocalAddr(handleOf(this)))
  }

  /** The peer's address. */
  peerAddr(): UnixAddress {
    return unixAddress(binding.unixPeerAddr(handleOf(this)))
  }

  /**
   * The peer's credentials as of when it connected: `pid` where the OS
   * reports it (Linux `SO_PEERCRED`, macOS `LOCAL_PEERPID`, illumos
   * `getpeerucred`; `undefined` on the BSDs), `uid` and `gid` everywhere
   * (`getpeereid` on macOS and the BSDs).
   *
   * On a `UnixStream.pair()` both ends report the process that called
   * `pair()`, even after one end went to a child or a worker process: the
   * OS records the credentials when the pair is made. Only a connection
   * accepted from a `UnixListener` reports the process that connected.
   *
   * @example
   * ```ts
   * const [conn] = listener.accept()!
   * if (conn.peerCred().uid !== process.getuid!()) conn.close() // same user only
   * ```
   */
  peerCred(): PeerCred {
    const cred = binding.unixStreamPeerCred(handleOf(this))
    return { pid: cred.pid ?? undefined, uid: cred.uid, gid: cred.gid }
  }

  /** Shuts down the read half, the write half, or both. */
  shutdown(how: Shutdown): void {
    binding.socketShutdown(handleOf(this), checkShutdown(how))
  }

  /**
   * Sends the bytes (maybe short) with descriptors (`SCM_RIGHTS`) to the peer: numbers, or
   * node-mio sources (their `fd`; the source stays open and yours). The
   * receiver gets duplicates. At most 253 descriptors. `buf` must not be
   * empty when `fds` is not (a `RangeError`): the descriptors ride on its
   * bytes, and a stream sends nothing for 0 bytes. Returns the bytes sent,
   * or `null` when it would block (nothing was sent then).
   *
   * @example
   * ```ts
   * const [conn] = listener.accept()!
   * channel.sendWithFds(Buffer.from('c'), [conn]) // hand the connection to another process
   * conn.close()
   * ```
   */
  sendWithFds(buf: Uint8Array, fds: ReadonlyArray<number | Source>): number | null {
    return sendWithFds(handleOf(this), buf, fds, true)
  }

  /**
   * Receives into `buf` with up to `maxFds` (default 16, at most 253)
   * descriptors: `{ size, fds }`, or `null` when nothing is waiting. The
   * descriptors are close-on-exec and yours: adopt them (`TcpStream.fromFd`)
   * or close them. More descriptors than `maxFds` throws
   * `ERR_MIO_FDS_TRUNCATED` after closing every one of them (the bytes are
   * consumed). Descriptors sent with bytes that a plain `read`/`recv`
   * receives are closed by the kernel, never leaked.
   */
  recvWithFds(buf: Uint8Array, maxFds = 16): FdsReceived | null {
    return recvWithFds(handleOf(this), buf, maxFds, true)
  }
}
