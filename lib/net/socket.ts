import binding from '../binding'
import { checkBoolean, checkInteger } from '../validate'
import { handleOf, Source } from '../source'
import type { SystemError } from '../system-error'
import type { SocketAddress } from './addr'
import { checkSize } from './options'

/** What every socket (IP or Unix) shares: the pending error and buffer sizes. */
export abstract class Socket extends Source {
  /**
   * Takes the pending socket error (`SO_ERROR`), such as a failed connect's
   * `ECONNREFUSED`; `null` if none. Taking clears it: a second call returns
   * `null`. After a non-blocking connect, call it first on the writable
   * event: `peerAddr()` throws `ENOTCONN` both while the connect is in
   * progress and after it failed, so only `takeError()` tells them apart.
   *
   * @example
   * ```ts
   * // on the writable event of a stream from TcpStream.connect():
   * const error = stream.takeError()
   * if (error) console.log(`connect failed: ${error.code}`) // ECONNREFUSED
   * else console.log(`connected to ${stream.peerAddr().port}`)
   * ```
   */
  takeError(): SystemError | null {
    return binding.socketTakeError(handleOf(this)) as SystemError | null
  }

  /** Sets `SO_RCVBUF` in bytes (the OS may round or double it). */
  setRecvBufferSize(size: number): void {
    binding.socketSetRecvBufferSize(handleOf(this), checkSize(size, 'size'))
  }

  /** Reads `SO_RCVBUF`. */
  recvBufferSize(): number {
    return binding.socketRecvBufferSize(handleOf(this))
  }

  /** Sets `SO_SNDBUF` in bytes (the OS may round or double it). */
  setSendBufferSize(size: number): void {
    binding.socketSetSendBufferSize(handleOf(this), checkSize(size, 'size'))
  }

  /** Reads `SO_SNDBUF`. */
  sendBufferSize(): number {
    return binding.socketSendBufferSize(handleOf(this))
  }
}

/** What TCP and UDP sockets share: addresses, TTL and address reuse. */
export abstract class IpSocket extends Socket {
  /** The local address (with the port the OS picked for port `0`). */
  localAddr(): SocketAddress {
    return binding.socketLocalAddr(handleOf(this)) as SocketAddress
  }

  /** Sets the IP time-to-live (`IP_TTL`), 1 to 255. */
  setTtl(ttl: number): void {
    checkInteger(ttl, 'ttl', 1, 255)
    binding.socketSetTtl(handleOf(this), ttl)
  }

  /** Reads the IP time-to-live. */
  ttl(): number {
    return binding.socketTtl(handleOf(this))
  }

  /** Sets `SO_REUSEADDR` (it matters before `bind`: prefer the `reuseAddress` option). */
  setReuseAddress(on: boolean): void {
    checkBoolean(on, 'on')
    binding.socketSetReuseAddress(handleOf(this), on)
  }

  /** Reads `SO_REUSEADDR`. */
  reuseAddress(): boolean {
    return binding.socketReuseAddress(handleOf(this))
  }

  /**
   * Sets `SO_REUSEPORT` (it matters before `bind`: prefer the `reusePort`
   * option). Linux, macOS and FreeBSD; elsewhere
   * `ERR_FEATURE_UNAVAILABLE_ON_PLATFORM`.
   */
  setReusePort(on: boolean): void {
    checkBoolean(on, 'on')
    binding.socketSetReusePort(handleOf(this), on)
  }

  /** Reads `SO_REUSEPORT` (Linux, macOS, FreeBSD). */
  reusePort(): boolean {
    return binding.socketReusePort(handleOf(this))
  }

  /** Reads `IPV6_V6ONLY` (set it with the `ipv6Only` option of `bind`/`connect`). */
  ipv6Only(): boolean {
    return binding.socketIpv6Only(handleOf(this))
  }
}
