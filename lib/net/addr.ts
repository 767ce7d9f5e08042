import { badPort, invalidArgType } from '../errors'
import { filledArray } from '../intrinsics'

/**
 * An IP socket address as `node:net` returns it (`server.address()`).
 * IPv6 addresses come without brackets (`'::1'`), with `%scope` when they
 * have a scope id.
 */
export interface SocketAddress {
  /** The IP address as text: `'127.0.0.1'`, `'::1'`, `'fe80::1%2'`. */
  address: string
  /** Which IP version `address` is. */
  family: 'IPv4' | 'IPv6'
  /** The port, 0 to 65535. */
  port: number
}

/**
 * An IP socket address as node-mio accepts it: `'127.0.0.1:8080'`,
 * `'[::1]:8080'`, or `{ address: '::1', port: 8080 }`. Host names are not
 * resolved (mio takes addresses, not names): resolve them first with
 * `node:dns`.
 */
export type SocketAddressInput =
  | string
  | {
      /** An IPv4 or IPv6 address (no brackets, no host names). */
      address: string
      /** The port, 0 to 65535 (0: any free port, when binding). */
      port: number
    }

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
  checkPort(port, `${name}.port`)
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`
}

/** Checks a port number as `node:net` does (`ERR_SOCKET_BAD_PORT`). @internal */
export function checkPort(port: unknown, name: string): asserts port is number {
  if (typeof port !== 'number') throw invalidArgType(name, 'of type number', port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw badPort(name, port)
  }
}

/**
 * IP address texts by their numbers, built once per peer so that receiving
 * from a known peer allocates nothing (see `UdpSocket.recvFrom(buf, into)`).
 * @internal
 */
const V4_TEXT = new Map<number, string>()
/** The other way: the 32-bit number of each IPv4 text in `V4_TEXT`. */
const V4_NUMBER = new Map<string, number>()
const V6_SLOTS = 1024
const v6Words = new Float64Array(V6_SLOTS * 5)
const v6Text: Array<string | undefined> = filledArray<string>(V6_SLOTS)

function hex(group: number): string {
  return group.toString(16)
}

function formatV6(w: ArrayLike<number>, scope: number): string {
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return `::ffff:${formatV4(w[3]!)}${scope ? `%${scope}` : ''}`
  const groups: number[] = []
  for (let i = 0; i < 4; i++) groups.push(w[i]! >>> 16, w[i]! & 0xffff)
  // The longest run of two or more zero groups becomes '::' (RFC 5952).
  let best = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      best = i
      bestLength = j - i
    }
    i = j
  }
  const text =
    best < 0
      ? groups.map(hex).join(':')
      : `${groups.slice(0, best).map(hex).join(':')}::${groups.slice(best + bestLength).map(hex).join(':')}`
  return scope ? `${text}%${scope}` : text
}

function formatV4(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`
}

/**
 * The address text of `[family, port, w0, w1, w2, w3, scope]` (starting at
 * `parts[at]`). @internal
 */
export function addressOfParts(parts: Float64Array, at = 0): string {
  if (parts[at] === 4) {
    const ip = parts[at + 2]!
    let text = V4_TEXT.get(ip)
    if (text === undefined) {
      if (V4_TEXT.size >= 4096) {
        V4_TEXT.clear()
        V4_NUMBER.clear()
      }
      text = formatV4(ip)
      V4_TEXT.set(ip, text)
      V4_NUMBER.set(text, ip)
    }
    return text
  }
  const w = at + 2
  const slot = ((parts[w]! ^ parts[w + 1]! ^ parts[w + 2]! ^ parts[w + 3]! ^ parts[w + 4]!) >>> 0) % V6_SLOTS
  const base = slot * 5
  const cached = v6Text[slot]
  if (
    cached !== undefined &&
    v6Words[base] === parts[w] &&
    v6Words[base + 1] === parts[w + 1] &&
    v6Words[base + 2] === parts[w + 2] &&
    v6Words[base + 3] === parts[w + 3] &&
    v6Words[base + 4] === parts[w + 4]
  ) {
    return cached
  }
  const text = formatV6(parts.subarray(w, w + 4), parts[w + 4]!)
  v6Words.set(parts.subarray(w, w + 5), base)
  v6Text[slot] = text
  return text
}

/**
 * The 32-bit number of IPv4 address text `text` if it is one a receive
 * reported lately (see `addressOfParts`), else `undefined`: lets a reply go
 * out without the address text being read and parsed again. @internal
 */
export function ipv4Number(text: string): number | undefined {
  return V4_NUMBER.get(text)
}
