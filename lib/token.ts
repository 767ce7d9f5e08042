import { invalidArgType, outOfRange } from './errors'

/**
 * Associates an event with the source that produced it, as mio's `Token`.
 *
 * A token is a plain number: any non-negative safe integer (0 to 2^53 - 1).
 * Several sources may share a token. Call `Token(n)` to check a value up front
 * (it returns the number unchanged); every method that takes a token checks it
 * the same way.
 *
 * @example
 * ```ts
 * const SERVER = Token(0)
 * poll.registry.register(listener, SERVER, Interest.READABLE)
 * ```
 */
export type Token = number

/** Checks that `value` is a valid token and returns it. */
export function Token(value: number): Token {
  if (typeof value !== 'number') throw invalidArgType('token', 'of type number', value)
  if (!Number.isSafeInteger(value) || value < 0) {
    throw outOfRange('token', `a non-negative safe integer (0 to ${Number.MAX_SAFE_INTEGER})`, value)
  }
  return value
}

/** The largest token: `Number.MAX_SAFE_INTEGER` (2^53 - 1). */
Token.MAX = Number.MAX_SAFE_INTEGER
