// Port of mio's tests/waker.rs.
//
// Not ported:
// - is_send_and_sync: a Rust trait property (Send + Sync) with no JS equivalent.
//
// waker_wakeup_different_thread and waker_multiple_wakeups_different_thread
// wake from other threads through a shared `Arc<Waker>`: here the other
// threads are workers (`Peer`) waking through `waker.share()`
// (`SharedWaker`), and `peer.exited()` is the thread's join.
//
// mio's using_multiple_wakers_panics* are debug-only `should_panic` tests;
// node-mio rejects a second Waker for a Poll on every build with EEXIST, so
// they run unconditionally and assert that error.
import test, { type ExecutionContext } from 'ava'
import { Events, Poll, Token, Waker, type SharedWaker } from 'node-mio'
import { BARRIER_WAIT, Barrier, Peer } from './support/workers.ts'

function expectWakerEvent(t: ExecutionContext, poll: Poll, events: Events, token: Token): void {
  poll.poll(events, 100)
  t.false(events.isEmpty())
  for (const event of events) {
    t.is(event.token, token)
    t.true(event.isReadable())
  }
}

/** mio's setup of the waker tests: a Poll, `Events(10)` and a Waker with token 10; `using` closes the Waker, then the Poll. */
function pollWithWaker(): { poll: Poll; events: Events; token: Token; waker: Waker } & Disposable {
  const poll = new Poll()
  const token = Token(10)
  const waker = new Waker(poll.registry, token)
  return {
    poll,
    events: new Events(10),
    token,
    waker,
    [Symbol.dispose]() {
      waker.close()
      poll.close()
    },
  }
}

/** A thread that wakes `waker` once (after `barrier`, if given) and fails if the wake returns false. */
function wakerThread(waker: SharedWaker, barrier?: Barrier): Peer {
  return new Peer(
    `
    ${BARRIER_WAIT}
    const { SharedWaker } = require('node-mio')
    if (data.barrier) await barrierWait(data.barrier)
    if (!SharedWaker.from(data.waker).wake()) throw new Error('unable to wake')
    `,
    { waker, barrier: barrier?.buffer },
  )
}

test('waker', (t) => {
  using setup = pollWithWaker()
  const { poll, events, token, waker } = setup

  waker.wake()
  expectWakerEvent(t, poll, events, token)
})

test('waker_multiple_wakeups_same_thread', (t) => {
  using setup = pollWithWaker()
  const { poll, events, token, waker } = setup

  for (let i = 0; i < 3; i++) waker.wake()
  expectWakerEvent(t, poll, events, token)
})

test('waker_wakeup_different_thread', async (t) => {
  using setup = pollWithWaker()
  const { poll, events, token, waker } = setup

  const thread = wakerThread(waker.share())
  t.is(await thread.exited(), 0)

  expectWakerEvent(t, poll, events, token)
})

test('waker_multiple_wakeups_different_thread', async (t) => {
  using setup = pollWithWaker()
  const { poll, events, token, waker } = setup
  const shared = waker.share()

  const thread1 = wakerThread(shared)

  const barrier = new Barrier(2)
  const thread2 = wakerThread(shared, barrier)
  try {
    t.is(await thread1.exited(), 0)

    // Receive the event from thread 1.
    expectWakerEvent(t, poll, events, token)

    // Unblock thread 2.
    barrier.wait()

    // Now we need to wait for the event from thread 2.
    t.is(await thread2.exited(), 0)
    expectWakerEvent(t, poll, events, token)
  } finally {
    await thread2.terminate()
  }
})

test('using_multiple_wakers_panics', (t) => {
  using poll = new Poll()
  const token1 = Token(10)
  const token2 = Token(11)

  using _waker1 = new Waker(poll.registry, token1)
  const error = t.throws(() => new Waker(poll.registry, token2), { code: 'EEXIST' })
  t.regex(error?.message ?? '', /already has a Waker/)
})

test('using_multiple_wakers_panics_different_cloned_registries', (t) => {
  using poll = new Poll()
  using registry1 = poll.registry.tryClone()
  using registry2 = poll.registry.tryClone()

  const token1 = Token(10)
  const token2 = Token(11)

  using _waker1 = new Waker(registry1, token1)
  const error = t.throws(() => new Waker(registry2, token2), { code: 'EEXIST' })
  t.regex(error?.message ?? '', /already has a Waker/)
})
