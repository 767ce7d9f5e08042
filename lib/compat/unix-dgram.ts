/**
 * `node-mio/unix-dgram`: the API of the `unix-dgram` npm package (2.x) over
 * node-mio's `UnixDatagram`, one `Poll` per thread and its watch mode.
 * Replace `require('unix-dgram')` with `require('node-mio/unix-dgram')`.
 *
 * @example
 * ```ts
 * const { createSocket } = require('node-mio/unix-dgram')
 * const server = createSocket('unix_dgram', (buf, rinfo) => console.log(`${buf}`, rinfo.path))
 * server.bind('/tmp/app.sock')
 * const client = createSocket('unix_dgram')
 * client.send(Buffer.from('ping'), 0, 4, '/tmp/app.sock')
 * ```
 * @packageDocumentation
 */
import dgram from 'node:dgram'
import { EventEmitter } from 'node:events'
import binding, { fast } from '../binding'
import { invalidArgType, outOfRange } from '../errors'
import { Events } from '../events'
import { arrayOf, defineValue } from '../intrinsics'
import { isUint8Array } from '../validate'
import { Poll } from '../poll'
import { handleOf } from '../source'
import { registryHandle } from '../registry'
import { UnixDatagram } from '../net/unix-datagram'
import type { Watch } from '../watch'

/** A received datagram's sender, as `unix-dgram` describes it. */
export interface UnixDgramRemoteInfo {
  /** Bytes received. */
  size: number
  /** Always `{}` (the original's field). */
  address: Record<string, never>
  /**
   * The sender's path; `null` for an unnamed sender. A Linux abstract name
   * is its bytes after a leading `'\0'`.
   */
  path: string | null
  /** Descriptors that came with the datagram (`SCM_RIGHTS`), now the receiver's to close; absent when none came. */
  fds?: number[]
}

/**
 * An error as `unix-dgram` reports it: `code` and `errno` are the negative
 * errno (`-111` for `ECONNREFUSED`); the congestion error of a connected
 * `send` has `code` `1` and message `'congestion'`.
 */
export interface UnixDgramError extends Error {
  /** The negative errno, or `1` for congestion. */
  code: number
  /** The negative errno (absent on the congestion error). */
  errno?: number
  /** `'bind'`, `'connect'`, `'send'`, `'recv'` or `'close'`. */
  syscall?: string
}

/** A `send` callback: no argument on success, else the error (congestion is `code === 1`). */
export type SendCallback = (err?: UnixDgramError) => void

/** A `'message'` listener. */
export type MessageListener = (msg: Buffer, rinfo: UnixDgramRemoteInfo) => void

/** The largest datagram received whole (as the original's 64 KiB); longer ones are truncated. */
const MAX_DATAGRAM = 65536
/** The most descriptors one datagram carries (Linux's `SCM_MAX_FD`). */
const MAX_FDS = 253
/** Datagrams one socket receives per turn of the event loop before letting others run. */
const PER_TURN = 1024

const INTEREST_READABLE = binding.INTEREST_READABLE
const INTEREST_BOTH = binding.INTEREST_READABLE | binding.INTEREST_WRITABLE
const EVENT_READABLE = binding.EVENT_READABLE | binding.EVENT_READ_CLOSED | binding.EVENT_ERROR
const EVENT_WRITABLE = binding.EVENT_WRITABLE | binding.EVENT_WRITE_CLOSED | binding.EVENT_ERROR

const EAGAIN = 'EAGAIN'
const ENOBUFS = 'ENOBUFS'
const EBADF_ERRNO = -9

/** This thread's selector, shared by every socket of this module (one watch, no thread). */
interface Shared {
  poll: Poll
  registry: number
  watch: Watch
  sockets: Map<number, UnixDgramSocket>
  /** Sockets keeping the process alive (open and not `unref()`ed). */
  refs: number
}

let shared: Shared | undefined
let nextToken = 1
const scratch = Buffer.allocUnsafe(MAX_DATAGRAM)
/** What a receive writes besides the bytes: descriptors, then the sender's kind and length (`unixDatagramRecvMsg`). */
const received = new Int32Array(MAX_FDS + 3)
const ADDR_KIND = MAX_FDS + 1
const ADDR_LEN = MAX_FDS + 2
/** The sender's address bytes (a `sun_path`). */
const senderAddr = Buffer.alloc(108)
const sendFds = new Int32Array(MAX_FDS)

// Built-ins captured at load: a program that replaces them later runs no
// code between a receive and the copy of what it wrote to the shared
// arrays above, nor while the send array is filled.
const { apply: ReflectApply } = Reflect
const { from: arrayFrom } = Array
const { allocUnsafe } = Buffer
const { copy: bufferCopy, toString: bufferToString } = Buffer.prototype

// The hot-path calls (src-rs/fast_call.rs): present on every Unix, where this module runs.
const recvMsg = fast.unixDatagramRecvMsg!
const sendConnected = fast.unixDatagramSendFast!

function sharedState(): Shared {
  if (shared !== undefined) return shared
  const poll = new Poll()
  const sockets = new Map<number, UnixDgramSocket>()
  const events = new Events(256)
  const watch = poll.watch(events, (batch) => {
    for (let i = 0; i < batch.length; i++) {
      const event = batch.get(i)!
      sockets.get(event.token)?.[kReady](event.bits)
    }
  })
  watch.unref()
  shared = { poll, registry: registryHandle(poll.registry), watch, sockets, refs: 0 }
  return shared
}

function addRef(state: Shared, delta: number): void {
  state.refs += delta
  if (state.refs === 0) state.watch.unref()
  else if (state.refs === delta && delta > 0) state.watch.ref()
}

/** The original's error: `code` and `errno` the negative errno. */
function errnoException(errno: number, syscall: string, name?: string): UnixDgramError {
  const error = new Error(`${syscall} ${errno}${name === undefined ? '' : ` (${name})`}`) as UnixDgramError
  // Defined, not assigned: no setter a program put on Error.prototype runs.
  defineValue(error, 'errno', errno)
  defineValue(error, 'code', errno)
  defineValue(error, 'syscall', syscall)
  return error
}

/** A node-mio system error as the original reports it. */
function restate(error: unknown, syscall: string): UnixDgramError {
  const { errno, code } = error as { errno?: unknown; code?: unknown }
  if (typeof errno !== 'number') throw error
  return errnoException(errno, syscall, typeof code === 'string' ? code : undefined)
}

function congestionError(): UnixDgramError {
  const error = new Error('congestion') as UnixDgramError
  defineValue(error, 'code', 1)
  return error
}

function checkBuffer(buf: unknown): Uint8Array {
  if (!isUint8Array(buf)) throw invalidArgType('buf', 'a Buffer or Uint8Array', buf)
  return buf
}

function checkPath(path: unknown): string {
  if (typeof path !== 'string') throw invalidArgType('path', 'a string', path)
  return path
}

/**
 * Copies `fds` into the send array; returns the count. The elements are read
 * (getters, proxy traps) into a plain array first: nothing of the caller's
 * runs once the send array is being filled.
 */
function fdsToSend(fds: unknown): number {
  if (fds === undefined || fds === null) return 0
  if (!Array.isArray(fds)) throw invalidArgType('fds', 'an array of file descriptors', fds)
  const list = ReflectApply(arrayFrom, Array, [fds]) as unknown[]
  const count = list.length
  if (count > MAX_FDS) throw outOfRange('fds.length', `at most ${MAX_FDS}`, count)
  for (let i = 0; i < count; i++) {
    const fd = list[i]
    if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > 0x7fff_ffff) {
      throw invalidArgType(`fds[${i}]`, 'a file descriptor (an integer from 0 to 2^31 - 1)', fd)
    }
  }
  for (let i = 0; i < count; i++) sendFds[i] = list[i] as number
  return count
}

const kReady = Symbol('ready')

/**
 * A Unix datagram socket with the `unix-dgram` package's API: an
 * `EventEmitter` whose events and callbacks run synchronously, as the
 * original's do (`'listening'` during `bind`, `'connect'` during `connect`,
 * a `send` callback before `send` returns).
 *
 * Events: `'message'` `(buf, rinfo)`, `'listening'`, `'connect'`,
 * `'congestion'` `(buf)` when a connected `send` without a callback would
 * block, `'writable'` when the peer can take more after a congestion, and
 * `'error'`.
 */
export class UnixDgramSocket extends EventEmitter {
  /** The socket's descriptor; `-1` after `close()`. */
  fd: number
  /** Always `'unix_dgram'`. */
  readonly type: 'unix_dgram'
  /** `true` once `connect()` succeeded. */
  connected?: boolean
  #socket: UnixDatagram | undefined
  /** The socket's native handle; `0` after `close()`. */
  #handle = 0
  readonly #token: number
  #refed = true
  #congested = false
  #draining: NodeJS.Immediate | undefined

  /** Use {@link createSocket}. */
  constructor(type: string, listener?: MessageListener) {
    super()
    if (type !== 'unix_dgram') throw new Error(`Unsupported socket type: ${String(type)}`)
    const state = sharedState()
    const socket = UnixDatagram.unbound()
    this.#token = nextToken++
    this.#handle = handleOf(socket)
    binding.registryRegister(state.registry, this.#handle, this.#token, INTEREST_READABLE)
    this.#socket = socket
    this.fd = socket.fd
    this.type = type
    state.sockets.set(this.#token, this)
    addRef(state, 1)
    if (typeof listener === 'function') this.on('message', listener)
  }

  /**
   * Binds to `path` (a leading `'\0'` names a Linux abstract socket). Emits
   * `'listening'`, or `'error'` with the failure, before it returns.
   */
  bind(path: string): void {
    checkPath(path)
    const socket = this.#socket
    if (socket === undefined) {
      this.emit('error', errnoException(EBADF_ERRNO, 'bind', 'EBADF'))
      return
    }
    try {
      binding.unixDatagramBindTo(this.#handle, path)
    } catch (error) {
      this.emit('error', restate(error, 'bind'))
      return
    }
    this.emit('listening')
  }

  /**
   * Sets the peer `send(buf)` goes to (a leading `'\0'` names a Linux
   * abstract socket). Emits `'connect'`, or `'error'`, before it returns.
   */
  connect(path: string): void {
    checkPath(path)
    const socket = this.#socket
    if (socket === undefined) {
      this.emit('error', errnoException(EBADF_ERRNO, 'connect', 'EBADF'))
      return
    }
    try {
      binding.unixDatagramConnectTo(this.#handle, path)
    } catch (error) {
      this.emit('error', restate(error, 'connect'))
      return
    }
    this.connected = true
    this.emit('connect')
  }

  /**
   * Sends one datagram. Connected: `send(buf, [fds], [callback])`.
   * Otherwise: `send(buf, offset, length, path, [fds], [callback])`. `fds`
   * are descriptors to pass along (`SCM_RIGHTS`; they stay yours).
   *
   * The callback runs before `send` returns: with no argument when the
   * datagram went out, the congestion error (`code === 1`) when a connected
   * peer's queue is full (wait for `'writable'` and send again), or the
   * error. Without a callback, congestion emits `'congestion'` with `buf`
   * and an error emits `'error'`.
   */
  send(buf: Uint8Array, callback?: SendCallback): void
  send(buf: Uint8Array, fds: number[], callback?: SendCallback): void
  send(buf: Uint8Array, offset: number, length: number, path: string, callback?: SendCallback): void
  send(buf: Uint8Array, offset: number, length: number, path: string, fds: number[], callback?: SendCallback): void
  send(buf: Uint8Array, offset?: unknown, length?: unknown, path?: unknown, fds?: unknown, callback?: unknown): void {
    // The common case first, a connected send(buf, callback?): one call in.
    const socket = this.#socket
    if (this.connected === true && socket !== undefined && (typeof offset === 'function' || offset === undefined) && isUint8Array(buf)) {
      let sent: number | null | undefined
      try {
        sent = sendConnected(this.#handle, buf)
      } catch {
        // An error: the general way below sends again and reports it.
      }
      if (sent !== undefined) {
        const cb = offset as SendCallback | undefined
        if (sent === null) {
          this.#congestion()
          if (cb !== undefined) cb(congestionError())
          else this.emit('congestion', buf)
        } else if (cb !== undefined) cb()
        return
      }
    }
    checkBuffer(buf)
    let result: number
    let cb: unknown
    if (this.connected === true) {
      let list: unknown
      if (typeof offset === 'function') cb = offset
      else if (Array.isArray(offset)) {
        list = offset
        cb = length
      }
      result = this.#send(buf, fdsToSend(list), undefined)
    } else {
      if (typeof fds === 'function') {
        cb = fds
        fds = undefined
      } else cb = callback
      checkPath(path)
      const start = offset ?? 0
      const size = length ?? buf.byteLength - (start as number)
      if (typeof start !== 'number' || !Number.isInteger(start) || start < 0 || start > buf.byteLength) {
        throw outOfRange('offset', `an integer from 0 to ${buf.byteLength}`, start)
      }
      if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || start + size > buf.byteLength) {
        throw outOfRange('length', `an integer from 0 to ${buf.byteLength - start}`, size)
      }
      const part = start === 0 && size === buf.byteLength ? buf : buf.subarray(start, start + size)
      result = this.#send(part, fdsToSend(Array.isArray(fds) ? fds : undefined), path as string)
    }
    if (typeof cb === 'function') {
      if (result === 0) cb()
      else cb(result === 1 ? congestionError() : this.#lastError)
    } else if (result === 1) {
      this.emit('congestion', buf)
    } else if (result === -1) {
      this.emit('error', this.#lastError)
    }
  }

  #lastError: UnixDgramError | undefined

  /** Sends: `0` sent, `1` congestion (connected, armed for `'writable'`), `-1` error (in `#lastError`). */
  #send(buf: Uint8Array, count: number, path: string | undefined): number {
    const socket = this.#socket
    if (socket === undefined) {
      this.#lastError = errnoException(EBADF_ERRNO, 'send', 'EBADF')
      return -1
    }
    const handle = this.#handle
    let sent: number | null
    try {
      if (path === undefined) {
        sent = count === 0 ? sendConnected(handle, buf) : binding.unixSendFds(handle, buf, sendFds, count)
      } else {
        sent = count === 0 ? binding.unixDatagramSendTo(handle, buf, path) : binding.unixDatagramSendToFds(handle, buf, sendFds, count, path)
      }
    } catch (error) {
      const code = (error as { code?: unknown }).code
      if (path === undefined && code === ENOBUFS) return this.#congestion()
      this.#lastError = restate(error, 'send')
      return -1
    }
    if (sent !== null) return 0
    // Would block: the peer's queue is full.
    if (path === undefined) return this.#congestion()
    this.#lastError = errnoException(-11, 'send', EAGAIN)
    return -1
  }

  /** Watches for writability until the peer takes more, then `'writable'`. */
  #congestion(): number {
    if (!this.#congested && this.#socket !== undefined && shared !== undefined) {
      this.#congested = true
      binding.registryReregister(shared.registry, this.#handle, this.#token, INTEREST_BOTH)
    }
    return 1
  }

  /** `send`, under its old name. */
  sendto(buf: Uint8Array, offset: number, length: number, path: string, fds?: number[] | SendCallback, callback?: SendCallback): void {
    // The overloads of send, forwarded as they came.
    ;(this.send as (...args: unknown[]) => void)(buf, offset, length, path, fds, callback)
  }

  /**
   * Closes the socket: no more events. The path of a bound socket stays in
   * the filesystem (unlink it yourself). Closing twice throws `EBADF`, as
   * the original's.
   */
  close(): void {
    const socket = this.#socket
    if (socket === undefined) throw errnoException(EBADF_ERRNO, 'close', 'EBADF')
    this.#socket = undefined
    this.#handle = 0
    this.fd = -1
    if (this.#draining !== undefined) clearImmediate(this.#draining)
    this.#draining = undefined
    const state = shared
    if (state !== undefined) {
      state.sockets.delete(this.#token)
      if (this.#refed) addRef(state, -1)
    }
    socket.close()
  }

  /** Lets the process exit while this socket is open (as `timer.unref()`). */
  unref(): this {
    if (this.#refed && this.#socket !== undefined && shared !== undefined) addRef(shared, -1)
    this.#refed = false
    return this
  }

  /** Keeps the process alive while this socket is open (the default). */
  ref(): this {
    if (!this.#refed && this.#socket !== undefined && shared !== undefined) addRef(shared, 1)
    this.#refed = true
    return this
  }

  /** The socket's own address: `{ path }`, `{ abstract }` or `{ unnamed: true }`. */
  address(): ReturnType<UnixDatagram['localAddr']> {
    const socket = this.#socket
    if (socket === undefined) throw errnoException(EBADF_ERRNO, 'getsockname', 'EBADF')
    return socket.localAddr()
  }

  /** Readiness from the shared watch. @internal */
  [kReady](bits: number): void {
    if ((bits & EVENT_WRITABLE) !== 0 && this.#congested && this.#socket !== undefined) {
      this.#congested = false
      binding.registryReregister(shared!.registry, this.#handle, this.#token, INTEREST_READABLE)
      this.emit('writable')
    }
    if ((bits & EVENT_READABLE) !== 0 && this.#draining === undefined) this.#drain()
  }

  /** Receives until the socket would block (or `PER_TURN` datagrams, then goes on next turn). */
  #drain = (): void => {
    this.#draining = undefined
    for (let n = 0; n < PER_TURN; n++) {
      const socket = this.#socket
      if (socket === undefined) return
      let size
      try {
        size = recvMsg(this.#handle, scratch, received, senderAddr)
      } catch (error) {
        this.emit('error', restate(error, 'recv'))
        return
      }
      if (size === null) return
      // Everything the receive wrote to the shared arrays is read before
      // any code of the program can run ('message' listeners).
      const count = received[0]!
      const kind = received[ADDR_KIND]!
      const path = kind === 0 ? null : (kind === 2 ? '\0' : '') + (ReflectApply(bufferToString, senderAddr, ['utf8', 0, received[ADDR_LEN]!]) as string)
      const fds = count > 0 ? arrayOf(received, 1, 1 + count) : undefined
      const msg = allocUnsafe(size)
      ReflectApply(bufferCopy, scratch, [msg, 0, 0, size])
      // Literals: no setter a program put on Object.prototype runs.
      const rinfo: UnixDgramRemoteInfo = fds === undefined ? { size, address: {}, path } : { size, address: {}, path, fds }
      this.emit('message', msg, rinfo)
    }
    this.#draining = setImmediate(this.#drain)
  }
}

/**
 * Creates a socket: `'unix_dgram'` for a Unix datagram socket (`'udp4'` and
 * `'udp6'` return `node:dgram` sockets, as the original does). `listener`
 * becomes a `'message'` listener. The socket keeps the process alive until
 * `close()` (or `unref()`).
 *
 * @example
 * ```ts
 * const client = createSocket('unix_dgram')
 * client.on('connect', () => client.send(Buffer.from('hello')))
 * client.connect('/tmp/app.sock')
 * ```
 */
export function createSocket(type: 'unix_dgram', listener?: MessageListener): UnixDgramSocket
export function createSocket(type: 'udp4' | 'udp6', listener?: (msg: Buffer, rinfo: dgram.RemoteInfo) => void): dgram.Socket
export function createSocket(type: string, listener?: (...args: never[]) => void): UnixDgramSocket | dgram.Socket {
  if (type === 'udp4' || type === 'udp6') return dgram.createSocket(type, listener as (msg: Buffer, rinfo: dgram.RemoteInfo) => void)
  return new UnixDgramSocket(type, listener as MessageListener | undefined)
}

export { UnixDgramSocket as Socket }
