// What a new user relies on without reading the source: pollAsync's answers
// (a timeout, a close, a second call), one rule for a bad port, one message
// for an empty read buffer, errors a `catch` can narrow, and why a regular
// file cannot be watched.
import test from 'ava'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  Events,
  hasErrorCode,
  Interest,
  isSystemError,
  Poll,
  SharedWaker,
  SourceFd,
  TcpListener,
  TcpStream,
  Token,
  UdpSocket,
  Waker,
  type SharedWakerMessage,
} from 'node-mio'
import { closeSync, openSync } from './support/raw-fd.ts'

const linux = process.platform === 'linux' ? test : test.skip

test('pollAsync: resolves 0 only on a timeout; closing the Poll rejects it with ERR_MIO_CLOSED', async (t) => {
  const poll = new Poll()
  const events = new Events(8)
  t.is(await poll.pollAsync(events, 5), 0, 'a timeout')
  const pending = poll.pollAsync(events)
  poll.close()
  const error = await t.throwsAsync(pending, { code: 'ERR_MIO_CLOSED' })
  t.regex(error?.message ?? '', /closed while pollAsync was pending/)
})

test('pollAsync: with no timeout it waits for an event', async (t) => {
  const poll = new Poll()
  const events = new Events(8)
  const waker = new Waker(poll.registry, Token(3))
  const pending = poll.pollAsync(events)
  let settled = false
  void pending.then(() => (settled = true))
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.false(settled, 'still waiting: the default timeout is forever')
  waker.wake()
  t.is(await pending, 1)
  t.is(events.get(0)?.token, 3)
  waker.close()
  poll.close()
})

test('pollAsync: a second pending call is EEXIST and says a pollAsync is pending; on a watched Poll it says so', async (t) => {
  const poll = new Poll()
  const waker = new Waker(poll.registry, Token(1))
  const first = poll.pollAsync(new Events(8))
  const second = await t.throwsAsync(poll.pollAsync(new Events(8)), { code: 'EEXIST' })
  t.regex(second?.message ?? '', /a pollAsync is already pending/)
  t.is((second as { syscall?: string } | undefined)?.syscall, 'watch')
  waker.wake()
  t.is(await first, 1)

  const watch = poll.watch(new Events(8), () => {})
  const watched = await t.throwsAsync(poll.pollAsync(new Events(8), 10), { code: 'EEXIST' })
  t.regex(watched?.message ?? '', /this Poll is watched/)
  watch.stop()
  t.is(await poll.pollAsync(new Events(8), 0), 0, 'free again once the watch stopped')
  waker.close()
  poll.close()
})

test('batches(): the iteration ends when the Poll closes', async (t) => {
  const poll = new Poll()
  const waker = new Waker(poll.registry, Token(1))
  let batches = 0
  setImmediate(() => waker.wake())
  for await (const batch of poll.batches(new Events(8))) {
    batches++
    t.is(batch.get(0)?.token, 1)
    setImmediate(() => poll.close())
  }
  t.is(batches, 1)
  waker.close()
})

test('a port out of range is RangeError ERR_SOCKET_BAD_PORT as text and as an object', (t) => {
  for (const bad of ['127.0.0.1:70000', '[::1]:65536', '0.0.0.0:99999999999999999999']) {
    t.throws(() => TcpListener.bind(bad), { instanceOf: RangeError, code: 'ERR_SOCKET_BAD_PORT' }, bad)
  }
  t.throws(() => TcpListener.bind({ address: '127.0.0.1', port: 70000 }), { instanceOf: RangeError, code: 'ERR_SOCKET_BAD_PORT' })
  const socket = UdpSocket.bind('127.0.0.1:0')
  t.throws(() => socket.sendTo(Buffer.from('x'), '127.0.0.1:70000'), { instanceOf: RangeError, code: 'ERR_SOCKET_BAD_PORT' })
  socket.close()
  // Text that is not an address stays an address error.
  for (const bad of ['localhost:80', '::1:80', '127.0.0.1:-1', '127.0.0.1:']) {
    t.throws(() => TcpListener.bind(bad), { instanceOf: TypeError, code: 'ERR_INVALID_ADDRESS' }, bad)
  }
})

test('an empty read buffer gets one message, whether empty or an empty window', (t) => {
  const listener = TcpListener.bind('127.0.0.1:0')
  const stream = TcpStream.connect(listener.localAddr())
  const whole = t.throws(() => stream.read(Buffer.alloc(0)), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
  const window = t.throws(() => stream.read(Buffer.alloc(8), 0, 0), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
  t.is(window?.message, whole?.message)
  t.regex(whole?.message ?? '', /must not be empty: a read into 0 bytes cannot be told apart from the end of the stream/)
  stream.close()
  listener.close()
})

test('isSystemError and hasErrorCode narrow what node-mio throws', (t) => {
  const listener = TcpListener.bind('127.0.0.1:0')
  let caught: unknown
  try {
    TcpListener.bind(listener.localAddr())
  } catch (error) {
    caught = error
  }
  t.true(isSystemError(caught))
  t.true(isSystemError(caught, 'EADDRINUSE'))
  t.false(isSystemError(caught, 'ECONNREFUSED'))
  if (isSystemError(caught)) {
    t.is(caught.syscall, 'bind')
    t.is(typeof caught.errno, 'number')
    t.is(caught.port, listener.localAddr().port)
  }
  listener.close()
  try {
    listener.localAddr()
  } catch (error) {
    caught = error
  }
  t.true(hasErrorCode(caught, 'ERR_SOCKET_CLOSED'))
  t.false(isSystemError(caught), 'a usage error is not a system error')
  t.false(hasErrorCode({ code: 'EPERM' }), 'an object that is not an Error')
  t.false(isSystemError(new Error('plain')))
})

test('a SharedWaker crosses postMessage as a SharedWakerMessage, which SharedWaker.from rebuilds', async (t) => {
  const poll = new Poll()
  const waker = new Waker(poll.registry, Token(4))
  const { port1, port2 } = new MessageChannel()
  port1.postMessage(waker.share())
  const message = await new Promise<SharedWakerMessage>((resolve) => port2.once('message', resolve))
  t.false('wake' in message, 'what arrives has no methods')
  t.true(SharedWaker.from(message).wake())
  const events = new Events(4)
  t.is(poll.poll(events, 1000), 1)
  t.is(events.get(0)?.token, 4)
  port1.close()
  waker.close()
  poll.close()
})

linux('SourceFd: registering a regular file is EPERM and the message says why', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'node-mio-file-'))
  const file = join(dir, 'data')
  writeFileSync(file, 'x')
  const fd = openSync(file, 'r')
  const poll = new Poll()
  const source = new SourceFd(fd)
  const error = t.throws(() => poll.registry.register(source, Token(1), Interest.READABLE), { code: 'EPERM' })
  t.regex(error?.message ?? '', /epoll cannot watch regular files or directories/)
  t.true(isSystemError(error))
  source.close()
  closeSync(fd)
  poll.close()
  rmSync(dir, { recursive: true })
})
