// The errors a user meets when node-mio's binary cannot load say what to do.
// Each is simulated: explainLoadFailure with a made-up machine, then the real
// package loaded in a child process that looks like another machine
// (fixtures/simulate.cjs). install.spec.ts covers the platform package
// missing from a real install.
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { detectMusl, explainLoadFailure, platformKey, platformKeyOfTarget, type LoadContext } from '../lib/load-error.ts'
import { REQUIRE_NODE_MIO } from './support/processes.ts'

const root = join(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; napi: { targets: string[] } }
const SIMULATE = join(root, '__test__', 'fixtures', 'simulate.cjs')
const loaderError = Object.assign(new Error('Cannot find native binding. npm has a bug …'), { cause: new Error('Cannot find module ./mio.x.node') })

function context(over: Partial<LoadContext> & { have?: string[] } = {}): LoadContext {
  const have = over.have ?? []
  return {
    platform: 'linux',
    arch: 'x64',
    musl: false,
    nodeVersion: 'v22.0.0',
    version: pkg.version,
    targets: pkg.napi.targets,
    installed: (key) => have.includes(key),
    ...over,
  }
}

/** Loads node-mio in a child that looks like another machine; returns what it printed. */
function loadAs(simulate: string): { status: number | null; stderr: string } {
  const child = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(SIMULATE)}); ${REQUIRE_NODE_MIO}`], {
    cwd: root,
    encoding: 'utf8',
    // (without a binary named by NAPI_RS_NATIVE_LIBRARY_PATH, as
    // `npm run test:backends` sets: the simulated machine has none)
    env: { ...process.env, NODE_MIO_SIMULATE: simulate, NODE_OPTIONS: '', NAPI_RS_NATIVE_LIBRARY_PATH: undefined },
  })
  return { status: child.status, stderr: child.stderr }
}

test('every napi target has the platform key of its npm/ package', (t) => {
  t.deepEqual(
    pkg.napi.targets.map(platformKeyOfTarget).sort(),
    ['android-arm64', 'darwin-arm64', 'darwin-x64', 'freebsd-x64', 'linux-arm64-gnu', 'linux-arm64-musl', 'linux-x64-gnu', 'linux-x64-musl', 'win32-arm64-msvc', 'win32-x64-msvc'],
  )
  t.is(platformKey('linux', 'arm64', true), 'linux-arm64-musl')
  t.is(platformKey('win32', 'x64', false), 'win32-x64-msvc')
  t.is(platformKey('darwin', 'arm64', false), 'darwin-arm64')
})

test('no prebuilt binary: names the platform, the supported ones and how to build from source', (t) => {
  const error = explainLoadFailure(loaderError, context({ arch: 'riscv64' })) as Error & { code: string }
  t.is(error.code, 'ERR_NODE_MIO_UNSUPPORTED_PLATFORM')
  t.regex(error.message, /no prebuilt binary for linux-riscv64-gnu \(Node v22\.0\.0\)/)
  for (const key of pkg.napi.targets.map(platformKeyOfTarget)) t.true(error.message.includes(key), key)
  t.regex(error.message, /npm run build:native/)
  t.regex(error.message, /NAPI_RS_NATIVE_LIBRARY_PATH=.*mio\.linux-riscv64-gnu\.node/)
  t.is(error.cause, loaderError)
  // Windows on x86 (ia32) is not built either
  t.is((explainLoadFailure(loaderError, context({ platform: 'win32', arch: 'ia32' })) as Error & { code: string }).code, 'ERR_NODE_MIO_UNSUPPORTED_PLATFORM')
})

test('Android: arm64 has a binary package, 32-bit arm has none', (t) => {
  const arm64 = explainLoadFailure(loaderError, context({ platform: 'android', arch: 'arm64' })) as Error & { code: string }
  t.is(arm64.code, 'ERR_NODE_MIO_BINARY_MISSING')
  t.true(arm64.message.includes(`npm install node-mio-android-arm64@${pkg.version}`))
  const arm = explainLoadFailure(loaderError, context({ platform: 'android', arch: 'arm' })) as Error & { code: string }
  t.is(arm.code, 'ERR_NODE_MIO_UNSUPPORTED_PLATFORM')
  t.true(arm.message.includes('android-arm64'))
})

test('platform package missing: names the package and the command that installs it', (t) => {
  const error = explainLoadFailure(loaderError, context({ platform: 'darwin', arch: 'arm64' })) as Error & { code: string }
  t.is(error.code, 'ERR_NODE_MIO_BINARY_MISSING')
  t.true(error.message.includes(`npm install node-mio-darwin-arm64@${pkg.version}`))
  t.regex(error.message, /npm\/cli\/issues\/4828/)
  t.regex(error.message, /remove node_modules and package-lock\.json/)
})

test('musl system with the glibc binary installed, and the other way round', (t) => {
  const onMusl = explainLoadFailure(loaderError, context({ musl: true, have: ['linux-x64-gnu'] })) as Error & { code: string }
  t.is(onMusl.code, 'ERR_NODE_MIO_LIBC_MISMATCH')
  t.regex(onMusl.message, /C library is musl/)
  t.true(onMusl.message.includes(`npm install node-mio-linux-x64-musl@${pkg.version}`))
  const onGlibc = explainLoadFailure(loaderError, context({ arch: 'arm64', have: ['linux-arm64-musl'] })) as Error & { code: string }
  t.is(onGlibc.code, 'ERR_NODE_MIO_LIBC_MISMATCH')
  t.true(onGlibc.message.includes(`npm install node-mio-linux-arm64-gnu@${pkg.version}`))
})

test('a binary for the other C library that fails in dlopen is a mismatch too', (t) => {
  const dlopen = Object.assign(new Error('Cannot find native binding'), {
    cause: new Error('Error loading shared library ld-linux-x86-64.so.2: No such file or directory (needed by mio.linux-x64-gnu.node)'),
  })
  const error = explainLoadFailure(dlopen, context({ musl: true, have: ['linux-x64-musl', 'linux-x64-gnu'] })) as Error & { code: string }
  t.is(error.code, 'ERR_NODE_MIO_LIBC_MISMATCH')
  t.regex(error.message, /ld-linux-x86-64\.so\.2/)
})

test('an installed binary that fails to load keeps the loader error', (t) => {
  const broken = Object.assign(new Error('Cannot find native binding'), { cause: new Error('invalid ELF header') })
  const error = explainLoadFailure(broken, context({ have: ['linux-x64-gnu'] })) as Error & { code: string }
  t.is(error.code, 'ERR_NODE_MIO_LOAD_FAILED')
  t.regex(error.message, /did not load: invalid ELF header/)
  t.is(error.cause, broken)
})

test('simulated: the real package on an architecture with no binary', (t) => {
  const { status, stderr } = loadAs('arch=riscv64')
  t.not(status, 0)
  t.regex(stderr, /ERR_NODE_MIO_UNSUPPORTED_PLATFORM/)
  t.regex(stderr, /no prebuilt binary for \w+-riscv64/)
  t.regex(stderr, /Prebuilt binaries exist for: .*linux-x64-gnu/)
})

test('simulated: the real package on the other C library', (t) => {
  if (process.platform !== 'linux') return t.pass('Linux only')
  // This checkout has the binary for its own libc only (a local mio.<key>.node).
  const hostMusl = detectMusl()
  const { status, stderr } = loadAs(`libc=${hostMusl ? 'glibc' : 'musl'}`)
  t.not(status, 0)
  t.regex(stderr, /ERR_NODE_MIO_LIBC_MISMATCH/)
  t.true(stderr.includes(`npm install node-mio-linux-${process.arch}-${hostMusl ? 'gnu' : 'musl'}@${pkg.version}`))
})

test('unsimulated: the package loads', (t) => {
  const { status, stderr } = loadAs('')
  t.is(status, 0, stderr)
})
