// Descriptors as the OS sees them: open-file flags, what a descriptor is, how
// many are open. Linux reads /proc; elsewhere the readers return null and the
// assertions check nothing (as mio checks nothing on Windows).
import type { ExecutionContext } from 'ava'
import { existsSync, fstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs'
import { endianness } from 'node:os'
import { SourceFd, type SocketAddress } from 'node-mio'

export const O_ACCMODE = 0o3
export const O_NONBLOCK = 0o4000
export const O_CLOEXEC = 0o2000000

const linux = process.platform === 'linux'

/** A descriptor's open-file flags (`fcntl(F_GETFL)` plus `O_CLOEXEC`), from /proc/self/fdinfo on Linux; `null` elsewhere. */
export function fdFlags(fd: number): number | null {
  if (!linux) return null
  const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1]
  if (flags === undefined) throw new Error(`no flags in /proc/self/fdinfo/${fd}`)
  return parseInt(flags, 8)
}

/** What /proc/self/fd says `fd` is (`socket:[123]`, `pipe:[45]`), or null if closed. */
export function fdTarget(fd: number): string | null {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`)
  } catch {
    return null
  }
}

/** Whether `fd` is open: listed in /proc/self/fd on Linux, elsewhere fstat succeeds. */
export function isOpen(fd: number): boolean {
  if (linux) return fdTarget(fd) !== null
  try {
    fstatSync(fd)
    return true
  } catch {
    return false
  }
}

/**
 * How many descriptors this process has open (from /proc/self/fd), for leak
 * checks; `null` where they cannot be counted. Linux only: Wine has a
 * /proc/self/fd too, but it lists the Wine server's Unix descriptors, not the
 * program's handles, and Node has no way to count a Windows process's
 * handles (GetProcessHandleCount is not exposed).
 */
export function openFdCount(): number | null {
  return process.platform === 'linux' && existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : null
}

/** An IPv4 address as /proc/net/{tcp,udp} print it: the 32-bit value in this machine's byte order, in hex. */
function procIpv4(address: string): string {
  const bytes = address.split('.').map(Number)
  if (endianness() === 'LE') bytes.reverse()
  return bytes.map((byte) => byte.toString(16).padStart(2, '0')).join('').toUpperCase()
}

/**
 * Socket inodes of the /proc/net/<table> rows whose local port is `port`
 * (and local IPv4 address `address`, if given). The table is the whole
 * network namespace's: rows of other processes, on other addresses, share a
 * port number (a connection from another local address may have it), and a
 * closed connection's row (TIME_WAIT) has inode 0 and no descriptor; those
 * are left out.
 */
export function inodesForPort(table: 'tcp' | 'tcp6' | 'udp' | 'udp6', port: number, address?: string): string[] {
  const local = address === undefined ? undefined : procIpv4(address)
  return readFileSync(`/proc/net/${table}`, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((c) => {
      const [host, hexPort] = c[1]?.split(':') ?? []
      return parseInt(hexPort ?? '', 16) === port && (local === undefined || host === local) && c[9] !== '0'
    })
    .map((c) => c[9] ?? '')
}

/**
 * This process's one descriptor bound to `socket.localAddr()`'s port (found
 * through /proc/net/{tcp,udp}[6]; that there is exactly one is asserted), for
 * the assertions below; `null` off Linux.
 */
export function socketFd(t: ExecutionContext, socket: { localAddr(): SocketAddress }, protocol: 'tcp' | 'udp'): number | null {
  if (!linux) return null
  const local = socket.localAddr()
  const inodes = new Set(inodesForPort(`${protocol}${local.family === 'IPv6' ? '6' : ''}`, local.port))
  const fds: number[] = []
  for (const fd of readdirSync('/proc/self/fd')) {
    const inode = /^socket:\[(\d+)\]$/.exec(fdTarget(Number(fd)) ?? '')?.[1]
    if (inode !== undefined && inodes.has(inode)) fds.push(Number(fd))
  }
  t.is(fds.length, 1, `expected one descriptor for ${protocol} ${local.address}:${local.port}, found ${fds.length}`)
  return fds.length === 1 ? fds[0]! : null
}

/** mio's `assert_socket_non_blocking`, for any descriptor (`null`: nothing to check). Returns whether it passed. */
export function assertNonBlocking(t: ExecutionContext, fd: number | null): boolean {
  const flags = fd === null ? null : fdFlags(fd)
  return flags === null || t.not(flags & O_NONBLOCK, 0, 'socket not non-blocking')
}

/** The opposite of {@link assertNonBlocking}. */
export function assertBlocking(t: ExecutionContext, fd: number | null): boolean {
  const flags = fd === null ? null : fdFlags(fd)
  return flags === null || t.is(flags & O_NONBLOCK, 0, 'descriptor is non-blocking')
}

/** mio's `assert_socket_close_on_exec`, for any descriptor (`null`: nothing to check). */
export function assertCloseOnExec(t: ExecutionContext, fd: number | null): boolean {
  const flags = fd === null ? null : fdFlags(fd)
  return flags === null || t.not(flags & O_CLOEXEC, 0, 'socket flag CLOEXEC not set')
}

/**
 * Clears `O_NONBLOCK` on a descriptor the caller owns (through a `SourceFd`,
 * which leaves it open): a std-like blocking descriptor for the `fromFd`
 * ports of mio's `from_std` tests.
 */
export function makeBlocking(fd: number): number {
  const source = new SourceFd(fd)
  try {
    source.setNonblocking(false)
  } finally {
    source.close()
  }
  return fd
}
