// Descriptor passing (SCM_RIGHTS) over UnixStream and UnixDatagram:
// round trips, close-on-exec, truncated control data, descriptors a plain
// read did not ask for, hostile arguments, and a flat descriptor count.
import test from 'ava'
import { Events, Interest, pipe, Poll, Token, UnixDatagram, UnixStream, type FdsReceived } from 'node-mio'
import * as binding from '../index.js'
import { fdFlags, fdTarget, O_CLOEXEC, openFdCount } from './support/descriptors.ts'
import { expectEvents } from './support/events.ts'
import { handleOf } from './support/internals.ts'
import { underQemu } from './support/platform.ts'
import { closeSync, openSync, writeSync } from './support/raw-fd.ts'

const UNIX = process.platform !== 'win32'
const LINUX = process.platform === 'linux'

/** Retries `step` until it gives a value (the peer is local: at once, or nearly). */
function soon<T>(step: () => T | null): T {
  for (let i = 0; i < 1000; i++) {
    const value = step()
    if (value !== null) return value
  }
  throw new Error('nothing arrived')
}

test('a stream carries bytes with descriptors; the received ones are close-on-exec duplicates', (t) => {
  if (!UNIX) return t.pass('Unix only')
  const [a, b] = UnixStream.pair()
  const [tx, rx] = pipe()
  t.is(a.sendWithFds(Buffer.from('fd!'), [tx, rx.fd]), 3)
  const buf = Buffer.alloc(16)
  const got = soon(() => b.recvWithFds(buf)) as FdsReceived
  t.is(got.size, 3)
  t.is(buf.subarray(0, 3).toString(), 'fd!')
  t.is(got.fds.length, 2)
  t.false(got.fds.includes(tx.fd), 'new numbers')
  if (LINUX) {
    t.is(fdTarget(got.fds[0]!), fdTarget(tx.fd), 'the same pipe')
    for (const fd of got.fds) t.is(fdFlags(fd)! & O_CLOEXEC, O_CLOEXEC)
  }
  // The received write end works: bytes reach the original read end.
  writeSync(got.fds[0]!, 'via dup')
  const out = Buffer.alloc(16)
  t.is(soon(() => rx.read(out)), 7)
  for (const fd of got.fds) closeSync(fd)
  for (const s of [a, b, tx, rx]) s.close()
})

test('a datagram pair carries descriptors too, and a receive without any gives []', (t) => {
  if (!UNIX) return t.pass('Unix only')
  const [a, b] = UnixDatagram.pair()
  const fd = openSync('/dev/null', 'r')
  t.is(a.sendWithFds(Buffer.from('x'), [fd]), 1)
  t.is(a.sendWithFds(Buffer.from('plain'), []), 5)
  const buf = Buffer.alloc(16)
  const first = soon(() => b.recvWithFds(buf, 4))!
  t.is(first.fds.length, 1)
  if (LINUX) t.is(fdTarget(first.fds[0]!), '/dev/null')
  closeSync(first.fds[0]!)
  t.deepEqual(soon(() => b.recvWithFds(buf)), { size: 5, fds: [] })
  t.is(b.recvWithFds(buf), null, 'nothing waiting: null')
  closeSync(fd)
  a.close()
  b.close()
})

test('a receive drained to null re-arms readiness: each later message is a new event (every selector)', (t) => {
  if (!UNIX) return t.pass('Unix only')
  // mio's poll(2) selector reports a source again only after an operation
  // through mio returned would-block: recvWithFds must be one of those.
  const [a, b] = UnixStream.pair()
  using poll = new Poll()
  const events = new Events(4)
  poll.registry.register(b, Token(7), Interest.READABLE)
  const fd = openSync('/dev/null', 'r')
  const buf = Buffer.alloc(8)
  for (let round = 0; round < 3; round++) {
    a.sendWithFds(Buffer.from('m'), [fd])
    expectEvents(t, poll, events, [{ token: Token(7), readiness: ['readable'] }])
    for (let got; (got = b.recvWithFds(buf, 1)) !== null; ) for (const received of got.fds) closeSync(received)
  }
  closeSync(fd)
  a.close()
  b.close()
})

test('more descriptors than the receive asked for is ERR_MIO_FDS_TRUNCATED and leaks none', (t) => {
  if (!UNIX) return t.pass('Unix only')
  const [a, b] = UnixDatagram.pair()
  const fd = openSync('/dev/null', 'r')
  const before = openFdCount()
  a.sendWithFds(Buffer.from('x'), [fd, fd, fd])
  const error = t.throws(() => soon(() => b.recvWithFds(Buffer.alloc(4), 1))) as Error & { code?: string }
  t.is(error.code, 'ERR_MIO_FDS_TRUNCATED')
  // Asking for 2 sizes the control buffer for exactly 2 (1 rounds up to
  // room for 2): the kernel then cuts the third and says so (MSG_CTRUNC).
  // qemu-user receives into a buffer of its own (above), cuts the message
  // to the program's and does not say so: there the receive gets 2.
  a.sendWithFds(Buffer.from('x'), [fd, fd, fd])
  if (underQemu) {
    for (const got of soon(() => b.recvWithFds(Buffer.alloc(4), 2)).fds) closeSync(got)
  } else {
    t.throws(() => soon(() => b.recvWithFds(Buffer.alloc(4), 2)), { code: 'ERR_MIO_FDS_TRUNCATED' }, 'cut by the kernel')
  }
  // Under qemu-user the count is qemu's: it receives into a control buffer
  // twice the program's (linux-user's do_sendrecvmsg_locked), so the kernel
  // installs descriptors that qemu then cuts from the message and never
  // closes. node-mio closes every one it is given.
  if (before !== null && !underQemu) t.is(openFdCount(), before, 'every received descriptor was closed')
  closeSync(fd)
  a.close()
  b.close()
})

test('descriptors sent with bytes that a plain read takes are closed, not leaked', (t) => {
  if (!UNIX) return t.pass('Unix only')
  const [a, b] = UnixStream.pair()
  const fd = openSync('/dev/null', 'r')
  const before = openFdCount()
  for (let i = 0; i < 100; i++) a.sendWithFds(Buffer.from('y'), [fd])
  const buf = Buffer.alloc(256)
  let read = 0
  while (read < 100) read += soon(() => b.read(buf))
  if (before !== null) t.is(openFdCount(), before)
  else t.pass('no /proc/self/fd here')
  closeSync(fd)
  a.close()
  b.close()
})

test('descriptor counts stay flat over 10,000 passes', (t) => {
  if (!UNIX) return t.pass('Unix only')
  const [a, b] = UnixStream.pair()
  const fd = openSync('/dev/null', 'r')
  const buf = Buffer.alloc(8)
  const pass = () => {
    soon(() => a.sendWithFds(Buffer.from('z'), [fd, fd]))
    const got = soon(() => b.recvWithFds(buf, 2))
    for (const received of got.fds) closeSync(received)
  }
  for (let i = 0; i < 100; i++) pass()
  const before = openFdCount()
  for (let i = 0; i < 10_000; i++) pass()
  if (before !== null) t.is(openFdCount(), before)
  else t.pass('no /proc/self/fd here')
  closeSync(fd)
  a.close()
  b.close()
})

test('hostile arguments: too many, negative, closed, wrong types, a too-small output', (t) => {
  if (!UNIX) return t.pass('Unix only')
  const [a, b] = UnixStream.pair()
  const buf = Buffer.from('x')
  t.throws(() => a.sendWithFds(buf, Array.from({ length: 254 }, () => 0)), { instanceOf: RangeError })
  t.throws(() => a.sendWithFds(buf, [-1]), { instanceOf: RangeError })
  t.throws(() => a.sendWithFds(buf, [1.5]), { instanceOf: RangeError })
  t.throws(() => a.sendWithFds(buf, ['3' as never]), { instanceOf: TypeError })
  t.throws(() => a.sendWithFds(buf, [{ fd: 3 } as never]), { instanceOf: TypeError })
  t.throws(() => a.sendWithFds(buf, 3 as never), { instanceOf: TypeError })
  t.throws(() => a.sendWithFds('x' as never, []), { instanceOf: TypeError })
  const [c, d] = UnixStream.pair()
  d.close()
  t.throws(() => a.sendWithFds(buf, [d]), { code: 'ERR_SOCKET_CLOSED' }, 'a closed source')
  const closed = openSync('/dev/null', 'r')
  closeSync(closed)
  t.throws(() => a.sendWithFds(buf, [closed]), { code: 'EBADF' }, 'a closed descriptor')
  t.throws(() => b.recvWithFds(Buffer.alloc(4), 254), { instanceOf: RangeError })
  t.throws(() => b.recvWithFds(Buffer.alloc(0)), { instanceOf: RangeError })
  // The raw binding checks again.
  const pair = binding.unixStreamPair()
  const handle = [pair.first, pair.second]
  t.teardown(() => handle.forEach((h) => binding.sourceClose(h)))
  t.throws(() => binding.unixSendFds(handle[0]!, buf, new Int32Array(2), 3), { instanceOf: RangeError })
  t.throws(() => binding.unixSendFds(handle[0]!, buf, new Int32Array([-5]), 1), { instanceOf: RangeError })
  t.throws(() => binding.unixSendFds(handle[0]!, buf, new Float64Array(1) as never, 1), { instanceOf: TypeError })
  t.throws(() => binding.unixSendFds(handle[0]!, buf, new Int32Array(new SharedArrayBuffer(8)), 1), { instanceOf: TypeError })
  t.throws(() => binding.unixSendFds(handle[0]!, buf, new Int32Array(300), 254), { instanceOf: RangeError })
  t.throws(() => binding.unixRecvFds(handle[1]!, Buffer.alloc(4), new Int32Array(2), 2), { instanceOf: RangeError }, 'out too small')
  t.is(binding.unixRecvFds(handle[1]!, Buffer.alloc(4), new Int32Array(3), 2), null)
  const udp = binding.udpBind('127.0.0.1:0')
  t.teardown(() => binding.sourceClose(udp))
  t.throws(() => binding.unixSendFds(udp, buf, new Int32Array(1), 0), { instanceOf: TypeError }, 'not a Unix socket')
  for (const s of [a, b, c]) s.close()
})

// Descriptors with no payload: a stream sends nothing for 0 bytes (the
// descriptors would be dropped without a word), so that is a RangeError, in
// the wrapper and the raw binding; a datagram socket sends a datagram of 0
// bytes that carries them, and recvWithFds receives it, into any buffer.
test('descriptors with no payload: a RangeError on a stream, an empty datagram on a datagram socket', (t) => {
  if (!UNIX) return t.pass('Unix only')
  const [a, b] = UnixStream.pair()
  const [x, y] = UnixDatagram.pair()
  const carried = UnixDatagram.pair()
  try {
    t.throws(() => a.sendWithFds(Buffer.alloc(0), [carried[0]]), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
    t.throws(() => binding.unixSendFds(handleOf(a), Buffer.alloc(0), new Int32Array([carried[0].fd]), 1), { instanceOf: RangeError })
    t.is(b.recvWithFds(Buffer.alloc(4)), null, 'nothing reached the stream peer')
    t.is(a.sendWithFds(Buffer.alloc(0), []), 0, 'no descriptors and no bytes is a no-op')
    for (const buffer of [Buffer.alloc(16), Buffer.alloc(0)]) {
      t.is(x.sendWithFds(Buffer.alloc(0), [carried[0], carried[1]]), 0)
      const got = y.recvWithFds(buffer)
      t.truthy(got)
      t.is(got!.size, 0)
      t.is(got!.fds.length, 2, `into a buffer of ${buffer.length} bytes`)
      t.deepEqual(got!.fds.map(fdTarget), [carried[0].fd, carried[1].fd].map(fdTarget), 'the descriptors sent')
      for (const fd of got!.fds) closeSync(fd)
    }
    t.throws(() => b.recvWithFds(Buffer.alloc(0)), { instanceOf: RangeError }, 'an empty read buffer on a stream is still refused')
  } finally {
    for (const s of [a, b, x, y, ...carried]) s.close()
  }
})

test('the raw descriptor calls take exactly their limits: 253 descriptors, a full fds array, descriptor 0, out of max + 1', (t) => {
  if (!UNIX) return t.pass('Unix only')
  const stream = binding.unixStreamPair()
  const datagram = binding.unixDatagramPair()
  const [tx, rx] = [stream.first, stream.second]
  const devNull = openSync('/dev/null', 'r')
  t.teardown(() => {
    for (const handle of [tx, rx, datagram.first, datagram.second]) binding.sourceClose(handle)
    closeSync(devNull)
  })
  const buf = Buffer.from('x')
  /** Receives one message with up to `max` descriptors into an `out` of exactly `max + 1`; closes them. */
  const received = (max: number): number => {
    const out = new Int32Array(max + 1)
    t.is(binding.unixRecvFds(rx, Buffer.alloc(4), out, max), 1)
    const count = out[0]!
    for (const fd of out.subarray(1, 1 + count)) closeSync(fd)
    return count
  }
  // Linux's SCM_MAX_FD descriptors, from an array exactly as long as the
  // count (other kernels may take fewer in one message).
  const most = LINUX ? 253 : 4
  t.is(binding.unixSendFds(tx, buf, new Int32Array(most).fill(devNull), most), 1)
  t.is(received(most), most)
  t.throws(() => binding.unixSendFds(tx, buf, new Int32Array(254).fill(devNull), 254), { instanceOf: RangeError })
  t.throws(() => binding.unixRecvFds(rx, Buffer.alloc(4), new Int32Array(255), 254), { instanceOf: RangeError })
  // Descriptor 0 is a descriptor like any other.
  t.is(binding.unixSendFds(tx, buf, Int32Array.of(0), 1), 1)
  t.is(received(1), 1)
  // An out with no room for the count is refused.
  t.throws(() => binding.unixRecvFds(rx, Buffer.alloc(4), new Int32Array(2), 2), { instanceOf: RangeError, message: /out must hold 3 elements \(a count and 2 descriptors\), it holds 2/ })
  // The receive with the sender is a UnixDatagram's only.
  t.throws(() => binding.unixDatagramRecvFromFds(rx, Buffer.alloc(4), new Int32Array(2), 1), { instanceOf: TypeError })
  t.is(binding.unixDatagramRecvFromFds(datagram.first, Buffer.alloc(4), new Int32Array(2), 1), null)
  // The hot-path receive takes an out of exactly 256 and an addr of exactly 108 bytes.
  const recvMsg = binding.fastCalls().unixDatagramRecvMsg!
  t.is(recvMsg(datagram.first, Buffer.alloc(4), new Int32Array(256), Buffer.alloc(108)), null)
  t.throws(() => recvMsg(datagram.first, Buffer.alloc(4), new Int32Array(255), Buffer.alloc(108)), { instanceOf: RangeError, message: 'out must hold 256 elements, it holds 255' })
  t.throws(() => recvMsg(datagram.first, Buffer.alloc(4), new Int32Array(256), Buffer.alloc(107)), { instanceOf: RangeError, message: 'addr must hold 108 bytes, it holds 107' })
})
