// `node-mio-blocking`: the echo server of `npm run bench` on node-mio, with a
// blocking `poll()` loop on the main thread (nothing else runs in this
// process, so blocking is what it should do).
//
// Usage: node --import tsx bench/servers/node-mio-echo.ts tcp|udp [port] [max-seconds]
// Port 0 picks one; the bound port is printed on stdout (one line). Loopback
// only. The server exits on SIGTERM, when its parent goes away (checked when
// idle), or after max-seconds (default 3600).
//
// Same shape as mio-native (bench/native/src/bin/echo-server.rs): TCP_NODELAY,
// edge-triggered, drain to `null`, and backpressure (a connection whose echo
// cannot be written stops reading until it is writable).
import { Events, Interest, Poll, TcpListener, type TcpStream, Token, UdpSocket } from 'node-mio'

const [mode = 'tcp', portArg = '0', maxArg = '3600'] = process.argv.slice(2)
const port = Number(portArg)
const maxSeconds = Number(maxArg)
if (mode !== 'tcp' && mode !== 'udp') throw new Error(`mode must be tcp or udp, not ${mode}`)
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port ${portArg}`)
if (!(maxSeconds > 0)) throw new Error(`bad max-seconds ${maxArg}`)

const BUF = 64 * 1024
const IDLE_MS = 500
/** Reads per event before the connection goes to the back of the line. */
const DRAIN_LIMIT = 4096
const LISTENER = Token(0)

const parent = process.ppid
const deadline = Date.now() + maxSeconds * 1000
/** Checked only when idle: no extra work on the measured path. */
const alive = () => process.ppid === parent && Date.now() < deadline

const poll = new Poll()
const events = new Events(1024)
const buf = Buffer.alloc(BUF)
// `write` takes a whole buffer, so echoing `n` bytes needs a view of the
// first `n`: views are made once per length and reused, which keeps the loop
// free of allocations (`buf.subarray(0, n)` per message would allocate).
const views: Array<Buffer | undefined> = new Array<Buffer | undefined>(BUF + 1).fill(undefined)
const view = (n: number): Buffer => views[n] ?? (views[n] = buf.subarray(0, n))

interface Conn {
  stream: TcpStream
  token: number
  /** Echo bytes the kernel has not taken yet. */
  pending: Buffer | null
}

/** What `serve` left: would block, connection finished, or more to read. */
const Served = { Idle: 0, Done: 1, More: 2 } as const
type Served = (typeof Served)[keyof typeof Served]

/** Flushes what is pending, then echoes until the socket would block. */
function serve(c: Conn): Served {
  for (let reads = 0; reads < DRAIN_LIMIT; reads++) {
    while (c.pending !== null) {
      const w = c.stream.write(c.pending)
      if (w === null) return Served.Idle
      c.pending = w < c.pending.length ? c.pending.subarray(w) : null
    }
    const n = c.stream.read(buf)
    if (n === null) return Served.Idle
    if (n === 0) return Served.Done
    let off = 0
    while (off < n) {
      const w = c.stream.write(off === 0 ? view(n) : buf.subarray(off, n))
      if (w === null) {
        c.pending = Buffer.from(buf.subarray(off, n))
        return Served.Idle
      }
      off += w
    }
  }
  return Served.More
}

function tcp(): void {
  const listener = TcpListener.bind({ address: '127.0.0.1', port })
  poll.registry.register(listener, LISTENER, Interest.READABLE)
  console.log(listener.localAddr().port)
  const conns: Array<Conn | undefined> = [undefined]
  const free: number[] = []
  let again: Conn[] = []
  const readWrite = Interest.READABLE.add(Interest.WRITABLE)

  const close = (c: Conn) => {
    c.stream.close()
    conns[c.token] = undefined
    free.push(c.token)
  }
  const handle = (c: Conn) => {
    let served: Served
    try {
      served = serve(c)
    } catch {
      served = Served.Done // reset by the peer, or another real error
    }
    if (served === Served.Done) close(c)
    else if (served === Served.More) again.push(c)
  }

  for (;;) {
    const count = poll.poll(events, again.length > 0 ? 0 : IDLE_MS)
    if (count === 0 && again.length === 0) {
      if (!alive()) break
      continue
    }
    for (const event of events) {
      const token = event.token
      if (token === LISTENER) {
        for (let accepted; (accepted = listener.accept()) !== null; ) {
          const stream = accepted[0]
          stream.setNodelay(true)
          const t = free.pop() ?? conns.length
          const c: Conn = { stream, token: t, pending: null }
          conns[t] = c
          poll.registry.register(stream, t, readWrite)
        }
        continue
      }
      const c = conns[token]
      if (c !== undefined) handle(c)
    }
    if (again.length > 0) {
      const retry = again
      again = []
      for (const c of retry) if (conns[c.token] === c) handle(c)
    }
  }
  for (const c of conns) if (c !== undefined) c.stream.close()
  listener.close()
}

function udp(): void {
  const socket = UdpSocket.bind({ address: '127.0.0.1', port })
  poll.registry.register(socket, Token(0), Interest.READABLE)
  console.log(socket.localAddr().port)
  let more = false
  for (;;) {
    if (poll.poll(events, more ? 0 : IDLE_MS) === 0 && !more) {
      if (!alive()) break
      continue
    }
    // One readable edge: drain (DRAIN_LIMIT at a time, then poll again). A
    // full send buffer drops the echo, as UDP may.
    more = true
    for (let i = 0; i < DRAIN_LIMIT; i++) {
      const from = socket.recvFrom(buf)
      if (from === null) {
        more = false
        break
      }
      try {
        socket.sendTo(view(from.size), from)
      } catch {
        // dropped, as mio-native's `let _ = send_to(..)`
      }
    }
  }
  socket.close()
}

if (mode === 'tcp') tcp()
else udp()
poll.close()
