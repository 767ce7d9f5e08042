// Connections handed off to worker *processes* (any Unix): a supervisor
// accepts TCP connections with node-mio and sends each one's descriptor to a
// worker process, round-robin, over a Unix socket (`sendWithFds`,
// SCM_RIGHTS). The worker receives a duplicate (`recvWithFds`), adopts it
// with `TcpStream.fromFd` and echoes on its own Poll; the supervisor closes
// its copy. The multi-process form of examples/multicore-handoff.ts: a
// worker that crashes takes only its own connections with it.
//
// Each worker gets its end of a `UnixStream.pair()` as descriptor 3. It
// writes one byte back per connection it finished, so the supervisor knows
// when to stop.
//
// Run it with `node --import tsx examples/multiprocess-handoff.ts`, then
// connect with `nc 127.0.0.1 9000`. The address is 127.0.0.1:9000 unless you
// pass one or set `PORT` (`PORT=0` picks a free port). `WORKERS` sets the
// number of worker processes (default 2); with `MAX_CONNECTIONS=n` the
// supervisor stops after n connections have closed, and everything exits.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Events, Interest, Poll, TcpListener, TcpStream, UnixStream } from 'node-mio'

const buf = Buffer.alloc(64 * 1024)
const LISTENER = 0

function supervisor(): void {
  const count = Math.max(1, Number(process.env.WORKERS ?? 2))
  const address = process.argv[2] ?? `127.0.0.1:${process.env.PORT ?? 9000}`
  const maxConnections = process.env.MAX_CONNECTIONS === undefined ? Infinity : Number(process.env.MAX_CONNECTIONS)

  const poll = new Poll()
  const events = new Events(64)
  const children: ChildProcess[] = []
  const channels = Array.from({ length: count }, (_, worker) => {
    const [mine, theirs] = UnixStream.pair()
    // The worker's descriptor 3 is its end of the pair.
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'worker', String(worker)], {
      stdio: ['ignore', 'inherit', 'inherit', theirs.fd],
    })
    children.push(child)
    theirs.close()
    poll.registry.register(mine, 1 + worker, Interest.READABLE)
    return mine
  })

  const listener = TcpListener.bind(address)
  poll.registry.register(listener, LISTENER, Interest.READABLE)
  const local = listener.localAddr()
  console.log(`Listening on ${local.address}:${local.port} (${count} worker processes)`)

  const served = new Array<number>(count).fill(0)
  const one = Buffer.from('c')
  const ack = Buffer.alloc(64)
  let accepted = 0
  let closed = 0
  while (closed < maxConnections) {
    poll.poll(events, null)
    for (const event of events) {
      if (event.token === LISTENER) {
        for (let next; (next = listener.accept()) !== null; ) {
          const [stream] = next
          const worker = accepted++ % count
          // One byte carries the descriptor; a full channel would wait for writable (not here: one byte each).
          channels[worker]!.sendWithFds(one, [stream])
          stream.close() // the worker has its own copy now
          served[worker]!++
        }
      } else {
        for (let n; (n = channels[event.token - 1]!.read(ack)) !== null && n > 0; ) closed += n
      }
    }
  }
  // Closing a channel is the worker's signal to finish.
  for (const channel of channels) channel.close()
  listener.close()
  poll.close()
  let exited = 0
  for (const child of children) {
    child.once('exit', () => {
      if (++exited === children.length) {
        const busy = served.filter((n) => n > 0).length
        console.log(`Done: ${closed} connections; per worker: ${served.join(', ')}; served by ${busy} of ${count} worker processes`)
      }
    })
  }
}

interface Connection {
  stream: TcpStream
  peer: string
  pending: Buffer[]
  echoed: number
  readClosed: boolean
}

function worker(id: number): void {
  const channel = UnixStream.fromFd(3)
  const poll = new Poll()
  const events = new Events(64)
  poll.registry.register(channel, 0, Interest.READABLE)
  const connections = new Map<number, Connection>()
  let nextToken = 1
  const done = Buffer.from('d')
  const one = Buffer.alloc(1)

  const finish = (token: number, conn: Connection) => {
    console.log(`worker ${id} (pid ${process.pid}): connection ${conn.peer} closed after echoing ${conn.echoed} bytes`)
    conn.stream.close()
    connections.delete(token)
    channel.write(done)
  }

  const serve = (token: number, conn: Connection) => {
    for (;;) {
      while (conn.pending.length > 0) {
        const head = conn.pending[0]!
        const n = conn.stream.write(head)
        if (n === null) return
        conn.echoed += n
        if (n === head.length) conn.pending.shift()
        else conn.pending[0] = head.subarray(n)
      }
      if (conn.readClosed) return finish(token, conn)
      const n = conn.stream.read(buf)
      if (n === null) return
      if (n === 0) conn.readClosed = true
      else conn.pending.push(Buffer.from(buf.subarray(0, n)))
    }
  }

  for (;;) {
    poll.poll(events, null)
    for (const event of events) {
      if (event.token === 0) {
        for (;;) {
          const got = channel.recvWithFds(one, 1)
          if (got === null) break
          if (got.size === 0) {
            // The supervisor closed the channel: stop.
            for (const conn of connections.values()) conn.stream.close()
            poll.close()
            return
          }
          for (const fd of got.fds) {
            const stream = TcpStream.fromFd(fd)
            const peer = stream.peerAddr()
            const token = nextToken++
            const conn = { stream, peer: `${peer.address}:${peer.port}`, pending: [], echoed: 0, readClosed: false }
            connections.set(token, conn)
            poll.registry.register(stream, token, Interest.READABLE.add(Interest.WRITABLE))
            console.log(`worker ${id} (pid ${process.pid}): serving ${conn.peer} (fd ${fd})`)
          }
        }
      } else {
        const conn = connections.get(event.token)
        if (conn !== undefined) serve(event.token, conn)
      }
    }
  }
}

if (process.platform === 'win32') {
  console.error('multiprocess-handoff: descriptor passing (SCM_RIGHTS) is Unix only')
  process.exitCode = 1
} else if (process.argv[2] === 'worker') {
  worker(Number(process.argv[3]))
} else {
  supervisor()
}
