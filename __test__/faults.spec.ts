// Faults from the OS: running out of descriptors, peers that reset in the
// middle of a transfer, a reader that never reads, a Poll closed under a
// worker blocked in it. Each must end in an error or `null`, never a signal,
// a hang or a leak, on the main thread and in workers.
import test from 'ava'
import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import { Worker } from 'node:worker_threads'
import { SharedWaker, UnixStream, type SharedWakerMessage, type TcpStream } from 'node-mio'
import { Example } from './support/processes.ts'
import { connectedPair } from './support/sockets.ts'
import { runtime } from './support/platform.ts'

// Linux (prlimit, /proc). Not under Deno: there the server process ended
// within a second of its first EMFILE, with no output.
const linux = process.platform === 'linux' && runtime !== 'deno' ? test : test.skip
const modulePath = createRequire(import.meta.url).resolve('node-mio')
/** A full collection: `gc` with --expose-gc (the ava config passes it), `Bun.gc(true)` under Bun. */
const fullGc = (globalThis as { gc?: () => void }).gc ?? (globalThis as { Bun?: { gc(sync: boolean): void } }).Bun?.gc.bind(null, true) ?? (() => {})

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  const ticks = Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14, 15)
  return ticks / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
}

linux('out of descriptors: accept throws EMFILE, open connections keep working, the server retries on a timer without spinning and recovers', async (t) => {
  t.timeout(120_000)
  const server = new Example(t, 'watch-echo-server.ts', { args: ['127.0.0.1:0'], env: { TICK_MS: '600000' } })
  const { port } = await server.listening()
  const pid = server.child.pid!
  const open = readdirSync(`/proc/${pid}/fd`).length
  const limit = open + 3
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:`])

  const clients: Array<{ socket: net.Socket; received: () => string }> = []
  for (let i = 0; i < 8; i++) {
    const socket = net.connect(port, '127.0.0.1')
    let data = ''
    socket.setEncoding('utf8').on('data', (chunk: string) => (data += chunk))
    // A reset shows as a client that never gets its echo, not as an
    // uncaught error that ends the whole spec file.
    socket.on('error', (error: Error) => (data += `[${error.message}]`))
    await once(socket, 'connect')
    clients.push({ socket, received: () => data })
  }
  await server.waitFor(/^accept: EMFILE, retrying every 100 ms$/m)
  const accepted = server.lines(/^Accepted connection from /).length
  t.true(accepted >= 1 && accepted < clients.length, `${accepted} of ${clients.length} accepted under the limit`)

  // The connections it holds still echo.
  for (const [i, client] of clients.entries()) client.socket.write(`hello ${i}\n`)
  // Counted again while waiting: descriptors the server had open only while
  // it started (its module loader's) may close and let a retry accept more.
  await server.waitUntil(
    () => clients.filter((c) => c.received() !== '').length === server.lines(/^Accepted connection from /).length,
    'echo on every accepted connection',
  )

  // Waiting for descriptors costs (almost) nothing: a timer, not a loop.
  const before = cpuSeconds(pid)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const used = cpuSeconds(pid) - before
  t.true(used < 0.5, `the server used ${used.toFixed(2)} s of CPU in 1 s while out of descriptors`)

  // Descriptors free up: the retry accepts the rest, which then echo.
  execFileSync('prlimit', ['--pid', String(pid), '--nofile=1024:'])
  await server.waitFor(/^accept: descriptors available again$/m)
  await server.waitUntil(() => clients.every((c) => c.received().includes('hello')), 'echo on every connection')
  for (const [i, client] of clients.entries()) t.is(client.received(), `hello ${i}\n`)
  for (const client of clients) client.socket.destroy()
})

/** The reset and broken-pipe checks, as source so a worker can run them too. */
const RESETS = `
async function resets(mio) {
  const { Interest, pipe, Poll, TcpListener, TcpStream, Token, UnixStream, Events } = mio
  const codes = {}
  const codeOf = (fn) => { try { return 'ok:' + fn() } catch (e) { return e.code } }
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20))
  const chunk = Buffer.alloc(64 * 1024, 1)
  /** A connected TCP pair; the listener is closed. */
  const tcpPair = async () => {
    const listener = TcpListener.bind('127.0.0.1:0')
    const a = TcpStream.connect(listener.localAddr())
    let accepted = null
    for (let i = 0; i < 1000 && accepted === null; i++) { await settle(); accepted = listener.accept() }
    listener.close()
    return [a, accepted[0]]
  }
  // TCP: the peer resets (linger 0) while we write, and while data waits to be read.
  {
    const [a, b] = await tcpPair()
    b.write(Buffer.from('unread'))
    await settle()
    a.setLinger(0)
    a.close() // RST: 'unread' was never read
    await settle()
    let write = null
    for (let i = 0; i < 100; i++) { write = codeOf(() => b.write(chunk)); if (!write.startsWith('ok:')) break }
    codes.tcpWrite = write
    codes.tcpRead = codeOf(() => b.read(Buffer.alloc(16)))
    b.close()
  }
  {
    const [a, b] = await tcpPair()
    a.write(Buffer.from('data then reset'))
    a.setLinger(0)
    await settle()
    a.close()
    await settle()
    codes.tcpReadAfterReset = codeOf(() => b.read(Buffer.alloc(64)))
    b.close()
  }
  if (process.platform !== 'win32') {
    // Unix stream and pipe: the other end closed while we write.
    const [c, d] = UnixStream.pair()
    d.close()
    codes.unixWrite = codeOf(() => c.write(chunk))
    c.close()
    const [e, f] = UnixStream.pair()
    e.write(Buffer.from('x'))
    e.close()
    codes.unixRead = [codeOf(() => f.read(Buffer.alloc(4))), codeOf(() => f.read(Buffer.alloc(4)))].join(',')
    f.close()
    const [sender, receiver] = pipe()
    receiver.close()
    codes.pipeWrite = codeOf(() => sender.write(chunk))
    codes.pipeWritev = codeOf(() => sender.writev([chunk, chunk]))
    sender.close()
  }
  return codes
}
`

function checkResets(t: import('ava').ExecutionContext, codes: Record<string, string>, where: string): void {
  t.true(['ECONNRESET', 'EPIPE'].includes(codes.tcpWrite ?? ''), `${where}: write to a reset peer: ${codes.tcpWrite}`)
  t.true(['ECONNRESET', 'ok:0'].includes(codes.tcpRead ?? ''), `${where}: read after the reset: ${codes.tcpRead}`)
  t.true(['ECONNRESET', 'ok:15'].includes(codes.tcpReadAfterReset ?? ''), `${where}: read of data then a reset: ${codes.tcpReadAfterReset}`)
  if (process.platform !== 'win32') {
    t.is(codes.unixWrite, 'EPIPE', `${where}: Unix stream`)
    t.is(codes.unixRead, 'ok:1,ok:0', `${where}: Unix stream read to the end`)
    t.is(codes.pipeWrite, 'EPIPE', `${where}: pipe write`)
    t.is(codes.pipeWritev, 'EPIPE', `${where}: pipe writev`)
  }
}

test('a peer that resets or closes mid-transfer: errors, never a signal, on the main thread', async (t) => {
  const resets = new Function(`${RESETS}; return resets`)() as (mio: unknown) => Promise<Record<string, string>>
  checkResets(t, await resets(await import('node-mio')), 'main thread')
})

test('a peer that resets or closes mid-transfer: errors, never a signal, in a worker', async (t) => {
  const worker = new Worker(`${RESETS}; resets(require(${JSON.stringify(modulePath)})).then((codes) => require('node:worker_threads').parentPort.postMessage(codes))`, { eval: true })
  const exited = once(worker, 'exit')
  const [codes] = (await once(worker, 'message')) as [Record<string, string>]
  checkResets(t, codes, 'worker')
  t.deepEqual(await exited, [0], 'the worker ends on its own, exit code 0')
})

// A Unix stream pair's buffer is fixed: once full, every write is null. TCP
// keeps moving bytes from the writer's buffer into the reader's and grows
// both (Linux autotuning, Windows' dynamic send buffer), so there a write
// now and then takes something, bounded by what the kernel buffers.
//
// Memory is the process's: these run serially, so before any concurrent
// test of this file (a worker booting its own isolate on another thread
// while the loop runs adds megabytes of RSS), and a first round of the same
// writes comes before the baseline, so the runtime's one-off growth (its
// compiled code, the allocator's first pages) is in it. A native leak of
// 100 bytes a write is 9.5 MiB over the measured 100,000, above the bound.
const neverReadPairs: Array<[string, () => [TcpStream | UnixStream, TcpStream | UnixStream], boolean]> = [['TCP', connectedPair, false]]
if (process.platform !== 'win32') neverReadPairs.push(['a Unix stream pair', () => UnixStream.pair(), true])
for (const [kind, makePair, fixedBuffer] of neverReadPairs) {
  test.serial(`a reader that never reads (${kind}): write returns null for as long as it lasts, and memory stays flat`, (t) => {
    const [writer, reader] = makePair()
    const chunk = Buffer.alloc(64 * 1024, 7)
    let taken = 0
    for (let n; (n = writer.write(chunk)) !== null; ) taken += n
    t.true(taken > 0, 'the socket buffer took something first')
    const writes = (count: number): { nulls: number; more: number } => {
      let nulls = 0
      let more = 0
      for (let i = 0; i < count; i++) {
        const n = writer.write(chunk)
        if (n === null) nulls++
        else more += n
      }
      return { nulls, more }
    }
    const warmup = writes(20_000)
    fullGc()
    const heap = process.memoryUsage().heapUsed
    const rss = process.memoryUsage().rss
    const { nulls, more } = writes(100_000)
    fullGc()
    if (fixedBuffer) t.is(nulls + warmup.nulls, 120_000, 'every write while full is null')
    else {
      t.true(nulls >= 99_000, `${nulls} of 100,000 writes were null`)
      t.true(more + warmup.more < 64 << 20, `the kernel took ${more + warmup.more} more bytes`)
    }
    const heapGrowth = process.memoryUsage().heapUsed - heap
    const rssGrowth = process.memoryUsage().rss - rss
    t.true(heapGrowth < 1 << 20, `heap flat: ${heapGrowth} B more over 100,000 writes`)
    t.true(rssGrowth < 8 << 20, `RSS flat: ${rssGrowth} B more over 100,000 writes`)
    writer.close()
    reader.close()
  })
}

test('a worker blocked in poll() is woken through a shared waker and closes its Poll while the main thread keeps waking it', async (t) => {
  t.timeout(60_000)
  for (let round = 0; round < 10; round++) {
    const worker = new Worker(
      `
      const { parentPort } = require('node:worker_threads')
      const { Events, Poll, Token, Waker } = require(${JSON.stringify(modulePath)})
      const poll = new Poll()
      const waker = new Waker(poll.registry, Token(1))
      parentPort.postMessage(waker.share())
      const events = new Events(4)
      let wakes = 0
      while (wakes < 3) wakes += poll.poll(events, null)
      poll.close()
      let afterClose = 'ok'
      try { poll.poll(events, 0) } catch (e) { afterClose = e.code }
      parentPort.postMessage({ wakes, afterClose })
      `,
      { eval: true },
    )
    const [message] = (await once(worker, 'message')) as [SharedWakerMessage]
    const shared = SharedWaker.from(message)
    let report: { wakes: number; afterClose: string } | undefined
    worker.once('message', (value: { wakes: number; afterClose: string }) => (report = value))
    let calls = 0
    while (report === undefined) {
      t.is(typeof shared.wake(), 'boolean') // before and after the close: never a throw
      calls++
      await new Promise((resolve) => setImmediate(resolve))
    }
    t.true(report.wakes >= 3, `round ${round}: ${report.wakes} wakes seen in ${calls} calls`)
    t.is(report.afterClose, 'ERR_MIO_CLOSED')
    t.is(typeof shared.wake(), 'boolean')
    await worker.terminate()
  }
})

test('a shared waker woken after its Poll and its worker are gone returns false, never crashes', async (t) => {
  const worker = new Worker(
    `
    const { parentPort } = require('node:worker_threads')
    const { Poll, Token, Waker } = require(${JSON.stringify(modulePath)})
    const poll = new Poll()
    const waker = new Waker(poll.registry, Token(1))
    parentPort.postMessage(waker.share())
    `,
    { eval: true },
  )
  // Listening for 'exit' only after the message came would miss it: a worker
  // that ends right after posting has its last messages delivered and its
  // 'exit' emitted in one turn, before the awaiting code runs again.
  const exited = once(worker, 'exit')
  const [shared] = (await once(worker, 'message')) as [SharedWakerMessage]
  // 'exit' comes after Node joined the worker's thread, whose thread-local
  // tables (its Poll and Waker) were dropped as it ended.
  await exited
  t.false(SharedWaker.from(shared).wake(), 'the worker ended: its waker is closed')
})

