import binding from '../binding'
import { adopt, checkFd, kConstruct, handleOf } from '../source'
import type { SocketAddress, SocketAddressInput } from './addr'
import { socketHandle, type ListenOptions } from './options'
import { IpSocket } from './socket'
import { TcpStream } from './tcp-stream'

/**
 * A non-blocking TCP server socket, as mio's `TcpListener`.
 *
 * @example
 * ```ts
 * const listener = TcpListener.bind('127.0.0.1:0')
 * poll.registry.register(listener, SERVER, Interest.READABLE)
 * // ... on a readable event, accept until null:
 * for (let accepted; (accepted = listener.accept()) !== null; ) {
 *   const [stream, peer] = accepted
 *   console.log('connection from', peer.address, peer.port)
 * }
 * ```
 */
export class TcpListener extends IpSocket {
  /**
   * Binds and listens on `addr` (`SO_REUSEADDR` on Unix, backlog 128, as
   * mio). Port `0` picks a free port: read it back with `localAddr()`.
   *
   * @param options socket options (`reusePort`, `backlog`, `ipv6Only`, buffer
   *   sizes, `reuseAddress`), set before `bind`.
   * @example
   * ```ts
   * // One port, one listener per worker, the kernel balancing (Linux):
   * const listener = TcpListener.bind('0.0.0.0:8080', { reusePort: true, backlog: 1024 })
   * ```
   */
  static override bind(addr: SocketAddressInput, options?: ListenOptions): TcpListener {
    return new TcpListener(socketHandle(addr, options, 'listen', binding.tcpListenerBind, binding.tcpListenerBindWith), kConstruct)
  }

  /**
   * Adopts a listening socket descriptor (inherited, say, through socket
   * activation's `LISTEN_FDS`), as mio's `from_std`: it is checked to be a
   * TCP socket, made non-blocking, and owned from now on. Unix only.
   */
  static fromFd(fd: number): TcpListener {
    return new TcpListener(binding.sourceFromFd('TcpListener', checkFd(fd)), kConstruct)
  }

  /**
   * Accepts a pending connection: returns the new (non-blocking,
   * unregistered) stream and its peer's address, or `null` when none is
   * pending (drain done).
   */
  accept(): [TcpStream, SocketAddress] | null {
    const accepted = binding.tcpListenerAccept(handleOf(this))
    if (accepted === null) return null
    return adopt(accepted.handle, (handle) => [new TcpStream(handle, kConstruct), accepted.address as SocketAddress])
  }
}
