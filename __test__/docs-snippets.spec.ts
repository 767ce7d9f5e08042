// The documentation's examples are programs that compile and run. Every
// ```ts block of README.md, CONTRIBUTING.md and docs/**/*.md is type-checked,
// strictly, against the published declarations (dist/) as a user's program
// imports 'node-mio' (the package's own `exports`), in one TypeScript
// program; the blocks marked `runnable` are run and must exit 0. The fence
// words are in support/snippets.ts and CONTRIBUTING.md. A snippet that drifts
// from the API fails here.
import test from 'ava'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript'
import { PATIENCE } from './support/async.ts'
import { runtime } from './support/platform.ts'
import { documentationFiles, extractSnippets, markdownLine, type Snippet } from './support/snippets.ts'

const root = join(import.meta.dirname, '..')
const { snippets, bad } = extractSnippets(root, documentationFiles(root))

// Inside the project, so that 'node-mio' resolves to this package by its
// own name (its `exports`), as in a user's project that installed it.
const dir = mkdtempSync(join(root, '.scratch-snippets-'))
test.after.always(() => rmSync(dir, { recursive: true, force: true }))

const fileOf = new Map<Snippet, string>()
for (const [i, snippet] of snippets.entries()) {
  const path = join(dir, `${String(i).padStart(3, '0')}-${snippet.name.replace(/[^\w]+/g, '-')}.mts`)
  writeFileSync(path, `${snippet.code}\n`)
  fileOf.set(snippet, path)
}

test('the documentation has TypeScript blocks, runnable ones among them, and no unknown fence words', (t) => {
  t.deepEqual(bad, [])
  const files = new Set(snippets.map((s) => s.segments[0]!.file))
  t.true(files.has('README.md'), 'README.md')
  t.true([...files].filter((f) => f.startsWith('docs/guides/')).length >= 6, 'every guide')
  t.true(snippets.some((s) => s.runnable && s.name.startsWith('README.md')), 'a runnable quick start')
})

test('every TypeScript block compiles strictly against the published types', (t) => {
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
    types: ['node'],
    skipLibCheck: true,
    noFallthroughCasesInSwitch: true,
  }
  const program = ts.createProgram([...fileOf.values()], options)
  const bySnippet = new Map([...fileOf].map(([snippet, path]) => [path, snippet]))
  const problems: string[] = []
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')
    const snippet = diagnostic.file === undefined ? undefined : bySnippet.get(diagnostic.file.fileName)
    if (snippet === undefined || diagnostic.start === undefined) {
      problems.push(`${diagnostic.file?.fileName ?? '(program)'}: ${message}`)
      continue
    }
    const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start)
    problems.push(`${markdownLine(snippet, line)}: TS${diagnostic.code} ${message}`)
  }
  t.deepEqual(problems, [], problems.join('\n'))
})

/** Runs a snippet with tsx; resolves with its exit code and output. */
function run(path: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    // A guard against a hang, never a measurement.
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`still running after ${PATIENCE} ms\n${output}`))
    }, PATIENCE)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}

for (const snippet of snippets.filter((s) => s.runnable)) {
  // Run with Node and tsx; under Bun and Deno the suite still compiles them.
  // One at a time: fifteen Node and esbuild start-ups at once under qemu on
  // a busy host took longer than the bound, though none hung.
  const skip = runtime !== 'node' || (snippet.unix && process.platform === 'win32')
  ;(skip ? test.skip : test.serial)(`${snippet.name} runs and exits 0`, async (t) => {
    const { code, output } = await run(fileOf.get(snippet)!)
    t.is(code, 0, output)
  })
}
