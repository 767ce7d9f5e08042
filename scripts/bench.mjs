#!/usr/bin/env node
// `npm run bench`: node-mio's benchmarks, end to end.
//
//   npm run bench                       full run: 5 rounds per figure
//   npm run bench -- --quick            short run (2 rounds, short windows): under 3 minutes
//   npm run bench -- --json FILE        also write the results as JSON
//   npm run bench -- --chart FILE.svg   also draw the chart (scripts/bench-chart.mjs)
//   other options: --rounds N, --only SCENARIO[,SCENARIO...], --no-build
//
// Builds the native side (`cargo build --release --manifest-path
// bench/native/Cargo.toml`: the mio-native echo server, the load generator,
// the syscall floor, the pipe writer), then runs:
// - echo servers (one thread each, loopback): mio-native, node-mio-blocking
//   (a blocking poll() loop), node-mio-watch (poll.watch on Node's event
//   loop), node-net, driven by the native load generator. Primary figure:
//   the server's CPU time per round trip (utime + stime from
//   /proc/<pid>/stat over the measured window, after warm-up), with
//   throughput and latency beside it. The server is pinned to CPU 0 and the
//   load generator to CPU 1 with `taskset` when both exist.
// - empty poll: node-mio's `poll(events, 0)` with nothing ready vs mio and
//   the bare `epoll_wait` from Rust, in CPU time per call (wall-clock beside).
// - allocation: heap bytes and GC runs per million events for node-mio.
// - descriptor events: FIFOs made readable one byte at a time by a native
//   writer (CPU 1), watched (CPU 0) through node-mio's SourceFd (blocking
//   poll and watch mode) and through the `epoll` npm package: events per CPU
//   second of the watching process. `epoll` is installed on demand into
//   bench/peers (not a dependency of node-mio) and built with node-gyp
//   against the Node headers on this machine; when that cannot be done, its
//   rows say why and the rest of the run goes on.
// Every figure is the median over the rounds; every comparison is a ratio of
// two figures of the same round (median over rounds). Servers run in a
// rotating order, a new process per round. Every process started here is
// killed at the end, on errors and on Ctrl-C too.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const NATIVE = path.join(ROOT, 'bench', 'native')
const BIN = path.join(NATIVE, 'target', 'release')
const PEERS = path.join(ROOT, 'bench', 'peers')
const MiB = 1024 * 1024

// ---------------------------------------------------------------- options

function parseArgs(argv) {
  const opts = { quick: false, json: null, chart: null, rounds: null, only: null, build: true }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--quick') opts.quick = true
    else if (a === '--json') opts.json = value()
    else if (a === '--chart') opts.chart = value()
    else if (a === '--rounds') opts.rounds = Number(value())
    else if (a === '--only') opts.only = value().split(',')
    else if (a === '--no-build') opts.build = false
    else if (a === '--help' || a === '-h') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 8).join('\n').replaceAll('// ', ''))
      process.exit(0)
    } else throw new Error(`unknown option ${a} (see --help)`)
  }
  if (opts.rounds !== null && !(Number.isInteger(opts.rounds) && opts.rounds >= 1 && opts.rounds <= 50)) {
    throw new Error('--rounds must be an integer from 1 to 50')
  }
  return opts
}

const PROFILES = {
  quick: { rounds: 2, warmup: 0.5, secs: 1.5, bulkBytes: 512 * MiB, pollCalls: 200_000, syscallCalls: 200_000, allocEvents: 200_000, fdWarmup: 0.5, fdSecs: 1 },
  full: { rounds: 5, warmup: 1, secs: 4, bulkBytes: 1024 * MiB, pollCalls: 1_000_000, syscallCalls: 500_000, allocEvents: 1_000_000, fdWarmup: 1, fdSecs: 3 },
}

// ---------------------------------------------------------------- processes

/** Every child still running: killed on exit, error or signal. */
const children = new Set()

function killAll() {
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

let pinning = { enabled: false, server_cpu: null, client_cpu: null, reason: '' }

function detectPinning() {
  const cpus = os.availableParallelism ? os.availableParallelism() : os.cpus().length
  if (cpus < 2) return { enabled: false, server_cpu: null, client_cpu: null, reason: `only ${cpus} CPU available` }
  const probe = spawnSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' })
  if (probe.error || probe.status !== 0) {
    return { enabled: false, server_cpu: null, client_cpu: null, reason: 'taskset not found (Debian: apt-get install util-linux)' }
  }
  return { enabled: true, server_cpu: 0, client_cpu: 1, reason: 'taskset' }
}

/** [file, args] pinned to `cpu` when pinning is on. */
function pinned(cpu, file, args) {
  return pinning.enabled ? ['taskset', ['-c', String(cpu), file, ...args]] : [file, args]
}

/** Spawns a tracked child. */
function start(file, args, options = {}) {
  const child = spawn(file, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...options })
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** Runs a command to completion (bounded by `timeoutMs`); resolves { code, stdout, stderr }. */
function run(file, args, timeoutMs) {
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
function lastJson(stdout, what) {
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

// ---------------------------------------------------------------- servers

const SERVERS = [
  { name: 'mio-native', command: (proto) => [path.join(BIN, 'echo-server'), [proto, '0', '900']] },
  {
    name: 'node-mio-blocking',
    command: (proto) => [process.execPath, ['--import', 'tsx', 'bench/servers/node-mio-echo.ts', proto, '0', '900']],
  },
  {
    name: 'node-mio-watch',
    command: (proto) => [process.execPath, ['--import', 'tsx', 'bench/servers/node-mio-echo.ts', proto, '0', '900', 'watch']],
  },
  {
    name: 'node-net',
    command: (proto) => [process.execPath, ['--import', 'tsx', 'bench/servers/node-net-echo.ts', proto, '0', '900']],
  },
]

/** Starts an echo server and waits for the port it prints. */
function startServer(server, proto) {
  const [file, args] = server.command(proto)
  const [pf, pa] = pinned(pinning.server_cpu, file, args)
  const child = start(pf, pa)
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(() => fail(new Error(`${server.name} did not print its port within 30 s`)), 30_000)
    const fail = (e) => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`${e.message}\n${err}`))
    }
    child.stderr.on('data', (d) => (err += d))
    child.stdout.on('data', (d) => {
      out += d
      const line = out.split('\n')
      if (line.length < 2) return
      const port = Number(line[0].trim())
      clearTimeout(timer)
      if (!Number.isInteger(port) || port <= 0) return fail(new Error(`${server.name} printed ${JSON.stringify(line[0])}, not a port`))
      resolve({ child, port, pid: child.pid })
    })
    child.once('error', fail)
    child.once('exit', (code, signal) => fail(new Error(`${server.name} exited (${code ?? signal}) before printing its port`)))
  })
}

function stopServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

// ---------------------------------------------------------------- scenarios

function serverScenarios(p) {
  const echo = (id, label, proto, conns, size) => ({
    id,
    label,
    proto,
    loadgen: ['--proto', proto, '--mode', 'echo', '--conns', String(conns), '--size', String(size), '--inflight', '1'],
    params: { proto, mode: 'echo', conns, size, inflight: 1, warmup_s: p.warmup, window_s: p.secs },
    timeoutMs: (p.warmup + p.secs + 30) * 1000,
  })
  return [
    echo('tcp-echo-64B-x50', 'TCP echo, 64 B x 50 connections', 'tcp', 50, 64),
    echo('tcp-echo-4KiB-x50', 'TCP echo, 4 KiB x 50 connections', 'tcp', 50, 4096),
    echo('tcp-echo-64B-x1', 'TCP echo, 64 B x 1 connection (latency)', 'tcp', 1, 64),
    {
      id: 'tcp-bulk',
      label: `TCP bulk, 1 connection, ${p.bulkBytes / MiB} MiB in 64 KiB writes, checked end to end`,
      proto: 'tcp',
      loadgen: ['--proto', 'tcp', '--mode', 'bulk', '--bytes', String(p.bulkBytes), '--chunk', '65536', '--timeout', '240'],
      params: { proto: 'tcp', mode: 'bulk', conns: 1, bytes: p.bulkBytes, chunk: 65536, op: '64 KiB echoed', warmup: 'first 1/16 of the stream' },
      timeoutMs: 270_000,
    },
    echo('udp-echo-64B-x50', 'UDP echo, 64 B datagrams x 50 sockets', 'udp', 50, 64),
  ]
}

async function runLoadgen(scenario, port, pid, p) {
  const args = [...scenario.loadgen, '--addr', `127.0.0.1:${port}`, '--server-pid', String(pid)]
  if (scenario.params.mode === 'echo') args.push('--warmup', String(p.warmup), '--secs', String(p.secs))
  const [file, fargs] = pinned(pinning.client_cpu, path.join(BIN, 'loadgen'), args)
  const { code, stdout, stderr } = await run(file, fargs, scenario.timeoutMs)
  const result = lastJson(stdout, 'loadgen')
  if (code !== 0 || result.error) {
    throw new Error(`loadgen failed (exit ${code}): ${result.error ?? ''} ${stderr.trim()}`)
  }
  if (result.bytes > 0) result.bytes_per_s = result.window_bytes / result.seconds
  result.server_cpu_util = result.server_cpu_s / result.seconds
  result.client_cpu_util = result.client_cpu_s / result.seconds
  return result
}

// ---------------------------------------------------------------- descriptor events

function descriptorScenarios(p) {
  const fifos = (id, label, pipes) => ({
    id,
    label,
    pipes,
    params: { pipes, bytes_per_event: 1, read_size: 64, warmup_s: p.fdWarmup, window_s: p.fdSecs },
    timeoutMs: (p.fdWarmup + p.fdSecs + 30) * 1000,
  })
  return [
    fifos('descriptor-events-16-fifos', 'Descriptor events: 16 FIFOs kept readable (1 byte per event)', 16),
    fifos('descriptor-events-one-fifo', 'Descriptor events: 1 FIFO, one event at a time', 1),
  ]
}

const FD_WATCHERS = [
  {
    name: 'node-mio-blocking',
    note: 'SourceFd, blocking poll() loop',
    command: (dir, pipes) => [process.execPath, ['--import', 'tsx', 'bench/fd-events/node-mio.ts', dir, String(pipes), '900', 'blocking']],
  },
  {
    name: 'node-mio-watch',
    note: 'SourceFd, poll.watch on the event loop',
    command: (dir, pipes) => [process.execPath, ['--import', 'tsx', 'bench/fd-events/node-mio.ts', dir, String(pipes), '900', 'watch']],
  },
  {
    name: 'epoll-npm',
    note: 'epoll package, EPOLLIN, fs.readSync',
    command: (dir, pipes) => [process.execPath, ['--import', 'tsx', 'bench/fd-events/epoll-npm.ts', dir, String(pipes), '900', PEERS]],
  },
]

/** The last `lines` lines of a command's output, on one line. */
function tail(text, lines = 3) {
  return String(text ?? '')
    .trim()
    .split('\n')
    .slice(-lines)
    .join(' | ')
}

/** The telling lines of npm's error output: its code and the error message. */
function npmReason(text) {
  const lines = String(text ?? '')
    .split('\n')
    .map((l) => l.replace(/^npm (error|ERR!)\s*/, '').trim())
  const code = lines.find((l) => /^code \S+$/.test(l))
  const message = lines.find((l) => /Error\b|ERR!|failed|not found/i.test(l) && !/^at |complete log/.test(l))
  const picked = [code, message].filter(Boolean)
  return picked.length > 0 ? picked.join(': ') : tail(text)
}

/**
 * Node's own headers for node-gyp (`--nodedir`), so that it never downloads
 * them: a folder holding include/node/node_version.h of this Node version.
 */
function findNodeHeaders() {
  const version = process.versions.node
  const candidates = [
    process.env.npm_config_nodedir,
    process.config?.variables?.node_prefix,
    path.resolve(path.dirname(process.execPath), '..'),
    '/usr/local',
    '/usr',
    path.join(os.homedir(), '.cache', 'node-gyp', version),
  ].filter((d) => typeof d === 'string' && d !== '')
  const seen = []
  for (const dir of new Set(candidates.map((d) => path.resolve(d)))) {
    const header = path.join(dir, 'include', 'node', 'node_version.h')
    if (!existsSync(header)) continue
    const h = readFileSync(header, 'utf8')
    const part = (name) => new RegExp(`^#define NODE_${name}_VERSION (\\d+)`, 'm').exec(h)?.[1]
    const found = `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`
    if (found === version) return { nodedir: dir }
    seen.push(`${header} is ${found}`)
  }
  return {
    nodedir: null,
    reason:
      `no headers of Node ${version} on this machine (looked for include/node/node_version.h under ${[...new Set(candidates)].join(', ')}` +
      `${seen.length > 0 ? `; ${seen.join('; ')}` : ''}); node-gyp would download them, which this harness does not do: ` +
      'install the headers of this Node (they ship with Node\'s own tarballs and most distribution packages) or point npm_config_nodedir at them',
  }
}

/**
 * Installs the `epoll` npm package into bench/peers on demand (its own
 * package.json; not a dependency of node-mio) and builds it with node-gyp
 * against the local Node headers. Returns { ok, version, reason, ... }.
 */
function ensureEpollPackage(log) {
  const pkgDir = path.join(PEERS, 'node_modules', 'epoll')
  const addon = path.join(pkgDir, 'build', 'Release', 'epoll.node')
  const out = { ok: false, package: 'epoll', version: null, built: path.relative(ROOT, addon), installed_now: false, nodedir: null, reason: null }
  const fail = (reason) => ({ ...out, reason })
  if (process.platform !== 'linux') return fail('the epoll package is Linux only')
  if (!existsSync(addon)) {
    const headers = findNodeHeaders()
    if (headers.nodedir === null) return fail(headers.reason)
    out.nodedir = headers.nodedir
    log(`installing the epoll npm package into bench/peers (npm install --ignore-scripts, then npm rebuild epoll with nodedir ${headers.nodedir})`)
    const npmOpts = { cwd: PEERS, encoding: 'utf8', timeout: 300_000, env: { ...process.env, npm_config_nodedir: headers.nodedir } }
    const install = spawnSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock'], npmOpts)
    if (install.error || install.status !== 0) {
      return fail(`npm install in bench/peers failed (${install.error?.message ?? `exit ${install.status}`}): ${npmReason(install.stderr || install.stdout)}`)
    }
    // `npm rebuild` runs epoll's install script (node-gyp rebuild, the
    // node-gyp bundled with npm); bench/peers/package.json approves it
    // (allowScripts), and npm_config_nodedir keeps node-gyp off the network.
    const build = spawnSync('npm', ['rebuild', 'epoll', '--foreground-scripts'], npmOpts)
    if (build.error || build.status !== 0 || !existsSync(addon)) {
      const lines = `${build.stdout ?? ''}\n${build.stderr ?? ''}`
        .split('\n')
        .filter((l) => /error|not found|ERR!/i.test(l))
        .slice(-4)
        .join(' | ')
      return fail(`building epoll with node-gyp failed (${build.error?.message ?? `exit ${build.status}`}): ${lines || tail(build.stderr || build.stdout)}`)
    }
    out.installed_now = true
  }
  out.version = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version
  const probe = spawnSync(process.execPath, ['-e', 'const { Epoll } = require(process.argv[1]); if (typeof Epoll !== "function") process.exit(3)', pkgDir], {
    encoding: 'utf8',
    timeout: 30_000,
  })
  if (probe.error || probe.status !== 0) {
    return fail(`epoll ${out.version} is built but does not load in Node ${process.version} (delete bench/peers/node_modules to rebuild it): ${tail(probe.stderr)}`)
  }
  out.ok = true
  return out
}

/** Collects a tracked child's output; `waitFor(text)` resolves when stdout has a line equal to it. */
function follow(child, name) {
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

/**
 * One round of one watcher: pipe-writer (CPU 1) makes the FIFOs, the watcher
 * (CPU 0) opens and registers them, pipe-writer runs the window and reports;
 * then it closes the FIFOs and the watcher reports its own tally and exits.
 */
async function runDescriptorRound(watcher, scenario, p) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'node-mio-bench-fifo-'))
  const started = []
  try {
    const [pf, pa] = pinned(pinning.client_cpu, path.join(BIN, 'pipe-writer'), [
      '--dir',
      dir,
      '--pipes',
      String(scenario.pipes),
      '--warmup',
      String(p.fdWarmup),
      '--secs',
      String(p.fdSecs),
    ])
    const producer = start(pf, pa, { stdio: ['pipe', 'pipe', 'pipe'] })
    started.push(producer)
    producer.stdin.on('error', () => {}) // it may be gone already; its exit says why
    const prod = follow(producer, 'pipe-writer')
    await prod.waitFor('ready', 10_000)
    const [wf, wa] = watcher.command(dir, scenario.pipes)
    const [wpf, wpa] = pinned(pinning.server_cpu, wf, wa)
    const child = start(wpf, wpa)
    started.push(child)
    const watch = follow(child, watcher.name)
    await watch.waitFor('ready', 30_000)
    producer.stdin.end(`${child.pid}\n`)
    const pexit = await prod.finished(scenario.timeoutMs)
    const r = lastJson(prod.stdout, 'pipe-writer')
    if (pexit.code !== 0 || r.error) throw new Error(`pipe-writer failed (exit ${pexit.code ?? pexit.signal}): ${r.error ?? ''} ${tail(prod.stderr)}`)
    const wexit = await watch.finished(15_000)
    if (wexit.code !== 0) throw new Error(`${watcher.name} exited ${wexit.code ?? wexit.signal}: ${tail(watch.stderr)}`)
    const w = lastJson(watch.stdout, watcher.name)
    return {
      events: r.events,
      seconds: r.seconds,
      events_per_s: r.events_per_s,
      watcher_cpu_s: r.watcher_cpu_s,
      cpu_ns_per_event: r.cpu_ns_per_event,
      events_per_cpu_s: r.events_per_cpu_s,
      watcher_cpu_util: r.watcher_cpu_s / r.seconds,
      producer_cpu_util: r.producer_cpu_s / r.seconds,
      written: r.written,
      watcher: { events: w.events, data_events: w.data_events, empty_events: w.empty_events, eofs: w.eofs, bytes: w.bytes, bad_bytes: w.bad_bytes },
      // Every byte written was read, in order, one byte per readiness event.
      verified: w.bytes === r.written && w.bad_bytes === 0 && w.data_events === w.bytes && w.eofs === scenario.pipes,
    }
  } finally {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------- statistics

function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return null
  const mid = v.length >> 1
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

const round2 = (x, digits = 3) => (x === null || x === undefined ? null : Number(x.toPrecision(digits + 2)))

/** Median of a field over rounds. */
const medianOf = (rounds, field) => median(rounds.map((r) => r[field]))

/** Median over rounds of a[r][field] / b[r][field] (same-round pairs only). */
function ratioOf(a, b, field) {
  const byRound = new Map(b.map((r) => [r.round, r[field]]))
  return median(a.map((r) => (byRound.get(r.round) > 0 ? r[field] / byRound.get(r.round) : null)))
}

// ---------------------------------------------------------------- machine

function machine(p) {
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
    loadavg_start: os.loadavg().map((x) => Number(x.toFixed(2))),
    date: new Date().toISOString(),
    commit: commit && (dirty ? `${commit} (with uncommitted changes)` : commit),
    profile: p.name,
    rounds: p.rounds,
  }
}

// ---------------------------------------------------------------- main

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const p = { ...(opts.quick ? PROFILES.quick : PROFILES.full), name: opts.quick ? 'quick' : 'full' }
  if (opts.rounds !== null) p.rounds = opts.rounds
  const wanted = (id) => opts.only === null || opts.only.some((o) => id.startsWith(o))
  const began = Date.now()
  const log = (msg) => process.stderr.write(`[bench ${((Date.now() - began) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`)

  if (process.platform !== 'linux') throw new Error('the benchmarks read /proc: Linux only')
  if (!existsSync(path.join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first')

  if (opts.build) {
    log('building bench/native (cargo build --release)')
    const b = spawnSync('cargo', ['build', '--release', '--manifest-path', path.join(NATIVE, 'Cargo.toml')], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: 600_000,
    })
    if (b.status !== 0) throw new Error('cargo build of bench/native failed')
  }
  for (const bin of ['echo-server', 'loadgen', 'syscall-cost', 'pipe-writer']) {
    if (!existsSync(path.join(BIN, bin))) throw new Error(`${bin} is not built (drop --no-build)`)
  }

  pinning = detectPinning()
  const info = machine(p)
  log(`${info.cpu_model}, ${info.cpus} CPUs, ${info.kernel}, Node ${info.node}; ${p.name} run, ${p.rounds} rounds; pinning: ${info.pinning}`)

  const rows = []
  const ratios = []

  // ---- echo servers
  const scenarios = serverScenarios(p).filter((s) => wanted(s.id))
  const live = SERVERS.filter((s) => !s.pending)
  const perRun = new Map() // `${scenario}|${server}` -> rounds
  const total = scenarios.length * live.length * p.rounds
  let done = 0
  for (const scenario of scenarios) {
    for (let round = 0; round < p.rounds; round++) {
      // Rotate the order each round so no server always runs first.
      const order = live.map((_, i) => live[(i + round) % live.length])
      for (const server of order) {
        done++
        const { child, port, pid } = await startServer(server, scenario.proto)
        let result
        try {
          result = await runLoadgen(scenario, port, pid, p)
        } finally {
          await stopServer(child)
        }
        result.round = round
        const key = `${scenario.id}|${server.name}`
        if (!perRun.has(key)) perRun.set(key, [])
        perRun.get(key).push(result)
        log(
          `[${done}/${total}] ${scenario.id} round ${round + 1} ${server.name}: ${result.cpu_us_per_op?.toFixed(2)} µs CPU/op, ` +
            `${Math.round(result.ops_per_s)} ops/s, p50 ${result.p50_us?.toFixed(0)} µs` +
            (result.bytes ? `, ${(result.bytes_per_s / MiB).toFixed(0)} MiB/s, verified ${result.verified}` : ''),
        )
      }
    }
    for (const server of SERVERS) {
      if (server.pending) {
        rows.push({
          scenario: scenario.id,
          label: scenario.label,
          server: server.name,
          status: 'pending',
          note: server.pending,
          cpu_us_per_op: null,
          ops_per_s: null,
          p50_us: null,
          p99_us: null,
        })
        continue
      }
      const rs = perRun.get(`${scenario.id}|${server.name}`) ?? []
      const row = {
        scenario: scenario.id,
        label: scenario.label,
        server: server.name,
        status: 'ok',
        cpu_us_per_op: round2(medianOf(rs, 'cpu_us_per_op')),
        ops_per_s: round2(medianOf(rs, 'ops_per_s')),
        p50_us: round2(medianOf(rs, 'p50_us')),
        p99_us: round2(medianOf(rs, 'p99_us')),
        mean_us: round2(medianOf(rs, 'mean_us')),
        server_cpu_util: round2(medianOf(rs, 'server_cpu_util')),
        client_cpu_util: round2(medianOf(rs, 'client_cpu_util')),
        params: scenario.params,
        rounds: rs.map((r) => ({
          round: r.round,
          cpu_us_per_op: r.cpu_us_per_op,
          ops_per_s: r.ops_per_s,
          p50_us: r.p50_us,
          p99_us: r.p99_us,
          ops: r.ops,
          seconds: r.seconds,
          server_cpu_s: r.server_cpu_s,
          client_cpu_s: r.client_cpu_s,
          ...(r.bytes ? { bytes: r.bytes, window_bytes: r.window_bytes, verified: r.verified } : {}),
          ...(scenario.proto === 'udp' ? { lost: r.lost } : {}),
        })),
      }
      if (scenario.params.mode === 'bulk') {
        row.mib_per_s = round2(medianOf(rs, 'bytes_per_s') / MiB)
        row.bytes = rs[0]?.bytes ?? null
        row.verified = rs.length > 0 && rs.every((r) => r.verified)
        row.cpu_ms_per_gib = round2(row.cpu_us_per_op === null ? null : (row.cpu_us_per_op * 16384) / 1000)
      }
      if (scenario.proto === 'udp') row.lost = rs.reduce((sum, r) => sum + r.lost, 0)
      rows.push(row)
    }
    const get = (name) => perRun.get(`${scenario.id}|${name}`) ?? []
    const pairs = [
      ['node-mio-blocking', 'mio-native'],
      ['node-mio-blocking', 'node-net'],
      ['node-mio-watch', 'mio-native'],
      ['node-mio-watch', 'node-net'],
      ['node-mio-watch', 'node-mio-blocking'],
      ['node-net', 'mio-native'],
    ]
    for (const [a, b] of pairs) {
      if (get(a).length === 0 || get(b).length === 0) continue
      ratios.push({
        scenario: scenario.id,
        ratio: `${a} / ${b}`,
        cpu_us_per_op: round2(ratioOf(get(a), get(b), 'cpu_us_per_op')),
        ops_per_s: round2(ratioOf(get(a), get(b), 'ops_per_s')),
        p50_us: round2(ratioOf(get(a), get(b), 'p50_us')),
        p99_us: round2(ratioOf(get(a), get(b), 'p99_us')),
      })
    }
  }

  // ---- empty poll
  let emptyPoll = null
  if (wanted('empty-poll')) {
    const node = []
    const native = []
    for (let round = 0; round < p.rounds; round++) {
      const cpu = pinning.enabled ? pinning.server_cpu : null
      const [nf, na] = pinned(cpu, process.execPath, ['--import', 'tsx', 'bench/empty-poll.ts', String(p.pollCalls)])
      const n = await run(nf, na, 300_000)
      if (n.code !== 0) throw new Error(`bench/empty-poll.ts failed: ${n.stderr}`)
      node.push({ round, ...lastJson(n.stdout, 'empty-poll.ts') })
      const [rf, ra] = pinned(cpu, path.join(BIN, 'syscall-cost'), [String(p.syscallCalls)])
      const r = await run(rf, ra, 300_000)
      if (r.code !== 0) throw new Error(`syscall-cost failed: ${r.stderr}`)
      native.push({ round, ...lastJson(r.stdout, 'syscall-cost') })
      const nr = node.at(-1)
      const rr = native.at(-1)
      log(
        `empty-poll round ${round + 1} (CPU ns/call, wall in brackets): node-mio ${nr.poll_wrapper_cpu_ns.toFixed(0)} (${nr.poll_wrapper_ns.toFixed(0)}), ` +
          `raw binding ${nr.poll_raw_cpu_ns.toFixed(0)} (${nr.poll_raw_ns.toFixed(0)}), mio ${rr.empty_poll_cpu_ns} (${rr.empty_poll_ns}), ` +
          `epoll_wait ${rr.epoll_wait_cpu_ns} (${rr.epoll_wait_ns})`,
      )
    }
    // Primary: CPU time per call (the machine's other work does not inflate
    // it); wall-clock beside it. Differences are per round, then the median.
    const both = node.map((n, i) => ({ ...n, ...native[i] }))
    const diff = (a, b) => round2(median(both.map((r) => r[a] - r[b])))
    emptyPoll = {
      measure: 'CPU time per call (process CPU time over the loop / calls); *_wall_ns: wall-clock',
      node_mio_ns: round2(medianOf(node, 'poll_wrapper_cpu_ns')),
      node_mio_raw_binding_ns: round2(medianOf(node, 'poll_raw_cpu_ns')),
      mio_native_ns: round2(medianOf(native, 'empty_poll_cpu_ns')),
      epoll_wait_ns: round2(medianOf(native, 'epoll_wait_cpu_ns')),
      node_mio_minus_epoll_wait_ns: diff('poll_wrapper_cpu_ns', 'epoll_wait_cpu_ns'),
      node_mio_minus_mio_native_ns: diff('poll_wrapper_cpu_ns', 'empty_poll_cpu_ns'),
      wrapper_minus_raw_binding_ns: diff('poll_wrapper_cpu_ns', 'poll_raw_cpu_ns'),
      node_mio_wall_ns: round2(medianOf(node, 'poll_wrapper_ns')),
      node_mio_raw_binding_wall_ns: round2(medianOf(node, 'poll_raw_ns')),
      mio_native_wall_ns: round2(medianOf(native, 'empty_poll_ns')),
      epoll_wait_wall_ns: round2(medianOf(native, 'epoll_wait_ns')),
      node_mio_minus_epoll_wait_wall_ns: diff('poll_wrapper_ns', 'epoll_wait_ns'),
      read_would_block_node_mio_ns: round2(medianOf(node, 'read_would_block_wrapper_cpu_ns')),
      read_would_block_mio_native_ns: round2(medianOf(native, 'read_would_block_cpu_ns')),
      read_would_block_diff_ns: diff('read_would_block_wrapper_cpu_ns', 'read_would_block_cpu_ns'),
      calls_per_round: p.pollCalls,
      rounds: both,
    }
    const label = 'Empty poll: poll(events, 0), nothing ready (CPU ns per call)'
    const nsRow = (server, ns, wall, note) => ({
      scenario: 'empty-poll',
      label,
      server,
      status: 'ok',
      ns_per_call: ns,
      wall_ns_per_call: wall,
      cpu_us_per_op: ns === null ? null : round2(ns / 1000),
      ops_per_s: wall === null ? null : round2(1e9 / wall),
      p50_us: null,
      p99_us: null,
      note,
    })
    const e = emptyPoll
    rows.push(
      nsRow('node-mio', e.node_mio_ns, e.node_mio_wall_ns, 'Poll.poll(events, 0) (public wrapper)'),
      nsRow('node-mio (raw binding)', e.node_mio_raw_binding_ns, e.node_mio_raw_binding_wall_ns, 'fastCalls().pollPoll, no wrapper'),
      nsRow('mio-native', e.mio_native_ns, e.mio_native_wall_ns, 'mio Poll::poll(Some(ZERO)) from Rust'),
      nsRow('raw epoll_wait', e.epoll_wait_ns, e.epoll_wait_wall_ns, 'libc::epoll_wait(timeout 0) from Rust'),
    )
    ratios.push({ scenario: 'empty-poll', ratio: 'node-mio - raw epoll_wait (CPU ns)', difference_ns: e.node_mio_minus_epoll_wait_ns })
    ratios.push({ scenario: 'empty-poll', ratio: 'node-mio - raw epoll_wait (wall ns)', difference_ns: e.node_mio_minus_epoll_wait_wall_ns })
    ratios.push({ scenario: 'empty-poll', ratio: 'node-mio - mio-native (CPU ns)', difference_ns: e.node_mio_minus_mio_native_ns })
    ratios.push({ scenario: 'empty-poll', ratio: 'node-mio wrapper - raw binding (CPU ns)', difference_ns: e.wrapper_minus_raw_binding_ns })
    ratios.push({ scenario: 'empty-poll', ratio: 'read() would block: node-mio - mio-native (CPU ns)', difference_ns: e.read_would_block_diff_ns })
  }

  // ---- allocation
  let alloc = null
  if (wanted('allocation')) {
    const runs = []
    for (let round = 0; round < p.rounds; round++) {
      const [af, aa] = pinned(pinning.enabled ? pinning.server_cpu : null, process.execPath, [
        '--expose-gc',
        '--import',
        'tsx',
        'bench/alloc.ts',
        String(p.allocEvents),
        '16',
      ])
      const a = await run(af, aa, 600_000)
      if (a.code !== 0) throw new Error(`bench/alloc.ts failed: ${a.stderr}`)
      runs.push(lastJson(a.stdout, 'alloc.ts'))
      const last = runs.at(-1)
      log(
        `allocation round ${round + 1}: ` +
          Object.entries(last)
            .map(([k, v]) => `${k} ${Math.round(v.bytes_per_million_events)} B/Mev, ${v.gc_runs} GCs`)
            .join('; '),
      )
    }
    alloc = {}
    const labels = {
      tcp: 'node-mio TCP (poll + read + write)',
      udp: 'node-mio UDP (poll + recvFrom + sendTo)',
      'poll-empty': 'node-mio poll(events, 0), nothing ready',
    }
    for (const variant of Object.keys(labels)) {
      const rs = runs.map((r) => r[variant])
      alloc[variant] = {
        bytes_per_million_events: round2(medianOf(rs, 'bytes_per_million_events')),
        gc_per_million_events: round2(medianOf(rs, 'gc_per_million_events')),
        gc_runs: medianOf(rs, 'gc_runs'),
        retained_bytes: medianOf(rs, 'retained_bytes'),
        events_per_round: rs[0].events,
        rounds: rs,
      }
      rows.push({
        scenario: 'allocation',
        label: 'Allocation in steady state (per million events)',
        server: labels[variant],
        status: 'ok',
        cpu_us_per_op: null,
        ops_per_s: round2(medianOf(rs.map((r) => ({ v: r.events / r.seconds })), 'v')),
        p50_us: null,
        p99_us: null,
        heap_bytes_per_million_events: alloc[variant].bytes_per_million_events,
        gc_per_million_events: alloc[variant].gc_per_million_events,
        retained_bytes: alloc[variant].retained_bytes,
      })
    }
  }

  // ---- descriptor events
  let descriptorEvents = null
  const fdScenarios = descriptorScenarios(p).filter((s) => wanted(s.id))
  if (fdScenarios.length > 0) {
    const epoll = ensureEpollPackage(log)
    if (!epoll.ok) log(`descriptor events: the epoll npm package is skipped: ${epoll.reason}`)
    descriptorEvents = {
      measure: 'events per CPU second of the watching process (utime + stime of all its threads from /proc/<pid>/stat over the window); ns_per_event = its inverse',
      producer: 'bench/native/src/bin/pipe-writer.rs: one byte per FIFO whenever the last was read (FIONREAD), all FIFOs armed at once',
      epoll_package: epoll,
      scenarios: [],
    }
    const watchers = FD_WATCHERS.filter((w) => w.name !== 'epoll-npm' || epoll.ok)
    const failed = new Map() // watcher -> reason (epoll-npm only: its failures skip it, not the run)
    for (const scenario of fdScenarios) {
      const perWatcher = new Map(watchers.map((w) => [w.name, []]))
      for (let round = 0; round < p.rounds; round++) {
        const order = watchers.map((_, i) => watchers[(i + round) % watchers.length])
        for (const watcher of order) {
          if (failed.has(watcher.name)) continue
          let result
          try {
            result = await runDescriptorRound(watcher, scenario, p)
          } catch (error) {
            if (watcher.name !== 'epoll-npm') throw error
            failed.set(watcher.name, `failed in ${scenario.id} round ${round + 1}: ${error.message.split('\n')[0]}`)
            log(`descriptor events: epoll-npm ${failed.get(watcher.name)}; skipping it`)
            continue
          }
          result.round = round
          perWatcher.get(watcher.name).push(result)
          log(
            `${scenario.id} round ${round + 1} ${watcher.name}: ${Math.round(result.events_per_cpu_s).toLocaleString('en-US')} events/CPU s ` +
              `(${result.cpu_ns_per_event.toFixed(0)} ns/event), ${Math.round(result.events_per_s).toLocaleString('en-US')} events/s, ` +
              `watcher CPU ${Math.round(result.watcher_cpu_util * 100)}%, verified ${result.verified}`,
          )
        }
      }
      for (const watcher of FD_WATCHERS) {
        const rs = perWatcher.get(watcher.name) ?? []
        const reason = watcher.name === 'epoll-npm' && !epoll.ok ? epoll.reason : failed.get(watcher.name)
        if (rs.length === 0 || reason !== undefined) {
          rows.push({
            scenario: scenario.id,
            label: scenario.label,
            server: watcher.name,
            status: 'skipped',
            note: `skipped: ${reason ?? 'no round completed'}`,
            cpu_us_per_op: null,
            ops_per_s: null,
            p50_us: null,
            p99_us: null,
            params: scenario.params,
          })
          continue
        }
        const ns = medianOf(rs, 'cpu_ns_per_event')
        rows.push({
          scenario: scenario.id,
          label: scenario.label,
          server: watcher.name,
          status: 'ok',
          cpu_us_per_op: round2(ns === null ? null : ns / 1000),
          ops_per_s: round2(medianOf(rs, 'events_per_s')),
          p50_us: null,
          p99_us: null,
          events_per_cpu_s: round2(medianOf(rs, 'events_per_cpu_s')),
          ns_per_event: round2(ns),
          server_cpu_util: round2(medianOf(rs, 'watcher_cpu_util')),
          client_cpu_util: round2(medianOf(rs, 'producer_cpu_util')),
          verified: rs.every((r) => r.verified),
          note: watcher.note,
          params: scenario.params,
          rounds: rs,
        })
      }
      const get = (name) => perWatcher.get(name) ?? []
      for (const [a, b] of [
        ['node-mio-watch', 'epoll-npm'],
        ['node-mio-blocking', 'epoll-npm'],
        ['node-mio-watch', 'node-mio-blocking'],
      ]) {
        if (get(a).length === 0 || get(b).length === 0 || failed.has(a) || failed.has(b)) continue
        ratios.push({
          scenario: scenario.id,
          ratio: `${a} / ${b}`,
          events_per_cpu_s: round2(ratioOf(get(a), get(b), 'events_per_cpu_s')),
          cpu_us_per_op: round2(ratioOf(get(a), get(b), 'cpu_ns_per_event')),
          ops_per_s: round2(ratioOf(get(a), get(b), 'events_per_s')),
          p50_us: null,
          p99_us: null,
        })
      }
      descriptorEvents.scenarios.push({ id: scenario.id, params: scenario.params })
    }
  }

  info.loadavg_end = os.loadavg().map((x) => Number(x.toFixed(2)))
  info.duration_s = Math.round((Date.now() - began) / 1000)
  const targets = judge(rows, ratios, emptyPoll, alloc)
  const results = { machine: info, scenarios: rows, ratios, empty_poll: emptyPoll, allocation: alloc, descriptor_events: descriptorEvents, targets }

  process.stdout.write(render(results))
  if (opts.json) {
    const file = path.resolve(process.cwd(), opts.json)
    mkdirSync(path.dirname(file), { recursive: true })
    writeFileSync(file, JSON.stringify(results, null, 2) + '\n')
    log(`wrote ${path.relative(process.cwd(), file)}`)
    if (opts.chart) {
      const chart = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'bench-chart.mjs'), file, path.resolve(process.cwd(), opts.chart)], {
        stdio: ['ignore', 'inherit', 'inherit'],
        timeout: 120_000,
      })
      if (chart.status !== 0) throw new Error('scripts/bench-chart.mjs failed')
    }
  } else if (opts.chart) {
    throw new Error('--chart needs --json FILE')
  }
  log(`done in ${info.duration_s} s`)
}

// ---------------------------------------------------------------- targets

function judge(rows, ratios, emptyPoll, alloc) {
  const ratio = (scenario, name, field) => ratios.find((r) => r.scenario === scenario && r.ratio === name)?.[field] ?? null
  const out = []
  const add = (target, value, limit, met, detail) => out.push({ target, value, limit, met: value === null ? null : met, detail })

  const vsNative = ratio('tcp-echo-64B-x50', 'node-mio-blocking / mio-native', 'cpu_us_per_op')
  add(
    'TCP echo 64 B x 50: node-mio CPU per round trip within 1.15x of mio-native',
    vsNative,
    1.15,
    vsNative !== null && vsNative <= 1.15,
    vsNative === null ? 'not run' : vsNative <= 1.15 ? `${vsNative.toFixed(3)}x` : `${vsNative.toFixed(3)}x: ${((vsNative / 1.15 - 1) * 100).toFixed(1)}% over the limit`,
  )
  const vsNet = ratio('tcp-echo-64B-x50', 'node-mio-blocking / node-net', 'cpu_us_per_op')
  const netLimit = 1 / 1.4
  add(
    "TCP echo 64 B x 50: node-mio CPU per round trip at most 1/1.4 (0.714x) of node-net's",
    vsNet,
    round2(netLimit),
    vsNet !== null && vsNet <= netLimit,
    vsNet === null ? 'not run' : `${vsNet.toFixed(3)}x (node-net costs ${(1 / vsNet).toFixed(2)}x node-mio)`,
  )
  const bulk = ratio('tcp-bulk', 'node-mio-blocking / mio-native', 'ops_per_s')
  add(
    'Bulk: node-mio throughput >= 0.9x mio-native',
    bulk,
    0.9,
    bulk !== null && bulk >= 0.9,
    bulk === null ? 'not run' : bulk >= 0.9 ? `${bulk.toFixed(3)}x` : `${bulk.toFixed(3)}x: ${((1 - bulk / 0.9) * 100).toFixed(1)}% short`,
  )
  const above = emptyPoll?.node_mio_minus_epoll_wait_ns ?? null
  add(
    'Empty poll: node-mio at most 100 ns above the raw syscall (CPU time per call)',
    above,
    100,
    above !== null && above <= 100,
    above === null ? 'not run' : above <= 100 ? `+${above.toFixed(0)} ns` : `+${above.toFixed(0)} ns: ${(above - 100).toFixed(0)} ns over`,
  )
  const tcp = alloc?.tcp ?? null
  // No per-event allocation: under 1 byte per event (any object is >= 16 B) and no GC.
  add(
    "Allocation: zero heap growth and no GC from node-mio's own calls (TCP poll/read/write)",
    tcp === null ? null : tcp.bytes_per_million_events,
    0,
    tcp !== null && tcp.gc_runs === 0 && tcp.bytes_per_million_events < 1e6,
    tcp === null ? 'not run' : `${Math.round(tcp.bytes_per_million_events)} B and ${tcp.gc_per_million_events} GCs per million events`,
  )
  const udp = alloc?.udp ?? null
  add(
    "Allocation: zero heap growth and no GC from node-mio's own calls (UDP recvFrom/sendTo)",
    udp === null ? null : udp.bytes_per_million_events,
    0,
    udp !== null && udp.gc_runs === 0 && udp.bytes_per_million_events < 1e6,
    udp === null ? 'not run' : `${Math.round(udp.bytes_per_million_events)} B and ${udp.gc_per_million_events} GCs per million events`,
  )
  const fd = ratio('descriptor-events-16-fifos', 'node-mio-watch / epoll-npm', 'events_per_cpu_s')
  const fdBlocking = ratio('descriptor-events-16-fifos', 'node-mio-blocking / epoll-npm', 'events_per_cpu_s')
  const fdOne = ratio('descriptor-events-one-fifo', 'node-mio-watch / epoll-npm', 'events_per_cpu_s')
  const epollSkipped = rows.find((r) => r.scenario.startsWith('descriptor-events') && r.server === 'epoll-npm' && r.status === 'skipped')
  add(
    "Descriptor events: at least 3x the epoll package's events per CPU second (16 FIFOs, node-mio watch mode)",
    fd,
    3,
    fd !== null && fd >= 3,
    fd === null
      ? epollSkipped
        ? `not measured: ${epollSkipped.note}`
        : 'not run'
      : `${fd.toFixed(2)}x` +
          (fdBlocking === null ? '' : ` (blocking poll: ${fdBlocking.toFixed(2)}x)`) +
          (fdOne === null ? '' : `; 1 FIFO, one event at a time: ${fdOne.toFixed(2)}x`),
  )
  return out
}

// ---------------------------------------------------------------- rendering

function fmt(x, digits = 3) {
  if (x === null || x === undefined) return ''
  if (typeof x !== 'number') return String(x)
  if (Math.abs(x) >= 1e5) return Math.round(x).toLocaleString('en-US')
  return Number(x.toPrecision(digits)).toLocaleString('en-US', { maximumFractionDigits: 3 })
}

function table(header, body) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => String(r[i]).length)))
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n') + '\n'
}

function render({ machine: m, scenarios, ratios, targets }) {
  let out = `\nnode-mio benchmarks (${m.profile}, median of ${m.rounds} rounds): ${m.cpu_model}, ${m.cpus} CPUs, ${m.kernel}, Node ${m.node}, mio ${m.mio}\n`
  out += `pinning: ${m.pinning}; load average ${m.loadavg_start.join(' ')} -> ${m.loadavg_end.join(' ')}\n\n`
  const body = []
  for (const r of scenarios) {
    const notes = []
    if (r.status === 'pending' || r.status === 'skipped') notes.push(r.note)
    if (r.events_per_cpu_s !== undefined) {
      notes.push(`${fmt(r.events_per_cpu_s)} events per CPU s (${fmt(r.ns_per_event)} ns/event); ${r.note}; verified: ${r.verified}`)
    }
    if (r.mib_per_s) notes.push(`${fmt(r.mib_per_s)} MiB/s, ${fmt(r.cpu_ms_per_gib)} ms CPU/GiB, verified: ${r.verified}`)
    if (r.ns_per_call !== undefined) notes.push(`${fmt(r.ns_per_call)} CPU ns/call (wall ${fmt(r.wall_ns_per_call)} ns); ${r.note}`)
    if (r.heap_bytes_per_million_events !== undefined) {
      notes.push(`${fmt(r.heap_bytes_per_million_events)} heap B/Mevent, ${fmt(r.gc_per_million_events)} GC/Mevent, retained ${fmt(r.retained_bytes)} B`)
    }
    if (r.lost) notes.push(`${r.lost} datagrams lost`)
    if (r.server_cpu_util !== undefined && r.server_cpu_util !== null) {
      const [self, peer] = r.events_per_cpu_s !== undefined ? ['watcher', 'writer'] : ['server', 'client']
      notes.push(`${self} CPU ${Math.round(r.server_cpu_util * 100)}%, ${peer} ${Math.round(r.client_cpu_util * 100)}%`)
    }
    body.push([r.scenario, r.server, fmt(r.cpu_us_per_op), fmt(r.ops_per_s), fmt(r.p50_us), fmt(r.p99_us), notes.join('; ')])
  }
  out += table(['scenario', 'server', 'server CPU µs/op', 'ops/s', 'p50 µs', 'p99 µs', 'notes'], body)
  out += '\nRatios (same run: median over rounds of the per-round ratio)\n\n'
  out += table(
    ['scenario', 'ratio', 'CPU/op', 'ops/s', 'p50', 'p99', 'events/CPU s'],
    ratios.map((r) =>
      r.difference_ns !== undefined
        ? [r.scenario, r.ratio, `${fmt(r.difference_ns)} ns`, '', '', '', '']
        : [r.scenario, r.ratio, fmt(r.cpu_us_per_op), fmt(r.ops_per_s), fmt(r.p50_us), fmt(r.p99_us), fmt(r.events_per_cpu_s)],
    ),
  )
  out += '\nTargets\n\n'
  out += table(
    ['target', 'result', 'met'],
    targets.map((t) => [t.target, t.detail, t.met === null ? 'n/a' : t.met ? 'yes' : 'NO']),
  )
  return out
}

main().catch((error) => {
  killAll()
  console.error(`bench: ${error.stack ?? error}`)
  process.exitCode = 1
})
