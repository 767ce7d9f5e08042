// The drop-ins against the packages they replace, each pair side by side in
// every round:
//
// - epoll: the `epoll` package's own test/performance-check.js (level-
//   triggered EPOLLIN events on a stdin pipe holding one unread newline, for
//   1 s; it prints events per second), run on the real package built in
//   bench/peers and, from node_modules/epoll (the same 4.0.2 file), on
//   node-mio/epoll through __test__/fixtures/compat-resolve.cjs.
// - unix-dgram: 64-byte datagrams over a connected socket
//   (bench/unix-dgram/peer.cjs), the measured side on node-mio/unix-dgram
//   or on the `unix-dgram` package built in bench/peers, its peer native
//   (bench/native/src/bin/dgram-peer.rs, blocking calls on the other CPU)
//   so that the measured side sets the pace: datagrams per CPU second of
//   the measured process, send side and receive side.
//
// The packages are installed on demand (bench/lib/peers.mjs); when that
// cannot be done, their rows say why and the rest of the run goes on.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { BIN, PEERS, ROOT } from '../lib/paths.mjs'
import { ensureEpollPackage, ensureUnixDgramPackage } from '../lib/peers.mjs'
import { follow, lastJson, pinned, pinning, start, tail } from '../lib/processes.mjs'
import { medianOf, ratioOf, rotated, round2 } from '../lib/stats.mjs'
import { ratioIn, target } from '../lib/targets.mjs'

const PRELOAD = path.join(ROOT, '__test__', 'fixtures', 'compat-resolve.cjs')
const PERFORMANCE_CHECK = {
  'node-mio': path.join(ROOT, 'node_modules', 'epoll', 'test', 'performance-check.js'),
  'epoll-npm': path.join(PEERS, 'node_modules', 'epoll', 'test', 'performance-check.js'),
}

/** One run of performance-check.js: its own events-per-second line. */
async function performanceCheck(impl) {
  const args = impl === 'node-mio' ? ['-r', PRELOAD, PERFORMANCE_CHECK[impl]] : [PERFORMANCE_CHECK[impl]]
  const child = start(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  // As its run-tests script does: `echo | node performance-check`.
  child.stdin.end('\n')
  const out = follow(child, `performance-check.js (${impl})`)
  const exit = await out.finished(30_000)
  const rate = /(\d+) events per second/.exec(out.stdout)
  if (exit.code !== 0 || rate === null) throw new Error(`performance-check.js on ${impl} failed (exit ${exit.code ?? exit.signal}): ${tail(out.stderr || out.stdout)}`)
  return { events_per_s: Number(rate[1]) }
}

/** The first JSON line `state` (a followed child) printed, waiting at most `ms`. */
async function jsonLine(state, what, ms) {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (/^\{/m.test(state.stdout)) return lastJson(state.stdout, what)
    if (state.exit !== null) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`${what} printed no result (exit ${JSON.stringify(state.exit)}): ${tail(state.stderr)}`)
}

/** One round of the unix-dgram scenario: `role` (send|recv) measured on `impl`. */
async function dgramRound(role, impl, p) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'node-mio-bench-dgram-'))
  const sock = path.join(dir, 'sink.sock')
  const started = []
  try {
    const measured = ['bench/unix-dgram/peer.cjs', role, impl, sock, String(p.dgramWarmup), String(p.dgramSecs)]
    const native = path.join(BIN, 'dgram-peer')
    const spawnMeasured = () => {
      const [f, a] = pinned(pinning.server_cpu, process.execPath, measured)
      const child = start(f, a, { stdio: ['pipe', 'pipe', 'pipe'] })
      started.push(child)
      return follow(child, `peer.cjs ${role} ${impl}`)
    }
    const spawnNative = (args) => {
      const [f, a] = pinned(pinning.client_cpu, native, args)
      const child = start(f, a, { stdio: ['pipe', 'pipe', 'pipe'] })
      started.push(child)
      return follow(child, `dgram-peer ${args[0]}`)
    }
    let result
    if (role === 'recv') {
      const receiver = spawnMeasured()
      await receiver.waitFor('ready', 15_000)
      const blaster = spawnNative(['blast', sock, '64'])
      await blaster.waitFor('ready', 15_000)
      result = await jsonLine(receiver, `the ${impl} receiver`, (p.dgramWarmup + p.dgramSecs + 20) * 1000)
    } else {
      const sink = spawnNative(['sink', sock])
      await sink.waitFor('ready', 15_000)
      const sender = spawnMeasured()
      result = await jsonLine(sender, `the ${impl} sender`, (p.dgramWarmup + p.dgramSecs + 20) * 1000)
    }
    return result
  } finally {
    for (const child of started) {
      child.stdin?.end()
      if (child.exitCode === null && child.signalCode === null) setTimeout(() => child.kill('SIGKILL'), 2000).unref()
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    rmSync(dir, { recursive: true, force: true })
  }
}

function row(scenario, label, server, rs, reason, note, params, field) {
  if (rs.length === 0 || reason !== undefined) {
    return { scenario, label, server, status: 'skipped', note: `skipped: ${reason ?? 'no round completed'}`, cpu_us_per_op: null, ops_per_s: null, p50_us: null, p99_us: null, params }
  }
  const perCpu = medianOf(rs, field)
  return {
    scenario,
    label,
    server,
    status: 'ok',
    cpu_us_per_op: field === 'messages_per_cpu_s' && perCpu ? round2(1e6 / perCpu) : null,
    ops_per_s: round2(medianOf(rs, field === 'messages_per_cpu_s' ? 'messages_per_s' : 'events_per_s')),
    p50_us: null,
    p99_us: null,
    [field]: round2(perCpu),
    note,
    params,
    rounds: rs,
  }
}

async function runDropIns({ p, wanted, log }) {
  const rows = []
  const ratios = []
  const section = { scenarios: [] }
  // Ratios in the table's columns: events per second as `ops_per_s`,
  // datagrams per CPU second as `events_per_cpu_s`, with CPU per datagram.
  const ratioRow = (scenario, a, b, as, bs, field) =>
    ratios.push({
      scenario,
      ratio: `${a} / ${b}`,
      cpu_us_per_op: field === 'messages_per_cpu_s' ? round2(ratioOf(bs, as, field)) : null,
      ops_per_s: field === 'events_per_s' ? round2(ratioOf(as, bs, field)) : null,
      events_per_cpu_s: field === 'messages_per_cpu_s' ? round2(ratioOf(as, bs, field)) : null,
      p50_us: null,
      p99_us: null,
    })

  if (wanted('epoll-performance-check')) {
    const epoll = ensureEpollPackage(log)
    section.epoll_package = epoll
    const impls = epoll.ok ? ['node-mio', 'epoll-npm'] : ['node-mio']
    const got = new Map(impls.map((i) => [i, []]))
    for (let round = 0; round < p.rounds; round++) {
      for (const impl of rotated(impls, round)) {
        const r = await performanceCheck(impl)
        r.round = round
        got.get(impl).push(r)
        log(`epoll-performance-check round ${round + 1} ${impl}: ${r.events_per_s.toLocaleString('en-US')} events/s`)
      }
    }
    const label = "epoll's test/performance-check.js: level-triggered events per second (1 s, one unread newline on a stdin pipe)"
    const params = { file: 'test/performance-check.js of epoll 4.0.2', seconds: 1 }
    rows.push(row('epoll-performance-check', label, 'node-mio-epoll', got.get('node-mio'), undefined, 'node-mio/epoll (watch mode, poll(2) re-check per turn)', params, 'events_per_s'))
    rows.push(row('epoll-performance-check', label, 'epoll-npm', got.get('epoll-npm') ?? [], epoll.ok ? undefined : epoll.reason, 'epoll package (watcher thread, one uv_async hop per event)', params, 'events_per_s'))
    if (epoll.ok) ratioRow('epoll-performance-check', 'node-mio-epoll', 'epoll-npm', got.get('node-mio'), got.get('epoll-npm'), 'events_per_s')
    section.scenarios.push({ id: 'epoll-performance-check', params })
  }

  for (const role of ['send', 'recv']) {
    const id = `unix-dgram-${role}`
    if (!wanted(id)) continue
    const pkg = ensureUnixDgramPackage(log)
    section.unix_dgram_package = pkg
    const impls = pkg.ok ? ['node-mio', 'unix-dgram-npm'] : ['node-mio']
    const got = new Map(impls.map((i) => [i, []]))
    for (let round = 0; round < p.rounds; round++) {
      for (const impl of rotated(impls, round)) {
        const r = await dgramRound(role, impl, p)
        r.round = round
        got.get(impl).push(r)
        log(
          `${id} round ${round + 1} ${impl}: ${Math.round(r.messages_per_cpu_s).toLocaleString('en-US')} datagrams/CPU s, ` +
            `${Math.round(r.messages_per_s).toLocaleString('en-US')} datagrams/s, CPU ${Math.round((r.cpu_s / r.seconds) * 100)}%`,
        )
      }
    }
    const label = `unix-dgram ${role === 'send' ? 'send' : 'receive'} side: 64-byte datagrams per CPU second of the ${role === 'send' ? 'sender' : 'receiver'} (peer: native, blocking)`
    const params = { bytes: 64, warmup_s: p.dgramWarmup, window_s: p.dgramSecs, peer: role === 'send' ? 'dgram-peer sink' : 'dgram-peer blast' }
    rows.push(row(id, label, 'node-mio-unix-dgram', got.get('node-mio'), undefined, 'node-mio/unix-dgram (one Poll per thread, watch mode)', params, 'messages_per_cpu_s'))
    rows.push(row(id, label, 'unix-dgram-npm', got.get('unix-dgram-npm') ?? [], pkg.ok ? undefined : pkg.reason, 'unix-dgram package (uv_poll per socket)', params, 'messages_per_cpu_s'))
    if (pkg.ok) ratioRow(id, 'node-mio-unix-dgram', 'unix-dgram-npm', got.get('node-mio'), got.get('unix-dgram-npm'), 'messages_per_cpu_s')
    section.scenarios.push({ id, params })
  }
  if (section.scenarios.length === 0) return null
  return { rows, ratios, section }
}

function dropInTargets(results) {
  const epoll = ratioIn(results, 'epoll-performance-check', 'node-mio-epoll / epoll-npm', 'ops_per_s')
  const send = ratioIn(results, 'unix-dgram-send', 'node-mio-unix-dgram / unix-dgram-npm', 'events_per_cpu_s')
  const recv = ratioIn(results, 'unix-dgram-recv', 'node-mio-unix-dgram / unix-dgram-npm', 'events_per_cpu_s')
  const fmt = (x) => (x === null ? 'not measured' : `${x.toFixed(2)}x`)
  return [
    target("node-mio/epoll: at least 3x the epoll package's events per second in its own performance-check.js", epoll, 3, epoll !== null && epoll >= 3, fmt(epoll)),
    target("node-mio/unix-dgram: at least 1.5x the unix-dgram package's datagrams per CPU second, send side", send, 1.5, send !== null && send >= 1.5, fmt(send)),
    target("node-mio/unix-dgram: at least 1.5x the unix-dgram package's datagrams per CPU second, receive side", recv, 1.5, recv !== null && recv >= 1.5, fmt(recv)),
  ]
}

export default {
  name: 'drop-ins',
  natives: ['dgram-peer'],
  section: 'drop_ins',
  profiles: {
    quick: { dgramWarmup: 0.5, dgramSecs: 1 },
    full: { dgramWarmup: 1, dgramSecs: 3 },
  },
  run: runDropIns,
  targets: dropInTargets,
}
