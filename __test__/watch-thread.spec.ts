// Watch mode with a polling thread (`NODE_MIO_WATCH=thread`; the only driver
// on Windows and on runtimes without libuv): a native thread borrows the
// mio::Poll, blocks in poll(None) and queues each batch for this thread,
// signalled through a threadsafe function. stop() wakes it with a loopback
// datagram under an internal token above 2^53, joins it, and gives the Poll
// back with whatever the thread polled and had not delivered. The watch
// contract runs here in this mode; the tests below count what only this
// driver holds: a thread named "node-mio watch" and the descriptors it adds.
import test from 'ava'
import { backend } from 'node-mio'
import { runNode } from './support/processes.ts'
import { expectCleanRun } from './support/shared-a-processes.ts'
import { watchContract } from './support/watch-contract.ts'
import { terminateReleases } from './support/platform.ts'

watchContract('thread')

/**
 * Child-process source: `fds()` counts this process's descriptors,
 * `watchThreads()` its threads named "node-mio watch", and `count(line)`
 * prints a line about those counts. Linux only (from /proc): elsewhere
 * (Windows, where this driver is the only one) the workers and cycles run
 * the same and the count lines are left out, on both sides (`counted`).
 */
const COUNTERS = `
  const fs = require('node:fs')
  const counting = process.platform === 'linux'
  // Deno opens a Unix socket pair of its own once many timers have run (200
  // setTimeout(1) calls do it without node-mio); node-mio's descriptors here
  // are no Unix sockets, so under Deno those are left out of the count.
  const unixSockets = () => new Set(fs.readFileSync('/proc/self/net/unix', 'utf8').split('\\n').slice(1).map((row) => row.trim().split(/\\s+/)[6]))
  const fds = () => {
    if (!counting) return 0
    const all = fs.readdirSync('/proc/self/fd')
    if (typeof Deno === 'undefined') return all.length
    const unix = unixSockets()
    return all.filter((fd) => {
      let target = ''
      try { target = fs.readlinkSync('/proc/self/fd/' + fd) } catch {}
      const inode = /^socket:\\[(\\d+)\\]$/.exec(target)?.[1]
      return inode === undefined || !unix.has(inode)
    }).length
  }
  const watchThreads = () => (counting ? fs.readdirSync('/proc/self/task').filter((task) => {
    try { return fs.readFileSync('/proc/self/task/' + task + '/comm', 'utf8').trim() === 'node-mio watch' } catch { return false }
  }).length : 0)
  const count = (line) => { if (counting) console.log(line) }
`
/** An expected line of a count, or nothing where the child does not count. */
const counted = (line: string): string[] => (process.platform === 'linux' ? [line] : [])

;(terminateReleases ? test : test.skip)('thread watch: a worker with a thread watch (idle, busy, stuck in its callback, or unref\'d and exiting by itself) ends without leaking a descriptor or a thread', async (t) => {
  // Each worker holds a Poll, two UDP sockets and a Waker and watches with a
  // thread (the registry clone and the two internal UDP sockets are three
  // more descriptors: seven at least). 'busy': batches keep flowing when it is
  // terminated; 'stuck': its callback never returns while more batches
  // queue; 'unref': the watch is unref'd and the worker ends by itself.
  // Descriptors are counted after a first worker loaded everything once.
  const result = await runNode(`
    ${COUNTERS}
    const { Worker } = require('node:worker_threads')
    const body = \`
      const { parentPort, workerData: variant } = require('node:worker_threads')
      const { Events, Interest, Poll, Token, UdpSocket, Waker } = require('node-mio')
      const poll = new Poll()
      const socket = UdpSocket.bind('127.0.0.1:0')
      const sender = UdpSocket.bind('127.0.0.1:0')
      poll.registry.register(socket, Token(1), Interest.READABLE)
      const waker = new Waker(poll.registry, Token(2))
      const buf = Buffer.alloc(16)
      let batches = 0
      const watch = poll.watch(new Events(8), () => {
        batches++
        while (socket.recvFrom(buf) !== null) {}
        if (variant === 'busy') {
          sender.sendTo(Buffer.from('x'), socket.localAddr())
          waker.wake()
          if (batches === 20) parentPort.postMessage('busy ' + watch.mode)
        }
        if (variant === 'stuck') {
          sender.sendTo(Buffer.from('x'), socket.localAddr())
          waker.wake()
          parentPort.postMessage('stuck ' + watch.mode)
          for (;;) {}
        }
      })
      if (variant === 'idle') parentPort.postMessage('idle ' + watch.mode)
      if (variant === 'unref') {
        watch.unref()
        parentPort.postMessage('unref ' + watch.mode)
      }
      if (variant === 'busy' || variant === 'stuck') sender.sendTo(Buffer.from('x'), socket.localAddr())
    \`
    async function cycle(variant) {
      const worker = new Worker(body, { eval: true, workerData: variant })
      const exited = new Promise((resolve) => worker.once('exit', resolve))
      worker.on('error', (e) => console.log('worker error ' + e.message))
      const message = await new Promise((resolve) => worker.once('message', resolve))
      const during = fds()
      const code = variant === 'unref' ? await exited : await worker.terminate()
      return { message, code, during }
    }
    ;(async () => {
      await cycle('idle')
      console.log('counting') // (the first write to a piped stdout opens a descriptor)
      const before = fds()
      let counted = true
      for (let round = 0; round < 3; round++) {
        for (const variant of ['idle', 'busy', 'stuck', 'unref']) {
          const { message, code, during } = await cycle(variant)
          if (variant !== 'unref' && during < before + 7) counted = false
          console.log(message + ': ended with ' + code) // a line a worker: runNode bounds silence
        }
      }
      count('the workers\\' descriptors were counted: ' + counted)
      const after = fds()
      count(after === before ? 'descriptors: unchanged' : 'descriptors: ' + before + ' before, ' + after + ' after')
      count('watch threads left: ' + watchThreads())
    })()
    process.on('exit', (code) => console.log('exit ' + code))
  `)
  expectCleanRun(t, result, [
    'counting',
    ...Array.from({ length: 3 }, () => ['idle thread: ended with 1', 'busy thread: ended with 1', 'stuck thread: ended with 1', 'unref thread: ended with 0']).flat(),
    ...counted('the workers\' descriptors were counted: true'),
    ...counted('descriptors: unchanged'),
    ...counted('watch threads left: 0'),
    'exit 0',
  ])
})

test('thread watch: 200 start/stop cycles (stop outside or inside the callback, Poll closed, pollAsync timing out or resolving) leak no descriptor and no thread', async (t) => {
  const result = await runNode(`
    ${COUNTERS}
    const { Events, Poll, Token, Waker, backend } = require('node-mio')
    const shared = new Poll()
    const events = new Events(8)
    const waker = new Waker(shared.registry, Token(1))
    // The two internal UDP sockets, and the registry clone: a dup of the
    // selector's descriptor, except with mio's poll(2) selector, which has
    // none (its clones share one selector).
    const watchFds = backend().selector === 'poll' ? 2 : 3
    const once = (poll, wake) => new Promise((resolve) => {
      const watch = poll.watch(events, (batch) => { watch.stop(); resolve(batch.length) })
      if (wake) wake.wake()
    })
    ;(async () => {
      // Warm-up: one of each.
      shared.watch(events, () => {}).stop()
      await once(shared, waker)
      console.log('counting') // (the first write to a piped stdout opens a descriptor)
      const before = fds()
      const watch = shared.watch(events, () => {})
      const during = fds() - before
      // (The thread names itself once it runs: wait for that, a bounded number of turns.)
      for (let i = 0; counting && i < 500 && watchThreads() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      const threads = watchThreads()
      watch.stop()
      count('a watch holds its ' + watchFds + ' descriptors: ' + (during === watchFds) + ', and 1 thread: ' + (threads === 1))
      const tally = { outside: 0, inside: 0, closed: 0, timeout: 0, resolved: 0 }
      for (let i = 0; i < 200; i++) {
        switch (i % 5) {
          case 0: {
            const w = shared.watch(events, () => console.log('unexpected callback'))
            if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve))
            w.stop()
            tally.outside++
            break
          }
          case 1:
            if ((await once(shared, waker)) === 1) tally.inside++
            break
          case 2: {
            const poll = new Poll()
            const w = poll.watch(events, () => console.log('unexpected callback'))
            if (i % 10 === 2) await new Promise((resolve) => setImmediate(resolve))
            poll.close()
            if (!w.active) tally.closed++
            break
          }
          case 3:
            if ((await shared.pollAsync(events, 1)) === 0) tally.timeout++
            break
          case 4: {
            const pending = shared.pollAsync(events, null)
            waker.wake()
            if ((await pending) === 1) tally.resolved++
            break
          }
        }
      }
      console.log(JSON.stringify(tally))
      const after = fds()
      count(after === before ? 'descriptors: unchanged' : 'descriptors: ' + before + ' before, ' + after + ' after')
      count('watch threads left: ' + watchThreads())
      waker.wake()
      console.log('the Poll still works: ' + shared.poll(events, 0) + ' event, token ' + events.get(0).token)
      waker.close()
      shared.close()
    })()
    process.on('exit', (code) => console.log('exit ' + code))
  `)
  expectCleanRun(t, result, [
    'counting',
    ...counted(`a watch holds its ${backend().selector === 'poll' ? 2 : 3} descriptors: true, and 1 thread: true`),
    JSON.stringify({ outside: 40, inside: 40, closed: 40, timeout: 40, resolved: 40 }),
    ...counted('descriptors: unchanged'),
    ...counted('watch threads left: 0'),
    'the Poll still works: 1 event, token 1',
    'exit 0',
  ])
})
