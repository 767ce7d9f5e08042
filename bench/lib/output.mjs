// The results of a run: the text tables on stdout, the JSON file, the chart.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ROOT } from './paths.mjs'

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

/** The text report: one row per scenario and server, the ratios, the targets. */
export function render({ machine: m, scenarios, ratios, targets }) {
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

/**
 * Writes `results` as JSON to `jsonFile` (relative to the working directory)
 * and, with `chartFile`, draws the chart from it (scripts/bench-chart.mjs).
 */
export function writeResults(results, jsonFile, chartFile, log) {
  const file = path.resolve(process.cwd(), jsonFile)
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n')
  log(`wrote ${path.relative(process.cwd(), file)}`)
  if (chartFile) {
    const chart = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'bench-chart.mjs'), file, path.resolve(process.cwd(), chartFile)], {
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: 120_000,
    })
    if (chart.status !== 0) throw new Error('scripts/bench-chart.mjs failed')
  }
}
