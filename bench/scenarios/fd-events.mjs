// Descriptor events: FIFOs made readable one byte at a time by a native
// writer (bench/native/src/bin/pipe-writer.rs, on the peer CPU), watched on
// the measured CPU through node-mio's SourceFd (blocking poll and watch mode,
// bench/fd-events/node-mio.ts) and through the `epoll` npm package
// (bench/fd-events/epoll-npm.ts): events per CPU second of the watching
// process. `epoll` is installed on demand into bench/peers (bench/lib/peers.mjs);
// when that cannot be done, its rows say why and the rest of the run goes on.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { BIN, PEERS } from '../lib/paths.mjs'
import { ensureEpollPackage } from '../lib/peers.mjs'
import { follow, lastJson, pinned, pinning, start, tail } from '../lib/processes.mjs'
import { medianOf, ratioOf, rotated, round2 } from '../lib/stats.mjs'
import { ratioIn, target } from '../lib/targets.mjs'

const WATCHERS = [
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

/** Same-round ratios reported for every scenario, as [a, b] for a / b. */
const PAIRS = [
  ['node-mio-watch', 'epoll-npm'],
  ['node-mio-blocking', 'epoll-npm'],
  ['node-mio-watch', 'node-mio-blocking'],
]

function scenarios(p) {
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

/**
 * One round of one watcher: pipe-writer (peer CPU) makes the FIFOs, the
 * watcher (measured CPU) opens and registers them, pipe-writer runs the
 * window and reports; then it closes the FIFOs and the watcher reports its
 * own tally and exits.
 */
async function runRound(watcher, scenario, p) {
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

/** The row of one watcher in one scenario: its figures, or why it was skipped. */
function watcherRow(scenario, watcher, rs, reason) {
  if (rs.length === 0 || reason !== undefined) {
    return {
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
    }
  }
  const ns = medianOf(rs, 'cpu_ns_per_event')
  return {
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
  }
}

async function runFdEvents({ p, wanted, log }) {
  const selected = scenarios(p).filter((s) => wanted(s.id))
  if (selected.length === 0) return null
  const epoll = ensureEpollPackage(log)
  if (!epoll.ok) log(`descriptor events: the epoll npm package is skipped: ${epoll.reason}`)
  const section = {
    measure: 'events per CPU second of the watching process (utime + stime of all its threads from /proc/<pid>/stat over the window); ns_per_event = its inverse',
    producer: 'bench/native/src/bin/pipe-writer.rs: one byte per FIFO whenever the last was read (FIONREAD), all FIFOs armed at once',
    epoll_package: epoll,
    scenarios: [],
  }
  const rows = []
  const ratios = []
  const watchers = WATCHERS.filter((w) => w.name !== 'epoll-npm' || epoll.ok)
  const failed = new Map() // watcher -> reason (epoll-npm only: its failures skip it, not the run)
  for (const scenario of selected) {
    const perWatcher = new Map(watchers.map((w) => [w.name, []]))
    for (let round = 0; round < p.rounds; round++) {
      for (const watcher of rotated(watchers, round)) {
        if (failed.has(watcher.name)) continue
        let result
        try {
          result = await runRound(watcher, scenario, p)
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
    const get = (name) => perWatcher.get(name) ?? []
    for (const watcher of WATCHERS) {
      const reason = watcher.name === 'epoll-npm' && !epoll.ok ? epoll.reason : failed.get(watcher.name)
      rows.push(watcherRow(scenario, watcher, get(watcher.name), reason))
    }
    for (const [a, b] of PAIRS) {
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
    section.scenarios.push({ id: scenario.id, params: scenario.params })
  }
  return { rows, ratios, section }
}

function fdTargets(results) {
  const fd = ratioIn(results, 'descriptor-events-16-fifos', 'node-mio-watch / epoll-npm', 'events_per_cpu_s')
  const fdBlocking = ratioIn(results, 'descriptor-events-16-fifos', 'node-mio-blocking / epoll-npm', 'events_per_cpu_s')
  const fdOne = ratioIn(results, 'descriptor-events-one-fifo', 'node-mio-watch / epoll-npm', 'events_per_cpu_s')
  const epollSkipped = results.scenarios.find((r) => r.scenario.startsWith('descriptor-events') && r.server === 'epoll-npm' && r.status === 'skipped')
  return [
    target(
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
    ),
  ]
}

export default {
  name: 'descriptor events',
  natives: ['pipe-writer'],
  section: 'descriptor_events',
  profiles: {
    quick: { fdWarmup: 0.5, fdSecs: 1 },
    full: { fdWarmup: 1, fdSecs: 3 },
  },
  run: runFdEvents,
  targets: fdTargets,
}
