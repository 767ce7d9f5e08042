// The allocation-free UDP path: recvFrom(buf, into) fills a caller's
// RemoteInfo, and sendTo(buf, { address, port }, offset, length) builds no
// text, so an echo loop over known peers allocates nothing per datagram.
import test from 'ava'
import { Events, Interest, Poll, UdpSocket, type RemoteInfo } from 'node-mio'
import { allocationFree, measure, stopObservingCollections } from './support/allocation.ts'
import { underWine } from './support/platform.ts'
import { rxTx, until } from './support/shared-b-udp.ts'

test('recvFrom(buf, into) fills the object it is given, exactly as recvFrom(buf) reports (IPv4 and IPv6)', (t) => {
  for (const [local, host] of <Array<[string, string]>>[
    ['127.0.0.1:0', '127.0.0.1'],
    ['[::1]:0', '::1'],
  ]) {
    using pair = rxTx(local)
    const { poll, events, rx, tx } = pair
    tx.sendTo(Buffer.from('one'), rx.localAddr())
    tx.sendTo(Buffer.from('three'), rx.localAddr())
    const buf = Buffer.alloc(64)
    const plain = until(poll, events, () => rx.recvFrom(buf))
    const into = { address: '', family: 'IPv4', port: 0, size: 0 } as RemoteInfo
    const filled = until(poll, events, () => rx.recvFrom(buf, into))
    t.is(filled, into, 'the same object comes back')
    t.deepEqual(plain, { address: host, family: tx.localAddr().family, port: tx.localAddr().port, size: 3 })
    t.deepEqual({ ...filled }, { ...plain, size: 5 })
    t.is(buf.subarray(0, 5).toString(), 'three')
    t.is(rx.recvFrom(buf, into), null, 'drained')
  }
})

test('an IPv4 sender on a dual-stack socket reads as ::ffff:a.b.c.d, as node:net writes it', (t) => {
  using poll = new Poll()
  const events = new Events(4)
  let rx: UdpSocket
  try {
    rx = UdpSocket.bind('[::]:0', { ipv6Only: false })
  } catch (error) {
    t.pass(`no dual-stack IPv6 here: ${(error as Error).message}`)
    return
  }
  using _rx = rx
  using tx = UdpSocket.bind('127.0.0.1:0')
  poll.registry.register(rx, 1, Interest.READABLE)
  tx.sendTo(Buffer.from('x'), { address: '127.0.0.1', port: rx.localAddr().port })
  const into = {} as RemoteInfo
  until(poll, events, () => rx.recvFrom(Buffer.alloc(8), into))
  t.like(into, { address: '::ffff:127.0.0.1', family: 'IPv6', port: tx.localAddr().port, size: 1 })
})

test('sendTo(buf, target, offset, length) sends that window to a { address, port } target', (t) => {
  using pair = rxTx()
  const { poll, events, rx, tx } = pair
  const data = Buffer.from('0123456789')
  t.is(tx.sendTo(data, rx.localAddr(), 2, 5), 5)
  t.is(tx.sendTo(data, `127.0.0.1:${rx.localAddr().port}`, 7), 3, 'text target, length defaults to the rest')
  const buf = Buffer.alloc(16)
  const first = until(poll, events, () => rx.recvFrom(buf))
  t.is(buf.subarray(0, first.size).toString(), '23456')
  const second = until(poll, events, () => rx.recvFrom(buf))
  t.is(buf.subarray(0, second.size).toString(), '789')
  t.throws(() => tx.sendTo(data, rx.localAddr(), 11), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => tx.sendTo(data, rx.localAddr(), 5, 6), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => tx.sendTo(data, { address: 'localhost', port: 1 }), { instanceOf: TypeError, code: 'ERR_INVALID_ADDRESS' })
  t.throws(() => tx.sendTo(data, { address: '127.0.0.1', port: 70000 }), { instanceOf: RangeError })
})

// 200,000 datagrams natively; Wine runs every socket call through its
// server process, two orders of magnitude slower, so there 20,000 (a
// per-datagram allocation of 16 bytes at least is still far above the
// limit of allocationFree()).
const DATAGRAMS = underWine ? 20_000 : 200_000

test.after.always(stopObservingCollections)

test.serial('an echo loop with recvFrom(buf, into) and sendTo(buf, from, 0, size) runs 200,000 datagrams without a GC', async (t) => {
  using poll = new Poll()
  const events = new Events(64)
  using echo = UdpSocket.bind('127.0.0.1:0')
  using client = UdpSocket.bind('127.0.0.1:0')
  poll.registry.register(echo, 1, Interest.READABLE)
  poll.registry.register(client, 2, Interest.READABLE)
  const msg = Buffer.alloc(64, 7)
  const buf = Buffer.alloc(2048)
  const from = { address: '', family: 'IPv4', port: 0, size: 0 } as RemoteInfo
  const target = echo.localAddr()
  const run = (datagrams: number): void => {
    let done = 0
    client.sendTo(msg, target)
    while (done < datagrams) {
      poll.poll(events, 1000)
      for (const event of events) {
        if (event.token === 1) {
          while (echo.recvFrom(buf, from) !== null) echo.sendTo(buf, from, 0, from.size)
        } else {
          while (client.recvFrom(buf, from) !== null) {
            done++
            client.sendTo(msg, target)
          }
        }
      }
    }
  }
  // The warm-up is 20,000 datagrams everywhere: V8 tiers a loop up after a
  // number of iterations, not of seconds.
  allocationFree(t, await measure(run, DATAGRAMS, 20_000), DATAGRAMS, 'datagrams')
})
