// Port of mio's tests/events.rs.
//
// Not ported (Rust-only properties):
// - assert_event_source_implemented_for: checks that `Box<dyn Source>` and
//   `Box<TcpStream>` implement the `event::Source` trait; a compile-time trait
//   property with no JS equivalent.
// - is_event_send_sync: `Event` and `Events` are Send + Sync.
import test from 'ava'
import { Token, Waker } from 'node-mio'
import { initWithPoll } from './support/events.ts'

const WAKE_TOKEN = Token(10)

test('events_all', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  t.is(events.capacity, 16)
  t.true(events.isEmpty())

  using waker = new Waker(poll.registry, WAKE_TOKEN)

  waker.wake()
  poll.poll(events, 100)

  t.false(events.isEmpty())

  for (const event of events) {
    t.is(event.token, WAKE_TOKEN)
    t.true(event.isReadable())
  }

  events.clear()
  t.true(events.isEmpty())
})
