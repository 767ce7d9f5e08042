// node-mio as a user installs it. From a copy of this checkout without dist/,
// `npm pack` builds the root package (prepack: TypeScript only); the host's
// platform package gets its binary the way the release pipeline does it
// (`napi artifacts` from a downloaded-artifacts folder) and is packed too.
// Both tarballs are installed into a new project with --ignore-scripts,
// --offline and no cargo/rustc on PATH; there a smoke program runs through
// `require` and `import`, and a strict TypeScript consumer compiles under
// moduleResolution node16, nodenext and bundler. Then the errors of a broken
// install: the platform package missing, the other C library.
import test from 'ava'
import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { detectMusl, platformKey, platformKeyOfTarget } from '../lib/load-error.ts'
import { REQUIRE_NODE_MIO } from './support/processes.ts'

const root = join(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; napi: { targets: string[] } }
const key = platformKey(process.platform, process.arch, detectMusl())
const target = pkg.napi.targets.find((t) => platformKeyOfTarget(t) === key)
const tmp = mkdtempSync(join(tmpdir(), 'node-mio-install-'))
const app = join(tmp, 'app')
const SIMULATE = join(root, '__test__', 'fixtures', 'simulate.cjs')

/** npm's CLI script: run with this node, so the PATH below needs nothing but node. */
function npmCli(): string {
  if (process.env.npm_execpath?.endsWith('.js')) return process.env.npm_execpath
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const npm = join(dir, 'npm')
    if (existsSync(npm)) return join(dirname(realpathSync(npm)), 'npm-cli.js')
  }
  throw new Error('npm not found on PATH')
}

// PATH for everything a user runs: a folder with only `node` and `sh` (npm
// runs scripts with it), plus the system's folders that hold neither cargo
// nor rustc.
// (Windows: a copy of node.exe, since a symlink needs a privilege there; npm
// runs scripts with cmd.exe.)
const bin = join(tmp, 'bin')
mkdirSync(bin)
if (process.platform === 'win32') copyFileSync(process.execPath, join(bin, 'node.exe'))
else {
  symlinkSync(process.execPath, join(bin, 'node'))
  symlinkSync('/bin/sh', join(bin, 'sh'))
}

/**
 * Puts packages of this checkout's node_modules into `dir`/node_modules: a
 * junction each, or a copy where the file system makes none (Wine).
 */
function provide(dir: string, names: string[]): void {
  for (const name of names) {
    const from = join(root, 'node_modules', name)
    const to = join(dir, 'node_modules', name)
    mkdirSync(dirname(to), { recursive: true })
    try {
      symlinkSync(from, to, 'junction')
    } catch {
      cpSync(from, to, { recursive: true })
    }
  }
}
const noRust = (dir: string) => !['cargo', 'rustc', 'cargo.exe', 'rustc.exe'].some((tool) => existsSync(join(dir, tool)))
const PATH = [bin, ...(process.env.PATH ?? '').split(delimiter).filter((dir) => dir && noRust(dir))].join(delimiter)
const env = (extra: Record<string, string> = {}) => {
  const e: Record<string, string | undefined> = { ...process.env, PATH, NODE_OPTIONS: '', ...extra }
  // npm_* variables of the outer `npm test` would configure the inner npm;
  // a user's install names no binary (`npm run test:backends` does)
  for (const name of Object.keys(e)) if (name.startsWith('npm_')) delete e[name]
  delete e.NAPI_RS_NATIVE_LIBRARY_PATH
  return e
}

const NPM = npmCli()
function npm(cwd: string, args: string[]): string {
  return execFileSync(process.execPath, [NPM, ...args, '--no-audit', '--no-fund', '--loglevel=warn'], { cwd, env: env(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}
/** Runs node in `cwd` (without blocking: the tests of this file run side by side). */
function node(cwd: string, args: string[], extra: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, env: env(extra), encoding: 'utf8', maxBuffer: 1 << 26 }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })
    })
  })
}

interface Packed {
  filename: string
  files: { path: string }[]
}

let rootPack: Packed
let installLog = ''

test.before('pack both packages and install them as a user would', () => {
  if (!target) throw new Error(`no napi target for ${key}`)
  const binary = join(root, `mio.${key}.node`)
  if (!existsSync(binary)) throw new Error(`${binary} is missing: npm run build:native`)

  // The root package, packed from a copy without dist/: prepack must build it.
  const src = join(tmp, 'src')
  mkdirSync(src)
  for (const entry of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'index.js', 'index.d.ts', 'tsconfig.json', 'lib', 'scripts/build.mjs', 'scripts/backends.mjs']) {
    cpSync(join(root, entry), join(src, entry), { recursive: true })
  }
  // What prepack (scripts/build.mjs ts) runs: tsc, with Node's types.
  provide(src, ['typescript', '@types/node', 'undici-types'])
  const packs = join(tmp, 'packs')
  mkdirSync(packs)
  rootPack = (JSON.parse(npm(src, ['pack', '--json', '--pack-destination', packs])) as Packed[])[0]!

  // The platform package, its binary placed by `napi artifacts` as in the
  // release pipeline's publish job (artifacts/bindings-<target>/mio.<key>.node).
  cpSync(join(root, 'npm'), join(src, 'npm'), { recursive: true })
  mkdirSync(join(src, 'artifacts', `bindings-${target}`), { recursive: true })
  cpSync(binary, join(src, 'artifacts', `bindings-${target}`, `mio.${key}.node`))
  // Only the host's target: napi artifacts fails when a configured target has no artifact.
  writeFileSync(join(src, 'napi.host.json'), JSON.stringify({ binaryName: 'mio', targets: [target] }))
  execFileSync(process.execPath, [join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js'), 'artifacts', '-c', 'napi.host.json', '--output-dir', 'artifacts', '--npm-dir', 'npm'], {
    cwd: src,
    env: env(),
    stdio: 'pipe',
  })
  const platformPack = (JSON.parse(npm(join(src, 'npm', key), ['pack', '--json', '--pack-destination', packs])) as Packed[])[0]!

  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }))
  installLog = npm(app, ['install', '--ignore-scripts', '--offline', join(packs, rootPack.filename), join(packs, platformPack.filename)])
})

test.after.always(() => {
  if (!process.env.KEEP_TMP) rmSync(tmp, { recursive: true, force: true })
  else console.log(tmp)
})

test('the user has no Rust toolchain', (t) => {
  for (const tool of ['cargo', 'rustc']) t.is((spawnSync(tool, ['--version'], { env: env() }).error as NodeJS.ErrnoException | undefined)?.code, 'ENOENT', tool)
})

test('the root tarball holds dist/, the generated loader and the license, and no binary or install script', (t) => {
  const files = rootPack.files.map((f) => f.path)
  for (const file of ['dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts', 'dist/binding.js', 'index.js', 'index.d.ts', 'LICENSE', 'README.md', 'CHANGELOG.md', 'package.json']) {
    t.true(files.includes(file), file)
  }
  for (const name of ['epoll', 'unix-dgram']) {
    for (const ext of ['js', 'mjs', 'd.ts', 'd.mts']) t.true(files.includes(`dist/compat/${name}.${ext}`), `dist/compat/${name}.${ext}`)
  }
  t.false(files.some((f) => f.endsWith('.node') || f.startsWith('lib/') || f.startsWith('src-rs/')), files.join(' '))
  const manifest = JSON.parse(readFileSync(join(app, 'node_modules', 'node-mio', 'package.json'), 'utf8'))
  for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) t.false(script in manifest.scripts, script)
  t.notRegex(installLog, /prepare|install-scripts|node-mio.*warn/i)
})

const SMOKE = `
const events = new Events(4)
const poll = new Poll()
const waker = new Waker(poll.registry, 7)
waker.wake()
poll.poll(events, 1000)
const listener = TcpListener.bind('127.0.0.1:0')
const ok = events.length === 1 && events.get(0).token === 7 && listener.localAddr().port > 0
listener.close(); waker.close(); poll.close()
console.log(ok ? 'smoke ok' : 'smoke FAILED')
`

test('require: the smoke program runs from the installed packages', async (t) => {
  writeFileSync(join(app, 'smoke.cjs'), `const { Events, Poll, TcpListener, Waker } = require('node-mio')\n${SMOKE}\nconsole.log(require.resolve('node-mio'))`)
  const run = await node(app, ['smoke.cjs'])
  t.is(run.status, 0, run.stderr)
  t.regex(run.stdout, /smoke ok/)
  // (real paths: macOS's and Windows's temp folders are reached through links)
  t.true(run.stdout.includes(join(realpathSync.native(app), 'node_modules', 'node-mio', 'dist', 'index.js')), run.stdout)
})

const DROP_INS = `
const epoll = new Epoll(() => {})
const socket = createSocket('unix_dgram')
socket.close()
epoll.close()
console.log(typeof Epoll.EPOLLIN === 'number' && epoll.closed ? 'drop-ins ok' : 'drop-ins FAILED')
`

test('require and import: node-mio/epoll and node-mio/unix-dgram resolve and run from the installed packages', async (t) => {
  if (process.platform === 'win32') return t.pass('Unix only: the drop-ins wrap Unix descriptors and sockets')
  writeFileSync(join(app, 'drop-ins.cjs'), `const { Epoll } = require('node-mio/epoll')\nconst { createSocket } = require('node-mio/unix-dgram')\n${DROP_INS}`)
  writeFileSync(join(app, 'drop-ins.mjs'), `import { Epoll } from 'node-mio/epoll'\nimport { createSocket } from 'node-mio/unix-dgram'\n${DROP_INS}`)
  for (const file of ['drop-ins.cjs', 'drop-ins.mjs']) {
    const run = await node(app, [file])
    t.is(run.status, 0, run.stderr)
    t.regex(run.stdout, /drop-ins ok/, file)
  }
})

test('import: the smoke program runs from the installed packages', async (t) => {
  writeFileSync(join(app, 'smoke.mjs'), `import { Events, Poll, TcpListener, Waker } from 'node-mio'\n${SMOKE}`)
  const run = await node(app, ['smoke.mjs'])
  t.is(run.status, 0, run.stderr)
  t.regex(run.stdout, /smoke ok/)
})

const CONSUMER = `
import { Events, Interest, Poll, TcpListener, type Event } from 'node-mio'
import { Epoll } from 'node-mio/epoll'
import { createSocket, type UnixDgramRemoteInfo } from 'node-mio/unix-dgram'
export const dropIns = (): void => {
  new Epoll((err: Error | null, fd: number, events: number) => void [err, fd & events]).close()
  createSocket('unix_dgram', (buf: Buffer, rinfo: UnixDgramRemoteInfo) => void [buf, rinfo.path]).close()
}
const poll: Poll = new Poll()
const events = new Events(8)
const listener = TcpListener.bind('127.0.0.1:0')
poll.registry.register(listener, 1, Interest.READABLE.add(Interest.WRITABLE))
poll.poll(events, 0)
const tokens: number[] = [...events].map((e: Event) => e.token)
const accepted = listener.accept()
if (accepted !== null) accepted[0].close()
export const summary: string = \`\${tokens.length} \${listener.localAddr().port}\`
`

for (const [resolution, module] of [
  ['node16', 'node16'],
  ['nodenext', 'nodenext'],
  ['bundler', 'preserve'],
] as const) {
  test(`a strict TypeScript consumer compiles with moduleResolution ${resolution}`, async (t) => {
    const dir = join(app, `ts-${resolution}`)
    // The consumer's own dev dependency, not node-mio's: Node's types.
    provide(dir, ['@types/node', 'undici-types'])
    writeFileSync(join(dir, 'cjs.ts'), CONSUMER)
    writeFileSync(join(dir, 'esm.mts'), CONSUMER)
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          exactOptionalPropertyTypes: true,
          noEmit: true,
          module,
          moduleResolution: resolution,
          target: 'ES2022',
          types: ['node'],
          // Checking every declaration file (node-mio's and Node's) once is enough: it is the slow part.
          skipLibCheck: resolution !== 'node16',
        },
        files: ['cjs.ts', 'esm.mts'],
      }),
    )
    const tsc = await node(dir, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--traceResolution'])
    t.is(tsc.status, 0, tsc.stdout + tsc.stderr)
    // The types came from the installed package: dist/index.d.ts for require, dist/index.d.mts for import
    t.regex(tsc.stdout, /Module name 'node-mio' was successfully resolved to '[^']*app\/node_modules\/node-mio\/dist\/index\.d\.m?ts'/)
  })
}

test('the platform package missing: the error names the package and the command', async (t) => {
  // What npm's optional-dependencies bug leaves: node-mio without its binary package.
  const broken = join(tmp, 'app-without-binary')
  cpSync(join(app, 'node_modules', 'node-mio'), join(broken, 'node_modules', 'node-mio'), { recursive: true })
  const run = await node(broken, ['-e', REQUIRE_NODE_MIO])
  t.not(run.status, 0)
  t.regex(run.stderr, /ERR_NODE_MIO_BINARY_MISSING/)
  t.true(run.stderr.includes(`npm install node-mio-${key}@${pkg.version}`), run.stderr)
})

test('the other C library: the installed binary is for glibc, the system (simulated) is musl', async (t) => {
  if (process.platform !== 'linux') return t.pass('Linux only')
  const other = detectMusl() ? 'glibc' : 'musl'
  const run = await node(app, ['-e', `require(${JSON.stringify(SIMULATE)}); ${REQUIRE_NODE_MIO}`], { NODE_MIO_SIMULATE: `libc=${other}` })
  t.not(run.status, 0)
  t.regex(run.stderr, /ERR_NODE_MIO_LIBC_MISMATCH/)
  t.true(run.stderr.includes(`npm install node-mio-linux-${process.arch}-${other === 'musl' ? 'musl' : 'gnu'}@${pkg.version}`), run.stderr)
})
