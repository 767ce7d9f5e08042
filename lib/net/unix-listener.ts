import binding from '../binding'
import { requireUnix } from '../platform'
import { adopt, checkFd, kConstruct, handleOf } from '../source'
import { Socket } from './socket'
import { unixAddress, unixHandle, type UnixAddress, type UnixAddressInput } from './unix-addr'
import { UnixStream } from './unix-stream'

/**
 * A non-blocking Unix domain socket server, as mio's `UnixListener`.
 * Unix only (Linux, macOS, FreeBSD); elsewhere every method throws
 * `ERR_FEATURE_UNAVAILABLE_ON_PLATFORM`.
 *
 * @example
 * ```ts
 * const listener = UnixListener.bind('/tmp/app.sock')
 * poll.registry.register(listener, SERVER, Interest.READABLE)
 * for (let accepted; (accepted = listener.accept()) !== null; ) {
 *   const [stream] = accepted
 *   // register stream ...
 * }
 * ```
 */
export class UnixListener extends Socket {
  /**
   * Binds and listens on a path (which must not exist yet), or on Linux an
   * abstract name: `UnixListener.bind({ abstract: 'my-app' })`.
   */
  static override bind(addr: UnixAddressInput): UnixListener {
    requireUnix('UnixListener')
    return new UnixListener(unixHandle(addr, binding.unixListenerBind, binding.unixListenerBindAbstract), kConstruct)
  }

  /** Adopts a listening Unix socket descriptor (checked, made non-blocking, owned). */
  static fromFd(fd: number): UnixListener {
    return new UnixListener(binding.sourceFromFd('UnixListener', checkFd(fd)), kConstruct)
  }

  /** Accepts a pending connection: `[stream, peer address]`, or `null` when none is pending. */
  accept(): [UnixStream, UnixAddress] | null {
    const accepted = binding.unixListenerAccept(handleOf(this))
    if (accepted === null) return null
    return adopt(accepted.handle, (handle) => [new UnixStream(handle, kConstruct), unixAddress(accepted.address)])
  }

  /** The bound address. */
  localAddr(): UnixAddress {
    return unixAddress(binding.unixLocalAddr(handleOf(this)))
  }
}
