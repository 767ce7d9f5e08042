// Connections handed off to worker threads (any Unix): the main thread
// accepts with node-mio, takes each connection's descriptor out of its
// `TcpStream` (`detachFd()`), and posts it to a worker, round-robin. The
// worker adopts it with `TcpStream.fromFd(fd)` and echoes on its own Poll.
// Threads share the process's descriptor table, so the number alone is
// enough: nothing is duplicated, and ownership moves with the message.
//
// Both sides use watch mode (`poll.watch`): the main thread's loop and each
// worker's loop stay free to pass messages while their Polls are watched.
//
// Run it with `node --import tsx examples/multicore-handoff.ts`, then
// connect a few times with `nc 127.0.0.1 9000`. The address is
// 127.0.0.1:9000 unless you pass one or set `PORT` (`PORT=0` picks a free
// port). `WORKERS` sets the number of workers (default: the number of cores,
// at least 2); with `MAX_CONNECTIONS=n` the server stops after n connections
// have closed, and the process exits.
import { availableParallelism } from 'node:os'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { Events, Interest, Poll, TcpListener, TcpStream, Token } from 'node-mio'

/** Main thread to worker. */
type Order = { type: 'adopt'; fd: number; peer: string } | { type: 'stop' }

/** Worker to main thread. */
type Report =
  | { type: 'adopted'; worker: number; fd: number; peer: string }
  | { type: 'closed'; worker: number; peer: string; echoed: number }
  | { type: 'stopped'; worker: number; served: number }

/** A connection and what it still has to write back. */
interface Connection {
  stream: TcpStream
  peer: string
  pending: Buffer[]
  echoed: number
}

const buf = Buffer.alloc(64 * 1024)

function main(): void {
  if (process.platform === 'win32') {
    console.error('multicore-handoff: descriptors (detachFd, fromFd) are Unix only')
    process.exitCode = 1
    return
  }
  const count = Math.max(1, Number(process.env.WORKERS ?? Math.max(2, availableParallelism())))
  const address = process.argv[2] ?? `127.0.0.1:${process.env.PORT ?? 9000}`
  const maxConnections = process.env.MAX_CONNECTIONS === undefined ? Infinity : Number(process.env.MAX_CONNECTIONS)

  const served = new Array<number>(count).fill(0)
  let closed = 0
  let accepted = 0
  const workers = Array.from({ length: count }, (_, worker) => {
    const thread = startWorker(worker)
    thread.on('message', (report: Report) => {
      switch (report.type) {
        case 'adopted':
          served[worker]!++
          console.log(`worker ${worker}: serving ${report.peer} (fd ${report.fd})`)
          break
        case 'closed':
          console.log(`worker ${worker}: connection ${report.peer} closed after echoing ${report.echoed} bytes`)
          if (++closed >= maxConnections) stop()
          break
        case 'stopped':
          break
      }
    })
    thread.on('error', (error) => {
      console.error(`worker ${worker} failed:`, error)
      process.exitCode = 1
      stop()
    })
    return thread
  })

  const poll = new Poll()
  const listener = TcpListener.bind(address)
  poll.registry.register(listener, Token(0), Interest.READABLE)
  const watch = poll.watch(new Events(64), () => {
    // Edge-triggered: accept until null.
    for (let next; (next = listener.accept()) !== null; ) {
      const [stream, peer] = next
      // The stream was never registered here; detachFd() hands over its
      // descriptor and closes the object (not the socket).
      const fd = stream.detachFd()
      const order: Order = { type: 'adopt', fd, peer: `${peer.address}:${peer.port}` }
      workers[accepted++ % count]!.postMessage(order)
      // Stop accepting once every connection we will serve has arrived.
      if (accepted >= maxConnections) {
        watch.stop()
        listener.close()
        poll.close()
        break
      }
    }
  })
  const local = listener.localAddr()
  console.log(`Listening on ${local.family === 'IPv6' ? `[${local.address}]` : local.address}:${local.port} (${count} workers, descriptors handed off round-robin)`)

  let stopping = false
  function stop(): void {
    if (stopping) return
    stopping = true
    watch.stop()
    listener.close()
    poll.close()
    const stopOrder: Order = { type: 'stop' }
    for (const thread of workers) thread.postMessage(stopOrder)
    Promise.all(workers.map((thread) => new Promise((resolve) => thread.once('exit', resolve)))).then(() => {
      const busy = served.filter((n) => n > 0).length
      console.log(`Done: ${closed} connections; per worker: ${served.join(', ')}; served by ${busy} of ${count} workers`)
    })
  }
}

/** Starts this same file as a worker. */
function startWorker(worker: number): Worker {
  // Run through tsx (a .ts file), a worker needs tsx's CommonJS hook: Node 20
  // does not hand `--import` hooks on to workers.
  const execArgv = __filename.endsWith('.ts') ? ['--require', require.resolve('tsx/cjs')] : undefined
  return new Worker(__filename, { workerData: worker, execArgv })
}

/** A worker: adopts the descriptors it is sent and echoes on its own watched Poll. */
function serveInWorker(worker: number): void {
  const port = parentPort!
  const report = (message: Report): void => port.postMessage(message)
  const poll = new Poll()
  const connections = new Map<Token, Connection>()
  let nextToken = 1
  let served = 0

  const watch = poll.watch(new Events(256), (events) => {
    for (const event of events) {
      const connection = connections.get(event.token)
      if (connection !== undefined && !echo(connection)) {
        connections.delete(event.token)
        connection.stream.close()
        report({ type: 'closed', worker, peer: connection.peer, echoed: connection.echoed })
      }
    }
  })

  port.on('message', (order: Order) => {
    if (order.type === 'adopt') {
      // This worker owns the descriptor from now on.
      const stream = TcpStream.fromFd(order.fd)
      const token = Token(nextToken++)
      connections.set(token, { stream, peer: order.peer, pending: [], echoed: 0 })
      poll.registry.register(stream, token, Interest.READABLE.add(Interest.WRITABLE))
      served++
      report({ type: 'adopted', worker, fd: order.fd, peer: order.peer })
    } else {
      watch.stop()
      for (const { stream } of connections.values()) stream.close()
      poll.close()
      report({ type: 'stopped', worker, served })
      // Nothing is left on this worker's loop once the port is closed: it ends.
      port.close()
    }
  })
}

/** Reads until WouldBlock and writes back what it can; false once the connection is done. */
function echo(connection: Connection): boolean {
  let open = true
  try {
    for (;;) {
      const n = connection.stream.read(buf)
      if (n === null) break
      if (n === 0) {
        open = false
        break
      }
      connection.pending.push(Buffer.from(buf.subarray(0, n)))
    }
    for (let head = connection.pending[0]; head !== undefined; head = connection.pending[0]) {
      const written = connection.stream.write(head)
      if (written === null) break // the rest waits for a writable event
      connection.echoed += written
      if (written === head.length) connection.pending.shift()
      else connection.pending[0] = head.subarray(written)
    }
  } catch (error) {
    // A system error (ECONNRESET, say) ends this connection; anything else is a bug.
    if ((error as NodeJS.ErrnoException).code === undefined) throw error
    return false
  }
  return open || connection.pending.length > 0
}

// Last, once everything above is defined: the main thread, or a worker.
if (isMainThread) main()
else serveInWorker(workerData as number)
