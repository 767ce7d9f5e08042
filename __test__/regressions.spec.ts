// Port of mio's tests/regressions.rs.
//
// - issue_1205: mio wakes the poll from a spawned thread 500 ms into a
//   `poll(None)`: here a worker (`Peer`) wakes it through `waker.share()`.
// - issue_1403 (Unix only, as in mio): mio's `temp_file` is a path in a fresh
//   temporary directory.
import test from 'ava'
import { join } from 'node:path'
import { Interest, TcpListener, TcpStream, Token, UnixDatagram, Waker } from 'node-mio'
import { initWithPoll } from './support/events.ts'
import { readOnceAfterConnect } from './support/shared-a-peers.ts'
import { ANY_LOCAL, addrText, tempDir } from './support/sockets.ts'
import { Peer } from './support/workers.ts'

const ID1 = Token(1)
const WAKE_TOKEN = Token(10)

test('issue_776', (t) =>
  // mio's std listener thread: accept, then a read with a 5 s timeout that
  // must not fail (data or the end of the stream are both fine). Here the
  // read must be WouldBlock (null), not Ok(0).
  readOnceAfterConnect(
    t,
    `
    stream.setTimeout(5000, () => fail(new Error('read timed out')))
    stream.on('data', () => process.exit(0))
    stream.on('end', () => process.exit(0))
    `,
    { exit: 'the peer failed to read' },
  ),
)

test('issue_1205', async (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll

  using waker = new Waker(poll.registry, WAKE_TOKEN)

  using listener = TcpListener.bind(ANY_LOCAL)

  poll.registry.register(listener, ID1, Interest.READABLE)

  poll.poll(events, 0)
  t.is(events.length, 0)

  using _stream = TcpStream.connect(addrText(listener.localAddr()))

  poll.registry.deregister(listener)

  const thread = new Peer(
    `
    const { SharedWaker } = require('node-mio')
    await new Promise((resolve) => setTimeout(resolve, 500))
    if (!SharedWaker.from(data.waker).wake()) throw new Error('unable to wake')
    `,
    { waker: waker.share() },
  )

  try {
    poll.poll(events, null)
  } finally {
    t.is(await thread.exited(), 0)
  }

  // the poll should return only one event that being the waker event.
  // the poll should not retrieve event for the listener above because it was
  // deregistered
  t.is(events.length, 1)
  const wakerEvent = events.get(0)
  t.true(wakerEvent?.isReadable())
  t.is(wakerEvent?.token, WAKE_TOKEN)
})

;(process.platform === 'win32' ? test.skip : test)('issue_1403', (t) => {
  const path = join(tempDir(t), 'issue_1403')
  using datagram1 = UnixDatagram.bind(path)
  using datagram2 = UnixDatagram.unbound()

  const buf = Buffer.alloc(1024, 1)
  const n = datagram2.sendTo(buf, path)
  t.not(n, null, 'sendTo returned WouldBlock (null)')
  if (n === null) return

  const info = datagram1.recvFrom(buf)
  t.not(info, null, 'recvFrom returned WouldBlock (null)')
  if (info === null) return
  t.is(info.size, n)
  // mio: `addr.as_pathname() == None`; the unbound sender is unnamed.
  t.false('path' in info)
  t.deepEqual(info, { unnamed: true, size: n })
})
