import type { SocketOptions } from '../../index.js'
import { invalidArgType, invalidArgValue, outOfRange } from '../errors'
import { checkBoolean, checkInteger } from '../validate'
import { addressText, type SocketAddressInput } from './addr'

/** TCP keepalive timing, in milliseconds (whole seconds on most OSes). */
export interface KeepaliveOptions {
  /** Idle time before the first probe: 1 s to 32767 s, rounded up to whole seconds. */
  idle?: number
  /**
   * Time between probes: 1 s to 32767 s, rounded up to whole seconds. Not on
   * OpenBSD (no `TCP_KEEPINTVL`): `ERR_FEATURE_UNAVAILABLE_ON_PLATFORM`.
   */
  interval?: number
}

/** Options every socket takes. */
export interface BufferOptions {
  /** `SO_RCVBUF` in bytes (the OS may round or double it). */
  recvBufferSize?: number
  /** `SO_SNDBUF` in bytes (the OS may round or double it). */
  sendBufferSize?: number
}

/** Options of an IP socket created by `bind` or `connect`. */
export interface IpSocketOptions extends BufferOptions {
  /** `SO_REUSEADDR` (default: on for listeners on Unix, as mio). */
  reuseAddress?: boolean
  /**
   * `SO_REUSEPORT`: several sockets on one port, the kernel balancing
   * between them (Linux, macOS, FreeBSD). Elsewhere it throws
   * `ERR_FEATURE_UNAVAILABLE_ON_PLATFORM` rather than starting a server that
   * silently shares nothing.
   */
  reusePort?: boolean
  /** `IPV6_V6ONLY` for IPv6 addresses. */
  ipv6Only?: boolean
}

/** Options of `TcpListener.bind`. */
export interface ListenOptions extends IpSocketOptions {
  /** The `listen` backlog (default 128, as mio). */
  backlog?: number
}

/** Options of `TcpStream.connect`. */
export interface ConnectOptions extends IpSocketOptions {
  /** Bind to this local address before connecting. */
  localAddress?: SocketAddressInput
  /** `TCP_NODELAY`. */
  nodelay?: boolean
  /** `SO_KEEPALIVE`, with its timing where given. */
  keepalive?: boolean | KeepaliveOptions
  /**
   * `SO_LINGER` in milliseconds, rounded up to whole seconds, at most 32767 s
   * (`0`: close resets the connection), or `null` for off.
   */
  linger?: number | null
}

/** Options of `UdpSocket.bind`. */
export interface UdpBindOptions extends IpSocketOptions {
  /** `SO_BROADCAST`. */
  broadcast?: boolean
}

const KEYS = {
  listen: ['reuseAddress', 'reusePort', 'ipv6Only', 'recvBufferSize', 'sendBufferSize', 'backlog'],
  connect: ['reuseAddress', 'reusePort', 'ipv6Only', 'recvBufferSize', 'sendBufferSize', 'localAddress', 'nodelay', 'keepalive', 'linger'],
  udp: ['reuseAddress', 'reusePort', 'ipv6Only', 'recvBufferSize', 'sendBufferSize', 'broadcast'],
} as const

/**
 * Checks a keepalive/linger duration in milliseconds (the OS counts whole
 * seconds: it is rounded up; the binding checks the range). @internal
 */
export function checkMillis(value: unknown, name: string): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value)
  if (!(value >= 0) || value === Infinity) throw outOfRange(name, 'a number of milliseconds >= 0', value)
  return value
}

/** Checks a buffer size. @internal */
export function checkSize(value: unknown, name: string): number {
  checkInteger(value, name, 1, 0x7fff_ffff)
  return value
}

/** Checks a keepalive argument and returns `[enabled, idleMs, intervalMs]`. @internal */
export function keepaliveArgs(value: unknown, name: string): [boolean, number | undefined, number | undefined] {
  if (typeof value === 'boolean') return [value, undefined, undefined]
  if (typeof value !== 'object' || value === null) throw invalidArgType(name, 'a boolean or an object { idle, interval }', value)
  const { idle, interval } = value as KeepaliveOptions
  return [
    true,
    idle === undefined ? undefined : checkMillis(idle, `${name}.idle`),
    interval === undefined ? undefined : checkMillis(interval, `${name}.interval`),
  ]
}

const { create: ObjectCreate } = Object

/**
 * The handle of a socket made for `addr`: `plain(text)` when `options` is
 * `undefined`, else `withOptions(text, checked options)`. The address is
 * checked first, as each constructor did. @internal
 */
export function socketHandle(
  addr: SocketAddressInput,
  options: unknown,
  kind: keyof typeof KEYS,
  plain: (addr: string) => number,
  withOptions: (addr: string, options: SocketOptions) => number,
): number {
  const text = addressText(addr)
  return options === undefined ? plain(text) : withOptions(text, nativeOptions(options, kind))
}

/** Checks `options` for `kind` and converts it for the binding. @internal */
export function nativeOptions(options: unknown, kind: keyof typeof KEYS): SocketOptions {
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'an object', options)
  const allowed: readonly string[] = KEYS[kind]
  // No prototype: what is stored here is what was checked, whatever
  // setters a program put on Object.prototype.
  const out = ObjectCreate(null) as SocketOptions
  for (const [key, value] of Object.entries(options)) {
    if (!allowed.includes(key)) throw invalidArgValue('options', `has an unknown option "${key}" (known: ${allowed.join(', ')})`, options)
    if (value === undefined) continue
    const name = `options.${key}`
    switch (key) {
      case 'reuseAddress':
      case 'reusePort':
      case 'ipv6Only':
      case 'nodelay':
      case 'broadcast':
        checkBoolean(value, name)
        out[key] = value
        break
      case 'recvBufferSize':
      case 'sendBufferSize':
        out[key] = checkSize(value, name)
        break
      case 'backlog':
        checkInteger(value, name, 0, 0x7fff_ffff)
        out.backlog = value
        break
      case 'localAddress':
        out.localAddress = addressText(value, name)
        break
      case 'keepalive': {
        const [enabled, idle, interval] = keepaliveArgs(value, name)
        out.keepalive = enabled
        if (idle !== undefined) out.keepaliveIdleMs = idle
        if (interval !== undefined) out.keepaliveIntervalMs = interval
        break
      }
      case 'linger':
        if (value !== null) out.lingerMs = checkMillis(value, name)
        break
    }
  }
  return out
}
