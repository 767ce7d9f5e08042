import binding, { fast } from '../binding'
import { badReadBuffer, checkBoolean, checkInteger, checkWriteBuffer, invalidArgType, invalidArgValue } from '../errors'
import { kHandle, Source } from '../source'
import { addressText, type SocketAddress, type SocketAddressInput } from './addr'

const { streamRead, streamWrite } = fast

/** Which half of a connection `shutdown()` closes. */
export type Shutdown = 'read' | 'write' | 'both'

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
export class TcpStream extends Source {
  /**
   * Starts a non-blocking connect to `addr` (an IP address; no DNS).
   *
   * The connect completes later: register the stream for
   * `Interest.WRITABLE`, wait for a writable event, then check
   * `takeError()` (an error means the connect failed) and `peerAddr()`
   * (throws `ENOTCONN` while still in progress). A connect is only
   * guaranteed to have started once the stream is registered.
   */
  static connect(addr: SocketAddressInput): TcpStream {
    return new TcpStream(binding.tcpStreamConnect(addressText(addr)))
  }

  /**
   * Reads into `buf`; returns the byte count, `0` at the end of the stream,
   * or `null` when nothing is ready (drain done). The buffer is filled in
   * place, without a copy. It must not be empty.
   */
  read(buf: Uint8Array): number | null {
    if (!(buf instanceof Uint8Array) || buf.byteLength === 0) badReadBuffer(buf)
    return streamRead(this[kHandle], buf)
  }

  /**
   * Writes from `buf`; returns how many bytes the kernel took (possibly fewer
   * than `buf.length`), or `null` when the send buffer is full (wait for a
   * writable event). The buffer is read in place.
   */
  write(buf: Uint8Array): number | null {
    if (!(buf instanceof Uint8Array) || buf.byteLength === 0) checkWriteBuffer(buf)
    return streamWrite(this[kHandle], buf)
  }

  /**
   * Writes several buffers with one system call (`writev`); returns the total
   * bytes taken, or `null` when nothing could be written. At most 64 buffers
   * go in one call; the count tells what was written.
   */
  writev(bufs: readonly Uint8Array[]): number | null {
    if (!Array.isArray(bufs)) throw invalidArgType('bufs', 'an array of Uint8Array', bufs)
    for (let i = 0; i < bufs.length; i++) {
      if (!(bufs[i] instanceof Uint8Array) || bufs[i].byteLength === 0) checkWriteBuffer(bufs[i], `bufs[${i}]`)
    }
    return binding.streamWritev(this[kHandle], bufs as Uint8Array[])
  }

  /** Like `read`, but leaves the data in the socket. */
  peek(buf: Uint8Array): number | null {
    if (!(buf instanceof Uint8Array) || buf.byteLength === 0) badReadBuffer(buf)
    return binding.tcpStreamPeek(this[kHandle], buf)
  }

  /** The remote address; throws `ENOTCONN` while a connect is in progress. */
  peerAddr(): SocketAddress {
    return binding.socketPeerAddr(this[kHandle]) as SocketAddress
  }

  /** The local address. */
  localAddr(): SocketAddress {
    return binding.socketLocalAddr(this[kHandle]) as SocketAddress
  }

  /** Shuts down the read half, the write half, or both. */
  shutdown(how: Shutdown): void {
    if (how !== 'read' && how !== 'write' && how !== 'both') throw invalidArgValue('how', "must be 'read', 'write' or 'both'", how)
    binding.tcpStreamShutdown(this[kHandle], how)
  }

  /** Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`). */
  setNodelay(nodelay: boolean): void {
    checkBoolean(nodelay, 'nodelay')
    binding.tcpStreamSetNodelay(this[kHandle], nodelay)
  }

  /** Reads `TCP_NODELAY`. */
  nodelay(): boolean {
    return binding.tcpStreamNodelay(this[kHandle])
  }

  /** Sets the IP time-to-live (`IP_TTL`), 1 to 255. */
  setTtl(ttl: number): void {
    checkInteger(ttl, 'ttl', 1, 255)
    binding.socketSetTtl(this[kHandle], ttl)
  }

  /** Reads the IP time-to-live. */
  ttl(): number {
    return binding.socketTtl(this[kHandle])
  }

  /** Takes the pending socket error (`SO_ERROR`), such as a failed connect's `ECONNREFUSED`; `null` if none. */
  takeError(): NodeJS.ErrnoException | null {
    return binding.socketTakeError(this[kHandle]) as NodeJS.ErrnoException | null
  }
}

/** Wraps a handle the binding created (accept). @internal */
export function adoptStream(handle: number): TcpStream {
  return new TcpStream(handle)
}
