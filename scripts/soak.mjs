// `npm run soak -- --minutes N [--json FILE]`: every kind of traffic at once
// for N minutes (default 10), sampling memory and descriptors every second.
//
// Load, all on the main thread's event loop through one watched Poll:
// - TCP echo: a node-mio server, `node:net` clients that send and check
//   every echo (bytes in order);
// - UDP echo: a node-mio socket, a `node:dgram` client checking replies;
// - Unix streams (not on Windows): node-mio pairs writing and reading;
// - watch churn: a second Poll whose watch is started and stopped;
// - registration churn: connections opened, registered, reregistered,
//   deregistered and closed.
// Samples: RSS, heap used (after a GC when `--expose-gc` is on) and open
// descriptors (Linux). The report gives each one's least-squares slope per
// minute over the samples after the first fifth (the warm-up) and, beside it,
// its plateau: the growth over the last half of the run (the mean of the last
// ten samples less the mean of the ten at the half-way point). Memory that
// grows in steps while the allocator's arenas fill and then levels off has a
// large slope and a plateau near zero; a leak has both. Also the operation
// counts. Exits 1 if any echo came back wrong.
import dgram from 'node:dgram'
import { readdirSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { Events, Interest, Poll, TcpListener, TcpStream, Token, UdpSocket, UnixStream } = await import(pathToFileURL(join(root, 'dist', 'index.js')).href)

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, json: { type: 'string' }, quiet: { type: 'boolean', default: false } } })
const minutes = Number(values.minutes)
if (!(minutes > 0)) {
  console.error(`--minutes must be a positive number, got ${values.minutes}`)
  process.exit(2)
}
const log = values.quiet ? () => {} : (line) => console.log(line)
const fdCount = () => (process.platform === 'linux' ? readdirSync('/proc/self/fd').length : null)

const counts = { tcpBytes: 0, udpReplies: 0, unixBytes: 0, watchCycles: 0, registrations: 0, wrong: 0 }
const poll = new Poll()
const events = new Events(256)
const handlers = new Map()
let nextToken = 10
const token = () => Token(nextToken++)

// TCP echo server.
const listener = TcpListener.bind('127.0.0.1:0')
const LISTENER = token()
const buf = Buffer.alloc(64 * 1024)
handlers.set(LISTENER, () => {
  for (let accepted; (accepted = listener.accept()) !== null; ) {
    const stream = accepted[0]
    const t = token()
    const pending = []
    const flush = () => {
      for (let head = pending[0]; head !== undefined; head = pending[0]) {
        const n = stream.write(head)
        if (n === null) return false
        if (n < head.length) {
          pending[0] = head.subarray(n)
          return false
        }
        pending.shift()
      }
      return true
    }
    handlers.set(t, (event) => {
      if (event.isReadable()) {
        for (let n; (n = stream.read(buf)) !== null; ) {
          if (n === 0) {
            handlers.delete(t)
            stream.close()
            return
          }
          pending.push(Buffer.from(buf.subarray(0, n)))
        }
      }
      const drained = flush()
      poll.registry.reregister(stream, t, drained ? Interest.READABLE : Interest.READABLE.add(Interest.WRITABLE))
    })
    poll.registry.register(stream, t, Interest.READABLE)
  }
})
poll.registry.register(listener, LISTENER, Interest.READABLE)

// UDP echo.
const udp = UdpSocket.bind('127.0.0.1:0')
const UDP = token()
const from = { address: '', family: 'IPv4', port: 0, size: 0 }
handlers.set(UDP, () => {
  while (udp.recvFrom(buf, from) !== null) udp.sendTo(buf, from, 0, from.size)
})
poll.registry.register(udp, UDP, Interest.READABLE)

const watch = poll.watch(events, (batch) => {
  for (const event of batch) handlers.get(event.token)?.(event)
})

// TCP clients: each sends a numbered message and checks the echo.
const clients = []
for (let i = 0; i < 8; i++) {
  const socket = net.connect(listener.localAddr().port, '127.0.0.1')
  let sent = 0
  let expected = Buffer.alloc(0)
  const send = () => {
    const message = Buffer.alloc(100 + ((sent * 37) % 4000), sent & 255)
    sent++
    expected = Buffer.concat([expected, message])
    socket.write(message)
  }
  socket.on('data', (data) => {
    if (!expected.subarray(0, data.length).equals(data)) counts.wrong++
    expected = expected.subarray(data.length)
    counts.tcpBytes += data.length
    if (expected.length === 0) send()
  })
  socket.on('connect', send)
  socket.on('error', () => counts.wrong++)
  clients.push(socket)
}

// UDP client.
const udpClient = dgram.createSocket('udp4')
let udpSeq = 0
let udpProgress = 0
udpClient.on('message', (message) => {
  // A reply to a resent datagram comes twice: only the current one counts.
  if (message.length !== 64) counts.wrong++
  if (message.readUInt32LE(0) !== udpSeq) return
  counts.udpReplies++
  udpSeq++
  sendUdp()
})
const sendUdp = () => {
  const message = Buffer.alloc(64)
  message.writeUInt32LE(udpSeq, 0)
  udpClient.send(message, udp.localAddr().port, '127.0.0.1')
}
// A lost datagram would stall the ping-pong: resend the current one if none came back.
const udpRetry = setInterval(() => {
  if (udpSeq === udpProgress) sendUdp()
  udpProgress = udpSeq
}, 200)
sendUdp()

// Churn: Unix pairs, a watch started and stopped, registrations.
const churnPoll = new Poll()
const churnEvents = new Events(16)
const churn = setInterval(() => {
  if (process.platform !== 'win32') {
    const [a, b] = UnixStream.pair()
    const data = Buffer.alloc(4096, 7)
    const n = a.write(data) ?? 0
    let got = 0
    for (let r; (r = b.read(buf)) !== null && r > 0; ) got += r
    if (got !== n) counts.wrong++
    counts.unixBytes += got
    a.close()
    b.close()
  }
  const w = churnPoll.watch(churnEvents, () => {})
  w.stop()
  counts.watchCycles++
  const stream = TcpStream.connect(listener.localAddr())
  const t = token()
  churnPoll.registry.register(stream, t, Interest.WRITABLE)
  churnPoll.registry.reregister(stream, t, Interest.READABLE)
  churnPoll.registry.deregister(stream)
  stream.close()
  counts.registrations++
}, 2)

const samples = []
const started = Date.now()
const sample = () => {
  globalThis.gc?.()
  const memory = process.memoryUsage()
  samples.push({ t: (Date.now() - started) / 60_000, rss: memory.rss, heap: memory.heapUsed, external: memory.external, fds: fdCount() })
  const last = samples.at(-1)
  log(`${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s  rss ${(last.rss / 2 ** 20).toFixed(1)} MiB  heap ${(last.heap / 2 ** 20).toFixed(1)} MiB  external ${(last.external / 2 ** 20).toFixed(1)} MiB  fds ${last.fds ?? '-'}  tcp ${(counts.tcpBytes / 2 ** 20).toFixed(0)} MiB  udp ${counts.udpReplies}  watch ${counts.watchCycles}  wrong ${counts.wrong}`)
}
const sampler = setInterval(sample, 1000)

/** Least-squares slope of `field` per minute, over the samples after the warm-up. */
function slope(field) {
  const points = samples.slice(Math.floor(samples.length / 5)).filter((s) => s[field] !== null)
  if (points.length < 3) return null
  const n = points.length
  const mt = points.reduce((a, s) => a + s.t, 0) / n
  const mv = points.reduce((a, s) => a + s[field], 0) / n
  const num = points.reduce((a, s) => a + (s.t - mt) * (s[field] - mv), 0)
  const den = points.reduce((a, s) => a + (s.t - mt) ** 2, 0)
  return den === 0 ? 0 : num / den
}

/** Growth of `field` over the last half: mean of the last ten samples less the mean of the ten from the half-way point. */
function plateau(field) {
  const points = samples.filter((s) => s[field] !== null)
  if (points.length < 4) return null
  const width = Math.max(1, Math.min(10, Math.floor(points.length / 4)))
  const half = Math.floor(points.length / 2)
  const mean = (from) => points.slice(from, from + width).reduce((a, s) => a + s[field], 0) / width
  return mean(points.length - width) - mean(half)
}

setTimeout(() => {
  clearInterval(sampler)
  clearInterval(churn)
  clearInterval(udpRetry)
  sample()
  for (const socket of clients) socket.destroy()
  udpClient.close()
  watch.stop()
  poll.close()
  churnPoll.close()
  listener.close()
  udp.close()
  const report = {
    minutes,
    samples: samples.length,
    slopes: { rssBytesPerMinute: slope('rss'), heapBytesPerMinute: slope('heap'), externalBytesPerMinute: slope('external'), fdsPerMinute: slope('fds') },
    plateaus: { rssBytes: plateau('rss'), heapBytes: plateau('heap'), externalBytes: plateau('external'), fds: plateau('fds') },
    first: samples[Math.floor(samples.length / 5)],
    last: samples.at(-1),
    counts,
  }
  const kib = (bytes) => `${(bytes / 2 ** 10).toFixed(0)} KiB`
  log(
    `slopes per minute: rss ${kib(report.slopes.rssBytesPerMinute)}, heap ${kib(report.slopes.heapBytesPerMinute)}, fds ${report.slopes.fdsPerMinute?.toFixed(2) ?? '-'}`,
  )
  log(`plateau (growth over the last half): rss ${kib(report.plateaus.rssBytes)}, heap ${kib(report.plateaus.heapBytes)}, fds ${report.plateaus.fds?.toFixed(2) ?? '-'}`)
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2))
  else if (values.quiet) console.log(JSON.stringify(report))
  process.exitCode = counts.wrong === 0 ? 0 : 1
}, minutes * 60_000)
