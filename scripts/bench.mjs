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
// the syscall floor, the pipe writer), then runs each scenario family of
// FAMILIES in turn; each is one module of bench/scenarios/ that says what it
// measures. The measured process is pinned to CPU 0 and its peer to CPU 1
// with `taskset` when both exist. Every figure is the median over the
// rounds; every comparison is a ratio of two figures of the same round
// (median over rounds). Every process started here is killed at the end, on
// errors and on Ctrl-C too.
//
// A scenario family module exports, as default:
//   name       what the logs call it
//   natives    the bench/native binaries it runs
//   section    its key in the JSON results, when it has a section of its own
//   profiles   { quick, full }: its settings for each profile
//   run(ctx)   ctx = { p, wanted, log }: resolves { rows, ratios, section },
//              or null when `wanted` selects none of its scenarios
//   targets(results)  its rows of the targets table (also when it did not run)
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadavg, machine } from '../bench/lib/machine.mjs'
import { render, writeResults } from '../bench/lib/output.mjs'
import { BIN, NATIVE, ROOT } from '../bench/lib/paths.mjs'
import { detectPinning, killAll } from '../bench/lib/processes.mjs'
import alloc from '../bench/scenarios/alloc.mjs'
import echo from '../bench/scenarios/echo.mjs'
import emptyPoll from '../bench/scenarios/empty-poll.mjs'
import fdEvents from '../bench/scenarios/fd-events.mjs'
import dropIns from '../bench/scenarios/drop-ins.mjs'

/** The scenario families, in the order they run and report. */
const FAMILIES = [echo, emptyPoll, alloc, fdEvents, dropIns]

const ROUNDS = { quick: 2, full: 5 }

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

/** The run's settings: its name and rounds, and every family's settings for it. */
function profile(opts) {
  const name = opts.quick ? 'quick' : 'full'
  const p = { name, rounds: opts.rounds ?? ROUNDS[name] }
  for (const family of FAMILIES) Object.assign(p, family.profiles[name])
  return p
}

function buildNative(log) {
  log('building bench/native (cargo build --release)')
  const b = spawnSync('cargo', ['build', '--release', '--manifest-path', path.join(NATIVE, 'Cargo.toml')], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 600_000,
  })
  if (b.status !== 0) throw new Error('cargo build of bench/native failed')
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  if (opts.chart && !opts.json) throw new Error('--chart needs --json FILE')
  const p = profile(opts)
  const wanted = (id) => opts.only === null || opts.only.some((o) => id.startsWith(o))
  const began = Date.now()
  const log = (msg) => process.stderr.write(`[bench ${((Date.now() - began) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`)

  if (process.platform !== 'linux') throw new Error('the benchmarks read /proc: Linux only')
  if (!existsSync(path.join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first')
  if (opts.build) buildNative(log)
  for (const bin of new Set(FAMILIES.flatMap((f) => f.natives))) {
    if (!existsSync(path.join(BIN, bin))) throw new Error(`${bin} is not built (drop --no-build)`)
  }

  detectPinning()
  const info = machine(p)
  log(`${info.cpu_model}, ${info.cpus} CPUs, ${info.kernel}, Node ${info.node}; ${p.name} run, ${p.rounds} rounds; pinning: ${info.pinning}`)

  const results = { machine: info, scenarios: [], ratios: [] }
  const sections = {}
  for (const family of FAMILIES) {
    const out = await family.run({ p, wanted, log })
    results.scenarios.push(...(out?.rows ?? []))
    results.ratios.push(...(out?.ratios ?? []))
    if (family.section) sections[family.section] = out?.section ?? null
  }
  Object.assign(results, sections)
  info.loadavg_end = loadavg()
  info.duration_s = Math.round((Date.now() - began) / 1000)
  results.targets = FAMILIES.flatMap((f) => f.targets(results))

  process.stdout.write(render(results))
  if (opts.json) writeResults(results, opts.json, opts.chart, log)
  log(`done in ${info.duration_s} s`)
}

main().catch((error) => {
  killAll()
  console.error(`bench: ${error.stack ?? error}`)
  process.exitCode = 1
})
