// The event-loop and multicore examples run as real programs: each is
// spawned with `--import tsx` on port 0 and bounded by MAX_CONNECTIONS, and
// this process talks to it with node:net. Each must echo byte-exact, report
// what it did, and then exit by itself with code 0.
import test, { type ExecutionContext } from 'ava'
import { once } from 'node:events'
import net from 'node:net'
import { PATIENCE as SHARED_PATIENCE, guard } from './support/async.ts'
import { runtime } from './support/platform.ts'
import { Example } from './support/processes.ts'

/**
 * How long to wait for a child or a client (a guard, not a measurement):
 * half as long again as elsewhere, as these examples start workers, each
 * its own isolate loading the package; like the shared bound, longer under
 * Wine and qemu.
 */
const PATIENCE = SHARED_PATIENCE * 1.5

const unix = process.platform !== 'win32'

/** A connected node:net client that collects what it receives. */
class Client {
  readonly chunks: Buffer[] = []
  length = 0
  /** Our port, kept (a destroyed socket forgets it). */
  readonly localPort: number
  #wake: (() => void) | undefined

  private constructor(readonly socket: net.Socket) {
    this.localPort = socket.localPort!
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk)
      this.length += chunk.length
      this.#wake?.()
    })
    socket.on('close', () => this.#wake?.())
  }

  static async connect(t: ExecutionContext, port: number, host: string): Promise<Client> {
    const socket = net.connect({ port, host })
    t.teardown(() => socket.destroy())
    await guard(once(socket, 'connect'), 'the TCP connection', PATIENCE)
    return new Client(socket)
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks)
  }

  /** Waits until `length` bytes arrived (or the connection closed). */
  async receive(length: number): Promise<Buffer> {
    while (this.length < length && !this.socket.destroyed) {
      await guard(new Promise<void>((resolve) => (this.#wake = resolve)), () => `${length} bytes (got ${this.length})`, PATIENCE)
    }
    return this.received
  }

  /** Ends our side and waits for the server to close its side. */
  async finish(): Promise<Buffer> {
    const closed = once(this.socket, 'close')
    this.socket.end()
    await guard(closed, 'the server to close the connection', PATIENCE)
    return this.received
  }
}

/** A recognisable payload of `size` bytes for client `k`. */
function payload(k: number, size: number): Buffer {
  const data = Buffer.alloc(size)
  for (let i = 0; i < size; i++) data[i] = (i * 7 + k * 13) & 0xff
  return data
}

/**
 * The multicore examples' exchange: client `k` sends its own payload of
 * `base + k` bytes and must get it back byte-exact; then every client ends
 * its side and the example must exit by itself (code 0, no signal, nothing on
 * stderr). Resolves with the payloads.
 */
async function echoEachThenExit(t: ExecutionContext, server: Example, clients: Client[], base: number): Promise<Buffer[]> {
  const payloads = clients.map((_, k) => payload(k, base + k))
  clients.forEach((client, k) => client.socket.write(payloads[k]!))
  for (const [k, client] of clients.entries()) {
    t.true((await client.receive(payloads[k]!.length)).equals(payloads[k]!), `client ${k}: byte-exact echo`)
  }
  for (const client of clients) await client.finish()

  const { code, signal } = await server.exit()
  t.is(signal, null)
  t.is(code, 0, server.stderr)
  t.is(server.stderr, '')
  return payloads
}

test('watch-echo-server: echoes for several clients while its setInterval keeps ticking, then exits by itself', async (t) => {
  const server = new Example(t, 'watch-echo-server.ts', { env: { PORT: '0', TICK_MS: '20', MAX_CONNECTIONS: '3' }, patience: PATIENCE })
  const { host, port } = await server.listening()
  t.is(host, '127.0.0.1')

  const first = await Client.connect(t, port, host)
  first.socket.write('one\n')
  t.is((await first.receive(4)).toString(), 'one\n')

  // Three clients open at once, and the interval still ticks (it prints how
  // many connections are open): the watch does not hold the loop.
  const second = await Client.connect(t, port, host)
  const third = await Client.connect(t, port, host)
  await server.waitFor(/^tick \d+: 3 connections open$/m)
  first.socket.write('two\n')
  t.is((await first.receive(8)).toString(), 'one\ntwo\n')

  // Large payloads both at once, byte-exact (the server meets WouldBlock
  // and resumes on writable events).
  const big2 = payload(2, 512 * 1024)
  const big3 = payload(3, 300 * 1024)
  second.socket.write(big2)
  third.socket.write(big3)
  t.true((await second.receive(big2.length)).equals(big2), 'client 2: byte-exact echo')
  t.true((await third.receive(big3.length)).equals(big3), 'client 3: byte-exact echo')

  t.is((await first.finish()).toString(), 'one\ntwo\n')
  t.true((await second.finish()).equals(big2))
  t.true((await third.finish()).equals(big3))

  const { code, signal } = await server.exit()
  t.is(signal, null)
  t.is(code, 0, server.stderr)
  t.is(server.lines(/^Accepted connection from 127\.0\.0\.1:\d+$/).length, 3)
  for (const [client, bytes] of [
    [first, 8],
    [second, big2.length],
    [third, big3.length],
  ] as const) {
    t.is(server.lines(new RegExp(`^Connection 127\\.0\\.0\\.1:${client.localPort} closed after echoing ${bytes} bytes$`)).length, 1)
  }
  t.regex(server.stdout, /^Done: 3 connections served while the interval ticked \d+ times$/m)
  t.is(server.stderr, '')
})

// The multicore examples start themselves as workers from __filename: they
// are CommonJS programs (TypeScript through tsx). Deno runs a .ts file as an
// ES module, which has no __filename.
const commonJs = runtime !== 'deno'

;(process.platform === 'linux' && commonJs ? test : test.skip)('multicore-reuseport: several workers on one port (SO_REUSEPORT) echo for 16 clients, then stop through their wakers', async (t) => {
  const WORKERS = 4
  const CLIENTS = 16
  const server = new Example(t, 'multicore-reuseport.ts', { env: { PORT: '0', WORKERS: String(WORKERS), MAX_CONNECTIONS: String(CLIENTS) }, patience: PATIENCE })
  const { host, port } = await server.listening()
  t.is(host, '127.0.0.1')
  t.regex(server.stdout, new RegExp(`^Listening on 127\\.0\\.0\\.1:${port} \\(${WORKERS} workers, SO_REUSEPORT\\)$`, 'm'))

  // Every client connects (each a new source port, so the kernel's hash
  // spreads them), sends its own payload and checks the echo.
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => Client.connect(t, port, host)))
  await echoEachThenExit(t, server, clients, 20_000)

  // Each client's connection was accepted by exactly one worker.
  const acceptedBy = new Map<number, number>()
  for (const line of server.lines(/^worker \d+: accepted connection from /)) {
    const [, worker, peerPort] = /^worker (\d+): accepted connection from 127\.0\.0\.1:(\d+)$/.exec(line)!
    t.false(acceptedBy.has(Number(peerPort)), `port ${peerPort} accepted once`)
    acceptedBy.set(Number(peerPort), Number(worker))
  }
  t.deepEqual(
    [...acceptedBy.keys()].sort((a, b) => a - b),
    clients.map((c) => c.localPort).sort((a, b) => a - b),
  )
  // The summary agrees with the per-connection lines.
  const [, perWorker, busy] = server.stdout.match(new RegExp(`^Done: ${CLIENTS} connections; per worker: ([\\d, ]+); served by (\\d+) of ${WORKERS} workers$`, 'm')) ?? []
  t.truthy(perWorker, `the summary line\n${server.stdout}`)
  const counts = (perWorker ?? '').split(', ').map(Number)
  t.is(counts.length, WORKERS)
  t.is(
    counts.reduce((a, b) => a + b, 0),
    CLIENTS,
  )
  counts.forEach((n, worker) => t.is(n, [...acceptedBy.values()].filter((w) => w === worker).length, `worker ${worker}'s count`))
  // The example reports which workers served: more than one did. (The
  // kernel hashes each connection's addresses onto a listener; 16
  // connections landing on one of 4 listeners has a chance of about 4^-15.)
  t.true(Number(busy) > 1, `connections spread over more than one worker: ${perWorker}`)
})

;(unix && commonJs ? test : test.skip)('multicore-handoff: the main thread accepts and hands each descriptor to a worker, round-robin; every client gets its echo', async (t) => {
  const WORKERS = 3
  const CLIENTS = 6
  const server = new Example(t, 'multicore-handoff.ts', { env: { PORT: '0', WORKERS: String(WORKERS), MAX_CONNECTIONS: String(CLIENTS) }, patience: PATIENCE })
  const { host, port } = await server.listening()
  t.is(host, '127.0.0.1')

  const clients: Client[] = []
  for (let k = 0; k < CLIENTS; k++) {
    const client = await Client.connect(t, port, host)
    clients.push(client)
    // Wait until a worker adopted it before the next connects: the round-robin order is then the client order.
    await server.waitFor(new RegExp(`^worker \\d+: serving 127\\.0\\.0\\.1:${client.localPort} \\(fd \\d+\\)$`, 'm'))
  }
  const payloads = await echoEachThenExit(t, server, clients, 100_000)

  // Client k was served by worker k % WORKERS, and closed there after its full echo.
  clients.forEach((client, k) => {
    const peer = `127\\.0\\.0\\.1:${client.localPort}`
    t.is(server.lines(new RegExp(`^worker ${k % WORKERS}: serving ${peer} \\(fd \\d+\\)$`)).length, 1, `client ${k} on worker ${k % WORKERS}`)
    t.is(server.lines(new RegExp(`^worker ${k % WORKERS}: connection ${peer} closed after echoing ${payloads[k]!.length} bytes$`)).length, 1)
  })
  t.regex(server.stdout, new RegExp(`^Done: ${CLIENTS} connections; per worker: 2, 2, 2; served by ${WORKERS} of ${WORKERS} workers$`, 'm'))
})
