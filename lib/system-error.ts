/**
 * The errors node-mio throws, as types a `catch` can narrow without a cast.
 * @packageDocumentation
 */

import { types } from 'node:util'

/**
 * An error with a Node.js error code: every error node-mio throws has one.
 * Argument errors are `TypeError`/`RangeError` with `ERR_INVALID_ARG_TYPE`,
 * `ERR_INVALID_ARG_VALUE`, `ERR_INVALID_ADDRESS`, `ERR_OUT_OF_RANGE` or
 * `ERR_SOCKET_BAD_PORT`; use after close is `ERR_SOCKET_CLOSED` (sockets) or
 * `ERR_MIO_CLOSED` (`Poll`, `Registry`, `Waker`, `Watch`); a raw-binding
 * handle of another kind of object or another thread is
 * `ERR_MIO_INVALID_HANDLE`; `fromFd` of a descriptor a live source owns is
 * `ERR_MIO_FD_OWNED`; a feature the platform lacks is
 * `ERR_FEATURE_UNAVAILABLE_ON_PLATFORM`; more descriptors than `recvWithFds`
 * asked for is `ERR_MIO_FDS_TRUNCATED` (every one of them closed, the bytes
 * consumed); a bug in node-mio's native code is `ERR_MIO_PANIC`. Failures
 * of the operating system are {@link SystemError}s.
 */
export interface CodedError extends Error {
  /** `'ECONNREFUSED'`, `'ERR_SOCKET_CLOSED'`, ... */
  code: string
}

/**
 * An error from the operating system, shaped as `node:net` shapes them:
 * `code` (`'ECONNREFUSED'`), `errno` (libuv's negative number), `syscall`,
 * and the address or path involved where there is one.
 *
 * @example
 * ```ts
 * try {
 *   TcpListener.bind('127.0.0.1:80')
 * } catch (error) {
 *   if (isSystemError(error, 'EACCES')) console.log(`no permission: ${error.syscall}`)
 *   else throw error
 * }
 * ```
 */
export interface SystemError extends CodedError {
  /** libuv's error number (negative), as `node:net` reports it. */
  errno: number
  /** The system call or operation that failed: `'connect'`, `'register'`, ... */
  syscall: string
  /** The IP address involved, if any. */
  address?: string
  /** The port involved, if any. */
  port?: number
  /** The filesystem path involved, if any (Unix sockets). */
  path?: string
}

/** Whether `error` is an `Error` with a `code` (equal to `code`, when given). */
export function hasErrorCode(error: unknown, code?: string): error is CodedError {
  return types.isNativeError(error) && typeof (error as CodedError).code === 'string' && (code === undefined || (error as CodedError).code === code)
}

/**
 * Whether `error` is an operating-system error (with `errno` and `syscall`),
 * and has `code`, when given.
 */
export function isSystemError(error: unknown, code?: string): error is SystemError {
  return (
    hasErrorCode(error, code) &&
    typeof (error as SystemError).errno === 'number' &&
    typeof (error as SystemError).syscall === 'string'
  )
}

/**
 * What {@link UdpSocket.sendBatch} throws when the system refuses a
 * datagram (`EMSGSIZE`, `EINVAL`, `EDESTADDRREQ`...): that datagram's error,
 * with how many datagrams the call sent before it and the slot that failed.
 * The datagrams before `index` were sent; none after it were tried.
 */
export interface SendBatchError extends CodedError {
  /** How many datagrams this call sent before the failing one. */
  sent: number
  /** The failing datagram's slot in the batch: the call's `start + sent`. */
  index: number
  /** libuv's error number, when the operating system refused it. */
  errno?: number
  /** `'sendmmsg'`, `'sendmsg'`, ... when the operating system refused it. */
  syscall?: string
}

/**
 * Whether `error` is a {@link SendBatchError} (with `code`, when given).
 *
 * @example
 * ```ts
 * try {
 *   socket.sendBatch(batch)
 * } catch (error) {
 *   if (!isSendBatchError(error)) throw error
 *   console.warn(`slot ${error.index}: ${error.code}; ${error.sent} sent before it`)
 * }
 * ```
 */
export function isSendBatchError(error: unknown, code?: string): error is SendBatchError {
  return hasErrorCode(error, code) && typeof (error as SendBatchError).sent === 'number' && typeof (error as SendBatchError).index === 'number'
}

/** `error` as a {@link SendBatchError}: defined, never assigned (no setter of the user's runs). @internal */
export function sendBatchError(error: unknown, sent: number, index: number): unknown {
  if (!hasErrorCode(error)) return error
  const field = { enumerable: true, writable: true, configurable: true }
  return Object.defineProperties(error, { sent: { ...field, value: sent }, index: { ...field, value: index } })
}
