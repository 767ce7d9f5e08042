// node-mio in worker threads: every worker has its own tables (native
// objects are per thread), a blocking poll in a worker can be ended by
// worker.terminate(), and a Waker can be shared across threads.
//
// Worker bodies are CommonJS JavaScript evaluated in the worker, where
// `require('node-mio')` is this package. Checks that count descriptors or
// that need a main thread which never loads node-mio run in a child process
// (`runNode`), so nothing else in this test file can disturb them.
import test from 'ava'
import { once } from 'node:events'
import net from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import { Events, Interest, Poll, SharedWaker, Token, UdpSocket, Waker } from 'node-mio'
import { PATIENCE, guard } from './support/async.ts'
import { runNode } from './support/processes.ts'
import { expectCleanRun } from './support/shared-a-processes.ts'
import { runtime, terminateReleases } from './support/platform.ts'

// Workers are portable: every test runs on Windows too (descriptor counts are Linux-only, below).

/**
 * A worker running `body` (the body of an async function; `mio` is
 * node-mio, `data` the workerData, `post` posts to the main thread). A throw
 * in the body is posted as `{ error }` and makes `next()` reject.
 */
class EvalWorker {
  readonly worker: Worker
  readonly exited: Promise<number>
  readonly #queue: unknown[] = []
  #waiter: (() => void) | undefined
  #exitCode: number | undefined

  constructor(t: { teardown(fn: () => unknown): void }, body: string, data: unknown = null) {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads')
      const mio = require('node-mio')
      const post = (value) => parentPort.postMessage(value)
      ;(async (data) => { ${body} })(workerData).catch((error) => {
        parentPort.postMessage({ error: String((error && error.stack) || error) })
        process.exitCode = 1
      })
    `
    this.worker = new Worker(code, { eval: true, workerData: data })
    this.worker.on('message', (message: unknown) => {
      this.#queue.push(message)
      this.#waiter?.()
    })
    this.worker.on('error', (error: Error) => {
      this.#queue.push({ error: String(error.stack ?? error) })
      this.#waiter?.()
    })
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code: number) => {
        this.#exitCode = code
        resolve(code)
        this.#waiter?.()
      }),
    )
    t.teardown(() => this.worker.terminate())
  }

  /** The next message from the worker. */
  async next<T = unknown>(what = 'a message from the worker'): Promise<T> {
    while (this.#queue.length === 0) {
      if (this.#exitCode !== undefined) throw new Error(`the worker exited (code ${this.#exitCode}) before sending ${what}`)
      await guard(new Promise<void>((resolve) => (this.#waiter = resolve)), what)
    }
    const message = this.#queue.shift()
    if (typeof message === 'object' && message !== null && 'error' in message) {
      throw new Error(`worker failed: ${(message as { error: string }).error}`)
    }
    return message as T
  }

  post(value: unknown): void {
    this.worker.postMessage(value)
  }
}

/**
 * A worker body: a TCP connection to itself on a blocking Poll, a message
 * sent and read back, and a Waker woken and polled. Posts what it saw.
 */
const SELF_ECHO = `
  const { Events, Interest, Poll, TcpListener, TcpStream, Token, Waker } = mio
  const poll = new Poll()
  const events = new Events(16)
  const listener = TcpListener.bind('127.0.0.1:0')
  const client = TcpStream.connect(listener.localAddr())
  poll.registry.register(client, Token(1), Interest.WRITABLE)
  let server = null
  for (let i = 0; i < 100 && server === null; i++) {
    poll.poll(events, 100)
    server = listener.accept()?.[0] ?? null
  }
  poll.registry.register(server, Token(2), Interest.READABLE)
  const message = Buffer.from('hello from ' + data.name)
  client.write(message)
  const buf = Buffer.alloc(64)
  let got = null
  for (let i = 0; i < 100 && got === null; i++) {
    poll.poll(events, 100)
    const n = server.read(buf)
    if (n !== null) got = buf.subarray(0, n).toString()
  }
  const waker = new Waker(poll.registry, Token(9))
  waker.wake()
  poll.poll(events, null)
  const woken = [...events].map((e) => e.token)
  if (data.close) { for (const s of [client, server, listener, waker, poll]) s.close() }
  post({ name: data.name, got, woken })
`

test('the addon loads in workers of a process whose main thread never imports node-mio', async (t) => {
  const result = await runNode(`
    const { Worker } = require('node:worker_threads')
    const body = ${JSON.stringify(SELF_ECHO)}
    function run(name, close) {
      const code = "const { parentPort, workerData } = require('node:worker_threads'); const mio = require('node-mio');" +
        "const post = (v) => parentPort.postMessage(v); (async (data) => {" + body + "})(workerData)"
      return new Promise((resolve, reject) => {
        const worker = new Worker(code, { eval: true, workerData: { name, close } })
        let message
        worker.on('message', (m) => (message = m))
        worker.on('error', reject)
        worker.on('exit', (code) => resolve({ code, message }))
      })
    }
    ;(async () => {
      // One after another (the second loads the addon again after the first
      // thread is gone), then two at once.
      for (const [name, close] of [['first', true], ['second', false]]) {
        const { code, message } = await run(name, close)
        console.log(name + ': code ' + code + ', ' + message.got + ', woken ' + message.woken)
      }
      const both = await Promise.all([run('third', true), run('fourth', false)])
      for (const { code, message } of both) console.log(message.name + ': code ' + code + ', ' + message.got + ', woken ' + message.woken)
      const loaded = Object.keys(require.cache).filter((k) => /node-mio|dist|\\.node$/.test(k))
      console.log('main thread loaded: ' + (loaded.join(',') || 'nothing'))
    })()
    process.on('exit', (code) => console.log('exit ' + code))
  `)
  expectCleanRun(t, result, [
    'first: code 0, hello from first, woken 9',
    'second: code 0, hello from second, woken 9',
    'third: code 0, hello from third, woken 9',
    'fourth: code 0, hello from fourth, woken 9',
    'main thread loaded: nothing',
    'exit 0',
  ])
})

test('N sequential workers, each with its own Poll and sockets (some closed, some left to the thread\'s end)', async (t) => {
  for (let i = 0; i < 8; i++) {
    const worker = new EvalWorker(t, SELF_ECHO, { name: `worker ${i}`, close: i % 2 === 0 })
    const result = await worker.next<{ got: string; woken: number[] }>(`worker ${i}'s result`)
    t.is(result.got, `hello from worker ${i}`)
    t.deepEqual(result.woken, [9])
    t.is(await guard(worker.exited, `worker ${i} to exit`), 0)
  }
  // The main thread's own objects are untouched by the workers' tables.
  using poll = new Poll()
  using waker = new Waker(poll.registry, Token(1))
  const events = new Events(4)
  waker.wake()
  t.is(poll.poll(events, 1000), 1)
})

test('concurrent workers, each blocked in poll(null) on its own Poll, serve the main thread at once', async (t) => {
  // Four workers each block in a blocking poll(null) for a connection from
  // this thread (node:net, on a free event loop), echo one message, and end.
  const COUNT = 4
  const workers = Array.from(
    { length: COUNT },
    (_, i) =>
      new EvalWorker(
        t,
        `
      const { Events, Interest, Poll, TcpListener, Token } = mio
      const poll = new Poll()
      const events = new Events(8)
      const listener = TcpListener.bind('127.0.0.1:0')
      poll.registry.register(listener, Token(0), Interest.READABLE)
      post(listener.localAddr().port)
      let stream = null
      while (stream === null) {
        poll.poll(events, null)
        stream = listener.accept()?.[0] ?? null
      }
      poll.registry.register(stream, Token(1), Interest.READABLE)
      const buf = Buffer.alloc(256)
      let text = ''
      while (!text.endsWith('\\n')) {
        poll.poll(events, null)
        for (let n; (n = stream.read(buf)) !== null && n > 0; ) text += buf.subarray(0, n).toString()
      }
      stream.write(Buffer.from('worker ' + data.i + ' got ' + text))
      for (const s of [stream, listener, poll]) s.close()
    `,
        { i },
      ),
  )
  const ports = await Promise.all(workers.map((w, i) => w.next<number>(`worker ${i}'s port`)))
  // Every worker is (about to be) blocked; this thread still runs.
  const replies = await Promise.all(
    ports.map(async (port, i) => {
      const socket = net.connect({ port, host: '127.0.0.1' })
      t.teardown(() => socket.destroy())
      await guard(once(socket, 'connect'), `connecting to worker ${i}`)
      socket.setEncoding('utf8')
      let reply = ''
      socket.on('data', (chunk: string) => (reply += chunk))
      socket.write(`message ${i}\n`)
      await guard(once(socket, 'end'), `worker ${i}'s reply`)
      return reply
    }),
  )
  t.deepEqual(
    replies,
    ports.map((_, i) => `worker ${i} got message ${i}\n`),
  )
  t.deepEqual(await Promise.all(workers.map((w) => guard(w.exited, 'a worker to exit'))), new Array(COUNT).fill(0))
})

;(terminateReleases ? test : test.skip)('terminating a worker in a blocking poll (null or 1 hour), a pending pollAsync, a watch, or a watch callback that never returns: terminate() resolves, no descriptor leaks, the process stays healthy', async (t) => {
  // Each worker holds a Poll, a listener, a connected pair, a UDP socket and
  // a Waker (six descriptors or more), signals that it is about to wait, and
  // is terminated while it waits. Descriptors are counted (Linux) after a
  // first worker has loaded everything once. Sixteen workers start one
  // after another, each an isolate loading the package: 30 s, the default
  // bound on the child (a guard against a hang), was too short under Wine on
  // a busy machine (the first round of five done, the child killed), so
  // it is four times the shared, emulation-aware bound (80 s, 6 min under
  // Wine or qemu).
  const patience = 4 * PATIENCE
  t.timeout(patience + 60_000)
  const result = await runNode(`
    const fs = require('node:fs')
    const net = require('node:net')
    const { Worker } = require('node:worker_threads')
    const fds = () => (process.platform === 'linux' ? fs.readdirSync('/proc/self/fd').length : -1)
    const body = \`
      const { parentPort, workerData: mode } = require('node:worker_threads')
      const { Events, Interest, Poll, TcpListener, TcpStream, Token, UdpSocket, Waker } = require('node-mio')
      const poll = new Poll()
      const events = new Events(8)
      const listener = TcpListener.bind('127.0.0.1:0')
      const client = TcpStream.connect(listener.localAddr())
      poll.registry.register(listener, Token(0), Interest.READABLE)
      poll.registry.register(client, Token(1), Interest.READABLE)
      const udp = UdpSocket.bind('127.0.0.1:0')
      poll.registry.register(udp, Token(2), Interest.READABLE)
      const waker = new Waker(poll.registry, Token(3))
      let accepted = null
      for (let i = 0; i < 100 && accepted === null; i++) { poll.poll(events, 50); accepted = listener.accept() }
      if (mode === 'callback') {
        // Terminated while its watch callback runs (and never returns).
        poll.watch(events, () => { parentPort.postMessage('waiting'); for (;;) {} })
        waker.wake()
      } else {
        parentPort.postMessage('waiting')
      }
      if (mode === 'poll(null)') {
        for (;;) poll.poll(events, null)
      } else if (mode === 'poll(1 hour)') {
        poll.poll(events, 3600000)
        parentPort.postMessage('unexpected: returned')
      } else if (mode === 'pollAsync') {
        poll.pollAsync(events, null).then(() => parentPort.postMessage('unexpected: resolved'))
      } else if (mode === 'watch') {
        poll.watch(events, () => parentPort.postMessage('unexpected: callback'))
      }
    \`
    async function cycle(mode) {
      const worker = new Worker(body, { eval: true, workerData: mode })
      const exited = new Promise((resolve) => worker.once('exit', resolve))
      const messages = []
      worker.on('message', (m) => messages.push(m))
      worker.on('error', (e) => console.log('worker error ' + e.message))
      await new Promise((resolve) => worker.once('message', resolve))
      if (mode === 'warm-up') return exited
      // Let it get into the wait (the wait is endless, so this is no race).
      await new Promise((resolve) => setTimeout(resolve, 150))
      const code = await worker.terminate()
      if (messages.length !== 1) console.log(mode + ': unexpected messages ' + messages)
      return code
    }
    ;(async () => {
      await cycle('warm-up')
      const before = fds()
      for (let round = 0; round < 3; round++) {
        for (const mode of ['poll(null)', 'poll(1 hour)', 'pollAsync', 'watch', 'callback']) {
          const code = await cycle(mode)
          if (round === 0) console.log(mode + ': terminate() resolved with ' + code)
        }
      }
      const after = fds()
      console.log(after === before ? 'descriptors: unchanged' : 'descriptors: ' + before + ' before, ' + after + ' after')
      // Healthy: node-mio and node:net still work in this process.
      const { Events, Interest, Poll, TcpListener, Token } = require('node-mio')
      const poll = new Poll()
      const listener = TcpListener.bind('127.0.0.1:0')
      poll.registry.register(listener, Token(0), Interest.READABLE)
      const watch = poll.watch(new Events(4), () => {
        const accepted = listener.accept()
        if (accepted === null) return
        accepted[0].write(Buffer.from('healthy'))
        accepted[0].close()
        watch.stop()
        listener.close()
        poll.close()
      })
      const socket = net.connect(listener.localAddr().port, '127.0.0.1')
      let text = ''
      socket.setEncoding('utf8').on('data', (d) => (text += d)).on('end', () => console.log('after: ' + text))
    })()
    process.on('exit', (code) => console.log('exit ' + code))
  `, { patience })
  expectCleanRun(t, result, [
    'poll(null): terminate() resolved with 1',
    'poll(1 hour): terminate() resolved with 1',
    'pollAsync: terminate() resolved with 1',
    'watch: terminate() resolved with 1',
    'callback: terminate() resolved with 1',
    'descriptors: unchanged', // counted on Linux only (elsewhere both counts are -1)
    'after: healthy',
    'exit 0',
  ])
})

test('the process exits while a worker is blocked in poll(null): by process.exit(), and when only an unref\'d worker is left', async (t) => {
  for (const how of ['process.exit', 'unref']) {
    const result = await runNode(`
      const { Worker } = require('node:worker_threads')
      const worker = new Worker(\`
        const { parentPort } = require('node:worker_threads')
        const { Events, Poll, TcpListener, Interest, Token } = require('node-mio')
        const poll = new Poll()
        const listener = TcpListener.bind('127.0.0.1:0')
        poll.registry.register(listener, Token(0), Interest.READABLE)
        parentPort.postMessage('blocking')
        poll.poll(new Events(4), null)
        parentPort.postMessage('unexpected: returned')
      \`, { eval: true })
      worker.on('message', (m) => {
        console.log('worker: ' + m)
        if (m !== 'blocking') return
        setTimeout(() => {
          if (${JSON.stringify(how)} === 'unref') { console.log('unref'); worker.unref() }
          else { console.log('exit'); process.exit(0) }
        }, 150)
      })
      process.on('exit', (code) => console.log('exit event ' + code))
    `)
    expectCleanRun(t, result, ['worker: blocking', how === 'unref' ? 'unref' : 'exit', 'exit event 0'], { what: how })
  }
})

test('a worker that exits (with its watch still running) while the main thread keeps polling', async (t) => {
  // The main thread watches a UDP socket; the worker sends it 100 datagrams
  // from its own Poll's socket, then exits through process.exit() with its
  // own watch running and nothing closed. The main thread's Poll is
  // untouched: every datagram arrives, and it keeps working afterwards,
  // watched and blocking.
  const poll = new Poll()
  const events = new Events(32)
  const socket = UdpSocket.bind('127.0.0.1:0')
  t.teardown(() => {
    socket.close()
    poll.close()
  })
  poll.registry.register(socket, Token(1), Interest.READABLE)
  const received: number[] = []
  let notify: (() => void) | undefined
  const buf = Buffer.alloc(16)
  const watch = poll.watch(events, () => {
    while (socket.recvFrom(buf) !== null) received.push(buf.readUInt32BE(0))
    notify?.()
  })
  const until = async (count: number, what: string): Promise<void> => {
    while (received.length < count) await guard(new Promise<void>((resolve) => (notify = resolve)), () => `${what} (got ${received.length})`)
  }

  const worker = new EvalWorker(
    t,
    `
    const { Events, Interest, Poll, Token, UdpSocket, Waker } = mio
    const poll = new Poll()
    const udp = UdpSocket.bind('127.0.0.1:0')
    const waker = new Waker(poll.registry, Token(5))
    poll.registry.register(udp, Token(1), Interest.READABLE)
    poll.watch(new Events(8), () => {})
    const datagram = Buffer.alloc(4)
    for (let i = 0; i < 100; i++) {
      datagram.writeUInt32BE(i, 0)
      // One at a time, each acknowledged, so the kernel never drops one.
      udp.sendTo(datagram, { address: '127.0.0.1', port: data.port })
      const ack = await new Promise((resolve) => require('node:worker_threads').parentPort.once('message', resolve))
      if (ack !== i) throw new Error('ack ' + ack + ' for ' + i)
    }
    waker.wake()
    process.exit(0)
  `,
    { port: socket.localAddr().port },
  )
  for (let i = 0; i < 100; i++) {
    await until(i + 1, `datagram ${i} from the worker`)
    worker.post(i)
  }
  t.is(await guard(worker.exited, 'the worker to exit'), 0)
  t.deepEqual(
    received,
    Array.from({ length: 100 }, (_, i) => i),
  )

  // The main thread's watch still works after the worker is gone.
  const sender = UdpSocket.bind('127.0.0.1:0')
  t.teardown(() => sender.close())
  const after = Buffer.alloc(4)
  after.writeUInt32BE(1000, 0)
  sender.sendTo(after, socket.localAddr())
  await until(101, 'a datagram after the worker exited')
  t.is(received[100], 1000)

  // And blocking polls too.
  watch.stop()
  after.writeUInt32BE(1001, 0)
  sender.sendTo(after, socket.localAddr())
  t.is(poll.poll(events, 5000), 1)
  t.is(events.get(0)?.token, 1)
  t.is(socket.recvFrom(buf)?.size, 4)
  t.is(buf.readUInt32BE(0), 1001)
})

test('a worker that ends on its own with an unref\'d watch, and one with a pollAsync that resolved', async (t) => {
  const unrefd = new EvalWorker(
    t,
    `
    const poll = new mio.Poll()
    const watch = poll.watch(new mio.Events(4), () => {})
    watch.unref()
    post('watching, hasRef ' + watch.hasRef())
  `,
  )
  t.is(await unrefd.next(), 'watching, hasRef false')
  t.is(await guard(unrefd.exited, 'the worker with an unref\'d watch to end by itself'), 0)

  const resolved = new EvalWorker(
    t,
    `
    const poll = new mio.Poll()
    const waker = new mio.Waker(poll.registry, mio.Token(2))
    setTimeout(() => waker.wake(), 20)
    const count = await poll.pollAsync(new mio.Events(4), null)
    post('resolved ' + count)
  `,
  )
  t.is(await resolved.next(), 'resolved 1')
  t.is(await guard(resolved.exited, 'the worker to end once its pollAsync resolved'), 0)
})

test('an exception thrown by a watch callback in a worker is that worker\'s error; the process carries on', async (t) => {
  const worker = new Worker(
    `
    const { Events, Poll, Token, Waker } = require('node-mio')
    const poll = new Poll()
    const waker = new Waker(poll.registry, Token(3))
    poll.watch(new Events(4), (events) => { throw new Error('boom in worker, token ' + events.get(0).token) })
    waker.wake()
  `,
    { eval: true },
  )
  t.teardown(() => worker.terminate())
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve))
  const [error] = (await guard(once(worker, 'error'), 'the worker\'s error event')) as [Error]
  t.is(error.message, 'boom in worker, token 3')
  t.is(await guard(exited, 'the worker to exit'), 1)
  // This thread's node-mio is unaffected.
  using poll = new Poll()
  using waker = new Waker(poll.registry, Token(1))
  waker.wake()
  t.is(poll.poll(new Events(4), 1000), 1)
})

test('SharedWaker: the main thread wakes a worker blocked in poll(null), 200 times, none lost', async (t) => {
  const ROUNDS = 200
  const worker = new EvalWorker(
    t,
    `
    const { Events, Poll, Token, Waker } = mio
    const poll = new Poll()
    const events = new Events(8)
    const waker = new Waker(poll.registry, Token(7))
    post(waker.share())
    for (let round = 0; round < data.rounds; round++) {
      post({ round, blocking: true })
      const count = poll.poll(events, null)
      post({ round, count, tokens: [...events].map((e) => e.token) })
    }
    waker.close()
    poll.close()
  `,
    { rounds: ROUNDS },
  )
  const shared = SharedWaker.from(await worker.next<{ id: number }>('the shared waker'))
  t.true(shared instanceof SharedWaker)
  for (let round = 0; round < ROUNDS; round++) {
    t.like(await worker.next(`round ${round}: blocking`), { round, blocking: true })
    if (round === 0) await delay(50) // the first time, let it really block
    t.true(shared.wake(), `wake ${round}`)
    const woken = await worker.next<{ round: number; count: number; tokens: number[] }>(`round ${round}: woken`)
    t.deepEqual(woken, { round, count: 1, tokens: [7] })
  }
  t.is(await guard(worker.exited, 'the worker to exit'), 0)
  t.false(shared.wake(), 'the waker closed in its worker')
})

test('SharedWaker: a worker wakes the main thread\'s watch, 1,000 times, none lost', async (t) => {
  // Each wake is acknowledged (through shared memory) before the next, so
  // none can coalesce with another: 1,000 wakes, 1,000 callbacks.
  const ROUNDS = 1000
  const poll = new Poll()
  const WAKE = Token(42)
  const waker = new Waker(poll.registry, WAKE)
  t.teardown(() => {
    waker.close()
    poll.close()
  })
  const acks = new Int32Array(new SharedArrayBuffer(4))
  let calls = 0
  const problems: string[] = []
  let done: (() => void) | undefined
  const finished = new Promise<void>((resolve) => (done = resolve))
  const watch = poll.watch(new Events(8), (events) => {
    calls++
    const tokens = [...events].map((e) => e.token)
    if (tokens.length !== 1 || tokens[0] !== WAKE) problems.push(`callback ${calls}: ${tokens}`)
    Atomics.add(acks, 0, 1)
    Atomics.notify(acks, 0)
    if (calls === ROUNDS) done?.()
  })
  t.teardown(() => watch.stop())
  const worker = new EvalWorker(
    t,
    `
    const acks = new Int32Array(data.acks)
    const shared = mio.SharedWaker.from(data.waker)
    for (let i = 0; i < data.rounds; i++) {
      if (!shared.wake()) throw new Error('wake ' + i + ' returned false')
      if (Atomics.wait(acks, 0, i, 10000) === 'timed-out' && Atomics.load(acks, 0) === i) throw new Error('no callback for wake ' + i)
    }
    post('sent ' + data.rounds)
  `,
    { acks: acks.buffer, waker: waker.share(), rounds: ROUNDS },
  )
  t.is(await worker.next('the worker\'s report'), `sent ${ROUNDS}`)
  await guard(finished, () => `${ROUNDS} callbacks (got ${calls})`, PATIENCE, () => calls)
  t.is(calls, ROUNDS)
  t.deepEqual(problems, [])
  t.is(await guard(worker.exited, 'the worker to exit'), 0)
})

test('SharedWaker: wake() returns false once the waker is closed (here, in a worker, or gone with its worker)', async (t) => {
  // Closed on this thread.
  const poll = new Poll()
  t.teardown(() => poll.close())
  const waker = new Waker(poll.registry, Token(1))
  const shared = waker.share()
  t.is(waker.share().id, shared.id, 'sharing again gives the same id')
  const rebuilt = SharedWaker.from(JSON.parse(JSON.stringify(shared)) as { id: number })
  t.is(rebuilt.id, shared.id)
  t.true(rebuilt.wake())
  const events = new Events(4)
  t.is(poll.poll(events, 1000), 1, 'the wake through the shared form arrived')
  waker.close()
  t.false(SharedWaker.from(shared).wake())
  t.false(rebuilt.wake())
  t.throws(() => waker.share(), { code: 'ERR_MIO_CLOSED' })

  // A worker wakes a closed main-thread waker: false there too.
  const poll2 = new Poll()
  t.teardown(() => poll2.close())
  const waker2 = new Waker(poll2.registry, Token(2))
  const shared2 = waker2.share()
  waker2.close()
  const tryIt = new EvalWorker(t, `post(mio.SharedWaker.from(data).wake())`, shared2)
  t.is(await tryIt.next(), false)

  // Closed by its worker, which then stays alive: false from here.
  const closer = new EvalWorker(
    t,
    `
    const poll = new mio.Poll()
    const waker = new mio.Waker(poll.registry, mio.Token(3))
    post(waker.share())
    await new Promise((resolve) => require('node:worker_threads').parentPort.once('message', resolve))
    waker.close()
    post('closed')
    await new Promise((resolve) => require('node:worker_threads').parentPort.once('message', resolve))
    poll.close()
  `,
  )
  const fromCloser = SharedWaker.from(await closer.next<{ id: number }>())
  t.true(fromCloser.wake(), 'open: true')
  closer.post('close it')
  t.is(await closer.next(), 'closed')
  t.false(fromCloser.wake(), 'closed in the (living) worker: false')
  closer.post('done')
  t.is(await guard(closer.exited, 'the worker to exit'), 0)

  // Left open by a worker that exited: its thread's end closed it.
  const leaver = new EvalWorker(
    t,
    `
    const poll = new mio.Poll()
    const waker = new mio.Waker(poll.registry, mio.Token(4))
    post(waker.share())
  `,
  )
  const fromLeaver = SharedWaker.from(await leaver.next<{ id: number }>())
  t.is(await guard(leaver.exited, 'the worker to exit'), 0)
  // Node emits 'exit' once the worker's thread has joined, its tables gone;
  // Deno 2.9 may emit it first and end the environment a moment later.
  if (runtime === 'deno') {
    await guard((async () => {
      while (fromLeaver.wake()) await delay(10)
    })(), 'the worker\'s environment to end')
  }
  t.false(fromLeaver.wake(), 'gone with its worker: false')

  // An id that never named a waker, and ids that cannot be one.
  t.false(new SharedWaker(0xffff_fff0).wake())
  t.throws(() => SharedWaker.from({ id: 0 }), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => SharedWaker.from({ id: 1.5 }), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => SharedWaker.from(null as unknown as { id: number }), { code: 'ERR_INVALID_ARG_TYPE' })
})

test.serial('a blocking poll(null) ends with the wake that ends it, however long it waited', async (t) => {
  // A long wait is cut into slices, between which the binding asks whether
  // the environment is being torn down: a slice ending must never end the
  // poll. The worker wakes this thread after a few slices have passed.
  // Serial: a signal also ends a blocking poll (with 0, as EINTR), and the
  // other tests of this file end child processes (SIGCHLD).
  using poll = new Poll()
  const waker = new Waker(poll.registry, Token(7))
  t.teardown(() => waker.close())
  const worker = new EvalWorker(
    t,
    `
    const shared = mio.SharedWaker.from(data)
    post('started')
    await new Promise((resolve) => setTimeout(resolve, 350))
    post(shared.wake())
  `,
    waker.share(),
  )
  t.is(await worker.next('the worker to start'), 'started')
  const events = new Events(4)
  t.is(poll.poll(events, null), 1, 'the wake, not an early 0')
  t.deepEqual([...events].map((event) => event.token), [7])
  t.true(await worker.next('the wake'))
  t.is(await guard(worker.exited, 'the worker to exit'), 0)
})
