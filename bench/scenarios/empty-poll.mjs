// Empty poll: node-mio's `poll(events, 0)` with nothing ready, through the
// public wrapper and the raw binding (bench/empty-poll.ts), against mio and
// the bare `epoll_wait` from Rust (bench/native/src/bin/syscall-cost.rs),
// both on the measured CPU, and a read that would block beside it. Figure:
// CPU time per call (the machine's other work does not inflate it),
// wall-clock beside it.
import path from 'node:path'
import { BIN } from '../lib/paths.mjs'
import { lastJson, pinned, pinning, run } from '../lib/processes.mjs'
import { median, medianOf, round2 } from '../lib/stats.mjs'
import { target } from '../lib/targets.mjs'

const ID = 'empty-poll'
const LABEL = 'Empty poll: poll(events, 0), nothing ready (CPU ns per call)'

async function runEmptyPoll({ p, wanted, log }) {
  if (!wanted(ID)) return null
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
  // Differences are per round, then the median.
  const both = node.map((n, i) => ({ ...n, ...native[i] }))
  const diff = (a, b) => round2(median(both.map((r) => r[a] - r[b])))
  const e = {
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
  const nsRow = (server, ns, wall, note) => ({
    scenario: ID,
    label: LABEL,
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
  const rows = [
    nsRow('node-mio', e.node_mio_ns, e.node_mio_wall_ns, 'Poll.poll(events, 0) (public wrapper)'),
    nsRow('node-mio (raw binding)', e.node_mio_raw_binding_ns, e.node_mio_raw_binding_wall_ns, 'fastCalls().pollPoll, no wrapper'),
    nsRow('mio-native', e.mio_native_ns, e.mio_native_wall_ns, 'mio Poll::poll(Some(ZERO)) from Rust'),
    nsRow('raw epoll_wait', e.epoll_wait_ns, e.epoll_wait_wall_ns, 'libc::epoll_wait(timeout 0) from Rust'),
  ]
  const difference = (ratio, ns) => ({ scenario: ID, ratio, difference_ns: ns })
  const ratios = [
    difference('node-mio - raw epoll_wait (CPU ns)', e.node_mio_minus_epoll_wait_ns),
    difference('node-mio - raw epoll_wait (wall ns)', e.node_mio_minus_epoll_wait_wall_ns),
    difference('node-mio - mio-native (CPU ns)', e.node_mio_minus_mio_native_ns),
    difference('node-mio wrapper - raw binding (CPU ns)', e.wrapper_minus_raw_binding_ns),
    difference('read() would block: node-mio - mio-native (CPU ns)', e.read_would_block_diff_ns),
  ]
  return { rows, ratios, section: e }
}

function emptyPollTargets(results) {
  const above = results.empty_poll?.node_mio_minus_epoll_wait_ns ?? null
  return [
    target(
      'Empty poll: node-mio at most 100 ns above the raw syscall (CPU time per call)',
      above,
      100,
      above !== null && above <= 100,
      above === null ? 'not run' : above <= 100 ? `+${above.toFixed(0)} ns` : `+${above.toFixed(0)} ns: ${(above - 100).toFixed(0)} ns over`,
    ),
  ]
}

export default {
  name: 'empty poll',
  natives: ['syscall-cost'],
  section: 'empty_poll',
  profiles: {
    quick: { pollCalls: 200_000, syscallCalls: 200_000 },
    full: { pollCalls: 1_000_000, syscallCalls: 500_000 },
  },
  run: runEmptyPoll,
  targets: emptyPollTargets,
}
