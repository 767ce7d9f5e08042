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
import { Interest, Token, UnixListener, type Events, type Poll } from 'node-mio'
import { assertCloseOnExec, assertNonBlocking, makeBlocking } from './support/descriptors.ts'
import { expectEvents, expectNoEvents, initWithPoll } from './support/events.ts'
import { tempDir } from './support/sockets.ts'
import { expectQuietRegistration, pollWith, type PollScope } from './support/shared-b-fixtures.ts'
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
  using scope = listenerAt(t, 'unix_listener_local_addr')
  const { poll, events, listener, path } = scope
  poll.registry.register(listener, TOKEN_1, Interest.WRITABLE.add(Interest.READABLE))

  await withOneConnection(t, path, () => {
    expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['readable'] }])

    const accepted = listener.accept()
    t.not(accepted, null, 'accept returned WouldBlock (null)')
    if (accepted === null) return
    const [stream, expectedAddr] = accepted
    t.deepEqual(stream.localAddr(), { path })
    // mio: `expected_addr.as_pathname().is_none()`
    t.false('path' in expectedAddr)
    return stream
  })
})

unix('unix_listener_register', (t) => {
  const path = join(tempDir(t), 'unix_listener_register')
  expectQuietRegistration(t, () => UnixListener.bind(path), TOKEN_1)
})

// [title, the interest registered first, what follows once the connection is pending]
const registrationChanges: Array<[string, Interest, (t: ExecutionContext, poll: Poll, events: Events, listener: UnixListener) => void]> = [
  [
    'unix_listener_reregister',
    Interest.WRITABLE,
    (t, poll, events, listener) => {
      expectNoEvents(t, poll, events)

      poll.registry.reregister(listener, TOKEN_1, Interest.READABLE)
      expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['readable'] }])
    },
  ],
  [
    'unix_listener_deregister',
    Interest.READABLE,
    (t, poll, events, listener) => {
      poll.registry.deregister(listener)
      expectNoEvents(t, poll, events)
    },
  ],
]
for (const [title, interest, change] of registrationChanges) {
  unix(title, async (t) => {
    using scope = listenerAt(t, title)
    const { poll, events, listener, path } = scope
    poll.registry.register(listener, TOKEN_1, interest)

    await withOneConnection(t, path, (handle) => {
      // mio's thread connects while this thread polls; waiting for the
      // connection first makes sure the no-event check (and the
      // deregistration) sees it pending.
      t.is(handle.value, 1)
      change(t, poll, events, listener)
      return undefined
    })
  })
}

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
  using scope = listenerAt(t, 'unix_listener_smoke', newListener)
  const { poll, events, listener, path } = scope

  // A blocking listener would hang in accept() below.
  if (!assertNonBlocking(t, listener.fd)) return
  assertCloseOnExec(t, listener.fd)

  poll.registry.register(listener, TOKEN_1, Interest.WRITABLE.add(Interest.READABLE))
  expectNoEvents(t, poll, events)

  await withOneConnection(t, path, () => {
    expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['readable'] }])

    const accepted = listener.accept()
    t.not(accepted, null, 'accept returned WouldBlock (null)')
    if (accepted === null) return
    const stream = accepted[0]

    const buf = Buffer.alloc(DEFAULT_BUF_SIZE)
    t.is(stream.read(buf), null, 'expected WouldBlock (null)')

    t.is(listener.accept(), null, 'expected WouldBlock (null)')
    t.is(listener.takeError(), null)
    return stream
  })
}

/** A Poll and the listener `bind` makes on a fresh path named `name` (mio's `temp_file`), closed together. */
function listenerAt(
  t: ExecutionContext,
  name: string,
  bind: (path: string) => UnixListener = (path) => UnixListener.bind(path),
): PollScope<readonly [UnixListener]> & { listener: UnixListener; path: string } {
  const path = join(tempDir(t), name)
  const scope = pollWith(bind(path))
  return { ...scope, listener: scope.owned[0], path }
}

/**
 * The frame of the tests with mio's `open_connections` thread making one
 * connection to `path`: `body` runs once it is made (the stream it returns,
 * the accepted one, stays open until the thread ends), then the connection
 * is released at the barrier and the thread must exit 0; the thread is
 * terminated whatever happened.
 */
async function withOneConnection(t: ExecutionContext, path: string, body: (handle: Peer) => Disposable | undefined): Promise<void> {
  const barrier = new Barrier()
  const handle = openConnections(path, 1, barrier)
  try {
    using _stream = body(handle)
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
