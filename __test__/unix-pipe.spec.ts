// Port of mio's tests/unix_pipe.rs, plus node-mio's own checks of `pipe()`,
// `PipeSender`/`PipeReceiver.fromFd` and `detachFd`.
//
// Every test of unix_pipe.rs is ported. How:
// - event_when_sender_is_dropped, event_when_receiver_is_dropped: mio moves
//   one end into a std thread that drops it between barriers. Here the end's
//   descriptor is handed to a worker thread (`detachFd()`), which adopts it
//   with node-mio's `PipeSender.fromFd`/`PipeReceiver.fromFd` and closes it
//   between the same barriers.
// - from_child_process_io: mio spawns `cat` with piped stdio and wraps the
//   child's stdin and stdout with `Sender::from`/`Receiver::from`. Here two
//   node-mio pipes are made, the child's ends are handed to `cat` through
//   `stdio`, and this process closes its copies of them.
// - nonblocking_child_process_io: std's `ChildStdout` is blocking and
//   `Receiver::from` keeps it so. Here the read end is taken out as a plain
//   descriptor and made blocking, then adopted with `PipeReceiver.fromFd`;
//   `setNonblocking(true)` follows as in mio, and the read must not block.
//   (source-fd.spec.ts ports it once more through `SourceFd`.)
// - mio's `expect_one_closed_event` polls once for up to 1 s; here that poll
//   waits without a time limit (`null`), so a slow machine cannot fail it.
//   The assertion is unchanged: the poll's batch is exactly one event, the
//   closed event of the expected token.
//
// mio ignores the closed-event tests on GNU/Hurd, NTO and Cygwin ("Writer fd
// close events do not trigger POLLHUP"); of those Node.js runs only on
// Cygwin, skipped the same way below.
import test, { type ExecutionContext } from 'ava'
import { Events, Interest, PipeReceiver, PipeSender, Poll, Token, UnixStream, pipe } from 'node-mio'
import { assertBlocking, assertCloseOnExec, assertNonBlocking, makeBlocking, openFdCount } from './support/descriptors.ts'
import { expectEvents, expectNoEvents } from './support/events.ts'
import { BARRIER_WAIT, Barrier, Peer } from './support/workers.ts'
import { closeSync, fstatSync } from './support/raw-fd.ts'
import { spawnPiped } from './support/shared-b-child.ts'
import { pollWith } from './support/shared-b-fixtures.ts'

const RECEIVER = Token(0)
const SENDER = Token(1)

const DATA1 = Buffer.from('Hello world')

const unix = process.platform === 'win32' ? test.skip : test
/** mio: "Writer fd close events do not trigger POLLHUP on nto and GNU/Hurd targets" (and Cygwin). */
const closeEvents = process.platform === 'win32' || (process.platform as string) === 'cygwin' ? test.skip : test

unix('smoke', (t) => {
  using poll = new Poll()
  const events = new Events(8)

  const [sender, receiver] = pipe()
  using _sender = sender
  using _receiver = receiver

  const buf = Buffer.alloc(20)
  t.is(receiver.read(buf), null, 'expected WouldBlock (null)')

  expectOneWayExchange(t, poll, events, sender, receiver)
})

/**
 * mio's exchange over a pipe: both ends registered, the sender writable
 * first, then DATA1 written and read whole from the receiver.
 */
function expectOneWayExchange(t: ExecutionContext, poll: Poll, events: Events, sender: PipeSender, receiver: PipeReceiver): void {
  poll.registry.register(receiver, RECEIVER, Interest.READABLE)
  poll.registry.register(sender, SENDER, Interest.WRITABLE)

  expectEvents(t, poll, events, [{ token: SENDER, readiness: ['writable'] }])
  const n = sender.write(DATA1)
  t.is(n, DATA1.length)

  expectEvents(t, poll, events, [{ token: RECEIVER, readiness: ['readable'] }])
  const buf = Buffer.alloc(20)
  const m = receiver.read(buf)
  t.is(m, DATA1.length)
  t.deepEqual(buf.subarray(0, m ?? 0), DATA1)
}

// mio's event_when_*_is_dropped: this thread keeps one end, registered; a
// worker adopts the other end (`fromFd`), runs `first` (a script), then
// closes it between mio's barriers; this thread runs `before` at the start
// of the barrier sequence, and then expects one closed event for its end.
const dropped: Array<{
  title: string
  kept: 'sender' | 'receiver'
  first: string
  before: (t: ExecutionContext, poll: Poll, events: Events, barrier: Barrier) => void
}> = [
  {
    title: 'event_when_sender_is_dropped',
    kept: 'receiver',
    first: `
    const n = end.write(Buffer.from(data.data))
    if (n !== data.data.length) { console.error('short write', n); process.exit(1) }
    await barrierWait(data.barrier)
    `,
    before: (t, poll, events, barrier) => {
      barrier.wait() // Wait for the write to complete.
      expectEvents(t, poll, events, [{ token: RECEIVER, readiness: ['readable'] }])
    },
  },
  {
    title: 'event_when_receiver_is_dropped',
    kept: 'sender',
    first: '',
    before: (t, poll, events) => expectEvents(t, poll, events, [{ token: SENDER, readiness: ['writable'] }]),
  },
]
for (const { title, kept, first, before } of dropped) {
  closeEvents(title, async (t) => {
    using poll = new Poll()
    const events = new Events(8)

    const [sender, receiver] = pipe()
    using keptEnd = kept === 'sender' ? sender : receiver
    const token = kept === 'sender' ? SENDER : RECEIVER
    poll.registry.register(keptEnd, token, kept === 'sender' ? Interest.WRITABLE : Interest.READABLE)
    const other = kept === 'sender' ? receiver : sender

    const barrier = new Barrier()

    const handle = new Peer(
      `${BARRIER_WAIT}
      const { ${kept === 'sender' ? 'PipeReceiver' : 'PipeSender'}: End } = require('node-mio')
      const end = End.fromFd(data.fd)
      ${first}
      await barrierWait(data.barrier)
      end.close()
      await barrierWait(data.barrier)
      `,
      { fd: other.detachFd(), data: DATA1.toString(), barrier: barrier.buffer },
    )
    try {
      before(t, poll, events, barrier)

      barrier.wait() // Unblock the thread.
      barrier.wait() // Wait until the other end is dropped.

      expectOneClosedEvent(t, poll, events, token, kept === 'receiver')

      t.is(await handle.exited(), 0)
    } finally {
      await handle.terminate()
    }
  })
}

closeEvents('from_child_process_io', async (t) => {
  // `cat` simply echo everything that we write via standard in.
  const { toChild: sender, fromChild: receiver, child, exited } = spawnPiped('cat')
  using _sender = sender
  using _receiver = receiver
  let ended = false
  try {
    using poll = new Poll()
    const events = new Events(8)

    expectOneWayExchange(t, poll, events, sender, receiver)

    sender.close()

    expectOneClosedEvent(t, poll, events, RECEIVER, true)
    ended = true
  } finally {
    sender.close()
    // Only if something threw: cat may still be exiting after it closed its
    // output (coreutils closes stdout in an atexit handler).
    if (ended) {
      t.deepEqual(await exited, [0, null], 'cat failed')
    } else {
      child.kill()
      await exited
    }
  }
})

unix('nonblocking_child_process_io', async (t) => {
  // `cat` simply echo everything that we write via standard in.
  const { toChild: sender, fromChild: stdout, exited } = spawnPiped('cat')
  using _sender = sender
  // As std's `ChildStdout`: a blocking descriptor.
  const stdoutFd = makeBlocking(stdout.detachFd())
  try {
    using receiver = PipeReceiver.fromFd(stdoutFd)

    receiver.setNonblocking(true)
    // A blocking read would hang this test.
    if (!assertNonBlocking(t, receiver.fd)) return

    const buf = Buffer.alloc(20)
    t.is(receiver.read(buf), null, 'expected WouldBlock (null)')
  } finally {
    sender.close()
    t.deepEqual(await exited, [0, null], 'cat failed')
  }
})

/**
 * Expected a closed event. If `read` is true is checks for `isReadClosed`,
 * otherwise for `isWriteClosed`. (mio polls for up to 1 s; see the top.)
 */
function expectOneClosedEvent(t: ExecutionContext, poll: Poll, events: Events, token: Token, read: boolean): void {
  poll.poll(events, null)
  const all = [...events].map((event) => event.toJSON())
  const event = all[0]
  t.is(event?.token, token, `invalid token, event: ${JSON.stringify(event)}`)
  if (read) {
    t.true(event?.readClosed, `expected closed or error, event: ${JSON.stringify(event)}`)
  } else {
    t.true(event?.writeClosed, `expected closed or error, event: ${JSON.stringify(event)}`)
  }
  t.is(all.length, 1, `expected one event, got ${JSON.stringify(all)}`)
}

// ---- node-mio's own checks --------------------------------------------------

unix('pipe ends are non-blocking and close-on-exec (pipe2(O_CLOEXEC | O_NONBLOCK))', (t) => {
  const [sender, receiver] = pipe()
  using _sender = sender
  using _receiver = receiver
  assertNonBlocking(t, sender.fd)
  assertCloseOnExec(t, sender.fd)
  assertNonBlocking(t, receiver.fd)
  assertCloseOnExec(t, receiver.fd)
  t.not(sender.fd, receiver.fd)
})

unix('setNonblocking sets and clears O_NONBLOCK on both ends', (t) => {
  const [sender, receiver] = pipe()
  using _sender = sender
  using _receiver = receiver
  for (const end of [sender, receiver]) {
    end.setNonblocking(false)
    assertBlocking(t, end.fd)
    end.setNonblocking(true)
    assertNonBlocking(t, end.fd)
  }
  t.throws(() => sender.setNonblocking(1 as unknown as boolean), { code: 'ERR_INVALID_ARG_TYPE' })
})

unix('a full pipe returns null from write, and draining it gives a new writable event', (t) => {
  using scope = pollWith(...pipe())
  const { poll, events, owned: [sender, receiver] } = scope
  poll.registry.register(sender, SENDER, Interest.WRITABLE)
  poll.registry.register(receiver, RECEIVER, Interest.READABLE)
  expectEvents(t, poll, events, [{ token: SENDER, readiness: ['writable'] }])

  const chunk = Buffer.alloc(4096, 7)
  let written = 0
  for (let n; (n = sender.writev([chunk, chunk])) !== null; ) written += n
  t.true(written > 0)
  t.is(sender.write(chunk), null, 'expected WouldBlock (null)')

  expectEvents(t, poll, events, [{ token: RECEIVER, readiness: ['readable'] }])
  const buf = Buffer.alloc(65536)
  let read = 0
  for (let n; (n = receiver.read(buf)) !== null; ) {
    t.not(n, 0, 'unexpected end of stream')
    if (n === 0) break
    t.true(buf.subarray(0, n).every((byte) => byte === 7))
    read += n
  }
  t.is(read, written)

  expectEvents(t, poll, events, [{ token: SENDER, readiness: ['writable'] }])
})

unix('the receiver reads 0 after the last sender is closed', (t) => {
  const [sender, receiver] = pipe()
  using _receiver = receiver
  t.is(sender.write(DATA1), DATA1.length)
  sender.close()
  const buf = Buffer.alloc(20)
  t.is(receiver.read(buf), DATA1.length)
  t.is(receiver.read(buf), 0)
})

unix('fromFd adopts pipe ends and detachFd hands them back open', (t) => {
  using poll = new Poll()
  const events = new Events(8)
  const [sender0, receiver0] = pipe()
  const senderFd = makeBlocking(sender0.detachFd())
  const receiverFd = makeBlocking(receiver0.detachFd())
  t.true(sender0.closed)
  t.true(receiver0.closed)

  using sender = PipeSender.fromFd(senderFd)
  using receiver = PipeReceiver.fromFd(receiverFd)
  t.is(sender.fd, senderFd)
  t.is(receiver.fd, receiverFd)
  assertNonBlocking(t, senderFd)
  assertNonBlocking(t, receiverFd)

  poll.registry.register(receiver, RECEIVER, Interest.READABLE)
  t.is(sender.write(DATA1), DATA1.length)
  expectEvents(t, poll, events, [{ token: RECEIVER, readiness: ['readable'] }])

  // detachFd deregisters: the descriptor stays open, without events.
  const fd = receiver.detachFd()
  t.true(receiver.closed)
  t.true(fstatSync(fd).isFIFO())
  t.is(sender.write(DATA1), DATA1.length)
  expectNoEvents(t, poll, events)

  using again = PipeReceiver.fromFd(fd)
  const buf = Buffer.alloc(64)
  t.is(again.read(buf), 2 * DATA1.length)
})

unix('fromFd rejects a descriptor that is not a pipe, and leaves it open', (t) => {
  const [a, b] = UnixStream.pair()
  using _b = b
  // Handed over: a descriptor a live source owns is refused as owned first.
  const fd = a.detachFd()
  using stream = UnixStream.fromFd(fd)
  const owned = t.throws(() => PipeReceiver.fromFd(fd), { code: 'ERR_MIO_FD_OWNED' })
  t.regex(owned?.message ?? '', /owned by a live UnixStream/)
  stream.detachFd()
  t.throws(() => PipeReceiver.fromFd(fd), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => PipeSender.fromFd(fd), { code: 'ERR_INVALID_ARG_VALUE' })
  t.true(fstatSync(fd).isSocket())
  closeSync(fd)
  t.throws(() => PipeReceiver.fromFd(-1), { code: 'ERR_OUT_OF_RANGE' })
})

// Serial: worker threads of concurrent tests open descriptors too.
;(process.platform === 'linux' ? test.serial : test.skip)('closing pipe ends releases their descriptors', (t) => {
  const before = openFdCount()
  for (let i = 0; i < 1000; i++) {
    const [sender, receiver] = pipe()
    sender.close()
    receiver.close()
  }
  for (let i = 0; i < 100; i++) {
    const [sender, receiver] = pipe()
    using poll = new Poll()
    poll.registry.register(sender, SENDER, Interest.WRITABLE)
    poll.registry.register(receiver, RECEIVER, Interest.READABLE)
    sender.close()
    receiver.close()
  }
  t.is(openFdCount(), before)
})
