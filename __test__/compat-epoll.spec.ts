// node-mio/epoll: the `epoll` package's API and epoll's semantics on top of
// node-mio (peer-suites.spec.ts runs the package's own tests). Level-triggered
// by default, EPOLLET, EPOLLONESHOT, EPOLLPRI, the errors, and the process
// lifetime, on pipes and sockets this spec makes.
import test, { type ExecutionContext } from 'ava'
import { pipe, TcpStream, type PipeReceiver, type PipeSender } from 'node-mio'
import { Epoll } from 'node-mio/epoll'
import { deferred, guard, settle } from './support/async.ts'
import { runNode } from './support/processes.ts'
import { closeSync } from './support/raw-fd.ts'
import { havePython3Oob, urgentDataPeer } from './support/shared-a-peers.ts'

const unix = process.platform !== 'win32'
const unixTest = unix ? test : test.skip
const linuxTest = process.platform === 'linux' ? test : test.skip

/** A pipe whose read end an Epoll watches; closes everything at the end of the test. */
function pipeFor(t: ExecutionContext): [PipeSender, PipeReceiver] {
  const [tx, rx] = pipe()
  t.teardown(() => {
    tx.close()
    rx.close()
  })
  return [tx, rx]
}

/** Collects events until `until(events)` holds; resolves with them. */
function collect(until: (seen: number[]) => boolean): { callback: (err: Error | null, fd: number, events: number) => void; done: Promise<number[]>; seen: number[] } {
  const seen: number[] = []
  const { promise, resolve, reject } = deferred<number[]>()
  let finished = false
  return {
    seen,
    done: guard(promise, () => `events (got ${JSON.stringify(seen)})`),
    callback(err, _fd, events) {
      if (err !== null) reject(err)
      seen.push(events)
      if (!finished && until(seen)) {
        finished = true
        resolve(seen)
      }
    },
  }
}

test('the constants are Linux epoll values, as static members', (t) => {
  t.is(Epoll.EPOLLIN, 0x1)
  t.is(Epoll.EPOLLPRI, 0x2)
  t.is(Epoll.EPOLLOUT, 0x4)
  t.is(Epoll.EPOLLERR, 0x8)
  t.is(Epoll.EPOLLHUP, 0x10)
  t.is(Epoll.EPOLLRDHUP, 0x2000)
  t.is(Epoll.EPOLLONESHOT, 0x4000_0000)
  t.is(Epoll.EPOLLET, 0x8000_0000)
})

unixTest('level-triggered: unread data reports on every turn until it is read, then never', async (t) => {
  const [tx, rx] = pipeFor(t)
  tx.write(Buffer.from('x'))
  let reads = 0
  const { promise, resolve } = deferred()
  const poller = new Epoll((err, fd, events) => {
    t.is(err, null)
    t.is(fd, rx.fd)
    t.is(events, Epoll.EPOLLIN)
    if (++reads === 5) {
      // The fifth report reads the byte: nothing is left to report.
      t.is(rx.read(Buffer.alloc(8)), 1)
      resolve()
    }
  })
  t.teardown(() => poller.closed || poller.close())
  poller.add(rx.fd, Epoll.EPOLLIN)
  await guard(promise, 'five level-triggered reports')
  await settle()
  t.is(reads, 5)
  // New data is a new report, and level-triggered again.
  const again = collect((seen) => seen.length === 3)
  const second = new Epoll(again.callback)
  t.teardown(() => second.close())
  poller.remove(rx.fd)
  tx.write(Buffer.from('y'))
  second.add(rx.fd, Epoll.EPOLLIN)
  t.deepEqual(await again.done, [Epoll.EPOLLIN, Epoll.EPOLLIN, Epoll.EPOLLIN])
})

unixTest('a drained descriptor reports again when new data comes (the selector wakes it)', async (t) => {
  const [tx, rx] = pipeFor(t)
  let count = 0
  let next = deferred()
  const poller = new Epoll(() => {
    count++
    t.is(rx.read(Buffer.alloc(8)), 1)
    next.resolve()
  })
  t.teardown(() => poller.close())
  poller.add(rx.fd, Epoll.EPOLLIN)
  for (let i = 1; i <= 3; i++) {
    tx.write(Buffer.from('z'))
    await guard(next.promise, `report ${i}`)
    next = deferred()
    await settle()
    t.is(count, i, 'one report per write: each was read at once')
  }
})

unixTest('EPOLLET: one report per change, data left unread or not', async (t) => {
  const [tx, rx] = pipeFor(t)
  const first = deferred()
  let count = 0
  const poller = new Epoll((_err, _fd, events) => {
    t.is(events, Epoll.EPOLLIN)
    count++
    first.resolve()
  })
  t.teardown(() => poller.close())
  poller.add(rx.fd, Epoll.EPOLLIN | Epoll.EPOLLET)
  tx.write(Buffer.from('a'))
  await guard(first.promise, 'the edge')
  await settle()
  t.is(count, 1)
  tx.write(Buffer.from('b'))
  await guard(
    new Promise<void>((resolve) => {
      const check = (): void => (count === 2 ? resolve() : void setImmediate(check))
      check()
    }),
    'the second edge',
  )
  await settle()
  t.is(count, 2)
})

unixTest('EPOLLONESHOT: disarmed after one report until modify() re-arms it', async (t) => {
  const [tx, rx] = pipeFor(t)
  tx.write(Buffer.from('x'))
  let count = 0
  let next = deferred()
  const poller = new Epoll((_err, _fd, events) => {
    t.is(events, Epoll.EPOLLIN)
    count++
    next.resolve()
  })
  t.teardown(() => poller.close())
  poller.add(rx.fd, Epoll.EPOLLIN | Epoll.EPOLLONESHOT)
  await guard(next.promise, 'the one shot')
  next = deferred()
  await settle()
  t.is(count, 1, 'disarmed though the data is still unread')
  poller.modify(rx.fd, Epoll.EPOLLIN | Epoll.EPOLLONESHOT)
  await guard(next.promise, 'the second shot after modify')
  await settle()
  t.is(count, 2)
  // modify to level-triggered: reports keep coming.
  const many = deferred()
  let more = 0
  const lt = new Epoll(() => ++more === 3 && many.resolve())
  t.teardown(() => lt.close())
  poller.remove(rx.fd)
  lt.add(rx.fd, Epoll.EPOLLONESHOT | Epoll.EPOLLIN).modify(rx.fd, Epoll.EPOLLIN)
  await guard(many.promise, 'level-triggered reports after modify')
  t.pass()
})

unixTest('EPOLLOUT and modify(): a pipe write end is writable; modify switches the interest', async (t) => {
  const [tx, rx] = pipeFor(t)
  const out = collect((seen) => seen.length === 2)
  const poller = new Epoll(out.callback)
  t.teardown(() => poller.close())
  poller.add(tx.fd, Epoll.EPOLLOUT)
  t.deepEqual(await out.done, [Epoll.EPOLLOUT, Epoll.EPOLLOUT])
  // Switch to EPOLLIN on the write end: never readable, so no reports.
  poller.modify(tx.fd, Epoll.EPOLLIN)
  const seen = out.seen.length
  await settle()
  t.true(out.seen.length - seen <= 1, 'at most one report already on its way')
  void rx
})

unixTest('a closed writer: EPOLLHUP (with EPOLLIN while data waits), reported even when not asked for', async (t) => {
  const [tx, rx] = pipeFor(t)
  tx.write(Buffer.from('x'))
  tx.close()
  const first = collect((seen) => seen.length === 2)
  const poller = new Epoll(first.callback)
  t.teardown(() => poller.close())
  poller.add(rx.fd, Epoll.EPOLLIN)
  t.deepEqual(await first.done, [Epoll.EPOLLIN | Epoll.EPOLLHUP, Epoll.EPOLLIN | Epoll.EPOLLHUP])
  poller.remove(rx.fd)
  const hup = collect((seen) => seen.length === 1)
  const other = new Epoll(hup.callback)
  t.teardown(() => other.close())
  other.add(rx.fd, Epoll.EPOLLOUT | Epoll.EPOLLET)
  t.deepEqual(await hup.done, [Epoll.EPOLLHUP])
})

unixTest('the callback may remove its descriptor or close the instance: no report after that', async (t) => {
  const [tx, rx] = pipeFor(t)
  tx.write(Buffer.from('x'))
  let removed = 0
  const one = deferred()
  const a = new Epoll((_err, fd) => {
    removed++
    a.remove(fd)
    one.resolve()
  })
  a.add(rx.fd, Epoll.EPOLLIN)
  await guard(one.promise, 'the report that removes')
  let closed = 0
  const two = deferred()
  const b = new Epoll(() => {
    closed++
    b.close()
    two.resolve()
  })
  b.add(rx.fd, Epoll.EPOLLIN)
  await guard(two.promise, 'the report that closes')
  await settle()
  t.is(removed, 1)
  t.is(closed, 1)
  t.true(b.closed)
  a.close()
})

unixTest('errors as epoll throws them', (t) => {
  const [, rx] = pipeFor(t)
  t.throws(() => new Epoll(undefined as never), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  const poller = new Epoll(() => {})
  t.is(poller.add(rx.fd, Epoll.EPOLLIN), poller, 'add returns the instance')
  t.throws(() => poller.add(rx.fd, Epoll.EPOLLIN), { code: 'EEXIST', message: 'File exists' })
  t.throws(() => poller.modify(rx.fd + 1000, Epoll.EPOLLIN), { code: 'ENOENT', message: 'No such file or directory' })
  t.throws(() => poller.remove(rx.fd + 1000), { code: 'ENOENT' })
  t.throws(() => poller.add(-1, Epoll.EPOLLIN), { instanceOf: TypeError })
  t.throws(() => poller.add(1.5, Epoll.EPOLLIN), { instanceOf: TypeError })
  t.throws(() => poller.add(rx.fd, 'x' as never), { instanceOf: TypeError })
  t.is(poller.modify(rx.fd, Epoll.EPOLLOUT), poller)
  t.is(poller.remove(rx.fd), poller)
  t.false(poller.closed)
  t.is(poller.close(), poller)
  t.true(poller.closed)
  t.throws(() => poller.add(rx.fd, Epoll.EPOLLIN), { message: "add can't be called after calling close" })
  t.throws(() => poller.modify(rx.fd, Epoll.EPOLLIN), { message: "modify can't be called after calling close" })
  t.throws(() => poller.remove(rx.fd), { message: "remove can't be called after calling close" })
  t.throws(() => poller.close(), { message: "close can't be called more than once" })
})

unixTest('a descriptor closed while registered: remove() throws EBADF and forgets it', (t) => {
  const [tx, rx] = pipe()
  const fd = rx.detachFd()
  const poller = new Epoll(() => {})
  t.teardown(() => {
    tx.close()
    if (!poller.closed) poller.close()
  })
  poller.add(fd, Epoll.EPOLLIN)
  closeSync(fd)
  t.throws(() => poller.remove(fd), { code: 'EBADF' })
  t.throws(() => poller.remove(fd), { code: 'ENOENT' }, 'forgotten')
  t.throws(() => poller.add(fd, Epoll.EPOLLIN), { code: 'EBADF' })
})

unixTest('the process stays alive while a descriptor is registered on an open instance, not after close()', async (t) => {
  // The unref'd timer fires only if something else keeps the process alive:
  // the registered descriptor. Its callback closes the instance; then
  // nothing is left and the process exits.
  const { code, stdout, stderr } = await runNode(
    `const { Epoll } = require('node-mio/epoll')
     const { pipe } = require('node-mio')
     const [tx, rx] = pipe()
     const poller = new Epoll(() => {})
     poller.add(rx.fd, Epoll.EPOLLIN)
     setTimeout(() => { poller.remove(rx.fd); console.log('alive'); setTimeout(() => console.log('unexpected: still alive'), 60000).unref() }, 50).unref()
     const idle = new Epoll(() => {})
     idle.add(tx.fd, Epoll.EPOLLIN).remove(tx.fd)`,
  )
  t.is(code, 0, stderr)
  t.deepEqual(stdout.trim().split('\n'), ['alive'])
})

unixTest('works in a worker thread, and the worker exits cleanly', async (t) => {
  const { code, stdout, stderr } = await runNode(
    `const { Worker } = require('node:worker_threads')
     const w = new Worker(\`
       const { Epoll } = require('node-mio/epoll')
       const { pipe } = require('node-mio')
       const { parentPort } = require('node:worker_threads')
       const [tx, rx] = pipe()
       const poller = new Epoll((err, fd, events) => {
         rx.read(Buffer.alloc(8))
         poller.remove(fd).close()
         tx.close(); rx.close()
         parentPort.postMessage(events)
       })
       poller.add(rx.fd, Epoll.EPOLLIN)
       tx.write(Buffer.from('w'))
     \`, { eval: true })
     w.on('message', (events) => console.log(\`events \${events}\`))
     w.on('exit', (code) => console.log(\`exit \${code}\`))`,
  )
  t.is(code, 0, stderr)
  t.deepEqual(stdout.trim().split('\n'), ['events 1', 'exit 0'])
})

const priTest = process.platform === 'linux' && havePython3Oob() ? linuxTest : test.skip
priTest('EPOLLPRI: urgent (out-of-band) TCP data reports EPOLLPRI, level-triggered until read', async (t) => {
  const peer = await urgentDataPeer('!')
  t.teardown(() => peer.kill())
  const client = TcpStream.connect(peer.addr)
  t.teardown(() => client.close())
  const pri = collect((seen) => seen.length === 3)
  const poller = new Epoll(pri.callback)
  t.teardown(() => poller.close())
  poller.add(client.fd, Epoll.EPOLLPRI)
  for (const events of await pri.done) t.is(events & Epoll.EPOLLPRI, Epoll.EPOLLPRI)
  t.is(await peer.finish(), 0, 'the python3 peer failed')
})

const notLinux = unix && process.platform !== 'linux' && process.platform !== 'android' ? test : test.skip
notLinux('EPOLLPRI where the selector has no priority events: a clear error', (t) => {
  const [, rx] = pipeFor(t)
  const poller = new Epoll(() => {})
  t.teardown(() => poller.close())
  t.throws(() => poller.add(rx.fd, Epoll.EPOLLPRI), { code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM', message: /EPOLLPRI/ })
})
