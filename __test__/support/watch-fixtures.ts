// Watch fixtures: a watched echo server, a node:net client for it, sockets made ready before a watch starts.
import type { ExecutionContext } from 'ava'
import { once } from 'node:events'
import net from 'node:net'
import { Events, Interest, Poll, TcpListener, Token, UdpSocket, Waker, type TcpStream, type Watch } from 'node-mio'
import { guard } from './async.ts'

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
    for (let head = connection.pending[0]; head !== undefined; head = connection.pending[0]) {
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
      await guard(new Promise<void>((resolve) => (wake = resolve)), () => `${want} bytes (got ${length})`)
    }
    return received()
  }
  return { socket, received, receive }
}

/**
 * `count` UDP sockets registered with `poll` under tokens 0..count-1, each
 * with one datagram queued: ready before a watch starts. With `Events(1)` a
 * polling thread takes one per poll, so it queues `count` batches in a row
 * while this thread is busy.
 */
export function readySockets(poll: Poll, count: number): { sockets: UdpSocket[]; close: () => void } {
  const sockets = Array.from({ length: count }, () => UdpSocket.bind('127.0.0.1:0'))
  const sender = UdpSocket.bind('127.0.0.1:0')
  sockets.forEach((s, i) => poll.registry.register(s, Token(i), Interest.READABLE))
  for (const s of sockets) sender.sendTo(Buffer.from('x'), s.localAddr())
  return {
    sockets,
    close: () => {
      for (const s of [...sockets, sender]) s.close()
    },
  }
}

/**
 * A Poll with five {@link readySockets} and `Events(1)`, so a polling thread
 * queues five batches in a row; with `wakerToken`, a Waker on it too. The
 * sockets, the Waker and the Poll are closed when the test ends.
 */
export function pollWithReadySockets(t: ExecutionContext): { poll: Poll; events: Events }
export function pollWithReadySockets(t: ExecutionContext, wakerToken: Token): { poll: Poll; events: Events; waker: Waker }
export function pollWithReadySockets(t: ExecutionContext, wakerToken?: Token): { poll: Poll; events: Events; waker?: Waker } {
  const poll = new Poll()
  const events = new Events(1)
  const waker = wakerToken === undefined ? undefined : new Waker(poll.registry, wakerToken)
  const ready = readySockets(poll, 5)
  t.teardown(() => {
    ready.close()
    waker?.close()
    poll.close()
  })
  return { poll, events, waker }
}
