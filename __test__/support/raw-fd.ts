// Opening, writing, closing and stat-ing OS descriptors, as the
// specs do with the ones node-mio hands out: node:fs's functions of the same
// names in Node.js and Bun. Deno's node:fs accepts only descriptors it opened
// itself (EBADF otherwise: scripts/cross/fs-fd.mjs shows it without
// node-mio), so under Deno these call the C library through Deno's FFI, and
// stat through /proc/self/fd (Deno runs the specs on Linux only).
import * as fs from 'node:fs'
import { constants } from 'node:os'

interface DenoFfi {
  dlopen(
    path: string,
    symbols: Record<string, { parameters: string[]; result: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown> }
  UnsafePointerView: new (pointer: unknown) => { getInt32(offset?: number): number }
}

const deno = (globalThis as { Deno?: DenoFfi }).Deno

type Libc = Record<'open' | 'close' | 'write' | 'errno', (...args: unknown[]) => unknown>

let libc: Libc | undefined
function c(): Libc {
  if (libc !== undefined) return libc
  const lib = deno!.dlopen('libc.so.6', {
    open: { parameters: ['buffer', 'i32', 'u32'], result: 'i32' },
    close: { parameters: ['i32'], result: 'i32' },
    write: { parameters: ['i32', 'buffer', 'usize'], result: 'isize' },
    __errno_location: { parameters: [], result: 'pointer' },
  })
  const s = lib.symbols
  libc = { open: s.open!, close: s.close!, write: s.write!, errno: s.__errno_location! }
  return libc
}

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, number]) => [number, name]))

/** The C call's result, or a node:fs-like error (`code`, `errno`, `syscall`) when it is -1. */
function check(result: number | bigint, syscall: string): number {
  const n = Number(result)
  if (n !== -1) return n
  const errno = new deno!.UnsafePointerView(c().errno()).getInt32()
  const code = ERRNO_NAMES.get(errno) ?? `errno ${errno}`
  throw Object.assign(new Error(`${code}: ${syscall} failed`), { code, errno: -errno, syscall })
}

/** Linux's O_CLOEXEC (node:fs does not export it): Node opens files close-on-exec too. */
const O_CLOEXEC = 0o2000000

const FLAGS: Record<string, number> = { r: fs.constants.O_RDONLY, 'r+': fs.constants.O_RDWR, w: fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC }

function bytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data) : data
}

/** `fs.openSync(path, flags, mode)` (flags: a number or 'r', 'r+', 'w'). */
export const openSync: (path: string, flags: string | number, mode?: number) => number = deno
  ? (path, flags, mode = 0o666) => {
      const bits = typeof flags === 'number' ? flags : FLAGS[flags]
      if (bits === undefined) throw new TypeError(`flags ${flags}`)
      return check(c().open(Buffer.from(`${path}\0`), bits | O_CLOEXEC, mode) as number, 'open')
    }
  : fs.openSync

/** `fs.closeSync(fd)`. */
export const closeSync: (fd: number) => void = deno
  ? (fd) => {
      check(c().close(fd) as number, 'close')
    }
  : fs.closeSync

/** `fs.writeSync(fd, data)`: the bytes written. */
export const writeSync: (fd: number, data: string | Uint8Array) => number = deno
  ? (fd, data) => {
      const buf = bytes(data)
      return check(c().write(fd, buf, BigInt(buf.byteLength)) as bigint, 'write')
    }
  : (fd, data) => fs.writeSync(fd, bytes(data))

/** `fs.fstatSync(fd)`. */
export const fstatSync: (fd: number) => fs.Stats = deno ? (fd) => fs.statSync(`/proc/self/fd/${fd}`) : (fd) => fs.fstatSync(fd)
