// Batched datagrams, measured side by side: the UDP echo scenario of
// `npm run bench` (64 B datagrams, 50 client sockets, one in flight each, a
// native mio load generator) against four single-threaded servers in the
// same run, rounds interleaved:
//
//   mio-native         Rust, mio, recv_from/send_to per datagram (echo-server udp)
//   mio-native-mmsg    Rust, mio, recvmmsg/sendmmsg of up to 64 (udp-echo-mmsg)
//   node-mio           recvFrom(buf, into)/sendTo(buf, from, 0, n) per datagram
//   node-mio-batch     recvBatch/sendBatch over a 64-slot DatagramBatch
//
// The figure is the server's CPU time per round trip (utime + stime from
// /proc over the measured window, read by the load generator). Server pinned
// to CPU 0, load generator to CPU 1 (taskset). Linux only.
//
// `--size B` sets the datagram size (1200: QUIC-sized) and the batch servers'
// slot size with it; `--conns N` the client sockets. `--gso` adds the two
// servers that echo a batch from one peer as UDP GSO sends
// (`mio-native-mmsg-gso`, `node-mio-batch-gso`): a one-flow load
// (`--conns 1 --inflight 16`) is what they are for.
//
// Usage: node --import tsx bench/udp-batch.ts [--rounds N] [--secs S] [--warmup S]
//          [--inflight K] [--size B] [--conns N] [--gso] [--json FILE]
// Needs the release addon (`npm run build`); builds bench/native itself.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const NATIVE = path.join(ROOT, 'bench', 'native')
const BIN = path.join(NATIVE, 'target', 'release')

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`)
  return at > 0 ? Number(process.argv[at + 1]) : fallback
}
const rounds = option('rounds', 3)
const secs = option('secs', 8)
const warmup = option('warmup', 2)
const inflight = option('inflight', 1)
const size = option('size', 64)
const conns = option('conns', 50)
const gso = process.argv.includes('--gso')
/** The batch servers' slot: the datagram size, at least the 2,048 bytes of 64-byte runs. */
const slot = String(size > 2048 ? size : size === 64 ? 2048 : size)
const jsonAt = process.argv.indexOf('--json')
const jsonFile = jsonAt > 0 ? process.argv[jsonAt + 1] : undefined

interface Server {
  name: string
  note: string
  command: [string, string[]]
}

const node = (file: string, ...args: string[]): [string, string[]] => [process.execPath, ['--import', 'tsx', file, ...args]]
const SERVERS: Server[] = [
  { name: 'mio-native', note: 'Rust mio, recv_from/send_to per datagram', command: [path.join(BIN, 'echo-server'), ['udp', '0', '900']] },
  { name: 'mio-native-mmsg', note: 'Rust mio, recvmmsg/sendmmsg of up to 64', command: [path.join(BIN, 'udp-echo-mmsg'), ['0', '900', slot]] },
  { name: 'node-mio', note: 'recvFrom(buf, into) + sendTo(buf, from, 0, n), blocking poll', command: node('bench/servers/node-mio-echo.ts', 'udp', '0', '900') },
  { name: 'node-mio-batch', note: 'recvBatch + sendBatch, 64-slot DatagramBatch, blocking poll', command: node('bench/servers/node-mio-udp-batch.ts', '0', '900', slot) },
]
if (gso) {
  SERVERS.push(
    { name: 'mio-native-mmsg-gso', note: 'as mio-native-mmsg, one-peer batches as UDP GSO sendmsg', command: [path.join(BIN, 'udp-echo-mmsg'), ['0', '900', slot, 'gso']] },
    { name: 'node-mio-batch-gso', note: 'as node-mio-batch, one-peer batches as UDP GSO sendBatch', command: node('bench/servers/node-mio-udp-batch.ts', '0', '900', slot, 'gso') },
  )
}

const pinning = os.availableParallelism() >= 2 && spawnSync('taskset', ['-c', '1', 'true']).status === 0
const pinned = (cpu: number, [file, args]: [string, string[]]): [string, string[]] =>
  pinning ? ['taskset', ['-c', String(cpu), file, ...args]] : [file, args]

function startServer(server: Server): Promise<{ child: ChildProcess; port: number }> {
  const [file, args] = pinned(0, server.command)
  const child = spawn(file, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.split('\n')[0]
      if (out.includes('\n') && line !== undefined) resolve({ child, port: Number(line) })
    })
    child.on('exit', (code) => reject(new Error(`${server.name} exited (${code}) before announcing its port`)))
  })
}

interface LoadResult {
  ops: number
  seconds: number
  ops_per_s: number
  p50_us: number
  server_cpu_s: number
  cpu_us_per_op: number
  lost: number
  error: string | null
}

function loadgen(port: number, pid: number): LoadResult {
  const args = ['--proto', 'udp', '--mode', 'echo', '--conns', String(conns), '--size', String(size), '--inflight', String(inflight)]
  args.push('--addr', `127.0.0.1:${port}`, '--server-pid', String(pid), '--warmup', String(warmup), '--secs', String(secs))
  const [file, fargs] = pinned(1, [path.join(BIN, 'loadgen'), args])
  const run = spawnSync(file, fargs, { cwd: ROOT, encoding: 'utf8', timeout: (warmup + secs + 30) * 1000 })
  const line = run.stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'))
  if (line === undefined) throw new Error(`loadgen printed no result: ${run.stderr}`)
  const result = JSON.parse(line) as LoadResult
  if (result.error) throw new Error(`loadgen: ${result.error}`)
  return result
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

async function main(): Promise<void> {
  if (process.platform !== 'linux') throw new Error('reads /proc and uses recvmmsg: Linux only')
  const build = spawnSync('cargo', ['build', '--release', '--manifest-path', path.join(NATIVE, 'Cargo.toml')], { stdio: 'inherit' })
  if (build.status !== 0) throw new Error('cargo build of bench/native failed')
  const results = new Map<string, LoadResult[]>(SERVERS.map((s) => [s.name, []]))
  for (let round = 1; round <= rounds; round++) {
    for (const server of SERVERS) {
      const { child, port } = await startServer(server)
      try {
        const result = loadgen(port, child.pid!)
        results.get(server.name)!.push(result)
        console.error(`round ${round} ${server.name}: ${result.cpu_us_per_op.toFixed(3)} µs CPU per round trip, ${Math.round(result.ops_per_s)} round trips/s`)
      } finally {
        child.kill('SIGTERM')
        await new Promise((resolve) => child.once('exit', resolve))
      }
    }
  }
  const rows = SERVERS.map((server) => {
    const rs = results.get(server.name)!
    return {
      server: server.name,
      note: server.note,
      cpu_us_per_round_trip: median(rs.map((r) => r.cpu_us_per_op)),
      round_trips_per_s: median(rs.map((r) => r.ops_per_s)),
      p50_us: median(rs.map((r) => r.p50_us)),
      lost: rs.reduce((sum, r) => sum + r.lost, 0),
      per_round: rs.map((r) => r.cpu_us_per_op),
    }
  })
  const base = (name: string) => rows.find((r) => r.server === name)!.cpu_us_per_round_trip
  const table = rows.map((r) => ({
    ...r,
    vs_mio_native: r.cpu_us_per_round_trip / base('mio-native'),
    vs_mio_native_mmsg: r.cpu_us_per_round_trip / base('mio-native-mmsg'),
  }))
  const report = {
    scenario: `UDP echo, ${size} B datagrams x ${conns} sockets, ${inflight} in flight each${gso ? ', GSO servers' : ''}`,
    rounds,
    warmup_s: warmup,
    window_s: secs,
    pinning: pinning ? 'server CPU 0, load generator CPU 1 (taskset)' : 'none',
    machine: `${os.cpus()[0]?.model ?? 'unknown'}, ${os.availableParallelism()} CPUs, Linux ${os.release()}, Node ${process.version}`,
    rows: table,
  }
  console.log('| server | CPU per round trip (median) | vs mio-native | vs mio-native-mmsg | round trips/s | p50 |')
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
  for (const r of table) {
    console.log(
      `| ${r.server} (${r.note}) | ${r.cpu_us_per_round_trip.toFixed(2)} µs | ${r.vs_mio_native.toFixed(2)}x | ${r.vs_mio_native_mmsg.toFixed(2)}x | ${Math.round(r.round_trips_per_s)} | ${r.p50_us.toFixed(0)} µs |`,
    )
  }
  if (jsonFile !== undefined) writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
