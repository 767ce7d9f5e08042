// The `epoll` npm package (fivdi/epoll) watcher of the descriptor-events
// scenario of `npm run bench`: the same FIFOs, the same tally, the package's
// documented use: `new Epoll(callback)`, `add(fd, Epoll.EPOLLIN)`, and
// `fs.readSync` on the descriptor in the callback (the package does no I/O).
// Inside, the package runs one thread that calls `epoll_wait` for one event at
// a time and hands each to the main thread through a `uv_async`, waiting on a
// semaphore until the callback has run. Protocol and tally:
// bench/fd-events/common.ts.
//
// `epoll` is not a dependency of node-mio: the harness (bench/lib/peers.mjs)
// installs it on demand into PEERS (bench/peers) and passes that folder here.
//
// Usage: node --import tsx bench/fd-events/epoll-npm.ts DIR PIPES MAX-SECONDS PEERS
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { lifetime, openFifos, parseArgs, READ_SIZE, Tally } from './common'

interface EpollInstance {
  add(fd: number, events: number): EpollInstance
  remove(fd: number): EpollInstance
  close(): void
}
interface EpollClass {
  new (callback: (error: Error | null, fd: number, events: number) => void): EpollInstance
  readonly EPOLLIN: number
}

const usage = 'epoll-npm.ts DIR PIPES MAX-SECONDS PEERS'
const { dir, pipes, maxSeconds, rest } = parseArgs(usage)
if (rest[0] === undefined) throw new Error(`usage: ${usage}`)
const requirePeer = createRequire(path.join(path.resolve(rest[0]), 'package.json'))
const { Epoll } = requirePeer('epoll') as { Epoll: EpollClass }
const alive = lifetime(maxSeconds)

const fds = openFifos(dir, pipes)
/** FIFO index by descriptor; -1 once closed. */
const index = new Int32Array(Math.max(...fds) + 1).fill(-1)
fds.forEach((fd, i) => (index[fd] = i))
const buf = Buffer.alloc(READ_SIZE)
const tally = new Tally(pipes)

const epoll = new Epoll((error, fd) => {
  if (error) throw error
  const i = index[fd]!
  if (i < 0) return
  tally.events++
  const first = tally.bytes
  let open = true
  for (;;) {
    let n: number
    try {
      n = fs.readSync(fd, buf, 0, READ_SIZE, null)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') break
      throw e
    }
    if (n === 0) {
      open = false
      epoll.remove(fd)
      fs.closeSync(fd)
      index[fd] = -1
      if (tally.closed()) finish()
      break
    }
    tally.got(i, buf, n)
    if (n < READ_SIZE) break
  }
  if (tally.bytes > first) tally.dataEvents++
  else if (open) tally.emptyEvents++
})
for (const fd of fds) epoll.add(fd, Epoll.EPOLLIN)

const timer = setInterval(() => {
  if (!alive()) process.exit(1)
}, 500)
timer.unref()

function finish(): void {
  clearInterval(timer)
  epoll.close()
  tally.report({ watcher: 'epoll-npm' })
}

console.log('ready')
