/**
 * Reads and writes shared by every stream-like source (TCP and Unix streams,
 * pipe ends, `SourceFd`): argument checks, then the hot-path native calls.
 * @internal
 * @packageDocumentation
 */
import binding, { fast } from './binding'
import { badReadBuffer, checkWriteBuffer, invalidArgType, isUint8Array } from './errors'

const { streamRead, streamWrite } = fast

/** `Read::read`: a count, `0` at the end of the stream, or `null` (would block). */
export function read(handle: number, buf: Uint8Array): number | null {
  if (!isUint8Array(buf) || buf.byteLength === 0) badReadBuffer(buf)
  return streamRead(handle, buf)
}

/** `Write::write`: the count taken (maybe short), or `null` (would block). */
export function write(handle: number, buf: Uint8Array): number | null {
  if (!isUint8Array(buf) || buf.byteLength === 0) checkWriteBuffer(buf)
  return streamWrite(handle, buf)
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
