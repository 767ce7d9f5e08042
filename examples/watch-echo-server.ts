// A TCP echo server in watch mode: node-mio's readiness events delivered on
// Node's own event loop by `poll.watch`, on the main thread, beside a
// `setInterval` that keeps ticking. Nothing blocks: the watch calls back when
// a socket is ready, and the rest of the time the loop runs timers, fs and
// node:net as usual.
//
// Run it with `node --import tsx examples/watch-echo-server.ts`, then
// `nc 127.0.0.1 9000` and type. The address is 127.0.0.1:9000 unless you
// pass one (`... watch-echo-server.ts '[::1]:0'`) or set `PORT` (`PORT=0`
// picks a free port). `TICK_MS` sets the interval (1000 ms); with
// `MAX_CONNECTIONS=n` the server stops after n connections have closed, and
// the process then exits by itself, since nothing is left on its loop.
//
// Out of descriptors (`EMFILE`, `ENFILE`), `accept` throws and the waiting
// connections stay queued. Readiness is edge-triggered, so no new event
// comes when descriptors free up: the server retries on a timer (and serves
// its open connections meanwhile) instead of spinning on `accept`.
import { Events, Interest, Poll, TcpListener, Token, isSystemError, type Event, type TcpStream } from 'node-mio'

const SERVER = Token(0)

const address = process.argv[2] ?? `127.0.0.1:${process.env.PORT ?? 9000}`
const tickMs = Number(process.env.TICK_MS ?? 1000)
const maxConnections = process.env.MAX_CONNECTIONS === undefined ? Infinity : Number(process.env.MAX_CONNECTIONS)

const poll = new Poll()
const server = TcpListener.bind(address)
poll.registry.register(server, SERVER, Interest.READABLE)

/** A connection and what it still has to write back. */
interface Connection {
  stream: TcpStream
  peer: string
  pending: Buffer[]
  echoed: number
  /** Registered for writable too: only while `pending` waits for room. */
  writing: boolean
}
const connections = new Map<Token, Connection>()
let nextToken = SERVER + 1
let closedConnections = 0
const buf = Buffer.alloc(64 * 1024)

// The interval runs on the same thread as the server. Its ticks keep coming
// while connections are being served: the watch never holds the loop.
let ticks = 0
const interval = setInterval(() => {
  ticks++
  console.log(`tick ${ticks}: ${connections.size} connection${connections.size === 1 ? '' : 's'} open`)
}, tickMs)

// The watch: `events` holds one batch at a time, valid inside the callback.
const watch = poll.watch(new Events(256), (events) => {
  for (const event of events) {
    if (event.token === SERVER) accept()
    else serve(event)
  }
})

const local = server.localAddr()
console.log(`Listening on ${local.family === 'IPv6' ? `[${local.address}]` : local.address}:${local.port}`)

/** The timer that retries `accept` after running out of descriptors. */
let retry: NodeJS.Timeout | undefined
let exhausted = false
const RETRY_MS = 100

function accept(): void {
  // Edge-triggered: accept until null, or queued connections get no new event.
  for (;;) {
    let accepted
    try {
      accepted = server.accept()
    } catch (error) {
      if (!isSystemError(error) || (error.code !== 'EMFILE' && error.code !== 'ENFILE')) throw error
      if (!exhausted) console.log(`accept: ${error.code}, retrying every ${RETRY_MS} ms`)
      exhausted = true
      retry ??= setTimeout(() => {
        retry = undefined
        accept()
      }, RETRY_MS)
      return
    }
    if (accepted === null) return
    if (exhausted) console.log('accept: descriptors available again')
    exhausted = false
    const [stream, peer] = accepted
    const token = Token(nextToken++)
    const name = `${peer.family === 'IPv6' ? `[${peer.address}]` : peer.address}:${peer.port}`
    connections.set(token, { stream, peer: name, pending: [], echoed: 0, writing: false })
    // Readable only: writable interest is added while output waits (below).
    poll.registry.register(stream, token, Interest.READABLE)
    console.log(`Accepted connection from ${name}`)
  }
}

function serve(event: Event): void {
  const connection = connections.get(event.token)
  if (connection === undefined) return // sporadic event for a closed connection
  let open = true
  try {
    // Read until WouldBlock (null) or the end of the stream (0).
    for (;;) {
      const n = connection.stream.read(buf)
      if (n === null) break
      if (n === 0) {
        open = false
        break
      }
      connection.pending.push(Buffer.from(buf.subarray(0, n)))
    }
    // Write back what we can; the rest waits for a writable event.
    for (let head = connection.pending[0]; head !== undefined; head = connection.pending[0]) {
      const written = connection.stream.write(head)
      if (written === null) break
      connection.echoed += written
      if (written === head.length) connection.pending.shift()
      else connection.pending[0] = head.subarray(written)
    }
    // Writable interest only while output waits for room: an idle socket is
    // always writable, and mio's poll(2) backend would report it again after
    // every read that would block.
    const writing = connection.pending.length > 0
    if (writing !== connection.writing) {
      poll.registry.reregister(connection.stream, event.token, writing ? Interest.READABLE.add(Interest.WRITABLE) : Interest.READABLE)
      connection.writing = writing
    }
  } catch (error) {
    console.log(`Connection ${connection.peer} failed: ${(error as Error).message}`)
    open = false
    connection.pending.length = 0
  }
  // The peer is done and everything went back: close (closing deregisters).
  if (!open && connection.pending.length === 0) {
    connections.delete(event.token)
    connection.stream.close()
    closedConnections++
    console.log(`Connection ${connection.peer} closed after echoing ${connection.echoed} bytes`)
    if (closedConnections >= maxConnections) shutdown()
  }
}

function shutdown(): void {
  clearTimeout(retry)
  watch.stop()
  clearInterval(interval)
  for (const { stream } of connections.values()) stream.close()
  server.close()
  poll.close()
  console.log(`Done: ${closedConnections} connections served while the interval ticked ${ticks} times`)
  // Nothing is left on the event loop: the process exits on its own.
}
