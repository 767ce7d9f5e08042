// Where the benchmarks' pieces live, from the repository root.
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
/** The native crate (bench/native) and its release binaries. */
export const NATIVE = path.join(ROOT, 'bench', 'native')
export const BIN = path.join(NATIVE, 'target', 'release')
/** Packages the benchmarks compare against, installed on demand (bench/peers). */
export const PEERS = path.join(ROOT, 'bench', 'peers')
export const MiB = 1024 * 1024
