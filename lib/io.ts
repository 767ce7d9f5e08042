/**
 * Reads and writes shared by every stream-like source (TCP and Unix streams,
 * pipe ends, `SourceFd`): argument checks, then the hot-path native calls.
 * @internal
 * @packageDocumentation
 */
import binding, { fast } from './binding'
import { invalidArgType } from './errors'
import { badReadBuffer, checkWriteBuffer, isUint8Array } from './validate'
import { isArray } from './intrinsics'

const { streamRead, streamWrite } = fast

/**
 * Checks an optional `offset`/`length` pair; returns the length (the rest of
 * the buffer by default). The binding checks the range. @internal
 */
function windowLength(buf: Uint8Array, offset: number, length: number | undefined): number {
  if (typeof offset !== 'number') throw invalidArgType('offset', 'of type number', offset)
  if (length === undefined) return buf.byteLength - offset
  if (typeof length !== 'number') throw invalidArgType('length', 'of type number', length)
  return length
}

/**
 * `Read::read`, into `buf` (or `buf[offset..offset + length]`): a count, `0`
 * at the end of the stream, or `null` (would block).
 */
export function read(handle: number, buf: Uint8Array, offset?: number, length?: number): number | null {
  if (!isUint8Array(buf) || buf.byteLength === 0) badReadBuffer(buf)
  if (offset === undefined) return streamRead(handle, buf)
  return streamRead(handle, buf, offset, windowLength(buf, offset, length))
}

/**
 * `Write::write`, from `buf` (or `buf[offset..offset + length]`): the count
 * taken (maybe short), or `null` (would block).
 */
export function write(handle: number, buf: Uint8Array, offset?: number, length?: number): number | null {
  if (!isUint8Array(buf) || buf.byteLength === 0) checkWriteBuffer(buf)
  if (offset === undefined) return streamWrite(handle, buf)
  return streamWrite(handle, buf, offset, windowLength(buf, offset, length))
}

/**
 * The buffers of a `writev`/`readv` call, each read once from `bufs` and
 * checked, in a plain array of the wrapper's own: the binding then reads
 * plain values, whatever getters or Proxy traps `bufs` has. A reused array
 * (no allocation per call), unless a getter re-enters while it is filled.
 */
const scratch: Uint8Array[] = []
let scratchBusy = false

function collect(bufs: readonly Uint8Array[], check: (buf: unknown, name: string) => void): Uint8Array[] {
  if (!isArray(bufs)) throw invalidArgType('bufs', 'an array of Uint8Array', bufs)
  const reentered = scratchBusy
  const list = reentered ? [] : scratch
  scratchBusy = true
  try {
    list.length = 0
    const count = Math.min(bufs.length, MAX_IOVECS)
    for (let i = 0; i < count; i++) {
      const buf: unknown = bufs[i]
      check(buf, `bufs[${i}]`)
      list.push(buf as Uint8Array)
    }
  } finally {
    if (!reentered) scratchBusy = false
  }
  return list
}

/** At most this many buffers go to one call; the rest is a short transfer. */
const MAX_IOVECS = 64

function checkWritable(buf: unknown, name: string): void {
  if (!isUint8Array(buf) || buf.byteLength === 0) checkWriteBuffer(buf, name)
}

function checkReadable(buf: unknown, name: string): void {
  if (!isUint8Array(buf)) throw invalidArgType(name, 'an instance of Uint8Array or Buffer', buf)
}

/** `Write::write_vectored`: at most 64 buffers a call. */
export function writev(handle: number, bufs: readonly Uint8Array[]): number | null {
  const list = collect(bufs, checkWritable)
  try {
    return binding.streamWritev(handle, list)
  } finally {
    if (list === scratch) list.length = 0
  }
}

/** `Read::read_vectored`: at most 64 buffers a call, which must not overlap. */
export function readv(handle: number, bufs: readonly Uint8Array[]): number | null {
  const list = collect(bufs, checkReadable)
  try {
    return binding.streamReadv(handle, list)
  } finally {
    if (list === scratch) list.length = 0
  }
}
