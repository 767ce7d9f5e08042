// Allocation in steady state: heap bytes and GC runs per million events when
// a loop does nothing but node-mio calls. Both ends of every connection are
// node-mio sockets in this process, so every allocation seen here comes from
// node-mio's own calls (the loop itself allocates nothing: reused buffers,
// views made once per length, the `Events` iterator reused).
//
// Run: node --expose-gc --import tsx bench/alloc.ts [events] [pairs]
// Prints one JSON line: { variant: { events, seconds, allocated_bytes,
// bytes_per_million_events, gc_runs, gc_per_million_events, retained_bytes,
// ... } } for:
// - tcp: poll + read + write, 64-byte ping-pong over `pairs` connections
// - udp: poll + recvFrom(buf, from) + sendTo(buf, from, 0, size), 64-byte datagrams (the allocation-free forms)
// - poll-empty: poll(events, 0) with nothing ready (one call = one "event")
//
// Allocated bytes = heap growth over the window (code space excluded) + what
// each GC in the window freed (v8.GCProfiler's before/after heap statistics); GC runs are
// PerformanceObserver 'gc' entries inside the window.
import { PerformanceObserver, performance } from 'node:perf_hooks'
import v8 from 'node:v8'
import { Events, Interest, Poll, TcpListener, TcpStream, Token, UdpSocket } from 'node-mio'
import type { RemoteInfo } from 'node-mio'

const EVENTS = Number(process.argv[2] ?? 1_000_000)
const PAIRS = Number(process.argv[3] ?? 16)
const collect = (globalThis as { gc?: () => void }).gc
if (typeof collect !== 'function') throw new Error('run with node --expose-gc')
if (!(EVENTS >= 1000) || !(PAIRS >= 1 && PAIRS <= 1000)) throw new Error('usage: alloc.ts [events >= 1000] [pairs 1..1000]')

const SIZE = 64
const msg = Buffer.alloc(SIZE, 7)
const buf = Buffer.alloc(64 * 1024)
const views: Array<Buffer | undefined> = new Array<Buffer | undefined>(buf.length + 1).fill(undefined)
const view = (n: number): Buffer => views[n] ?? (views[n] = buf.subarray(0, n))

interface GcEntryLite {
  start: number
  end: number
}
const gcEntries: GcEntryLite[] = []
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcEntries.push({ start: e.startTime, end: e.startTime + e.duration })
})
observer.observe({ entryTypes: ['gc'] })

interface Measured {
  events: number
  seconds: number
  allocated_bytes: number
  bytes_per_million_events: number
  gc_runs: number
  gc_per_million_events: number
  gc_profiler_runs: number
  retained_bytes: number
  heap_used_before: number
  heap_used_after: number
}

/** Bytes used by the heap spaces objects live in (not code: JIT output is not an allocation of the loop). */
const used = (): number => {
  let sum = 0
  for (const space of v8.getHeapSpaceStatistics()) if (space.space_name !== 'code_space' && space.space_name !== 'read_only_space') sum += space.space_used_size
  return sum
}

/** Runs `step` (which returns how many events it handled) until `target` events. */
async function measure(target: number, step: () => number): Promise<Measured> {
  // Warm up: JIT, view cache, lazily made Event views.
  for (let n = 0, guard = 0; n < Math.min(target, 200_000) && guard < 10_000_000; guard++) n += step()
  collect!()
  await new Promise((r) => setImmediate(r))
  const before = used()
  const profiler = new v8.GCProfiler()
  profiler.start()
  const t0 = performance.now()
  let events = 0
  for (let guard = 0; events < target && guard < 100_000_000; guard++) events += step()
  const t1 = performance.now()
  const end = used()
  const profile = profiler.stop() as {
    statistics: Array<{ beforeGC: { heapStatistics: { usedHeapSize: number } }; afterGC: { heapStatistics: { usedHeapSize: number } } }>
  }
  // Let the observer deliver the window's entries.
  await new Promise((r) => setTimeout(r, 50))
  const freed = profile.statistics.reduce((sum, s) => sum + (s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize), 0)
  const runs = gcEntries.filter((e) => e.start >= t0 && e.start <= t1).length
  collect!()
  const after = used()
  const allocated = Math.max(0, end - before + freed)
  return {
    events,
    seconds: (t1 - t0) / 1000,
    allocated_bytes: allocated,
    bytes_per_million_events: (allocated / events) * 1e6,
    gc_runs: runs,
    gc_per_million_events: (runs / events) * 1e6,
    gc_profiler_runs: profile.statistics.length,
    retained_bytes: after - before,
    heap_used_before: before,
    heap_used_after: after,
  }
}

async function tcp(): Promise<Measured> {
  const poll = new Poll()
  const events = new Events(1024)
  const listener = TcpListener.bind('127.0.0.1:0')
  const clients: TcpStream[] = []
  const servers: TcpStream[] = []
  for (let i = 0; i < PAIRS; i++) {
    const c = TcpStream.connect(listener.localAddr())
    let accepted = null
    for (let tries = 0; tries < 1000 && accepted === null; tries++) {
      accepted = listener.accept()
      if (accepted === null) await new Promise((r) => setTimeout(r, 1))
    }
    if (accepted === null) throw new Error('no connection')
    c.setNodelay(true)
    accepted[0].setNodelay(true)
    clients.push(c)
    servers.push(accepted[0])
  }
  // Tokens: clients 0..PAIRS-1, servers PAIRS..2*PAIRS-1.
  for (let i = 0; i < PAIRS; i++) {
    poll.registry.register(clients[i]!, Token(i), Interest.READABLE)
    poll.registry.register(servers[i]!, Token(PAIRS + i), Interest.READABLE)
  }
  for (const c of clients) c.write(msg)
  const step = (): number => {
    const count = poll.poll(events, 100)
    for (const event of events) {
      const t = event.token
      if (t < PAIRS) {
        const c = clients[t]!
        let got = 0
        for (let n, k = 0; k < 64 && (n = c.read(buf)) !== null && n > 0; k++) got += n
        if (got > 0) c.write(msg) // the next ping
      } else {
        const s = servers[t - PAIRS]!
        for (let n, k = 0; k < 64 && (n = s.read(buf)) !== null && n > 0; k++) s.write(view(n))
      }
    }
    return count
  }
  const result = await measure(EVENTS, step)
  for (const s of [...clients, ...servers]) s.close()
  listener.close()
  poll.close()
  return result
}

async function udp(): Promise<Measured> {
  const poll = new Poll()
  const events = new Events(1024)
  const echo = UdpSocket.bind('127.0.0.1:0')
  const echoAddr = `127.0.0.1:${echo.localAddr().port}`
  const senders: UdpSocket[] = []
  poll.registry.register(echo, Token(PAIRS), Interest.READABLE)
  for (let i = 0; i < PAIRS; i++) {
    const s = UdpSocket.bind('127.0.0.1:0')
    poll.registry.register(s, Token(i), Interest.READABLE)
    senders.push(s)
  }
  for (const s of senders) s.sendTo(msg, echoAddr)
  // Senders are written into one reused object (recvFrom's allocation-free form).
  const from = { address: '', family: 'IPv4', port: 0, size: 0 } as RemoteInfo
  const step = (): number => {
    const count = poll.poll(events, 100)
    for (const event of events) {
      const t = event.token
      if (t === PAIRS) {
        for (let k = 0; k < 256 && echo.recvFrom(buf, from) !== null; k++) echo.sendTo(buf, from, 0, from.size)
      } else {
        const s = senders[t]!
        let got = 0
        for (let k = 0; k < 64 && s.recvFrom(buf, from) !== null; k++) got++
        for (let k = 0; k < got; k++) s.sendTo(msg, echoAddr)
      }
    }
    return count
  }
  const result = await measure(EVENTS, step)
  for (const s of senders) s.close()
  echo.close()
  poll.close()
  return result
}

async function pollEmpty(): Promise<Measured> {
  const poll = new Poll()
  const events = new Events(64)
  const result = await measure(EVENTS, () => {
    poll.poll(events, 0)
    return 1
  })
  poll.close()
  return result
}

async function main(): Promise<void> {
  const out = { tcp: await tcp(), udp: await udp(), 'poll-empty': await pollEmpty() }
  observer.disconnect()
  console.log(JSON.stringify(out))
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
