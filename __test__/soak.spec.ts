// The soak in its one-minute form (`npm run soak -- --minutes N` runs it
// longer): TCP and UDP echo, Unix streams, watch start/stop and
// registration churn at once, in a child process. Every echo must come back
// intact, and what it holds must stay flat: the JavaScript heap after GC and
// the open descriptors by their trend over the run, the resident set within
// a bound (the allocator's arenas grow during the first minute or so, then
// RSS levels off: 82 MiB from minute 1.5 to 4 in a four-minute run).
import test from 'ava'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'

const root = join(import.meta.dirname, '..')
const MiB = 2 ** 20

test('one minute of mixed traffic: no wrong byte, heap and descriptors flat, RSS bounded', async (t) => {
  t.timeout(4 * 60_000)
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', join(root, 'scripts', 'soak.mjs'), '--minutes', '1', '--quiet'], {
    cwd: root,
    maxBuffer: 1 << 24,
  })
  const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
    slopes: { heapBytesPerMinute: number; fdsPerMinute: number | null }
    first: { rss: number; fds: number | null }
    last: { rss: number; fds: number | null }
    counts: { wrong: number; tcpBytes: number; udpReplies: number; unixBytes: number; watchCycles: number; registrations: number }
  }
  t.log(JSON.stringify(report.counts))
  t.is(report.counts.wrong, 0, 'every echo came back intact')
  t.true(report.counts.tcpBytes > 0 && report.counts.udpReplies > 0 && report.counts.watchCycles > 0 && report.counts.registrations > 0, 'every kind of traffic ran')
  if (process.platform !== 'win32') t.true(report.counts.unixBytes > 0)
  t.true(Math.abs(report.slopes.heapBytesPerMinute) < 1 * MiB, `heap trend ${(report.slopes.heapBytesPerMinute / MiB).toFixed(2)} MiB/min`)
  if (report.slopes.fdsPerMinute !== null) {
    t.true(Math.abs(report.slopes.fdsPerMinute) < 1, `descriptor trend ${report.slopes.fdsPerMinute.toFixed(2)}/min`)
    t.true((report.last.fds ?? 0) - (report.first.fds ?? 0) <= 1, `descriptors ${report.first.fds} -> ${report.last.fds}`)
  }
  t.true(report.last.rss - report.first.rss < 64 * MiB, `RSS ${(report.first.rss / MiB).toFixed(0)} -> ${(report.last.rss / MiB).toFixed(0)} MiB`)
})
