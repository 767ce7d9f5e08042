// Peers on 127.0.0.1 for the TCP specs: a node:net listener in a worker (as
// mio's tests use a std listener in a thread) and a python3 listener that
// sends urgent (MSG_OOB) data, which node:net cannot.
import type { ExecutionContext } from 'ava'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { Events, Interest, Poll, TcpStream, Token } from 'node-mio'
import { guard } from './async.ts'
import { BARRIER_WAIT, Barrier, Peer } from './workers.ts'

/**
 * A node:net listener on 127.0.0.1 in a worker that accepts one connection
 * and stops listening. `onConnection` is the body of an async function run for
 * that connection, with `stream`, `server`, `data` (the worker's data),
 * `fail` (exits the worker with an error) and `barrierWait` in scope; a throw
 * or rejection in it fails the worker.
 *
 * @example
 * const { peer, addr } = listenerThread(`stream.end('hi')`)
 * // ... connect to addr ...
 * t.is(await peer.exited(), 0)
 */
export function listenerThread(onConnection: string, data: Record<string, unknown> = {}): { peer: Peer; addr: string } {
  const peer = new Peer(
    `
    ${BARRIER_WAIT}
    const net = require('node:net')
    const fail = (e) => { console.error(e); process.exit(1) }
    const server = net.createServer((stream) => {
      server.close()
      stream.on('error', fail)
      ;(async () => { ${onConnection} })().catch(fail)
    })
    server.on('error', fail)
    server.listen(0, '127.0.0.1', () => ready(server.address().port))
    `,
    data,
  )
  return { peer, addr: `127.0.0.1:${peer.value}` }
}

/**
 * A {@link listenerThread} that accepts one connection and drops it once this
 * thread passes `barrier.wait()`: with `destroy` a plain close, with
 * `resetAndDestroy` a reset (linger 0), preventing a graceful shutdown.
 */
export function droppingListener(how: 'destroy' | 'resetAndDestroy'): { peer: Peer; addr: string; barrier: Barrier } {
  const barrier = new Barrier(2)
  return { ...listenerThread(`await barrierWait(data.barrier); stream.${how}()`, { barrier: barrier.buffer }), barrier }
}

/**
 * The frame of mio's tests that read once from a fresh connection (poll's
 * drop_cancels_interest_and_shuts_down, regressions' issue_776): a
 * {@link listenerThread} runs `onConnection`; this thread connects,
 * registers the stream as token 1 for both directions, polls until token 1
 * has an event (connected), reads once expecting WouldBlock (`null`), closes
 * the stream, and then the thread must exit with 0.
 */
export async function readOnceAfterConnect(
  t: ExecutionContext,
  onConnection: string,
  messages: { wouldBlock?: string; exit: string },
): Promise<void> {
  const { peer, addr } = listenerThread(onConnection)
  try {
    using poll = new Poll()
    const stream = TcpStream.connect(addr)
    try {
      poll.registry.register(stream, Token(1), Interest.READABLE.add(Interest.WRITABLE))
      const events = new Events(16)
      outer: for (;;) {
        poll.poll(events, null)
        for (const event of events) {
          if (event.token === Token(1)) {
            // connected
            break outer
          }
        }
      }

      const buf = Buffer.alloc(1024)
      t.is(stream.read(buf), null, messages.wouldBlock)
    } finally {
      stream.close()
    }
    t.is(await peer.exited(), 0, messages.exit)
  } finally {
    await peer.terminate()
  }
}

/** Whether a python3 that can send `MSG_OOB` runs here (the peer of {@link urgentDataPeer}). */
export function havePython3Oob(): boolean {
  return spawnSync('python3', ['-c', 'import socket; socket.MSG_OOB'], { stdio: 'ignore' }).status === 0
}

/** A running {@link urgentDataPeer}. */
export interface UrgentDataPeer {
  /** Where it listens: `127.0.0.1:PORT`. */
  readonly addr: string
  /** Closes its stdin (it then closes the connection and exits) and resolves with its exit code. */
  finish(): Promise<number | null>
  /** Ends it at once (nothing if it has exited). */
  kill(): void
}

/**
 * A python3 listener on 127.0.0.1 that accepts one connection, sends `urgent`
 * with `MSG_OOB` (and fails unless all of it went out), then holds the
 * connection until its stdin closes. Resolves once it listens; rejects if it
 * exits before that.
 */
export async function urgentDataPeer(urgent: string): Promise<UrgentDataPeer> {
  const script = [
    'import socket, sys',
    'listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)',
    "listener.bind(('127.0.0.1', 0))",
    'listener.listen(1)',
    'print(listener.getsockname()[1], flush=True)',
    'stream, _ = listener.accept()',
    `assert stream.send(${JSON.stringify(urgent)}.encode(), socket.MSG_OOB) == ${Buffer.byteLength(urgent)}`,
    'sys.stdin.read()',
  ].join('\n')
  const peer = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] })
  const exited = once(peer, 'exit') as Promise<[number | null]>
  try {
    const exitedEarly = exited.then(([code]) => Promise.reject(new Error(`the python3 peer exited (${code}) before listening`)))
    exitedEarly.catch(() => {}) // only the race below looks at it
    const [port] = (await guard(Promise.race([once(createInterface({ input: peer.stdout }), 'line'), exitedEarly]), 'the python3 peer to listen')) as [string]
    return {
      addr: `127.0.0.1:${Number(port)}`,
      async finish() {
        peer.stdin.end()
        const [code] = await exited
        return code
      },
      kill: () => peer.kill(),
    }
  } catch (error) {
    peer.kill()
    throw error
  }
}
