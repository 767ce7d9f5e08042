/**
 * The errors the wrapper throws, built as Node.js core builds them for the
 * same mistakes: `TypeError` with `ERR_INVALID_ARG_TYPE` or
 * `ERR_INVALID_ARG_VALUE`, `RangeError` with `ERR_OUT_OF_RANGE` or
 * `ERR_SOCKET_BAD_PORT`, `Error` with `ERR_FEATURE_UNAVAILABLE_ON_PLATFORM`.
 * The checks that throw them are in `validate.ts`; errors from the operating
 * system come from the native core.
 * @internal
 * @packageDocumentation
 */

import { defineValue } from './intrinsics'

type CodedError = Error & { code: string }

function coded<E extends Error>(error: E, code: string): E & CodedError {
  // Defined, not assigned: no setter on Error.prototype runs.
  defineValue(error, 'code', code)
  return error as E & CodedError
}

/** How Node's messages show a received value. */
function describe(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name
    return name ? `an instance of ${name}` : 'an object'
  }
  if (typeof value === 'string') return `type string (${JSON.stringify(value.length > 28 ? value.slice(0, 25) + '...' : value)})`
  return `type ${typeof value} (${String(value)})`
}

/** `ERR_SOCKET_CLOSED`, as the binding throws it for a closed socket. */
export function socketClosed(): Error {
  return coded(new Error('socket is closed'), 'ERR_SOCKET_CLOSED')
}

/** `ERR_INVALID_ARG_TYPE`: `name` is not `expected`. */
export function invalidArgType(name: string, expected: string, actual: unknown): TypeError {
  return coded(new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`), 'ERR_INVALID_ARG_TYPE')
}

/** `ERR_INVALID_ARG_VALUE`: `name` has the right type but `reason`. */
export function invalidArgValue(name: string, reason: string, actual: unknown): TypeError {
  return coded(new TypeError(`The "${name}" argument ${reason}. Received ${describe(actual)}`), 'ERR_INVALID_ARG_VALUE')
}

/** `ERR_OUT_OF_RANGE`: `name` is not within `range`. */
export function outOfRange(name: string, range: string, actual: unknown): RangeError {
  return coded(new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${String(actual)}`), 'ERR_OUT_OF_RANGE')
}

/** `ERR_OUT_OF_RANGE` for an empty read buffer, which would read as end of stream. */
export function emptyReadBuffer(name: string): RangeError {
  return coded(
    new RangeError(`The "${name}" argument must not be empty: a read into 0 bytes cannot be told apart from the end of the stream`),
    'ERR_OUT_OF_RANGE',
  )
}

/**
 * `ERR_SOCKET_BAD_PORT`, a `RangeError` worded as `node:net` words it, and as
 * the native core words a bad port in `'ip:port'` text.
 */
export function badPort(name: string, actual: unknown): RangeError {
  return coded(new RangeError(`${name} should be >= 0 and < 65536. Received ${String(actual)}.`), 'ERR_SOCKET_BAD_PORT')
}

/** `ERR_MIO_CLOSED`: `what` was closed while an operation waited on it. */
export function closedWhilePending(what: string, operation: string): Error {
  return coded(new Error(`The ${what} was closed while ${operation} was pending`), 'ERR_MIO_CLOSED')
}

/** The system error `from` (its `code`, `errno`, `syscall`) with a message that says more. */
export function restated(from: unknown, message: string): unknown {
  if (!(from instanceof Error) || typeof (from as CodedError).code !== 'string') return from
  const { code, errno, syscall } = from as CodedError & { errno?: number; syscall?: string }
  const error = new Error(`${syscall ?? 'poll'} ${code}: ${message}`)
  defineValue(error, 'code', code)
  defineValue(error, 'errno', errno)
  defineValue(error, 'syscall', syscall)
  return error
}

/** `ERR_FEATURE_UNAVAILABLE_ON_PLATFORM`: `what` exists on `where` only. */
export function unavailable(what: string, where: string): Error {
  return coded(new Error(`${what} is available on ${where}, not on ${process.platform}`), 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM')
}
