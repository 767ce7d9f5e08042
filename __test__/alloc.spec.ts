// Allocation and garbage collection.
//
// The hot paths (poll + iterate events, read, write) must allocate nothing in
// steady state, so a busy event loop never triggers a collection: one million
// iterations run with zero GCs and the heap does not grow. And the other way
// round: a socket, Poll or Waker the program forgot is closed when the
// garbage collector takes it.
//
// Needs `--expose-gc` (set in package.json "ava".nodeArguments). The tests
// are serial: the measured loops are synchronous, but the descriptor counts
// of the GC tests must not see another test's sockets.
import test from 'ava'
import { Events, Interest, Poll, TcpListener, TcpStream, Token, UdpSocket, Waker } from 'node-mio'
import { allocationFree, measure, stopObservingCollections } from './support/allocation.ts'
import { openFdCount } from './support/descriptors.ts'
import { expectEvents } from './support/events.ts'
import { ANY_LOCAL, addrText } from './support/sockets.ts'
import { underWine } from './support/platform.ts'

const gc = (globalThis as { gc?: () => void }).gc

test.after.always(stopObservingCollections)

const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A connected pair: `client` from `connect`, `server` from `accept`. */
function connectedPair(poll: Poll, events: Events): { listener: TcpListener; client: TcpStream; server: TcpStream } {
  const listener = TcpListener.bind(ANY_LOCAL)
  const client = TcpStream.connect(listener.localAddr())
  poll.registry.register(listener, Token(0), Interest.READABLE)
  poll.registry.register(client, Token(1), Interest.WRITABLE)
  let accepted: ReturnType<TcpListener['accept']> = null
  for (let round = 0; round < 20 && accepted === null; round++) {
    poll.poll(events, 100)
    accepted = listener.accept()
  }
  if (accepted === null) throw new Error('no connection to accept')
  return { listener, client, server: accepted[0] }
}

// A million iterations natively. Wine runs every socket call through its
// server process, two orders of magnitude slower, so there 100,000: any
// per-iteration allocation (16 bytes at least) is still far above the
// quarter-byte limit of allocationFree().
const MILLION = underWine ? 100_000 : 1_000_000

test.serial('--expose-gc is on', (t) => {
  t.is(typeof gc, 'function', 'run with node --expose-gc')
})

test.serial('poll(events, 0) and for...of over a few events a million times: no GC, no heap growth', async (t) => {
  if (!gc) return t.fail('needs --expose-gc')
  const poll = new Poll()
  const events = new Events(16)
  const { listener, client, server } = connectedPair(poll, events)
  const waker = new Waker(poll.registry, Token(2))
  poll.registry.register(server, Token(3), Interest.WRITABLE)
  const registry = poll.registry
  const WRITABLE = Interest.WRITABLE
  // Three ready events per poll: the woken Waker, and both ends of the
  // connection (a reregister re-arms an edge-triggered writable source).
  let polled = 0
  let tokens = 0
  let readable = 0
  let writable = 0
  // Iterations run in all (measure() warms up, and may measure up to five times).
  let total = 0
  const loop = (iterations: number): void => {
    total += iterations
    for (let i = 0; i < iterations; i++) {
      waker.wake()
      registry.reregister(client, 1, WRITABLE)
      registry.reregister(server, 3, WRITABLE)
      polled += poll.poll(events, 0)
      for (const event of events) {
        tokens += event.token
        if (event.isReadable()) readable++
        if (event.isWritable()) writable++
      }
      // A pass that stops early hands the shared iterator back too (return()).
      for (const event of events) {
        if (event.token >= 0) break
      }
    }
  }
  try {
    const result = await measure(loop, MILLION)
    t.is(polled, 3 * total, 'three events per poll')
    t.is(readable, total, 'the Waker event each time')
    t.is(writable, 2 * total, 'both writable streams each time')
    t.is(tokens, (1 + 2 + 3) * total)
    allocationFree(t, result, MILLION)
  } finally {
    waker.close()
    server.close()
    client.close()
    listener.close()
    poll.close()
  }
})

test.serial('write + read + WouldBlock read a million times: no GC, no heap growth', async (t) => {
  if (!gc) return t.fail('needs --expose-gc')
  const poll = new Poll()
  const events = new Events(16)
  const { listener, client, server } = connectedPair(poll, events)
  poll.registry.deregister(client)
  // Nagle would hold back a small write while an earlier one is unacknowledged.
  client.setNodelay(true)
  const message = Buffer.from('ping!!!!')
  const buf = Buffer.alloc(64)
  let wrote = 0
  let read = 0
  let wouldBlock = 0
  let ends = 0
  // Iterations run in all (measure() warms up, and may measure up to five times).
  let total = 0
  const loop = (iterations: number): void => {
    total += iterations
    for (let i = 0; i < iterations; i++) {
      const n = client.write(message)
      if (n !== null) wrote += n
      // Drain: read until null (WouldBlock).
      for (let got = server.read(buf); ; got = server.read(buf)) {
        if (got === null) {
          wouldBlock++
          break
        }
        if (got === 0) ends++
        read += got
      }
    }
  }
  try {
    const result = await measure(loop, MILLION)
    // Whatever had not arrived yet when the loop ended.
    for (let round = 0; round < 20 && read < wrote; round++) {
      poll.poll(events, 10)
      for (let got; (got = server.read(buf)) !== null && got > 0; ) read += got
    }
    t.is(wrote, message.length * total, 'every write took the whole message')
    t.is(read, wrote, 'every byte came through')
    t.is(ends, 0, 'no end of stream')
    t.true(wouldBlock >= total, 'each drain ended with a null (WouldBlock) read')
    allocationFree(t, result, MILLION)
  } finally {
    server.close()
    client.close()
    listener.close()
    poll.close()
  }
})

// ---------------------------------------------------------------- closed on GC

const hasFdDir = openFdCount() !== null
const openDescriptors = (): number => openFdCount() ?? 0

/** Collects until `done()` holds (finalizers run as tasks after a GC). */
async function collectUntil(done: () => boolean): Promise<boolean> {
  for (let round = 0; round < 20; round++) {
    gc!()
    await new Promise((resolve) => setImmediate(resolve))
    await tick(round < 10 ? 0 : 10)
    if (done()) return true
  }
  return done()
}

// These make objects and let go of them: nothing they create is returned.
function forgetListener(): string {
  const listener = TcpListener.bind(ANY_LOCAL)
  return addrText(listener.localAddr())
}

function forgetUdpSocket(): string {
  const socket = UdpSocket.bind(ANY_LOCAL)
  return addrText(socket.localAddr())
}

function forgetPollWithEverything(): void {
  const poll = new Poll()
  const waker = new Waker(poll.registry, Token(1))
  waker.wake()
  const clone = poll.registry.tryClone()
  const socket = UdpSocket.bind(ANY_LOCAL)
  clone.register(socket, Token(2), Interest.READABLE)
}

test.serial('a listener the program forgot is closed when collected: its port is free again', async (t) => {
  if (!gc) return t.fail('needs --expose-gc')
  await collectUntil(() => false)
  const before = hasFdDir ? openDescriptors() : 0
  const address = forgetListener()
  if (hasFdDir) t.is(openDescriptors(), before + 1, 'the listener holds a descriptor')
  const closed = await collectUntil(() => !hasFdDir || openDescriptors() === before)
  t.true(closed, 'the descriptor was closed after GC')

  // Nobody listens there any more: a connect is refused ...
  const poll = new Poll()
  const events = new Events(4)
  const client = TcpStream.connect(address)
  try {
    poll.registry.register(client, Token(1), Interest.WRITABLE)
    expectEvents(t, poll, events, [{ token: 1, readiness: ['writable'] }])
    t.is(client.takeError()?.code, 'ECONNREFUSED')
  } finally {
    client.close()
    poll.close()
  }
  // ... and the port can be bound again (a live listener would be EADDRINUSE).
  const again = TcpListener.bind(address)
  t.is(addrText(again.localAddr()), address)
  again.close()
})

test.serial('a connected stream the program forgot is closed when collected: the peer reads the end', async (t) => {
  if (!gc) return t.fail('needs --expose-gc')
  const poll = new Poll()
  const events = new Events(8)
  const listener = TcpListener.bind(ANY_LOCAL)
  try {
    poll.registry.register(listener, Token(0), Interest.READABLE)
    // Connect, register and forget the client.
    ;((): void => {
      const client = TcpStream.connect(listener.localAddr())
      poll.registry.register(client, Token(1), Interest.WRITABLE)
    })()
    expectEvents(t, poll, events, [{ token: 0, readiness: ['readable'] }])
    const accepted = listener.accept()
    t.not(accepted, null)
    const server = accepted![0]
    poll.registry.register(server, Token(2), Interest.READABLE)
    const buf = Buffer.alloc(16)
    t.is(server.read(buf), null, 'the connection is open')
    await collectUntil(() => false)
    expectEvents(t, poll, events, [{ token: 2, readiness: ['readable'] }])
    t.is(server.read(buf), 0, 'the forgotten client was closed: end of stream')
    server.close()
  } finally {
    listener.close()
    poll.close()
  }
})

test.serial('a UDP socket the program forgot is closed when collected: its port is free again', async (t) => {
  if (!gc) return t.fail('needs --expose-gc')
  await collectUntil(() => false)
  const before = hasFdDir ? openDescriptors() : 0
  const address = forgetUdpSocket()
  if (hasFdDir) t.is(openDescriptors(), before + 1)
  t.true(await collectUntil(() => !hasFdDir || openDescriptors() === before), 'the descriptor was closed after GC')
  const again = UdpSocket.bind(address)
  t.is(addrText(again.localAddr()), address)
  again.close()
})

test.serial('a Poll the program forgot, with its Waker, cloned Registry and socket, releases every descriptor', async (t) => {
  if (!gc) return t.fail('needs --expose-gc')
  if (!hasFdDir) return t.pass('no /proc/self/fd to count descriptors on this OS')
  await collectUntil(() => false)
  const before = openDescriptors()
  forgetPollWithEverything()
  t.true(openDescriptors() >= before + 3, 'selector, Waker, clone and socket hold descriptors')
  t.true(await collectUntil(() => openDescriptors() === before), `descriptors back to ${before}, got ${openDescriptors()}`)
})

test.serial('a source outlives its forgotten Poll and registers with another one', async (t) => {
  if (!gc) return t.fail('needs --expose-gc')
  const listener = TcpListener.bind(ANY_LOCAL)
  await collectUntil(() => false)
  try {
    ;((): void => {
      const poll = new Poll()
      poll.registry.register(listener, Token(1), Interest.READABLE)
    })()
    const before = hasFdDir ? openDescriptors() : 0
    t.true(await collectUntil(() => !hasFdDir || openDescriptors() === before - 1), 'the forgotten Poll closed its selector')
    const poll = new Poll()
    const events = new Events(4)
    poll.registry.register(listener, Token(7), Interest.READABLE)
    const client = TcpStream.connect(listener.localAddr())
    expectEvents(t, poll, events, [{ token: 7, readiness: ['readable'] }])
    client.close()
    poll.close()
  } finally {
    listener.close()
  }
})
