// Port of mio's tests/tcp.rs.
//
// Not applicable (not ported):
// - assert_size (release builds, Unix): mio's socket types are the size of
//   std's, a Rust-only property.
// - is_send_and_sync: a Rust trait property (Send + Sync).
//
// How the rest maps:
// - mio's std threads (blocking std sockets) are `Peer` workers with node:net
//   sockets; mio's channels between the test and a thread are a `Barrier`.
//   `handle.join()` waits for the worker to exit and checks it did not fail.
// - write_shutdown accepts on a std listener in the test thread: here a
//   node-mio listener accepted with `acceptBlocking()`.
// - connection_reset_by_peer sets `SO_LINGER` 0 on the mio client and drops
//   it. node-mio has no linger option, so the client is a node:net socket in
//   a `Peer` that resets with `socket.resetAndDestroy()` (linger 0 and close).
//   mio also registers that client with the poll but never looks at its
//   events. mio's 100 ms "wait a moment" after the drop becomes a barrier the
//   worker reaches once the reset is sent.
// - mio's `wait!` in write_shutdown gives up after 5 s of 1 s polls; here it
//   gives up after 5 polls of 1 s, so nothing depends on measured time.
import test, { type ExecutionContext } from 'ava'
import { Events, Interest, Poll, TcpListener, TcpStream, Token, type Event } from 'node-mio'
import { expectEvents, expectNoEvents, initWithPoll } from './support/events.ts'
import { ANY_LOCAL, acceptBlocking, addrText, isLoopback } from './support/sockets.ts'
import { droppingListener, listenerThread } from './support/shared-a-peers.ts'
import { BARRIER_WAIT, Barrier, Peer, sleep } from './support/workers.ts'

const LISTEN = Token(0)
const CLIENT = Token(1)
const SERVER = Token(2)

const platform: string = process.platform

/** 16 MiB, the size of the read, peek and write transfers. */
const N = 16 * 1024 * 1024

/** mio's `checked_write!`: the whole buffer went out. */
function checkedWrite(t: ExecutionContext, written: number | null, data: Uint8Array): void {
  t.is(written, data.length, 'short write')
}

/** mio's `expect_read!`: `n` bytes were read and they are `expected`. */
function expectRead(t: ExecutionContext, n: number | null, buf: Uint8Array, expected: Uint8Array): void {
  t.is(n, expected.length)
  t.deepEqual(Buffer.from(buf.subarray(0, n ?? 0)), Buffer.from(expected))
}

/**
 * std's `write_all` on a non-blocking stream: every write must succeed;
 * WouldBlock (`null`) and a zero-length write are errors, as in std.
 */
function writeAll(stream: TcpStream, data: Uint8Array): void {
  for (let at = 0; at < data.length; ) {
    const n = stream.write(data.subarray(at))
    if (n === null) throw new Error('write_all: WouldBlock (null)')
    if (n === 0) throw new Error('write_all: failed to write whole buffer')
    at += n
  }
}

/** mio's `accept().unwrap()`: a connection must be pending. */
function mustAccept(listener: TcpListener): [TcpStream, { address: string; family: string; port: number }] {
  const accepted = listener.accept()
  if (accepted === null) throw new Error('accept: WouldBlock (null)')
  return accepted
}

/** mio's `handle.join()`: the worker ran to its end without failing. */
async function join(t: ExecutionContext, peer: Peer): Promise<void> {
  t.is(await peer.exited(), 0, 'the thread failed')
}

test('accept', async (t) => {
  using listener = TcpListener.bind('127.0.0.1:0')
  const addr = listener.localAddr()

  const handle = new Peer(
    `
    const net = require('node:net')
    const conn = net.connect(data.port, '127.0.0.1')
    conn.on('connect', () => conn.destroy())
    conn.on('error', (e) => { console.error(e); process.exit(1) })
    `,
    { port: addr.port },
  )
  try {
    using poll = new Poll()

    poll.registry.register(listener, Token(1), Interest.READABLE)

    const events = new Events(128)

    let hit = false
    let shutdown = false
    while (!shutdown) {
      poll.poll(events, null)

      for (const event of events) {
        hit = true
        t.is(event.token, Token(1))
        t.true(event.isReadable())
        const accepted = listener.accept()
        t.not(accepted, null)
        accepted?.[0].close()
        shutdown = true
      }
    }
    t.true(hit)
    t.is(listener.accept(), null)
    await join(t, handle)
  } finally {
    await handle.terminate()
  }
})

test('connect', async (t) => {
  // The thread accepts, waits for the test's signal (mio: `rx.recv()`), drops
  // the stream and signals back (mio: `tx2.send(())`).
  const barrier = new Barrier(2)
  const { peer: handle, addr } = listenerThread(
    `
    await barrierWait(data.barrier)
    stream.destroy()
    await barrierWait(data.barrier)
    `,
    { barrier: barrier.buffer },
  )
  try {
    using poll = new Poll()
    using stream = TcpStream.connect(addr)

    poll.registry.register(stream, Token(1), Interest.READABLE.add(Interest.WRITABLE))

    const events = new Events(128)

    let hit = 0
    const onEvent = (event: Event): void => {
      t.is(event.token, Token(1))
      switch (hit) {
        case 0:
          t.true(event.isWritable())
          break
        case 1:
          t.true(event.isReadable())
          break
        default:
          t.fail(`unexpected event number ${hit + 1}`)
      }
      hit += 1
    }

    let shutdown = false
    while (!shutdown) {
      poll.poll(events, null)

      for (const event of events) {
        onEvent(event)
        shutdown = true
      }
    }
    t.is(hit, 1)
    barrier.wait() // tx.send(())
    barrier.wait() // rx2.recv()
    shutdown = false
    while (!shutdown) {
      poll.poll(events, null)

      for (const event of events) {
        onEvent(event)
        shutdown = true
      }
    }
    t.is(hit, 2)
    await join(t, handle)
  } finally {
    await handle.terminate()
  }
})

/** The thread of mio's read and peek tests: accept, then write N bytes in 1 KiB chunks. */
function writerThread(): { peer: Peer; addr: string } {
  return listenerThread(
    `
    // One write at a time as the socket takes it (mio's thread writes
    // blocking): under Wine, thousands of writes queued at once sometimes
    // failed with EMSGSIZE in node:net itself.
    const buf = Buffer.alloc(1024)
    for (let amt = 0; amt < data.n; amt += buf.length) {
      if (!stream.write(buf)) await new Promise((resolve) => stream.once('drain', resolve))
    }
    // Open until the reader, having read everything, closes its end; then
    // Node ends and closes this one (allowHalfOpen is off). Ending it here
    // would be the same on Linux and Windows, but under Wine a shutdown or
    // close with data still queued drops that data, with node:net alone
    // (scripts/cross/close-loss.cjs).
    `,
    { n: N },
  )
}

/**
 * The loop of mio's read, peek and write tests: connect to the thread at
 * `addr`, register as token 1 (READABLE to read or peek, WRITABLE to write)
 * and, on each event, read (or write) 1 KiB at a time until WouldBlock, until
 * N bytes have moved; `peek` first peeks and skips an event with nothing to
 * peek. A reader's end of stream before N is an error, and a reader closes its
 * stream before the join (the writer closes after that: see writerThread).
 */
async function transferN(t: ExecutionContext, thread: { peer: Peer; addr: string }, mode: 'read' | 'peek' | 'write'): Promise<void> {
  const { peer: handle, addr } = thread
  const reading = mode !== 'write'
  try {
    using poll = new Poll()
    using socket = TcpStream.connect(addr)

    poll.registry.register(socket, Token(1), reading ? Interest.READABLE : Interest.WRITABLE)

    const events = new Events(128)

    let amt = 0
    let shutdown = false
    const buf = Buffer.alloc(1024)
    while (!shutdown) {
      poll.poll(events, null)

      for (const event of events) {
        t.is(event.token, Token(1))
        if (mode === 'peek' && socket.peek(buf) === null) continue

        for (let n; (n = reading ? socket.read(buf) : socket.write(buf)) !== null; ) {
          if (reading && n === 0) throw new Error(`unexpected end of stream after ${amt} bytes`)
          amt += n
          if (amt >= N) {
            shutdown = true
            break
          }
        }
      }
    }
    if (reading) socket.close() // the writer closes after this (see writerThread)
    await join(t, handle)
  } finally {
    await handle.terminate()
  }
}

test('read', (t) => transferN(t, writerThread(), 'read'))

test('peek', (t) => transferN(t, writerThread(), 'peek'))

test('write', (t) =>
  // The thread accepts, then reads until it has N bytes.
  transferN(
    t,
    listenerThread(
      `
      let amt = 0
      stream.on('data', (chunk) => {
        amt += chunk.length
        if (amt >= data.n) stream.destroy()
      })
      // Bun emits 'end' even after destroy(): only an early end fails.
      stream.on('end', () => amt < data.n && fail(new Error('end of stream after ' + amt + ' bytes')))
      `,
      { n: N },
    ),
    'write',
  ),
)

test('connect_then_close', (t) => {
  using poll = new Poll()
  using listener = TcpListener.bind('127.0.0.1:0')
  using s = TcpStream.connect(addrText(listener.localAddr()))

  poll.registry.register(listener, Token(1), Interest.READABLE)
  poll.registry.register(s, Token(2), Interest.READABLE)

  const events = new Events(128)

  let shutdown = false
  let accepts = 0
  while (!shutdown) {
    poll.poll(events, null)

    for (const event of events) {
      if (event.token === Token(1)) {
        const [accepted] = mustAccept(listener)
        accepts++
        poll.registry.register(accepted, Token(3), Interest.READABLE.add(Interest.WRITABLE))
        accepted.close()
      } else if (event.token === Token(2)) {
        t.true(event.isReadable(), 'the client learns of the close through a readable event')
        shutdown = true
      }
    }
  }
  t.is(accepts, 1)
  // The server closed without sending: the client reads the end of the stream.
  t.is(s.read(Buffer.alloc(16)), 0)
})

test('listen_then_close', (t) => {
  using poll = new Poll()
  const listener = TcpListener.bind('127.0.0.1:0')

  poll.registry.register(listener, Token(1), Interest.READABLE)
  listener.close()

  const events = new Events(128)

  poll.poll(events, 100)

  t.deepEqual(
    [...events].map((event) => event.token),
    [],
    'no event for a closed TcpListener (nothing else is registered)',
  )
  t.throws(() => listener.localAddr(), { code: 'ERR_SOCKET_CLOSED' })
})

test('bind_twice_bad', (t) => {
  using l1 = TcpListener.bind('127.0.0.1:0')
  const addr = l1.localAddr()
  const err = t.throws(() => TcpListener.bind(addrText(addr)).close()) as NodeJS.ErrnoException | undefined
  t.is(err?.code, 'EADDRINUSE')
})

test('multiple_writes_immediate_success', async (t) => {
  const COUNT = 16
  // The thread accepts, then reads 16 KiB, all of them ones.
  const { peer: handle, addr } = listenerThread(
    `
    let amt = 0
    stream.on('data', (chunk) => {
      for (const byte of chunk) if (byte !== 1) fail(new Error('read a byte that is not 1: ' + byte))
      amt += chunk.length
      if (amt >= 1024 * data.count) stream.destroy()
    })
    // Bun emits 'end' even after destroy(): only an early end fails.
    stream.on('end', () => amt < 1024 * data.count && fail(new Error('end of stream after ' + amt + ' bytes')))
    `,
    { count: COUNT },
  )
  try {
    using poll = new Poll()
    using s = TcpStream.connect(addr)
    poll.registry.register(s, Token(1), Interest.WRITABLE)
    const events = new Events(16)

    // Wait for our TCP stream to connect
    outer: for (;;) {
      poll.poll(events, null)
      for (const event of events) {
        if (event.token === Token(1) && event.isWritable()) {
          break outer
        }
      }
    }

    for (let i = 0; i < COUNT; i++) {
      t.notThrows(() => writeAll(s, Buffer.alloc(1024, 1)))
    }

    await join(t, handle)
  } finally {
    await handle.terminate()
  }
})

test('connection_reset_by_peer', async (t) => {
  using poll = new Poll()
  const events = new Events(16)
  const buf = Buffer.alloc(16)

  // Create listener
  using listener = TcpListener.bind('127.0.0.1:0')
  const addr = listener.localAddr()

  // Connect client (in a worker: see the top of this file). Once the test
  // accepted, it drops the connection with linger 0 and says so.
  const barrier = new Barrier(2)
  const client = new Peer(
    `
    ${BARRIER_WAIT}
    const net = require('node:net')
    const conn = net.connect(data.port, '127.0.0.1')
    conn.on('error', (e) => { console.error(e); process.exit(1) })
    await new Promise((resolve) => conn.once('connect', resolve))
    await barrierWait(data.barrier)
    // Close the connection
    conn.resetAndDestroy()
    await barrierWait(data.barrier)
    `,
    { port: addr.port, barrier: barrier.buffer },
  )
  try {
    // Register server
    poll.registry.register(listener, Token(0), Interest.READABLE)

    // Wait for listener to be ready
    let server: TcpStream | undefined
    outer: for (;;) {
      poll.poll(events, null)

      for (const event of events) {
        if (event.token === Token(0)) {
          const accepted = listener.accept()
          if (accepted !== null) {
            server = accepted[0]
            break outer
          }
        }
      }
    }
    using _server = server

    // Close the connection
    barrier.wait()
    // Wait a moment (until the reset is sent)
    barrier.wait()

    // Register interest in the server socket
    poll.registry.register(server, Token(3), Interest.READABLE)

    outer: for (;;) {
      poll.poll(events, null)

      for (const event of events) {
        if (event.token === Token(3)) {
          t.true(event.isReadable())

          // Ok(0) or Err(_) (an error, or WouldBlock: `null`), never data.
          let n: number | null = 0
          try {
            n = server.read(buf)
          } catch {
            n = 0
          }
          if (n !== null && n !== 0) t.fail(`expected empty buffer but read ${n} bytes`)
          break outer
        }
      }
    }
    t.is(await client.exited(), 0, 'the client thread failed')
  } finally {
    await client.terminate()
  }
})

test('connect_error', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll

  // Pick a "random" port that shouldn't be in use.
  let stream: TcpStream
  try {
    stream = TcpStream.connect('127.0.0.1:58381')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
      // Connection failed synchronously.  This is not a bug, but it
      // unfortunately doesn't get us the code coverage we want.
      t.like(e, { code: 'ECONNREFUSED', syscall: 'connect', port: 58381 })
      return
    }
    throw e
  }
  using _stream = stream

  poll.registry.register(stream, Token(0), Interest.WRITABLE)

  outer: for (;;) {
    poll.poll(events, null)

    for (const event of events) {
      if (event.token === Token(0)) {
        // With fastopen we would be able to write
        // Without fastopen we would be getting the connection error
        t.true(event.isWritable() || event.isError())
        // Solaris poll(2) says POLLHUP and POLLOUT are mutually exclusive.
        if (!['sunos', 'cygwin'].includes(platform)) {
          t.true(event.isWriteClosed())
        }
        break outer
      }
    }
  }

  const err = stream.takeError()
  t.not(err, null)
  t.is(err?.code, 'ECONNREFUSED')
})

test('write_error', async (t) => {
  using poll = new Poll()
  const events = new Events(16)

  // The thread accepts, waits for the test's signal (mio: `rx.recv()`), then
  // drops the connection.
  const { peer: handle, addr, barrier } = droppingListener('destroy')
  try {
    using s = TcpStream.connect(addr)
    poll.registry.register(s, Token(0), Interest.READABLE.add(Interest.WRITABLE))

    const waitWritable = (): void => {
      for (;;) {
        poll.poll(events, null)

        for (const event of events) {
          if (event.token === Token(0) && event.isWritable()) {
            return
          }
        }
      }
    }

    waitWritable()

    barrier.wait()
    await join(t, handle)

    const buf = Buffer.alloc(1024)
    for (;;) {
      let n: number | null
      try {
        n = s.write(buf)
      } catch (e) {
        t.log(`good error: ${(e as Error).message}`)
        break
      }
      if (n === 0) {
        t.fail('unexpected end')
        break
      }
      if (n === null) waitWritable()
    }
  } finally {
    await handle.terminate()
  }
})

/** mio's `wait!` macro: poll (1 s at a time, at most 5 times) until token 0 shows `ready`. */
function wait(t: ExecutionContext, poll: Poll, ready: (event: Event) => boolean, expectReadClosed: boolean): void {
  const events = new Events(16)
  let found = false

  for (let round = 0; !found; round++) {
    if (round === 5) throw new Error('not ready')

    poll.poll(events, 1000)

    for (const event of events) {
      if (expectReadClosed) {
        t.true(event.isReadClosed())
      } else {
        t.true(!event.isReadClosed() && !event.isWriteClosed())
      }

      if (event.token === Token(0) && ready(event)) {
        found = true
        break
      }
    }
  }
}

test('write_shutdown', (t) => {
  using poll = new Poll()

  using listener = TcpListener.bind('127.0.0.1:0')
  const addr = listener.localAddr()

  using client = TcpStream.connect(addrText(addr))
  poll.registry.register(client, Token(0), Interest.READABLE.add(Interest.WRITABLE))

  const [socket] = acceptBlocking(listener)
  using _socket = socket

  wait(t, poll, (event) => event.isWritable(), false)

  const events = new Events(16)

  // Polling should not have any events
  poll.poll(events, 100)

  t.is(events.get(0), undefined)

  // Now, shutdown the write half of the socket.
  socket.shutdown('write')

  // POLLRDHUP isn't supported on Solaris, GNU/Hurd, NTO, Cygwin and WASI.
  if (['sunos', 'cygwin'].includes(platform)) {
    wait(t, poll, (event) => event.isReadable(), false)
  } else {
    wait(t, poll, (event) => event.isReadable(), true)
  }
})

test('local_addr_ready', (t) => {
  using server = TcpListener.bind('127.0.0.1:0')
  const addr = server.localAddr()

  using poll = new Poll()
  poll.registry.register(server, LISTEN, Interest.READABLE)

  using sock = TcpStream.connect(addrText(addr))
  poll.registry.register(sock, CLIENT, Interest.READABLE)

  const events = new Events(1024)

  const listener = server
  const connected = sock
  let accepted: TcpStream | null = null
  let shutdown = false
  try {
    while (!shutdown) {
      poll.poll(events, null)

      for (const event of events) {
        switch (event.token) {
          case LISTEN: {
            const [s] = mustAccept(listener)
            poll.registry.register(s, SERVER, Interest.WRITABLE)
            accepted = s
            break
          }
          case SERVER: {
            if (accepted === null) throw new Error('SERVER event without an accepted stream')
            t.notThrows(() => accepted!.peerAddr())
            t.notThrows(() => accepted!.localAddr())
            const n = accepted.write(Buffer.from([1, 2, 3]))
            t.is(n, 3)
            accepted.close()
            accepted = null
            break
          }
          case CLIENT:
            t.notThrows(() => connected.peerAddr())
            t.notThrows(() => connected.localAddr())
            shutdown = true
            break
          default:
            t.fail('unexpected token')
        }
      }
    }
  } finally {
    ;(accepted as TcpStream | null)?.close()
  }
})

/** Polls until `events` is not empty (mio: `while events.is_empty()`). */
function pollUntilEvents(poll: Poll, events: Events): void {
  poll.poll(events, null)
  while (events.isEmpty()) poll.poll(events, null)
}

function writeThen(t: ExecutionContext, after: (poll: Poll, s2: TcpStream) => void): void {
  using a = TcpListener.bind('127.0.0.1:0')
  const addr = a.localAddr()
  using s = TcpStream.connect(addrText(addr))

  using poll = new Poll()

  poll.registry.register(a, Token(1), Interest.READABLE)

  poll.registry.register(s, Token(3), Interest.READABLE)

  let events = new Events(1024)
  pollUntilEvents(poll, events)
  t.is(events.length, 1)
  t.is(events.get(0)?.token, Token(1))

  const [s2] = mustAccept(a)
  try {
    poll.registry.register(s2, Token(2), Interest.WRITABLE)

    events = new Events(1024)
    pollUntilEvents(poll, events)
    t.is(events.length, 1)
    t.is(events.get(0)?.token, Token(2))

    writeAll(s2, Buffer.from([1, 2, 3, 4]))
    after(poll, s2)

    poll.registry.reregister(s, Token(3), Interest.READABLE)

    events = new Events(1024)
    pollUntilEvents(poll, events)
    t.is(events.length, 1)
    t.is(events.get(0)?.token, Token(3))

    const buf = Buffer.alloc(10)
    expectRead(t, s.read(buf), buf, Buffer.from([1, 2, 3, 4]))
  } finally {
    s2.close()
  }
}

test('write_then_drop', (t) => {
  writeThen(t, (_poll, s2) => s2.close())
})

test('write_then_deregister', (t) => {
  writeThen(t, (poll, s2) => poll.registry.deregister(s2))
})

const ID1 = Token(1)
const ID2 = Token(2)
const ID3 = Token(3)

test('tcp_no_events_after_deregister', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll

  using listener = TcpListener.bind(ANY_LOCAL)
  const addr = listener.localAddr()
  using stream = TcpStream.connect(addrText(addr))

  poll.registry.register(listener, ID1, Interest.READABLE)
  poll.registry.register(stream, ID3, Interest.READABLE)

  expectEvents(t, poll, events, [{ token: ID1, readiness: ['readable'] }])

  const [stream2, peerAddress] = mustAccept(listener)
  using _stream2 = stream2
  t.true(isLoopback(peerAddress))
  t.deepEqual(stream2.peerAddr(), peerAddress)
  t.deepEqual(stream2.localAddr(), addr)

  poll.registry.register(stream2, ID2, Interest.WRITABLE)
  expectEvents(t, poll, events, [{ token: ID2, readiness: ['writable'] }])

  writeAll(stream2, Buffer.from([1, 2, 3, 4]))

  expectEvents(t, poll, events, [{ token: ID3, readiness: ['readable'] }])

  poll.registry.deregister(listener)
  poll.registry.deregister(stream)
  poll.registry.deregister(stream2)

  expectNoEvents(t, poll, events)

  const buf = Buffer.alloc(10)
  expectRead(t, stream.read(buf), buf, Buffer.from([1, 2, 3, 4]))

  checkedWrite(t, stream2.write(Buffer.from([1, 2, 3, 4])), Buffer.from([1, 2, 3, 4]))
  expectNoEvents(t, poll, events)

  sleep(200)
  expectRead(t, stream.read(buf), buf, Buffer.from([1, 2, 3, 4]))

  expectNoEvents(t, poll, events)
})
