// Echo servers: one thread each, loopback, driven by the native load
// generator (bench/native/src/bin/loadgen.rs):
// - mio-native (bench/native/src/bin/echo-server.rs),
// - node-mio-blocking (a blocking poll() loop) and node-mio-watch (poll.watch
//   on Node's event loop), both bench/servers/node-mio-echo.ts,
// - node-net (bench/servers/node-net-echo.ts).
// Primary figure: the server's CPU time per round trip (utime + stime from
// /proc/<pid>/stat over the measured window, after warm-up), with throughput
// and latency beside it. The server runs on the measured CPU, the load
// generator on the other. Servers run in a rotating order, a new process per
// round.
import path from 'node:path'
import { BIN, MiB } from '../lib/paths.mjs'
import { lastJson, pinned, pinning, run, start } from '../lib/processes.mjs'
import { medianOf, ratioOf, rotated, round2 } from '../lib/stats.mjs'
import { ratioIn, target } from '../lib/targets.mjs'

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

/** Same-round ratios reported for every scenario, as [a, b] for a / b. */
const PAIRS = [
  ['node-mio-blocking', 'mio-native'],
  ['node-mio-blocking', 'node-net'],
  ['node-mio-watch', 'mio-native'],
  ['node-mio-watch', 'node-net'],
  ['node-mio-watch', 'node-mio-blocking'],
  ['node-net', 'mio-native'],
]

function scenarios(p) {
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

/** The row of one server in one scenario, from its rounds `rs`. */
function serverRow(scenario, server, rs) {
  if (server.pending) {
    return {
      scenario: scenario.id,
      label: scenario.label,
      server: server.name,
      status: 'pending',
      note: server.pending,
      cpu_us_per_op: null,
      ops_per_s: null,
      p50_us: null,
      p99_us: null,
    }
  }
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
  return row
}

async function runEcho({ p, wanted, log }) {
  const selected = scenarios(p).filter((s) => wanted(s.id))
  if (selected.length === 0) return null
  const rows = []
  const ratios = []
  const live = SERVERS.filter((s) => !s.pending)
  const total = selected.length * live.length * p.rounds
  let done = 0
  for (const scenario of selected) {
    const perServer = new Map(live.map((s) => [s.name, []]))
    for (let round = 0; round < p.rounds; round++) {
      for (const server of rotated(live, round)) {
        done++
        const { child, port, pid } = await startServer(server, scenario.proto)
        let result
        try {
          result = await runLoadgen(scenario, port, pid, p)
        } finally {
          await stopServer(child)
        }
        result.round = round
        perServer.get(server.name).push(result)
        log(
          `[${done}/${total}] ${scenario.id} round ${round + 1} ${server.name}: ${result.cpu_us_per_op?.toFixed(2)} µs CPU/op, ` +
            `${Math.round(result.ops_per_s)} ops/s, p50 ${result.p50_us?.toFixed(0)} µs` +
            (result.bytes ? `, ${(result.bytes_per_s / MiB).toFixed(0)} MiB/s, verified ${result.verified}` : ''),
        )
      }
    }
    const get = (name) => perServer.get(name) ?? []
    for (const server of SERVERS) rows.push(serverRow(scenario, server, get(server.name)))
    for (const [a, b] of PAIRS) {
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
  return { rows, ratios }
}

function echoTargets(results) {
  const out = []
  const vsNative = ratioIn(results, 'tcp-echo-64B-x50', 'node-mio-blocking / mio-native', 'cpu_us_per_op')
  out.push(
    target(
      'TCP echo 64 B x 50: node-mio CPU per round trip within 1.15x of mio-native',
      vsNative,
      1.15,
      vsNative !== null && vsNative <= 1.15,
      vsNative === null ? 'not run' : vsNative <= 1.15 ? `${vsNative.toFixed(3)}x` : `${vsNative.toFixed(3)}x: ${((vsNative / 1.15 - 1) * 100).toFixed(1)}% over the limit`,
    ),
  )
  const vsNet = ratioIn(results, 'tcp-echo-64B-x50', 'node-mio-blocking / node-net', 'cpu_us_per_op')
  const netLimit = 1 / 1.4
  out.push(
    target(
      "TCP echo 64 B x 50: node-mio CPU per round trip at most 1/1.4 (0.714x) of node-net's",
      vsNet,
      round2(netLimit),
      vsNet !== null && vsNet <= netLimit,
      vsNet === null ? 'not run' : `${vsNet.toFixed(3)}x (node-net costs ${(1 / vsNet).toFixed(2)}x node-mio)`,
    ),
  )
  const bulk = ratioIn(results, 'tcp-bulk', 'node-mio-blocking / mio-native', 'ops_per_s')
  out.push(
    target(
      'Bulk: node-mio throughput >= 0.9x mio-native',
      bulk,
      0.9,
      bulk !== null && bulk >= 0.9,
      bulk === null ? 'not run' : bulk >= 0.9 ? `${bulk.toFixed(3)}x` : `${bulk.toFixed(3)}x: ${((1 - bulk / 0.9) * 100).toFixed(1)}% short`,
    ),
  )
  return out
}

export default {
  name: 'echo servers',
  natives: ['echo-server', 'loadgen'],
  profiles: {
    quick: { warmup: 0.5, secs: 1.5, bulkBytes: 512 * MiB },
    full: { warmup: 1, secs: 4, bulkBytes: 1024 * MiB },
  },
  run: runEcho,
  targets: echoTargets,
}
