/**
 * Argument checks shared by the wrapper. They throw what Node.js core throws
 * for the same mistakes: `TypeError` with `ERR_INVALID_ARG_TYPE` or
 * `ERR_INVALID_ARG_VALUE`, `RangeError` with `ERR_OUT_OF_RANGE`.
 * @internal
 * @packageDocumentation
 */

import { types } from 'node:util'

type CodedError = Error & { code: string }

/**
 * A real `Uint8Array` (or `Buffer`), from any realm; objects that only borrow
 * its prototype are not. Pure JavaScript, so it costs nothing on the hot path.
 */
export const isUint8Array: (value: unknown) => value is Uint8Array = types.isUint8Array

function coded<E extends Error>(error: E, code: string): E & CodedError {
  return Object.assign(error, { code })
}

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

/** What the binding throws for a closed socket (`ERR_SOCKET_CLOSED`), made in JavaScript. */
export function socketClosed(): Error {
  return Object.assign(new Error('socket is closed'), { code: 'ERR_SOCKET_CLOSED' })
}

export function invalidArgType(name: string, expected: string, actual: unknown): TypeError {
  return coded(new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`), 'ERR_INVALID_ARG_TYPE')
}

export function invalidArgValue(name: string, reason: string, actual: unknown): TypeError {
  return coded(new TypeError(`The "${name}" argument ${reason}. Received ${describe(actual)}`), 'ERR_INVALID_ARG_VALUE')
}

export function outOfRange(name: string, range: string, actual: unknown): RangeError {
  return coded(new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${String(actual)}`), 'ERR_OUT_OF_RANGE')
}

/** Whether a typed array's memory is gone (transferred or detached). */
function isDetached(view: ArrayBufferView): boolean {
  const buffer = view.buffer as ArrayBuffer & { detached?: boolean }
  if (typeof buffer.detached === 'boolean') return buffer.detached
  try {
    new Uint8Array(buffer, 0, 0)
    return false
  } catch {
    return true
  }
}

/**
 * Throws the right error for a buffer that failed the inline check
 * `isUint8Array(buf) && buf.byteLength > 0` of a read.
 */
export function badReadBuffer(buf: unknown, name = 'buffer'): never {
  if (!isUint8Array(buf)) throw invalidArgType(name, 'an instance of Uint8Array or Buffer', buf)
  if (isDetached(buf)) throw invalidArgValue(name, 'must not be detached', buf)
  throw coded(
    new RangeError(`The "${name}" argument must not be empty: a read into 0 bytes cannot be told apart from the end of the stream`),
    'ERR_OUT_OF_RANGE',
  )
}

/** Throws for a write buffer that is not a `Uint8Array` or is detached. */
export function checkWriteBuffer(buf: unknown, name = 'buffer'): asserts buf is Uint8Array {
  if (!isUint8Array(buf)) throw invalidArgType(name, 'an instance of Uint8Array or Buffer', buf)
  if (buf.byteLength === 0 && isDetached(buf)) throw invalidArgValue(name, 'must not be detached', buf)
}

export function checkBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value)
}

/** An integer in `[min, max]`. */
export function checkInteger(value: unknown, name: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value)
  if (!Number.isInteger(value) || value < min || value > max) throw outOfRange(name, `an integer >= ${min} and <= ${max}`, value)
}

export function checkString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value)
}
