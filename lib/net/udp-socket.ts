import binding, { fast } from '../binding'
import { invalidArgType } from '../errors'
import { badReadBuffer, checkBoolean, checkInteger, checkString, checkWriteBuffer, isUint8Array } from '../validate'
import { checkFd, kConstruct, handleOf } from '../source'
import { addressOfParts, addressText, checkPort, ipv4Number, type RemoteInfo, type SocketAddress, type SocketAddressInput } from './addr'
import { requireLinux } from '../platform'
import { sendBatchError } from '../system-error'
import { socketHandle, type UdpBindOptions } from './options'
import { batchStorage, NATIVE_BATCH, type DatagramBatch } from './datagram-batch'
import { IpSocket } from './socket'
import { ArrayBufferCtor, Float64ArrayCtor } from '../intrinsics'

/** Where `recvFrom(buf, into)` has the sender written: `[family, port, w0..w3, scope]`. */
const PARTS_BUFFER = new ArrayBufferCtor(7 * 8)
const PARTS = new Float64ArrayCtor(PARTS_BUFFER)

const { udpRecvFrom, udpSendTo, udpSendToV4, udpRecvBatch, udpSendBatch } = fast

/** `ip:port` text as `[address, port]`. */
function splitAddress(text: string): [string, number] {
  const colon = text.lastIndexOf(':')
  const host = text.slice(0, colon)
  return [host.startsWith('[') ? host.slice(1, -1) : host, Number(text.slice(colon + 1))]
}

/**
 * A non-blocking UDP socket, as mio's `UdpSocket`.
 *
 * Sends and receives return `null` when the socket is not ready, never
 * throw it. A datagram longer than the receive buffer is truncated, so use
 * buffers of 64 KiB when sizes are unknown.
 *
 * @example
 * ```ts
 * const socket = UdpSocket.bind('127.0.0.1:0')
 * poll.registry.register(socket, Token(0), Interest.READABLE)
 * const buf = Buffer.alloc(65536)
 * // ... on a readable event, echo until drained:
 * for (let from; (from = socket.recvFrom(buf)) !== null; ) {
 *   socket.sendTo(buf.subarray(0, from.size), from)
 * }
 * ```
 */
export class UdpSocket extends IpSocket {
  /**
   * Binds a UDP socket to `addr`; port `0` picks a free port.
   *
   * @param options socket options set before `bind` (`reuseAddress`,
   *   `reusePort`, `ipv6Only`, `broadcast`, buffer sizes).
   */
  static override bind(addr: SocketAddressInput, options?: UdpBindOptions): UdpSocket {
    return new UdpSocket(socketHandle(addr, options, 'udp', binding.udpBind, binding.udpBindWith), kConstruct)
  }

  /** Adopts a UDP socket descriptor, as mio's `from_std` (checked, made non-blocking, owned). Unix only. */
  static fromFd(fd: number): UdpSocket {
    return new UdpSocket(binding.sourceFromFd('UdpSocket', checkFd(fd)), kConstruct)
  }

  /**
   * Sends one datagram to `target`: the bytes sent, or `null` if not ready.
   * `offset` and `length` (default: the rest of the buffer) send part of
   * `buf`. A `RemoteInfo` (or any `{ address, port }`) as the target costs no
   * string building per datagram.
   *
   * @example
   * ```ts
   * // an echo that allocates nothing per datagram:
   * const from = { address: '', family: 'IPv4', port: 0, size: 0 } as RemoteInfo
   * while (socket.recvFrom(buf, from) !== null) socket.sendTo(buf, from, 0, from.size)
   * ```
   */
  sendTo(buf: Uint8Array, target: SocketAddressInput, offset?: number, length?: number): number | null {
    if (!isUint8Array(buf) || buf.byteLength === 0) checkWriteBuffer(buf)
    if (offset !== undefined) checkInteger(offset, 'offset', 0, buf.byteLength)
    if (length !== undefined) checkInteger(length, 'length', 0, buf.byteLength - (offset ?? 0))
    const start = offset ?? 0
    const size = length ?? buf.byteLength - start
    if (typeof target === 'object' && target !== null) {
      const address = target.address
      const port = target.port
      if (typeof address === 'string' && typeof port === 'number') {
        checkPort(port, 'target.port')
        const ip = ipv4Number(address)
        if (ip !== undefined) return udpSendToV4(handleOf(this), buf, ip, port, start, size)
        return udpSendTo(handleOf(this), buf, address, port, start, size)
      }
    }
    const text = addressText(target, 'target')
    if (offset === undefined && length === undefined) return binding.udpSendTo(handleOf(this), buf, text)
    const [address, port] = splitAddress(text)
    return udpSendTo(handleOf(this), buf, address, port, start, size)
  }

  /**
   * Receives one datagram into `buf`: its sender and size, or `null` if none
   * is waiting. With `into`, the sender and size are written into that
   * object (and it is returned) instead of a new one, so a loop over a
   * known peer allocates nothing.
   */
  recvFrom(buf: Uint8Array, into?: RemoteInfo): RemoteInfo | null {
    if (!isUint8Array(buf) || buf.byteLength === 0) badReadBuffer(buf)
    if (into === undefined) return binding.udpRecvFrom(handleOf(this), buf) as RemoteInfo | null
    if (typeof into !== 'object' || into === null) throw invalidArgType('into', 'an object', into)
    const size = udpRecvFrom(handleOf(this), buf, PARTS_BUFFER)
    if (size === null) return null
    // Everything is read out of PARTS before the first write to `into`,
    // whose setters may call in again.
    const family = PARTS[0] === 4 ? 'IPv4' : 'IPv6'
    const port = PARTS[1]!
    const address = addressOfParts(PARTS)
    into.address = address
    into.family = family
    into.port = port
    into.size = size
    return into
  }

  /**
   * Receives up to `batch.capacity` datagrams into `batch` with as few
   * system calls as the platform allows (`recvmmsg`, 64 datagrams per call,
   * on Linux and FreeBSD; one `recvmsg`/`recvfrom` per datagram elsewhere):
   * how many arrived (also in `batch.length`), or `null` when none was
   * waiting. Allocates nothing. Each datagram's size, sender, truncation and
   * GRO segment size are in the batch's records.
   *
   * An error after the first datagram ends the batch early and is reported
   * by the next call where the system keeps it (Linux does for
   * `recvmmsg`).
   *
   * @example
   * ```ts
   * const batch = new DatagramBatch(64)
   * for (let n; (n = socket.recvBatch(batch)) !== null; ) {
   *   for (let i = 0; i < n; i++) handle(batch.buffer, batch.offset(i), batch.size(i), batch.address(i), batch.port(i))
   * }
   * ```
   */
  recvBatch(batch: DatagramBatch): number | null {
    const storage = batchStorage(batch)
    const { buffer, recordsBuffer, capacity } = storage
    const handle = handleOf(this)
    // Ask for about what the last receive found (see `BatchStorage.hint`),
    // and for twice as many again while every one asked for arrives.
    let ask = storage.hint
    let got = 0
    while (got < capacity) {
      const want = capacity - got < ask ? capacity - got : ask
      let n: number | null
      try {
        n = udpRecvBatch(handle, buffer, recordsBuffer, got, want)
      } catch (error) {
        if (got === 0) throw error
        break
      }
      if (n === null) break
      got += n
      if (n < want) break
      if (ask < NATIVE_BATCH) ask *= 2
    }
    storage.hint = got < 1 ? 2 : got * 2 < NATIVE_BATCH ? got * 2 : NATIVE_BATCH
    batch.length = got
    return got === 0 ? null : got
  }

  /**
   * Sends datagrams `start` to `start + count - 1` of `batch` (default: all
   * `batch.length` of them), each to its target, with as few system calls
   * as the platform allows (`sendmmsg` on Linux and FreeBSD): how many were
   * sent, or `null` when the socket could take none. Allocates nothing.
   *
   * - **Fewer than `count`** means the socket is full, and only that: send
   *   the rest (from `start + sent`) on the next writable event.
   * - **A datagram the system refuses** (`EMSGSIZE`, `EINVAL`,
   *   `EDESTADDRREQ`, `ENETUNREACH`...) throws its error, a
   *   {@link SendBatchError} whose `sent` says how many datagrams this call
   *   sent before it and `index` which slot failed (`start + sent`): skip
   *   or fix that slot and call again from there. No edge is awaited for a
   *   failure, so nothing waits forever. (`sendmmsg` itself reports such a
   *   failure as a short count; `sendBatch` asks again from the failing
   *   datagram to tell it from a full socket.)
   * - **A slot with no target** (never set, or `setTarget(i, null)`) goes to
   *   the connected peer (`connect`); on a socket that is not connected
   *   that slot fails with `EDESTADDRREQ`, as above.
   *
   * @example
   * ```ts
   * // send what is queued in `batch` from `next`; true when all went out
   * function flush(): boolean {
   *   while (next < batch.length) {
   *     try {
   *       const n = socket.sendBatch(batch, next)
   *       if (n === null) return false // full: wait for WRITABLE
   *       next += n
   *     } catch (error) {
   *       if (!isSendBatchError(error)) throw error
   *       console.warn(`datagram ${error.index} dropped: ${error.code}`)
   *       next = error.index + 1 // the ones before it were sent
   *     }
   *   }
   *   return true
   * }
   * ```
   */
  sendBatch(batch: DatagramBatch, start = 0, count?: number): number | null {
    const { buffer, recordsBuffer, capacity } = batchStorage(batch)
    checkInteger(start, 'start', 0, capacity)
    const total = count ?? batch.length - start
    checkInteger(total, 'count', 0, capacity - start)
    const handle = handleOf(this)
    let sent = 0
    while (sent < total) {
      const want = total - sent < NATIVE_BATCH ? total - sent : NATIVE_BATCH
      let n: number | null
      try {
        n = udpSendBatch(handle, buffer, recordsBuffer, start + sent, want)
      } catch (error) {
        throw sendBatchError(error, sent, start + sent)
      }
      // null: the socket is full. A short count is a full socket or a
      // datagram the system refused; the next call tells which (null, or
      // that datagram's error).
      if (n === null || n === 0) break
      sent += n
    }
    return sent === 0 && total > 0 ? null : sent
  }

  /**
   * Sets `UDP_GRO` (Linux only, else `ERR_FEATURE_UNAVAILABLE_ON_PLATFORM`):
   * the kernel may coalesce datagrams of one flow into one receive, reported
   * with their segment size (`DatagramBatch.segmentSize`). Use 64 KiB slots.
   */
  setGro(on: boolean): void {
    checkBoolean(on, 'on')
    if (!this.closed) requireLinux('UDP_GRO') // closed: ERR_SOCKET_CLOSED from the binding
    binding.udpSetGro(handleOf(this), on)
  }

  /** Reads `UDP_GRO` (Linux only). */
  gro(): boolean {
    if (!this.closed) requireLinux('UDP_GRO') // closed: ERR_SOCKET_CLOSED from the binding
    return binding.udpGro(handleOf(this))
  }

  /**
   * Sets `UDP_SEGMENT` (Linux only, else `ERR_FEATURE_UNAVAILABLE_ON_PLATFORM`):
   * every send of more than `size` bytes leaves as datagrams of `size`
   * bytes (UDP GSO), split by the kernel or the NIC. 0 turns it off.
   */
  setSegmentSize(size: number): void {
    checkInteger(size, 'size', 0, 65535)
    if (!this.closed) requireLinux('UDP_SEGMENT') // closed: ERR_SOCKET_CLOSED from the binding
    binding.udpSetSegmentSize(handleOf(this), size)
  }

  /** Reads `UDP_SEGMENT` (Linux only). */
  segmentSize(): number {
    if (!this.closed) requireLinux('UDP_SEGMENT') // closed: ERR_SOCKET_CLOSED from the binding
    return binding.udpSegmentSize(handleOf(this))
  }

  /** Like `recvFrom`, but leaves the datagram queued. */
  peekFrom(buf: Uint8Array): RemoteInfo | null {
    if (!isUint8Array(buf) || buf.byteLength === 0) badReadBuffer(buf)
    return binding.udpPeekFrom(handleOf(this), buf) as RemoteInfo | null
  }

  /** Sets the peer for `send`/`recv`/`peek`; datagrams from elsewhere are then dropped. */
  connect(addr: SocketAddressInput): void {
    binding.udpConnect(handleOf(this), addressText(addr))
  }

  /** Sends to the connected peer; returns the bytes sent or `null` if not ready. */
  send(buf: Uint8Array): number | null {
    if (!isUint8Array(buf) || buf.byteLength === 0) checkWriteBuffer(buf)
    return binding.udpSend(handleOf(this), buf)
  }

  /** Receives from the connected peer; returns the size or `null` if nothing is waiting. */
  recv(buf: Uint8Array): number | null {
    if (!isUint8Array(buf) || buf.byteLength === 0) badReadBuffer(buf)
    return binding.udpRecv(handleOf(this), buf)
  }

  /** Like `recv`, but leaves the datagram queued. */
  peek(buf: Uint8Array): number | null {
    if (!isUint8Array(buf) || buf.byteLength === 0) badReadBuffer(buf)
    return binding.udpPeek(handleOf(this), buf)
  }

  /** The connected peer's address; throws `ENOTCONN` if not connected. */
  peerAddr(): SocketAddress {
    return binding.socketPeerAddr(handleOf(this)) as SocketAddress
  }

  /** Sets `SO_BROADCAST`. */
  setBroadcast(on: boolean): void {
    checkBoolean(on, 'on')
    binding.udpSetBroadcast(handleOf(this), on)
  }

  /** Reads `SO_BROADCAST`. */
  broadcast(): boolean {
    return binding.udpBroadcast(handleOf(this))
  }

  /** Sets `IP_MULTICAST_LOOP`. */
  setMulticastLoopV4(on: boolean): void {
    checkBoolean(on, 'on')
    binding.udpSetMulticastLoopV4(handleOf(this), on)
  }

  /** Reads `IP_MULTICAST_LOOP`. */
  multicastLoopV4(): boolean {
    return binding.udpMulticastLoopV4(handleOf(this))
  }

  /** Sets `IP_MULTICAST_TTL`, 0 to 255. */
  setMulticastTtlV4(ttl: number): void {
    checkInteger(ttl, 'ttl', 0, 255)
    binding.udpSetMulticastTtlV4(handleOf(this), ttl)
  }

  /** Reads `IP_MULTICAST_TTL`. */
  multicastTtlV4(): number {
    return binding.udpMulticastTtlV4(handleOf(this))
  }

  /** Sets `IPV6_MULTICAST_LOOP`. */
  setMulticastLoopV6(on: boolean): void {
    checkBoolean(on, 'on')
    binding.udpSetMulticastLoopV6(handleOf(this), on)
  }

  /** Reads `IPV6_MULTICAST_LOOP`. */
  multicastLoopV6(): boolean {
    return binding.udpMulticastLoopV6(handleOf(this))
  }

  /** Joins IPv4 multicast `group` on the interface with address `iface` (`'0.0.0.0'`: any). */
  joinMulticastV4(group: string, iface: string): void {
    checkString(group, 'group')
    checkString(iface, 'iface')
    binding.udpJoinMulticastV4(handleOf(this), group, iface)
  }

  /** Leaves an IPv4 multicast group. */
  leaveMulticastV4(group: string, iface: string): void {
    checkString(group, 'group')
    checkString(iface, 'iface')
    binding.udpLeaveMulticastV4(handleOf(this), group, iface)
  }

  /** Joins IPv6 multicast `group` on interface index `iface` (`0`: any). */
  joinMulticastV6(group: string, iface: number): void {
    checkString(group, 'group')
    checkInteger(iface, 'iface', 0, 0xffff_ffff)
    binding.udpJoinMulticastV6(handleOf(this), group, iface)
  }

  /** Leaves an IPv6 multicast group. */
  leaveMulticastV6(group: string, iface: number): void {
    checkString(group, 'group')
    checkInteger(iface, 'iface', 0, 0xffff_ffff)
    binding.udpLeaveMulticastV6(handleOf(this), group, iface)
  }

  /** Reads `IPV6_V6ONLY` (mio has no setter). */
  onlyV6(): boolean {
    return binding.udpOnlyV6(handleOf(this))
  }
}
