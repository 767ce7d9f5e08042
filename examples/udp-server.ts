// mio's examples/udp_server.rs in TypeScript: a UDP echo server.
//
// Run it with `node --import tsx examples/udp-server.ts`, then talk to it with
// `nc -u 127.0.0.1 9000`. The address is 127.0.0.1:9000 unless you pass one
// (`node --import tsx examples/udp-server.ts '[::1]:0'`) or set `PORT`
// (`PORT=0` picks a free port; the server prints the one it got).
import { Events, Interest, Poll, Token, UdpSocket } from 'node-mio'

// A token to allow us to identify which event is for the `UdpSocket`.
const UDP_SOCKET = Token(0)

const address = process.argv[2] ?? `127.0.0.1:${process.env.PORT ?? 9000}`

// Create a poll instance.
const poll = new Poll()
// Create storage for events. Since we will only register a single socket, a
// capacity of 1 will do.
const events = new Events(1)

// Setup the UDP socket.
const socket = UdpSocket.bind(address)

// Register our socket with the token defined above and an interest in being
// `READABLE`.
poll.registry.register(socket, UDP_SOCKET, Interest.READABLE)

const local = socket.localAddr()
const host = local.family === 'IPv6' ? `[${local.address}]` : local.address
console.log(`Listening on ${host}:${local.port}`)
console.log('You can connect to the server using `nc`:')
console.log(` $ nc -u ${local.address} ${local.port}`)
console.log('Anything you type will be echoed back to you.')

// Initialize a buffer for the UDP packet. We use the maximum size of a UDP
// packet (64 KiB): a datagram longer than the buffer would be truncated.
const buf = Buffer.alloc(1 << 16)

// Our event loop. `poll(events, null)` blocks this thread until the socket is
// readable: fine for a program that does nothing else, like this one. A
// signal that interrupts the wait returns 0 events, and we poll again (mio's
// example retries on `Interrupted`).
for (;;) {
  // Poll to check if we have events waiting for us.
  poll.poll(events, null)

  // Process each event.
  for (const event of events) {
    // Validate the token we registered our socket with, in this example it
    // will only ever be one but we make sure it's valid none the less.
    if (event.token !== UDP_SOCKET) {
      // This should never happen as we only registered our `UdpSocket` using
      // the `UDP_SOCKET` token, but if it ever does we'll log it.
      console.warn('Got event for unexpected token:', event)
      continue
    }
    // In this loop we receive all packets queued for the socket: readiness is
    // edge-triggered, so we drain until `recvFrom` returns `null` (mio's
    // `WouldBlock`), the sign there are no more packets queued.
    for (let from; (from = socket.recvFrom(buf)) !== null; ) {
      // Echo the data. Real errors throw, and we consider them fatal. A full
      // send buffer (`null`) is fatal in mio's example too; UDP is lossy, so
      // here the echo is just dropped.
      if (socket.sendTo(buf.subarray(0, from.size), from) === null) {
        console.warn(`send buffer full: dropped the echo to ${from.address}:${from.port}`)
      }
    }
  }
}
