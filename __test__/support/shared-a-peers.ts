// Peers on 127.0.0.1 for the TCP specs: a node:net listener in a worker, as
// mio's tests use a std listener in a thread.
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
