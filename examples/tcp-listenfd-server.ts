// Port of mio's examples/tcp_listenfd_server.rs: a TCP server that does not
// bind its own socket but takes an already listening one from its parent as
// descriptor 3 (socket activation, as systemd's `LISTEN_FDS` protocol). Each
// connection gets "Hello world!", then anything it sends is printed.
//
// Run it under a socket activator, for example:
//
//   systemd-socket-activate -l 127.0.0.1:9000 node --import tsx examples/tcp-listenfd-server.ts
//
// or from Node.js, handing over a node:net server's descriptor:
//
//   const server = net.createServer().listen(9000, '127.0.0.1', () => {
//     spawn(process.execPath, ['--import', 'tsx', 'examples/tcp-listenfd-server.ts'], {
//       stdio: ['inherit', 'inherit', 'inherit', server._handle.fd],
//       env: { ...process.env, LISTEN_FDS: '1' },
//     })
//     server.close() // the child has its own copy now
//   })
//
// Without LISTEN_FDS it exits with status 1 and says why (mio panics). Set
// MAX_CONNECTIONS=n to make it exit by itself once n connections have closed.
import { Events, Interest, Poll, TcpListener, Token, type Event, type Registry, type TcpStream } from 'node-mio'

// Setup some tokens to allow us to identify which event is for which socket.
const SERVER = Token(0)

// Some data we'll send over the connection.
const DATA = Buffer.from('Hello world!\n')

// systemd's protocol: the first inherited listening socket is descriptor 3.
const SD_LISTEN_FDS_START = 3

function fail(message: string): never {
  console.error(`tcp-listenfd-server: ${message}`)
  process.exit(1)
}

function firstListenFdListener(): TcpListener | null {
  // Windows does not support `LISTEN_FDS`.
  if (process.platform === 'win32') return null
  // fromFd checks that it is a TCP socket, makes it non-blocking (as mio's
  // example does with set_nonblocking) and owns it from now on.
  return TcpListener.fromFd(SD_LISTEN_FDS_START)
}

const listenFds = process.env.LISTEN_FDS
if (listenFds === undefined) {
  fail(
    'LISTEN_FDS environment variable unset: start me with a listening TCP socket as descriptor 3 and LISTEN_FDS=1 ' +
      '(for example `systemd-socket-activate -l 127.0.0.1:9000 node --import tsx examples/tcp-listenfd-server.ts`)',
  )
}
if (!/^[1-9]\d*$/.test(listenFds)) fail(`LISTEN_FDS=${JSON.stringify(listenFds)}: expected at least one descriptor`)
// The protocol names the process the descriptors are meant for, when it does.
const listenPid = process.env.LISTEN_PID
if (listenPid !== undefined && listenPid !== String(process.pid)) {
  fail(`LISTEN_PID=${listenPid} is not this process (${process.pid}): the descriptors are not meant for me`)
}
const maxConnections = process.env.MAX_CONNECTIONS === undefined ? Infinity : Number(process.env.MAX_CONNECTIONS)

// Create a poll instance, and storage for events.
const poll = new Poll()
const events = new Events(128)

// Setup the TCP server socket.
let server: TcpListener
try {
  const listener = firstListenFdListener()
  if (listener === null) fail('socket activation (LISTEN_FDS) is not supported on this platform')
  server = listener
} catch (error) {
  fail(`descriptor ${SD_LISTEN_FDS_START} is not a listening TCP socket: ${(error as Error).message}`)
}
console.log(`Using preopened socket FD ${SD_LISTEN_FDS_START}`)
console.log('You can connect to the server using `nc`:')
try {
  const addr = server.localAddr()
  console.log(` $ nc ${addr.address} ${addr.port}`)
} catch {
  console.log(' $ nc <IP> <PORT>')
}
console.log("You'll see our welcome message and anything you type will be printed here.")

// Register the server with poll so we can receive events for it.
poll.registry.register(server, SERVER, Interest.READABLE)

// Map of token -> connection.
const connections = new Map<Token, TcpStream>()
// Unique token for each incoming connection.
let uniqueToken = SERVER + 1
let closedConnections = 0

while (closedConnections < maxConnections) {
  poll.poll(events, null)

  for (const event of events) {
    if (event.token === SERVER) {
      // Received an event for the TCP server socket, which indicates we can
      // accept a connection. Accept until none is pending (null).
      for (let accepted; (accepted = server.accept()) !== null; ) {
        const [connection, address] = accepted
        console.log(`Accepted connection from: ${address.address}:${address.port}`)
        const token = Token(uniqueToken++)
        // Writable only: the greeting goes first.
        poll.registry.register(connection, token, Interest.WRITABLE)
        connections.set(token, connection)
      }
      continue
    }
    // Maybe received an event for a TCP connection.
    const connection = connections.get(event.token)
    // Sporadic events happen, we can safely ignore them.
    if (connection === undefined) continue
    let done: boolean
    try {
      done = handleConnectionEvent(poll.registry, connection, event)
    } catch (error) {
      // mio's example returns the error from main; a server is better off
      // dropping the one connection.
      console.log(`Connection error: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
      done = true
    }
    if (done) {
      connections.delete(event.token)
      connection.close() // deregisters it too
      closedConnections++
    }
  }
}

for (const connection of connections.values()) connection.close()
server.close()
poll.close()
console.log(`Served ${closedConnections} connection(s), exiting`)

/** Returns `true` if the connection is done. */
function handleConnectionEvent(registry: Registry, connection: TcpStream, event: Event): boolean {
  if (event.isWritable()) {
    // We can (maybe) write to the connection.
    const n = connection.write(DATA)
    if (n !== null) {
      // We want to write the entire `DATA` buffer in a single go. If we
      // write less it is an error (as `io::Write::write_all`'s WriteZero).
      if (n < DATA.length) throw new Error(`short write: ${n} of ${DATA.length} bytes`)
      // After we've written something we'll reregister the connection to
      // only respond to readable events.
      registry.reregister(connection, event.token, Interest.READABLE)
    }
    // null: the connection is not actually ready; wait for the next event.
  }

  if (event.isReadable()) {
    let connectionClosed = false
    let received = Buffer.alloc(4096)
    let bytesRead = 0
    // We can (maybe) read from the connection: until null (drained).
    for (;;) {
      const n = connection.read(received.subarray(bytesRead))
      if (n === null) break
      if (n === 0) {
        // Reading 0 bytes means the other side has closed the connection or
        // is done writing, then so are we.
        connectionClosed = true
        break
      }
      bytesRead += n
      if (bytesRead === received.length) received = Buffer.concat([received, Buffer.alloc(1024)])
    }

    if (bytesRead !== 0) {
      const data = received.subarray(0, bytesRead)
      const text = new TextDecoder('utf-8', { fatal: true })
      try {
        console.log(`Received data: ${text.decode(data).trimEnd()}`)
      } catch {
        console.log(`Received (non UTF-8) data: [${[...data].join(', ')}]`)
      }
    }

    if (connectionClosed) {
      console.log('Connection closed')
      return true
    }
  }

  return false
}
