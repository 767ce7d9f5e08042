// Allocation: heap bytes and GC runs per million events for node-mio at both
// ends of loopback connections in one process (bench/alloc.ts), on the
// measured CPU.
import { lastJson, pinned, pinning, run } from '../lib/processes.mjs'
import { medianOf, round2 } from '../lib/stats.mjs'
import { target } from '../lib/targets.mjs'

const ID = 'allocation'

/** bench/alloc.ts's variants, in the order of the rows. */
const VARIANTS = {
  tcp: 'node-mio TCP (poll + read + write)',
  udp: 'node-mio UDP (poll + recvFrom + sendTo)',
  'poll-empty': 'node-mio poll(events, 0), nothing ready',
}

async function runAlloc({ p, wanted, log }) {
  if (!wanted(ID)) return null
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
  const section = {}
  const rows = []
  for (const [variant, label] of Object.entries(VARIANTS)) {
    const rs = runs.map((r) => r[variant])
    section[variant] = {
      bytes_per_million_events: round2(medianOf(rs, 'bytes_per_million_events')),
      gc_per_million_events: round2(medianOf(rs, 'gc_per_million_events')),
      gc_runs: medianOf(rs, 'gc_runs'),
      retained_bytes: medianOf(rs, 'retained_bytes'),
      events_per_round: rs[0].events,
      rounds: rs,
    }
    rows.push({
      scenario: ID,
      label: 'Allocation in steady state (per million events)',
      server: label,
      status: 'ok',
      cpu_us_per_op: null,
      ops_per_s: round2(medianOf(rs.map((r) => ({ v: r.events / r.seconds })), 'v')),
      p50_us: null,
      p99_us: null,
      heap_bytes_per_million_events: section[variant].bytes_per_million_events,
      gc_per_million_events: section[variant].gc_per_million_events,
      retained_bytes: section[variant].retained_bytes,
    })
  }
  return { rows, ratios: [], section }
}

/** No per-event allocation: under 1 byte per event (any object is >= 16 B) and no GC. */
function allocTarget(alloc, variant, name) {
  const v = alloc?.[variant] ?? null
  return target(
    name,
    v === null ? null : v.bytes_per_million_events,
    0,
    v !== null && v.gc_runs === 0 && v.bytes_per_million_events < 1e6,
    v === null ? 'not run' : `${Math.round(v.bytes_per_million_events)} B and ${v.gc_per_million_events} GCs per million events`,
  )
}

function allocTargets(results) {
  return [
    allocTarget(results.allocation, 'tcp', "Allocation: zero heap growth and no GC from node-mio's own calls (TCP poll/read/write)"),
    allocTarget(results.allocation, 'udp', "Allocation: zero heap growth and no GC from node-mio's own calls (UDP recvFrom/sendTo)"),
  ]
}

export default {
  name: 'allocation',
  natives: [],
  section: 'allocation',
  profiles: {
    quick: { allocEvents: 200_000 },
    full: { allocEvents: 1_000_000 },
  },
  run: runAlloc,
  targets: allocTargets,
}
