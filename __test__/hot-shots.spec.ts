// A real client on node-mio/unix-dgram: hot-shots (the StatsD/DogStatsD
// client) loads `unix-dgram` for its `uds` protocol; here that require
// resolves to node-mio/unix-dgram (fixtures/compat-resolve.cjs). 10,000
// metrics go as fast as hot-shots sends them (in datagrams of up to 1 KiB)
// to a node-mio UnixDatagram server in the same process: the server cannot
// drain while the loop runs, so the socket congests, hot-shots retries, and
// every metric arrives once.
import test from 'ava'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { Events, Interest, Poll, Token, UnixDatagram } from 'node-mio'
import { Socket } from 'node-mio/unix-dgram'
import { deferred, guard } from './support/async.ts'
import { tempDir } from './support/sockets.ts'

const require = createRequire(import.meta.url)
require('./fixtures/compat-resolve.cjs')

const METRICS = 10_000
const unixTest = process.platform !== 'win32' ? test : test.skip

unixTest("hot-shots' uds protocol over node-mio/unix-dgram: 10,000 metrics, congestion retried, all received", async (t) => {
  const path = join(tempDir(t), 'statsd.sock')
  const server = UnixDatagram.bind(path)
  const poll = new Poll()
  t.teardown(() => {
    poll.close()
    server.close()
  })
  const seen = new Map<string, number>()
  const all = deferred()
  const buf = Buffer.alloc(65536)
  poll.registry.register(server, Token(0), Interest.READABLE)
  poll.watch(new Events(64), () => {
    for (;;) {
      const n = server.recv(buf)
      if (n === null) break
      for (const line of buf.toString('utf8', 0, n).split('\n')) {
        if (!line.startsWith('metric.')) continue
        const name = line.slice(0, line.indexOf(':'))
        seen.set(name, (seen.get(name) ?? 0) + 1)
      }
    }
    if (seen.size === METRICS) all.resolve()
  })

  // Count what node-mio/unix-dgram answers hot-shots: congestion errors in
  // its send callbacks (hot-shots always passes one).
  let congestion = 0
  const send = Socket.prototype.send
  Socket.prototype.send = function (this: Socket, ...args: unknown[]) {
    const callback = args.at(-1)
    if (typeof callback === 'function') {
      args[args.length - 1] = (err?: { code: number }) => {
        if (err?.code === 1) congestion++
        callback(err)
      }
    }
    return (send as (...a: unknown[]) => void).apply(this, args)
  } as typeof send
  t.teardown(() => {
    Socket.prototype.send = send
  })

  const { StatsD } = require('hot-shots') as typeof import('hot-shots')
  const errors: Error[] = []
  const client = new StatsD({
    protocol: 'uds',
    path,
    // Datagrams of up to 1 KiB (hot-shots' uds default is 8 KiB): about
    // 170 datagrams sent in one burst, into a queue of 10 on Linux
    // (net.unix.max_dgram_qlen).
    maxBufferSize: 1024,
    // Retry until the server has drained.
    udsRetryOptions: { retries: 1000, retryDelayMs: 1, maxRetryDelayMs: 100, backoffFactor: 2 },
    errorHandler: (error) => errors.push(error),
  })
  for (let i = 0; i < METRICS; i++) client.increment(`metric.${i}`)
  await guard(all.promise, () => `all ${METRICS} metrics (${seen.size} so far, ${congestion} congestion retries)`)
  await new Promise<void>((resolve) => client.close(() => resolve()))
  t.deepEqual(errors, [])
  t.is(seen.size, METRICS)
  t.true([...seen.values()].every((count) => count === 1), 'each metric once')
  t.true(congestion > 0, 'the socket congested and hot-shots retried')
  t.log(`${METRICS} metrics received; ${congestion} sends met congestion and were retried`)
})
