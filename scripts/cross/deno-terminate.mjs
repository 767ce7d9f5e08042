// What a terminated worker leaves behind: one worker blocked in
// poll(events, null), one with a thread watch, both terminated, then the
// process's threads and descriptors are counted. Node.js: the same as
// before. Deno 2.9.6: both workers' threads and their descriptors stay (see
// terminateReleases in __test__/support/platform.ts). Bun 1.4.5: the
// descriptors go; its worker threads stay, as they do for workers that
// never load node-mio. Linux only; needs the built package (npm run build).
//
//   node scripts/cross/deno-terminate.mjs
//   deno run -A scripts/cross/deno-terminate.mjs
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'

const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url))
const count = () => [readdirSync('/proc/self/task').length, readdirSync('/proc/self/fd').length]
const [threads, descriptors] = count()
for (const mode of ['poll', 'watch']) {
  const worker = new Worker(
    `
    const { parentPort } = require('node:worker_threads')
    const { Events, Poll } = require(${JSON.stringify(dist)})
    const poll = new Poll()
    if (${JSON.stringify(mode)} === 'watch') poll.watch(new Events(4), () => {})
    parentPort.postMessage('ready')
    if (${JSON.stringify(mode)} === 'poll') setTimeout(() => poll.poll(new Events(4), null), 50)
    `,
    { eval: true },
  )
  await new Promise((resolve) => worker.once('message', resolve))
  await new Promise((resolve) => setTimeout(resolve, 200))
  await worker.terminate()
}
await new Promise((resolve) => setTimeout(resolve, 1000))
const [threadsAfter, descriptorsAfter] = count()
console.log(`threads: ${threads} before, ${threadsAfter} after; descriptors: ${descriptors} before, ${descriptorsAfter} after`)
process.exit(descriptorsAfter === descriptors ? 0 : 1)
