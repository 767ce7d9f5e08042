// Port of mio's tests/unix_stream.rs.
//
// Not applicable (Rust-only): unix_stream_send_and_sync (UnixStream is
// Send + Sync).
//
// mio's std threads become worker threads (`Peer`) with node:net servers
// (mio's `new_echo_listener` and `new_noop_listener` use std's
// UnixListener); its `Arc<Barrier>` is `Barrier` (support/workers.ts).
//
// - unix_stream_from_std: mio connects a std (blocking) stream, makes it
//   non-blocking and wraps it with `from_std`. Here a node-mio stream's
//   descriptor is taken out with `detachFd()`, made blocking again, and
//   adopted with `UnixStream.fromFd` (which makes it non-blocking).
// - unix_stream_connect_addr: mio's listener is a std listener wrapped with
//   `from_std`, and the stream connects to its `local_addr()`. Here the
//   listener is adopted with `UnixListener.fromFd`, the stream connects to
//   the `{ path }` that `localAddr()` returns, and this thread accepts (mio
//   accepts in its thread, then waits at the barrier: closing the accepted
//   stream here after the writable event is the same order).
// - The smoke test's `read_vectored` is `readv`.
//
// Platform skips are mio's: the BSD/macOS-only reads and WRITE_CLOSED check
// run only there; mio ignores nothing here on Linux (its Hurd, NTO, Solaris
// and Cygwin ignores name platforms Node.js supports as `sunos`/`cygwin` at
// most, skipped the same way below). mio's Cygwin-only handshake steps are
// not ported.
import test, { type ExecutionContext } from 'ava'
import { join } from 'node:path'
import { Interest, Token, UnixListener, UnixStream, type Events, type Poll } from 'node-mio'
import { assertCloseOnExec, assertNonBlocking, makeBlocking } from './support/descriptors.ts'
import { expectEvents, expectNoEvents, initWithPoll } from './support/events.ts'
import { tempDir } from './support/sockets.ts'
import { BARRIER_WAIT, Barrier, Peer } from './support/workers.ts'

const DATA1 = Buffer.from('Hello same host!')
const DATA2 = Buffer.from('Why hello mio!')
const DATA1_LEN = 16
const DATA2_LEN = 14
const DEFAULT_BUF_SIZE = 64
const TOKEN_1 = Token(0)
const TOKEN_2 = Token(1)

const unix = process.platform === 'win32' ? test.skip : test

/** The BSDs and macOS, where mio checks reads after `shutdown(Read)` and WRITE_CLOSED after `shutdown(Write)`. */
const BSD_LIKE = (['darwin', 'freebsd', 'openbsd', 'netbsd', 'dragonfly'] as string[]).includes(process.platform)

/** mio: "POLLRDHUP isn't supported on Solaris/Cygwin" (also Hurd and NTO, which Node.js does not run on). */
const noRdhup = process.platform === 'win32' || process.platform === 'sunos' || (process.platform as string) === 'cygwin'
const rdhup = noRdhup ? test.skip : test

unix('unix_stream_smoke', async (t) => {
  await smokeTest(t, (path) => UnixStream.connect(path), 'unix_stream_smoke')
})

unix('unix_stream_connect', async (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const barrier = new Barrier()
  const path = join(tempDir(t), 'unix_stream_connect')

  // mio: a std listener bound here, accepting in a thread that waits at the
  // barrier and then drops the accepted stream.
  const handle = new Peer(
    `${BARRIER_WAIT}
    const net = require('node:net')
    const listener = net.createServer((stream) => {
      listener.close()
      stream.on('error', (e) => { console.error(e); process.exit(1) })
      barrierWait(data.barrier).then(() => stream.destroy())
    })
    listener.listen(data.path, () => ready(1))
    `,
    { path, barrier: barrier.buffer },
  )
  try {
    t.is(handle.value, 1)
    using stream = UnixStream.connect(path)

    poll.registry.register(stream, TOKEN_1, Interest.READABLE.add(Interest.WRITABLE))
    expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['writable'] }])

    barrier.wait()
    expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['readable'] }])

    t.is(await handle.exited(), 0)
  } finally {
    await handle.terminate()
  }
})

unix('unix_stream_connect_addr', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll

  const path = join(tempDir(t), 'unix_stream_connect_addr')
  using mioListener = UnixListener.fromFd(makeBlocking(UnixListener.bind(path).detachFd()))

  const localAddr = mioListener.localAddr()
  if (!('path' in localAddr)) return void t.fail(`listener address has no path: ${JSON.stringify(localAddr)}`)
  using stream = UnixStream.connect(localAddr)

  const accepted = mioListener.accept()
  t.not(accepted, null, 'accept returned WouldBlock (null)')
  if (accepted === null) return
  const [acceptedStream] = accepted

  try {
    poll.registry.register(stream, TOKEN_1, Interest.READABLE.add(Interest.WRITABLE))
    expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['writable'] }])
  } finally {
    acceptedStream.close()
  }
  expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['readable'] }])
})

unix('unix_stream_from_std', async (t) => {
  await smokeTest(
    t,
    (path) => {
      const local = makeBlocking(UnixStream.connect(path).detachFd())
      return UnixStream.fromFd(local)
    },
    'unix_stream_from_std',
  )
})

unix('unix_stream_pair', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll

  const [s1, s2] = UnixStream.pair()
  using _s1 = s1
  using _s2 = s2
  poll.registry.register(s1, TOKEN_1, Interest.READABLE.add(Interest.WRITABLE))
  poll.registry.register(s2, TOKEN_2, Interest.READABLE.add(Interest.WRITABLE))
  expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['writable'] }])

  const buf = Buffer.alloc(DEFAULT_BUF_SIZE)
  t.is(s1.read(buf), null, 'expected WouldBlock (null)')

  checkedWrite(t, s1.write(DATA1), DATA1)

  expectRead(t, s2.read(buf), buf, DATA1)
  t.is(s2.read(buf), null, 'expected WouldBlock (null)')

  checkedWrite(t, s2.write(DATA2), DATA2)

  expectRead(t, s1.read(buf), buf, DATA2)
  t.is(s2.read(buf), null, 'expected WouldBlock (null)')
})

/** What a test body gets from `withEchoPeer`. */
interface EchoContext {
  poll: Poll
  events: Events
  stream: UnixStream
  path: string
}

/**
 * The frame of the tests against mio's `new_echo_listener`: a Poll, the
 * echo thread on a fresh path, a stream connected to it (by `connect`;
 * closed when the body ends, to allow the remote to shut down), then the
 * thread's clean exit; the thread is terminated whatever happened.
 */
async function withEchoPeer(
  t: ExecutionContext,
  testName: string,
  body: (ctx: EchoContext) => void,
  connect: (path: string) => UnixStream = (path) => UnixStream.connect(path),
): Promise<void> {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const [handle, path] = newEchoListener(t, 1, testName)
  try {
    {
      using stream = connect(path)
      body({ poll, events, stream, path })
    }
    t.is(await handle.exited(), 0)
  } finally {
    await handle.terminate()
  }
}

/** Registers the stream as `TOKEN_1` for `interests` and expects its connect: one writable event. */
function registerConnected(t: ExecutionContext, { poll, events, stream }: EchoContext, interests = Interest.WRITABLE.add(Interest.READABLE)): void {
  poll.registry.register(stream, TOKEN_1, interests)
  expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['writable'] }])
}

/** The start of the shutdown tests: connected, DATA1 written and its echo readable. */
function echoData1(t: ExecutionContext, ctx: EchoContext): void {
  registerConnected(t, ctx)
  checkedWrite(t, ctx.stream.write(DATA1), DATA1)
  expectEvents(t, ctx.poll, ctx.events, [{ token: TOKEN_1, readiness: ['readable'] }])
}

/**
 * Shutting down the reading side is different on each platform: on Linux
 * based systems we can still read; on the BSDs and macOS the read is the end.
 */
function readAfterShutdownRead(t: ExecutionContext, stream: UnixStream): void {
  if (BSD_LIKE) {
    const buf = Buffer.alloc(DEFAULT_BUF_SIZE)
    expectRead(t, stream.read(buf), buf, Buffer.alloc(0))
  }
}

unix('unix_stream_peer_addr', async (t) => {
  await withEchoPeer(t, 'unix_stream_peer_addr', ({ stream, path }) => {
    t.deepEqual(stream.peerAddr(), { path })
    // mio: `stream.local_addr().unwrap().as_pathname().is_none()`
    t.false('path' in stream.localAddr())
  })
})

rdhup('unix_stream_shutdown_read', async (t) => {
  await withEchoPeer(t, 'unix_stream_shutdown_read', (ctx) => {
    echoData1(t, ctx)
    ctx.stream.shutdown('read')
    expectEvents(t, ctx.poll, ctx.events, [{ token: TOKEN_1, readiness: ['readClosed'] }])
    readAfterShutdownRead(t, ctx.stream)
  })
})

unix('unix_stream_shutdown_write', async (t) => {
  await withEchoPeer(t, 'unix_stream_shutdown_write', (ctx) => {
    const { poll, events, stream } = ctx
    echoData1(t, ctx)

    stream.shutdown('write')

    if (BSD_LIKE) expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['writeClosed'] }])

    t.throws(() => stream.write(DATA2), { code: 'EPIPE' })

    // Read should be ok
    const buf = Buffer.alloc(DEFAULT_BUF_SIZE)
    expectRead(t, stream.read(buf), buf, DATA1)
  })
})

unix('unix_stream_shutdown_both', async (t) => {
  await withEchoPeer(t, 'unix_stream_shutdown_both', (ctx) => {
    const { poll, events, stream } = ctx
    echoData1(t, ctx)

    stream.shutdown('both')
    // Solaris never returns POLLHUP for sockets.
    if (process.platform !== 'sunos' && (process.platform as string) !== 'cygwin') {
      expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['writeClosed'] }])
    }

    readAfterShutdownRead(t, stream)

    t.throws(() => stream.write(DATA2), { code: 'EPIPE' })
  })
})

rdhup('unix_stream_shutdown_listener_write', async (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const barrier = new Barrier()
  const [handle, path] = newNoopListener(t, 1, barrier, 'unix_stream_shutdown_listener_write')
  try {
    using stream = UnixStream.connect(path)
    poll.registry.register(stream, TOKEN_1, Interest.READABLE.add(Interest.WRITABLE))
    expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['writable'] }])

    barrier.wait()
    expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['readClosed'] }])

    barrier.wait()
    t.is(await handle.exited(), 0)
  } finally {
    await handle.terminate()
  }
})

unix('unix_stream_register', async (t) => {
  await withEchoPeer(t, 'unix_stream_register', ({ poll, events, stream }) => {
    poll.registry.register(stream, TOKEN_1, Interest.READABLE)
    expectNoEvents(t, poll, events)
  })
})

unix('unix_stream_reregister', async (t) => {
  await withEchoPeer(t, 'unix_stream_reregister', ({ poll, events, stream }) => {
    poll.registry.register(stream, TOKEN_1, Interest.READABLE)
    poll.registry.reregister(stream, TOKEN_1, Interest.WRITABLE)
    expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['writable'] }])
  })
})

unix('unix_stream_deregister', async (t) => {
  await withEchoPeer(t, 'unix_stream_deregister', ({ poll, events, stream }) => {
    poll.registry.register(stream, TOKEN_1, Interest.WRITABLE)
    poll.registry.deregister(stream)
    expectNoEvents(t, poll, events)
  })
})

async function smokeTest(t: ExecutionContext, connectStream: (path: string) => UnixStream, testName: string): Promise<void> {
  await withEchoPeer(
    t,
    testName,
    (ctx) => {
      const { poll, events, stream } = ctx
      // A blocking stream would hang in read() below.
      if (!assertNonBlocking(t, stream.fd)) return
      assertCloseOnExec(t, stream.fd)

      registerConnected(t, ctx)

      const buf = Buffer.alloc(DEFAULT_BUF_SIZE)
      t.is(stream.read(buf), null, 'expected WouldBlock (null)')

      checkedWrite(t, stream.write(DATA1), DATA1)
      expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['readable'] }])

      expectRead(t, stream.read(buf), buf, DATA1)

      t.is(stream.takeError(), null)

      t.is(stream.read(buf), null, 'expected WouldBlock (null)')

      const wrote = stream.writev([DATA1, DATA2])
      t.is(wrote, DATA1_LEN + DATA2_LEN)
      expectEvents(t, poll, events, [{ token: TOKEN_1, readiness: ['readable'] }])

      // mio's read_vectored into [1; DATA1_LEN] and [2; DATA2_LEN + 1]
      const first = Buffer.alloc(DATA1_LEN, 1)
      const second = Buffer.alloc(DATA2_LEN + 1, 2)
      const read = stream.readv([first, second])
      t.is(read, DATA1_LEN + DATA2_LEN)
      t.deepEqual(first, DATA1)
      t.deepEqual(second.subarray(0, DATA2.length), DATA2)

      // Last byte should be unchanged
      t.is(second[DATA2_LEN], 2)
    },
    connectStream,
  )
}

/**
 * mio's `new_echo_listener`: a thread listening on a fresh path echoes what
 * each of `connections` connections sends until it ends, and fails (exit
 * code 1) unless it wrote back all it read. A reset or broken pipe ends a
 * connection, as in mio. Returns the thread and the path once listening.
 */
function newEchoListener(t: ExecutionContext, connections: number, testName: string): [Peer, string] {
  const path = join(tempDir(t), testName)
  const handle = new Peer(
    `
    const net = require('node:net')
    let remaining = data.connections
    const listener = net.createServer((stream) => {
      let read = 0
      let written = 0
      stream.on('data', (chunk) => {
        read += chunk.length
        stream.write(chunk, (err) => { if (!err) written += chunk.length })
      })
      // On Linux based system it will cause a connection reset error when
      // the reading side of the peer connection is shutdown, we don't
      // consider it an actual here.
      stream.on('error', (e) => {
        if (!['ECONNRESET', 'ECONNABORTED', 'EPIPE'].includes(e.code)) { console.error(e); process.exit(1) }
      })
      stream.on('close', () => {
        if (read !== written) { console.error('unequal reads and writes', read, written); process.exit(1) }
        if (--remaining === 0) listener.close()
      })
    })
    listener.listen(data.path, () => ready(1))
    `,
    { path, connections },
  )
  handle.waitReady()
  return [handle, path]
}

/**
 * mio's `new_noop_listener`: a thread accepts each connection, waits at the
 * barrier, shuts down its writing side, waits again and drops it.
 */
function newNoopListener(t: ExecutionContext, connections: number, barrier: Barrier, testName: string): [Peer, string] {
  const path = join(tempDir(t), testName)
  const handle = new Peer(
    `${BARRIER_WAIT}
    const net = require('node:net')
    let remaining = data.connections
    const listener = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, async (stream) => {
      stream.on('error', (e) => { console.error(e); process.exit(1) })
      await barrierWait(data.barrier)
      stream.end()
      await barrierWait(data.barrier)
      stream.destroy()
      if (--remaining === 0) listener.close()
    })
    listener.listen(data.path, () => ready(1))
    `,
    { path, connections, barrier: barrier.buffer },
  )
  handle.waitReady()
  return [handle, path]
}

/** mio's `checked_write!`: the whole buffer went out. */
function checkedWrite(t: ExecutionContext, n: number | null, data: Uint8Array): void {
  t.is(n, data.length, 'short write')
}

/** mio's `expect_read!`. */
function expectRead(t: ExecutionContext, n: number | null, buf: Buffer, expected: Uint8Array): void {
  t.is(n, expected.length)
  t.deepEqual(buf.subarray(0, n ?? 0), Buffer.from(expected))
}
