// node-mio/unix-dgram: the `unix-dgram` package's API over node-mio
// (peer-suites.spec.ts runs the package's own tests). Descriptor passing as
// proposed to unix-dgram (its pull request #66, test/test-fd-passing.js:
// this spec does what that test does, written anew), Linux abstract names,
// the errors and callbacks as the original reports them, and ref/unref.
import test, { type ExecutionContext } from 'ava'
import dgram from 'node:dgram'
import { readFileSync, readSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createSocket, type UnixDgramRemoteInfo, type UnixDgramSocket } from 'node-mio/unix-dgram'
import { deferred, guard } from './support/async.ts'
import { runtime } from './support/platform.ts'
import { runNode } from './support/processes.ts'
import { closeSync, openSync } from './support/raw-fd.ts'
import { tempDir } from './support/sockets.ts'

const unixTest = process.platform !== 'win32' ? test : test.skip
const linuxTest = process.platform === 'linux' || process.platform === 'android' ? test : test.skip

function socket(t: ExecutionContext, listener?: (buf: Buffer, rinfo: UnixDgramRemoteInfo) => void): UnixDgramSocket {
  const s = createSocket('unix_dgram', listener)
  t.teardown(() => s.fd !== -1 && s.close())
  return s
}

/**
 * What a received descriptor's file holds, from its start (duplicates of
 * one descriptor share an offset). Deno's node:fs reads only descriptors it
 * opened: there, through /proc/self/fd (Deno runs the specs on Linux).
 */
function contentOf(fd: number): string {
  if (runtime === 'deno') return readFileSync(`/proc/self/fd/${fd}`, 'utf8')
  const bytes = Buffer.alloc(64)
  return bytes.toString('utf8', 0, readSync(fd, bytes, 0, 64, 0))
}

/** A fresh directory, a socket bound to `serverName` in it, and an unbound client (both closed when the test ends). */
function serverAndClient(t: ExecutionContext, serverName: string): { dir: string; server: UnixDgramSocket; client: UnixDgramSocket } {
  const dir = tempDir(t)
  const server = socket(t)
  server.bind(join(dir, serverName))
  return { dir, server, client: socket(t) }
}

/** The next `message` on `s`. */
function nextMessage(s: UnixDgramSocket): Promise<[Buffer, UnixDgramRemoteInfo]> {
  const { promise, resolve } = deferred<[Buffer, UnixDgramRemoteInfo]>()
  s.once('message', (buf: Buffer, rinfo: UnixDgramRemoteInfo) => resolve([buf, rinfo]))
  return guard(promise, 'a message')
}

unixTest('descriptor passing (unix-dgram pull request #66): send(buf, offset, length, path, fds, cb) delivers rinfo.fds', async (t) => {
  const dir = tempDir(t)
  const files = [join(dir, 'fd_test1.txt'), join(dir, 'fd_test2.txt')]
  writeFileSync(files[0]!, 'Hello from file 1')
  writeFileSync(files[1]!, 'Hello from file 2')
  const sent = files.map((f) => openSync(f, 'r'))
  t.teardown(() => sent.forEach((fd) => closeSync(fd)))
  const server = socket(t)
  const got = nextMessage(server)
  let listening = 0
  server.on('listening', () => listening++)
  server.bind(join(dir, 'server.sock'))
  t.is(listening, 1, "'listening' during bind()")
  const client = socket(t)
  const message = Buffer.from('Hello with FDs')
  let callbacks = 0
  client.send(message, 0, message.length, join(dir, 'server.sock'), sent, (err) => {
    t.is(err, undefined)
    callbacks++
  })
  t.is(callbacks, 1, 'the callback ran before send() returned, as the original')
  const [buf, rinfo] = await got
  t.is(buf.toString(), 'Hello with FDs')
  t.is(rinfo.size, message.length)
  t.is(rinfo.path, null, 'an unbound sender')
  t.is(rinfo.fds?.length, 2)
  for (let i = 0; i < 2; i++) {
    t.is(contentOf(rinfo.fds![i]!), readFileSync(files[i]!, 'utf8'), 'a working duplicate')
    t.not(rinfo.fds![i], sent[i])
    closeSync(rinfo.fds![i]!)
  }
  // A datagram without descriptors has no rinfo.fds.
  const plain = nextMessage(server)
  client.send(Buffer.from('plain'), 0, 5, join(dir, 'server.sock'))
  t.is((await plain)[1].fds, undefined)
})

unixTest('descriptor passing on a connected socket: send(buf, fds, cb)', async (t) => {
  const { dir, server, client } = serverAndClient(t, 's.sock')
  client.connect(join(dir, 's.sock'))
  const file = join(dir, 'f.txt')
  writeFileSync(file, 'connected fd')
  const fd = openSync(file, 'r')
  t.teardown(() => closeSync(fd))
  const got = nextMessage(server)
  let ok = 0
  client.send(Buffer.from('c'), [fd], (err) => {
    t.is(err, undefined)
    ok++
  })
  t.is(ok, 1)
  const [, rinfo] = await got
  t.is(rinfo.fds?.length, 1)
  t.is(contentOf(rinfo.fds![0]!), 'connected fd')
  closeSync(rinfo.fds![0]!)
})

unixTest("a bound sender's path, and a reply to it", async (t) => {
  const { dir, server, client } = serverAndClient(t, 'server.sock')
  client.bind(join(dir, 'client.sock'))
  const got = nextMessage(server)
  client.sendto(Buffer.from('ping'), 0, 4, join(dir, 'server.sock'))
  const [, rinfo] = await got
  t.is(rinfo.path, join(dir, 'client.sock'))
  const reply = nextMessage(client)
  server.send(Buffer.from('pong'), 0, 4, rinfo.path!)
  t.is((await reply)[0].toString(), 'pong')
  t.deepEqual(client.address(), { path: join(dir, 'client.sock') })
})

linuxTest('Linux abstract names: a leading NUL in bind, connect and send paths, and in rinfo.path', async (t) => {
  const name = `\0node-mio-compat-${process.pid}`
  const server = socket(t)
  server.bind(name)
  const client = socket(t)
  client.bind(`${name}-client`)
  client.connect(name)
  const got = nextMessage(server)
  client.send(Buffer.from('abstract'))
  const [buf, rinfo] = await got
  t.is(buf.toString(), 'abstract')
  t.is(rinfo.path, `${name}-client`)
  const back = nextMessage(client)
  server.send(Buffer.from('back'), 0, 4, rinfo.path!)
  t.is((await back)[0].toString(), 'back')
})

unixTest("errors as the original reports them: 'error' events, callback errors, negative errno codes", (t) => {
  const dir = tempDir(t)
  const a = socket(t)
  a.bind(join(dir, 'taken.sock'))
  const b = socket(t)
  const errors: Array<{ code: number; errno?: number; syscall?: string }> = []
  b.on('error', (err: { code: number; errno?: number; syscall?: string }) => errors.push(err))
  b.bind(join(dir, 'taken.sock'))
  b.connect(join(dir, 'nobody.sock'))
  b.send(Buffer.from('x'), 0, 1, join(dir, 'nobody.sock'))
  t.deepEqual(
    errors.map((e) => e.syscall),
    ['bind', 'connect', 'send'],
  )
  // EADDRINUSE, ENOENT, ENOENT (Linux's numbers; other systems number them their way).
  if (process.platform === 'linux') t.deepEqual(errors.map((e) => e.code), [-98, -2, -2])
  t.true(errors.every((e) => typeof e.code === 'number' && e.code < 0 && e.code === e.errno))
  let callbackError: { code: number; syscall?: string } | undefined
  b.send(Buffer.from('x'), 0, 1, join(dir, 'nobody.sock'), (err) => (callbackError = err))
  t.is(callbackError?.syscall, 'send')
  t.true(callbackError!.code < 0)
  t.is(errors.length, 3, 'with a callback, no error event')
  b.close()
  t.is(b.fd, -1)
  let afterClose: { code: number } | undefined
  b.send(Buffer.from('x'), 0, 1, join(dir, 'taken.sock'), (err) => (afterClose = err))
  t.is(afterClose?.code, -9, 'EBADF after close')
  t.throws(() => b.close(), { message: /^close -9/ })
})

unixTest('bad arguments are TypeError or RangeError', (t) => {
  t.throws(() => createSocket('unix_stream' as never), { message: 'Unsupported socket type: unix_stream' })
  const s = socket(t)
  t.throws(() => s.send('text' as never, 0, 4, '/tmp/x'), { instanceOf: TypeError })
  t.throws(() => s.send(Buffer.from('abc'), 2, 5, '/tmp/x'), { instanceOf: RangeError })
  t.throws(() => s.send(Buffer.from('abc'), -1, 1, '/tmp/x'), { instanceOf: RangeError })
  t.throws(() => s.send(Buffer.from('abc'), 0, 3, 42 as never), { instanceOf: TypeError })
  t.throws(() => s.send(Buffer.from('abc'), 0, 3, '/tmp/x', [-1]), { instanceOf: TypeError })
  t.throws(() => s.bind(undefined as never), { instanceOf: TypeError })
})

test("'udp4' and 'udp6' are node:dgram sockets, as the original returns", (t) => {
  const s = createSocket('udp4')
  t.true(s instanceof dgram.Socket)
  s.close()
})

unixTest('an open socket keeps the process alive until close(), unless unref()ed', async (t) => {
  // The unref'd timer fires only while the socket keeps the process alive.
  const kept = await runNode(
    `const { createSocket } = require('node-mio/unix-dgram')
     const s = createSocket('unix_dgram')
     setTimeout(() => { console.log('alive'); s.close() }, 50).unref()`,
  )
  t.is(kept.code, 0, kept.stderr)
  t.is(kept.stdout.trim(), 'alive')
  const unrefed = await runNode(
    `const { createSocket } = require('node-mio/unix-dgram')
     const s = createSocket('unix_dgram').unref()
     const r = createSocket('unix_dgram'); r.unref().ref(); r.close()
     setTimeout(() => console.log('unexpected: kept alive'), 60000).unref()`,
  )
  t.is(unrefed.code, 0, unrefed.stderr)
  t.is(unrefed.stdout, '')
})

unixTest('hostile fds: a getter that sends with other descriptors inside send() does not change what the outer send carries', async (t) => {
  const dir = tempDir(t)
  const files = ['outer.txt', 'inner.txt'].map((name) => join(dir, name))
  writeFileSync(files[0]!, 'outer')
  writeFileSync(files[1]!, 'inner')
  const [outerFd, innerFd] = files.map((f) => openSync(f, 'r')) as [number, number]
  t.teardown(() => {
    closeSync(outerFd)
    closeSync(innerFd)
  })
  const server = socket(t)
  server.bind(join(dir, 's.sock'))
  const client = socket(t)
  const got: string[] = []
  const both = deferred()
  server.on('message', (buf: Buffer, rinfo: UnixDgramRemoteInfo) => {
    got.push(`${buf}:${rinfo.fds!.map(contentOf).join(',')}`)
    for (const fd of rinfo.fds!) closeSync(fd)
    if (got.length === 2) both.resolve()
  })
  const fds: number[] = [outerFd]
  Object.defineProperty(fds, 1, {
    enumerable: true,
    get() {
      // Re-entry: another send with descriptors while the outer one reads its list.
      client.send(Buffer.from('inner'), 0, 5, join(dir, 's.sock'), [innerFd])
      return outerFd
    },
  })
  client.send(Buffer.from('outer'), 0, 5, join(dir, 's.sock'), fds)
  await guard(both.promise, 'both datagrams')
  t.deepEqual(got.sort(), ['inner:inner', 'outer:outer,outer'])
})
