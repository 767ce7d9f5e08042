import binding from '../binding'
import { checkInteger } from '../errors'
import { kHandle, Source } from '../source'
import { addressText, type SocketAddress, type SocketAddressInput } from './addr'
import { adoptStream, type TcpStream } from './tcp-stream'

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
export class TcpListener extends Source {
  /**
   * Binds and listens on `addr` (`SO_REUSEADDR` on Unix, backlog 128, as
   * mio). Port `0` picks a free port: read it back with `localAddr()`.
   */
  static override bind(addr: SocketAddressInput): TcpListener {
    return new TcpListener(binding.tcpListenerBind(addressText(addr)))
  }

  /**
   * Accepts a pending connection: returns the new (non-blocking,
   * unregistered) stream and its peer's address, or `null` when none is
   * pending (drain done).
   */
  accept(): [TcpStream, SocketAddress] | null {
    const accepted = binding.tcpListenerAccept(this[kHandle])
    if (accepted === null) return null
    return [adoptStream(accepted.handle), accepted.address as SocketAddress]
  }

  /** The bound address. */
  localAddr(): SocketAddress {
    return binding.socketLocalAddr(this[kHandle]) as SocketAddress
  }

  /** Sets the IP time-to-live (`IP_TTL`) of accepted connections, 1 to 255. */
  setTtl(ttl: number): void {
    checkInteger(ttl, 'ttl', 1, 255)
    binding.socketSetTtl(this[kHandle], ttl)
  }

  /** Reads the IP time-to-live. */
  ttl(): number {
    return binding.socketTtl(this[kHandle])
  }

  /** Takes the pending socket error (`SO_ERROR`); `null` if none. */
  takeError(): NodeJS.ErrnoException | null {
    return binding.socketTakeError(this[kHandle]) as NodeJS.ErrnoException | null
  }
}
