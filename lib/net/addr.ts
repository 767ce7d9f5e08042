import { invalidArgType, outOfRange } from '../errors'

/**
 * An IP socket address as `node:net` returns it (`server.address()`).
 * IPv6 addresses come without brackets (`'::1'`), with `%scope` when they
 * have a scope id.
 */
export interface SocketAddress {
  address: string
  family: 'IPv4' | 'IPv6'
  port: number
}

/**
 * An IP socket address as node-mio accepts it: `'127.0.0.1:8080'`,
 * `'[::1]:8080'`, or `{ address: '::1', port: 8080 }`. Host names are not
 * resolved (mio takes addresses, not names): resolve them first with
 * `node:dns`.
 */
export type SocketAddressInput = string | { address: string; port: number }

/** A received datagram's sender and size, like `node:dgram`'s `RemoteInfo`. */
export interface RemoteInfo extends SocketAddress {
  /** Bytes received. A datagram longer than the buffer is truncated to it. */
  size: number
}

/** Normalizes an address to the `ip:port` text the binding parses. @internal */
export function addressText(addr: unknown, name = 'address'): string {
  if (typeof addr === 'string') return addr
  if (typeof addr !== 'object' || addr === null) {
    throw invalidArgType(name, "a string such as '127.0.0.1:8080' or an object { address, port }", addr)
  }
  const { address, port } = addr as { address?: unknown; port?: unknown }
  if (typeof address !== 'string') throw invalidArgType(`${name}.address`, 'of type string', address)
  if (typeof port !== 'number') throw invalidArgType(`${name}.port`, 'of type number', port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw Object.assign(outOfRange(`${name}.port`, 'an integer >= 0 and <= 65535', port), { code: 'ERR_SOCKET_BAD_PORT' })
  }
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`
}
