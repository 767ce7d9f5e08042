// The `epoll` (4.0.2) and `unix-dgram` (2.0.7) packages' own test files, as
// their published tarballs ship them in test/, run unmodified from
// node_modules (installed as dev dependencies, install scripts off: nothing
// of theirs is compiled), each in its own process with
// fixtures/compat-resolve.cjs preloaded, which resolves their
// `require('../')` and `require('../lib/unix_dgram')` to node-mio's drop-ins.
// Each file reports failure as its own authors wrote it: an assertion
// (exit code), a `*** Error` line, or a hang.
import test from 'ava'
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { runtime } from './support/platform.ts'

const require = createRequire(import.meta.url)
const PRELOAD = join(import.meta.dirname, 'fixtures', 'compat-resolve.cjs')
const EPOLL_TESTS = join(dirname(require.resolve('epoll/package.json')), 'test')
const UNIX_DGRAM_TESTS = join(dirname(require.resolve('unix-dgram/package.json')), 'test')
/** A hang guard, never a measurement: no-gc-allowed.js runs for 5 s by design. */
const PATIENCE = 60_000

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** What the drop-ins' sockets emitted (fixtures/compat-resolve.cjs), when the file used one. */
  tally: { module: string; resolved: string[]; events: Record<string, number> } | undefined
}

/**
 * Runs `file` with the preload. `stdin`: a pipe that receives a newline and
 * closes, as epoll's run-tests script pipes `echo` into them.
 */
function runSuiteFile(file: string, stdin: 'newline' | 'ignore'): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', PRELOAD, file], {
      cwd: dirname(file),
      env: { ...process.env, NODE_MIO_COMPAT_TALLY: '1' },
      stdio: [stdin === 'newline' ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    })
    if (stdin === 'newline') child.stdin!.end('\n')
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${file} still running after ${PATIENCE} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    }, PATIENCE)
    child.once('error', reject)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      // One line per thread that loaded the preload (a worker's too): summed.
      let tally: Run['tally']
      for (const line of stderr.split('\n').filter((l) => l.startsWith('compat-tally '))) {
        const one = JSON.parse(line.slice('compat-tally '.length)) as NonNullable<Run['tally']>
        tally ??= { module: one.module, resolved: [], events: {} }
        tally.resolved.push(...one.resolved)
        for (const [event, count] of Object.entries(one.events)) tally.events[event] = (tally.events[event] ?? 0) + count
      }
      resolve({ code, signal, stdout, stderr, tally })
    })
  })
}

// Their files run under Node (`node -r`), on Unix.
const runs = runtime === 'node' && process.platform !== 'win32'
const epollTest = runs ? test : test.skip
const dgramTest = runs ? test.serial : test.skip // they all use /tmp/unix_dgram.sock

for (const name of ['do-nothing', 'do-almost-nothing', 'closed', 'verify-events', 'one-shot', 'two-shot', 'no-gc-allowed', 'performance-check']) {
  epollTest(`epoll's own test/${name}.js passes on node-mio/epoll`, async (t) => {
    const run = await runSuiteFile(join(EPOLL_TESTS, `${name}.js`), 'newline')
    t.is(run.code, 0, run.stderr)
    t.is(run.signal, null)
    t.deepEqual(run.tally?.resolved, ['epoll'], 'its require resolved to node-mio/epoll')
    if (name === 'verify-events' && process.platform !== 'linux') {
      // Every add/modify passes but EPOLLPRI, which kqueue cannot watch: the error says so.
      t.regex(run.stdout, /\*\*\* Error: EPOLLPRI cannot be watched/)
      return
    }
    t.notRegex(run.stdout, /\*\*\* Error/, run.stdout)
    if (name === 'performance-check') {
      const rate = /(\d+) events per second/.exec(run.stdout)
      t.truthy(rate, run.stdout)
      t.true(Number(rate![1]) > 0)
      t.log(`performance-check.js: ${rate![1]} events per second (a figure, not a gate: bench/ compares it)`)
    }
  })
}

for (const name of ['test-dgram-unix', 'test-connect', 'test-connect-callback', 'test-send-error']) {
  dgramTest(`unix-dgram's own test/${name}.js passes on node-mio/unix-dgram`, async (t) => {
    const run = await runSuiteFile(join(UNIX_DGRAM_TESTS, `${name}.js`), 'ignore')
    t.is(run.code, 0, run.stderr)
    t.is(run.signal, null)
    t.deepEqual(run.tally?.resolved, ['unix-dgram'], 'its require resolved to node-mio/unix-dgram')
    if (name === 'test-connect') {
      // 300 datagrams at once into a peer that cannot drain meanwhile:
      // congestion, then 'writable', and every datagram arrives.
      t.true((run.tally!.events.congestion ?? 0) > 0, JSON.stringify(run.tally))
      t.true((run.tally!.events.writable ?? 0) > 0, JSON.stringify(run.tally))
      t.is(run.tally!.events.message, 300)
    }
  })
}

dgramTest("unix-dgram's worker-thread test (its default branch's test/test-worker.js) passes on node-mio/unix-dgram", async (t) => {
  const run = await runSuiteFile(join(import.meta.dirname, 'fixtures', 'unix-dgram-worker.cjs'), 'ignore')
  t.is(run.code, 0, run.stderr)
  t.regex(run.stdout, /worker exited with code 0/)
  t.true(run.tally?.resolved.includes('unix-dgram'), 'the worker resolved node-mio/unix-dgram')
  t.is(run.tally?.events.message, 2, JSON.stringify(run.tally))
})
