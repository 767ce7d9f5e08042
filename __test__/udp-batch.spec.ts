// Batched datagrams: UdpSocket.recvBatch/sendBatch over a DatagramBatch
// (recvmmsg/sendmmsg on Linux and FreeBSD, a loop elsewhere), UDP GSO/GRO
// options on Linux, hostile arguments, and zero allocation.
import test from 'ava'
import { DatagramBatch, Events, Interest, Poll, UdpSocket, isSystemError, type RemoteInfo } from 'node-mio'
import * as binding from '../index.js'
import { allocationFree, measure, stopObservingCollections } from './support/allocation.ts'
import { rxTx, until } from './support/shared-b-udp.ts'

const LINUX = process.platform === 'linux'

test.after.always(stopObservingCollections)

/** Receives until `want` datagrams are in `batch` (they may come in several calls). */
function receiveAll(poll: Poll, events: Events, socket: UdpSocket, batch: DatagramBatch, want: number): Buffer[] {
  const got: Buffer[] = []
  while (got.length < want) {
    const n = until(poll, events, () => socket.recvBatch(batch))
    for (let i = 0; i < n; i++) got.push(Buffer.from(batch.data(i)))
  }
  return got
}

test('sendBatch and recvBatch carry many datagrams with their senders (IPv4 and IPv6)', (t) => {
  for (const local of ['127.0.0.1:0', '[::1]:0']) {
    using pair = rxTx(local)
    const { poll, events, rx, tx } = pair
    const out = new DatagramBatch(100, 64)
    for (let i = 0; i < 100; i++) out.write(i, Buffer.from(`datagram ${i}`), rx.localAddr())
    out.length = 100
    t.is(tx.sendBatch(out), 100, 'more than one native batch of 64')
    const inbox = new DatagramBatch(128, 64)
    const got = receiveAll(poll, events, rx, inbox, 100)
    t.deepEqual(
      got.map((b) => b.toString()),
      Array.from({ length: 100 }, (_, i) => `datagram ${i}`),
    )
    const from = tx.localAddr()
    t.is(inbox.address(0), from.address)
    t.is(inbox.port(0), from.port)
    t.is(inbox.family(0), from.family)
    t.false(inbox.truncated(0))
    t.is(inbox.segmentSize(0), 0)
    const info = {} as RemoteInfo
    t.is(inbox.remoteInfo(0, info), info)
    t.deepEqual({ ...info }, { address: from.address, family: from.family, port: from.port, size: inbox.size(0) })
    t.is(rx.recvBatch(inbox), null, 'drained: null, not an exception')
    t.is(inbox.length, 0)
  }
})

test('an echo sends a received batch straight back to every sender', (t) => {
  using poll = new Poll()
  const events = new Events(8)
  using server = UdpSocket.bind('127.0.0.1:0')
  const clients = Array.from({ length: 5 }, () => UdpSocket.bind('127.0.0.1:0'))
  poll.registry.register(server, 1, Interest.READABLE)
  clients.forEach((client, i) => {
    poll.registry.register(client, 10 + i, Interest.READABLE)
    client.sendTo(Buffer.from(`hello from ${i}`), server.localAddr())
  })
  const batch = new DatagramBatch(16)
  let echoed = 0
  while (echoed < 5) {
    const n = until(poll, events, () => server.recvBatch(batch))
    t.is(server.sendBatch(batch), n)
    echoed += n
  }
  const buf = Buffer.alloc(64)
  clients.forEach((client, i) => {
    const info = until(poll, events, () => client.recvFrom(buf))
    t.is(buf.subarray(0, info.size).toString(), `hello from ${i}`)
    t.is(info.port, server.localAddr().port)
    client.close()
  })
})

test('a datagram longer than its slot is truncated and flagged', (t) => {
  using pair = rxTx()
  const { poll, events, rx, tx } = pair
  tx.sendTo(Buffer.from('0123456789'), rx.localAddr())
  tx.sendTo(Buffer.from('abc'), rx.localAddr())
  const batch = new DatagramBatch(4, 4)
  const got = receiveAll(poll, events, rx, batch, 2)
  if (process.platform === 'win32') {
    t.pass('Windows reports truncation as WSAEMSGSIZE, as recvFrom does')
    return
  }
  t.deepEqual(
    got.map((b) => b.toString()),
    ['0123', 'abc'],
  )
})

test('the truncation flag is set on the datagram that lost bytes only', (t) => {
  if (process.platform === 'win32') return t.pass('Windows reports truncation as an error')
  using pair = rxTx()
  const { poll, events, rx, tx } = pair
  tx.sendTo(Buffer.from('0123456789'), rx.localAddr())
  tx.sendTo(Buffer.from('abc'), rx.localAddr())
  const batch = new DatagramBatch(1, 4)
  until(poll, events, () => rx.recvBatch(batch))
  t.true(batch.truncated(0))
  t.is(batch.size(0), 4)
  until(poll, events, () => rx.recvBatch(batch))
  t.false(batch.truncated(0))
  t.is(batch.size(0), 3)
})

test('setTarget(i, null) sends to the connected peer; copyTarget reuses a peer', (t) => {
  using pair = rxTx()
  const { poll, events, rx, tx } = pair
  tx.connect(rx.localAddr())
  const out = new DatagramBatch(3, 16)
  out.write(0, Buffer.from('connected'), null)
  out.write(1, Buffer.from('copied'))
  out.setTarget(2, { address: '127.0.0.1', port: rx.localAddr().port })
  out.copyTarget(1, 2)
  out.write(2, Buffer.from('explicit'))
  t.is(out.family(0), undefined)
  t.is(out.address(0), '')
  t.is(tx.sendBatch(out, 0, 3), 3)
  const inbox = new DatagramBatch(8, 16)
  t.deepEqual(
    receiveAll(poll, events, rx, inbox, 3).map((b) => b.toString()),
    ['connected', 'copied', 'explicit'],
  )
  t.is(tx.sendBatch(out, 1, 0), 0, 'an empty send is 0, not null')
})

test('sendBatch without a target on an unconnected socket is a system error', (t) => {
  using tx = UdpSocket.bind('127.0.0.1:0')
  const out = new DatagramBatch(1, 8)
  out.write(0, Buffer.from('x'), null)
  const error = t.throws(() => tx.sendBatch(out, 0, 1)) as Error & { code?: string }
  t.true(['EDESTADDRREQ', 'ENOTCONN', 'WSAENOTCONN', 'EINVAL'].includes(error.code ?? ''), `code ${error.code}`)
})

test('hostile arguments: wrong types, bad records, out-of-range windows', (t) => {
  using socket = UdpSocket.bind('127.0.0.1:0')
  const batch = new DatagramBatch(4, 16)
  for (const bad of [null, {}, { buffer: Buffer.alloc(8) }, new Proxy(batch, {}), Buffer.alloc(8)]) {
    t.throws(() => socket.recvBatch(bad as never), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
    t.throws(() => socket.sendBatch(bad as never), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  }
  t.throws(() => new DatagramBatch(0), { instanceOf: RangeError })
  t.throws(() => new DatagramBatch(1.5), { instanceOf: RangeError })
  t.throws(() => new DatagramBatch(65536, 65536), { instanceOf: RangeError })
  // 2 GiB exactly is one byte past the limit (no product of two sizes is 2 GiB - 1, a prime).
  t.throws(() => new DatagramBatch(32768, 65536), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE', message: /at most 2 GiB - 1/ })
  t.throws(() => new DatagramBatch('4' as never), { instanceOf: TypeError })
  t.throws(() => batch.size(4), { instanceOf: RangeError })
  t.throws(() => batch.size(-1), { instanceOf: RangeError })
  t.throws(() => batch.setSize(0, 17), { instanceOf: RangeError })
  t.throws(() => batch.write(0, Buffer.alloc(17)), { instanceOf: RangeError })
  t.throws(() => batch.setTarget(0, 'localhost:1'), { code: 'ERR_INVALID_ADDRESS' })
  t.throws(() => socket.sendBatch(batch, 0, 5), { instanceOf: RangeError })
  t.throws(() => socket.sendBatch(batch, 5), { instanceOf: RangeError })

  // The raw binding, reachable by any code, checks everything again.
  const handle = binding.udpBind('127.0.0.1:0')
  t.teardown(() => binding.sourceClose(handle))
  const buf = Buffer.alloc(64)
  const meta = new Float64Array(12 * 4)
  const call = (b: unknown, m: unknown, start = 0, count = 1) => () => binding.udpRecvBatch(handle, b as Uint8Array, m as Float64Array, start, count)
  const send = (b: unknown, m: unknown, start = 0, count = 1) => () => binding.udpSendBatch(handle, b as Uint8Array, m as Float64Array, start, count)
  meta[1] = 64
  t.throws(call(buf, new Float32Array(48)), { instanceOf: TypeError })
  t.throws(call(new Float64Array(8), meta), { instanceOf: TypeError })
  t.throws(call(buf, new Proxy(meta, {})), { instanceOf: TypeError })
  t.throws(call(buf, new Float64Array(new SharedArrayBuffer(8 * 48))), { instanceOf: TypeError })
  t.throws(call(buf, meta, 3, 2), { instanceOf: RangeError }, 'records past the end')
  meta[1] = 65
  t.throws(call(buf, meta), { instanceOf: RangeError }, 'a window past the buffer')
  meta[0] = 1.5
  meta[1] = 8
  t.throws(call(buf, meta), { instanceOf: RangeError }, 'a fractional offset')
  meta[0] = Number.NaN
  t.throws(call(buf, meta), { instanceOf: RangeError })
  meta[0] = 0
  meta[1] = 0
  t.throws(call(buf, meta), { instanceOf: RangeError }, 'an empty slot')
  meta[1] = 8
  const detached = new ArrayBuffer(64)
  const view = new Uint8Array(detached)
  structuredClone(detached, { transfer: [detached] })
  t.throws(call(view, meta), { instanceOf: RangeError }, 'a detached buffer has no room')
  t.is(binding.udpRecvBatch(handle, buf, meta, 0, 1), null, 'valid records: would block is null')
  meta[2] = 4
  meta[3] = 5
  t.throws(send(buf, meta), { instanceOf: RangeError }, 'family 5')
  meta[3] = 4
  meta[4] = 70000
  t.throws(send(buf, meta), { instanceOf: RangeError }, 'port 70000')
  meta[4] = 9
  meta[5] = 2 ** 32
  t.throws(send(buf, meta), { instanceOf: RangeError }, 'an address word past 32 bits')
  meta[5] = 0x7f000001
  meta[2] = 65
  t.throws(send(buf, meta), { instanceOf: RangeError }, 'a size past the buffer')
})

test('the hot-path calls check their ArrayBuffer, numbers and windows as the binding functions do', (t) => {
  const fast = binding.fastCalls()
  const handle = binding.udpBind('127.0.0.1:0')
  t.teardown(() => binding.sourceClose(handle))
  const buf = Buffer.alloc(64)
  const records = new ArrayBuffer(8 * 12 * 4)
  const meta = new Float64Array(records)
  meta[1] = 64
  const recv = (b: unknown, m: unknown, start: unknown = 0, count: unknown = 1) => () =>
    fast.udpRecvBatch(handle, b as Uint8Array, m as ArrayBuffer, start as number, count as number)
  t.throws(recv(buf, meta), { instanceOf: TypeError }, 'the records as a Float64Array, not its ArrayBuffer')
  t.throws(recv(buf, new SharedArrayBuffer(8 * 48)), { instanceOf: TypeError })
  t.throws(recv(buf, new Proxy(records, {})), { instanceOf: TypeError })
  t.throws(recv(new Float64Array(8), records), { instanceOf: TypeError })
  t.throws(recv(buf, records, 3, 2), { instanceOf: RangeError }, 'records past the end')
  t.throws(recv(buf, records, -1, 1), { instanceOf: RangeError })
  t.throws(recv(buf, records, 0, 1.5), { instanceOf: RangeError })
  t.throws(recv(buf, records, '0', 1), { instanceOf: TypeError })
  const gone = new ArrayBuffer(8 * 12)
  structuredClone(gone, { transfer: [gone] })
  t.throws(recv(buf, gone), { instanceOf: RangeError }, 'a detached ArrayBuffer holds no record')
  t.is(fast.udpRecvBatch(handle, buf, records, 0, 1), null, 'valid records: would block is null')
  meta[2] = 4
  meta[3] = 5
  t.throws(() => fast.udpSendBatch(handle, buf, records, 0, 1), { instanceOf: RangeError }, 'family 5')

  const parts = new ArrayBuffer(56)
  const recvFrom = (b: unknown, p: unknown) => () => fast.udpRecvFrom(handle, b as Uint8Array, p as ArrayBuffer)
  t.throws(recvFrom(buf, new ArrayBuffer(48)), { instanceOf: TypeError }, 'room for fewer than 7 numbers')
  t.throws(recvFrom(buf, new Float64Array(parts)), { instanceOf: TypeError })
  t.throws(recvFrom(buf, new SharedArrayBuffer(56)), { instanceOf: TypeError })
  t.throws(recvFrom('x', parts), { instanceOf: TypeError })
  t.throws(() => fast.udpRecvFrom(0, buf, parts), { code: 'ERR_SOCKET_CLOSED' })
  t.is(fast.udpRecvFrom(handle, buf, parts), null)

  const v4 = (ip: unknown, port: unknown, offset: unknown = 0, length: unknown = 8) => () =>
    fast.udpSendToV4(handle, buf, ip as number, port as number, offset as number, length as number)
  t.throws(v4(2 ** 32, 9), { instanceOf: RangeError })
  t.throws(v4(-1, 9), { instanceOf: RangeError })
  t.throws(v4(0x7f000001, 65536), { code: 'ERR_SOCKET_BAD_PORT' })
  t.throws(v4(0x7f000001, 9.5), { code: 'ERR_SOCKET_BAD_PORT' })
  t.throws(v4(0x7f000001, 0), { code: 'ERR_SOCKET_BAD_PORT' }, 'port 0 names no peer')
  t.throws(() => fast.udpSendTo(handle, buf, '127.0.0.1', 0, 0, 8), { code: 'ERR_SOCKET_BAD_PORT' })
  t.throws(v4('127.0.0.1', 9), { instanceOf: TypeError })
  t.throws(v4(0x7f000001, 9, 60, 8), { instanceOf: RangeError }, 'a window past the buffer')
  const text = (address: unknown) => () => fast.udpSendTo(handle, buf, address as string, 9, 0, 8)
  t.throws(text('localhost'), { code: 'ERR_INVALID_ADDRESS' })
  t.throws(text('1'.repeat(200)), { code: 'ERR_INVALID_ADDRESS' }, 'longer than any address text')
  // The text is read into 64 bytes on the stack: 62 characters fit; 63 are
  // refused whole, never cut to what fits.
  using v6 = UdpSocket.bind('[::1]:0')
  t.is(v6.sendTo(Buffer.from('x'), { address: `::1%${'0'.repeat(58)}`, port: 9 }, 0, 1), 1)
  t.throws(() => v6.sendTo(Buffer.from('x'), { address: `::1%${'0'.repeat(59)}`, port: 9 }, 0, 1), { code: 'ERR_INVALID_ADDRESS' })
  t.throws(text({ toString: () => '127.0.0.1' }), { instanceOf: TypeError }, 'no conversion runs')
})

test('recvBatch takes everything waiting up to its capacity, whatever the last receive found', (t) => {
  using pair = rxTx()
  const { poll, events, rx, tx } = pair
  const batch = new DatagramBatch(200, 64)
  const out = new DatagramBatch(150, 64)
  // One datagram: the next receive asks the kernel for few.
  out.write(0, Buffer.from('one'), rx.localAddr())
  t.is(tx.sendBatch(out, 0, 1), 1)
  t.is(until(poll, events, () => rx.recvBatch(batch)), 1)
  // Then 150 at once: one recvBatch still returns all of them, in order.
  for (let i = 0; i < 150; i++) out.write(i, Buffer.from(`datagram ${i}`), rx.localAddr())
  t.is(tx.sendBatch(out), 150)
  const first = until(poll, events, () => rx.recvBatch(batch))
  const got = [...Array(first).keys()].map((i) => Buffer.from(batch.data(i)).toString())
  while (got.length < 150) {
    const n = until(poll, events, () => rx.recvBatch(batch))
    for (let i = 0; i < n; i++) got.push(Buffer.from(batch.data(i)).toString())
  }
  t.deepEqual(got, [...Array(150).keys()].map((i) => `datagram ${i}`))
  // Linux queues loopback datagrams before sendmmsg returns, so all 150 wait.
  if (LINUX) t.is(first, 150, 'all 150 in the first call: the receive grows its ask while every datagram asked for arrives')
})

test('UDP GSO and GRO are Linux socket options; elsewhere a platform error', (t) => {
  using socket = UdpSocket.bind('127.0.0.1:0')
  if (!LINUX) {
    t.throws(() => socket.setGro(true), { code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' })
    t.throws(() => socket.setSegmentSize(1200), { code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' })
    const out = new DatagramBatch(1, 16)
    out.write(0, Buffer.alloc(16), socket.localAddr())
    out.setSegmentSize(0, 8)
    t.throws(() => socket.sendBatch(out), { code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' })
    return
  }
  t.false(socket.gro())
  socket.setGro(true)
  t.true(socket.gro())
  t.is(socket.segmentSize(), 0)
  socket.setSegmentSize(1200)
  t.is(socket.segmentSize(), 1200)
  socket.setSegmentSize(65535)
  t.is(socket.segmentSize(), 65535, 'the largest size the option takes')
  socket.setSegmentSize(0)
  t.throws(() => socket.setSegmentSize(65536), { instanceOf: RangeError })
  t.throws(() => socket.setSegmentSize(70000), { instanceOf: RangeError })
  t.throws(() => socket.setGro('yes' as never), { instanceOf: TypeError })
})

test('Linux: a GSO send splits one buffer into segments, which GRO may coalesce again', (t) => {
  if (!LINUX) return t.pass('Linux only')
  using pair = rxTx()
  const { poll, events, rx, tx } = pair
  const out = new DatagramBatch(1, 4000)
  const payload = Buffer.alloc(3000)
  for (let i = 0; i < payload.length; i++) payload[i] = i % 251
  out.write(0, payload, rx.localAddr())
  out.setSegmentSize(0, 1000)
  try {
    t.is(tx.sendBatch(out), 1)
  } catch (error) {
    // Only the kernel may refuse (one without UDP GSO, or qemu-user without
    // its control message); node-mio takes the segment size on Linux.
    t.true(isSystemError(error) && ['EINVAL', 'EIO', 'ENOPROTOOPT', 'EOPNOTSUPP'].includes(error.code), `no UDP GSO in this kernel: ${String(error)}`)
    return
  }
  // Without GRO: three datagrams of 1000 bytes.
  const plain = receiveAll(poll, events, rx, new DatagramBatch(8, 2000), 3)
  t.deepEqual(
    plain.map((b) => b.length),
    [1000, 1000, 1000],
  )
  t.deepEqual(Buffer.concat(plain), payload)
  // With GRO, the kernel may hand them over coalesced, with the segment size.
  rx.setGro(true)
  t.is(tx.sendBatch(out), 1)
  const inbox = new DatagramBatch(8, 65536)
  let bytes = 0
  const chunks: Buffer[] = []
  while (bytes < 3000) {
    const n = until(poll, events, () => rx.recvBatch(inbox))
    for (let i = 0; i < n; i++) {
      bytes += inbox.size(i)
      chunks.push(Buffer.from(inbox.data(i)))
      const segment = inbox.segmentSize(i)
      t.true(segment === 0 || segment === 1000, `segment size ${segment}`)
    }
  }
  t.deepEqual(Buffer.concat(chunks), payload)
})

test.serial('a batched echo of 200,000 datagrams allocates nothing', async (t) => {
  using poll = new Poll()
  const events = new Events(64)
  using echo = UdpSocket.bind('127.0.0.1:0')
  const clients = Array.from({ length: 8 }, () => UdpSocket.bind('127.0.0.1:0'))
  poll.registry.register(echo, 100, Interest.READABLE)
  clients.forEach((client, i) => poll.registry.register(client, i, Interest.READABLE))
  const batch = new DatagramBatch(64, 256)
  const buf = Buffer.alloc(256)
  const msg = Buffer.alloc(64, 7)
  const target = echo.localAddr()
  const from = { address: '', family: 'IPv4', port: 0, size: 0 } as RemoteInfo
  const run = (datagrams: number): void => {
    let done = 0
    for (const client of clients) client.sendTo(msg, target)
    while (done < datagrams) {
      poll.poll(events, 1000)
      for (const event of events) {
        if (event.token === 100) {
          while (echo.recvBatch(batch) !== null) echo.sendBatch(batch)
        } else {
          const client = clients[event.token]!
          while (client.recvFrom(buf, from) !== null) {
            done++
            client.sendTo(msg, target)
          }
        }
      }
    }
  }
  try {
    allocationFree(t, await measure(run, 200_000, 20_000), 200_000, 'datagrams')
  } finally {
    for (const client of clients) client.close()
  }
})
