// The node-mio watchers of the descriptor-events scenario of `npm run bench`:
// the FIFOs' read ends registered through `SourceFd`, readiness counted and
// every byte read, either in a blocking `poll()` loop (`blocking`) or on
// Node's event loop with `poll.watch` (`watch`). Protocol and tally:
// bench/fd-events/common.ts.
//
// Usage: node --import tsx bench/fd-events/node-mio.ts DIR PIPES [MAX-SECONDS] [blocking|watch]
import fs from 'node:fs'
import { Events, Interest, Poll, SourceFd, Token } from 'node-mio'
import { lifetime, openFifos, parseArgs, READ_SIZE, Tally } from './common'

const usage = 'node-mio.ts DIR PIPES [MAX-SECONDS] [blocking|watch]'
const { dir, pipes, maxSeconds, rest } = parseArgs(usage)
const loop = rest[0] ?? 'blocking'
if (loop !== 'blocking' && loop !== 'watch') throw new Error(`usage: ${usage}`)
const alive = lifetime(maxSeconds)
const IDLE_MS = 500

const fds = openFifos(dir, pipes)
const poll = new Poll()
const events = new Events(1024)
const sources: Array<SourceFd | undefined> = fds.map((fd, i) => {
  const source = new SourceFd(fd)
  poll.registry.register(source, Token(i), Interest.READABLE)
  return source
})
const buf = Buffer.alloc(READ_SIZE)
const tally = new Tally(pipes)
let done = false

/** Handles one batch: every event's FIFO read until it is empty (a short read) or would block. */
function onEvents(batch: Events): void {
  for (const event of batch) {
    const i = event.token
    const source = sources[i]
    if (source === undefined) continue
    tally.events++
    const first = tally.bytes
    for (;;) {
      const n = source.read(buf)
      if (n === null) break
      if (n === 0) {
        source.close() // deregisters; the descriptor is ours to close
        fs.closeSync(fds[i]!)
        sources[i] = undefined
        if (tally.closed()) done = true
        break
      }
      tally.got(i, buf, n)
      if (n < READ_SIZE) break
    }
    if (tally.bytes > first) tally.dataEvents++
    else if (sources[i] !== undefined) tally.emptyEvents++
  }
}

function finish(): void {
  for (const source of sources) source?.close()
  poll.close()
  tally.report({ watcher: `node-mio-${loop}` })
}

console.log('ready')
if (loop === 'blocking') {
  while (!done) {
    if (poll.poll(events, IDLE_MS) > 0) onEvents(events)
    else if (!alive()) break
  }
  finish()
} else {
  const watch = poll.watch(events, (batch) => {
    onEvents(batch)
    if (done) {
      watch.stop()
      clearInterval(timer)
      finish()
    }
  })
  const timer = setInterval(() => {
    if (alive()) return
    watch.stop()
    clearInterval(timer)
    finish()
  }, IDLE_MS)
}
