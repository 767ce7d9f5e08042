// Port of mio's tests/events.rs.
//
// Not ported (Rust-only properties):
// - assert_event_source_implemented_for: checks that `Box<dyn Source>` and
//   `Box<TcpStream>` implement the `event::Source` trait; a compile-time trait
//   property with no JS equivalent.
// - is_event_send_sync: `Event` and `Events` are Send + Sync.
import test from 'ava'
import { inspect } from 'node:util'
import { Token, Waker } from 'node-mio'
import * as raw from '../index.js'
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

test('every event of a batch is decoded, not only the first: tokens and flags by index and by iteration', async (t) => {
  const { UdpSocket, Interest } = await import('node-mio')
  const { poll, events } = initWithPoll()
  const sockets = Array.from({ length: 6 }, () => UdpSocket.bind('127.0.0.1:0'))
  const sender = UdpSocket.bind('127.0.0.1:0')
  try {
    // Tokens far apart, so a decoder that reused the first event's slot shows.
    const tokens = sockets.map((_, i) => Token(1000 * (i + 1) + i))
    sockets.forEach((socket, i) => poll.registry.register(socket, tokens[i]!, i % 2 === 0 ? Interest.READABLE : Interest.READABLE.add(Interest.WRITABLE)))
    for (const socket of sockets) sender.sendTo(Buffer.from('x'), socket.localAddr())
    const seen = new Map<number, { readable: boolean; writable: boolean }>()
    for (let round = 0; round < 20 && seen.size < sockets.length; round++) {
      poll.poll(events, 100)
      for (let i = 0; i < events.length; i++) {
        const byIndex = events.get(i)!
        seen.set(byIndex.token, { readable: byIndex.isReadable(), writable: byIndex.isWritable() })
      }
      const iterated = [...events].map((event) => event.toJSON())
      t.deepEqual(
        iterated.map((event) => event.token),
        Array.from({ length: events.length }, (_, i) => events.get(i)!.token),
      )
    }
    t.deepEqual([...seen.keys()].sort((x, y) => x - y), [...tokens].sort((x, y) => x - y))
    tokens.forEach((token, i) => {
      t.true(seen.get(token)?.readable, `socket ${i} readable`)
      t.is(seen.get(token)?.writable, i % 2 === 1, `socket ${i} writable only where asked`)
    })
  } finally {
    for (const socket of sockets) socket.close()
    sender.close()
    poll.close()
  }
})

test('the raw eventsRelease says whether it released: true once, then false', (t) => {
  const handle = raw.eventsRegister(new Float64Array(raw.EVENT_STRIDE * 2))
  t.true(raw.eventsRelease(handle))
  t.false(raw.eventsRelease(handle), 'already released')
  t.false(raw.eventsRelease(0), 'the closed handle')
})

test('an Event prints its token and the readiness it has, and a plain copy holds every flag', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  using waker = new Waker(poll.registry, WAKE_TOKEN)
  waker.wake()
  t.is(poll.poll(events, 1000), 1)
  const event = events.get(0)!
  t.is(inspect(event), 'Event { token: 10, readable }')
  t.deepEqual(event.toJSON(), {
    token: 10,
    readable: true,
    writable: false,
    error: false,
    readClosed: false,
    writeClosed: false,
    priority: false,
    aio: false,
    lio: false,
  })
})

test('a nested pass over the same Events gets its own iterator; the outer one keeps its place', async (t) => {
  const { Interest, UdpSocket } = await import('node-mio')
  const { poll, events } = initWithPoll()
  using _poll = poll
  const sockets = Array.from({ length: 3 }, () => UdpSocket.bind('127.0.0.1:0'))
  t.teardown(() => sockets.forEach((socket) => socket.close()))
  sockets.forEach((socket, i) => poll.registry.register(socket, Token(i), Interest.WRITABLE))
  t.is(poll.poll(events, 1000), 3, 'three writable sockets')
  const pairs: string[] = []
  for (const outer of events) {
    for (const inner of events) pairs.push(`${outer.token}:${inner.token}`)
  }
  t.deepEqual(pairs.sort(), ['0:0', '0:1', '0:2', '1:0', '1:1', '1:2', '2:0', '2:1', '2:2'])
})
