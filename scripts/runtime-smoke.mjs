// A runtime-neutral smoke test of node-mio: the core API end to end, for
// runtimes the ava suite does not run on (Deno, Bun). Prints one line per
// check and `N passed, N failed`.
//
//   node scripts/runtime-smoke.mjs
//   deno run -A scripts/runtime-smoke.mjs     (npx deno, from the deno npm package)
//   bun scripts/runtime-smoke.mjs
//
// Watch mode is checked the way programs use it: a stream of events over
// time, a watch stopped and restarted, a process exiting with an unref'd
// watch, and a ref'd watch keeping a process alive (child processes of the
// same runtime). `npm run cross` runs it under Node majors, Bun and Deno.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
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

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
/** Every datagram waiting on `socket`, drained to `null` as the contract says. */
function drain(socket) {
  let n = 0
  while (socket.recv(Buffer.alloc(64)) !== null) n++
  return n
}

await check('watch mode: a stream of events over time (20 datagrams, 10 ms apart)', async (use) => {
  const poll = use(new Poll())
  const events = new Events(8)
  const receiver = use(UdpSocket.bind('127.0.0.1:0'))
  const sender = use(UdpSocket.bind('127.0.0.1:0'))
  poll.registry.register(receiver, 1, Interest.READABLE)
  let callbacks = 0
  let received = 0
  const watch = poll.watch(events, () => {
    callbacks++
    received += drain(receiver)
  })
  try {
    for (let i = 0; i < 20; i++) {
      sender.sendTo(Buffer.from(`d${i}`), receiver.localAddr())
      await sleep(10)
    }
    for (let i = 0; i < 200 && received < 20; i++) await sleep(10)
  } finally {
    watch.stop()
  }
  assert(received === 20 && callbacks >= 2, `${callbacks} callbacks, ${received} datagrams (mode ${watch.mode})`)
  console.log(`     (watch driver: ${watch.mode}; ${callbacks} callbacks)`)
})

await check('watch mode: stopped and restarted on the same Poll', async (use) => {
  const poll = use(new Poll())
  const events = new Events(8)
  const receiver = use(UdpSocket.bind('127.0.0.1:0'))
  const sender = use(UdpSocket.bind('127.0.0.1:0'))
  poll.registry.register(receiver, 1, Interest.READABLE)
  for (let round = 0; round < 3; round++) {
    let received = 0
    const watch = poll.watch(events, () => {
      received += drain(receiver)
    })
    sender.sendTo(Buffer.from(`r${round}`), receiver.localAddr())
    for (let i = 0; i < 200 && received === 0; i++) await sleep(10)
    watch.stop()
    assert(received === 1 && !watch.active, `round ${round}: ${received} datagrams`)
  }
})

/** Runs `body` as a script of this runtime in a child process. */
function child(body, { input } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'node-mio-smoke-'))
  const file = join(dir, 'child.mjs')
  const dist = new URL('../dist/index.js', import.meta.url).pathname.replace(/^\/([A-Za-z]:)/, '$1')
  writeFileSync(file, `import { createRequire } from 'node:module'\nconst mio = createRequire(import.meta.url)(${JSON.stringify(dist)})\n${body}\n`)
  const args = globalThis.Deno ? ['run', '-A', file] : [file]
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    proc.stdout.on('data', (d) => {
      out += d
      input?.(out)
    })
    proc.stderr.on('data', (d) => (out += d))
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000)
    proc.on('close', (code, signal) => {
      clearTimeout(timer)
      rmSync(dir, { recursive: true, force: true })
      resolve({ code, signal, out })
    })
  })
}

await check('watch mode: a process exits with an unref\'d watch', async () => {
  const r = await child(`
    const poll = new mio.Poll()
    const socket = mio.UdpSocket.bind('127.0.0.1:0')
    poll.registry.register(socket, 1, mio.Interest.READABLE)
    poll.watch(new mio.Events(4), () => {}).unref()
    setTimeout(() => console.log('done'), 50)
  `)
  assert(r.code === 0 && r.out.trim() === 'done', `exit ${r.code} ${r.signal ?? ''}: ${r.out.trim().slice(0, 500)}`)
})

await check('watch mode: a ref\'d watch keeps the process alive until it stops', async () => {
  const sender = UdpSocket.bind('127.0.0.1:0')
  let sent = false
  const r = await child(
    `
    const poll = new mio.Poll()
    const socket = mio.UdpSocket.bind('127.0.0.1:0')
    poll.registry.register(socket, 1, mio.Interest.READABLE)
    const watch = poll.watch(new mio.Events(4), () => {
      if (socket.recv(Buffer.alloc(16)) !== null) {
        console.log('got')
        watch.stop()
        socket.close()
        poll.close()
      }
    })
    console.log('port ' + socket.localAddr().port)
  `,
    {
      input: (out) => {
        const port = /port (\d+)/.exec(out)?.[1]
        if (port && !sent) {
          sent = true
          // Long after the child's script ended: only the watch keeps it alive.
          setTimeout(() => sender.sendTo(Buffer.from('x'), `127.0.0.1:${port}`), 500)
        }
      },
    },
  )
  sender.close()
  assert(r.code === 0 && /got/.test(r.out), `exit ${r.code} ${r.signal ?? ''}: ${r.out.trim().slice(0, 500)}`)
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
