// Handing descriptors in (`fromFd`, mio's `from_std`) and out (`detachFd`,
// mio's `into_raw_fd`), and reading them (`fd`, mio's `as_raw_fd`), with
// real node:net objects on the other side. Unix only.
//
// Node has no public dup(2): a node:net descriptor reaches node-mio through a
// child process that inherits it as fd 3. A net.Socket goes in `stdio` as
// is; a net.Server cannot (Node 20's spawn calls `stdio[3].pause()`, which a
// Server lacks), so its descriptor number (`server._handle.fd`) goes in.
//
// Linux specifics: descriptors are checked against /proc/self/fd,
// /proc/self/fdinfo and /proc/net/{tcp,udp,unix}.
import test, { type ExecutionContext } from 'ava'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import {
  Events,
  Interest,
  pipe,
  PipeReceiver,
  PipeSender,
  Poll,
  SourceFd,
  TcpListener,
  TcpStream,
  Token,
  UdpSocket,
  UnixDatagram,
  UnixListener,
  UnixStream,
} from 'node-mio'
import { O_ACCMODE, O_NONBLOCK, fdFlags, fdTarget, inodesForPort, isOpen, openFdCount } from './support/descriptors.ts'
import { expectEvents, expectNoEvents, initWithPoll } from './support/events.ts'
import { runtime } from './support/platform.ts'
import { ANY_LOCAL, tempDir } from './support/sockets.ts'
import { closeSync, openSync } from './support/raw-fd.ts'
import { polledConnection } from './support/shared-b-fixtures.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const linux = process.platform === 'linux'
const unix = process.platform !== 'win32'
const utest = unix ? test : test.skip
const SERVER = Token(0)
const CLIENT = Token(1)

declare const gc: () => void

// ---- helpers -------------------------------------------------------------------

/** Polls with timeout 0, letting Node's event loop run in between, until `done()` (at most ~5 s). */
async function pollUntil(poll: Poll, events: Events, done: () => boolean): Promise<boolean> {
  for (let round = 0; round < 500; round++) {
    poll.poll(events, 0)
    if (done()) return true
    await delay(10)
  }
  return done()
}

/** Drains `stream` into `sink`; true at end of stream. */
function drain(stream: { read(buf: Uint8Array): number | null }, sink: Buffer[]): boolean {
  const buf = Buffer.alloc(4096)
  for (let n; (n = stream.read(buf)) !== null; ) {
    if (n === 0) return true
    sink.push(Buffer.from(buf.subarray(0, n)))
  }
  return false
}

/** Runs `code` in a child Node.js (CommonJS, `require('node-mio')`) with `fd3` as its descriptor 3. */
function child(t: ExecutionContext, code: string, fd3: number | net.Socket): { lines: AsyncIterator<string>; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, ['-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit', fd3] })
  // Listened for from the start: 'exit' may come before the last line is
  // read (it does under Bun).
  const exited = once(proc, 'exit').then(([code]) => code as number | null)
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill()
  })
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]()
  return { lines, exited }
}

async function nextJson(lines: AsyncIterator<string>): Promise<Record<string, unknown>> {
  const next = await lines.next()
  if (next.done) throw new Error('child closed its stdout early')
  return JSON.parse(next.value) as Record<string, unknown>
}

// ---- (a) node-mio to node:net ---------------------------------------------------

// Bun's node:net does not adopt a connected descriptor: new net.Socket({ fd })
// reports no ports and sends nothing (scripts/cross/fd-adopt.cjs shows it
// without node-mio).
;(unix && runtime !== 'bun' ? test : test.skip)('(a) an accepted stream, detached, becomes a net.Socket that talks to a node-mio client', async (t) => {
  using connection = polledConnection(t)
  const { poll, events, client, server: accepted } = connection
  const acceptedPort = accepted.localAddr().port
  const before = accepted.fd
  const target = linux ? fdTarget(before) : null
  const fd = accepted.detachFd()
  t.is(fd, before, 'detachFd hands over the descriptor fd reported')
  t.true(accepted.closed)

  const socket = new net.Socket({ fd })
  t.teardown(() => socket.destroy())
  t.is(socket.remotePort, client.localAddr().port)
  t.is(socket.localPort, acceptedPort)
  const gotPing = new Promise<string>((resolve, reject) => {
    let text = ''
    socket.on('data', (chunk) => {
      text += chunk
      if (text.endsWith('\n')) resolve(text)
    })
    socket.on('error', reject)
  })

  t.is(client.write(Buffer.from('ping from node-mio\n')), 19)
  t.is(await gotPing, 'ping from node-mio\n')
  socket.end('pong from node:net\n')

  poll.registry.register(client, CLIENT, Interest.READABLE)
  const received: Buffer[] = []
  let eof = false
  t.true(await pollUntil(poll, events, () => (eof ||= drain(client, received))), 'node-mio client saw the end of stream')
  t.is(Buffer.concat(received).toString(), 'pong from node:net\n')
  client.close()
  await once(socket, 'close')
  // node:net owned the descriptor and closed it (the number may be reused,
  // but not for this socket).
  if (linux) t.not(fdTarget(fd), target)
})

utest('(a) a detached listener serves node:net (server.listen({ fd })) to a node-mio client', async (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const listener = TcpListener.bind(ANY_LOCAL)
  const addr = listener.localAddr()
  const fd = listener.detachFd()
  t.true(listener.closed)

  const server = net.createServer((conn) => conn.end(`hello ${conn.remotePort}\n`))
  t.teardown(() => server.close())
  server.listen({ fd })
  await once(server, 'listening')
  t.like(server.address(), { address: '127.0.0.1', port: addr.port })

  using client = TcpStream.connect(addr)
  poll.registry.register(client, CLIENT, Interest.READABLE)
  const received: Buffer[] = []
  let eof = false
  t.true(await pollUntil(poll, events, () => (eof ||= drain(client, received))))
  t.is(Buffer.concat(received).toString(), `hello ${client.localAddr().port}\n`)
})

// ---- (b) node:net to node-mio, through a child process -------------------------

// Deno hands a child a Unix-socket stand-in for a net.Socket, and a
// net.Server has no descriptor there (scripts/cross/stdio-socket.mjs shows
// both without node-mio).
const inheritTest = unix && runtime !== 'deno' ? test : test.skip

inheritTest('(b) a net.Server\'s listening descriptor, inherited as fd 3, is adopted by TcpListener.fromFd and accepts', async (t) => {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  const serverFd = (server as unknown as { _handle: { fd: number } })._handle.fd

  const { lines, exited } = child(
    t,
    `
    const { TcpListener, Poll, Events, Interest, Token } = require('node-mio')
    const listener = TcpListener.fromFd(3)
    const out = (o) => console.log(JSON.stringify(o))
    out({ fd: listener.fd, addr: listener.localAddr() })
    const poll = new Poll(), events = new Events(8)
    poll.registry.register(listener, Token(0), Interest.READABLE)
    let accepted = null
    for (let i = 0; i < 20 && accepted === null; i++) { poll.poll(events, 500); accepted = listener.accept() }
    if (accepted === null) { out({ error: 'no connection' }); process.exit(2) }
    const [stream, peer] = accepted
    out({ peer })
    stream.write(Buffer.from('hello from node-mio in the child\\n'))
    stream.close(); listener.close(); poll.close()
    `,
    serverFd,
  )
  // The child holds its own copy: the parent stops listening on its own.
  server.close()

  const first = await nextJson(lines)
  t.is(first.fd, 3)
  t.deepEqual(first.addr, { address: '127.0.0.1', family: 'IPv4', port })

  const socket = net.connect(port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  let text = ''
  socket.on('data', (chunk) => (text += chunk))
  await once(socket, 'connect')
  const localPort = socket.localPort
  await once(socket, 'end')
  t.is(text, 'hello from node-mio in the child\n')
  t.like(await nextJson(lines), { peer: { address: '127.0.0.1', port: localPort } })
  t.is(await exited, 0)
})

inheritTest('(b) a connected net.Socket, inherited as fd 3, is adopted by TcpStream.fromFd and talks', async (t) => {
  const server = net.createServer()
  t.teardown(() => server.close())
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  const connection = once(server, 'connection') as Promise<[net.Socket]>
  const socket = net.connect(port, '127.0.0.1')
  await once(socket, 'connect')
  const [conn] = await connection
  t.teardown(() => conn.destroy())
  const clientPort = socket.localPort

  const { lines, exited } = child(
    t,
    `
    const { TcpStream, Poll, Events, Interest, Token } = require('node-mio')
    const stream = TcpStream.fromFd(3)
    const out = (o) => console.log(JSON.stringify(o))
    out({ fd: stream.fd, local: stream.localAddr(), peer: stream.peerAddr() })
    const poll = new Poll(), events = new Events(8)
    poll.registry.register(stream, Token(1), Interest.READABLE)
    stream.write(Buffer.from('hello from node-mio in the child\\n'))
    const buf = Buffer.alloc(4096)
    let text = '', eof = false
    for (let i = 0; i < 20 && !eof; i++) {
      poll.poll(events, 500)
      for (let n; (n = stream.read(buf)) !== null; ) { if (n === 0) { eof = true; break } text += buf.toString('utf8', 0, n) }
    }
    out({ received: text, eof })
    stream.close(); poll.close()
    `,
    socket,
  )
  // The child holds its own copy of the connection: closing ours is not a
  // shutdown, the connection stays up.
  socket.destroy()

  const first = await nextJson(lines)
  t.is(first.fd, 3)
  t.like(first, { local: { address: '127.0.0.1', port: clientPort }, peer: { address: '127.0.0.1', port } })

  const text = await new Promise<string>((resolve) => {
    let got = ''
    conn.on('data', (chunk) => {
      got += chunk
      if (got.endsWith('\n')) resolve(got)
    })
  })
  t.is(text, 'hello from node-mio in the child\n')
  conn.end('reply from node:net\n')
  t.deepEqual(await nextJson(lines), { received: 'reply from node:net\n', eof: true })
  t.is(await exited, 0)
})

// ---- (c) detach and re-adopt in one process ------------------------------------

utest('(c) TcpListener: detachFd then fromFd keeps the descriptor, address and queued connections', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const listener = TcpListener.bind(ANY_LOCAL)
  const addr = listener.localAddr()
  poll.registry.register(listener, SERVER, Interest.READABLE)
  using client = TcpStream.connect(addr)
  expectEvents(t, poll, events, [{ token: SERVER, readiness: ['readable'] }])
  const fd = listener.detachFd()
  using again = TcpListener.fromFd(fd)
  t.is(again.fd, fd)
  t.deepEqual(again.localAddr(), addr)
  // detachFd deregistered the descriptor: registering it again is no EEXIST.
  poll.registry.register(again, SERVER, Interest.READABLE)
  expectEvents(t, poll, events, [{ token: SERVER, readiness: ['readable'] }])
  const accepted = again.accept()
  t.not(accepted, null)
  using _conn = accepted?.[0]
  t.is(accepted?.[1].port, client.localAddr().port)
})

utest('(c) TcpStream: detachFd then fromFd keeps the connection both ways', (t) => {
  using connection = polledConnection(t)
  const { poll, events, client, server } = connection
  poll.registry.register(client, CLIENT, Interest.READABLE)
  const local = client.localAddr()
  const fd = client.detachFd()
  using again = TcpStream.fromFd(fd)
  t.is(again.fd, fd)
  t.deepEqual(again.localAddr(), local)
  t.deepEqual(again.peerAddr(), server.localAddr())
  poll.registry.register(again, CLIENT, Interest.READABLE)
  poll.registry.register(server, SERVER, Interest.READABLE)
  t.is(again.write(Buffer.from('to server')), 9)
  expectEvents(t, poll, events, [{ token: SERVER, readiness: ['readable'] }])
  const toServer: Buffer[] = []
  drain(server, toServer)
  t.is(Buffer.concat(toServer).toString(), 'to server')
  t.is(server.write(Buffer.from('to client')), 9)
  expectEvents(t, poll, events, [{ token: CLIENT, readiness: ['readable'] }])
  const toClient: Buffer[] = []
  drain(again, toClient)
  t.is(Buffer.concat(toClient).toString(), 'to client')
})

utest('(c) UdpSocket: detachFd then fromFd keeps the bound address', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const socket = UdpSocket.bind(ANY_LOCAL, { broadcast: true })
  const addr = socket.localAddr()
  const fd = socket.detachFd()
  using again = UdpSocket.fromFd(fd)
  t.is(again.fd, fd)
  t.deepEqual(again.localAddr(), addr)
  // Options live on the descriptor.
  t.true(again.broadcast())
  using sender = UdpSocket.bind(ANY_LOCAL)
  poll.registry.register(again, SERVER, Interest.READABLE)
  t.is(sender.sendTo(Buffer.from('datagram'), addr), 8)
  expectEvents(t, poll, events, [{ token: SERVER, readiness: ['readable'] }])
  const buf = Buffer.alloc(64)
  t.like(again.recvFrom(buf), { size: 8, port: sender.localAddr().port })
  t.is(buf.toString('utf8', 0, 8), 'datagram')
})

utest('(c) UnixListener, UnixStream, UnixDatagram: detachFd then fromFd', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const path = join(tempDir(t), 'listener.sock')
  const listener = UnixListener.bind(path)
  using relisten = UnixListener.fromFd(listener.detachFd())
  t.deepEqual(relisten.localAddr(), { path })
  using client = UnixStream.connect(path)
  poll.registry.register(relisten, SERVER, Interest.READABLE)
  expectEvents(t, poll, events, [{ token: SERVER, readiness: ['readable'] }])
  const accepted = relisten.accept()
  t.not(accepted, null)
  using conn = accepted?.[0]

  // A connected stream keeps its peer.
  const fd = client.fd
  using reclient = UnixStream.fromFd(client.detachFd())
  t.is(reclient.fd, fd)
  t.deepEqual(reclient.peerAddr(), { path })
  t.is(reclient.write(Buffer.from('over unix')), 9)
  poll.registry.register(conn!, CLIENT, Interest.READABLE)
  expectEvents(t, poll, events, [{ token: CLIENT, readiness: ['readable'] }])
  const got: Buffer[] = []
  drain(conn!, got)
  t.is(Buffer.concat(got).toString(), 'over unix')

  const [a, b] = UnixDatagram.pair()
  using _b = b
  using reA = UnixDatagram.fromFd(a.detachFd())
  t.is(reA.send(Buffer.from('dgram')), 5)
  const buf = Buffer.alloc(16)
  poll.registry.register(b, Token(5), Interest.READABLE)
  expectEvents(t, poll, events, [{ token: Token(5), readiness: ['readable'] }])
  t.is(b.recv(buf), 5)
  t.is(buf.toString('utf8', 0, 5), 'dgram')
})

utest('(c) pipe ends: detachFd then fromFd, made non-blocking again, end of stream still propagates', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const [sender, receiver] = pipe()
  sender.setNonblocking(false)
  if (linux) t.is(fdFlags(sender.fd)! & O_NONBLOCK, 0)
  using reSender = PipeSender.fromFd(sender.detachFd())
  using reReceiver = PipeReceiver.fromFd(receiver.detachFd())
  // fromFd makes the descriptor non-blocking (as mio's from_std requires).
  if (linux) {
    t.not(fdFlags(reSender.fd)! & O_NONBLOCK, 0)
    t.not(fdFlags(reReceiver.fd)! & O_NONBLOCK, 0)
  }
  poll.registry.register(reReceiver, SERVER, Interest.READABLE)
  t.is(reSender.write(Buffer.from('through the pipe')), 16)
  expectEvents(t, poll, events, [{ token: SERVER, readiness: ['readable'] }])
  const got: Buffer[] = []
  t.false(drain(reReceiver, got))
  t.is(Buffer.concat(got).toString(), 'through the pipe')
  reSender.close()
  expectEvents(t, poll, events, [{ token: SERVER, readiness: ['readClosed'] }])
  t.true(drain(reReceiver, got))
})

// ---- (d) fromFd validation ----------------------------------------------------------

type Kind = 'TcpListener' | 'TcpStream' | 'UdpSocket' | 'UnixListener' | 'UnixStream' | 'UnixDatagram' | 'PipeSender' | 'PipeReceiver'
const FROM_FD: Record<Kind, (fd: number) => { detachFd(): number }> = {
  TcpListener: (fd) => TcpListener.fromFd(fd),
  TcpStream: (fd) => TcpStream.fromFd(fd),
  UdpSocket: (fd) => UdpSocket.fromFd(fd),
  UnixListener: (fd) => UnixListener.fromFd(fd),
  UnixStream: (fd) => UnixStream.fromFd(fd),
  UnixDatagram: (fd) => UnixDatagram.fromFd(fd),
  PipeSender: (fd) => PipeSender.fromFd(fd),
  PipeReceiver: (fd) => PipeReceiver.fromFd(fd),
}
const SOCKET_KINDS: Kind[] = ['TcpListener', 'TcpStream', 'UdpSocket', 'UnixListener', 'UnixStream', 'UnixDatagram']
const PIPE_KINDS: Kind[] = ['PipeSender', 'PipeReceiver']

/**
 * `fromFd(kind, fd)` must throw `expected` and leave `fd` alone. Should it
 * adopt the descriptor instead (a binding bug), it is handed back with
 * detachFd so that the test's real owner still closes it once.
 */
function refuses(t: ExecutionContext, kind: Kind, fd: number, expected: Record<string, unknown>): void {
  const before = linux ? fdTarget(fd) : null
  let adopted: { detachFd(): number } | undefined
  try {
    adopted = FROM_FD[kind](fd)
  } catch (error) {
    t.like(error, expected, `${kind}.fromFd(${fd})`)
  }
  if (adopted !== undefined) {
    adopted.detachFd()
    t.fail(`${kind}.fromFd(${fd}) adopted the descriptor`)
  }
  if (linux) t.is(fdTarget(fd), before, `${kind}.fromFd(${fd}) must leave the descriptor open`)
}

const WRONG_KIND = { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' }

/**
 * The descriptor of a source made for the test, handed over (`detachFd`):
 * one no source owns, which `fromFd` examines (a descriptor a live source
 * owns is refused as owned first; hostile-args.spec covers that).
 */
function unowned(source: { detachFd(): number }): number {
  return source.detachFd()
}

utest('(d) fromFd refuses a socket of the wrong type or family (TypeError ERR_INVALID_ARG_VALUE) and leaves it open', (t) => {
  const { poll, events } = initWithPoll()
  using _poll = poll
  const [us1Made, us2] = UnixStream.pair()
  using _us2 = us2
  const [ud1Made, ud2] = UnixDatagram.pair()
  using _ud2 = ud2
  const ok: Record<string, Kind[]> = {
    tcp: ['TcpListener', 'TcpStream'],
    udp: ['UdpSocket'],
    unixStream: ['UnixListener', 'UnixStream'],
    unixDatagram: ['UnixDatagram'],
  }
  const fds = {
    tcp: unowned(TcpListener.bind(ANY_LOCAL)),
    udp: unowned(UdpSocket.bind(ANY_LOCAL)),
    unixStream: unowned(us1Made),
    unixDatagram: unowned(ud1Made),
  }
  for (const [what, fd] of Object.entries(fds)) {
    for (const kind of [...SOCKET_KINDS, ...PIPE_KINDS]) {
      if (ok[what]?.includes(kind)) continue
      refuses(t, kind, fd, WRONG_KIND)
    }
  }
  const message = t.throws(() => UdpSocket.fromFd(fds.tcp))?.message ?? ''
  t.regex(message, new RegExp(`descriptor ${fds.tcp} is not UdpSocket`))

  // Adopted by the right class, each still works.
  using tcp = TcpListener.fromFd(fds.tcp)
  using udp = UdpSocket.fromFd(fds.udp)
  using us1 = UnixStream.fromFd(fds.unixStream)
  using _ud1 = UnixDatagram.fromFd(fds.unixDatagram)
  t.is(tcp.localAddr().address, '127.0.0.1')
  t.is(udp.sendTo(Buffer.from('x'), udp.localAddr()), 1)
  t.is(us1.write(Buffer.from('still mine')), 10)
  poll.registry.register(us2, SERVER, Interest.READABLE)
  expectEvents(t, poll, events, [{ token: SERVER, readiness: ['readable'] }])
  const got: Buffer[] = []
  drain(us2, got)
  t.is(Buffer.concat(got).toString(), 'still mine')
})

utest('(d) fromFd of a descriptor that is no socket: ENOTSOCK for socket kinds, TypeError for pipe kinds', (t) => {
  const [sender, receiver] = pipe()
  const ends = [unowned(sender), unowned(receiver)]
  t.teardown(() => ends.forEach((fd) => closeSync(fd)))
  const file = openSync(join(ROOT, 'package.json'), 'r')
  t.teardown(() => closeSync(file))
  for (const fd of [...ends, file]) {
    for (const kind of SOCKET_KINDS) refuses(t, kind, fd, { name: 'Error', code: 'ENOTSOCK', syscall: 'getsockopt' })
  }
  for (const kind of PIPE_KINDS) refuses(t, kind, file, WRONG_KIND)
  t.regex(t.throws(() => PipeReceiver.fromFd(file))?.message ?? '', /not a pipe/)
  // The file is still readable through its descriptor.
  t.true(isOpen(file))
})

utest('(d) fromFd of a closed descriptor is EBADF for every kind', (t) => {
  const fd = openSync(join(ROOT, 'package.json'), 'r')
  closeSync(fd)
  for (const kind of [...SOCKET_KINDS, ...PIPE_KINDS]) {
    // Synchronously after closeSync: nothing in this thread reopened the number.
    refuses(t, kind, fd, { name: 'Error', code: 'EBADF' })
    refuses(t, kind, 0x7fff_fffe, { name: 'Error', code: 'EBADF' })
  }
})

utest('(d) fromFd of a negative, fractional or non-number fd is a RangeError / TypeError', (t) => {
  for (const kind of [...SOCKET_KINDS, ...PIPE_KINDS]) {
    for (const fd of [-1, 1.5, NaN, Infinity, 2 ** 31]) {
      t.like(t.throws(() => FROM_FD[kind](fd)), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }, `${kind}.fromFd(${fd})`)
    }
    for (const fd of ['3', null, undefined, 3n, {}]) {
      t.like(t.throws(() => FROM_FD[kind](fd as never)), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }, `${kind}.fromFd(${String(fd)})`)
    }
  }
})

// fromFd checks the socket's role too: a listening socket adopted as a
// stream (or the other way round), or a pipe end adopted as the other end,
// is a TypeError ERR_INVALID_ARG_VALUE at once (SO_ACCEPTCONN for sockets,
// O_ACCMODE for pipe ends), not an ENOTCONN or EBADF later.
const roleTest = unix ? test : test.skip
roleTest('fromFd refuses a listening socket as a stream and a connected one as a listener', (t) => {
  using connection = polledConnection(t)
  const { listener, client } = connection
  const path = join(tempDir(t), 'role.sock')
  const [a, b] = UnixStream.pair()
  using _b = b
  const fds = { listener: unowned(listener), client: unowned(client), unixListener: unowned(UnixListener.bind(path)), a: unowned(a) }
  t.teardown(() => Object.values(fds).forEach((fd) => closeSync(fd)))
  refuses(t, 'TcpStream', fds.listener, WRONG_KIND)
  refuses(t, 'TcpListener', fds.client, WRONG_KIND)
  refuses(t, 'UnixStream', fds.unixListener, WRONG_KIND)
  refuses(t, 'UnixListener', fds.a, WRONG_KIND)
})

roleTest('fromFd refuses a pipe\'s read end as a PipeSender and its write end as a PipeReceiver', (t) => {
  const [sender, receiver] = pipe()
  const ends = { sender: unowned(sender), receiver: unowned(receiver) }
  t.teardown(() => Object.values(ends).forEach((fd) => closeSync(fd)))
  refuses(t, 'PipeSender', ends.receiver, WRONG_KIND)
  refuses(t, 'PipeReceiver', ends.sender, WRONG_KIND)
})

// ---- (e) detachFd and fd -------------------------------------------------------------

utest('(e) detachFd deregisters: no more events; the object is closed; the descriptor stays open and is the caller\'s', (t) => {
  using connection = polledConnection(t)
  const { poll, events, client, server } = connection
  poll.registry.register(server, SERVER, Interest.READABLE)
  const target = linux ? fdTarget(server.fd) : null
  const fd = server.detachFd()

  t.is(client.write(Buffer.from('after detach')), 12)
  expectNoEvents(t, poll, events)

  // The object is closed.
  t.true(server.closed)
  const closed = { code: 'ERR_SOCKET_CLOSED' }
  t.throws(() => server.read(Buffer.alloc(8)), closed)
  t.throws(() => server.fd, closed)
  t.throws(() => server.detachFd(), closed)
  t.throws(() => poll.registry.deregister(server), closed)
  t.throws(() => poll.registry.register(server, SERVER, Interest.READABLE), closed)
  t.notThrows(() => server.close())

  // The descriptor is open, still this connection, with the data waiting.
  t.true(isOpen(fd))
  if (linux) t.is(fdTarget(fd), target)
  using again = TcpStream.fromFd(fd)
  const got: Buffer[] = []
  drain(again, got)
  t.is(Buffer.concat(got).toString(), 'after detach')
})

utest('(e) detachFd of an unregistered source, and of a source whose Poll is closed', (t) => {
  const socket = UdpSocket.bind(ANY_LOCAL)
  const fd = socket.detachFd()
  t.true(isOpen(fd))
  using again = UdpSocket.fromFd(fd)

  const poll = new Poll()
  poll.registry.register(again, SERVER, Interest.READABLE)
  poll.close()
  const fd2 = again.detachFd()
  t.is(fd2, fd)
  t.true(isOpen(fd2))
  UdpSocket.fromFd(fd2).close()
})

utest('(e) SourceFd: fd is the descriptor given; detachFd is refused (it owns nothing); close() leaves it open', (t) => {
  const [sender, receiver] = pipe()
  using _s = sender
  using _r = receiver
  const source = new SourceFd(receiver.fd)
  t.is(source.fd, receiver.fd)
  t.like(t.throws(() => source.detachFd()), WRONG_KIND)
  t.false(source.closed)
  source.close()
  t.true(isOpen(receiver.fd))
})

utest('(e) fd matches what the OS sees (Linux /proc)', (t) => {
  if (!linux) return t.pass('/proc is Linux')
  using listener = TcpListener.bind(ANY_LOCAL)
  const tcpTarget = fdTarget(listener.fd)
  t.regex(tcpTarget ?? '', /^socket:\[\d+\]$/)
  t.deepEqual(inodesForPort('tcp', listener.localAddr().port, '127.0.0.1'), [/\d+/.exec(tcpTarget!)![0]])

  using udp = UdpSocket.bind(ANY_LOCAL)
  const udpTarget = fdTarget(udp.fd)
  t.deepEqual(inodesForPort('udp', udp.localAddr().port, '127.0.0.1'), [/\d+/.exec(udpTarget ?? '')?.[0]])

  const path = join(tempDir(t), 'fd.sock')
  using unixListener = UnixListener.bind(path)
  const unixInode = /\d+/.exec(fdTarget(unixListener.fd) ?? '')?.[0]
  const row = readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find((c) => c[7] === path)
  t.is(row?.[6], unixInode)

  const [sender, receiver] = pipe()
  using _s = sender
  using _r = receiver
  t.regex(fdTarget(sender.fd) ?? '', /^pipe:\[\d+\]$/)
  t.is(fdTarget(sender.fd), fdTarget(receiver.fd))
  t.is(fdFlags(sender.fd)! & O_ACCMODE, 1) // O_WRONLY
  t.is(fdFlags(receiver.fd)! & O_ACCMODE, 0) // O_RDONLY

  // Every source has its own descriptor, non-blocking.
  const fds = [listener.fd, udp.fd, unixListener.fd, sender.fd, receiver.fd]
  t.is(new Set(fds).size, fds.length)
  for (const fd of fds) t.not(fdFlags(fd)! & O_NONBLOCK, 0)
})

utest('(e) fd does not give the descriptor up: close() still closes it', (t) => {
  const socket = UdpSocket.bind(ANY_LOCAL)
  const fd = socket.fd
  t.is(socket.fd, fd)
  t.false(socket.closed)
  const target = linux ? fdTarget(fd) : null
  socket.close()
  t.throws(() => socket.fd, { code: 'ERR_SOCKET_CLOSED' })
  if (linux) t.not(fdTarget(fd), target)
})

utest('(e) close() of an adopted source closes the descriptor it adopted', (t) => {
  const [sender, receiver] = pipe()
  using _s = sender
  const target = linux ? fdTarget(receiver.fd) : null
  const adopted = PipeReceiver.fromFd(receiver.detachFd())
  const fd = adopted.fd
  adopted.close()
  if (linux) t.not(fdTarget(fd), target)
  // The sender sees the pipe's only reader gone.
  t.throws(() => sender.write(Buffer.from('x')), { code: 'EPIPE' })
})

// ---- ownership across garbage collection, and no leaks (serial: they count and watch descriptors) ----

const userial = unix ? test.serial : test.skip

userial('(e) a detached descriptor survives garbage collection of the object it came from', async (t) => {
  let fd = -1
  let target: string | null = null
  ;(() => {
    const socket = UdpSocket.bind(ANY_LOCAL)
    fd = socket.detachFd()
    target = linux ? fdTarget(fd) : null
  })()
  for (let i = 0; i < 10; i++) {
    gc()
    await delay(10)
  }
  t.true(isOpen(fd))
  if (linux) t.is(fdTarget(fd), target)
  closeSync(fd)
})

userial('(e) an adopted descriptor is closed when its forgotten object is garbage-collected', async (t) => {
  if (!linux) return t.pass('watches /proc/self/fd')
  const socket = UdpSocket.bind(ANY_LOCAL)
  const fd = socket.detachFd()
  const target = fdTarget(fd)
  ;(() => {
    UdpSocket.fromFd(fd)
  })()
  for (let i = 0; i < 100 && fdTarget(fd) === target; i++) {
    gc()
    await delay(10)
  }
  t.not(fdTarget(fd), target)
})

userial('no descriptor leaks across detach, adopt, refused adoption and close (Linux)', (t) => {
  if (!linux) return t.pass('counts /proc/self/fd')
  const before = openFdCount()
  for (let round = 0; round < 3; round++) {
    const listener = TcpListener.fromFd(TcpListener.bind(ANY_LOCAL).detachFd())
    const stream = TcpStream.connect(listener.localAddr(), { nodelay: true })
    TcpStream.fromFd(stream.detachFd()).close()
    for (const kind of ['UdpSocket', 'UnixStream', 'PipeSender'] as const) {
      try {
        FROM_FD[kind](listener.fd)
      } catch {
        // refused, as it must be
      }
    }
    const [sender, receiver] = pipe()
    PipeSender.fromFd(sender.detachFd()).close()
    PipeReceiver.fromFd(receiver.detachFd()).close()
    const [a, b] = UnixStream.pair()
    UnixStream.fromFd(a.detachFd()).close()
    b.close()
    const udp = UdpSocket.bind(ANY_LOCAL)
    closeSync(udp.detachFd())
    listener.close()
  }
  t.is(openFdCount(), before)
})
