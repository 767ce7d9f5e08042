// One port, one echo server per core (Linux): N worker threads, each with
// its own Poll and its own `TcpListener.bind(addr, { reusePort: true })` on
// the same port. The kernel (SO_REUSEPORT) spreads incoming connections over
// the listeners; each worker blocks in `poll(null)`, serving only its own.
// The main thread only starts the workers, prints what they report, and
// stops them through their wakers (`waker.share()`, `SharedWaker.wake()`):
// a worker blocked in poll() cannot receive messages, but it can be woken.
//
// Run it with `node --import tsx examples/multicore-reuseport.ts`, then
// connect a few times with `nc 127.0.0.1 9000`. The address is
// 127.0.0.1:9000 unless you pass one or set `PORT` (`PORT=0` picks a free
// port). `WORKERS` sets the number of workers (default: the number of cores,
// at least 2); with `MAX_CONNECTIONS=n` the server stops after n
// connections have closed, and the process exits.
import { availableParallelism } from 'node:os'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { Events, Interest, Poll, SharedWaker, TcpListener, Token, Waker, type Event, type TcpStream } from 'node-mio'

/** What a worker tells the main thread. */
type Report =
  | { type: 'listening'; worker: number; port: number; waker: { id: number } }
  | { type: 'accepted'; worker: number; peer: string }
  | { type: 'closed'; worker: number; peer: string; echoed: number }
  | { type: 'stopped'; worker: number; served: number }

interface WorkerData {
  worker: number
  address: string
}

async function main(): Promise<void> {
  if (process.platform !== 'linux') {
    console.error('multicore-reuseport: SO_REUSEPORT spreads connections over listeners on Linux only; see multicore-handoff.ts')
    process.exitCode = 1
    return
  }
  const count = Math.max(1, Number(process.env.WORKERS ?? Math.max(2, availableParallelism())))
  const address = process.argv[2] ?? `127.0.0.1:${process.env.PORT ?? 9000}`
  const maxConnections = process.env.MAX_CONNECTIONS === undefined ? Infinity : Number(process.env.MAX_CONNECTIONS)
  const host = address.slice(0, address.lastIndexOf(':'))

  const workers: Worker[] = []
  const wakers: SharedWaker[] = []
  const served = new Array<number>(count).fill(0)
  let closed = 0
  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    // Wake every worker out of poll(null): its waker's event means "stop".
    for (const waker of wakers) waker?.wake()
  }

  const start = (worker: number, at: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const thread = startWorker({ worker, address: at })
      workers[worker] = thread
      thread.on('error', (error) => {
        console.error(`worker ${worker} failed:`, error)
        process.exitCode = 1
        stop()
        reject(error)
      })
      thread.on('message', (report: Report) => {
        switch (report.type) {
          case 'listening':
            wakers[worker] = SharedWaker.from(report.waker)
            resolve(report.port)
            break
          case 'accepted':
            served[worker]!++
            console.log(`worker ${worker}: accepted connection from ${report.peer}`)
            break
          case 'closed':
            console.log(`worker ${worker}: connection ${report.peer} closed after echoing ${report.echoed} bytes`)
            if (++closed >= maxConnections) stop()
            break
          case 'stopped':
            break
        }
      })
    })

  // The first worker binds the address (port 0 too); the others bind the port it got.
  const port = await start(0, address)
  const bound = `${host}:${port}`
  await Promise.all(Array.from({ length: count - 1 }, (_, i) => start(i + 1, bound)))
  console.log(`Listening on ${bound} (${count} workers, SO_REUSEPORT)`)

  await Promise.all(workers.map((thread) => new Promise((resolve) => thread.once('exit', resolve))))
  const busy = served.filter((n) => n > 0).length
  console.log(`Done: ${closed} connections; per worker: ${served.join(', ')}; served by ${busy} of ${count} workers`)
}

/** Starts this same file as a worker. */
function startWorker(data: WorkerData): Worker {
  // Run through tsx (a .ts file), a worker needs tsx's CommonJS hook: Node 20
  // does not hand `--import` hooks on to workers.
  const execArgv = __filename.endsWith('.ts') ? ['--require', require.resolve('tsx/cjs')] : undefined
  return new Worker(__filename, { workerData: data, execArgv })
}

/** A worker: its own Poll and listener, blocking in poll(null) until its waker says stop. */
function serveInWorker({ worker, address }: WorkerData): void {
  const LISTENER = Token(0)
  const STOP = Token(1)
  const report = (message: Report): void => parentPort!.postMessage(message)

  const poll = new Poll()
  const events = new Events(256)
  const listener = TcpListener.bind(address, { reusePort: true })
  poll.registry.register(listener, LISTENER, Interest.READABLE)
  const waker = new Waker(poll.registry, STOP)
  report({ type: 'listening', worker, port: listener.localAddr().port, waker: waker.share() })

  const connections = new Map<Token, Connection>()
  let nextToken = 2
  let served = 0
  let running = true
  while (running) {
    // This thread has nothing else to do: block until something is ready.
    poll.poll(events, null)
    for (const event of events) {
      if (event.token === STOP) {
        running = false
      } else if (event.token === LISTENER) {
        for (let accepted; (accepted = listener.accept()) !== null; ) {
          const [stream, peer] = accepted
          const token = Token(nextToken++)
          const name = `${peer.address}:${peer.port}`
          connections.set(token, { stream, peer: name, pending: [], echoed: 0 })
          poll.registry.register(stream, token, Interest.READABLE.add(Interest.WRITABLE))
          served++
          report({ type: 'accepted', worker, peer: name })
        }
      } else {
        const connection = connections.get(event.token)
        if (connection !== undefined && !echo(connection, event)) {
          connections.delete(event.token)
          connection.stream.close()
          report({ type: 'closed', worker, peer: connection.peer, echoed: connection.echoed })
        }
      }
    }
  }
  for (const { stream } of connections.values()) stream.close()
  listener.close()
  waker.close()
  poll.close()
  report({ type: 'stopped', worker, served })
}

/** A connection and what it still has to write back. */
interface Connection {
  stream: TcpStream
  peer: string
  pending: Buffer[]
  echoed: number
}

const buf = Buffer.alloc(64 * 1024)

/** Reads until WouldBlock and writes back what it can; false once the connection is done. */
function echo(connection: Connection, _event: Event): boolean {
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
if (isMainThread) {
  main().catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
} else {
  serveInWorker(workerData as WorkerData)
}
