// Child processes of the benchmarks: started tracked (every one still running
// is killed on exit, on errors and on Ctrl-C), pinned to a CPU with `taskset`
// when the machine allows, and read for the JSON line each tool prints last.
import { spawn, spawnSync } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import { ROOT } from './paths.mjs'

/** Every child still running: killed on exit, error or signal. */
const children = new Set()

export function killAll() {
  for (const child of children) {
    try {
      child.kill('SIGKILL')
    } catch {
      // already gone
    }
  }
  children.clear()
}
process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    killAll()
    process.exit(130)
  })
}

/**
 * CPU pinning: the measured process (server, watcher, node-mio loop) on
 * `server_cpu`, its peer (load generator, pipe writer) on `client_cpu`.
 * Set by detectPinning().
 */
export const pinning = { enabled: false, server_cpu: null, client_cpu: null, reason: '' }

/** Turns pinning on when there are two CPUs and `taskset` runs; returns `pinning`. */
export function detectPinning() {
  return Object.assign(pinning, probePinning())
}

function probePinning() {
  const cpus = os.availableParallelism ? os.availableParallelism() : os.cpus().length
  if (cpus < 2) return { enabled: false, server_cpu: null, client_cpu: null, reason: `only ${cpus} CPU available` }
  const probe = spawnSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' })
  if (probe.error || probe.status !== 0) {
    return { enabled: false, server_cpu: null, client_cpu: null, reason: 'taskset not found (Debian: apt-get install util-linux)' }
  }
  return { enabled: true, server_cpu: 0, client_cpu: 1, reason: 'taskset' }
}

/** [file, args] pinned to `cpu` when pinning is on. */
export function pinned(cpu, file, args) {
  return pinning.enabled ? ['taskset', ['-c', String(cpu), file, ...args]] : [file, args]
}

/** Spawns a tracked child. */
export function start(file, args, options = {}) {
  const child = spawn(file, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...options })
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** Runs a command to completion (bounded by `timeoutMs`); resolves { code, stdout, stderr }. */
export function run(file, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = start(file, args)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${[file, ...args].map((a) => path.basename(a)).join(' ')} timed out after ${timeoutMs / 1000} s`))
    }, timeoutMs)
    child.once('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** The last line of `stdout` that parses as a JSON object. */
export function lastJson(stdout, what) {
  const lines = stdout.trim().split('\n').reverse()
  for (const line of lines) {
    if (!line.startsWith('{')) continue
    try {
      return JSON.parse(line)
    } catch {
      // not this one
    }
  }
  throw new Error(`${what} printed no JSON:\n${stdout}`)
}

/** The last `lines` lines of a command's output, on one line. */
export function tail(text, lines = 3) {
  return String(text ?? '')
    .trim()
    .split('\n')
    .slice(-lines)
    .join(' | ')
}

/** Collects a tracked child's output; `waitFor(text)` resolves when stdout has a line equal to it. */
export function follow(child, name) {
  const state = { stdout: '', stderr: '', exit: null }
  const waiters = new Set()
  const check = () => {
    for (const w of waiters) w()
  }
  child.stdout.on('data', (d) => {
    state.stdout += d
    check()
  })
  child.stderr.on('data', (d) => (state.stderr += d))
  state.closed = new Promise((resolve) => {
    child.once('close', (code, signal) => {
      state.exit = { code, signal }
      check()
      resolve(state.exit)
    })
    child.once('error', (error) => {
      state.exit = { code: null, signal: null, error }
      check()
      resolve(state.exit)
    })
  })
  state.waitFor = (text, ms) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`${name} did not print ${JSON.stringify(text)} within ${ms / 1000} s`)), ms)
      const done = (error) => {
        clearTimeout(timer)
        waiters.delete(w)
        if (error) reject(new Error(`${error.message}: ${tail(state.stderr)}`))
        else resolve()
      }
      const w = () => {
        if (state.stdout.split('\n').some((l) => l.trim() === text)) done()
        else if (state.exit !== null) done(new Error(`${name} exited (${state.exit.error?.message ?? state.exit.code ?? state.exit.signal}) before printing ${JSON.stringify(text)}`))
      }
      waiters.add(w)
      w()
    })
  state.finished = (ms) =>
    Promise.race([
      state.closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`${name} did not finish within ${ms / 1000} s: ${tail(state.stderr)}`)), ms).unref()),
    ])
  return state
}
