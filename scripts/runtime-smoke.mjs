// A runtime-neutral smoke test of node-mio: the core API end to end, for
// runtimes the ava suite does not run on (Deno, Bun). Prints one line per
// check and `N passed, N failed`.
//
//   node scripts/runtime-smoke.mjs
//   deno run -A scripts/runtime-smoke.mjs     (npx deno, from the deno npm package)
//   bun scripts/runtime-smoke.mjs
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const require = createRequire(import.meta.url)
const mio = require('../dist/index.js')
const { Events, Interest, Poll, TcpListener, TcpStream, UdpSocket, UnixStream, Waker, pipe } = mio

let passed = 0
let failed = 0
/** Runs a check; `use(x)` closes `x` when the check ends (Node 20 has no `using`). */
async function check(name, body) {
  const owned = []
  const use = (resource) => (owned.push(resource), resource)
  try {
    await body(use)
    passed++
    console.log(`ok   ${name}`)
  } catch (error) {
    failed++
    console.log(`FAIL ${name}: ${error?.stack ?? error}`)
  } finally {
    for (const resource of owned.reverse()) resource.close()
  }
}
function assert(condition, message) {
  if (!condition) throw new Error(message)
}
const runtime = globalThis.Deno ? `deno ${Deno.version.deno}` : globalThis.Bun ? `bun ${Bun.version}` : `node ${process.version}`
console.log(`node-mio smoke test on ${runtime}`)

await check('blocking poll: TCP connect, accept, echo', (use) => {
  const poll = use(new Poll())
  const events = new Events(16)
  const listener = use(TcpListener.bind('127.0.0.1:0'))
  poll.registry.register(listener, 0, Interest.READABLE)
  const client = use(TcpStream.connect(listener.localAddr()))
  poll.registry.register(client, 1, Interest.WRITABLE)
  let server
  for (let round = 0; round < 20 && !server; round++) {
    poll.poll(events, 500)
    server = listener.accept()?.[0]
  }
  assert(server, 'no connection accepted')
  poll.registry.register(server, 2, Interest.READABLE)
  assert(client.write(Buffer.from('ping')) === 4, 'short write')
  const buf = Buffer.alloc(16)
  let n = null
  for (let round = 0; round < 20 && n === null; round++) {
    poll.poll(events, 500)
    n = server.read(buf)
  }
  assert(n === 4 && buf.subarray(0, 4).toString() === 'ping', `read ${n}`)
  assert(server.read(buf) === null, 'drain ends in null')
  server.close()
})

await check('UDP send and receive', (use) => {
  const poll = use(new Poll())
  const events = new Events(4)
  const a = use(UdpSocket.bind('127.0.0.1:0'))
  const b = use(UdpSocket.bind('127.0.0.1:0'))
  poll.registry.register(b, 7, Interest.READABLE)
  a.sendTo(Buffer.from('hello'), b.localAddr())
  poll.poll(events, 1000)
  const info = b.recvFrom(Buffer.alloc(64))
  assert(info?.size === 5 && info.port === a.localAddr().port, JSON.stringify(info))
})

await check('Waker wakes a poll', (use) => {
  const poll = use(new Poll())
  const events = new Events(4)
  const waker = use(new Waker(poll.registry, 9))
  waker.wake()
  poll.poll(events, 1000)
  assert(events.length >= 1 && events.get(0).token === 9 && events.get(0).isReadable(), 'no wake event')
})

if (process.platform !== 'win32') {
  await check('Unix stream pair and pipe', () => {
    const [x, y] = UnixStream.pair()
    x.write(Buffer.from('abc'))
    assert(y.read(Buffer.alloc(8)) === 3, 'unix pair read')
    x.close()
    y.close()
    const [tx, rx] = pipe()
    tx.write(Buffer.from('xyz'))
    assert(rx.read(Buffer.alloc(8)) === 3, 'pipe read')
    tx.close()
    assert(rx.read(Buffer.alloc(8)) === 0, 'pipe end')
    rx.close()
  })

  await check('Unix listener on a path', (use) => {
    const dir = mkdtempSync(join(tmpdir(), 'node-mio-smoke-'))
    try {
      const listener = use(mio.UnixListener.bind(join(dir, 's.sock')))
      assert(listener.localAddr().path === join(dir, 's.sock'), 'local path')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
}

await check('watch mode: events on the event loop', async (use) => {
  if (!mio.Poll.prototype.watch) throw new Error('no watch')
  const poll = new Poll()
  const events = new Events(8)
  const listener = use(TcpListener.bind('127.0.0.1:0'))
  poll.registry.register(listener, 0, Interest.READABLE)
  let timerRan = false
  setTimeout(() => (timerRan = true), 1)
  const got = await new Promise((resolve, reject) => {
    const timeout = setTimeout(() => reject(new Error('no batch in 5 s')), 5000)
    const watch = poll.watch(events, (batch) => {
      clearTimeout(timeout)
      watch.stop()
      resolve(batch.length)
    })
    setTimeout(() => TcpStream.connect(listener.localAddr()), 10)
  })
  assert(got >= 1 && timerRan, `batch ${got}, timer ${timerRan}`)
  poll.close()
})

await check('using: Symbol.dispose closes a Poll and a socket', () => {
  // `using x = …` (TypeScript 5.2+, or a runtime with it) calls x[Symbol.dispose];
  // a Node without Symbol.dispose (before 18.18) leaves the classes without it.
  assert(typeof Symbol.dispose === 'symbol', `Symbol.dispose is ${typeof Symbol.dispose} in this runtime`)
  const poll = new Poll()
  const socket = UdpSocket.bind('127.0.0.1:0')
  assert(typeof poll[Symbol.dispose] === 'function' && typeof socket[Symbol.dispose] === 'function', 'no [Symbol.dispose]')
  socket[Symbol.dispose]()
  poll[Symbol.dispose]()
  assert(poll.closed && socket.closed, `closed: poll ${poll.closed}, socket ${socket.closed}`)
})

await check('pollAsync resolves 0 on timeout and with events', async (use) => {
  const poll = use(new Poll())
  const events = new Events(4)
  assert((await poll.pollAsync(events, 20)) === 0, 'timeout')
  const waker = use(new Waker(poll.registry, 3))
  setTimeout(() => waker.wake(), 5)
  assert((await poll.pollAsync(events, 5000)) === 1, 'woken')
})

console.log(`${passed} passed, ${failed} failed`)
if (failed > 0) process.exitCode = 1
