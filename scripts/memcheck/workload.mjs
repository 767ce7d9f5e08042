// The workload `npm run memcheck` runs under valgrind: every kind of source,
// both watch drivers, workers, error paths and hostile arguments, in small
// numbers (valgrind runs it some 50 times slower). Exits 1 if a check fails.
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'

const require = createRequire(import.meta.url)
const modulePath = require.resolve('../../dist/index.js')
const mio = require(modulePath)
const { Events, Interest, Poll, SharedWaker, TcpListener, TcpStream, Token, UdpSocket, UnixDatagram, UnixStream, Waker, pipe } = mio
const unix = process.platform !== 'win32'
const assert = (ok, what) => {
  if (!ok) throw new Error(`check failed: ${what}`)
}
const codeOf = (fn) => {
  try {
    fn()
    return null
  } catch (error) {
    return error.code
  }
}
const turn = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms))

async function connectedPair(poll) {
  const listener = TcpListener.bind('127.0.0.1:0')
  const client = TcpStream.connect(listener.localAddr())
  let accepted = null
  for (let i = 0; i < 500 && accepted === null; i++) {
    await turn(2)
    accepted = listener.accept()
  }
  listener.close()
  assert(accepted !== null, 'a connection on loopback')
  poll?.registry.register(client, Token(1), Interest.READABLE.add(Interest.WRITABLE))
  return [client, accepted[0]]
}

async function streams() {
  const poll = new Poll()
  const events = new Events(64)
  const [a, b] = await connectedPair(poll)
  const data = Buffer.alloc(200_000, 3)
  let sent = 0
  let got = 0
  const buf = Buffer.alloc(8192)
  for (let round = 0; round < 2000 && got < data.length; round++) {
    if (sent < data.length) sent += a.write(data, sent, Math.min(data.length - sent, 65536)) ?? 0
    for (let n; (n = b.readv([buf.subarray(0, 1000), buf.subarray(1000)])) !== null && n > 0; ) got += n
    poll.poll(events, 1)
  }
  assert(got === data.length, `TCP: ${got} of ${data.length} bytes`)
  assert(a.writev([Buffer.from('ab'), Buffer.from('cd')]) === 4, 'writev')
  a.close()
  assert(codeOf(() => a.read(buf)) === 'ERR_SOCKET_CLOSED', 'read after close')
  b.close()
  if (unix) {
    const [c, d] = UnixStream.pair()
    c.write(Buffer.from('unix'))
    assert(d.read(buf) === 4, 'Unix stream')
    c.close()
    assert(d.read(buf) === 0, 'Unix end of stream')
    d.close()
    const [sender, receiver] = pipe()
    sender.writev([Buffer.from('p'), Buffer.from('ipe')])
    assert(receiver.read(buf) === 4, 'pipe')
    receiver.close()
    assert(codeOf(() => sender.write(buf)) === 'EPIPE', 'EPIPE on a pipe')
    sender.close()
    const dir = mkdtempSync(join(tmpdir(), 'memcheck-'))
    const x = UnixDatagram.bind(join(dir, 'x'))
    const y = UnixDatagram.unbound()
    y.sendTo(Buffer.from('dgram'), join(dir, 'x'))
    assert(x.recvFrom(buf)?.size === 5, 'Unix datagram')
    x.close()
    y.close()
    rmSync(dir, { recursive: true })
  }
  poll.close()
}

async function datagrams() {
  const rx = UdpSocket.bind('127.0.0.1:0')
  const tx = UdpSocket.bind('127.0.0.1:0')
  const into = { address: '', family: 'IPv4', port: 0, size: 0 }
  const buf = Buffer.alloc(1500)
  let received = 0
  for (let i = 0; i < 200; i++) {
    tx.sendTo(Buffer.alloc(100, i), rx.localAddr())
    for (let k = 0; k < 50 && rx.recvFrom(buf, into) === null; k++) await turn(1)
    received++
  }
  assert(received === 200 && into.port === tx.localAddr().port, 'UDP round trips')
  assert(codeOf(() => tx.sendTo(buf, '127.0.0.1:70000')) === 'ERR_SOCKET_BAD_PORT', 'bad port')
  rx.close()
  tx.close()
}

async function watches(driver) {
  process.env.NODE_MIO_WATCH = driver
  const poll = new Poll()
  const waker = new Waker(poll.registry, Token(9))
  const socket = UdpSocket.bind('127.0.0.1:0')
  poll.registry.register(socket, Token(2), Interest.READABLE)
  const sender = UdpSocket.bind('127.0.0.1:0')
  let datagrams = 0
  const buf = Buffer.alloc(64)
  const watch = poll.watch(new Events(16), (events) => {
    for (const event of events) if (event.token === 2) while (socket.recv(buf) !== null) datagrams++
  })
  for (let i = 0; i < 100; i++) {
    sender.sendTo(Buffer.from('w'), socket.localAddr())
    await turn(1)
  }
  for (let i = 0; i < 200 && datagrams < 100; i++) await turn(5)
  assert(datagrams === 100, `watch (${driver}): ${datagrams} of 100 datagrams`)
  assert(codeOf(() => poll.poll(new Events(4), 0)) === 'EBUSY', 'poll on a watched Poll')
  watch.stop()
  setTimeout(() => waker.wake(), 5)
  assert((await poll.pollAsync(new Events(4), 2000)) === 1, 'pollAsync woken')
  const pending = poll.pollAsync(new Events(4))
  poll.close()
  assert((await pending.catch((error) => error.code)) === 'ERR_MIO_CLOSED', 'pollAsync on close')
  waker.close()
  socket.close()
  sender.close()
  delete process.env.NODE_MIO_WATCH
}

async function workers() {
  const worker = new Worker(
    `
    const { parentPort } = require('node:worker_threads')
    const { Events, Poll, Token, Waker } = require(${JSON.stringify(modulePath)})
    const poll = new Poll()
    const waker = new Waker(poll.registry, Token(1))
    parentPort.postMessage(waker.share())
    const n = poll.poll(new Events(4), null)
    parentPort.postMessage(n)
    `,
    { eval: true },
  )
  const shared = await new Promise((resolve) => worker.once('message', resolve))
  assert(SharedWaker.from(shared).wake(), 'wake a worker')
  const n = await new Promise((resolve) => worker.once('message', resolve))
  assert(n === 1, 'the worker woke')
  await worker.terminate()
  // A worker terminated in the middle of a blocking poll.
  const stuck = new Worker(
    `
    const { parentPort } = require('node:worker_threads')
    const { Events, Poll } = require(${JSON.stringify(modulePath)})
    const poll = new Poll()
    parentPort.postMessage('ready')
    poll.poll(new Events(4), null)
    `,
    { eval: true },
  )
  await new Promise((resolve) => stuck.once('message', resolve))
  await stuck.terminate()
}

async function hostile() {
  const [a, b] = await connectedPair()
  // readv/writev whose element getters detach the buffers.
  const victim = new Uint8Array(new ArrayBuffer(64))
  const bufs = new Proxy([victim, new Uint8Array(8)], {
    get(target, key) {
      if (key === '1') structuredClone(victim.buffer, { transfer: [victim.buffer] })
      return Reflect.get(target, key)
    },
  })
  a.write(Buffer.from('x'))
  await turn(5)
  codeOf(() => b.readv(bufs))
  codeOf(() => a.writev(bufs))
  // Errors whose properties hit a setter that re-enters.
  Object.defineProperty(Error.prototype, 'code', {
    configurable: true,
    set(value) {
      codeOf(() => a.localAddr())
      Object.defineProperty(this, 'code', { value, configurable: true, writable: true })
    },
  })
  codeOf(() => TcpListener.bind('127.0.0.1:1'))
  delete Error.prototype.code
  // Events storage shrunk or transferred under the binding.
  const poll = new Poll()
  const events = new Events(8)
  poll.poll(events, 0)
  poll.close()
  // Forgotten sources, collected.
  for (let i = 0; i < 50; i++) UdpSocket.bind('127.0.0.1:0')
  globalThis.gc?.()
  await turn(10)
  a.close()
  b.close()
}

for (const [name, run] of [
  ['streams', streams],
  ['datagrams', datagrams],
  ...(unix ? [['watch uv', () => watches('uv')]] : []),
  ['watch thread', () => watches('thread')],
  ['workers', workers],
  ['hostile', hostile],
]) {
  await run()
  console.log(`ok   ${name}`)
}
globalThis.gc?.()
