// `SourceFd`: registering descriptors the program keeps owning, as mio's
// `unix::SourceFd`.
//
// mio's tests/poll.rs and tests/registering.rs do not use `SourceFd` (mio
// itself only uses it in its docs and in a kqueue unit test). What is ported
// here:
// - the `SourceFd` doc example (register a listener's raw descriptor);
// - the registration rules of poll.rs and registering.rs, run over a
//   `SourceFd`: double_register_different_token, reregister_without_register,
//   deregister_without_register (debug-only in mio; node-mio reports them on
//   every build), tcp/udp_register_multiple_event_loops,
//   registering_after_deregistering, reregister_interest_token_usage and
//   readiness_is_reregistered_after_would_block;
// - poll_erroneous_registration: mio checks that a custom Source's error
//   reaches the caller unchanged. A JS program cannot write a native Source;
//   the nearest is an error the OS gives for a `SourceFd` (epoll refuses a
//   regular file with EPERM), which must reach JS with its code and syscall.
// - unix_pipe.rs's nonblocking_child_process_io once more, through a
//   `SourceFd` (the literal port: the descriptor stays blocking until
//   `setNonblocking(true)`).
// Not applicable: poll_registration (it counts the calls `Registry` makes
// into a custom Rust Source).
//
// Then node-mio's own checks with real non-socket descriptors (each gives
// readable/writable events and closed-end events): pipes to child processes
// (`cat`, `node -e`), a FIFO, and a pseudo-terminal. And the ownership rules:
// `close()` deregisters but leaves the descriptor open, `detachFd()` is
// refused, a closed or invalid descriptor gives EBADF.
//
// Order of closing: a `SourceFd` is closed (deregistered) before its
// descriptor is. Closed the other way round, the number could be reused by
// another file before the deregistration, which would then hit that file.
import test, { type ExecutionContext } from 'ava'
import { execFileSync } from 'node:child_process'
import { constants, writeFileSync } from 'node:fs'
import { constants as osConstants } from 'node:os'
import { join } from 'node:path'
import { Events, Interest, Poll, SourceFd, TcpListener, TcpStream, Token, UnixStream, pipe } from 'node-mio'
import { assertBlocking, assertNonBlocking, makeBlocking } from './support/descriptors.ts'
import { expectEvents, expectNoEvents, initWithPoll } from './support/events.ts'
import { ANY_LOCAL, addrText, tempDir } from './support/sockets.ts'
import { closeSync, fstatSync, openSync } from './support/raw-fd.ts'
import { spawnPiped } from './support/shared-b-child.ts'
import { expectReadinessAfterWouldBlock } from './support/shared-b-fixtures.ts'

const ERRNO = osConstants.errno

const ID1 = Token(1)
const ID2 = Token(2)
const READER = Token(10)
const WRITER = Token(11)
const MASTER = Token(20)
const SLAVE = Token(21)

const DATA1 = Buffer.from('Hello world!')
const DATA2 = Buffer.from('Hello mars!')

const unix = process.platform === 'win32' ? test.skip : test
const linux = process.platform === 'linux' ? test : test.skip
const linuxSerial = process.platform === 'linux' ? test.serial : test.skip

/** A pipe as two plain descriptors this program owns: `[writeFd, readFd]` (non-blocking, close-on-exec). */
function rawPipe(): [number, number] {
  const [sender, receiver] = pipe()
  return [sender.detachFd(), receiver.detachFd()]
}

function closeFds(...fds: number[]): void {
  for (const fd of fds) closeSync(fd)
}

/**
 * Runs `body` with a {@link rawPipe}'s `[writeFd, readFd]`, then closes both
 * (after the SourceFds `body` made with `using` are closed).
 */
function withRawPipe(body: (writeFd: number, readFd: number) => void): void {
  const [writeFd, readFd] = rawPipe()
  try {
    body(writeFd, readFd)
  } finally {
    closeFds(writeFd, readFd)
  }
}

/** `t.throws`, then `t.like` on the error (ava's `t.throws` checks no `syscall` or `errno`). */
function throwsLike(t: ExecutionContext, fn: () => unknown, expected: Record<string, unknown>): unknown {
  const error = t.throws(fn)
  t.like(error, expected)
  return error
}

/**
 * SourceFds of a writer and a reader descriptor, registered as WRITER
 * (writable) and READER (readable), once the writer's first event came;
 * closed together (reader first) at the end of the `using` scope.
 */
function registeredEnds(t: ExecutionContext, poll: Poll, events: Events, writeFd: number, readFd: number): { writer: SourceFd; reader: SourceFd } & Disposable {
  const writer = new SourceFd(writeFd)
  const reader = new SourceFd(readFd)
  const ends = {
    writer,
    reader,
    [Symbol.dispose]: () => {
      reader.close()
      writer.close()
    },
  }
  try {
    poll.registry.register(writer, WRITER, Interest.WRITABLE)
    poll.registry.register(reader, READER, Interest.READABLE)
    expectEvents(t, poll, events, [{ token: WRITER, readiness: ['writable'] }])
  } catch (error) {
    ends[Symbol.dispose]()
    throw error
  }
  return ends
}

/** Reads once and checks the bytes, as mio's `expect_read!`. */
function expectRead(t: ExecutionContext, source: SourceFd, expected: Uint8Array): void {
  const buf = Buffer.alloc(256)
  const n = source.read(buf)
  t.is(n, expected.length)
  t.deepEqual(buf.subarray(0, n ?? 0), Buffer.from(expected))
}

// ---- mio's SourceFd doc example ---------------------------------------------

unix('SourceFd doc example: registering a listener by its descriptor', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll

  // Bind a listener (mio: a std one); its descriptor stays owned by it.
  using listener = TcpListener.bind(ANY_LOCAL)

  // Register the listener
  using source = new SourceFd(listener.fd)
  t.is(source.fd, listener.fd)
  poll.registry.register(source, Token(0), Interest.READABLE)

  using _client = TcpStream.connect(addrText(listener.localAddr()))
  expectEvents(t, poll, events, [{ token: Token(0), readiness: ['readable'] }])
  const accepted = listener.accept()
  t.not(accepted, null, 'accept returned WouldBlock (null)')
  accepted?.[0].close()
})

// ---- poll.rs and registering.rs, over a SourceFd ----------------------------

// [title, what comes first, the call that must fail, its error], over a
// SourceFd of a pipe's read end.
const registrationErrors: Array<[string, (poll: Poll, source: SourceFd) => void, (poll: Poll, source: SourceFd) => void, Record<string, unknown>]> = [
  [
    'double_register_different_token (SourceFd)',
    (poll, source) => poll.registry.register(source, ID1, Interest.READABLE),
    (poll, source) => poll.registry.register(source, ID2, Interest.READABLE),
    { code: 'EEXIST', syscall: 'register' },
  ],
  ['reregister_without_register (SourceFd)', () => {}, (poll, source) => poll.registry.reregister(source, ID1, Interest.READABLE), { code: 'ENOENT', syscall: 'reregister' }],
  ['deregister_without_register (SourceFd)', () => {}, (poll, source) => poll.registry.deregister(source), { code: 'ENOENT', syscall: 'deregister' }],
]
for (const [title, before, call, expected] of registrationErrors) {
  unix(title, (t) => {
    using poll = new Poll()
    withRawPipe((_writeFd, readFd) => {
      using source = new SourceFd(readFd)
      before(poll, source)
      throwsLike(t, () => call(poll, source), expected)
    })
  })
}

unix('register_multiple_event_loops (SourceFd)', (t) => {
  using poll1 = new Poll()
  using poll2 = new Poll()
  withRawPipe((_writeFd, readFd) => {
    using source = new SourceFd(readFd)
    poll1.registry.register(source, ID1, Interest.READABLE.add(Interest.WRITABLE))
    t.throws(() => poll2.registry.register(source, ID1, Interest.READABLE.add(Interest.WRITABLE)), { code: 'EEXIST' })
    t.throws(() => poll2.registry.reregister(source, ID1, Interest.READABLE), { code: 'EEXIST' })
    t.throws(() => poll2.registry.deregister(source), { code: 'EEXIST' })
  })
})

// Two SourceFds of one descriptor are two sources to node-mio, but one file to
// epoll: the second registration is the kernel's EEXIST (kqueue would accept
// it, as mio's docs say, so this is Linux only).
linux('two SourceFds of one descriptor in one Poll: EEXIST from epoll', (t) => {
  using poll = new Poll()
  withRawPipe((_writeFd, readFd) => {
    using first = new SourceFd(readFd)
    using second = new SourceFd(readFd)
    poll.registry.register(first, ID1, Interest.READABLE)
    throwsLike(t, () => poll.registry.register(second, ID2, Interest.READABLE), { code: 'EEXIST', errno: -ERRNO.EEXIST, syscall: 'register' })
    // A node-mio socket's own descriptor, registered through the socket.
    const [a, b] = UnixStream.pair()
    using _a = a
    using _b = b
    poll.registry.register(a, ID1, Interest.READABLE)
    using third = new SourceFd(a.fd)
    throwsLike(t, () => poll.registry.register(third, ID2, Interest.READABLE), { code: 'EEXIST', errno: -ERRNO.EEXIST, syscall: 'register' })
  })
})

unix('registering_after_deregistering (SourceFd)', (t) => {
  using poll = new Poll()
  const events = new Events(8)
  // mio: a listener with nothing pending; here a pipe's read end, empty.
  withRawPipe((_writeFd, readFd) => {
    using server = new SourceFd(readFd)
    poll.registry.register(server, ID1, Interest.READABLE)
    poll.registry.deregister(server)
    poll.registry.register(server, ID1, Interest.READABLE)

    poll.poll(events, 100)
    t.true(events.isEmpty())
  })
})

unix('reregister_interest_token_usage (SourceFd)', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  // mio: a UDP socket (writable at once, never readable here); here a
  // pipe's write end, which is the same.
  withRawPipe((writeFd, _readFd) => {
    using source = new SourceFd(writeFd)
    poll.registry.register(source, ID1, Interest.READABLE)
    poll.registry.reregister(source, ID1, Interest.READABLE)
    poll.registry.reregister(source, ID2, Interest.WRITABLE)
    expectEvents(t, poll, events, [{ token: ID2, readiness: ['writable'] }])
  })
})

unix('readiness_is_reregistered_after_would_block (SourceFd)', (t) => {
  // mio: a std TcpStream pair; here a Unix stream pair, the client end
  // registered and read through a SourceFd of its descriptor.
  const [client, server] = UnixStream.pair()
  using _client = client
  using _server = server
  const { poll, events } = initWithPoll()
  using _poll = poll

  using source = new SourceFd(client.fd)
  poll.registry.register(source, ID1, Interest.READABLE)

  expectReadinessAfterWouldBlock(t, poll, events, ID1, { reader: source, writer: server })
})

linux('poll_erroneous_registration (SourceFd): the OS error reaches the caller', (t) => {
  using poll = new Poll()
  const path = join(tempDir(t), 'regular-file')
  writeFileSync(path, 'data')
  const fd = openSync(path, 'r')
  try {
    using source = new SourceFd(fd)
    // epoll_ctl(2): "EPERM: The target file fd does not support epoll."
    const error = throwsLike(t, () => poll.registry.register(source, ID1, Interest.READABLE), {
      code: 'EPERM',
      errno: -ERRNO.EPERM,
      syscall: 'register',
    })
    t.true(error instanceof Error)
    // Not registered: reregister and deregister say so.
    t.throws(() => poll.registry.deregister(source), { code: 'ENOENT' })
  } finally {
    closeSync(fd)
  }
})

unix('nonblocking_child_process_io (SourceFd)', async (t) => {
  // `cat` simply echo everything that we write via standard in.
  const { toChild: sender, fromChild: stdout, exited } = spawnPiped('cat')
  using _sender = sender
  // As std's `ChildStdout`: a blocking descriptor, kept so by `SourceFd`.
  const stdoutFd = makeBlocking(stdout.detachFd())
  try {
    using receiver = new SourceFd(stdoutFd)
    assertBlocking(t, stdoutFd)

    receiver.setNonblocking(true)
    // A blocking read would hang this test.
    if (!assertNonBlocking(t, stdoutFd)) return

    const buf = Buffer.alloc(20)
    t.is(receiver.read(buf), null, 'expected WouldBlock (null)')
  } finally {
    closeSync(stdoutFd)
    sender.close()
    t.deepEqual(await exited, [0, null], 'cat failed')
  }
})

// ---- ownership: close(), detachFd(), EBADF ----------------------------------

unix('close() deregisters and stops events but leaves the descriptor open', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  withRawPipe((writeFd, readFd) => {
    using writer = new SourceFd(writeFd)
    using reader = new SourceFd(readFd)
    poll.registry.register(reader, READER, Interest.READABLE)

    t.is(writer.write(DATA1), DATA1.length)
    expectEvents(t, poll, events, [{ token: READER, readiness: ['readable'] }])

    reader.close()
    t.true(reader.closed)
    reader.close() // again: nothing
    t.true(fstatSync(readFd).isFIFO())
    t.throws(() => reader.read(Buffer.alloc(8)), { code: 'ERR_SOCKET_CLOSED' })
    t.throws(() => poll.registry.register(reader, READER, Interest.READABLE), { code: 'ERR_SOCKET_CLOSED' })

    // New data is a new edge: a registered source would get an event.
    t.is(writer.write(DATA2), DATA2.length)
    expectNoEvents(t, poll, events)

    // The descriptor left epoll: a new SourceFd of it registers (EEXIST
    // otherwise), gets events, and reads what the closed one did not.
    using again = new SourceFd(readFd)
    poll.registry.register(again, ID2, Interest.READABLE)
    expectEvents(t, poll, events, [{ token: ID2, readiness: ['readable'] }])
    expectRead(t, again, Buffer.concat([DATA1, DATA2]))
    t.is(again.read(Buffer.alloc(8)), null)

    writer.close()
    t.true(fstatSync(writeFd).isFIFO())
  })
})

unix('detachFd() is refused: a SourceFd owns nothing', (t) => {
  withRawPipe((_writeFd, readFd) => {
    using source = new SourceFd(readFd)
    t.throws(() => source.detachFd(), { code: 'ERR_INVALID_ARG_VALUE' })
    t.false(source.closed)
    t.is(source.fd, readFd)
    t.true(fstatSync(readFd).isFIFO())
  })
})

// Serial: worker threads of concurrent tests open descriptors, and could
// reuse a closed number.
linuxSerial('a closed or invalid descriptor gives EBADF', (t) => {
  using poll = new Poll()
  const EBADF = { code: 'EBADF', errno: -ERRNO.EBADF }

  // Closed before the SourceFd is made: refused at once.
  {
    const [writeFd, readFd] = rawPipe()
    closeFds(writeFd, readFd)
    throwsLike(t, () => new SourceFd(readFd), { ...EBADF, syscall: 'fcntl' })
  }

  // Closed after: registering fails.
  {
    const [writeFd, readFd] = rawPipe()
    closeSync(writeFd)
    const source = new SourceFd(readFd)
    closeSync(readFd)
    throwsLike(t, () => poll.registry.register(source, ID1, Interest.READABLE), { ...EBADF, syscall: 'register' })
    throwsLike(t, () => source.read(Buffer.alloc(8)), { ...EBADF, syscall: 'read' })
    source.close()
  }

  // Never open.
  throwsLike(t, () => new SourceFd(0x7fff_ffff), { ...EBADF, syscall: 'fcntl' })

  // Not a descriptor number at all.
  t.throws(() => new SourceFd(-1), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => new SourceFd(1.5), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => new SourceFd('3' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' })
})

// ---- real descriptors ---------------------------------------------------------

closeEventsTest('pipes to a child process (cat): echo, then read-closed when its input ends', async (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const { toChild, fromChild, exited } = spawnPiped('cat')
  const writeFd = toChild.detachFd()
  const readFd = fromChild.detachFd()
  let writeOpen = true
  try {
    using ends = registeredEnds(t, poll, events, writeFd, readFd)
    const { writer, reader } = ends
    t.is(reader.read(Buffer.alloc(8)), null, 'expected WouldBlock (null)')

    t.is(writer.writev([DATA1, DATA2]), DATA1.length + DATA2.length)
    expectEvents(t, poll, events, [{ token: READER, readiness: ['readable'] }])
    expectRead(t, reader, Buffer.concat([DATA1, DATA2]))
    t.is(reader.read(Buffer.alloc(8)), null, 'expected WouldBlock (null)')

    // Closing our write end ends cat's input; cat exits and its output ends.
    writer.close()
    closeSync(writeFd)
    writeOpen = false
    expectEvents(t, poll, events, [{ token: READER, readiness: ['readClosed'] }])
    t.is(reader.read(Buffer.alloc(8)), 0)
  } finally {
    if (writeOpen) closeSync(writeFd)
    closeSync(readFd)
    t.deepEqual(await exited, [0, null], 'cat failed')
  }
})

closeEventsTest('pipes to a child process (node -e): write-closed and read-closed when it exits', async (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  // Echoes one read, then exits (closing both of its ends).
  const script = `const fs = require('fs'); const b = Buffer.alloc(64); const n = fs.readSync(0, b); fs.writeSync(1, b.subarray(0, n))`
  const { toChild, fromChild, child, exited } = spawnPiped(process.execPath, ['-e', script])
  const writeFd = toChild.detachFd()
  const readFd = fromChild.detachFd()
  try {
    using ends = registeredEnds(t, poll, events, writeFd, readFd)
    const { writer, reader } = ends

    t.is(writer.write(DATA1), DATA1.length)
    // Let it exit before polling, so what follows does not depend on when.
    t.deepEqual(await exited, [0, null], 'the child failed')

    expectEvents(t, poll, events, [
      { token: WRITER, readiness: ['writeClosed'] },
      { token: READER, readiness: ['readable', 'readClosed'] },
    ])
    expectRead(t, reader, DATA1)
    t.is(reader.read(Buffer.alloc(8)), 0)
    throwsLike(t, () => writer.write(DATA2), { code: 'EPIPE', syscall: 'write' })
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill()
      await exited
    }
    closeFds(writeFd, readFd)
  }
})

unix('a FIFO: readable and writable events, null when full or empty, closed ends', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const path = join(tempDir(t), 'fifo')
  execFileSync('mkfifo', [path])

  const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  let writeFd = -1
  let readOpen = true
  try {
    writeFd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK)
    t.true(fstatSync(readFd).isFIFO())

    using ends = registeredEnds(t, poll, events, writeFd, readFd)
    const { writer, reader } = ends
    t.is(reader.read(Buffer.alloc(8)), null, 'expected WouldBlock (null)')

    t.is(writer.write(DATA1), DATA1.length)
    expectEvents(t, poll, events, [{ token: READER, readiness: ['readable'] }])
    expectRead(t, reader, DATA1)
    t.is(reader.read(Buffer.alloc(8)), null, 'expected WouldBlock (null)')

    // Fill it: write returns null; draining gives the writer a new event.
    const chunk = Buffer.alloc(4096, 1)
    let written = 0
    for (let n; (n = writer.writev([chunk, chunk])) !== null; ) written += n
    t.is(writer.write(chunk), null, 'expected WouldBlock (null)')
    const buf = Buffer.alloc(65536)
    let read = 0
    for (let n; (n = reader.read(buf)) !== null && n > 0; ) read += n
    t.is(read, written)
    expectEvents(t, poll, events, [{ token: WRITER, readiness: ['writable'] }])

    // The writer goes: the reader sees its read side closed, then 0.
    writer.close()
    closeSync(writeFd)
    writeFd = -1
    expectEvents(t, poll, events, [{ token: READER, readiness: ['readClosed'] }])
    t.is(reader.read(Buffer.alloc(8)), 0)

    // A new writer; then the reader goes: the writer sees its side closed.
    writeFd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK)
    using writer2 = new SourceFd(writeFd)
    poll.registry.register(writer2, WRITER, Interest.WRITABLE)
    expectEvents(t, poll, events, [{ token: WRITER, readiness: ['writable'] }])
    reader.close()
    closeSync(readFd)
    readOpen = false
    expectEvents(t, poll, events, [{ token: WRITER, readiness: ['writeClosed'] }])
    throwsLike(t, () => writer2.write(DATA2), { code: 'EPIPE', syscall: 'write' })
    writer2.close()
  } finally {
    if (writeFd >= 0) closeSync(writeFd)
    if (readOpen) closeSync(readFd)
  }
})

// ---- a pseudo-terminal ---------------------------------------------------------

/**
 * Opens a pty pair in this process: the master from /dev/ptmx, unlocked and
 * named by a one-line `python3` that runs the ioctls on it (Node.js has no
 * `unlockpt`/`ptsname`; TIOCSPTLCK and TIOCGPTN with their x86 and ARM
 * values), and the slave from /dev/pts/N, set raw with `stty` (no line
 * buffering, no echo). Both are blocking afterwards: a child given a
 * descriptor as stdio clears O_NONBLOCK on it.
 */
function openPty(): { master: number; slave: number } {
  const { O_RDWR, O_NOCTTY, O_NONBLOCK } = constants
  const master = openSync('/dev/ptmx', O_RDWR | O_NOCTTY | O_NONBLOCK)
  try {
    const unlockAndName =
      'import fcntl, struct; fcntl.ioctl(0, 0x40045431, struct.pack("i", 0)); print(struct.unpack("I", fcntl.ioctl(0, 0x80045430, bytes(4)))[0])'
    const number = execFileSync('python3', ['-c', unlockAndName], { stdio: [master, 'pipe', 'pipe'], encoding: 'utf8' }).trim()
    const slave = openSync(`/dev/pts/${number}`, O_RDWR | O_NOCTTY | O_NONBLOCK)
    try {
      execFileSync('stty', ['raw', '-echo'], { stdio: [slave, 'ignore', 'pipe'] })
    } catch (error) {
      closeSync(slave)
      throw error
    }
    return { master, slave }
  } catch (error) {
    closeSync(master)
    throw error
  }
}

let noPty: string | null = null
if (process.platform !== 'linux') {
  noPty = 'the pty is opened with Linux ioctls'
} else {
  try {
    const { master, slave } = openPty()
    closeFds(slave, master)
  } catch (error) {
    noPty = `no pseudo-terminal: ${(error as Error).message.split('\n')[0]}`
  }
}
if (noPty !== null) console.warn(`source-fd.spec.ts: pty tests skipped: ${noPty}`)
const ptyTest = noPty === null ? test : test.skip

ptyTest('a pty: data both ways, then the master sees the slave close', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const { master, slave } = openPty()
  let slaveOpen = true
  try {
    using masterSource = new SourceFd(master)
    using slaveSource = new SourceFd(slave)
    masterSource.setNonblocking(true)
    slaveSource.setNonblocking(true)
    poll.registry.register(masterSource, MASTER, Interest.READABLE.add(Interest.WRITABLE))
    poll.registry.register(slaveSource, SLAVE, Interest.READABLE.add(Interest.WRITABLE))
    expectEvents(t, poll, events, [
      { token: MASTER, readiness: ['writable'] },
      { token: SLAVE, readiness: ['writable'] },
    ])
    const buf = Buffer.alloc(64)
    t.is(masterSource.read(buf), null, 'expected WouldBlock (null)')
    t.is(slaveSource.read(buf), null, 'expected WouldBlock (null)')

    t.is(slaveSource.write(DATA1), DATA1.length)
    expectEvents(t, poll, events, [{ token: MASTER, readiness: ['readable'] }])
    expectRead(t, masterSource, DATA1)
    t.is(masterSource.read(buf), null, 'expected WouldBlock (null)')

    t.is(masterSource.writev([DATA1, DATA2]), DATA1.length + DATA2.length)
    expectEvents(t, poll, events, [{ token: SLAVE, readiness: ['readable'] }])
    expectRead(t, slaveSource, Buffer.concat([DATA1, DATA2]))
    t.is(slaveSource.read(buf), null, 'expected WouldBlock (null)')

    slaveSource.close()
    closeSync(slave)
    slaveOpen = false
    expectEvents(t, poll, events, [{ token: MASTER, readiness: ['readClosed'] }])
    // Linux: reading a master whose slave is gone fails with EIO.
    throwsLike(t, () => masterSource.read(buf), { code: 'EIO', syscall: 'read' })
  } finally {
    if (slaveOpen) closeSync(slave)
    closeSync(master)
  }
})

ptyTest('a pty: the slave sees the master close', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const { master, slave } = openPty()
  let masterOpen = true
  try {
    using slaveSource = new SourceFd(slave)
    slaveSource.setNonblocking(true)
    poll.registry.register(slaveSource, SLAVE, Interest.READABLE.add(Interest.WRITABLE))
    expectEvents(t, poll, events, [{ token: SLAVE, readiness: ['writable'] }])

    closeSync(master)
    masterOpen = false
    expectEvents(t, poll, events, [{ token: SLAVE, readiness: ['readClosed'] }])
    // Linux: the hung-up slave reads 0 and fails writes with EIO.
    t.is(slaveSource.read(Buffer.alloc(8)), 0)
    throwsLike(t, () => slaveSource.write(DATA1), { code: 'EIO', syscall: 'write' })
  } finally {
    if (masterOpen) closeSync(master)
    closeSync(slave)
  }
})

/** mio ignores pipe close events on GNU/Hurd, NTO and Cygwin ("Writer fd close events do not trigger POLLHUP"). */
function closeEventsTest(title: string, fn: (t: ExecutionContext) => Promise<void>): void {
  ;(process.platform === 'win32' || (process.platform as string) === 'cygwin' ? test.skip : test)(title, fn)
}
