// The platform a spec runs on, where it changes what a test can expect.
import { readFileSync } from 'node:fs'

/**
 * Whether this is Windows emulated by Wine (which sets WINECONFIGDIR and
 * WINELOADER in every Windows process's environment). Only for the few
 * behaviours where Wine differs from Windows itself, each shown by a plain
 * Winsock program without node-mio (scripts/cross/winsock-probe.c).
 */
export const underWine = process.platform === 'win32' && process.env.WINECONFIGDIR !== undefined && process.env.WINELOADER !== undefined

/**
 * Whether this is another CPU emulated by qemu-user: an arm64 (or other
 * non-x86) Node whose /proc/cpuinfo describes an x86 host (qemu-user passes
 * the host's through). Everything runs many times slower there, so waits
 * are longer; nothing else changes.
 */
export const underQemu = ((): boolean => {
  if (process.platform !== 'linux' || process.arch === 'x64' || process.arch === 'ia32') return false
  try {
    return /^vendor_id\s*:\s*(GenuineIntel|AuthenticAMD)/m.test(readFileSync('/proc/cpuinfo', 'utf8'))
  } catch {
    return false
  }
})()

/** The JavaScript runtime running the specs. */
export const runtime: 'node' | 'bun' | 'deno' =
  'Bun' in globalThis ? 'bun' : 'Deno' in globalThis ? 'deno' : 'node'

/**
 * Whether terminating a worker releases what node-mio holds in it. Not under
 * Deno: its Node-API gives a call blocked in poll() no sign that the worker
 * is terminating (Node's calls fail once the environment stops, which is how
 * node-mio notices), and a thread watch's cleanup hook does not run when it
 * terminates a worker, so the worker's thread and descriptors stay
 * (scripts/cross/deno-terminate.mjs shows it).
 */
export const terminateReleases = runtime !== 'deno'
