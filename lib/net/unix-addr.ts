import { invalidArgType } from '../errors'
import { isUint8Array } from '../validate'

/**
 * A Unix socket address, as node-mio returns it: a filesystem path, a Linux
 * abstract name (the bytes after the leading NUL), or unnamed (a `pair()`
 * end, an `unbound()` socket, a client's end).
 */
export type UnixAddress =
  | {
      /** A filesystem path. */
      path: string
    }
  | {
      /** A Linux abstract name: the bytes after the leading NUL (a `Buffer` at run time). */
      abstract: Uint8Array
    }
  | {
      /** The socket has no name. */
      unnamed: true
    }

/** A received datagram's sender and size. */
export type UnixRemoteInfo = UnixAddress & {
  /** Bytes received. A datagram longer than the buffer is truncated to it. */
  size: number
}

/**
 * A Unix socket address as node-mio accepts it: a path (`'/tmp/app.sock'` or
 * `{ path }`), or on Linux an abstract name (`{ abstract: 'name' }` or bytes).
 */
export type UnixAddressInput =
  | string
  | {
      /** A filesystem path. */
      path: string
    }
  | {
      /** A Linux abstract name, as text (UTF-8) or bytes, without the leading NUL. */
      abstract: string | Uint8Array
    }

/** Splits an input into a path or abstract-name bytes. @internal */
export function unixTarget(addr: unknown, name = 'address'): { path: string } | { abstract: Uint8Array } {
  if (typeof addr === 'string') return { path: addr }
  if (typeof addr === 'object' && addr !== null) {
    const { path, abstract: name_ } = addr as { path?: unknown; abstract?: unknown }
    if (typeof path === 'string') return { path }
    if (typeof name_ === 'string') return { abstract: Buffer.from(name_) }
    if (isUint8Array(name_)) return { abstract: name_ }
  }
  throw invalidArgType(name, "a path string, { path }, or { abstract: string | Uint8Array }", addr)
}

/**
 * The handle of a socket made for a Unix address input: `byPath(path)`, or
 * `byName(bytes)` for a Linux abstract name. @internal
 */
export function unixHandle(addr: unknown, byPath: (path: string) => number, byName: (name: Uint8Array) => number): number {
  const target = unixTarget(addr)
  return 'path' in target ? byPath(target.path) : byName(target.abstract)
}

/** Normalizes the binding's address object (one field not `null`). @internal */
export function unixAddress(raw: { path?: string | null; abstract?: Buffer | null; unnamed?: boolean | null }): UnixAddress {
  if (typeof raw.path === 'string') return { path: raw.path }
  if (raw.abstract != null) return { abstract: raw.abstract }
  return { unnamed: true }
}
