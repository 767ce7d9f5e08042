// Port of mio's tests/unix_listener.rs.
//
// Not applicable (Rust-only): unix_listener_send_and_sync (UnixListener is
// Send + Sync).
//
// mio's std threads become worker threads (`Peer`) and its std clients
// node:net clients; its `Arc<Barrier>` is `Barrier` (support/workers.ts). mio's
// `temp_file` is a path in a fresh temporary directory.
//
// unix_listener_from_std: mio binds a std listener (blocking), makes it
// non-blocking and wraps it with `from_std`. Here a node-mio listener's
// descriptor is taken out with `detachFd()`, made blocking again (as a std
// listener is), and adopted with `UnixListener.fromFd`, which makes it
// non-blocking itself (the smoke test checks the flag).
//
// mio's Cygwin-only `listener.accept()` calls ("complete handshake") are not
// ported: Node.js does not run on Cygwin. mio skips nothing here on Linux;
// unix_listener_abstract_namespace is Linux and Android only, as in mio.
import test, { type ExecutionContext } from 'ava'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { Interest, Token, UnixListener } from 'node-mio'
import { assertCloseOnExec, assertNonBlocking, makeBlocking } from './support/descriptors.ts'
import { expectEvents, expectNoEvents, initWithPoll } from './support/events.ts'
import { tempDir } from './support/sockets.ts'
import { expectQuietRegistration } from './support/shared-b-fixtures.ts'
import { BARRIER_WAIT, Barrier, Peer } from './support/workers.ts'

const DEFAULT_BUF_SIZE = 64
const TOKEN_1 = Token(0)

const unix = process.platform === 'win32' ? test.skip : test
const linux = process.platform === 'linux' || process.platform === 'android' ? test : test.skip

unix('unix_listener_smoke', async (t) => {
  await smokeTest(t, (path) => UnixListener.bind(path))
})

unix('unix_listener_from_std', async (t) => {
  await smokeTest(t, (path) => {
    const fd = makeBlocking(UnixListener.bind(path).detachFd())
    return UnixListener.fromFd(fd)
  })
})

unix('unix_listener_local_addr', async (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const barrier = new Barrier()

  const path = join(tempDir(t), 'unix_listener_local_addr')
  using listener = UnixListener.bind(path)
  poll.registry.register(listener, TOKEN_1, Interest.WRITABLE.add(Interest.READABLE))

  const handle = openConnections(path, 1, barrier)
  try {
    expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['readable'] }])

    const accepted = listener.accept()
    t.not(accepted, null, 'accept returned WouldBlock (null)')
    if (accepted === null) return
    const [stream, expectedAddr] = accepted
    using _stream = stream
    t.deepEqual(stream.localAddr(), { path })
    // mio: `expected_addr.as_pathname().is_none()`
    t.false('path' in expectedAddr)

    barrier.wait()
    t.is(await handle.exited(), 0)
  } finally {
    await handle.terminate()
  }
})

unix('unix_listener_register', (t) => {
  const path = join(tempDir(t), 'unix_listener_register')
  expectQuietRegistration(t, () => UnixListener.bind(path), TOKEN_1)
})

unix('unix_listener_reregister', async (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const barrier = new Barrier()

  const path = join(tempDir(t), 'unix_listener_reregister')
  using listener = UnixListener.bind(path)
  poll.registry.register(listener, TOKEN_1, Interest.WRITABLE)

  const handle = openConnections(path, 1, barrier)
  try {
    // mio's thread connects while this thread polls; waiting for the
    // connection first makes sure the no-event check sees it pending.
    t.is(handle.value, 1)
    expectNoEvents(t, poll, events)

    poll.registry.reregister(listener, TOKEN_1, Interest.READABLE)
    expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['readable'] }])

    barrier.wait()
    t.is(await handle.exited(), 0)
  } finally {
    await handle.terminate()
  }
})

unix('unix_listener_deregister', async (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const barrier = new Barrier()

  const path = join(tempDir(t), 'unix_listener_deregister')
  using listener = UnixListener.bind(path)
  poll.registry.register(listener, TOKEN_1, Interest.READABLE)

  const handle = openConnections(path, 1, barrier)
  try {
    // As above: the connection is pending before the deregistration.
    t.is(handle.value, 1)

    poll.registry.deregister(listener)
    expectNoEvents(t, poll, events)

    barrier.wait()
    t.is(await handle.exited(), 0)
  } finally {
    await handle.terminate()
  }
})

linux('unix_listener_abstract_namespace', async (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const barrier = new Barrier()

  const num = randomBytes(8).readBigUInt64LE()
  const name = `mio-abstract-uds-${num}`
  using listener = UnixListener.bind({ abstract: name })
  const local = listener.localAddr()
  t.true('abstract' in local, 'not an abstract address')
  if ('abstract' in local) t.deepEqual(local.abstract, Buffer.from(name))

  poll.registry.register(listener, TOKEN_1, Interest.WRITABLE.add(Interest.READABLE))
  expectNoEvents(t, poll, events)

  // mio: a thread connects with std's `connect_addr`, waits at the barrier,
  // and drops the connection. The thread's client is node-mio's own
  // UnixStream: node:net (Node.js 20) cannot reach this socket, as it pads an
  // abstract name with NULs to the whole of `sun_path` (ECONNREFUSED).
  const handle = new Peer(
    `${BARRIER_WAIT}
    const { UnixStream } = require('node-mio')
    const conn = UnixStream.connect({ abstract: data.name })
    ready(1)
    await barrierWait(data.barrier)
    conn.close()
    `,
    { name, barrier: barrier.buffer },
  )
  try {
    expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['readable'] }])

    const accepted = listener.accept()
    t.not(accepted, null, 'accept returned WouldBlock (null)')
    if (accepted === null) return
    const [stream, address] = accepted
    stream.close()
    // mio: `address.is_unnamed()`
    t.deepEqual(address, { unnamed: true })

    barrier.wait()
    t.is(await handle.exited(), 0)
  } finally {
    await handle.terminate()
  }
})

// ---- node-mio's own checks --------------------------------------------------

unix('binding a path in use fails with EADDRINUSE', (t) => {
  const path = join(tempDir(t), 'bind_twice_bad')
  using _listener = UnixListener.bind(path)
  t.throws(() => UnixListener.bind(path), { code: 'EADDRINUSE' })
  t.throws(() => UnixListener.bind({ path }), { code: 'EADDRINUSE' })
})

async function smokeTest(t: ExecutionContext, newListener: (path: string) => UnixListener): Promise<void> {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const barrier = new Barrier()
  const path = join(tempDir(t), 'unix_listener_smoke')

  using listener = newListener(path)

  // A blocking listener would hang in accept() below.
  if (!assertNonBlocking(t, listener.fd)) return
  assertCloseOnExec(t, listener.fd)

  poll.registry.register(listener, TOKEN_1, Interest.WRITABLE.add(Interest.READABLE))
  expectNoEvents(t, poll, events)

  const handle = openConnections(path, 1, barrier)
  try {
    expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['readable'] }])

    const accepted = listener.accept()
    t.not(accepted, null, 'accept returned WouldBlock (null)')
    if (accepted === null) return
    using stream = accepted[0]

    const buf = Buffer.alloc(DEFAULT_BUF_SIZE)
    t.is(stream.read(buf), null, 'expected WouldBlock (null)')

    t.is(listener.accept(), null, 'expected WouldBlock (null)')
    t.is(listener.takeError(), null)

    barrier.wait()
    t.is(await handle.exited(), 0)
  } finally {
    await handle.terminate()
  }
}

/**
 * mio's `open_connections`: a thread connects `n` times; each connection
 * waits at the barrier, then is dropped. Returns once the first connection
 * is made (as tcp-listener.spec's `startConnections`: the events are
 * expected within mio's 1.5 s of the connection, not of the worker's start).
 */
function openConnections(path: string, n: number, barrier: Barrier): Peer {
  const peer = new Peer(
    `${BARRIER_WAIT}
    const net = require('node:net')
    for (let i = 0; i < data.n; i++) {
      const conn = net.connect(data.path)
      conn.on('error', (e) => { console.error(e); process.exit(1) })
      await new Promise((resolve) => conn.once('connect', resolve))
      if (i === 0) ready(1)
      await barrierWait(data.barrier)
      conn.destroy()
    }
    `,
    { path, n, barrier: barrier.buffer },
  )
  peer.waitReady()
  return peer
}
