// The empty-poll scenario of `npm run bench`: what `poll(events, 0)` with
// nothing ready costs through node-mio (the public wrapper, and the raw
// binding call under it), and a `read` that would block, in ns per call.
// The native floor is bench/native/src/bin/syscall-cost.rs (mio and the bare
// `epoll_wait`), run by the harness beside this, on the same CPU.
//
// Run: node --import tsx bench/empty-poll.ts [calls]
// Prints one JSON line (median of 5 rounds, measured interleaved): wall-clock
// ns per call (`*_ns`) and the process's CPU time per call (`*_cpu_ns`, from
// process.cpuUsage(), which a busy machine's other work does not inflate).
import { Events, Interest, Poll, TcpListener, TcpStream, Token } from 'node-mio'
import * as raw from '../index.js'
import { handleOf } from '../dist/source.js'

const N = Number(process.argv[2] ?? 1_000_000)
if (!(N >= 1000 && N <= 100_000_000)) throw new Error('calls must be 1000..1e8')
const fast = raw.fastCalls()

const idle = new Poll() // nothing registered: poll(0) returns no events
const events = new Events(64)
const idleHandle = raw.pollNew()
const storage = raw.eventsRegister(new Float64Array(events.capacity * raw.EVENT_STRIDE))

// A connected pair with nothing in flight, for the read that would block.
const poll = new Poll()
const listener = TcpListener.bind('127.0.0.1:0')
const client = TcpStream.connect(listener.localAddr())
poll.registry.register(client, Token(1), Interest.WRITABLE)
poll.poll(events, 1000)
let server: TcpStream | undefined
for (let i = 0; i < 1000 && server === undefined; i++) server = listener.accept()?.[0]
if (server === undefined) throw new Error('no connection')
const rbuf = Buffer.alloc(4096)
const serverHandle = handleOf(server)

const cases: Record<string, () => unknown> = {
  poll_wrapper_ns: () => idle.poll(events, 0),
  poll_raw_ns: () => fast.pollPoll(idleHandle, storage, 0),
  read_would_block_wrapper_ns: () => server!.read(rbuf),
  read_would_block_raw_ns: () => fast.streamRead(serverHandle, rbuf),
}

const rounds: Record<string, number[]> = {}
for (const [name, body] of Object.entries(cases)) {
  for (let i = 0; i < Math.min(N, 100_000); i++) body() // warm up (JIT)
  rounds[name] = []
  rounds[name.replace(/_ns$/, '_cpu_ns')] = []
}
for (let r = 0; r < 5; r++) {
  for (const [name, body] of Object.entries(cases)) {
    const cpu = process.cpuUsage()
    const start = process.hrtime.bigint()
    for (let i = 0; i < N; i++) body()
    const wall = Number(process.hrtime.bigint() - start)
    const used = process.cpuUsage(cpu)
    rounds[name]!.push(wall / N)
    rounds[name.replace(/_ns$/, "_cpu_ns")]!.push(((used.user + used.system) * 1000) / N)
  }
}
const out: Record<string, number> = {}
for (const [name, values] of Object.entries(rounds)) out[name] = values.sort((a, b) => a - b)[2]!
console.log(JSON.stringify(out))

raw.pollClose(idleHandle)
client.close()
server.close()
listener.close()
idle.close()
poll.close()
