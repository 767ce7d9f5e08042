import binding from '../binding'
import { badReadBuffer, checkString, checkWriteBuffer, isUint8Array } from '../validate'
import { requireUnix } from '../platform'
import { adoptPair, checkFd, kConstruct, handleOf, type Source } from '../source'
import { recvWithFds, sendWithFds, type FdsReceived } from './fds'
import { Socket } from './socket'
import { checkShutdown, type Shutdown } from './tcp-stream'
import { unixAddress, unixHandle, type UnixAddress, type UnixAddressInput, type UnixRemoteInfo } from './unix-addr'
import type { PeerCred } from './unix-stream'

/**
 * A non-blocking Unix domain datagram socket, as mio's `UnixDatagram`.
 * Sends and receives return `null` when they would block. Unix only.
 *
 * @example
 * ```ts
 * const server = UnixDatagram.bind('/tmp/app.dgram')
 * const client = UnixDatagram.unbound()
 * client.sendTo(Buffer.from('hello'), '/tmp/app.dgram')
 * server.recvFrom(buf) // { size: 5, unnamed: true }
 * ```
 */
export class UnixDatagram extends Socket {
  /** Binds to a path (or Linux abstract name). */
  static override bind(addr: UnixAddressInput): UnixDatagram {
    requireUnix('UnixDatagram')
    return new UnixDatagram(unixHandle(addr, binding.unixDatagramBind, binding.unixDatagramBindAbstract), kConstruct)
  }

  /** A socket with no name, to send with `sendTo` (replies cannot reach it). */
  static unbound(): UnixDatagram {
    requireUnix('UnixDatagram')
    return new UnixDatagram(binding.unixDatagramUnbound(), kConstruct)
  }

  /** Two connected, unnamed sockets (`socketpair`). */
  static pair(): [UnixDatagram, UnixDatagram] {
    requireUnix('UnixDatagram')
    return adoptPair(binding.unixDatagramPair(), (a, b) => [new UnixDatagram(a, kConstruct), new UnixDatagram(b, kConstruct)])
  }

  /** Adopts a Unix datagram socket descriptor (checked, made non-blocking, owned). */
  static fromFd(fd: number): UnixDatagram {
    return new UnixDatagram(binding.sourceFromFd('UnixDatagram', checkFd(fd)), kConstruct)
  }

  /** Sets the peer (a path) for `send`/`recv`. */
  connect(path: string): void {
    checkString(path, 'path')
    binding.unixDatagramConnect(handleOf(this), path)
  }

  /** Sends one datagram to `path`: the bytes sent, or `null` when it would block. */
  sendTo(buf: Uint8Array, path: string): number | null {
    if (!isUint8Array(buf) || buf.byteLength === 0) checkWriteBuffer(buf)
    checkString(path, 'path')
    return binding.unixDatagramSendTo(handleOf(this), buf, path)
  }

  /** Receives one datagram: its sender and size, or `null` when none is waiting. */
  recvFrom(buf: Uint8Array): UnixRemoteInfo | null {
    if (!isUint8Array(buf) || buf.byteLength === 0) badReadBuffer(buf)
    const info = binding.unixDatagramRecvFrom(handleOf(this), buf)
    return info === null ? null : { ...unixAddress(info), size: info.size }
  }

  /** Sends to the connected peer: the bytes sent, or `null` when it would block. */
  send(buf: Uint8Array): number | null {
    if (!isUint8Array(buf) || buf.byteLength === 0) checkWriteBuffer(buf)
    return binding.unixDatagramSend(handleOf(this), buf)
  }

  /** Receives from the connected peer: the size, or `null` when nothing is waiting. */
  recv(buf: Uint8Array): number | null {
    if (!isUint8Array(buf) || buf.byteLength === 0) badReadBuffer(buf)
    return binding.unixDatagramRecv(handleOf(this), buf)
  }

  /** The local address. */
  localAddr(): UnixAddress {
    return unixAddress(binding.unixLocalAddr(handleOf(this)))
  }

  /** The connected peer's address; throws `ENOTCONN` if not connected. */
  peerAddr(): UnixAddress {
    return unixAddress(binding.unixPeerAddr(handleOf(this)))
  }

  /** Shuts down reading, writing, or both. */
  shutdown(how: Shutdown): void {
    binding.socketShutdown(handleOf(this), checkShutdown(how))
  }

  /**
   * The peer's credentials (`{ pid, uid, gid }`), where the OS recorded
   * them for this socket, else `null`. Linux records them for a `pair()`
   * (`socketpair`), and they are then the credentials of the process that
   * called `pair()`, whichever process holds the other end later (a child
   * that inherited it included). On Linux a socket `connect`ed to a path,
   * or not connected, has none (`null`); so does any socket where
   * `getpeereid` refuses datagram sockets.
   *
   * @example
   * ```ts
   * const [parent, child] = UnixDatagram.pair()
   * parent.peerCred()?.pid === process.pid // true on Linux: the creator
   * ```
   */
  peerCred(): PeerCred | null {
    const cred = binding.unixDatagramPeerCred(handleOf(this))
    return cred === null ? null : { pid: cred.pid ?? undefined, uid: cred.uid, gid: cred.gid }
  }

  /**
   * Sends the datagram with descriptors (`SCM_RIGHTS`) to the connected peer: numbers, or
   * node-mio sources (their `fd`; the source stays open and yours). The
   * receiver gets duplicates. At most 253 descriptors. To send descriptors
   * with no payload, send an empty buffer: a datagram of 0 bytes carries
   * them, and the peer's `recvWithFds` (with any buffer, even an empty one)
   * returns `{ size: 0, fds }`. Returns the bytes sent, or `null` when it
   * would block (nothing was sent then).
   *
   * @example
   * ```ts
   * const [conn] = listener.accept()!
   * channel.sendWithFds(Buffer.alloc(0), [conn]) // a bare hand-over: no payload
   * conn.close()
   * ```
   */
  sendWithFds(buf: Uint8Array, fds: ReadonlyArray<number | Source>): number | null {
    return sendWithFds(handleOf(this), buf, fds, false)
  }

  /**
   * Receives one datagram into `buf` with up to `maxFds` (default 16, at
   * most 253) descriptors: `{ size, fds }`, or `null` when nothing is
   * waiting. `buf` may be empty, and `size` `0`: a datagram of no bytes
   * that carries only descriptors. The descriptors are close-on-exec and
   * yours: adopt them (`TcpStream.fromFd`) or close them. More descriptors
   * than `maxFds` throws `ERR_MIO_FDS_TRUNCATED` after closing every one of
   * them (the datagram is consumed). Descriptors sent with a datagram that a
   * plain `recv` receives are closed by the kernel, never leaked.
   */
  recvWithFds(buf: Uint8Array, maxFds = 16): FdsReceived | null {
    return recvWithFds(handleOf(this), buf, maxFds, false)
  }
}


