// mio's tests/win_named_pipe.rs: Windows named pipes (NamedPipe.create is
// mio's NamedPipe::new, NamedPipe.open the overlapped client its tests open).
// Windows only: elsewhere NamedPipe throws ERR_FEATURE_UNAVAILABLE_ON_PLATFORM
// (package.spec asserts that), so these skip.
import test, { type ExecutionContext } from 'ava'
import { Events, Interest, NamedPipe, Poll, Token } from 'node-mio'
import { expectEvents } from './support/events.ts'

const windows = process.platform === 'win32' ? test : test.skip
const BOTH = Interest.READABLE.add(Interest.WRITABLE)
let serial = 0

/** A server end with a name no other test (or process) uses. */
function server(): [NamedPipe, string] {
  const name = `\\\\.\\pipe\\node-mio-${process.pid}-${serial++}-${Math.random().toString(16).slice(2)}`
  return [NamedPipe.create(name), name]
}

function pipe(): [NamedPipe, NamedPipe] {
  const [s, name] = server()
  return [s, NamedPipe.open(name)]
}

/** Polls (no timeout, as mio's loops) until `token` shows `flag`. */
function pollUntil(poll: Poll, events: Events, token: Token, flag: 'readable' | 'writable'): void {
  for (;;) {
    poll.poll(events, null)
    for (const event of events) {
      if (event.token === token && (flag === 'readable' ? event.isReadable() : event.isWritable())) return
    }
  }
}

function setup(): { poll: Poll; events: Events; server: NamedPipe; client: NamedPipe } {
  const [s, c] = pipe()
  const poll = new Poll()
  poll.registry.register(s, Token(0), BOTH)
  poll.registry.register(c, Token(1), BOTH)
  return { poll, events: new Events(128), server: s, client: c }
}

function closeAll(...things: { close(): void }[]): void {
  for (const thing of things) thing.close()
}

windows('writable_after_register: server and client both become writable', (t) => {
  const [s, c] = pipe()
  const poll = new Poll()
  poll.registry.register(s, Token(0), BOTH)
  poll.registry.register(c, Token(1), Interest.WRITABLE)
  const events = new Events(128)
  poll.poll(events, null)
  const seen = [...events].map((e) => ({ token: e.token, writable: e.isWritable() }))
  t.true(seen.some((e) => e.token === Token(0) && e.writable), JSON.stringify(seen))
  t.true(seen.some((e) => e.token === Token(1) && e.writable), JSON.stringify(seen))
  closeAll(s, c, poll)
})

windows('write_then_read: the client writes, the server reads it', (t) => {
  const { poll, events, server: s, client: c } = setup()
  poll.poll(events, null)
  t.is(c.write(Buffer.from('1234')), 4)
  pollUntil(poll, events, Token(0), 'readable')
  const buf = Buffer.alloc(10)
  t.is(s.read(buf), 4)
  t.is(buf.subarray(0, 4).toString(), '1234')
  closeAll(s, c, poll)
})

/**
 * A server end registered for both interests as token 0 on a new Poll,
 * with no client yet: a poll shows no event.
 */
function serverWithoutClient(t: ExecutionContext): { poll: Poll; events: Events; s: NamedPipe; name: string } {
  const [s, name] = server()
  const poll = new Poll()
  poll.registry.register(s, Token(0), BOTH)
  const events = new Events(128)
  poll.poll(events, 0)
  t.is(events.length, 0)
  return { poll, events, s, name }
}

/**
 * A connect with no client is pending (false); a client opening `name`,
 * registered for both interests as `token`, makes the server writable with
 * no error. Closes the server, the client and the Poll.
 */
function connectPending(t: ExecutionContext, poll: Poll, events: Events, s: NamedPipe, name: string, token: Token): void {
  t.false(s.connect())
  const c = NamedPipe.open(name)
  poll.registry.register(c, token, BOTH)
  pollUntil(poll, events, Token(0), 'writable')
  t.is(s.takeError(), null)
  closeAll(s, c, poll)
}

windows('connect_before_client: connect() is pending until a client opens', (t) => {
  const { poll, events, s, name } = serverWithoutClient(t)
  connectPending(t, poll, events, s, name, Token(1))
})

windows('connect_after_client: connect() succeeds at once', (t) => {
  const { poll, events, s, name } = serverWithoutClient(t)
  const c = NamedPipe.open(name)
  poll.registry.register(c, Token(1), BOTH)
  t.true(s.connect())
  pollUntil(poll, events, Token(0), 'writable')
  closeAll(s, c, poll)
})

windows('write_disconnected: writes after the client closes end in EPIPE (ERROR_NO_DATA)', (t) => {
  const { poll, events, server: s, client: c } = setup()
  c.close()
  poll.poll(events, null)
  t.true(events.length > 0)
  for (let i = 1; ; i++) {
    t.true(i < 16, 'too many iterations')
    if (i >= 16) break
    let written: number | null
    try {
      written = s.write(Buffer.from([0]))
    } catch (error) {
      // ERROR_NO_DATA (232) is EPIPE, as libuv maps it
      t.like(error, { code: 'EPIPE', syscall: 'write' })
      break
    }
    t.is(written, null, 'a write to a closed pipe is never taken')
    poll.poll(events, null)
    t.true(events.length > 0)
  }
  closeAll(s, poll)
})

windows('write_then_drop: what the client wrote before closing is read', (t) => {
  const { poll, events, server: s, client: c } = setup()
  t.is(c.write(Buffer.from('1234')), 4)
  c.close()
  pollUntil(poll, events, Token(0), 'readable')
  const buf = Buffer.alloc(10)
  t.is(s.read(buf), 4)
  t.is(buf.subarray(0, 4).toString(), '1234')
  closeAll(s, poll)
})

windows('connect_twice: after disconnect() a second client connects', (t) => {
  const [s, name] = server()
  const c1 = NamedPipe.open(name)
  const poll = new Poll()
  poll.registry.register(s, Token(0), BOTH)
  poll.registry.register(c1, Token(1), BOTH)
  c1.close()
  const events = new Events(128)
  const buf = Buffer.alloc(10)
  read: for (;;) {
    poll.poll(events, null)
    for (const event of events) {
      if (event.token !== Token(0) || !event.isReadable()) continue
      const n = s.read(buf)
      if (n === null) continue
      t.is(n, 0, 'the end of the first client')
      break read
    }
  }
  s.disconnect()
  connectPending(t, poll, events, s, name, Token(2))
})

windows('reregister_deregister_before_register: ENOENT', (t) => {
  const [p] = server()
  const poll = new Poll()
  t.throws(() => poll.registry.reregister(p, Token(0), Interest.READABLE), { code: 'ENOENT' })
  t.throws(() => poll.registry.deregister(p), { code: 'ENOENT' })
  closeAll(p, poll)
})

windows('reregister_deregister_different_poll: EEXIST', (t) => {
  const [p] = server()
  const poll1 = new Poll()
  const poll2 = new Poll()
  poll1.registry.register(p, Token(0), Interest.READABLE)
  t.throws(() => poll2.registry.reregister(p, Token(0), Interest.READABLE), { code: 'EEXIST' })
  t.throws(() => poll2.registry.deregister(p), { code: 'EEXIST' })
  closeAll(p, poll1, poll2)
})

/** Reads until `expected.length` bytes came (or the end), polling on `null` as mio's loops. */
function readAll(poll: Poll, events: Events, s: NamedPipe, chunk: number, expected: Buffer, waitMs: number): Buffer {
  const buf = Buffer.alloc(chunk)
  const parts: Buffer[] = []
  let got = 0
  for (;;) {
    const n = s.read(buf)
    if (n === 0) break
    if (n === null) {
      poll.poll(events, waitMs)
      continue
    }
    parts.push(Buffer.from(buf.subarray(0, n)))
    got += n
    if (got >= expected.length) break
  }
  return Buffer.concat(parts)
}

/** A message written whole by the client and read back by the server `chunk` bytes at a time. */
function readsBack(t: ExecutionContext, expected: Buffer, chunk: number, waitMs: number): void {
  const { poll, events, server: s, client: c } = setup()
  poll.poll(events, null)
  t.is(c.write(expected), expected.length)
  expectEvents(t, poll, events, [{ token: Token(0), readiness: ['readable'] }])
  t.deepEqual(readAll(poll, events, s, chunk, expected, waitMs), expected)
  closeAll(s, c, poll)
}

windows('read_message_larger_than_internal_buffer: 8192 bytes through a 4000-byte buffer', (t) => {
  readsBack(t, Buffer.alloc(8192, 0x5), 4000, 1000)
})

windows('read_with_small_buffer_provided: 10000 bytes through a 128-byte buffer', (t) => {
  readsBack(t, Buffer.alloc(10000, 1), 128, 100)
})

windows('write_vectored_then_read_vectored: writev gathers, readv scatters', (t) => {
  const { poll, events, server: s, client: c } = setup()
  poll.poll(events, null)
  t.is(c.writev([Buffer.from('foo'), Buffer.from('bar'), Buffer.from('baz')]), 9)
  pollUntil(poll, events, Token(0), 'readable')
  const parts = [Buffer.alloc(3), Buffer.alloc(3), Buffer.alloc(3)]
  t.is(s.readv(parts), 9)
  t.deepEqual(parts.map(String), ['foo', 'bar', 'baz'])
  closeAll(s, c, poll)
})

windows('readv and writev take SharedArrayBuffer views and empty buffers in the list', (t) => {
  const { poll, events, server: s, client: c } = setup()
  poll.poll(events, null)
  const shared = new Uint8Array(new SharedArrayBuffer(4))
  shared.set([1, 2, 3, 4])
  t.is(c.writev([new Uint8Array(0), shared, Buffer.from([5])]), 5)
  pollUntil(poll, events, Token(0), 'readable')
  const into = [new Uint8Array(new SharedArrayBuffer(2)), new Uint8Array(0), Buffer.alloc(8)]
  t.is(s.readv(into), 5)
  t.deepEqual([...into[0]!], [1, 2])
  t.deepEqual([...into[2]!.subarray(0, 3)], [3, 4, 5])
  closeAll(s, c, poll)
})

windows('a closed pipe: ERR_SOCKET_CLOSED, as every source', (t) => {
  const [p] = server()
  p.close()
  t.throws(() => p.connect(), { code: 'ERR_SOCKET_CLOSED' })
  t.throws(() => p.read(Buffer.alloc(1)), { code: 'ERR_SOCKET_CLOSED' })
  t.throws(() => p.readv([Buffer.alloc(1)]), { code: 'ERR_SOCKET_CLOSED' })
})
