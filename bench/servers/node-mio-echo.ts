// `node-mio-blocking` and `node-mio-watch`: the echo servers of `npm run
// bench` on node-mio. One event handler, two ways of waiting for events:
// - `blocking`: a blocking `poll()` loop on the main thread (nothing else
//   runs in this process, so blocking is what it should do);
// - `watch`: `poll.watch(events, cb)`, readiness delivered on Node's event
//   loop (uv_poll on the selector's descriptor), the thread never blocked.
//
// Usage: node --import tsx bench/servers/node-mio-echo.ts tcp|udp [port] [max-seconds] [blocking|watch]
// Port 0 picks one; the bound port is printed on stdout (one line). Loopback
// only. The server exits on SIGTERM, when its parent goes away (checked when
// idle in blocking mode, every 500 ms in watch mode), or after max-seconds
// (default 3600).
//
// Same shape as mio-native (bench/native/src/bin/echo-server.rs): TCP_NODELAY,
// edge-triggered, drain to `null`, and backpressure (a connection whose echo
// cannot be written stops reading until it is writable).
import { Events, Interest, Poll, TcpListener, type TcpStream, Token, UdpSocket } from 'node-mio'
import type { RemoteInfo } from 'node-mio'

const [mode = 'tcp', portArg = '0', maxArg = '3600', loop = 'blocking'] = process.argv.slice(2)
const port = Number(portArg)
const maxSeconds = Number(maxArg)
if (mode !== 'tcp' && mode !== 'udp') throw new Error(`mode must be tcp or udp, not ${mode}`)
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port ${portArg}`)
if (!(maxSeconds > 0)) throw new Error(`bad max-seconds ${maxArg}`)
if (loop !== 'blocking' && loop !== 'watch') throw new Error(`loop must be blocking or watch, not ${loop}`)

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

/**
 * What a server does with events, whichever way they arrive.
 * `onEvents` handles one batch; `more()` says whether work is left over
 * (a drain cut at DRAIN_LIMIT) that `resume()` continues without a new event.
 */
interface Handler {
  onEvents(events: Events): void
  more(): boolean
  resume(): void
  close(): void
}

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

function tcp(): Handler {
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
  const resume = () => {
    const retry = again
    again = []
    for (const c of retry) if (conns[c.token] === c) handle(c)
  }

  return {
    onEvents(events) {
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
      if (again.length > 0) resume()
    },
    more: () => again.length > 0,
    resume,
    close() {
      for (const c of conns) if (c !== undefined) c.stream.close()
      listener.close()
    },
  }
}

function udp(): Handler {
  const socket = UdpSocket.bind({ address: '127.0.0.1', port })
  poll.registry.register(socket, Token(0), Interest.READABLE)
  console.log(socket.localAddr().port)
  let more = false
  // One readable edge: drain (DRAIN_LIMIT at a time, then poll again). A
  // full send buffer drops the echo, as UDP may.
  // The sender is written into one reused object: nothing is allocated per datagram.
  const from = { address: '', family: 'IPv4', port: 0, size: 0 } as RemoteInfo
  const drain = () => {
    more = true
    for (let i = 0; i < DRAIN_LIMIT; i++) {
      if (socket.recvFrom(buf, from) === null) {
        more = false
        break
      }
      try {
        socket.sendTo(buf, from, 0, from.size)
      } catch {
        // dropped, as mio-native's `let _ = send_to(..)`
      }
    }
  }
  return {
    onEvents: drain,
    more: () => more,
    resume: drain,
    close: () => socket.close(),
  }
}

/** Blocking mode: poll, handle, repeat; checks liveness when idle. */
function runBlocking(handler: Handler): void {
  for (;;) {
    const more = handler.more()
    const count = poll.poll(events, more ? 0 : IDLE_MS)
    if (count > 0) handler.onEvents(events)
    else if (more) handler.resume()
    else if (!alive()) break
  }
  handler.close()
  poll.close()
}

/** Watch mode: events on Node's event loop; left-over work on setImmediate. */
function runWatch(handler: Handler): void {
  let scheduled = false
  const resume = () => {
    scheduled = false
    handler.resume()
    schedule()
  }
  const schedule = () => {
    if (!scheduled && handler.more()) {
      scheduled = true
      setImmediate(resume)
    }
  }
  const watch = poll.watch(events, (batch) => {
    handler.onEvents(batch)
    schedule()
  })
  const timer = setInterval(() => {
    if (alive()) return
    clearInterval(timer)
    watch.stop()
    handler.close()
    poll.close()
  }, IDLE_MS)
}

const handler = mode === 'tcp' ? tcp() : udp()
if (loop === 'watch') runWatch(handler)
else runBlocking(handler)
