// `npm run test:backends`: node-mio built with each of mio's secondary
// implementations (scripts/backends.mjs), each run through the whole ava
// suite on this machine: the poll(2) selector (no pollable descriptor, so
// every watch runs on the thread driver, as on Windows), the pipe waker,
// and both. For each: build (NODE_MIO_BACKEND, its own target folder),
// check the addon reports the backend asked for (one test), optionally
// `cargo test` with the same cfg flags, then the ava suite with
// NAPI_RS_NATIVE_LIBRARY_PATH pointing at the addon. Ends with one line per
// backend: `<name>: N passed, N failed, N skipped`.
//
// The builds are release builds without LTO (CARGO_PROFILE_RELEASE_LTO=off,
// 16 codegen units): the same code, built in a fraction of the time.
//
//   npm run test:backends                        every backend, whole suite
//   npm run test:backends -- poll                one backend
//   npm run test:backends -- --cargo poll        also the Rust unit tests
//   npm run test:backends -- poll -- __test__/watch-*.spec.ts   some specs
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { addonOf, backendOf, backends, root } from './backends.mjs'

const bin = (name) => join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name)
const argv = process.argv.slice(2)
const dash = argv.indexOf('--')
const own = dash < 0 ? argv : argv.slice(0, dash)
const withCargo = own.includes('--cargo')
const names = own.filter((arg) => arg && arg !== '--cargo')
const avaArgs = dash < 0 ? [] : argv.slice(dash + 1)
const chosen = (names.length > 0 ? names : Object.keys(backends)).map(backendOf)

/** Runs a command, echoing its output, and returns the output and status. */
function run(cmd, args, env = {}) {
  const result = spawnSync(cmd, args, {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    shell: process.platform === 'win32',
    maxBuffer: 1 << 28,
  })
  process.stdout.write(result.stdout ?? '')
  process.stderr.write(result.stderr ?? '')
  return { out: `${result.stdout}\n${result.stderr}`, ok: result.status === 0 }
}

const expected = (backend) => ({
  selector: backend.cfgs.includes('mio_unsupported_force_poll_poll') ? 'poll' : process.platform === 'win32' ? 'iocp' : undefined,
  waker: backend.cfgs.includes('mio_unsupported_force_waker_pipe') ? 'pipe' : undefined,
})

// What mio's poll(2) selector does differently, found by running the suite
// with it. These specs assert epoll's behaviour (the default on Linux);
// with `poll` their failures are counted as known differences, not
// failures, and CONTRIBUTING.md's "Alternative backends" lists them. Each:
// [spec › title prefix, why].
const POLL_DIFFERENCES = [
  // mio emulates edge triggering: an event removes that interest until an
  // operation on the source returns WouldBlock. epoll reports each new
  // arrival; poll(2) reports nothing more until the source was drained.
  ['alloc › poll(events, 0) and for...of over a few events a million times', 'an always-writable socket is reported once, not on every poll'],
  // SourceFd has no WouldBlock hook: after an event its interest stays
  // removed until reregister(), and poll(2) checks no descriptor up front.
  ['source-fd › readiness_is_reregistered_after_would_block (SourceFd)', 'a SourceFd is not re-armed by WouldBlock: reregister() after each event'],
  ['source-fd › a FIFO: readable and writable events', 'a SourceFd is not re-armed by WouldBlock'],
  ['source-fd › a closed or invalid descriptor gives EBADF', 'poll(2) accepts any number at register(); a bad one is never ready'],
  ['source-fd › poll_erroneous_registration (SourceFd)', 'poll(2) accepts a regular file (always ready) where epoll says EPERM'],
  ['user-contracts › SourceFd: registering a regular file is EPERM', 'poll(2) accepts a regular file (always ready)'],
  // After POLLHUP or POLLERR mio drops the descriptor from its set by itself.
  ['options › linger 0 (option): close() resets the connection', 'after a reset (POLLHUP/POLLERR) the socket is no longer registered: reregister() is ENOENT'],
  ['options › linger 0 (setter, on the accepted end)', 'after a reset the socket is no longer registered: reregister() is ENOENT'],
  // The epoll drop-in registers a SourceFd again after each event (the
  // first rule above); poll(2) is level-triggered, so it cannot see a new
  // arrival on a descriptor that is still readable.
  ['compat-epoll › EPOLLET: one report per change, data left unread or not', 'EPOLLET is reported while unread data waits (as level-triggered): poll(2) shows no new arrival on a descriptor still readable'],
  // Fewer descriptors: a Registry clone and the thread watch share the
  // selector (an Arc) instead of dup'ing an epoll descriptor.
  ['alloc › a Poll the program forgot, with its Waker, cloned Registry and socket', 'no descriptor per Registry clone'],
  ['alloc › a source outlives its forgotten Poll and registers with another one', 'no descriptor per Registry clone'],
]

/**
 * The known difference a failing ava test line is, if any. ava names the
 * spec (`spec › title`) only when it runs more than one file.
 */
function knownDifference(backend, line) {
  if (!backend.cfgs.includes('mio_unsupported_force_poll_poll')) return null
  return POLL_DIFFERENCES.find(([title]) => line.includes(`✘ [fail]: ${title}`) || line.includes(`✘ [fail]: ${title.slice(title.indexOf(' › ') + 3)}`)) ?? null
}

// Every variant runs the specs against dist/, built here from this tree's
// lib/, and load-errors.spec and install.spec load the package's own addon
// (mio.<platform>.node beside index.js): a fresh clone has neither. The
// default addon is built only when it is missing.
const hostAddon = readdirSync(root).some((name) => /^mio\..*\.node$/.test(name))
console.log(`# build: ${hostAddon ? 'dist/ (scripts/build.mjs ts)' : "dist/ and this machine's addon (scripts/build.mjs)"}`)
if (!run(process.execPath, [join(root, 'scripts', 'build.mjs'), ...(hostAddon ? ['ts'] : [])]).ok) {
  console.error('test:backends: the build of the package failed')
  process.exit(1)
}

const results = []
for (const backend of chosen) {
  const result = { name: backend.name, passed: 0, failed: 0, skipped: 0, notes: [] }
  results.push(result)
  console.log(`\n# backend ${backend.name}: build`)
  const build = run(process.execPath, [join(root, 'scripts', 'build.mjs'), 'native'], {
    NODE_MIO_BACKEND: backend.name,
    CARGO_PROFILE_RELEASE_LTO: 'off',
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS: '16',
  })
  const addon = addonOf(backend)
  if (!build.ok || addon === null) {
    result.failed += 1
    result.notes.push('build failed')
    continue
  }
  const env = { NAPI_RS_NATIVE_LIBRARY_PATH: addon }

  console.log(`# backend ${backend.name}: the addon's backend`)
  const probe = spawnSync(
    process.execPath,
    ['-e', 'const b = require("./index.js"); console.log(JSON.stringify({ ...b.mioBackend(), watch: b.watchDrivers() }))'],
    { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } },
  )
  let reported = null
  try {
    reported = JSON.parse(probe.stdout)
  } catch {
    // counted below
  }
  const want = expected(backend)
  const pollSelector = want.selector === 'poll'
  const matches =
    reported !== null &&
    (want.selector === undefined || reported.selector === want.selector) &&
    (want.waker === undefined || reported.waker === want.waker) &&
    (!pollSelector || reported.watch.join() === 'thread')
  console.log(`${matches ? 'ok' : 'WRONG'}: ${probe.stdout.trim() || probe.stderr.trim()}`)
  if (matches) result.passed += 1
  else {
    result.failed += 1
    result.notes.push('the addon does not report this backend')
  }

  if (withCargo) {
    console.log(`# backend ${backend.name}: cargo test`)
    const cargo = run('cargo', ['test', '--quiet', '--target-dir', backend.dir], { RUSTFLAGS: backend.rustflags })
    let counted = false
    for (const m of cargo.out.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/g)) {
      result.passed += Number(m[1])
      result.failed += Number(m[2])
      result.skipped += Number(m[3])
      counted = true
    }
    if (!cargo.ok && !counted) result.failed += 1
  }

  console.log(`# backend ${backend.name}: ava`)
  const ava = run(bin('ava'), ['--concurrency', '2', ...avaArgs], { ...env, FORCE_COLOR: '0' })
  const count = (re) => Number(ava.out.match(re)?.[1] ?? 0)
  // ava prints "N tests passed" only when nothing failed; count the ticks otherwise.
  result.passed += count(/(\d+) tests? passed/) || (ava.out.match(/^\s*✔ /gm) ?? []).length
  const failed =
    count(/(\d+) tests? failed/) +
    count(/(\d+) uncaught exceptions?/) +
    count(/(\d+) unhandled rejections?/) +
    count(/(\d+) tests? remained pending/)
  const known = ava.out.split('\n').filter((line) => knownDifference(backend, line) !== null)
  result.failed += failed - known.length
  result.differs = known.length
  if (!ava.ok && failed === 0) result.failed += 1
  result.skipped += count(/(\d+) tests? skipped/) + count(/(\d+) tests? todo/)
  result.known = count(/(\d+) known failures?/)
  for (const line of known) console.log(`known difference: ${line.trim()}`)
}

console.log('\n# backends')
for (const r of results) {
  const known = r.known ? `, ${r.known} known failure${r.known === 1 ? '' : 's'}` : ''
  const differs = r.differs ? `, ${r.differs} known difference${r.differs === 1 ? '' : 's'} (failed as CONTRIBUTING.md says)` : ''
  console.log(`${r.name}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped${known}${differs}${r.notes.length ? ` (${r.notes.join('; ')})` : ''}`)
}
process.exit(results.every((r) => r.failed === 0) ? 0 : 1)
