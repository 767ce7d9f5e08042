// `npm run memcheck`: runs scripts/memcheck/workload.mjs under valgrind's
// memcheck and reports every error whose stack passes through node-mio's
// native code (invalid reads and writes, frees, uses of uninitialised
// memory, and blocks it allocated that nothing points to any more). Possible
// leaks (a block reached only through an interior pointer, as a hash map in
// a static is) are listed, not counted. V8's and libuv's own reports are
// counted apart, not judged: they are not node-mio's.
// Exits 1 if node-mio has any. The addon is a debug build (symbols, debug
// assertions) of its own, in target/memcheck, loaded through napi's
// NAPI_RS_NATIVE_LIBRARY_PATH. Needs valgrind (`apt-get install valgrind`).
//   npm run memcheck [-- --keep FILE.xml]
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const { values } = parseArgs({ options: { keep: { type: 'string' } } })

if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.error('memcheck: valgrind is not installed (apt-get install valgrind)')
  process.exit(2)
}
if (!existsSync(join(root, 'dist', 'index.js'))) {
  console.error('memcheck: no dist/: run `npm run build` first')
  process.exit(2)
}
console.log('memcheck: building a debug addon (cargo build --target-dir target/memcheck)')
const targetDir = join(root, 'target', 'memcheck')
if (spawnSync('cargo', ['build', '--quiet', '--target-dir', targetDir], { cwd: root, stdio: 'inherit' }).status !== 0) process.exit(1)
const built = join(targetDir, 'debug', process.platform === 'darwin' ? 'libnode_mio.dylib' : 'libnode_mio.so')
const addon = join(targetDir, 'mio-memcheck.node')
copyFileSync(built, addon)

const dir = mkdtempSync(join(tmpdir(), 'node-mio-memcheck-'))
const xml = join(dir, 'memcheck.xml')
console.log('memcheck: the workload under valgrind (a minute or more)')
const started = Date.now()
const run = spawnSync(
  'valgrind',
  [
    '--tool=memcheck',
    '--leak-check=full',
    '--show-leak-kinds=definite,possible',
    '--errors-for-leak-kinds=definite,possible',
    '--track-origins=no',
    '--num-callers=40',
    '--xml=yes',
    `--xml-file=${xml}`,
    process.execPath,
    '--expose-gc',
    join(root, 'scripts', 'memcheck', 'workload.mjs'),
  ],
  { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: addon } },
)
const seconds = ((Date.now() - started) / 1000).toFixed(0)
if (!existsSync(xml)) {
  console.error(`memcheck: valgrind wrote no report (exit ${run.status})`)
  process.exit(1)
}
if (values.keep) copyFileSync(xml, values.keep)
const report = readFileSync(xml, 'utf8')
rmSync(dir, { recursive: true })

const ours = []
const possible = []
const others = new Map()
for (const [, body] of report.matchAll(/<error>([\s\S]*?)<\/error>/g)) {
  const kind = /<kind>([^<]+)<\/kind>/.exec(body)?.[1] ?? 'unknown'
  const frames = [...body.matchAll(/<frame>([\s\S]*?)<\/frame>/g)].map(([, frame]) => ({
    fn: /<fn>([^<]+)<\/fn>/.exec(frame)?.[1] ?? '?',
    obj: /<obj>([^<]+)<\/obj>/.exec(frame)?.[1] ?? '',
  }))
  const isOurs = (frame) => frame.obj.endsWith('mio-memcheck.node') || frame.obj.endsWith('.node') && frame.obj.includes('mio') || /node_mio|\bmio::/.test(frame.fn)
  if (frames.some(isOurs)) {
    const what = /<(?:what|text)>([^<]+)<\/(?:what|text)>/.exec(body)?.[1] ?? kind
    // The frames down to and through node-mio's own: where it allocated or touched the memory.
    const last = frames.findLastIndex(isOurs)
    const shown = frames.slice(0, last + 1).map((frame) => (isOurs(frame) ? `> ${frame.fn}` : `  ${frame.fn}`))
    const entry = `${kind}: ${what}\n    ${shown.join('\n    ').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&')}`
    if (kind === 'Leak_PossiblyLost') possible.push(entry)
    else ours.push(entry)
  } else {
    others.set(kind, (others.get(kind) ?? 0) + 1)
  }
}
const workloadOk = run.status === 0
console.log(`memcheck: ${seconds} s; workload ${workloadOk ? 'passed' : `failed (exit ${run.status})`}`)
console.log(`memcheck: ${ours.length} error(s) in node-mio's native code`)
for (const error of ours) console.log(`  ${error}`)
console.log(`memcheck: ${possible.length} possible leak(s) through node-mio (interior pointers; listed, not counted)`)
for (const entry of possible) console.log(`  ${entry}`)
console.log(`memcheck: outside node-mio (Node, V8, libuv, glibc): ${others.size === 0 ? 'none' : [...others].map(([k, n]) => `${n} ${k}`).join(', ')}`)
process.exit(workloadOk && ours.length === 0 ? 0 : 1)
