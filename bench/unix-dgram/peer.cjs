// One side of the unix-dgram scenario of `npm run bench`
// (bench/scenarios/drop-ins.mjs): a sender or a receiver of 64-byte
// datagrams over a connected Unix datagram socket, written once against the
// `unix-dgram` API and run on either implementation: node-mio/unix-dgram
// (dist/compat/unix-dgram.js) or the `unix-dgram` npm package built in
// bench/peers.
//
//   node bench/unix-dgram/peer.cjs send|recv node-mio|unix-dgram-npm PATH WARMUP_S WINDOW_S
//
// The receiver binds PATH and prints `ready`; the sender connects to it,
// prints `ready`, and sends as fast as the receiver takes them (on
// congestion it waits for 'writable', then sends the same datagram again).
// Each side measures its own window, WARMUP_S after it started: datagrams
// and its CPU time (process.cpuUsage, user + system, all threads), and
// prints them as one JSON line; it goes on sending or receiving until its
// stdin closes (the harness ends both sides once both have reported).
'use strict'
const path = require('node:path')

const [role, impl, sockPath, warmupArg, windowArg] = process.argv.slice(2)
const warmup = Number(warmupArg) * 1000
const windowMs = Number(windowArg) * 1000
if (!['send', 'recv'].includes(role) || !['node-mio', 'unix-dgram-npm'].includes(impl) || !sockPath || !(warmup >= 0) || !(windowMs > 0)) {
  console.error('usage: peer.cjs send|recv node-mio|unix-dgram-npm PATH WARMUP_S WINDOW_S')
  process.exit(2)
}
const ROOT = path.join(__dirname, '..', '..')
const unix = require(impl === 'node-mio' ? path.join(ROOT, 'dist', 'compat', 'unix-dgram.js') : path.join(ROOT, 'bench', 'peers', 'node_modules', 'unix-dgram'))

let count = 0
let congestions = 0
let start = null
function measure(socket) {
  setTimeout(() => {
    start = { count, cpu: process.cpuUsage(), at: process.hrtime.bigint() }
    setTimeout(() => {
      const cpu = process.cpuUsage(start.cpu)
      const seconds = Number(process.hrtime.bigint() - start.at) / 1e9
      const messages = count - start.count
      const cpuSeconds = (cpu.user + cpu.system) / 1e6
      console.log(JSON.stringify({ role, impl, messages, seconds, cpu_s: cpuSeconds, messages_per_cpu_s: messages / cpuSeconds, messages_per_s: messages / seconds, congestions }))
    }, windowMs)
  }, warmup)
  process.stdin.on('data', () => {})
  process.stdin.on('end', () => {
    done = true
    try {
      socket.close()
    } catch {}
    process.exit(0)
  })
}

let done = false
if (role === 'recv') {
  const socket = unix.createSocket('unix_dgram', () => {
    count++
  })
  socket.on('error', (err) => {
    console.error(`receiver error: ${err.message}`)
    process.exit(1)
  })
  socket.on('listening', () => console.log('ready'))
  socket.bind(sockPath)
  measure(socket)
} else {
  const socket = unix.createSocket('unix_dgram')
  const buf = Buffer.alloc(64, 'm')
  let congested = false
  const onSent = (err) => {
    if (err === undefined || err === null) count++
    else if (err.code === 1) congested = true
    else if (!done) {
      console.error(`sender error: ${err.message}`)
      process.exit(1)
    }
  }
  const pump = () => {
    // Bursts of up to 256, then a turn of the loop (for 'writable' and the timers).
    for (let i = 0; i < 256 && !done; i++) {
      socket.send(buf, onSent)
      if (congested) {
        congested = false
        congestions++
        socket.once('writable', pump)
        return
      }
    }
    if (!done) setImmediate(pump)
  }
  socket.on('error', (err) => {
    if (done) return
    console.error(`sender error: ${err.message}`)
    process.exit(1)
  })
  socket.on('connect', () => {
    console.log('ready')
    measure(socket)
    pump()
  })
  socket.connect(sockPath)
}
