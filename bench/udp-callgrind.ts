// Instructions per round trip, counted by valgrind's callgrind: the echo
// servers of `bench/udp-batch.ts` (and the TCP echo for reference), each
// under callgrind, driven by the native load generator. A count of user-space
// instructions does not depend on what else the machine runs, so it is the
// figure to compare when the machine is busy; it leaves out the kernel's
// work in the system calls (the same for every server making the same calls).
//
// For each server and load: start it under callgrind, run the load
// generator for `--warmup` + `--secs` seconds, zero the counts when the
// warm-up ends (`callgrind_control -z`) and dump them when the window ends
// (`callgrind_control -d`): instructions in the window / round trips in the
// window (the load generator's count). Every thread of the process counts
// (the collector's and the compiler's too).
//
// Loads: `--conns C --inflight K` of the load generator. With one socket
// and K in flight, a wake-up of the (slowed) server finds K datagrams
// waiting, so `1x1` and `1x8` measure a batch of 1 and of 8.
//
// Usage: node --import tsx bench/udp-callgrind.ts [--secs S] [--warmup S]
//          [--only name,name] [--loads 1x1,1x8] [--size B] [--json FILE]
//          [--annotate DIR] [--before DIR]
// `--before DIR` adds the node-mio servers of another checkout of node-mio
// (built), named `...@before`: a before/after comparison in one run.
// `--annotate DIR` keeps each dump in DIR for callgrind_annotate, and runs
// the warm-up uninstrumented (`--instr-atstart=no`, then `callgrind_control
// -i on`) so that the dump's call graph is clean; the window then holds
// fewer round trips. For the addon's function names, build it with symbols
// (CARGO_PROFILE_RELEASE_STRIP=none) and point NAPI_RS_NATIVE_LIBRARY_PATH
// at a copy named `*.node`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const NATIVE = path.join(ROOT, 'bench', 'native')
const BIN = path.join(NATIVE, 'target', 'release')

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`)
  return at > 0 ? process.argv[at + 1]! : fallback
}
const secs = Number(option('secs', '8'))
const warmup = Number(option('warmup', '6'))
const size = Number(option('size', '64'))
// The GSO servers run only when named in --only.
const only = option('only', 'mio-native,mio-native-mmsg,node-mio,node-mio-batch,tcp-mio-native,tcp-node-mio').split(',').filter(Boolean)
const loads = option('loads', '1x1,1x8').split(',')
const jsonFile = option('json', '')
const annotate = option('annotate', '')

interface Server {
  name: string
  proto: 'udp' | 'tcp'
  command: [string, string[]]
  cwd?: string
}

const node = (file: string, ...args: string[]): [string, string[]] => [process.execPath, ['--import', 'tsx', file, ...args]]
const SERVERS: Server[] = [
  { name: 'mio-native', proto: 'udp', command: [path.join(BIN, 'echo-server'), ['udp', '0', '900']] },
  { name: 'mio-native-mmsg', proto: 'udp', command: [path.join(BIN, 'udp-echo-mmsg'), ['0', '900']] },
  { name: 'node-mio', proto: 'udp', command: node('bench/servers/node-mio-echo.ts', 'udp', '0', '900') },
  { name: 'node-mio-batch', proto: 'udp', command: node('bench/servers/node-mio-udp-batch.ts', '0', '900') },
  { name: 'mio-native-mmsg-gso', proto: 'udp', command: [path.join(BIN, 'udp-echo-mmsg'), ['0', '900', '2048', 'gso']] },
  { name: 'node-mio-batch-gso', proto: 'udp', command: node('bench/servers/node-mio-udp-batch.ts', '0', '900', '2048', 'gso') },
  { name: 'tcp-mio-native', proto: 'tcp', command: [path.join(BIN, 'echo-server'), ['tcp', '0', '900']] },
  { name: 'tcp-node-mio', proto: 'tcp', command: node('bench/servers/node-mio-echo.ts', 'tcp', '0', '900') },
]

const before = option('before', '')
if (before) {
  for (const name of ['node-mio', 'node-mio-batch', 'tcp-node-mio']) {
    const server = SERVERS.find((s) => s.name === name)!
    SERVERS.push({ ...server, name: `${name}@before`, cwd: before })
    if (only.length > 0 && only.includes(name)) only.push(`${name}@before`)
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function start(server: Server, out: string): Promise<{ child: ChildProcess; port: number }> {
  const [file, args] = server.command
  const vg = ['--tool=callgrind', '--separate-threads=yes', ...(annotate ? ['--instr-atstart=no'] : []), `--callgrind-out-file=${out}`, '--dump-instr=no', '--collect-jumps=no', file, ...args]
  const child = spawn('valgrind', vg, { cwd: server.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    log += chunk.toString()
  })
  return new Promise((resolve, reject) => {
    let text = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      if (text.includes('\n')) resolve({ child, port: Number(text.split('\n')[0]) })
    })
    child.on('exit', (code) => reject(new Error(`${server.name} exited (${code}): ${log.slice(-2000)}`)))
  })
}

/** The `summary:`/`totals:` instruction count of a callgrind dump. */
function instructions(file: string): number {
  const text = readFileSync(file, 'utf8')
  const match = /^(?:totals|summary): (\d+)/m.exec(text)
  if (match === null) throw new Error(`no totals in ${file}`)
  return Number(match[1])
}

/**
 * The counts of dump 1 of `out` (`--separate-threads=yes` writes one file
 * per thread, `<out>.1-<thread>`): the main thread's (thread 1, where the
 * event loop and every node-mio call run) and all threads' (the collector's
 * and the compiler's too, which vary from run to run).
 */
function dumpCounts(out: string): { main: number; all: number } {
  const dir = path.dirname(out)
  const base = `${path.basename(out)}.1-`
  let main = 0
  let all = 0
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(base)) continue
    const count = instructions(path.join(dir, name))
    all += count
    if (Number(name.slice(base.length)) === 1) main = count
  }
  if (all === 0) throw new Error(`no dump ${out}.1-*`)
  return { main, all }
}

async function measure(server: Server, load: string, dir: string): Promise<{ ops: number; main: number; all: number }> {
  const [conns, inflight] = load.split('x')
  const out = path.join(dir, `${server.name}-${load}.out`)
  const { child, port } = await start(server, out)
  try {
    const args = ['--proto', server.proto, '--mode', 'echo', '--conns', conns!, '--inflight', inflight!, '--size', String(size)]
    args.push('--addr', `127.0.0.1:${port}`, '--warmup', String(warmup), '--secs', String(secs), '--timeout', '30')
    const gen = spawn(path.join(BIN, 'loadgen'), args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
    let text = ''
    gen.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString()
    })
    const done = new Promise<number | null>((resolve) => gen.once('exit', resolve))
    await sleep(warmup * 1000)
    spawnSync('callgrind_control', annotate ? ['-i', 'on', String(child.pid)] : ['-z', String(child.pid)], { stdio: 'ignore' })
    await sleep(secs * 1000)
    spawnSync('callgrind_control', ['-d', String(child.pid)], { stdio: 'ignore' })
    await done
    const line = text.trim().split('\n').reverse().find((l) => l.startsWith('{'))
    if (line === undefined) throw new Error(`loadgen printed no result for ${server.name}`)
    const result = JSON.parse(line) as { ops: number; error: string | null }
    if (result.error) throw new Error(`loadgen: ${result.error}`)
    return { ops: result.ops, ...dumpCounts(out) }
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
  }
}

async function main(): Promise<void> {
  const build = spawnSync('cargo', ['build', '--release', '--manifest-path', path.join(NATIVE, 'Cargo.toml')], { stdio: 'inherit' })
  if (build.status !== 0) throw new Error('cargo build of bench/native failed')
  const dir = annotate || mkdtempSync(path.join(os.tmpdir(), 'udp-callgrind-'))
  mkdirSync(dir, { recursive: true })
  const rows: Array<{ server: string; load: string; size: number; ops: number; main: number; all: number; per_round_trip: number; all_threads_per_round_trip: number }> = []
  try {
    for (const load of loads) {
      for (const server of SERVERS) {
        if (only.length > 0 && !only.includes(server.name)) continue
        const { ops, main, all } = await measure(server, load, dir)
        const row = { server: server.name, load, size, ops, main, all, per_round_trip: main / ops, all_threads_per_round_trip: all / ops }
        rows.push(row)
        console.error(
          `${load} ${server.name}: ${Math.round(row.per_round_trip)} instructions per round trip on the main thread, ${Math.round(row.all_threads_per_round_trip)} in all threads (${ops} round trips)`,
        )
      }
    }
  } finally {
    if (!annotate) rmSync(dir, { recursive: true, force: true })
  }
  console.log(`| load (sockets x in flight), ${size} B | server | instructions per round trip (main thread) | all threads | vs mio-native | vs mio-native-mmsg |`)
  console.log('| --- | --- | ---: | ---: | ---: | ---: |')
  for (const r of rows) {
    const of = (name: string) => rows.find((x) => x.load === r.load && x.server === name)?.per_round_trip
    const ratio = (base: number | undefined) => (base === undefined ? '' : `${(r.per_round_trip / base).toFixed(2)}x`)
    const native = r.server.startsWith('tcp-') ? of('tcp-mio-native') : of('mio-native')
    console.log(`| ${r.load} | ${r.server} | ${Math.round(r.per_round_trip)} | ${Math.round(r.all_threads_per_round_trip)} | ${ratio(native)} | ${r.server.startsWith('tcp-') ? '' : ratio(of('mio-native-mmsg'))} |`)
  }
  if (jsonFile) writeFileSync(jsonFile, `${JSON.stringify({ tool: 'valgrind --tool=callgrind', secs, warmup, size, rows }, null, 2)}\n`)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
