// What the figures were measured on: CPU, kernel, Node, Rust, mio, pinning,
// load and commit, recorded in every result.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { NATIVE, ROOT } from './paths.mjs'
import { pinning } from './processes.mjs'

/** The `machine` section of the results, at the start of a run of profile `p`. */
export function machine(p) {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : ''
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown'
  const lock = existsSync(path.join(NATIVE, 'Cargo.lock')) ? readFileSync(path.join(NATIVE, 'Cargo.lock'), 'utf8') : ''
  const mio = /name = "mio"\nversion = "([^"]+)"/.exec(lock)?.[1] ?? null
  const sh = (cmd, args) => {
    const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8' })
    return r.status === 0 ? r.stdout.trim() : null
  }
  const commit = sh('git', ['rev-parse', '--short', 'HEAD'])
  const dirty = sh('git', ['status', '--porcelain'])
  return {
    cpu_model: model,
    cpus: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    arch: process.arch,
    node: process.version,
    v8: process.versions.v8,
    rustc: sh('rustc', ['--version']),
    mio,
    pinning: pinning.enabled ? `server on CPU ${pinning.server_cpu}, load generator on CPU ${pinning.client_cpu} (taskset)` : `none: ${pinning.reason}`,
    loadavg_start: loadavg(),
    date: new Date().toISOString(),
    commit: commit && (dirty ? `${commit} (with uncommitted changes)` : commit),
    profile: p.name,
    rounds: p.rounds,
  }
}

/** The load average now, to two decimals. */
export const loadavg = () => os.loadavg().map((x) => Number(x.toFixed(2)))
