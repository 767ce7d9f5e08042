// Latency of one event through watch mode and through pollAsync, against a
// blocking poll(null) in a worker, measured side by side in one run.
//
// A sender thread stamps the time (process.hrtime, one monotonic clock for
// every thread) and then makes one event: a wake through a shared Waker, or
// a 1-byte UDP datagram. The receiver stamps the time when its code sees the
// event: the watch callback on the main thread, the main thread's
// `await pollAsync()`, or a worker returning from a blocking `poll(null)`.
// One event at a time: the sender waits (Atomics) until the receiver has
// handled the last one and is waiting again. Modes take turns in several
// repetitions so that drift spreads over all of them.
//
// Run: node --import tsx bench/watch-latency.ts [rounds per mode and repetition, default 5000]
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { Events, Interest, Poll, SharedWaker, Token, UdpSocket, Waker } from 'node-mio'

type Kind = 'wake' | 'udp'
type Mode = 'blocking' | 'watch' | 'pollAsync'

/** Shared between the threads. */
interface Shared {
  /** [0]: the receiver is ready for round i - 1 when this is >= i. */
  control: SharedArrayBuffer
  /** [0]: the sender's time stamp (ns) of the current round. */
  stamp: SharedArrayBuffer
}

/** A target the sender makes events for. */
interface Target {
  waker: { id: number }
  port: number
}

/** One phase: `rounds` events of one kind to one target. */
interface Phase {
  kind: Kind
  target: Target
  rounds: number
}

const WAKE = Token(1)
const UDP = Token(2)
/** Seconds a thread waits for the other before declaring the run broken (never reached when things work). */
const STALL_MS = 10_000

const role = isMainThread ? 'main' : (workerData as { role: string }).role
if (role === 'main') {
  main().catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
} else if (role === 'sender') {
  sender(workerData as Shared & { role: string })
} else {
  blockingReceiver(workerData as Shared & { role: string })
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5000)
  const repetitions = 3
  const shared: Shared = { control: new SharedArrayBuffer(4), stamp: new SharedArrayBuffer(8) }
  const control = new Int32Array(shared.control)
  const stamp = new BigInt64Array(shared.stamp)

  // The main thread's receiver (watch and pollAsync modes).
  const poll = new Poll()
  const events = new Events(16)
  const waker = new Waker(poll.registry, WAKE)
  const socket = UdpSocket.bind('127.0.0.1:0')
  poll.registry.register(socket, UDP, Interest.READABLE)
  const mainTarget: Target = { waker: waker.share(), port: socket.localAddr().port }
  const drain = Buffer.alloc(16)

  const senderThread = startWorker({ ...shared, role: 'sender' })
  const blockingThread = startWorker({ ...shared, role: 'blocking' })
  const workerTarget = await nextMessage<Target>(blockingThread)

  /** Runs one phase in the sender; resolves once it sent every event. */
  const send = (phase: Phase): Promise<unknown> => {
    const sent = nextMessage(senderThread)
    senderThread.postMessage(phase)
    return sent
  }
  const ready = (round: number): void => {
    Atomics.store(control, 0, round + 1)
    Atomics.notify(control, 0)
  }
  const record = (samples: Float64Array, round: number, kind: Kind): void => {
    samples[round] = Number(process.hrtime.bigint() - Atomics.load(stamp, 0))
    if (kind === 'udp') while (socket.recvFrom(drain) !== null) {}
  }

  const phases: Record<Mode, (kind: Kind, rounds: number) => Promise<Float64Array>> = {
    async blocking(kind, n) {
      Atomics.store(control, 0, 0)
      const done = nextMessage<Float64Array>(blockingThread)
      blockingThread.postMessage({ kind, rounds: n })
      await send({ kind, target: workerTarget, rounds: n })
      return done
    },
    async watch(kind, n) {
      Atomics.store(control, 0, 0)
      const samples = new Float64Array(n)
      let round = 0
      let finished!: () => void
      const allDone = new Promise<void>((resolve) => (finished = resolve))
      const watch = poll.watch(events, () => {
        record(samples, round, kind)
        round++
        if (round < n) ready(round)
        else finished()
      })
      const sent = send({ kind, target: mainTarget, rounds: n })
      ready(0)
      await Promise.all([sent, allDone])
      watch.stop()
      return samples
    },
    async pollAsync(kind, n) {
      Atomics.store(control, 0, 0)
      const samples = new Float64Array(n)
      const sent = send({ kind, target: mainTarget, rounds: n })
      for (let round = 0; round < n; round++) {
        // Waiting before the sender may go: the event finds pollAsync pending.
        const pending = poll.pollAsync(events, null)
        ready(round)
        await pending
        record(samples, round, kind)
      }
      await sent
      return samples
    },
  }

  const kinds: Kind[] = ['wake', 'udp']
  const modes: Mode[] = ['blocking', 'watch', 'pollAsync']
  const results = new Map<string, number[]>()
  // A short warm-up of every path (JIT, caches), not recorded.
  for (const kind of kinds) for (const mode of modes) await phases[mode](kind, Math.min(200, rounds))
  for (let rep = 0; rep < repetitions; rep++) {
    for (const kind of kinds) {
      for (const mode of modes) {
        const samples = await phases[mode](kind, rounds)
        const key = `${kind}/${mode}`
        results.set(key, [...(results.get(key) ?? []), ...samples])
      }
    }
  }

  senderThread.postMessage(null)
  blockingThread.postMessage(null)
  await Promise.all([senderThread, blockingThread].map((w) => new Promise((resolve) => w.once('exit', resolve))))
  socket.close()
  waker.close()
  poll.close()

  const label: Record<Mode, string> = {
    blocking: 'blocking poll(null), worker',
    watch: 'watch, main thread',
    pollAsync: 'await pollAsync, main thread',
  }
  const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  const us = (ns: number): string => (ns / 1000).toFixed(1).padStart(8)
  console.log(`node ${process.version}, ${process.platform}-${process.arch}: ${repetitions} x ${rounds} events per mode, one at a time, sender in a worker`)
  console.log(`${'event'.padEnd(10)}${'receiver'.padEnd(32)}${'median us'.padStart(10)}${'p99 us'.padStart(10)}${'median x'.padStart(10)}${'p99 x'.padStart(8)}`)
  for (const kind of kinds) {
    const base = [...results.get(`${kind}/blocking`)!].sort((a, b) => a - b)
    const baseMedian = quantile(base, 0.5)
    const baseP99 = quantile(base, 0.99)
    for (const mode of modes) {
      const sorted = [...results.get(`${kind}/${mode}`)!].sort((a, b) => a - b)
      const median = quantile(sorted, 0.5)
      const p99 = quantile(sorted, 0.99)
      console.log(
        `${(kind === 'wake' ? 'wake' : 'udp 1 B').padEnd(10)}${label[mode].padEnd(32)}${us(median)}  ${us(p99)}${(median / baseMedian).toFixed(2).padStart(10)}${(p99 / baseP99).toFixed(2).padStart(8)}`,
      )
    }
  }
  console.log('(x: ratio to the blocking poll(null) baseline of the same event kind)')
}

/** The sender: for each phase it is given, makes one event per round once the receiver is ready. */
function sender(shared: Shared): void {
  const control = new Int32Array(shared.control)
  const stamp = new BigInt64Array(shared.stamp)
  const socket = UdpSocket.bind('127.0.0.1:0')
  const byte = Buffer.alloc(1)
  parentPort!.on('message', (phase: Phase | null) => {
    if (phase === null) {
      socket.close()
      parentPort!.close()
      return
    }
    const waker = SharedWaker.from(phase.target.waker)
    const to = { address: '127.0.0.1', port: phase.target.port }
    for (let round = 0; round < phase.rounds; round++) {
      waitUntil(control, round + 1)
      Atomics.store(stamp, 0, process.hrtime.bigint())
      if (phase.kind === 'wake') waker.wake()
      else socket.sendTo(byte, to)
    }
    parentPort!.postMessage('sent')
  })
}

/** The baseline receiver: a worker blocking in poll(null). */
function blockingReceiver(shared: Shared): void {
  const control = new Int32Array(shared.control)
  const stamp = new BigInt64Array(shared.stamp)
  const poll = new Poll()
  const events = new Events(16)
  const waker = new Waker(poll.registry, WAKE)
  const socket = UdpSocket.bind('127.0.0.1:0')
  poll.registry.register(socket, UDP, Interest.READABLE)
  const drain = Buffer.alloc(16)
  parentPort!.postMessage({ waker: waker.share(), port: socket.localAddr().port } satisfies Target)
  parentPort!.on('message', (phase: { kind: Kind; rounds: number } | null) => {
    if (phase === null) {
      for (const s of [socket, waker, poll]) s.close()
      parentPort!.close()
      return
    }
    const samples = new Float64Array(phase.rounds)
    for (let round = 0; round < phase.rounds; round++) {
      Atomics.store(control, 0, round + 1)
      Atomics.notify(control, 0)
      let count = 0
      while (count === 0) count = poll.poll(events, null)
      samples[round] = Number(process.hrtime.bigint() - Atomics.load(stamp, 0))
      if (phase.kind === 'udp') while (socket.recvFrom(drain) !== null) {}
    }
    parentPort!.postMessage(samples)
  })
}

/** Blocks until control[0] >= value (a worker may block; this one has nothing else to do). */
function waitUntil(control: Int32Array, value: number): void {
  for (let current; (current = Atomics.load(control, 0)) < value; ) {
    if (Atomics.wait(control, 0, current, STALL_MS) === 'timed-out' && Atomics.load(control, 0) === current) {
      throw new Error(`sender: the receiver did not get ready for round ${value - 1}`)
    }
  }
}

function nextMessage<T = unknown>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('a worker did not answer')), STALL_MS * 3)
    worker.once('message', (message: T) => {
      clearTimeout(timer)
      resolve(message)
    })
  })
}

/** Starts this same file as a worker. */
function startWorker(data: Shared & { role: string }): Worker {
  // Run through tsx (a .ts file), a worker needs tsx's CommonJS hook: Node 20
  // does not hand `--import` hooks on to workers.
  const execArgv = __filename.endsWith('.ts') ? ['--require', require.resolve('tsx/cjs')] : undefined
  const worker = new Worker(__filename, { workerData: data, execArgv })
  worker.on('error', (error) => {
    console.error(`${data.role} worker failed:`, error)
    process.exit(1)
  })
  return worker
}
