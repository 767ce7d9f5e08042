/**
 * Which platform features exist, and the error for those that do not.
 * @internal
 * @packageDocumentation
 */

/** Unix: Linux, macOS, FreeBSD (everything mio supports but Windows). */
export const IS_UNIX = process.platform !== 'win32'

/** The error for a feature this platform lacks (Node's `ERR_FEATURE_UNAVAILABLE_ON_PLATFORM`). */
export function unavailable(what: string, where: string): Error {
  return Object.assign(new Error(`${what} is available on ${where}, not on ${process.platform}`), {
    code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM',
  })
}

/** Throws unless this is a Unix platform. */
export function requireUnix(what: string): void {
  if (!IS_UNIX) throw unavailable(what, 'Unix platforms (Linux, macOS, FreeBSD)')
}
