// The batching node-mio UDP echo server of bench/udp-batch.ts: one Poll,
// blocking poll() loop, recvBatch into a 64-slot DatagramBatch, then one
// sendBatch echoing each datagram to its sender (recvmmsg/sendmmsg on Linux).
// Nothing is allocated per datagram or per batch.
//
// Usage: node --import tsx bench/servers/node-mio-udp-batch.ts [port] [max-seconds]
// The bound port is printed on stdout. Exits when the parent goes away
// (checked when idle) or after max-seconds.
import { DatagramBatch, Events, Interest, Poll, Token, UdpSocket } from 'node-mio'

const [portArg = '0', maxArg = '3600'] = process.argv.slice(2)
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
const batch = new DatagramBatch(64, 2048)
let more = false

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
      socket.sendBatch(batch)
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
