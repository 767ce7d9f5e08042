import binding from '../binding'
import { invalidArgType, outOfRange } from '../errors'
import { checkInteger, isUint8Array } from '../validate'
import { addressOfParts, addressText, type RemoteInfo, type SocketAddressInput } from './addr'
import { ArrayBufferCtor, Float64ArrayCtor } from '../intrinsics'

/** Numbers per datagram record (see `src-rs/net/udp_batch.rs`). @internal */
export const STRIDE = 12
const OFFSET = 0
const CAPACITY = 1
const SIZE = 2
const FAMILY = 3
const PORT = 4
const SEGMENT = 10
const FLAGS = 11
const TRUNCATED = 1

/** The most datagrams one native batch call moves; larger batches take several. @internal */
export const NATIVE_BATCH = 64

/** Scratch for `setTarget` with an address text: `[family, port, w0..w3, scope]`. */
const PARTS = new Float64Array(7)

/** A batch's storage, for `UdpSocket` (not reachable from outside the package). @internal */
export interface BatchStorage {
  buffer: Uint8Array
  records: Float64Array
  /** The `ArrayBuffer` of `records` (all of it), as the binding's hot-path calls take it. */
  recordsBuffer: ArrayBuffer
  capacity: number
  /**
   * How many datagrams the next native receive asks for: twice what the last
   * receive found waiting, from 2 to `NATIVE_BATCH`. Each one asked for
   * costs a record read and a message header, whether it arrives or not.
   */
  hint: number
}

/** Whether `value` was made by the `DatagramBatch` constructor (a private-field brand check). */
let isBatch!: (value: object) => boolean
/** The storage of a `DatagramBatch`, from its private field. */
let storageOf!: (batch: DatagramBatch) => BatchStorage

/** The storage of `batch`, or a `TypeError` for anything that is not a `DatagramBatch`. @internal */
export function batchStorage(batch: unknown, name = 'batch'): BatchStorage {
  if (typeof batch !== 'object' || batch === null || !isBatch(batch)) throw invalidArgType(name, 'an instance of DatagramBatch', batch)
  return storageOf(batch as DatagramBatch)
}

/**
 * Reusable, caller-owned storage for {@link UdpSocket.recvBatch} and
 * {@link UdpSocket.sendBatch}: one `Uint8Array` cut into `capacity` slots of
 * `slotSize` bytes, and one record per slot (offset, size, peer address,
 * segment size, truncation). Receiving and sending many datagrams through it
 * takes one system call per 64 datagrams on Linux and FreeBSD
 * (`recvmmsg`/`sendmmsg`; one per datagram elsewhere, with the same results)
 * and allocates nothing.
 *
 * Datagram `i` lives in `buffer` at `offset(i)`, `size(i)` bytes long. After
 * a receive, `length` datagrams hold data and each one's peer is its sender;
 * sending the same batch back answers every sender (an echo), and
 * `setSize`/`setTarget` prepare other replies in place.
 *
 * @example
 * ```ts
 * const batch = new DatagramBatch(64, 2048)
 * // on a readable event, echo everything waiting, 64 datagrams per call:
 * while (socket.recvBatch(batch) !== null) {
 *   socket.sendBatch(batch) // each datagram back to its sender
 * }
 * ```
 */
export class DatagramBatch {
  /** The bytes of every slot: slot `i` starts at `offset(i)`. */
  readonly buffer: Uint8Array
  /** How many slots (datagrams) the batch holds. */
  readonly capacity: number
  /** The bytes of each slot: the longest datagram a receive takes whole. */
  readonly slotSize: number
  /**
   * How many datagrams hold data: set by `recvBatch` (0 when nothing
   * arrived), and what `sendBatch` sends by default. Set it to send
   * datagrams you wrote yourself.
   */
  length = 0
  readonly #records: Float64Array
  // What UdpSocket's calls take (see `batchStorage`): a private field, which
  // a lookup reaches faster than a WeakMap and no program can replace.
  readonly #storage: BatchStorage

  static {
    isBatch = (value) => #storage in value
    storageOf = (batch) => batch.#storage
  }

  /**
   * @param capacity slots, 1 to 65536.
   * @param slotSize bytes per slot, 1 to 65536 (default 2048). Use 65536
   *   when datagram sizes are unknown or with `setGro(true)`.
   */
  constructor(capacity: number, slotSize = 2048) {
    checkInteger(capacity, 'capacity', 1, 65536)
    checkInteger(slotSize, 'slotSize', 1, 65536)
    if (capacity * slotSize > 2 ** 31 - 1) throw outOfRange('capacity * slotSize', 'at most 2 GiB - 1', capacity * slotSize)
    this.capacity = capacity
    this.slotSize = slotSize
    this.buffer = new Uint8Array(capacity * slotSize)
    const recordsBuffer = new ArrayBufferCtor(capacity * STRIDE * 8)
    this.#records = new Float64ArrayCtor(recordsBuffer)
    for (let i = 0; i < capacity; i++) {
      this.#records[i * STRIDE + OFFSET] = i * slotSize
      this.#records[i * STRIDE + CAPACITY] = slotSize
    }
    this.#storage = { buffer: this.buffer, records: this.#records, recordsBuffer, capacity, hint: NATIVE_BATCH }
  }

  #at(i: number): number {
    if (!(Number.isInteger(i) && i >= 0 && i < this.capacity)) checkInteger(i, 'index', 0, this.capacity - 1)
    return i * STRIDE
  }

  /** Where datagram `i` starts in `buffer`. */
  offset(i: number): number {
    return this.#records[this.#at(i) + OFFSET]!
  }

  /** Datagram `i`'s size in bytes (received, or set to send). */
  size(i: number): number {
    return this.#records[this.#at(i) + SIZE]!
  }

  /**
   * Sets datagram `i`'s size for a send, 0 to `slotSize`. Its target is
   * kept: after a receive, write a reply over slot `i`'s bytes, `setSize`
   * it, and `sendBatch` answers that slot's sender.
   */
  setSize(i: number, size: number): void {
    const at = this.#at(i)
    checkInteger(size, 'size', 0, this.slotSize)
    this.#records[at + SIZE] = size
  }

  /** Datagram `i` as a view of `buffer` (a new `Uint8Array` object: use `offset`/`size` on hot paths). */
  data(i: number): Uint8Array {
    const at = this.#at(i)
    return this.buffer.subarray(this.#records[at + OFFSET]!, this.#records[at + OFFSET]! + this.#records[at + SIZE]!)
  }

  /** Whether received datagram `i` was longer than its slot (the rest was dropped). */
  truncated(i: number): boolean {
    return (this.#records[this.#at(i) + FLAGS]! & TRUNCATED) !== 0
  }

  /**
   * The segment size of datagram `i`: after a receive with `setGro(true)`,
   * the size of each of the datagrams the kernel coalesced into it (the last
   * may be shorter; 0: a single datagram); before a send, the size the
   * kernel splits it into (UDP GSO, Linux only; 0: one datagram).
   */
  segmentSize(i: number): number {
    return this.#records[this.#at(i) + SEGMENT]!
  }

  /** Sets the segment size datagram `i` is split into when sent (0 to 65535, 0: not split). Linux only (else the send throws `ERR_FEATURE_UNAVAILABLE_ON_PLATFORM`). */
  setSegmentSize(i: number, size: number): void {
    const at = this.#at(i)
    checkInteger(size, 'size', 0, 65535)
    this.#records[at + SEGMENT] = size
  }

  /** The IP version of datagram `i`'s peer; `undefined` for the connected peer (`setTarget(i, null)`). */
  family(i: number): 'IPv4' | 'IPv6' | undefined {
    const family = this.#records[this.#at(i) + FAMILY]
    return family === 4 ? 'IPv4' : family === 6 ? 'IPv6' : undefined
  }

  /** The address text of datagram `i`'s peer (the sender after a receive), cached per peer: no allocation for known peers. */
  address(i: number): string {
    const at = this.#at(i)
    if (this.#records[at + FAMILY] === 0) return ''
    return addressOfParts(this.#records, at + FAMILY)
  }

  /** The port of datagram `i`'s peer. */
  port(i: number): number {
    return this.#records[this.#at(i) + PORT]!
  }

  /** Datagram `i`'s peer and size as a `RemoteInfo`, written into `into` when given (no allocation). */
  remoteInfo(i: number, into?: RemoteInfo): RemoteInfo {
    const at = this.#at(i)
    const info = into ?? ({} as RemoteInfo)
    info.address = this.address(i)
    info.family = this.#records[at + FAMILY] === 6 ? 'IPv6' : 'IPv4'
    info.port = this.#records[at + PORT]!
    info.size = this.#records[at + SIZE]!
    return info
  }

  /**
   * Sets where datagram `i` goes: an address, or `null` for the connected
   * peer (`connect`). After a receive each datagram's target is already its
   * sender. A slot never given a target (a new batch) also goes to the
   * connected peer; on a socket that is not connected, `sendBatch` throws
   * `EDESTADDRREQ` for it. Port 0 names no peer: `ERR_SOCKET_BAD_PORT`, as
   * `node:dgram` says.
   */
  setTarget(i: number, target: SocketAddressInput | null): void {
    const at = this.#at(i)
    if (target === null) {
      this.#records.fill(0, at + FAMILY, at + SEGMENT)
      return
    }
    const text = addressText(target, 'target')
    binding.udpAddressParts(text, PARTS)
    // Element writes, which run no code, straight after the binding's.
    const records = this.#records
    for (let k = 0; k < PARTS.length; k++) records[at + FAMILY + k] = PARTS[k]!
  }

  /** Copies datagram `from`'s peer to datagram `i` (no allocation). */
  copyTarget(i: number, from: number): void {
    const at = this.#at(i)
    const source = this.#at(from)
    this.#records.copyWithin(at + FAMILY, source + FAMILY, source + SEGMENT)
  }

  /**
   * Writes `data` as datagram `i` (copied into its slot) to `target` (kept
   * when omitted), for `sendBatch`, and makes `length` at least `i + 1`.
   * Throws a `RangeError` if it does not fit the slot.
   */
  write(i: number, data: Uint8Array, target?: SocketAddressInput | null): void {
    const at = this.#at(i)
    if (!isUint8Array(data)) throw invalidArgType('data', 'an instance of Uint8Array or Buffer', data)
    if (data.byteLength > this.slotSize) throw outOfRange('data.byteLength', `at most the slot size ${this.slotSize}`, data.byteLength)
    this.buffer.set(data, this.#records[at + OFFSET]!)
    this.#records[at + SIZE] = data.byteLength
    if (this.length <= i) this.length = i + 1
    if (target !== undefined) this.setTarget(i, target)
  }
}
