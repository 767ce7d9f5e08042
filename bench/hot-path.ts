// Per-call cost of the hot path (poll, read, write), through the public
// wrapper and through the raw binding, measured side by side in one run.
// Run: node --import tsx bench/hot-path.ts [iterations]
import { Events, Interest, Poll, TcpListener, TcpStream, Token } from 'node-mio'
import * as raw from '../index.js'

const fast = raw.fastCalls()
import { kHandle } from '../dist/source.js'

const N = Number(process.argv[2] ?? 1_000_000)

function time(name: string, iterations: number, body: () => void): number {
  for (let i = 0; i < Math.min(iterations, 100_000); i++) body() // warm up (JIT)
  const rounds: number[] = []
  for (let r = 0; r < 5; r++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < iterations; i++) body()
    rounds.push(Number(process.hrtime.bigint() - start) / iterations)
  }
  rounds.sort((a, b) => a - b)
  const median = rounds[2]!
  console.log(`${name.padEnd(44)} ${median.toFixed(1).padStart(8)} ns/call`)
  return median
}

// A connected pair on loopback, with nothing in flight.
const poll = new Poll()
const events = new Events(64)
const listener = TcpListener.bind('127.0.0.1:0')
const client = TcpStream.connect(listener.localAddr())
poll.registry.register(client, Token(1), Interest.WRITABLE)
poll.poll(events, 1000)
let server: TcpStream | undefined
for (let i = 0; i < 100 && server === undefined; i++) server = listener.accept()?.[0]
if (server === undefined) throw new Error('no connection')
client.setNodelay(true)
poll.registry.deregister(client)
const idle = new Poll() // nothing registered: poll(0) returns no events
const idleEvents = new Events(64)
const buf = Buffer.alloc(64)
const rbuf = Buffer.alloc(4096)
const h = (s: TcpStream) => (s as unknown as Record<symbol, number>)[kHandle]!
const ch = h(client)
const sh = h(server)
const idleHandle = raw.pollNew()
const idleStorage = raw.eventsRegister(new Float64Array(128))

console.log(`node ${process.version}, ${process.platform}-${process.arch}, ${N} calls per round, median of 5 rounds`)
const results = {
  pollWrapper: time('poll(events, 0), nothing ready (wrapper)', N, () => idle.poll(idleEvents, 0)),
  pollRaw: time('pollPoll(h, events, 0), nothing ready (raw)', N, () => fast.pollPoll(idleHandle, idleStorage, 0)),
  readWrapper: time('read(buf) -> null (WouldBlock, wrapper)', N, () => server!.read(rbuf)),
  readRaw: time('streamRead(h, buf) -> null (raw)', N, () => fast.streamRead(sh, rbuf)),
  writeRead: time('write 64 B + read 64 B (wrapper)', N / 4, () => {
    client.write(buf)
    server!.read(rbuf)
  }),
  writeReadRaw: time('streamWrite + streamRead 64 B (raw)', N / 4, () => {
    fast.streamWrite(ch, buf)
    fast.streamRead(sh, rbuf)
  }),
}
console.log(JSON.stringify(results))
raw.pollClose(idleHandle)
client.close()
server.close()
listener.close()
idle.close()
poll.close()
