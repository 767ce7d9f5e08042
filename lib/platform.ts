/**
 * Which platform features exist.
 * @internal
 * @packageDocumentation
 */

import { unavailable } from './errors'

/** Unix: Linux, macOS, FreeBSD (everything mio supports but Windows). */
export const IS_UNIX = process.platform !== 'win32'


/** Throws unless this is a Unix platform. */
export function requireUnix(what: string): void {
  if (!IS_UNIX) throw unavailable(what, 'Unix platforms (Linux, macOS, FreeBSD)')
}

/** Throws unless this is Linux. */
export function requireLinux(what: string): void {
  if (process.platform !== 'linux' && process.platform !== 'android') throw unavailable(what, 'Linux')
}
