/**
 * Argument checks shared by the wrapper: each throws the error `errors.ts`
 * builds for the mistake, as Node.js core does. Pure JavaScript, so the
 * inline checks on the hot path cost no call into the binding.
 * @internal
 * @packageDocumentation
 */

import { types } from 'node:util'
import { emptyReadBuffer, invalidArgType, invalidArgValue, outOfRange } from './errors'

/**
 * A real `Uint8Array` (or `Buffer`), from any realm; objects that only borrow
 * its prototype are not.
 */
export const isUint8Array: (value: unknown) => value is Uint8Array = types.isUint8Array

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
  throw emptyReadBuffer(name)
}

/** Throws for a write buffer that is not a `Uint8Array` or is detached. */
export function checkWriteBuffer(buf: unknown, name = 'buffer'): asserts buf is Uint8Array {
  if (!isUint8Array(buf)) throw invalidArgType(name, 'an instance of Uint8Array or Buffer', buf)
  if (buf.byteLength === 0 && isDetached(buf)) throw invalidArgValue(name, 'must not be detached', buf)
}

/** A boolean. */
export function checkBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value)
}

/** An integer in `[min, max]`. */
export function checkInteger(value: unknown, name: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value)
  if (!Number.isInteger(value) || value < min || value > max) throw outOfRange(name, `an integer >= ${min} and <= ${max}`, value)
}

/** A string. */
export function checkString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value)
}
