/**
 * Reads and writes shared by every stream-like source (TCP and Unix streams,
 * pipe ends, `SourceFd`): argument checks, then the hot-path native calls.
 * @internal
 * @packageDocumentation
 */
import binding, { fast } from './binding'
import { badReadBuffer, checkWriteBuffer, invalidArgType, isUint8Array } from './errors'

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

/** `Write::write_vectored`: at most 64 buffers a call. */
export function writev(handle: number, bufs: readonly Uint8Array[]): number | null {
  if (!Array.isArray(bufs)) throw invalidArgType('bufs', 'an array of Uint8Array', bufs)
  for (let i = 0; i < bufs.length; i++) {
    if (!isUint8Array(bufs[i]) || bufs[i].byteLength === 0) checkWriteBuffer(bufs[i], `bufs[${i}]`)
  }
  return binding.streamWritev(handle, bufs as Uint8Array[])
}

/** `Read::read_vectored`: at most 64 buffers a call, which must not overlap. */
export function readv(handle: number, bufs: readonly Uint8Array[]): number | null {
  if (!Array.isArray(bufs)) throw invalidArgType('bufs', 'an array of Uint8Array', bufs)
  for (let i = 0; i < bufs.length; i++) {
    if (!isUint8Array(bufs[i])) throw invalidArgType(`bufs[${i}]`, 'an instance of Uint8Array or Buffer', bufs[i])
  }
  return binding.streamReadv(handle, bufs as Uint8Array[])
}
