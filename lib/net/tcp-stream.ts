import binding from '../binding'
import { invalidArgValue } from '../errors'
import { badReadBuffer, checkBoolean, isUint8Array } from '../validate'
import { read, readv, write, writev } from '../io'
import { checkFd, kConstruct, handleOf } from '../source'
import type { SocketAddress, SocketAddressInput } from './addr'
import { checkMillis, keepaliveArgs, socketHandle, type ConnectOptions, type KeepaliveOptions } from './options'
import { IpSocket } from './socket'

/** Which half of a connection `shutdown()` closes. */
export type Shutdown = 'read' | 'write' | 'both'

/** Checks a `shutdown()` direction. @internal */
export function checkShutdown(how: unknown): Shutdown {
  if (how !== 'read' && how !== 'write' && how !== 'both') throw invalidArgValue('how', "must be 'read', 'write' or 'both'", how)
  return how
}

/**
 * A non-blocking TCP connection, as mio's `TcpStream`.
 *
 * I/O methods never block and never throw for "would block": `read`, `write`,
 * `writev` and `peek` return `null` then, which is the normal end of every
 * drain. `read` returns `0` at the end of the stream. Real failures throw
 * Node-style errors (`code`, `errno`, `syscall`).
 *
 * @example
 * ```ts
 * const stream = TcpStream.connect('127.0.0.1:9000')
 * poll.registry.register(stream, Token(1), Interest.READABLE.add(Interest.WRITABLE))
 * // ... on a writable event:
 * stream.write(Buffer.from('hello'))
 * // ... on a readable event, drain:
 * const buf = Buffer.alloc(4096)
 * for (let n; (n = stream.read(buf)) !== null; ) {
 *   if (n === 0) { stream.close(); break } // end of stream
 *   handle(buf.subarray(0, n))
 * }
 * ```
 */
export class TcpStream extends IpSocket {
  /**
   * Starts a non-blocking connect to `addr` (an IP address; no DNS).
   *
   * The connect completes later: register the stream for
   * `Interest.WRITABLE`, wait for a writable event, then check
   * `takeError()` (an error means the connect failed) and `peerAddr()`
   * (throws `ENOTCONN` while still in progress). A connect is only
   * guaranteed to have started once the stream is registered.
   *
   * @param options socket options set before connecting (`localAddress`,
   *   `nodelay`, `keepalive`, `linger`, buffer sizes, ...).
   */
  static connect(addr: SocketAddressInput, options?: ConnectOptions): TcpStream {
    return new TcpStream(socketHandle(addr, options, 'connect', binding.tcpStreamConnect, binding.tcpStreamConnectWith), kConstruct)
  }

  /**
   * Adopts a connected TCP socket descriptor (from `detachFd()`, another
   * process, or a `node:net` socket's descriptor handed over), as mio's
   * `from_std`: checked, made non-blocking and owned from now on. Unix only.
   */
  static fromFd(fd: number): TcpStream {
    return new TcpStream(binding.sourceFromFd('TcpStream', checkFd(fd)), kConstruct)
  }

  /**
   * Reads into `buf`; returns the byte count, `0` at the end of the stream,
   * or `null` when nothing is ready (drain done). The buffer is filled in
   * place, without a copy. It must not be empty. `offset` and `length`
   * (default: the rest of the buffer) read into part of it, without a
   * `subarray` view.
   */
  read(buf: Uint8Array, offset?: number, length?: number): number | null {
    return read(handleOf(this), buf, offset, length)
  }

  /**
   * Writes from `buf`; returns how many bytes the kernel took (possibly fewer
   * than `buf.length`), or `null` when the send buffer is full (wait for a
   * writable event). The buffer is read in place; `offset` and `length`
   * (default: the rest of the buffer) send part of it, without a `subarray`.
   *
   * @example
   * ```ts
   * // echo what was just read, with no view allocated:
   * const n = stream.read(buf)
   * if (n) stream.write(buf, 0, n)
   * ```
   */
  write(buf: Uint8Array, offset?: number, length?: number): number | null {
    return write(handleOf(this), buf, offset, length)
  }

  /**
   * Writes several buffers with one system call (`writev`); returns the total
   * bytes taken, or `null` when nothing could be written. At most 64 buffers
   * go in one call; the count tells what was written.
   */
  writev(bufs: readonly Uint8Array[]): number | null {
    return writev(handleOf(this), bufs)
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

  /** Like `read`, but leaves the data in the socket. */
  peek(buf: Uint8Array): number | null {
    if (!isUint8Array(buf) || buf.byteLength === 0) badReadBuffer(buf)
    return binding.tcpStreamPeek(handleOf(this), buf)
  }

  /** The remote address; throws `ENOTCONN` while a connect is in progress. */
  peerAddr(): SocketAddress {
    return binding.socketPeerAddr(handleOf(this)) as SocketAddress
  }

  /** Shuts down the read half, the write half, or both. */
  shutdown(how: Shutdown): void {
    binding.socketShutdown(handleOf(this), checkShutdown(how))
  }

  /** Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`). */
  setNodelay(nodelay: boolean): void {
    checkBoolean(nodelay, 'nodelay')
    binding.socketSetNodelay(handleOf(this), nodelay)
  }

  /** Reads `TCP_NODELAY`. */
  nodelay(): boolean {
    return binding.socketNodelay(handleOf(this))
  }

  /**
   * Turns `SO_KEEPALIVE` on or off; an object turns it on with the given
   * timing in milliseconds (1 s to 32767 s, rounded up to whole seconds).
   */
  setKeepalive(keepalive: boolean | KeepaliveOptions): void {
    const [enabled, idle, interval] = keepaliveArgs(keepalive, 'keepalive')
    binding.socketSetKeepalive(handleOf(this), enabled, idle, interval)
  }

  /** Reads keepalive: whether it is on, and its timing where the OS reports it. */
  keepalive(): {
    /** Whether `SO_KEEPALIVE` is on. */
    enabled: boolean
    /** Idle time before the first probe, in milliseconds, where the OS reports it. */
    idle?: number
    /** Time between probes, in milliseconds, where the OS reports it. */
    interval?: number
  } {
    const info = binding.socketKeepalive(handleOf(this))
    // Spread defines the optional fields: no setter on Object.prototype runs.
    return {
      enabled: info.enabled,
      ...(info.idleMs != null ? { idle: info.idleMs } : {}),
      ...(info.intervalMs != null ? { interval: info.intervalMs } : {}),
    }
  }

  /**
   * Sets `SO_LINGER` in milliseconds, rounded up to whole seconds (the OS counts
   * seconds), at most 32767 s; `0`: `close()` resets the connection; `null`: off.
   */
  setLinger(ms: number | null): void {
    binding.socketSetLinger(handleOf(this), ms === null ? null : checkMillis(ms, 'ms'))
  }

  /** Reads `SO_LINGER` in milliseconds, or `null` when off. */
  linger(): number | null {
    return binding.socketLinger(handleOf(this))
  }
}
