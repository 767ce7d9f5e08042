// What four programs written from the documentation alone ran into (issue
// 23): sendBatch's answer when a datagram in the middle fails, a slot with no
// target, one wording for a bad port in either address form, port 0 as a
// destination, the descriptor-truncation message, and peer credentials of
// socket pairs and Unix datagram sockets.
import test from 'ava'
import { rmSync } from 'node:fs'
import {
  DatagramBatch,
  Events,
  Interest,
  isSendBatchError,
  Poll,
  TcpListener,
  UdpSocket,
  UnixDatagram,
  UnixStream,
  type SendBatchError,
} from 'node-mio'
import { closeSync, openSync } from './support/raw-fd.ts'

const UNIX = process.platform !== 'win32'
const LINUX = process.platform === 'linux'

/** Receives datagrams into `batch` until `want` arrived, waiting on `poll` between drains. */
function receive(poll: Poll, socket: UdpSocket, batch: DatagramBatch, want: number): string[] {
  const events = new Events(4)
  const got: string[] = []
  for (let rounds = 0; got.length < want; rounds++) {
    if (rounds > 200) throw new Error(`only ${got.length} of ${want} datagrams arrived`)
    const n = socket.recvBatch(batch)
    if (n === null) {
      poll.poll(events, 100)
      continue
    }
    for (let i = 0; i < n; i++) got.push(Buffer.from(batch.data(i)).toString('latin1'))
  }
  return got
}

/** The error `fn` throws, checked to be a SendBatchError. */
function sendBatchFailure(t: import('ava').ExecutionContext, fn: () => unknown): SendBatchError {
  const error = t.throws(fn)
  if (!isSendBatchError(error)) throw new Error(`not a SendBatchError: ${String(error)}`)
  return error
}

/** A Poll with `rx` registered readable as token 1, and `tx` to send to it; `using` closes all three. */
function receiverAndSender(): { poll: Poll; rx: UdpSocket; tx: UdpSocket } & Disposable {
  const poll = new Poll()
  const rx = UdpSocket.bind('127.0.0.1:0')
  const tx = UdpSocket.bind('127.0.0.1:0')
  poll.registry.register(rx, 1, Interest.READABLE)
  return {
    poll,
    rx,
    tx,
    [Symbol.dispose]() {
      tx.close()
      rx.close()
      poll.close()
    },
  }
}

test('sendBatch: a datagram the system refuses mid-batch throws its error with the count sent before it', (t) => {
  using sockets = receiverAndSender()
  const { poll, rx, tx } = sockets
  const batch = new DatagramBatch(4, 65536)
  const to = rx.localAddr()
  batch.write(0, Buffer.from('first'), to)
  batch.write(1, Buffer.alloc(65536, 0x61), to) // over IPv4's 65,507-byte limit: EMSGSIZE
  batch.write(2, Buffer.from('third'), to)
  batch.write(3, Buffer.from('fourth'), to)
  const error = sendBatchFailure(t, () => tx.sendBatch(batch))
  t.is(error.code, 'EMSGSIZE')
  t.is(error.sent, 1, 'the datagram before it was sent')
  t.is(error.index, 1, 'the failing slot')
  t.is(typeof error.errno, 'number')
  // The caller skips the slot and goes on from the next one.
  t.is(tx.sendBatch(batch, error.index + 1), 2)
  t.deepEqual(receive(poll, rx, new DatagramBatch(8, 64), 3), ['first', 'third', 'fourth'])
})

test('sendBatch: the failing slot is counted from `start`, and a failure at `start` reports sent 0', (t) => {
  using rx = UdpSocket.bind('127.0.0.1:0')
  using tx = UdpSocket.bind('127.0.0.1:0')
  const batch = new DatagramBatch(5, 65536)
  for (let i = 0; i < 5; i++) batch.write(i, Buffer.from(`d${i}`), rx.localAddr())
  batch.setSize(3, 65536)
  const later = sendBatchFailure(t, () => tx.sendBatch(batch, 2))
  t.like(later, { code: 'EMSGSIZE', sent: 1, index: 3 })
  const first = sendBatchFailure(t, () => tx.sendBatch(batch, 3))
  t.like(first, { code: 'EMSGSIZE', sent: 0, index: 3 })
})

test('sendBatch: a slot with no target goes to the connected peer, and is EDESTADDRREQ at its index when there is none', (t) => {
  using sockets = receiverAndSender()
  const { poll, rx, tx } = sockets
  const batch = new DatagramBatch(2, 64)
  batch.write(0, Buffer.from('targeted'), rx.localAddr())
  batch.write(1, Buffer.from('untargeted')) // a new batch's slot has no target
  t.is(batch.family(1), undefined)
  const error = sendBatchFailure(t, () => tx.sendBatch(batch))
  t.like(error, { code: 'EDESTADDRREQ', sent: 1, index: 1 })
  tx.connect(rx.localAddr())
  t.is(tx.sendBatch(batch, 1), 1, 'connected: the slot goes to the peer')
  t.deepEqual(receive(poll, rx, new DatagramBatch(4, 64), 2), ['targeted', 'untargeted'])
})

test('a bad port has one wording as text and as an object', (t) => {
  const text = t.throws(() => TcpListener.bind('127.0.0.1:70000'), { instanceOf: RangeError, code: 'ERR_SOCKET_BAD_PORT' })
  const object = t.throws(() => TcpListener.bind({ address: '127.0.0.1', port: 70000 }), { instanceOf: RangeError, code: 'ERR_SOCKET_BAD_PORT' })
  t.regex(text.message, /^Port should be >= 0 and < 65536\. Received 70000 in "127\.0\.0\.1:70000"\.$/)
  t.regex(object.message, /^address\.port should be >= 0 and < 65536\. Received 70000\.$/)
})

test('port 0 is no destination: sendTo, connect and a batch target are ERR_SOCKET_BAD_PORT, as in node:dgram', (t) => {
  using socket = UdpSocket.bind('127.0.0.1:0')
  const payload = Buffer.from('x')
  for (const target of ['127.0.0.1:0', '[::1]:0', { address: '127.0.0.1', port: 0 }]) {
    const error = t.throws(() => socket.sendTo(payload, target), { instanceOf: RangeError, code: 'ERR_SOCKET_BAD_PORT' })
    t.regex(error.message, /should be > 0 and < 65536\. Received 0/)
  }
  t.throws(() => socket.sendTo(payload, { address: '127.0.0.1', port: 0 }, 0, 1), { code: 'ERR_SOCKET_BAD_PORT' })
  t.throws(() => socket.connect('127.0.0.1:0'), { instanceOf: RangeError, code: 'ERR_SOCKET_BAD_PORT' })
  const batch = new DatagramBatch(1, 16)
  t.throws(() => batch.setTarget(0, { address: '127.0.0.1', port: 0 }), { instanceOf: RangeError, code: 'ERR_SOCKET_BAD_PORT' })
  t.throws(() => batch.write(0, payload, '127.0.0.1:0'), { instanceOf: RangeError, code: 'ERR_SOCKET_BAD_PORT' })
  // Binding to port 0 still picks a free port.
  using other = UdpSocket.bind({ address: '127.0.0.1', port: 0 })
  t.true(other.localAddr().port > 0)
})

test('ERR_MIO_FDS_TRUNCATED says "1 byte" for one byte', (t) => {
  if (!UNIX) return t.pass('Unix only')
  const [a, b] = UnixDatagram.pair()
  const fd = openSync('/dev/null', 'r')
  a.sendWithFds(Buffer.from('x'), [fd, fd])
  let error: unknown
  for (let i = 0; i < 100 && error === undefined; i++) {
    try {
      if (b.recvWithFds(Buffer.alloc(4), 1) !== null) break
    } catch (caught) {
      error = caught
    }
  }
  t.like(error, { code: 'ERR_MIO_FDS_TRUNCATED' })
  t.regex((error as Error).message, /; 1 byte was received$/)
  closeSync(fd)
  a.close()
  b.close()
})

test('peerCred on a socket pair reports the process that made the pair, on both ends', (t) => {
  if (!UNIX) return t.pass('Unix only')
  const [a, b] = UnixStream.pair()
  for (const end of [a, b]) {
    const cred = end.peerCred()
    t.is(cred.uid, process.getuid!())
    if (LINUX) t.is(cred.pid, process.pid)
  }
  a.close()
  b.close()
})

test('peerCred on a UnixDatagram: the pair creator where the OS records it, null for a connect()', (t) => {
  if (!UNIX) return t.pass('Unix only')
  const [a, b] = UnixDatagram.pair()
  const cred = a.peerCred()
  if (LINUX) {
    t.deepEqual(cred, { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() })
    t.deepEqual(b.peerCred(), cred)
  } else if (cred !== null) {
    t.is(cred.uid, process.getuid!())
  }
  const path = `/tmp/node-mio-cred-${process.pid}.sock`
  using server = UnixDatagram.bind(path)
  using client = UnixDatagram.unbound()
  client.connect(path)
  t.is(client.peerCred(), null, 'a connect() records no credentials')
  t.is(server.peerCred(), null, 'nor does an unconnected socket')
  a.close()
  t.throws(() => a.peerCred(), { code: 'ERR_SOCKET_CLOSED' })
  b.close()
  rmSync(path, { force: true })
})
