// Watch mode: readiness on Node's own event loop (`poll.watch`), and what is
// built on it (`pollAsync`, `batches`).
//
// A watch puts the Poll's epoll/kqueue descriptor on this thread's libuv loop,
// so everything here runs in one thread: node:net and node:dgram peers,
// timers and fs calls share the loop with the watched node-mio sockets. What
// must be seen from outside a process (an uncaught exception, whether the
// process stays alive, which thread pool is used) runs in a child process
// (`runNode`), checked by its exit code and the order of what it printed,
// never by elapsed time.
import test from 'ava'
import dgram from 'node:dgram'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import net from 'node:net'
import {
  Events,
  Interest,
  Poll,
  TcpListener,
  Token,
  UdpSocket,
  Waker,
  type Event,
  type TcpStream,
  type Watch,
} from 'node-mio'
import * as raw from '../index.js'
import { client, deferred, exitFromWatchCallback, guard, linesOf, runNode, settle, tenThousandDatagrams, tokensOf, watchedEchoWithTimers, watchedTcpRecords } from './helpers'

const supported = process.platform !== 'win32'
const unixTest = supported ? test : test.skip

// The tests below are the uv driver's; Windows has no uv driver (its IOCP
// has no descriptor for libuv), and runs the same contract with the thread
// driver in watch-thread.spec.ts. What Windows lacks, asserted:
test('the uv driver exists where the selector has a descriptor; elsewhere it is ERR_FEATURE_UNAVAILABLE_ON_PLATFORM and watches use the thread', (t) => {
  const poll = new Poll()
  try {
    const watch = poll.watch(new Events(4), () => {})
    t.is(watch.mode, supported ? 'uv' : 'thread')
    watch.stop()
  } finally {
    poll.close()
  }
  if (supported) {
    t.deepEqual(raw.watchDrivers(), ['uv', 'thread'])
    return
  }
  t.deepEqual(raw.watchDrivers(), ['thread'])
  const handle = raw.pollNew()
  try {
    t.throws(() => raw.watchStart(handle, 'uv', 4, () => {}), { code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' })
  } finally {
    raw.pollClose(handle)
  }
})

/** How long to wait for something before failing (a guard against a hang, not a measurement). */


unixTest('watch: a node:net client in this thread talks to a watched node-mio server; timers and fs keep running', (t) => watchedEchoWithTimers(t, 'uv'))

unixTest('watch: register, reregister, deregister, close and wake from inside the callback', async (t) => {
  const poll = new Poll()
  const events = new Events(16)
  const WAKE = Token(100)
  const waker = new Waker(poll.registry, WAKE)
  const a = UdpSocket.bind('127.0.0.1:0')
  const b = UdpSocket.bind('127.0.0.1:0')
  const sender = UdpSocket.bind('127.0.0.1:0')
  t.teardown(() => {
    for (const s of [a, b, sender]) s.close()
    waker.close()
    poll.close()
  })
  const buf = Buffer.alloc(64)
  const recvText = (s: UdpSocket): string | null => {
    const info = s.recvFrom(buf)
    return info === null ? null : buf.subarray(0, info.size).toString()
  }

  const batches: Token[][] = []
  const done = deferred()
  let step = 0
  const watch = poll.watch(events, (batch) => {
    const tokens = tokensOf(batch)
    batches.push(tokens)
    try {
      switch (step++) {
        case 0:
          // Woken from outside. Register a socket from here and give it a datagram.
          t.deepEqual(tokens, [WAKE])
          poll.registry.register(a, Token(1), Interest.READABLE)
          sender.sendTo(Buffer.from('a1'), a.localAddr())
          break
        case 1:
          // The socket registered in the callback is delivered.
          t.deepEqual(tokens, [1])
          t.is(recvText(a), 'a1')
          t.is(recvText(a), null)
          // Reregister under another token, then another datagram.
          poll.registry.reregister(a, Token(2), Interest.READABLE)
          sender.sendTo(Buffer.from('a2'), a.localAddr())
          break
        case 2:
          t.deepEqual(tokens, [2], 'the new token after reregister')
          t.is(recvText(a), 'a2')
          t.is(recvText(a), null)
          // Deregister it, send to it anyway, and wake from the callback.
          poll.registry.deregister(a)
          sender.sendTo(Buffer.from('a3'), a.localAddr())
          waker.wake()
          break
        case 3:
          t.deepEqual(tokens, [WAKE], 'only the wake: the deregistered socket has no events')
          t.is(recvText(a), 'a3', 'the datagram reached the deregistered socket')
          // Close a registered socket from the callback after giving it data.
          poll.registry.register(b, Token(3), Interest.READABLE)
          sender.sendTo(Buffer.from('b1'), b.localAddr())
          break
        case 4:
          t.deepEqual(tokens, [3])
          sender.sendTo(Buffer.from('b2'), b.localAddr())
          b.close()
          waker.wake()
          break
        case 5:
          t.deepEqual(tokens, [WAKE], 'only the wake: the closed socket has no events')
          // Finally close the Poll itself from its own callback.
          poll.close()
          t.false(watch.active, 'closing the Poll stopped the watch')
          done.resolve()
          break
        default:
          t.fail(`a callback after the Poll closed: ${tokens}`)
      }
    } catch (error) {
      done.reject(error)
    }
  })
  waker.wake()
  await guard(done.promise, `the callback steps (at step ${step}, batches ${JSON.stringify(batches)})`)
  await settle()
  t.is(batches.length, 6, 'no callback after the Poll closed')
  t.true(poll.closed)
})

unixTest('watch: an exception thrown by the callback is an uncaught exception (no handler: the process dies with it)', async (t) => {
  const result = await runNode(`
    const { Events, Poll, Token, Waker } = require('node-mio')
    const poll = new Poll()
    const waker = new Waker(poll.registry, Token(7))
    poll.watch(new Events(8), (events) => {
      console.log('callback ' + [...events].map((e) => e.token).join(','))
      throw new Error('boom from the watch callback')
    })
    setTimeout(() => console.log('still running'), 60_000).unref()
    process.on('exit', (code) => console.log('exit ' + code))
    waker.wake()
  `)
  t.is(result.signal, null)
  t.is(result.code, 1, `stderr:\n${result.stderr}`)
  t.deepEqual(linesOf(result.stdout), ['callback 7', 'exit 1'])
  t.regex(result.stderr, /Error: boom from the watch callback/)
  t.regex(result.stderr, /\[eval\]/, 'the stack names the callback')
})

unixTest('watch: after an uncaught exception in the callback the watch keeps delivering, consistently', async (t) => {
  // Batch 1 (a datagram) throws before reading. The handler sends a second
  // datagram: batch 2 finds both queued. A wake then ends it (batch 3).
  const result = await runNode(`
    const { Events, Interest, Poll, Token, UdpSocket, Waker } = require('node-mio')
    const poll = new Poll()
    const waker = new Waker(poll.registry, Token(9))
    const socket = UdpSocket.bind('127.0.0.1:0')
    const sender = UdpSocket.bind('127.0.0.1:0')
    poll.registry.register(socket, Token(1), Interest.READABLE)
    const buf = Buffer.alloc(16)
    let batch = 0
    const watch = poll.watch(new Events(8), (events) => {
      batch++
      console.log('batch ' + batch + ': ' + [...events].map((e) => e.token).join(','))
      if (batch === 1) throw new Error('boom ' + batch)
      if (batch === 2) {
        const got = []
        for (let info; (info = socket.recvFrom(buf)) !== null; ) got.push(buf.subarray(0, info.size).toString())
        console.log('read ' + got.join(','))
        waker.wake()
      }
      if (batch === 3) {
        watch.stop()
        for (const s of [socket, sender, waker, poll]) s.close()
      }
    })
    process.on('uncaughtException', (error) => {
      console.log('uncaught ' + error.message + ', watch active: ' + watch.active)
      sender.sendTo(Buffer.from('two'), socket.localAddr())
    })
    process.on('exit', (code) => console.log('exit ' + code))
    sender.sendTo(Buffer.from('one'), socket.localAddr())
  `)
  t.is(result.code, 0, `stderr:\n${result.stderr}`)
  t.deepEqual(linesOf(result.stdout), [
    'batch 1: 1',
    'uncaught boom 1, watch active: true',
    'batch 2: 1',
    'read one,two',
    'batch 3: 9',
    'exit 0',
  ])
  t.is(result.stderr, '')
})

unixTest('watch: stop() stops the callbacks, from outside and from inside the callback', async (t) => {
  const poll = new Poll()
  const events = new Events(8)
  const WAKE = Token(5)
  const waker = new Waker(poll.registry, WAKE)
  t.teardown(() => {
    waker.close()
    poll.close()
  })

  let calls = 0
  let first = deferred()
  const watch = poll.watch(events, (batch) => {
    calls++
    t.deepEqual(tokensOf(batch), [WAKE])
    first.resolve()
  })
  t.true(watch.active)
  t.true(watch.hasRef())
  waker.wake()
  await guard(first.promise, 'the first callback')
  t.is(calls, 1)

  watch.stop()
  t.false(watch.active)
  t.false(watch.hasRef())
  watch.stop() // again: nothing
  watch.ref() // on a stopped watch: nothing, no throw
  watch.unref()
  t.false(watch.hasRef())
  waker.wake()
  await settle()
  t.is(calls, 1, 'no callback after stop()')
  // Nothing polled the Poll either: the wake is still there for a plain poll.
  t.is(poll.poll(events, 0), 1)
  t.deepEqual(tokensOf(events), [WAKE])

  // A new watch is allowed after stop(); this one stops itself in its callback.
  let inner = 0
  first = deferred()
  const again = poll.watch(events, () => {
    inner++
    again.stop()
    waker.wake() // would call back again if the watch were still running
    first.resolve()
  })
  waker.wake()
  await guard(first.promise, 'the second watch to call back')
  await settle()
  t.is(inner, 1, 'no callback after stop() inside the callback')
  t.false(again.active)
  t.is(poll.poll(events, 0), 1, 'the wake from inside the stopped callback is still pending')

  // Symbol.dispose stops it too.
  {
    using disposable = poll.watch(events, () => {
      inner++
    })
    t.true(disposable.active)
  }
  waker.wake()
  await settle()
  t.is(inner, 1, 'no callback after disposal')
})

unixTest('watch: a second watch (or a pollAsync) on a watched Poll is EEXIST; the first keeps working', async (t) => {
  const poll = new Poll()
  const events = new Events(8)
  const waker = new Waker(poll.registry, Token(1))
  t.teardown(() => {
    waker.close()
    poll.close()
  })
  let firstCalls = 0
  const delivered = deferred()
  const watch = poll.watch(events, () => {
    firstCalls++
    delivered.resolve()
  })
  const error = t.throws(() => poll.watch(new Events(8), () => t.fail('the refused watch called back')), { code: 'EEXIST' })
  t.true(error instanceof Error)
  await t.throwsAsync(poll.pollAsync(new Events(8), null), { code: 'EEXIST' })
  await t.throwsAsync(poll.pollAsync(new Events(8), 1000), { code: 'EEXIST' })
  t.true(watch.active, 'the refused attempts did not touch the running watch')

  waker.wake()
  await guard(delivered.promise, 'the first watch to call back')
  t.is(firstCalls, 1)

  // Once stopped, the Poll can be watched again.
  watch.stop()
  const second = deferred()
  const again = poll.watch(events, () => second.resolve())
  waker.wake()
  await guard(second.promise, 'the new watch to call back')
  again.stop()

  // Two pending pollAsync on one Poll: the second is refused, the first still resolves.
  const pending = poll.pollAsync(events, null)
  await t.throwsAsync(poll.pollAsync(new Events(8), null), { code: 'EEXIST' })
  waker.wake()
  t.is(await guard(pending, 'the first pollAsync'), 1)
})

unixTest('watch: closing the Poll stops its watch', async (t) => {
  const poll = new Poll()
  const events = new Events(8)
  const waker = new Waker(poll.registry, Token(1))
  t.teardown(() => waker.close())
  let calls = 0
  const watch = poll.watch(events, () => {
    calls++
  })
  // An event is pending, but the Poll closes before the loop gets to it.
  waker.wake()
  poll.close()
  t.false(watch.active)
  t.false(watch.hasRef())
  await settle()
  t.is(calls, 0, 'no callback once the Poll is closed')
  watch.stop() // after close: nothing
  t.throws(() => poll.watch(events, () => {}), { code: 'ERR_MIO_CLOSED' })
  await t.throwsAsync(poll.pollAsync(events, 10), { code: 'ERR_MIO_CLOSED' })
})

unixTest('watch: a Poll closed and a new Poll watched in the same tick (the descriptor number is reused)', async (t) => {
  // Each round closes a watched Poll and watches a new one at once, both
  // outside and inside a callback; the new Poll usually gets the same
  // descriptor number, which libuv must watch afresh.
  const rounds = 20
  let received = 0
  const all = deferred()
  let current: { poll: Poll; waker: Waker } | undefined
  const start = (round: number): void => {
    const poll = new Poll()
    const waker = new Waker(poll.registry, Token(round))
    current = { poll, waker }
    poll.watch(new Events(4), (events) => {
      t.deepEqual(tokensOf(events), [round])
      received++
      waker.close()
      poll.close()
      if (round + 1 < rounds) {
        if (round % 2 === 0) start(round + 1) // inside the callback
        else setImmediate(() => start(round + 1))
      } else {
        all.resolve()
      }
    })
    waker.wake()
  }
  t.teardown(() => {
    current?.waker.close()
    current?.poll.close()
  })
  start(0)
  await guard(all.promise, `${rounds} rounds (got ${received})`)
  t.is(received, rounds)
})

unixTest('watch: many watched Polls at once each get their own events', async (t) => {
  const count = 50
  const polls = Array.from({ length: count }, (_, i) => {
    const poll = new Poll()
    return { poll, waker: new Waker(poll.registry, Token(i)), calls: 0 }
  })
  t.teardown(() => {
    for (const { poll, waker } of polls) {
      waker.close()
      poll.close()
    }
  })
  let remaining = count
  const all = deferred()
  for (const [i, entry] of polls.entries()) {
    entry.poll.watch(new Events(4), (events) => {
      t.deepEqual(tokensOf(events), [i])
      entry.calls++
      if (--remaining === 0) all.resolve()
    })
  }
  for (const { waker } of polls) waker.wake()
  await guard(all.promise, 'every Poll to call back')
  await settle()
  t.deepEqual(
    polls.map((p) => p.calls),
    polls.map(() => 1),
  )
})

unixTest('watch: a running watch keeps its Poll alive though nothing else refers to them', async (t) => {
  // Only the waker (to wake it) and a counter outlive this block; the Poll,
  // its Events and the Watch object are garbage once it ends.
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) return t.pass('needs --expose-gc (the ava config passes it)')
  let calls = 0
  let notify: (() => void) | undefined
  const keep = ((): { waker: Waker; stop: () => void } => {
    const poll = new Poll()
    const waker = new Waker(poll.registry, Token(3))
    const watch = poll.watch(new Events(4), () => {
      calls++
      notify?.()
    })
    const watchRef = new WeakRef(watch)
    const pollRef = new WeakRef(poll)
    return {
      waker,
      stop: () => {
        watchRef.deref()?.stop()
        pollRef.deref()?.close()
      },
    }
  })()
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  for (let round = 1; round <= 3; round++) {
    const arrived = new Promise<void>((resolve) => (notify = resolve))
    keep.waker.wake()
    await guard(arrived, `callback ${round} after gc`)
    t.is(calls, round)
    gc()
  }
  keep.stop()
  keep.waker.close()
})

unixTest('watch: an idle unref\'d watch does not keep the process alive; a ref\'d one does', async (t) => {
  // The only other thing scheduled is an unref'd timer: if the process stays
  // alive until it fires, the watch kept it alive.
  const script = (mode: string): string => `
    const { Events, Poll } = require('node-mio')
    const poll = new Poll()
    const watch = poll.watch(new Events(8), () => console.log('unexpected callback'))
    if (${JSON.stringify(mode)} === 'unref') watch.unref()
    if (${JSON.stringify(mode)} === 'unref-ref') watch.unref().ref()
    console.log('started, hasRef ' + watch.hasRef())
    setTimeout(() => {
      console.log('timer: stopping the watch')
      watch.stop()
      poll.close()
    }, 300).unref()
    process.on('exit', (code) => console.log('exit ' + code + ', active ' + watch.active))
  `
  const unrefd = await runNode(script('unref'))
  t.is(unrefd.code, 0, unrefd.stderr)
  t.deepEqual(linesOf(unrefd.stdout), ['started, hasRef false', 'exit 0, active true'], 'exits by itself, before the timer')

  const refd = await runNode(script('ref'))
  t.is(refd.code, 0, refd.stderr)
  t.deepEqual(linesOf(refd.stdout), ['started, hasRef true', 'timer: stopping the watch', 'exit 0, active false'])

  const reRefd = await runNode(script('unref-ref'))
  t.is(reRefd.code, 0, reRefd.stderr)
  t.deepEqual(linesOf(reRefd.stdout), ['started, hasRef true', 'timer: stopping the watch', 'exit 0, active false'])
  t.is(unrefd.stderr + refd.stderr + reRefd.stderr, '')
})

unixTest('watch: the process exits by itself once every watch is stopped', async (t) => {
  // Three watched Polls with traffic, ended three ways: stop() inside the
  // callback, stop() from a timer, closing the Poll. Then nothing is left:
  // the loop empties and 'beforeExit' runs (no process.exit()).
  const result = await runNode(`
    const { Events, Interest, Poll, Token, UdpSocket, Waker } = require('node-mio')
    const made = []
    for (let i = 0; i < 3; i++) {
      const poll = new Poll()
      const waker = new Waker(poll.registry, Token(i))
      const socket = UdpSocket.bind('127.0.0.1:0')
      poll.registry.register(socket, Token(10 + i), Interest.READABLE)
      made.push({ poll, waker, socket })
    }
    const sender = UdpSocket.bind('127.0.0.1:0')
    const ended = []
    const watches = made.map(({ poll, socket }, i) => poll.watch(new Events(8), (events) => {
      for (const e of events) console.log('poll ' + i + ' token ' + e.token)
      while (socket.recvFrom(Buffer.alloc(16)) !== null) {}
      if (i === 0) { watches[0].stop(); ended.push(0) }
      if (i === 1) setTimeout(() => { watches[1].stop(); ended.push(1) }, 10)
      if (i === 2) setTimeout(() => { poll.close(); ended.push(2) }, 10)
    }))
    for (const { socket } of made) sender.sendTo(Buffer.from('x'), socket.localAddr())
    process.on('beforeExit', () => {
      console.log('beforeExit: ended ' + ended.sort().join(',') + ', active ' + watches.map((w) => w.active).join(','))
      for (const { poll, waker, socket } of made) { socket.close(); waker.close(); poll.close() }
      sender.close()
    })
    process.on('exit', (code) => console.log('exit ' + code))
  `)
  t.is(result.code, 0, result.stderr)
  const lines = linesOf(result.stdout)
  t.deepEqual(lines.slice(0, 3).sort(), ['poll 0 token 10', 'poll 1 token 11', 'poll 2 token 12'])
  t.deepEqual(lines.slice(3), ['beforeExit: ended 0,1,2, active false,false,false', 'exit 0'])
  t.is(result.stderr, '')
})

unixTest('watch: more ready sources than the Events capacity: the rest come in the next callbacks, none lost', async (t) => {
  // Five sockets are made ready (before the watch starts, on loopback);
  // Events(1) takes one per poll, and the selector stays readable until all
  // were taken.
  const poll = new Poll()
  const sockets = Array.from({ length: 5 }, () => UdpSocket.bind('127.0.0.1:0'))
  const sender = UdpSocket.bind('127.0.0.1:0')
  t.teardown(() => {
    for (const s of [...sockets, sender, poll]) s.close()
  })
  sockets.forEach((s, i) => poll.registry.register(s, Token(i), Interest.READABLE))
  for (const s of sockets) sender.sendTo(Buffer.from('x'), s.localAddr())
  const seen: Token[][] = []
  const all = deferred()
  const watch = poll.watch(new Events(1), (events) => {
    seen.push(tokensOf(events))
    if (seen.length === sockets.length) all.resolve()
  })
  await guard(all.promise, `five callbacks (got ${JSON.stringify(seen)})`)
  await settle()
  watch.stop()
  t.is(seen.length, 5, 'one callback per event, no extra')
  t.true(seen.every((batch) => batch.length === 1))
  t.deepEqual(seen.flat().sort(), [0, 1, 2, 3, 4])
})

unixTest('watch: process.exit() from inside the callback exits with its code, other watches running', (t) => exitFromWatchCallback(t))

unixTest('watch: 10,000 datagrams from 10 sources, none lost, in order per source', (t) => tenThousandDatagrams(t, 'uv'))

unixTest('watch: 10 TCP connections each send 1,000 numbered records; the watched server gets every byte, in order', async (t) => watchedTcpRecords(t))

unixTest('pollAsync: resolves with the events that arrived, at once when some are ready, 0 on timeout', async (t) => {
  const poll = new Poll()
  const events = new Events(8)
  const socket = UdpSocket.bind('127.0.0.1:0')
  const sender = UdpSocket.bind('127.0.0.1:0')
  t.teardown(() => {
    for (const s of [socket, sender, poll]) s.close()
  })
  poll.registry.register(socket, Token(4), Interest.READABLE)

  // Nothing ready: pending until the datagram arrives (sent from a timer).
  const pending = poll.pollAsync(events, null)
  setTimeout(() => sender.sendTo(Buffer.from('hi'), socket.localAddr()), 20)
  t.is(await guard(pending, 'pollAsync to resolve'), 1)
  t.deepEqual(
    [...events].map((e) => [e.token, e.isReadable()]),
    [[4, true]],
  )
  t.is(socket.recvFrom(Buffer.alloc(8))?.size, 2)

  // Something already ready: resolves without waiting for the loop.
  sender.sendTo(Buffer.from('again'), socket.localAddr())
  let count = 0
  for (let i = 0; i < 100 && count === 0; i++) count = await poll.pollAsync(events, 100)
  t.is(count, 1)
  t.is(events.get(0)?.token, 4)
  while (socket.recvFrom(Buffer.alloc(8)) !== null) {}

  // Nothing arrives: 0 after the timeout, and the events are cleared.
  t.is(await guard(poll.pollAsync(events, 30), 'the timeout'), 0)
  t.true(events.isEmpty())
  t.is(await poll.pollAsync(events, 0), 0, 'timeout 0 returns at once')

  // The pending wait released the Poll: it can be watched again.
  const watch = poll.watch(events, () => {})
  watch.stop()

  // Closing the Poll resolves a pending pollAsync with 0.
  const orphan = poll.pollAsync(events, null)
  poll.close()
  t.is(await guard(orphan, 'pollAsync on a closed Poll'), 0)

  // Arguments are checked.
  const other = new Poll()
  t.teardown(() => other.close())
  await t.throwsAsync(other.pollAsync(events, -1), { code: 'ERR_OUT_OF_RANGE' })
  await t.throwsAsync(other.pollAsync({} as Events, 0), { code: 'ERR_INVALID_ARG_TYPE' })
})

unixTest('pollAsync: a pending pollAsync keeps the process alive', async (t) => {
  const result = await runNode(`
    const { Events, Poll, Token, Waker } = require('node-mio')
    const poll = new Poll()
    const waker = new Waker(poll.registry, Token(1))
    poll.pollAsync(new Events(4), null).then((count) => {
      console.log('resolved ' + count)
      waker.close()
      poll.close()
    })
    // The only wake comes from an unref'd timer: it fires only if something else keeps the process alive.
    setTimeout(() => { console.log('waking'); waker.wake() }, 200).unref()
    process.on('exit', (code) => console.log('exit ' + code))
  `)
  t.is(result.code, 0, result.stderr)
  t.deepEqual(linesOf(result.stdout), ['waking', 'resolved 1', 'exit 0'])
})

unixTest('pollAsync and watch use no thread-pool thread: with UV_THREADPOOL_SIZE=1 an fs.readFile completes while several wait', async (t) => {
  // Eight pollAsync and four watches wait on idle Polls; the wakes come only
  // after fs.readFile completes. Had any of them taken the single thread-pool
  // thread, readFile would never run and the child would hang.
  const result = await runNode(
    `
    const fs = require('node:fs')
    const { Events, Poll, Token, Waker } = require('node-mio')
    const polls = Array.from({ length: 12 }, (_, i) => {
      const poll = new Poll()
      return { poll, waker: new Waker(poll.registry, Token(i)) }
    })
    const pending = polls.slice(0, 8).map(({ poll }) => poll.pollAsync(new Events(4), null))
    const watched = polls.slice(8).map(({ poll }) => new Promise((resolve) => {
      const watch = poll.watch(new Events(4), (events) => { watch.stop(); resolve(events.length) })
    }))
    console.log('waiting: 8 pollAsync, 4 watches')
    fs.readFile(__filename === '[eval]' ? 'package.json' : __filename, (error, data) => {
      console.log('readFile: ' + (error ? error.code : 'ok'))
      for (const { waker } of polls) waker.wake()
      Promise.all([...pending, ...watched]).then((counts) => {
        console.log('resolved: ' + counts.join(','))
        for (const { poll, waker } of polls) { waker.close(); poll.close() }
      })
    })
  `,
    { env: { UV_THREADPOOL_SIZE: '1' } },
  )
  t.is(result.code, 0, result.stderr)
  t.deepEqual(linesOf(result.stdout), ['waiting: 8 pollAsync, 4 watches', 'readFile: ok', 'resolved: 1,1,1,1,1,1,1,1,1,1,1,1'])
})

unixTest('(control) the thread-pool check above detects a busy pool: readFile waits for it', async (t) => {
  // The same harness with the one thread-pool thread blocked in open() of a
  // FIFO that has no writer: readFile completes only after the FIFO is
  // opened for writing. This is what a threadpool-based pollAsync would do.
  const result = await runNode(
    `
    const fs = require('node:fs')
    const os = require('node:os')
    const path = require('node:path')
    const { execFileSync } = require('node:child_process')
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-mio-fifo-'))
    const fifo = path.join(dir, 'fifo')
    execFileSync('mkfifo', [fifo])
    fs.open(fifo, 'r', (error, fd) => { console.log('fifo opened'); fs.closeSync(fd) })
    fs.readFile('package.json', (error) => {
      console.log('readFile: ' + (error ? error.code : 'ok'))
      fs.rmSync(dir, { recursive: true })
    })
    setTimeout(() => { console.log('unblocking'); fs.closeSync(fs.openSync(fifo, 'w')) }, 300)
  `,
    { env: { UV_THREADPOOL_SIZE: '1' } },
  )
  t.is(result.code, 0, result.stderr)
  t.deepEqual(linesOf(result.stdout), ['unblocking', 'fifo opened', 'readFile: ok'])
})

unixTest('batches(): yields each batch, and ends when the Poll closes (from outside or from the loop body)', async (t) => {
  const poll = new Poll()
  const waker = new Waker(poll.registry, Token(8))
  const socket = UdpSocket.bind('127.0.0.1:0')
  const sender = UdpSocket.bind('127.0.0.1:0')
  t.teardown(() => {
    for (const s of [socket, sender, waker, poll]) s.close()
  })
  poll.registry.register(socket, Token(2), Interest.READABLE)

  // Three batches, each provoked after the previous one was handled; the
  // Poll is closed from a timer while the loop waits for a fourth.
  const seen: Token[][] = []
  setTimeout(() => waker.wake(), 10)
  const loop = (async () => {
    for await (const batch of poll.batches(new Events(8))) {
      const tokens = tokensOf(batch)
      seen.push(tokens)
      if (seen.length === 1) sender.sendTo(Buffer.from('x'), socket.localAddr())
      if (seen.length === 2) {
        while (socket.recvFrom(Buffer.alloc(8)) !== null) {}
        setTimeout(() => waker.wake(), 10)
      }
      if (seen.length === 3) setTimeout(() => poll.close(), 10)
      if (seen.length > 3) break
    }
    return 'ended'
  })()
  t.is(await guard(loop, 'the for-await loop to end'), 'ended')
  t.deepEqual(seen, [[8], [2], [8]])
  t.true(poll.closed)

  // Closing from inside the loop body ends it too.
  const other = new Poll()
  const otherWaker = new Waker(other.registry, Token(1))
  t.teardown(() => {
    otherWaker.close()
    other.close()
  })
  otherWaker.wake()
  let bodies = 0
  for await (const batch of other.batches(new Events(8))) {
    bodies++
    t.deepEqual(tokensOf(batch), [1])
    other.close()
  }
  t.is(bodies, 1)

  // Breaking out leaves no watch behind: the Poll can be watched again.
  const third = new Poll()
  const thirdWaker = new Waker(third.registry, Token(3))
  t.teardown(() => {
    thirdWaker.close()
    third.close()
  })
  thirdWaker.wake()
  for await (const batch of third.batches(new Events(8))) {
    t.deepEqual(tokensOf(batch), [3])
    break
  }
  const watch = third.watch(new Events(8), () => {})
  t.true(watch.active)
  watch.stop()
})

unixTest('watch: argument checks', (t) => {
  using poll = new Poll()
  t.throws(() => poll.watch({} as Events, () => {}), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => poll.watch(new Events(4), 'nope' as unknown as () => void), { code: 'ERR_INVALID_ARG_TYPE' })
  // Neither failed attempt left a watch behind.
  const watch = poll.watch(new Events(4), () => {})
  t.true(watch.active)
  watch.stop()
})

