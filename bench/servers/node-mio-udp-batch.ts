// The batching node-mio UDP echo server of bench/udp-batch.ts: one Poll,
// blocking poll() loop, recvBatch into a 64-slot DatagramBatch, then one
// sendBatch echoing each datagram to its sender (recvmmsg/sendmmsg on Linux).
// Nothing is allocated per datagram or per batch.
//
// With `gso`, a batch whose datagrams all come from one peer, all of one
// size (the last may be shorter), is echoed as one UDP GSO send of up to 48
// segments (copied into a send slot, `setSegmentSize`), as a QUIC server
// sends a flight of packets; other batches go out as above.
//
// Usage: node --import tsx bench/servers/node-mio-udp-batch.ts [port] [max-seconds] [slot-size] [gso]
// The bound port is printed on stdout. Exits when the parent goes away
// (checked when idle) or after max-seconds.
import { DatagramBatch, Events, Interest, Poll, Token, UdpSocket } from 'node-mio'

const [portArg = '0', maxArg = '3600', slotArg = '2048', mode = ''] = process.argv.slice(2)
const IDLE_MS = 500
const DRAIN_LIMIT = 64
const parent = process.ppid
const deadline = Date.now() + Number(maxArg) * 1000
const alive = (): boolean => Date.now() < deadline && process.ppid === parent

const poll = new Poll()
const events = new Events(64)
const socket = UdpSocket.bind({ address: '127.0.0.1', port: Number(portArg) })
poll.registry.register(socket, Token(0), Interest.READABLE)
console.log(socket.localAddr().port)
const slot = Number(slotArg)
const batch = new DatagramBatch(64, slot)
let more = false

const gso = mode === 'gso'
/** The most segments one GSO send carries here (48 x 1,200 B stays under 64 KiB). */
const MAX_SEGMENTS = Math.min(48, Math.floor(65507 / slot))
const out = new DatagramBatch(1, 65536)
/** Each receive slot as a view, made once: copies allocate nothing. */
const slots = Array.from({ length: batch.capacity }, (_, i) => batch.buffer.subarray(batch.offset(i), batch.offset(i) + slot))
let outAddress = ''
let outPort = -1

/** Echoes datagrams 0 to n - 1 as GSO sends if they are one flow; false if not. */
function echoGso(n: number): boolean {
  const address = batch.address(0)
  const port = batch.port(0)
  const segment = batch.size(0)
  for (let i = 1; i < n; i++) {
    if (batch.port(i) !== port || batch.address(i) !== address) return false
    const size = batch.size(i)
    if (size > segment || (size < segment && i < n - 1)) return false
  }
  if (address !== outAddress || port !== outPort) {
    out.setTarget(0, { address, port }) // only when the peer changes
    outAddress = address
    outPort = port
  }
  for (let first = 0; first < n; first += MAX_SEGMENTS) {
    const last = Math.min(n, first + MAX_SEGMENTS)
    let total = 0
    for (let i = first; i < last; i++) {
      out.buffer.set(slots[i]!, total)
      total += batch.size(i)
    }
    out.setSize(0, total)
    out.setSegmentSize(0, last - first > 1 ? segment : 0)
    socket.sendBatch(out, 0, 1)
  }
  return true
}

/** One readable edge: drain (DRAIN_LIMIT batches at a time, then poll again). */
function drain(): void {
  more = true
  for (let i = 0; i < DRAIN_LIMIT; i++) {
    const n = socket.recvBatch(batch)
    if (n === null) {
      more = false
      return
    }
    try {
      if (!(gso && n > 1 && echoGso(n))) socket.sendBatch(batch)
    } catch {
      // dropped, as the native servers ignore send errors
    }
    if (n < batch.capacity) {
      more = false
      return
    }
  }
}

for (;;) {
  const count = poll.poll(events, more ? 0 : IDLE_MS)
  if (count > 0 || more) drain()
  else if (!alive()) break
}
socket.close()
poll.close()
