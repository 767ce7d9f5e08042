/**
 * Descriptor passing (`SCM_RIGHTS`) for `UnixStream` and `UnixDatagram`.
 * @internal
 * @packageDocumentation
 */
import binding from '../binding'
import { invalidArgType, outOfRange } from '../errors'
import { Source } from '../source'
import { badReadBuffer, checkInteger, checkWriteBuffer, isUint8Array } from '../validate'

/** The most descriptors one message carries (Linux's `SCM_MAX_FD`). */
export const MAX_FDS = 253

const SEND = new Int32Array(MAX_FDS)
const RECV = new Int32Array(MAX_FDS + 1)

/** What a receive with descriptors got: the bytes, and the descriptors (now yours to close). */
export interface FdsReceived {
  /** Bytes received into the buffer (`0` at the end of a stream). */
  size: number
  /** Descriptors received, close-on-exec, owned by the caller (adopt them with `fromFd` or close them). */
  fds: number[]
}

/** Sends `buf` with `fds` on the socket behind `handle`. */
export function sendWithFds(handle: number, buf: Uint8Array, fds: ReadonlyArray<number | Source>): number | null {
  if (!isUint8Array(buf)) checkWriteBuffer(buf)
  if (!Array.isArray(fds)) throw invalidArgType('fds', 'an array of descriptors or sources', fds)
  const count = fds.length
  if (count > MAX_FDS) throw outOfRange('fds.length', `at most ${MAX_FDS}`, count)
  for (let i = 0; i < count; i++) {
    const fd: unknown = fds[i]
    if (fd instanceof Source) SEND[i] = fd.fd
    else {
      if (typeof fd !== 'number') throw invalidArgType(`fds[${i}]`, 'a descriptor number or a node-mio source', fd)
      checkInteger(fd, `fds[${i}]`, 0, 0x7fff_ffff)
      SEND[i] = fd
    }
  }
  return binding.unixSendFds(handle, buf, SEND, count)
}

/** Receives into `buf` with up to `maxFds` descriptors on the socket behind `handle`. */
export function recvWithFds(handle: number, buf: Uint8Array, maxFds: number): FdsReceived | null {
  if (!isUint8Array(buf) || buf.byteLength === 0) badReadBuffer(buf)
  checkInteger(maxFds, 'maxFds', 0, MAX_FDS)
  const size = binding.unixRecvFds(handle, buf, RECV, maxFds)
  if (size === null) return null
  const fds: number[] = []
  for (let i = 0; i < RECV[0]!; i++) fds.push(RECV[1 + i]!)
  return { size, fds }
}
