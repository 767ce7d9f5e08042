// mio's examples/tcp_server.rs in TypeScript: a TCP server that greets every
// connection with "Hello world!" and prints whatever it receives.
//
// Run it with `node --import tsx examples/tcp-server.ts`, then connect with
// `nc 127.0.0.1 9000`. The address is 127.0.0.1:9000 unless you pass one
// (`node --import tsx examples/tcp-server.ts '[::1]:0'`) or set `PORT`
// (`PORT=0` picks a free port; the server prints the one it got).
import { Interest, Poll, Events, TcpListener, Token, type Event, type Registry, type TcpStream } from 'node-mio'

// Setup some tokens to allow us to identify which event is for which socket.
const SERVER = Token(0)

// Some data we'll send over the connection.
const DATA = Buffer.from('Hello world!\n')

const address = process.argv[2] ?? `127.0.0.1:${process.env.PORT ?? 9000}`

// Create a poll instance.
const poll = new Poll()
// Create storage for events.
const events = new Events(128)

// Setup the TCP server socket.
const server = TcpListener.bind(address)

// Register the server with poll we can receive events for it.
poll.registry.register(server, SERVER, Interest.READABLE)

// Map of `Token` -> `TcpStream`.
const connections = new Map<Token, TcpStream>()
// Unique token for each incoming connection.
let uniqueToken = SERVER + 1

const local = server.localAddr()
const host = local.family === 'IPv6' ? `[${local.address}]` : local.address
console.log(`Listening on ${host}:${local.port}`)
console.log('You can connect to the server using `nc`:')
console.log(` $ nc ${local.address} ${local.port}`)
console.log("You'll see our welcome message and anything you type will be printed here.")

// Our event loop. `poll(events, null)` blocks this thread until something is
// ready: fine for a program that does nothing else, like this one. (A Node.js
// program with other work on its main thread polls with a timeout of 0, or
// runs the loop in a worker.) A signal that interrupts the wait makes `poll`
// return 0 events, where mio's example retries on `Interrupted`: looping
// around is the same retry.
for (;;) {
  poll.poll(events, null)

  for (const event of events) {
    if (event.token === SERVER) {
      // Received an event for the TCP server socket, which indicates we can
      // accept a connection. Readiness is edge-triggered: accept until `null`
      // (mio's `WouldBlock`), or the connections still queued may never get
      // another event.
      for (;;) {
        const accepted = server.accept()
        if (accepted === null) {
          // Our listener has no more incoming connections queued, so we can
          // return to polling and wait for some more.
          break
        }
        const [connection, peer] = accepted
        console.log(`Accepted connection from: ${peer.family === 'IPv6' ? `[${peer.address}]` : peer.address}:${peer.port}`)

        const token = uniqueToken++
        poll.registry.register(connection, token, Interest.READABLE.add(Interest.WRITABLE))
        connections.set(token, connection)
      }
    } else {
      // Maybe received an event for a TCP connection.
      const connection = connections.get(event.token)
      // Sporadic events happen (for a connection closed earlier in this very
      // batch, say): we can safely ignore them.
      if (connection === undefined) continue
      const done = handleConnectionEvent(poll.registry, connection, event)
      if (done) {
        connections.delete(event.token)
        poll.registry.deregister(connection)
        connection.close()
      }
    }
  }
}

/** Returns `true` if the connection is done. */
function handleConnectionEvent(registry: Registry, connection: TcpStream, event: Event): boolean {
  if (event.isWritable()) {
    // We can (maybe) write to the connection. `write` returns `null` when the
    // connection is not actually ready (mio's `WouldBlock`): then we simply
    // wait for the next writable event.
    const written = connection.write(DATA)
    if (written !== null) {
      // We want to write the entire `DATA` buffer in a single go. If we write
      // less we fail with a short write, as `io::Write::write_all` does.
      if (written < DATA.length) throw new Error('short write: the greeting did not fit in one write')
      // After we've written something we'll reregister the connection to only
      // respond to readable events.
      registry.reregister(connection, event.token, Interest.READABLE)
    }
  }

  if (event.isReadable()) {
    let connectionClosed = false
    let receivedData = Buffer.alloc(4096)
    let bytesRead = 0
    // We can (maybe) read from the connection: read until `null` (drained).
    // Real errors (a reset connection, say) throw; we consider them fatal.
    for (;;) {
      const n = connection.read(receivedData.subarray(bytesRead))
      if (n === null) break
      if (n === 0) {
        // Reading 0 bytes means the other side has closed the connection or
        // is done writing, then so are we.
        connectionClosed = true
        break
      }
      bytesRead += n
      if (bytesRead === receivedData.length) {
        receivedData = Buffer.concat([receivedData, Buffer.alloc(1024)])
      }
    }

    if (bytesRead !== 0) {
      const received = receivedData.subarray(0, bytesRead)
      const text = new TextDecoder('utf-8', { fatal: true })
      try {
        console.log(`Received data: ${text.decode(received).trimEnd()}`)
      } catch {
        console.log(`Received (none UTF-8) data: [${[...received].join(', ')}]`)
      }
    }

    if (connectionClosed) {
      console.log('Connection closed')
      return true
    }
  }

  return false
}
