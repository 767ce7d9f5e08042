/**
 * Descriptor passing (`SCM_RIGHTS`) for `UnixStream` and `UnixDatagram`.
 * @internal
 * @packageDocumentation
 */
import binding from '../binding'
import { invalidArgType, outOfRange } from '../errors'
import { arrayOf, isArray } from '../intrinsics'
import { Source } from '../source'
import { badReadBuffer, checkInteger, checkWriteBuffer, isUint8Array } from '../validate'

/** The most descriptors one message carries (Linux's `SCM_MAX_FD`). */
export const MAX_FDS = 253

/**
 * The descriptors of a send, copied out of the caller's array before the
 * binding reads them: a reused array (no allocation per call), unless the
 * caller's getters re-enter a send while it is filled, which then gets an
 * array of its own; so no call ever sees another's descriptors.
 */
const SEND = new Int32Array(MAX_FDS)
let sendBusy = false
/** Where the binding writes a receive's count and descriptors; read back before any user code runs. */
const RECV = new Int32Array(MAX_FDS + 1)

/** What a receive with descriptors got: the bytes, and the descriptors (now yours to close). */
export interface FdsReceived {
  /** Bytes received into the buffer (`0` at the end of a stream, or a datagram of no bytes). */
  size: number
  /** Descriptors received, close-on-exec, owned by the caller (adopt them with `fromFd` or close them). */
  fds: number[]
}

/**
 * Sends `buf` with `fds` on the socket behind `handle`; `stream` refuses an
 * empty `buf` with descriptors (a stream sends no message for 0 bytes).
 */
export function sendWithFds(handle: number, buf: Uint8Array, fds: ReadonlyArray<number | Source>, stream: boolean): number | null {
  if (!isUint8Array(buf)) checkWriteBuffer(buf)
  if (!isArray(fds)) throw invalidArgType('fds', 'an array of descriptors or sources', fds)
  const reentered = sendBusy
  const list = reentered ? new Int32Array(MAX_FDS) : SEND
  sendBusy = true
  let count: number
  try {
    count = fds.length
    if (count > MAX_FDS) throw outOfRange('fds.length', `at most ${MAX_FDS}`, count)
    for (let i = 0; i < count; i++) {
      const fd: unknown = fds[i]
      if (Source.isSource(fd)) list[i] = fd.fd
      else {
        if (typeof fd !== 'number') throw invalidArgType(`fds[${i}]`, 'a descriptor number or a node-mio source', fd)
        checkInteger(fd, `fds[${i}]`, 0, 0x7fff_ffff)
        list[i] = fd
      }
    }
  } finally {
    if (!reentered) sendBusy = false
  }
  if (stream && count > 0 && buf.byteLength === 0) {
    throw outOfRange('buf.byteLength', 'at least 1 on a stream, which carries descriptors on its bytes', 0)
  }
  return binding.unixSendFds(handle, buf, list, count)
}

/**
 * Receives into `buf` with up to `maxFds` descriptors on the socket behind
 * `handle`. A datagram socket (`stream` false) takes an empty `buf`, to
 * receive a datagram of no bytes that carries descriptors.
 */
export function recvWithFds(handle: number, buf: Uint8Array, maxFds: number, stream: boolean): FdsReceived | null {
  if (!isUint8Array(buf) || (stream && buf.byteLength === 0)) badReadBuffer(buf)
  checkInteger(maxFds, 'maxFds', 0, MAX_FDS)
  const size = binding.unixRecvFds(handle, buf, RECV, maxFds)
  if (size === null) return null
  // Defined elements and properties only: no setter a program put on
  // Array.prototype or Object.prototype runs while the descriptors are
  // new, so none can be dropped unowned.
  return { size, fds: arrayOf(RECV, 1, 1 + RECV[0]!) }
}
