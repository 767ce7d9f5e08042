// The watch contract (`poll.watch`, `pollAsync`, `batches`), one body for
// every driver: `watchContract(mode)` registers the tests, and a spec file
// per mode runs them in its own process (ava runs each spec file in its own
// process, and the driver of a new watch is chosen by NODE_MIO_WATCH, which
// `watchContract` sets; child processes and workers started by these tests
// inherit it).
//
// The contract, in every mode: batches land in the caller's Events on this
// thread while timers, fs and node:net keep running; registering, closing and
// waking from inside the callback work; stop() and closing the Poll end the
// callbacks; a second watch (or pollAsync) on a watched Poll is EEXIST and
// poll() on it is EBUSY; events a watch took and did not deliver stay with
// the Poll for the next poll or watch; an exception from the callback is an
// uncaught exception; a ref'd watch keeps the process alive. An event polled
// before a deregistration, a close or a reregistration under another token
// is not delivered after it (only tokens registered at delivery pass); one
// for a token still registered may be stale, as mio allows: every test
// provokes one readiness edge at a time, after the previous batch was
// handled, so no stale batch changes what it asserts.
//
// What must be seen from outside a process (an uncaught exception, whether
// the process stays alive, which thread pool is used) runs in a child process
// (`runNode`), checked by its exit code and the order of what it printed,
// never by elapsed time.
import test from 'ava'
import dgram from 'node:dgram'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import net from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import { backend, Events, Interest, Poll, TcpListener, Token, UdpSocket, Waker, type TcpStream, type WatchMode } from 'node-mio'
import { PATIENCE, deferred, guard, settle } from './async.ts'
import { tokensOf } from './events.ts'
import { runtime } from './platform.ts'
import { linesOf, runNode } from './processes.ts'
import { expectCleanRun } from './shared-a-processes.ts'
import { WatchedEchoServer, client, pollWithReadySockets } from './watch-fixtures.ts'
import { sleep } from './workers.ts'

/** Registers the watch contract's tests, run with the `mode` driver. */
export function watchContract(mode: WatchMode): void {
  process.env.NODE_MIO_WATCH = mode
  // The uv driver needs Node.js and an epoll/kqueue descriptor: there is
  // none on Windows, nor with mio's poll(2) selector (a NODE_MIO_BACKEND=poll
  // build), and Bun and Deno have no working uv_poll; there every watch runs
  // on the thread.
  const uvHere = runtime === 'node' && (backend().selector === 'epoll' || backend().selector === 'kqueue')
  const modeTest = mode === 'uv' && !uvHere ? test.skip : test
  // Node's libuv thread pool, one thread with UV_THREADPOOL_SIZE=1 (the
  // control blocks it on a FIFO, which Windows lacks): Bun and Deno run fs
  // calls on pools of their own that the variable does not size.
  const poolTest = process.platform === 'win32' || runtime !== 'node' ? test.skip : test

  modeTest('watch: watch.mode is the mode chosen here, in a worker and in a child process; batches land in the caller\'s Events', async (t) => {
    const poll = new Poll()
    const events = new Events(8)
    const waker = new Waker(poll.registry, Token(4))
    t.teardown(() => {
      waker.close()
      poll.close()
    })
    const delivered = deferred<{ same: boolean; tokens: Token[]; length: number }>()
    const watch = poll.watch(events, (batch) => delivered.resolve({ same: batch === events, tokens: tokensOf(batch), length: batch.length }))
    t.is(watch.mode, mode)
    t.true(watch.active)
    t.true(watch.hasRef())
    waker.wake()
    t.deepEqual(await guard(delivered.promise, 'the callback'), { same: true, tokens: [4], length: 1 })
    watch.stop()
    t.is(watch.mode, mode, 'the mode stays after stop()')
    t.false(watch.active)

    // A worker inherits the variable.
    const worker = new Worker(
      `
      const { parentPort } = require('node:worker_threads')
      const { Events, Poll } = require('node-mio')
      const poll = new Poll()
      const watch = poll.watch(new Events(4), () => {})
      parentPort.postMessage(process.env.NODE_MIO_WATCH + ' ' + watch.mode)
      watch.stop()
      poll.close()
    `,
      { eval: true },
    )
    t.teardown(() => worker.terminate())
    const exited = once(worker, 'exit')
    const [message] = (await guard(once(worker, 'message'), 'the worker\'s message')) as [string]
    t.is(message, `${mode} ${mode}`)
    t.deepEqual(await guard(exited, 'the worker to exit (its watch stopped)'), [0])

    // So does a child process.
    const child = await runNode(`
      const { Events, Poll } = require('node-mio')
      const poll = new Poll()
      const watch = poll.watch(new Events(4), () => {})
      console.log(process.env.NODE_MIO_WATCH + ' ' + watch.mode)
      watch.stop()
      poll.close()
    `)
    t.is(child.code, 0, child.stderr)
    t.deepEqual(linesOf(child.stdout), [`${mode} ${mode}`])
  })

  modeTest('watch: a node:net client in this thread talks to a watched node-mio server; timers and fs keep running', async (t) => {
    // Round trips started from timer ticks, an fs call, 1 MiB both ways, the
    // close; the interval keeps firing between the watch's callbacks.
    const server = new WatchedEchoServer()
    t.teardown(() => server.close())
    t.is(server.watch.mode, mode)
    let ticks = 0
    const interval = setInterval(() => {
      ticks++
      if (server.log.length < 10_000) server.log.push('tick')
    }, 1)
    t.teardown(() => clearInterval(interval))
    const nextTick = async (): Promise<void> => {
      const seen = ticks
      while (ticks === seen) await guard(delay(1), 'a timer tick')
    }

    const { socket, receive } = await client(server.port)
    t.teardown(() => socket.destroy())

    // Round trips, each started from a timer tick: the watch does not hold the loop.
    let expected = ''
    for (let round = 1; round <= 5; round++) {
      await nextTick()
      const line = `round ${round}\n`
      expected += line
      socket.write(line)
      t.is((await receive(Buffer.byteLength(expected))).toString(), expected, `echo of round ${round}`)
    }

    // An fs call completes while the watch is active.
    const pkg = JSON.parse(await guard(readFile('package.json', 'utf8'), 'fs.readFile')) as { name: string }
    t.is(pkg.name, 'node-mio')

    // 1 MiB both ways at once: the server meets WouldBlock on write and waits
    // for writable events, the client in this same thread keeps reading.
    const big = Buffer.alloc(1024 * 1024)
    for (let i = 0; i < big.length; i += 4) big.writeUInt32BE(i / 4, i)
    socket.write(big)
    const all = await receive(Buffer.byteLength(expected) + big.length)
    t.is(all.length, Buffer.byteLength(expected) + big.length)
    t.true(all.subarray(Buffer.byteLength(expected)).equals(big), 'the 1 MiB echo is byte-exact')

    // The client closes: the server sees the end and closes its side.
    socket.end()
    await guard(once(socket, 'close'), 'the server to close the connection')
    t.is(server.closed, 1)
    t.is(server.connections.size, 0)

    // The interval kept firing between the watch's callbacks.
    const first = server.log.indexOf('batch')
    const last = server.log.lastIndexOf('batch')
    t.true(first >= 0, 'the watch called back')
    t.true(server.log.slice(first, last).includes('tick'), 'timer ticks ran between watch callbacks')
    t.true(ticks >= 5)
  })

  modeTest('watch: 10,000 datagrams from 10 sources, none lost, in order per source', async (t) => {
    // Ten node-mio UDP sockets on one watched Poll; ten node:dgram senders in
    // this thread, one per socket, each sending 1,000 numbered datagrams with
    // at most WINDOW unacknowledged (so the kernel never has to drop one: a
    // missing datagram is a missed event). Every datagram is checked on
    // arrival: the right socket, the next number.
    const SOURCES = 10
    const PER_SOURCE = 1000
    const WINDOW = 8
    const poll = new Poll()
    const events = new Events(16)
    const receivers = Array.from({ length: SOURCES }, () => UdpSocket.bind('127.0.0.1:0'))
    const senders = Array.from({ length: SOURCES }, () => dgram.createSocket('udp4'))
    t.teardown(() => {
      poll.close()
      for (const r of receivers) r.close()
      for (const s of senders) s.close()
    })
    await Promise.all(
      senders.map((s) => {
        s.bind(0, '127.0.0.1')
        return guard(once(s, 'listening'), 'a sender socket')
      }),
    )
    receivers.forEach((r, k) => poll.registry.register(r, Token(k), Interest.READABLE))

    const next = new Array<number>(SOURCES).fill(0)
    const problems: string[] = []
    let total = 0
    let batches = 0
    const all = deferred()
    const buf = Buffer.alloc(64)
    const ack = Buffer.alloc(4)
    const watch = poll.watch(events, (batch) => {
      batches++
      for (const event of batch) {
        const k = event.token
        const receiver = receivers[k]
        if (receiver === undefined) {
          if (problems.length < 10) problems.push(`unknown token ${k}`)
          continue
        }
        for (let info; (info = receiver.recvFrom(buf)) !== null; ) {
          const source = buf.readUInt32BE(0)
          const seq = buf.readUInt32BE(4)
          if (info.size !== 8 || source !== k || seq !== next[k]) {
            if (problems.length < 10) problems.push(`socket ${k}: got source ${source} seq ${seq} (${info.size} bytes), expected seq ${next[k]}`)
          }
          next[k] = seq + 1
          total++
          ack.writeUInt32BE(seq, 0)
          receiver.sendTo(ack, { address: '127.0.0.1', port: info.port })
        }
      }
      if (total >= SOURCES * PER_SOURCE) all.resolve()
    })
    t.is(watch.mode, mode)
    // One send in flight per sender, the next from the last one's callback:
    // Deno's node:dgram sends the calls of one tick last first
    // (scripts/cross/dgram-order.mjs), which would reorder the window.
    const queued = senders.map(() => ({ busy: false, seqs: [] as number[] }))
    const pump = (k: number): void => {
      const queue = queued[k]!
      const seq = queue.seqs.shift()
      queue.busy = seq !== undefined
      if (seq === undefined) return
      const datagram = Buffer.alloc(8)
      datagram.writeUInt32BE(k, 0)
      datagram.writeUInt32BE(seq, 4)
      senders[k]!.send(datagram, receivers[k]!.localAddr().port, '127.0.0.1', () => pump(k))
    }
    const send = (k: number, seq: number): void => {
      queued[k]!.seqs.push(seq)
      if (!queued[k]!.busy) pump(k)
    }
    senders.forEach((s, k) => {
      s.on('message', (message: Buffer) => {
        const seq = message.readUInt32BE(0) + WINDOW
        if (seq < PER_SOURCE) send(k, seq)
      })
      for (let seq = 0; seq < WINDOW; seq++) send(k, seq)
    })

    await guard(all.promise, () => `10,000 datagrams (got ${total}: ${next.join(',')})`, PATIENCE, () => total)
    await settle()
    watch.stop()
    t.deepEqual(problems, [], 'every datagram on its own socket, in order')
    t.is(total, SOURCES * PER_SOURCE, 'none lost, none duplicated')
    t.deepEqual(next, new Array(SOURCES).fill(PER_SOURCE))
    t.true(batches > 0)
  })

  modeTest('watch: 10 TCP connections each send 1,000 numbered records; the watched server gets every byte, in order', async (t) => {
    // The clients (node:net, this thread) write everything at once; the server
    // reads each connection until WouldBlock on every event and, at the end of
    // each stream, compares what it got with what that client sent.
    const CLIENTS = 10
    const RECORDS = 1000
    const expected = (k: number): string => Array.from({ length: RECORDS }, (_, i) => `${k}:${i}\n`).join('')
    const poll = new Poll()
    const listener = TcpListener.bind('127.0.0.1:0')
    const streams = new Map<Token, { stream: TcpStream; chunks: Buffer[] }>()
    const results = new Map<number, string>()
    const problems: string[] = []
    const all = deferred()
    const buf = Buffer.alloc(4096)
    let next = 1
    poll.registry.register(listener, Token(0), Interest.READABLE)
    const watch = poll.watch(new Events(32), (events) => {
      for (const event of events) {
        if (event.token === 0) {
          for (let accepted; (accepted = listener.accept()) !== null; ) {
            const token = Token(next++)
            streams.set(token, { stream: accepted[0], chunks: [] })
            poll.registry.register(accepted[0], token, Interest.READABLE)
          }
          continue
        }
        const entry = streams.get(event.token)
        // A stale event for a stream already closed is allowed (and ignored).
        if (entry === undefined) continue
        for (;;) {
          const n = entry.stream.read(buf)
          if (n === null) break
          if (n > 0) {
            entry.chunks.push(Buffer.from(buf.subarray(0, n)))
            continue
          }
          const text = Buffer.concat(entry.chunks).toString()
          const k = Number(text.slice(0, text.indexOf(':')))
          if (results.has(k)) problems.push(`client ${k} seen twice`)
          results.set(k, text)
          streams.delete(event.token)
          entry.stream.close()
          if (results.size === CLIENTS) all.resolve()
          break
        }
      }
    })
    t.teardown(() => {
      watch.stop()
      for (const { stream } of streams.values()) stream.close()
      listener.close()
      poll.close()
    })
    const port = listener.localAddr().port
    const sockets = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, k) => {
        const socket = net.connect({ port, host: '127.0.0.1' })
        await guard(once(socket, 'connect'), `client ${k} to connect`)
        return socket
      }),
    )
    t.teardown(() => {
      for (const socket of sockets) socket.destroy()
    })
    sockets.forEach((socket, k) => socket.end(expected(k)))
    await guard(all.promise, () => `every stream to end (${results.size} of ${CLIENTS})`, PATIENCE, () => results.size)
    t.deepEqual(problems, [])
    t.deepEqual([...results.keys()].sort((a, b) => a - b), Array.from({ length: CLIENTS }, (_, k) => k))
    for (const [k, text] of results) {
      t.is(text.length, expected(k).length, `client ${k}: byte count`)
      t.true(text === expected(k), `client ${k}: every record, in order, byte-exact`)
    }
  })

  modeTest('watch: register (also from outside, while the watch waits), reregister, deregister, close a socket, wake and close the Poll from inside the callback', async (t) => {
    // Each step provokes exactly one readiness edge, after the previous batch
    // was handled, so no stale batch can arrive: every batch is checked exactly.
    const poll = new Poll()
    const events = new Events(16)
    const WAKE = Token(100)
    const waker = new Waker(poll.registry, WAKE)
    const a = UdpSocket.bind('127.0.0.1:0')
    const b = UdpSocket.bind('127.0.0.1:0')
    const c = UdpSocket.bind('127.0.0.1:0')
    const sender = UdpSocket.bind('127.0.0.1:0')
    t.teardown(() => {
      for (const s of [a, b, c, sender]) s.close()
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
            // c was registered from outside the callback after the watch started.
            t.deepEqual(tokens, [50])
            t.is(recvText(c), 'c1')
            t.is(recvText(c), null)
            poll.registry.deregister(c)
            // Register a socket from here and give it a datagram.
            poll.registry.register(a, Token(1), Interest.READABLE)
            sender.sendTo(Buffer.from('a1'), a.localAddr())
            break
          case 1:
            t.deepEqual(tokens, [1], 'the socket registered in the callback is delivered')
            t.is(recvText(a), 'a1')
            t.is(recvText(a), null)
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
            sender.sendTo(Buffer.from('c2'), c.localAddr())
            waker.wake()
            break
          case 3:
            t.deepEqual(tokens, [WAKE], 'only the wake: the deregistered sockets have no events')
            t.is(recvText(a), 'a3', 'the datagram reached the deregistered socket')
            t.is(recvText(c), 'c2', 'the datagram reached the socket deregistered in step 0')
            poll.registry.register(b, Token(3), Interest.READABLE)
            sender.sendTo(Buffer.from('b1'), b.localAddr())
            break
          case 4:
            // Close a registered socket (its datagram unread) from the callback.
            t.deepEqual(tokens, [3])
            // With the uv driver nothing polls between here and close(), so a
            // datagram that arrives just before it must not be reported either.
            // (A polling thread may take its edge first: a stale batch.)
            if (mode === 'uv') sender.sendTo(Buffer.from('b2'), b.localAddr())
            b.close()
            waker.wake()
            break
          case 5:
            t.deepEqual(tokens, [WAKE], 'only the wake: the closed socket has no events')
            // Finally close the Poll itself from its own callback.
            poll.close()
            t.false(watch.active, 'closing the Poll stopped the watch')
            t.true(poll.closed)
            waker.wake() // would call back if the watch were still running
            done.resolve()
            break
          default:
            t.fail(`a callback after the Poll closed: ${tokens}`)
        }
      } catch (error) {
        done.reject(error)
      }
    })
    t.is(watch.mode, mode)
    // Let the watch wait first, then register from outside.
    await settle()
    poll.registry.register(c, Token(50), Interest.READABLE)
    sender.sendTo(Buffer.from('c1'), c.localAddr())
    await guard(done.promise, () => `the callback steps (at step ${step}, batches ${JSON.stringify(batches)})`)
    await settle()
    t.is(batches.length, 6, 'no callback after the Poll closed')
    t.true(poll.closed)
    t.throws(() => poll.poll(events, 0), { code: 'ERR_MIO_CLOSED' }, 'a closed Poll is closed, not busy')
  })

  modeTest('watch: a user Waker\'s token arrives (up to Token.MAX); no internal token ever does, and stop() leaves nothing on the Poll', async (t) => {
    // 40 watches on one Poll, each stopped after a wake was delivered or while
    // idle; every token ever delivered is collected. After each stop the Poll
    // is given back: a plain poll finds nothing left (whatever a driver puts
    // on the selector to stop itself is gone).
    const poll = new Poll()
    const events = new Events(8)
    const waker = new Waker(poll.registry, Token.MAX)
    t.teardown(() => {
      waker.close()
      poll.close()
    })
    const seen: number[] = []
    let calls = 0
    const leftovers: number[][] = []
    for (let round = 0; round < 40; round++) {
      const arrived = deferred()
      const watch = poll.watch(events, (batch) => {
        calls++
        seen.push(...tokensOf(batch))
        arrived.resolve()
      })
      if (round % 2 === 0) {
        if (round % 4 === 0) waker.wake()
        else setImmediate(() => waker.wake())
        await guard(arrived.promise, `the wake in round ${round}`)
      } else {
        await new Promise((resolve) => setImmediate(resolve))
      }
      watch.stop()
      const left = poll.poll(events, 0)
      if (left !== 0) leftovers.push(tokensOf(events))
    }
    await settle()
    t.deepEqual(leftovers, [], 'nothing left on the Poll after stop()')
    t.is(calls, 20, 'one callback per wake, none for the idle watches or their stop')
    t.deepEqual(seen, new Array(20).fill(Token.MAX), 'only the user\'s token, never an internal one')

    // A waker woken many times while one watch runs: only its token, ever.
    let wakes = 0
    const many = deferred()
    const tokens = new Set<number>()
    const watch = poll.watch(events, (batch) => {
      for (const token of tokensOf(batch)) tokens.add(token)
      if (++wakes < 200) waker.wake()
      else many.resolve()
    })
    waker.wake()
    await guard(many.promise, () => `200 wakes (got ${wakes})`, PATIENCE, () => wakes)
    watch.stop()
    t.deepEqual([...tokens], [Token.MAX])
    waker.wake()
    t.is(poll.poll(events, 0), 1, 'the Poll is given back')
    t.deepEqual(tokensOf(events), [Token.MAX])
  })

  modeTest('watch: stop() stops the callbacks, from outside and from inside the callback, and gives the Poll back to a blocking poll()', async (t) => {
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
    t.is(watch.mode, mode)
    waker.wake()
    await settle()
    t.is(calls, 1, 'no callback after stop()')
    // Nothing polled the Poll since stop(): the wake is still there for a plain poll.
    t.is(poll.poll(events, 0), 1)
    t.deepEqual(tokensOf(events), [WAKE])
    // Blocking polls work again: with a timeout (nothing comes) and without one.
    t.is(poll.poll(events, 10), 0)
    waker.wake()
    t.is(poll.poll(events, null), 1)
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
    t.is(poll.poll(events, 0), 1)
  })

  modeTest('watch: stop() with batches in flight: from inside the first callback (one callback), from outside before any (none); what was not delivered stays with the Poll', async (t) => {
    // Five sockets are ready before the watch starts and Events(1) takes one
    // per poll: a polling thread queues five batches while this thread sleeps.
    {
      // Control: without stop(), all five arrive, one per callback.
      const { poll, events } = pollWithReadySockets(t)
      const seen: Token[][] = []
      const all = deferred()
      const watch = poll.watch(events, (batch) => {
        seen.push(tokensOf(batch))
        if (seen.length === 5) all.resolve()
      })
      sleep(30)
      await guard(all.promise, () => `five callbacks (got ${JSON.stringify(seen)})`)
      await settle()
      watch.stop()
      t.is(seen.length, 5, 'one callback per event, no extra')
      t.deepEqual(seen.flat().sort(), [0, 1, 2, 3, 4])
    }
    {
      // stop() inside the first callback: no other callback runs.
      const { poll, events, waker } = pollWithReadySockets(t, Token(9))
      let calls = 0
      let activeAfterStop: boolean | undefined
      const delivered: Token[] = []
      const first = deferred()
      const watch = poll.watch(events, (batch) => {
        calls++
        delivered.push(...tokensOf(batch))
        watch.stop()
        activeAfterStop = watch.active
        waker.wake() // after the watch stopped: left for a plain poll
        first.resolve()
      })
      sleep(30)
      await guard(first.promise, 'the first callback')
      await settle()
      t.is(calls, 1, 'no callback after stop() inside the callback, though batches were queued')
      t.false(activeAfterStop)
      // The Poll is back: plain polls report the four sockets not delivered and the wake.
      const rest: Token[] = []
      for (let i = 0; i < 10; i++) {
        if (poll.poll(events, 0) === 0) break
        rest.push(...tokensOf(events))
      }
      t.deepEqual(rest.filter((token) => token === 9), [9], 'the wake from inside the stopped callback is still pending')
      t.deepEqual(
        [...delivered, ...rest.filter((token) => token !== 9)].sort(),
        [0, 1, 2, 3, 4],
        'each socket delivered or left with the Poll, once',
      )
    }
    {
      // stop() from outside, before the loop ran any queued batch: no callback at all.
      const { poll, events } = pollWithReadySockets(t)
      let calls = 0
      const watch = poll.watch(events, () => {
        calls++
      })
      sleep(30)
      watch.stop()
      await settle()
      t.is(calls, 0, 'no callback after stop(), though batches were queued')
      t.notThrows(() => poll.poll(events, 0), 'the Poll is given back')
      const first = tokensOf(events)
      // And a new watch on it works: it delivers the wake and what the first watch left.
      const seen: Token[] = []
      const again = deferred()
      const waker = new Waker(poll.registry, Token(7))
      t.teardown(() => waker.close())
      const second = poll.watch(events, (batch) => {
        seen.push(...tokensOf(batch))
        if (seen.includes(7) && first.length + seen.length === 6) again.resolve()
      })
      waker.wake()
      await guard(again.promise, () => `the new watch to deliver the wake and the sockets (got ${JSON.stringify([first, seen])})`)
      second.stop()
      t.deepEqual([...first, ...seen].sort((x, y) => x - y), [0, 1, 2, 3, 4, 7], 'each socket and the wake, once')
    }
  })

  modeTest('watch: events polled before a deregister, close or reregister under another token are not delivered after it', async (t) => {
    const poll = new Poll()
    const events = new Events(8)
    const waker = new Waker(poll.registry, Token(9))
    t.teardown(() => {
      waker.close()
      poll.close()
    })
    const seen: Token[] = []
    let batch = deferred()
    poll.watch(events, (b) => {
      seen.push(...tokensOf(b))
      if (seen.includes(Token(9))) batch.resolve()
    })
    // Each round: a source becomes writable at once (the thread, if any,
    // polls and queues its event during the sleep), its registration changes
    // in the same turn, then a wake marks the end of what may arrive.
    const round = async (change: (socket: UdpSocket) => void, expect: Token[]) => {
      seen.length = 0
      batch = deferred()
      const socket = UdpSocket.bind('127.0.0.1:0')
      poll.registry.register(socket, Token(1), Interest.WRITABLE)
      sleep(100)
      change(socket)
      await delay(100)
      waker.wake()
      await guard(batch.promise, 'the wake')
      t.deepEqual([...new Set(seen)].sort(), [...expect, Token(9)].sort())
      if (!socket.closed) socket.close()
    }
    await round((socket) => poll.registry.deregister(socket), [])
    await round((socket) => socket.close(), [])
    // reregister() re-arms: the writable edge comes again, under the new token only
    await round((socket) => poll.registry.reregister(socket, Token(3), Interest.WRITABLE), [Token(3)])
  })

  modeTest('watch: closing the Poll (from outside, or inside the callback) with events pending: no further callback', async (t) => {
    {
      // An event is pending (or a batch queued), but the Poll closes before the loop gets to it.
      const { poll, events, waker } = pollWithReadySockets(t, Token(9))
      let calls = 0
      const watch = poll.watch(events, () => {
        calls++
      })
      waker.wake()
      sleep(30)
      poll.close()
      t.false(watch.active)
      t.false(watch.hasRef())
      await settle()
      t.is(calls, 0, 'no callback once the Poll is closed')
      watch.stop() // after close: nothing
      t.throws(() => poll.poll(events, 0), { code: 'ERR_MIO_CLOSED' })
      t.throws(() => poll.watch(events, () => {}), { code: 'ERR_MIO_CLOSED' })
      await t.throwsAsync(poll.pollAsync(events, 10), { code: 'ERR_MIO_CLOSED' })
    }
    {
      const { poll, events } = pollWithReadySockets(t)
      let calls = 0
      const first = deferred()
      const watch = poll.watch(events, () => {
        calls++
        poll.close()
        first.resolve()
      })
      sleep(30)
      await guard(first.promise, 'the first callback')
      await settle()
      t.is(calls, 1, 'no callback after the Poll closed in the callback, though events were pending')
      t.false(watch.active)
      t.true(poll.closed)
    }
  })

  modeTest('watch: a Poll closed and a new Poll watched in the same tick (the descriptor number is reused)', async (t) => {
    // Each round closes a watched Poll and watches a new one at once, both
    // outside and inside a callback; the new Poll usually gets the same
    // descriptor number, which the driver must watch afresh.
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
    await guard(all.promise, () => `${rounds} rounds (got ${received})`, PATIENCE, () => received)
    t.is(received, rounds)
  })

  modeTest('watch: many watched Polls at once each get their own events', async (t) => {
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

  modeTest('watch: a running watch keeps its Poll alive though nothing else refers to them', async (t) => {
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

  modeTest('watch: a blocking poll() on the watched Poll throws EBUSY (any timeout, also inside the callback and while a pollAsync waits); the watch keeps working', async (t) => {
    const poll = new Poll()
    const events = new Events(8)
    const other = new Events(8)
    const waker = new Waker(poll.registry, Token(1))
    t.teardown(() => {
      waker.close()
      poll.close()
    })
    const inside: unknown[] = []
    let calls = 0
    let delivered = deferred()
    const watch = poll.watch(events, (batch) => {
      calls++
      t.deepEqual(tokensOf(batch), [1])
      try {
        poll.poll(other, 0)
        inside.push('no error')
      } catch (error) {
        inside.push((error as NodeJS.ErrnoException).code)
      }
      delivered.resolve()
    })
    for (const timeout of [0, 10, 1000, null]) {
      const error = t.throws(() => poll.poll(other, timeout), { code: 'EBUSY' }, `poll(events, ${timeout})`)
      t.true(error instanceof Error)
    }
    waker.wake()
    await guard(delivered.promise, 'the callback')
    t.deepEqual(inside, ['EBUSY'])
    // Still watching after the refused polls.
    delivered = deferred()
    waker.wake()
    await guard(delivered.promise, 'a second callback')
    t.is(calls, 2)
    watch.stop()
    t.is(poll.poll(other, 0), 0, 'after stop() a poll works')

    // A pending pollAsync is a watch too.
    const pending = poll.pollAsync(events, null)
    t.throws(() => poll.poll(other, 0), { code: 'EBUSY' })
    waker.wake()
    t.is(await guard(pending, 'pollAsync'), 1)
    t.deepEqual(tokensOf(events), [1])
    t.is(poll.poll(other, 0), 0, 'after pollAsync resolved a poll works')
  })

  modeTest('watch: a second watch (or a pollAsync) on a watched Poll is EEXIST; the first keeps working', async (t) => {
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
    await settle()
    t.is(firstCalls, 1)
  })

  modeTest('watch: an exception thrown by the callback is an uncaught exception (no handler: the process dies with it)', async (t) => {
    const result = await runNode(`
      const { Events, Poll, Token, Waker } = require('node-mio')
      const poll = new Poll()
      const waker = new Waker(poll.registry, Token(7))
      const watch = poll.watch(new Events(8), (events) => {
        console.log('callback ' + [...events].map((e) => e.token).join(','))
        throw new Error('boom from the watch callback')
      })
      console.log('mode ' + watch.mode)
      setTimeout(() => console.log('still running'), 60_000).unref()
      process.on('exit', (code) => console.log('exit ' + code))
      waker.wake()
    `)
    t.is(result.signal, null)
    t.is(result.code, 1, `stderr:\n${result.stderr}`)
    // Deno runs no 'exit' listener after an uncaught error (a timer that
    // throws shows it without node-mio); the exit code above still tells.
    t.deepEqual(linesOf(result.stdout), [`mode ${mode}`, 'callback 7', ...(runtime === 'deno' ? [] : ['exit 1'])])
    // Node prints `Error: boom`, Bun `error: boom`.
    t.regex(result.stderr, /error: boom from the watch callback/i)
    t.regex(result.stderr, /\[eval\]/, 'the stack names the callback')
  })

  modeTest('watch: after an uncaught exception in the callback (handled) later batches still arrive, consistently', async (t) => {
    // Batch 1 (a datagram) throws before reading. The handler drains the
    // socket (the contract: read until null after an event; on Windows
    // readiness re-arms only then) and sends a second datagram: batch 2 finds
    // it. A wake then throws again (batch 3), and one more wake ends it
    // (batch 4).
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
        if (batch === 3) throw new Error('boom ' + batch)
        if (batch === 4) {
          watch.stop()
          for (const s of [socket, sender, waker, poll]) s.close()
        }
      })
      console.log('mode ' + watch.mode)
      process.on('uncaughtException', (error) => {
        console.log('uncaught ' + error.message + ', watch active: ' + watch.active)
        if (error.message === 'boom 1') {
          const got = []
          for (let info; (info = socket.recvFrom(buf)) !== null; ) got.push(buf.subarray(0, info.size).toString())
          console.log('drained ' + got.join(','))
          sender.sendTo(Buffer.from('two'), socket.localAddr())
        } else waker.wake()
      })
      process.on('exit', (code) => console.log('exit ' + code))
      sender.sendTo(Buffer.from('one'), socket.localAddr())
    `)
    t.is(result.code, 0, `stderr:\n${result.stderr}`)
    t.deepEqual(linesOf(result.stdout), [
      `mode ${mode}`,
      'batch 1: 1',
      'uncaught boom 1, watch active: true',
      'drained one',
      'batch 2: 1',
      'read two',
      'batch 3: 9',
      'uncaught boom 3, watch active: true',
      'batch 4: 9',
      'exit 0',
    ])
    t.is(result.stderr, '')
  })

  modeTest('watch: an idle unref\'d watch does not keep the process alive; a ref\'d one does; an unref\'d one still delivers', async (t) => {
    // The only other thing scheduled is an unref'd timer: if the loop turns
    // even once after it is due, something kept the process alive. Under
    // Node the script holds the thread past the timer's time before the loop
    // starts, as a busy or emulated machine may, so nothing may keep the loop
    // turning. Bun and Deno fire a due unref'd timer on their first turn
    // anyway, node-mio or not (Deno with nothing else scheduled, Bun with an
    // unref'd immediate pending, as a watch's first delivery is: Bun 1.4.5,
    // Deno 2.9.6), so there the timer is left its 300 ms.
    const hold = runtime === 'node' ? 'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400)' : ''
    const script = (mode: string): string => `
      const { Events, Poll } = require('node-mio')
      const poll = new Poll()
      const watch = poll.watch(new Events(8), () => console.log('unexpected callback'))
      if (${JSON.stringify(mode)} === 'unref') watch.unref()
      if (${JSON.stringify(mode)} === 'unref-ref') watch.unref().ref()
      console.log('started ' + watch.mode + ', hasRef ' + watch.hasRef())
      setTimeout(() => {
        console.log('timer: stopping the watch')
        watch.stop()
        poll.close()
      }, 300).unref()
      ${hold}
      process.on('exit', (code) => console.log('exit ' + code + ', active ' + watch.active))
    `
    const [unrefd, refd, reRefd] = await Promise.all([runNode(script('unref')), runNode(script('ref')), runNode(script('unref-ref'))])
    t.is(unrefd.code, 0, unrefd.stderr)
    t.deepEqual(linesOf(unrefd.stdout), [`started ${mode}, hasRef false`, 'exit 0, active true'], 'exits by itself, before the timer')
    t.is(refd.code, 0, refd.stderr)
    t.deepEqual(linesOf(refd.stdout), [`started ${mode}, hasRef true`, 'timer: stopping the watch', 'exit 0, active false'])
    t.is(reRefd.code, 0, reRefd.stderr)
    t.deepEqual(linesOf(reRefd.stdout), [`started ${mode}, hasRef true`, 'timer: stopping the watch', 'exit 0, active false'])
    t.is(unrefd.stderr + refd.stderr + reRefd.stderr, '')

    // unref() only lets the process exit: while something else keeps it alive
    // (a ref'd interval, cleared by the callback) the batches still come, and
    // the process then exits with the watch still running.
    const delivering = await runNode(`
      const { Events, Poll, Token, Waker } = require('node-mio')
      const poll = new Poll()
      const waker = new Waker(poll.registry, Token(3))
      const keepAlive = setInterval(() => {}, 1000)
      let calls = 0
      const watch = poll.watch(new Events(8), (events) => {
        calls++
        console.log('callback ' + [...events].map((e) => e.token).join(','))
        if (calls < 3) waker.wake()
        else clearInterval(keepAlive)
      }).unref()
      process.on('exit', (code) => console.log('exit ' + code + ', active ' + watch.active + ', hasRef ' + watch.hasRef()))
      waker.wake()
    `)
    t.is(delivering.code, 0, delivering.stderr)
    t.deepEqual(linesOf(delivering.stdout), ['callback 3', 'callback 3', 'callback 3', 'exit 0, active true, hasRef false'])
    t.is(delivering.stderr, '')
  })

  modeTest('watch: the process exits by itself once every watch is stopped', async (t) => {
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

  modeTest('watch: more ready sources than the Events capacity: the rest come in the next callbacks, none lost', async (t) => {
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
    await guard(all.promise, () => `five callbacks (got ${JSON.stringify(seen)})`)
    await settle()
    watch.stop()
    t.is(seen.length, 5, 'one callback per event, no extra')
    t.true(seen.every((batch) => batch.length === 1))
    t.deepEqual(seen.flat().sort(), [0, 1, 2, 3, 4])
  })

  modeTest('watch: process.exit() from inside the callback exits with its code, other watches running', async (t) => {
    const result = await runNode(`
      const { Events, Poll, Token, Waker } = require('node-mio')
      const wakers = [0, 1, 2].map((i) => {
        const poll = new Poll()
        const waker = new Waker(poll.registry, Token(i))
        poll.watch(new Events(4), (events) => {
          console.log('callback ' + events.get(0).token)
          process.exit(3)
        })
        return waker
      })
      process.on('exit', (code) => console.log('exit ' + code))
      wakers[1].wake()
    `)
    expectCleanRun(t, result, ['callback 1', 'exit 3'], { code: 3 })
  })

  modeTest('watch: argument checks', (t) => {
    using poll = new Poll()
    t.throws(() => poll.watch({} as Events, () => {}), { code: 'ERR_INVALID_ARG_TYPE' })
    t.throws(() => poll.watch(new Events(4), 'nope' as unknown as () => void), { code: 'ERR_INVALID_ARG_TYPE' })
    // Neither failed attempt left a watch behind.
    const watch = poll.watch(new Events(4), () => {})
    t.true(watch.active)
    watch.stop()
  })

  modeTest('pollAsync: resolves with the events that arrived, 0 on timeout; closing the Poll rejects it with ERR_MIO_CLOSED; arguments are checked', async (t) => {
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
    // Drained to null, as the contract says: on Windows readiness re-arms only then.
    t.is(socket.recvFrom(Buffer.alloc(8)), null)

    // Something already ready: resolves with it.
    sender.sendTo(Buffer.from('again'), socket.localAddr())
    t.is(await guard(poll.pollAsync(events, null), 'pollAsync with a datagram queued'), 1)
    t.is(events.get(0)?.token, 4)
    while (socket.recvFrom(Buffer.alloc(8)) !== null) {}

    // Nothing arrives: 0 after the timeout, and the events are cleared.
    t.is(await guard(poll.pollAsync(events, 30), 'the timeout'), 0)
    t.true(events.isEmpty())
    t.is(await poll.pollAsync(events, 0), 0, 'timeout 0 returns at once')

    // The timed-out wait released the Poll: it can be watched, and polled, again.
    const watch = poll.watch(events, () => {})
    t.is(watch.mode, mode)
    watch.stop()
    t.is(poll.poll(events, 0), 0)

    // Closing the Poll rejects a pending pollAsync: a close is not a timeout.
    const orphan = poll.pollAsync(events, null)
    poll.close()
    await t.throwsAsync(guard(orphan, 'pollAsync on a closed Poll'), { code: 'ERR_MIO_CLOSED' })

    // Arguments are checked.
    const other = new Poll()
    t.teardown(() => other.close())
    await t.throwsAsync(other.pollAsync(events, -1), { code: 'ERR_OUT_OF_RANGE' })
    await t.throwsAsync(other.pollAsync({} as Events, 0), { code: 'ERR_INVALID_ARG_TYPE' })
  })

  modeTest('pollAsync: loses no readiness: an event polled after the first batch is reported by pollAsync or by the next poll', async (t) => {
    // pollAsync stops its watch at the first batch. A polling thread may
    // already have polled the second datagram's edge into a later batch:
    // that batch stays with the Poll, so pollAsync or the next poll reports
    // both sockets, each with its datagram still queued.
    const poll = new Poll()
    const events = new Events(8)
    const a = UdpSocket.bind('127.0.0.1:0')
    const b = UdpSocket.bind('127.0.0.1:0')
    const sender = UdpSocket.bind('127.0.0.1:0')
    t.teardown(() => {
      for (const s of [a, b, sender, poll]) s.close()
    })
    poll.registry.register(a, Token(1), Interest.READABLE)
    poll.registry.register(b, Token(2), Interest.READABLE)
    const drain = (s: UdpSocket): number => {
      let n = 0
      while (s.recvFrom(Buffer.alloc(8)) !== null) n++
      return n
    }
    const rounds: string[] = []
    for (let round = 0; round < 10; round++) {
      const pending = poll.pollAsync(events, null)
      // Two datagrams, to two sockets, one after the other while this thread sleeps.
      sender.sendTo(Buffer.from('a'), a.localAddr())
      sleep(20)
      sender.sendTo(Buffer.from('b'), b.localAddr())
      sleep(20)
      await guard(pending, `pollAsync in round ${round}`)
      const seen = tokensOf(events)
      poll.poll(events, 0)
      seen.push(...tokensOf(events))
      rounds.push(`reported ${[...new Set(seen)].sort().join(',')}; queued ${drain(a)},${drain(b)}`)
    }
    t.deepEqual(rounds, new Array(10).fill('reported 1,2; queued 1,1'))
  })

  modeTest('pollAsync: loses no readiness: an event that arrives before the timeout fires is reported by pollAsync or by the next poll', async (t) => {
    // The datagram is in before the 1 ms timer stops pollAsync's watch: the
    // event is reported by pollAsync or, if the timer won, by the next poll.
    const poll = new Poll()
    const events = new Events(8)
    const a = UdpSocket.bind('127.0.0.1:0')
    const sender = UdpSocket.bind('127.0.0.1:0')
    t.teardown(() => {
      for (const s of [a, sender, poll]) s.close()
    })
    poll.registry.register(a, Token(1), Interest.READABLE)
    const rounds: string[] = []
    for (let round = 0; round < 10; round++) {
      const pending = poll.pollAsync(events, 1)
      sender.sendTo(Buffer.from('a'), a.localAddr())
      sleep(20) // the datagram is in before the 1 ms timeout fires
      const count = await guard(pending, `pollAsync in round ${round}`)
      const seen = count > 0 ? tokensOf(events) : []
      poll.poll(events, 0)
      seen.push(...tokensOf(events))
      let queued = 0
      while (a.recvFrom(Buffer.alloc(8)) !== null) queued++
      rounds.push(`reported ${[...new Set(seen)].join(',')}; queued ${queued}`)
    }
    t.deepEqual(rounds, new Array(10).fill('reported 1; queued 1'))
  })

  modeTest('pollAsync: a pending pollAsync keeps the process alive', async (t) => {
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

  modeTest('pollAsync and watch use no thread-pool thread: with UV_THREADPOOL_SIZE=1 an fs.readFile completes while several wait', async (t) => {
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
      fs.readFile('package.json', (error, data) => {
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

  poolTest('(control) the thread-pool check above detects a busy pool: readFile waits for it', async (t) => {
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

  modeTest('batches(): yields each batch, and ends when the Poll closes (from outside or from the loop body)', async (t) => {
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
}
