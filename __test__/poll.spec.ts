// Port of mio's tests/poll.rs.
//
// Not ported:
// - is_send_and_sync: a Rust trait property (Events, Poll and Registry are
//   Send + Sync) with no JS equivalent.
// - poll_registration, poll_erroneous_registration: they implement a custom
//   `event::Source` in Rust and check the calls `Registry` makes to it; a JS
//   program cannot implement a native Source, so they do not apply.
// - registry_behind_arc, registry_operations_are_thread_safe,
//   register_during_poll: their point is registering through a Registry
//   shared with other threads; node-mio objects are per-thread and a Registry
//   cannot be handed to a worker (only a Waker can, as a SharedWaker).
//   Declared below as `test.skip`.
//
// From std: mio's readiness_is_reregistered_after_would_block builds its pair
// with std's blocking sockets and `TcpStream::from_std`; here the pair is
// made with node-mio's own listener and stream.
//
// mio's debug-only tests double_register_different_token,
// reregister_without_register and deregister_without_register run
// unconditionally: node-mio reports these errors on every build (EEXIST,
// ENOENT).
import test, { type ExecutionContext } from 'ava'
import { Events, Interest, Poll, TcpListener, TcpStream, Token, UdpSocket } from 'node-mio'
import { openFdCount } from './support/descriptors.ts'
import { expectEvents, initWithPoll } from './support/events.ts'
import { readOnceAfterConnect } from './support/shared-a-peers.ts'
import { expectReadinessAfterWouldBlock } from './support/shared-b-fixtures.ts'
import { ANY_LOCAL, addrText } from './support/sockets.ts'
import { sleep } from './support/workers.ts'

const ID1 = Token(1)
const ID2 = Token(2)
const ID3 = Token(3)

test('run_once_with_nothing', (t) => {
  const events = new Events(16)
  using poll = new Poll()
  t.is(poll.poll(events, 100), 0)
})

test('add_then_drop', (t) => {
  const events = new Events(16)
  const listener = TcpListener.bind(ANY_LOCAL)
  using poll = new Poll()
  poll.registry.register(listener, Token(1), Interest.READABLE.add(Interest.WRITABLE))
  listener.close()
  t.notThrows(() => poll.poll(events, 100))
})

test('zero_duration_polls_events', (t) => {
  using poll = new Poll()
  const events = new Events(16)

  // mio uses an unregistered std listener: an unregistered node-mio one is the same.
  using listener = TcpListener.bind(ANY_LOCAL)
  const addr = addrText(listener.localAddr())

  const streams = [0, 1, 2].map((n) => {
    const stream = TcpStream.connect(addr)
    poll.registry.register(stream, Token(n), Interest.WRITABLE)
    return stream
  })
  try {
    // Ensure the TcpStreams have some time to connect and for the events to
    // show up.
    sleep(10)

    // Even when passing a zero duration timeout we still want to do the
    // system call.
    poll.poll(events, 0)
    t.false(events.isEmpty())
  } finally {
    // Both need to live until here.
    for (const stream of streams) stream.close()
  }
})

// Serial: serial tests run before the concurrent ones, so no other test's
// worker threads or sockets open or close descriptors during the count.
test.serial('poll_closes_fd', (t) => {
  const before = openFdCount()
  for (let i = 0; i < 2000; i++) {
    const poll = new Poll()
    const events = new Events(4)

    poll.poll(events, 0)

    poll.close()
  }
  const after = openFdCount()
  if (before === null || after === null) {
    t.pass('no /proc/self/fd on this OS: 2000 Polls without fd exhaustion is the check')
  } else {
    t.true(after <= before, `fd count grew from ${before} to ${after}`)
  }
})

/**
 * A connected TCP pair made with node-mio, as mio's tests make one with std's
 * blocking `connect` and `accept`: waits (on a Poll of its own) for the
 * listener to have the connection, then accepts it.
 */
function connectedPair(t: ExecutionContext): { client: TcpStream; server: TcpStream } {
  using listener = TcpListener.bind(ANY_LOCAL)
  const client = TcpStream.connect(addrText(listener.localAddr()))
  using setup = new Poll()
  const events = new Events(4)
  setup.registry.register(listener, Token(0), Interest.READABLE)
  expectEvents(t, setup, events, [{ token: Token(0), readiness: ['readable'] }])
  const accepted = listener.accept()
  if (accepted === null) {
    client.close()
    throw new Error('accept returned null after a readable event')
  }
  return { client, server: accepted[0] }
}

test('readiness_is_reregistered_after_would_block', (t) => {
  // Solaris event ports disassociate an fd after delivering an event. Ensure
  // readiness is observed again after the source is drained to WouldBlock.
  const pair = connectedPair(t)
  using client = pair.client
  using server = pair.server

  using poll = new Poll()
  const events = new Events(8)

  poll.registry.register(client, ID1, Interest.READABLE)

  expectReadinessAfterWouldBlock(t, poll, events, ID1, { reader: client, writer: server })
})

test('drop_cancels_interest_and_shuts_down', (t) =>
  // mio's std listener thread: accept one connection, then read with a 5 s
  // timeout; it must see the end of the stream (0 bytes), never data.
  readOnceAfterConnect(
    t,
    `
    stream.setTimeout(5000, () => fail(new Error('read timed out')))
    stream.on('data', (d) => fail(new Error('unexpected read of ' + d.length + ' bytes')))
    stream.on('end', () => process.exit(0))
    `,
    { wouldBlock: 'expected WouldBlock (null)', exit: 'the peer did not see the end of the stream' },
  ),
)

// Two threads register through an `Arc<Registry>` (a `try_clone`) while the
// main thread polls; a node-mio Registry cannot be handed to a worker.
test.skip('registry_behind_arc', () => {})

// Three threads run register, deregister, register, reregister through a
// shared Registry; a node-mio Registry cannot be handed to a worker.
test.skip('registry_operations_are_thread_safe', () => {})

// Another thread registers a UDP socket through a `try_clone`d Registry
// 200 ms into a 5 s poll; a node-mio Registry cannot be handed to a worker.
test.skip('register_during_poll', () => {})

// This test checks the following reregister constraints:
// - `reregister` arguments fully override the previous values. In other
//   words, if a socket is registered with `READABLE` interest and the call
//   to `reregister` specifies `WRITABLE`, then read interest is no longer
//   requested for the handle.
// - `reregister` can use the same token as `register`
// - `reregister` can use different token from `register`
// - multiple `reregister` are ok
test('reregister_interest_token_usage', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll

  using udpSocket = UdpSocket.bind(ANY_LOCAL)

  poll.registry.register(udpSocket, ID1, Interest.READABLE)
  poll.registry.reregister(udpSocket, ID1, Interest.READABLE)
  poll.registry.reregister(udpSocket, ID2, Interest.WRITABLE)

  expectEvents(t, poll, events, [{ token: ID2, readiness: ['writable'] }])
})

// This test checks the following register constraint: the event source must
// **not** have been previously registered with this instance of `Poll`.
// mio checks it in debug builds only; node-mio on every OS and build (EEXIST).
test('double_register_different_token', (t) => {
  using poll = new Poll()

  using listener = TcpListener.bind('127.0.0.1:0')

  poll.registry.register(listener, Token(0), Interest.READABLE)

  const error = t.throws(() => poll.registry.register(listener, Token(1), Interest.READABLE), { code: 'EEXIST' })
  t.regex(error?.message ?? '', /already registered/)
})

test('poll_ok_after_cancelling_pending_ops', (t) => {
  // mio connects and registers the stream (ID3) from a spawned thread through
  // an `Arc` of a `try_clone`d Registry. A node-mio Registry cannot be handed
  // to a worker, so the same steps run on this thread, through the same kind
  // of cloned Registry, in mio's order.
  // What the test is about is unchanged: a reregister after a poll (which, on
  // Windows, cancels the pending AFD poll) still delivers the event.
  const { poll, events } = initWithPoll()
  using _poll = poll

  using listener = TcpListener.bind(ANY_LOCAL)
  const address = addrText(listener.localAddr())

  using registry = poll.registry.tryClone()
  const registry1 = registry

  registry.register(listener, ID1, Interest.READABLE)

  // Call a dummy poll just to submit an afd poll request
  poll.poll(events, 0)

  // This reregister will cancel the previous pending poll op.
  // The token is different from the register done above, so it can ensure
  // the proper event got returned expect_events below.
  registry.reregister(listener, ID2, Interest.READABLE)

  // The spawned thread's first step.
  using stream = TcpStream.connect(address)

  // listener ready to accept stream? getting `READABLE` here means the
  // cancelled poll op was cleared, another poll request was submitted
  // which resulted in returning this event
  expectEvents(t, poll, events, [{ token: ID2, readiness: ['readable'] }])

  const accepted = listener.accept()
  t.not(accepted, null, 'accept returned WouldBlock (null)')
  accepted?.[0].close()

  // The spawned thread's second step, after the first barrier.
  registry1.register(stream, ID3, Interest.WRITABLE)

  // for the sake of completeness check stream `WRITABLE`
  expectEvents(t, poll, events, [{ token: ID3, readiness: ['writable'] }])
})

// This test checks the following reregister constraint: the event source must
// have previously been registered with this instance of `Poll`. mio checks it
// in debug builds only; node-mio on every OS and build (ENOENT).
test('reregister_without_register', (t) => {
  using poll = new Poll()

  using listener = TcpListener.bind(ANY_LOCAL)

  const error = t.throws(() => poll.registry.reregister(listener, ID1, Interest.READABLE), { code: 'ENOENT' })
  t.regex(error?.message ?? '', /not registered/)
})

// This test checks the following deregister constraint: the event source must
// have previously been registered with this instance of `Poll`. mio checks it
// in debug builds only; node-mio on every OS and build (ENOENT).
test('deregister_without_register', (t) => {
  using poll = new Poll()

  using listener = TcpListener.bind(ANY_LOCAL)

  const error = t.throws(() => poll.registry.deregister(listener), { code: 'ENOENT' })
  t.regex(error?.message ?? '', /not registered/)
})
