// Watch fixtures and the scenarios both watch specs run: a watched echo
// server, a node:net client for it, and whole scenarios taking the mode.
import type { ExecutionContext } from 'ava'
import dgram from 'node:dgram'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import net from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { Events, Interest, Poll, TcpListener, Token, UdpSocket, type TcpStream, type Watch, type WatchMode } from 'node-mio'
import { deferred, guard, settle } from './async.ts'
import { linesOf, runNode } from './processes.ts'

/**
 * An echo server on a node-mio TcpListener, driven by `poll.watch` on this
 * thread (or its polling thread): it reads until WouldBlock, writes back what
 * it can, and waits for a writable event for the rest (edge-triggered, as
 * mio requires). A stale event for a connection already closed is ignored.
 */
export class WatchedEchoServer {
  readonly poll = new Poll()
  readonly events = new Events(64)
  readonly listener = TcpListener.bind('127.0.0.1:0')
  readonly watch: Watch
  readonly connections = new Map<Token, { stream: TcpStream; pending: Buffer[]; eof: boolean }>()
  /** What happened, in order: 'batch' per callback (others add their own marks). */
  readonly log: string[] = []
  closed = 0
  #next = 1
  readonly #buf = Buffer.alloc(64 * 1024)

  constructor() {
    this.poll.registry.register(this.listener, Token(0), Interest.READABLE)
    this.watch = this.poll.watch(this.events, (events) => {
      this.log.push('batch')
      for (const event of events) {
        if (event.token === 0) this.#accept()
        else this.#serve(event.token)
      }
    })
  }

  get port(): number {
    return this.listener.localAddr().port
  }

  #accept(): void {
    for (let accepted; (accepted = this.listener.accept()) !== null; ) {
      const token = Token(this.#next++)
      this.connections.set(token, { stream: accepted[0], pending: [], eof: false })
      this.poll.registry.register(accepted[0], token, Interest.READABLE.add(Interest.WRITABLE))
    }
  }

  #serve(token: Token): void {
    const connection = this.connections.get(token)
    if (connection === undefined) return
    for (;;) {
      const n = connection.stream.read(this.#buf)
      if (n === null) break
      if (n === 0) {
        connection.eof = true
        break
      }
      connection.pending.push(Buffer.from(this.#buf.subarray(0, n)))
    }
    while (connection.pending.length > 0) {
      const head = connection.pending[0]
      const written = connection.stream.write(head)
      if (written === null) break
      if (written === head.length) connection.pending.shift()
      else connection.pending[0] = head.subarray(written)
    }
    if (connection.eof && connection.pending.length === 0) {
      this.connections.delete(token)
      connection.stream.close()
      this.closed++
    }
  }

  close(): void {
    this.watch.stop()
    for (const { stream } of this.connections.values()) stream.close()
    this.listener.close()
    this.poll.close()
  }
}

/** A node:net client of `port`, collecting what it receives. */
export async function client(port: number): Promise<{ socket: net.Socket; received: () => Buffer; receive: (length: number) => Promise<Buffer> }> {
  const socket = net.connect({ port, host: '127.0.0.1' })
  await guard(once(socket, 'connect'), 'the TCP connection')
  const chunks: Buffer[] = []
  let length = 0
  let wake: (() => void) | undefined
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk)
    length += chunk.length
    wake?.()
  })
  socket.on('close', () => wake?.())
  const received = (): Buffer => Buffer.concat(chunks)
  const receive = async (want: number): Promise<Buffer> => {
    while (length < want && !socket.destroyed) {
      await guard(new Promise<void>((resolve) => (wake = resolve)), `${want} bytes (got ${length})`)
    }
    return received()
  }
  return { socket, received, receive }
}


/**
 * 10 node:net clients (this thread) each send 1,000 numbered records at
 * once to a node-mio server driven by `poll.watch`, which reads each
 * connection until WouldBlock on every event and, at the end of each stream,
 * compares what it got with what that client sent. Stale events for a
 * stream already closed are ignored (allowed in thread mode).
 */
export async function watchedTcpRecords(t: ExecutionContext): Promise<void> {

  // The clients (node:net, this thread) write everything at once; the server
  // reads each connection until WouldBlock on every event and, at the end of
  // each stream, compares what it got with what that client sent.
  const CLIENTS = 10
  const RECORDS = 1000
  const expected = (k: number): string => Array.from({ length: RECORDS }, (_, i) => `${k}:${i}\n`).join('')
  const poll = new Poll()
  const listener = TcpListener.bind('127.0.0.1:0')
  const streams = new Map<Token, { stream: TcpStream; chunks: Buffer[] }>()
  const results = new Map<number, string>()
  const problems: string[] = []
  const all = deferred()
  const buf = Buffer.alloc(4096)
  let next = 1
  poll.registry.register(listener, Token(0), Interest.READABLE)
  const watch = poll.watch(new Events(32), (events) => {
    for (const event of events) {
      if (event.token === 0) {
        for (let accepted; (accepted = listener.accept()) !== null; ) {
          const token = Token(next++)
          streams.set(token, { stream: accepted[0], chunks: [] })
          poll.registry.register(accepted[0], token, Interest.READABLE)
        }
        continue
      }
      const entry = streams.get(event.token)
      // A stale event for a stream already closed is allowed (and ignored).
      if (entry === undefined) continue
      for (;;) {
        const n = entry.stream.read(buf)
        if (n === null) break
        if (n > 0) {
          entry.chunks.push(Buffer.from(buf.subarray(0, n)))
          continue
        }
        const text = Buffer.concat(entry.chunks).toString()
        const k = Number(text.slice(0, text.indexOf(':')))
        if (results.has(k)) problems.push(`client ${k} seen twice`)
        results.set(k, text)
        streams.delete(event.token)
        entry.stream.close()
        if (results.size === CLIENTS) all.resolve()
        break
      }
    }
  })
  t.teardown(() => {
    watch.stop()
    for (const { stream } of streams.values()) stream.close()
    listener.close()
    poll.close()
  })
  const port = listener.localAddr().port
  const sockets = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, k) => {
      const socket = net.connect({ port, host: '127.0.0.1' })
      await guard(once(socket, 'connect'), `client ${k} to connect`)
      return socket
    }),
  )
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
  })
  sockets.forEach((socket, k) => socket.end(expected(k)))
  await guard(all.promise, `every stream to end (${results.size} of ${CLIENTS})`)
  t.deepEqual(problems, [])
  t.deepEqual([...results.keys()].sort((a, b) => a - b), Array.from({ length: CLIENTS }, (_, k) => k))
  for (const [k, text] of results) {
    t.is(text.length, expected(k).length, `client ${k}: byte count`)
    t.true(text === expected(k), `client ${k}: every record, in order, byte-exact`)
  }
}

/**
 * A node:net client in this thread talks to a `WatchedEchoServer`: round
 * trips started from timer ticks, an fs call, 1 MiB both ways, the close;
 * the interval keeps firing between the watch's callbacks.
 */
export async function watchedEchoWithTimers(t: ExecutionContext, mode: WatchMode): Promise<void> {
  const server = new WatchedEchoServer()
  t.teardown(() => server.close())
  t.is(server.watch.mode, mode)
  let ticks = 0
  const interval = setInterval(() => {
    ticks++
    if (server.log.length < 10_000) server.log.push('tick')
  }, 1)
  t.teardown(() => clearInterval(interval))
  const nextTick = async (): Promise<void> => {
    const seen = ticks
    while (ticks === seen) await guard(delay(1), 'a timer tick')
  }

  const { socket, receive } = await client(server.port)
  t.teardown(() => socket.destroy())

  // Round trips, each started from a timer tick: the watch does not hold the loop.
  let expected = ''
  for (let round = 1; round <= 5; round++) {
    await nextTick()
    const line = `round ${round}\n`
    expected += line
    socket.write(line)
    t.is((await receive(Buffer.byteLength(expected))).toString(), expected, `echo of round ${round}`)
  }

  // An fs call completes while the watch is active.
  const pkg = JSON.parse(await guard(readFile('package.json', 'utf8'), 'fs.readFile')) as { name: string }
  t.is(pkg.name, 'node-mio')

  // 1 MiB both ways at once: the server meets WouldBlock on write and waits
  // for writable events, the client in this same thread keeps reading.
  const big = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < big.length; i += 4) big.writeUInt32BE(i / 4, i)
  socket.write(big)
  const all = await receive(Buffer.byteLength(expected) + big.length)
  t.is(all.length, Buffer.byteLength(expected) + big.length)
  t.true(all.subarray(Buffer.byteLength(expected)).equals(big), 'the 1 MiB echo is byte-exact')

  // The client closes: the server sees the end and closes its side.
  socket.end()
  await guard(once(socket, 'close'), 'the server to close the connection')
  t.is(server.closed, 1)
  t.is(server.connections.size, 0)

  // The interval kept firing between the watch's callbacks.
  const first = server.log.indexOf('batch')
  const last = server.log.lastIndexOf('batch')
  t.true(first >= 0, 'the watch called back')
  t.true(server.log.slice(first, last).includes('tick'), 'timer ticks ran between watch callbacks')
  t.true(ticks >= 5)
}

/** 10,000 numbered datagrams from 10 sources through one watched Poll: none lost, in order per source. */
export async function tenThousandDatagrams(t: ExecutionContext, mode: WatchMode): Promise<void> {
  // Ten node-mio UDP sockets on one watched Poll; ten node:dgram senders in
  // this thread, one per socket, each sending 1,000 numbered datagrams with
  // at most WINDOW unacknowledged (so the kernel never has to drop one: a
  // missing datagram is a missed event). Every datagram is checked on
  // arrival: the right socket, the next number.
  const SOURCES = 10
  const PER_SOURCE = 1000
  const WINDOW = 8
  const poll = new Poll()
  const events = new Events(16)
  const receivers = Array.from({ length: SOURCES }, () => UdpSocket.bind('127.0.0.1:0'))
  const senders = Array.from({ length: SOURCES }, () => dgram.createSocket('udp4'))
  t.teardown(() => {
    poll.close()
    for (const r of receivers) r.close()
    for (const s of senders) s.close()
  })
  await Promise.all(
    senders.map((s) => {
      s.bind(0, '127.0.0.1')
      return guard(once(s, 'listening'), 'a sender socket')
    }),
  )
  receivers.forEach((r, k) => poll.registry.register(r, Token(k), Interest.READABLE))

  const next = new Array<number>(SOURCES).fill(0)
  const problems: string[] = []
  let total = 0
  let batches = 0
  const all = deferred()
  const buf = Buffer.alloc(64)
  const ack = Buffer.alloc(4)
  const watch = poll.watch(events, (batch) => {
    batches++
    for (const event of batch) {
      const k = event.token
      const receiver = receivers[k]
      if (receiver === undefined) {
        if (problems.length < 10) problems.push(`unknown token ${k}`)
        continue
      }
      for (let info; (info = receiver.recvFrom(buf)) !== null; ) {
        const source = buf.readUInt32BE(0)
        const seq = buf.readUInt32BE(4)
        if (info.size !== 8 || source !== k || seq !== next[k]) {
          if (problems.length < 10) problems.push(`socket ${k}: got source ${source} seq ${seq} (${info.size} bytes), expected seq ${next[k]}`)
        }
        next[k] = seq + 1
        total++
        ack.writeUInt32BE(seq, 0)
        receiver.sendTo(ack, { address: '127.0.0.1', port: info.port })
      }
    }
    if (total >= SOURCES * PER_SOURCE) all.resolve()
  })
  t.is(watch.mode, mode)
  const send = (k: number, seq: number): void => {
    const datagram = Buffer.alloc(8)
    datagram.writeUInt32BE(k, 0)
    datagram.writeUInt32BE(seq, 4)
    senders[k].send(datagram, receivers[k].localAddr().port, '127.0.0.1')
  }
  senders.forEach((s, k) => {
    s.on('message', (message: Buffer) => {
      const seq = message.readUInt32BE(0) + WINDOW
      if (seq < PER_SOURCE) send(k, seq)
    })
    for (let seq = 0; seq < WINDOW; seq++) send(k, seq)
  })

  await guard(all.promise, `10,000 datagrams (got ${total}: ${next.join(',')})`)
  await settle()
  watch.stop()
  t.deepEqual(problems, [], 'every datagram on its own socket, in order')
  t.is(total, SOURCES * PER_SOURCE, 'none lost, none duplicated')
  t.deepEqual(next, new Array(SOURCES).fill(PER_SOURCE))
  t.true(batches > 0)
}

/** `process.exit()` inside a watch callback (a child process), other watches running: exits with its code. */
export async function exitFromWatchCallback(t: ExecutionContext): Promise<void> {
  const result = await runNode(`
    const { Events, Poll, Token, Waker } = require('node-mio')
    const wakers = [0, 1, 2].map((i) => {
      const poll = new Poll()
      const waker = new Waker(poll.registry, Token(i))
      poll.watch(new Events(4), (events) => {
        console.log('callback ' + events.get(0).token)
        process.exit(3)
      })
      return waker
    })
    process.on('exit', (code) => console.log('exit ' + code))
    wakers[1].wake()
  `)
  t.is(result.signal, null)
  t.is(result.code, 3, result.stderr)
  t.deepEqual(linesOf(result.stdout), ['callback 1', 'exit 3'])
  t.is(result.stderr, '')
}
