// The example from mio's README, in TypeScript: a server and a client on one
// Poll. Run it with `npm run demo`.
import { Events, Interest, Poll, TcpListener, TcpStream, Token } from 'node-mio'

// Some tokens to allow us to identify which event is for which socket.
const SERVER = Token(0)
const CLIENT = Token(1)

// Create a poll instance, and storage for events.
const poll = new Poll()
const events = new Events(128)

// Set up the server socket (port 0: the OS picks a free port).
const server = TcpListener.bind('127.0.0.1:0')
const addr = server.localAddr()
console.log(`server listening on ${addr.address}:${addr.port}`)
// Start listening for incoming connections.
poll.registry.register(server, SERVER, Interest.READABLE)

// Set up the client socket.
const client = TcpStream.connect(addr)
// Register the socket.
poll.registry.register(client, CLIENT, Interest.READABLE.add(Interest.WRITABLE))

// Start an event loop.
let done = false
while (!done) {
  // Poll for events (null: wait until one arrives).
  poll.poll(events, null)

  // Process each event.
  for (const event of events) {
    // We can use the token we previously provided to `register` to determine
    // for which socket the event is.
    switch (event.token) {
      case SERVER: {
        // If this is an event for the server, it means a connection is ready
        // to be accepted. Accept it (and, here, close it straight away).
        const accepted = server.accept()
        if (accepted !== null) {
          const [connection, peer] = accepted
          console.log(`server accepted a connection from ${peer.address}:${peer.port}`)
          connection.close()
        }
        break
      }
      case CLIENT: {
        if (event.isWritable()) {
          // We can (likely) write to the socket without blocking.
          console.log(`client connected to ${client.peerAddr().port}: writable`)
        }
        if (event.isReadable()) {
          // We can (likely) read from the socket without blocking.
          console.log('client readable')
        }
        // Since the server just shuts down the connection, let's just exit
        // from our event loop.
        done = true
        break
      }
      default:
        // Sporadic events happen; we can safely ignore them.
        break
    }
  }
}

client.close()
server.close()
poll.close()
console.log('done: server and client ran on one Poll')
