// `npm run mutate -- FILE [FILE...] --specs SPEC [--specs SPEC ...] [--match TITLE ...] [--lines A-B] [--max N] [--json OUT] [--list] [--survivors JSON]`
//
// Mutation testing for TypeScript (lib/) and Rust (src-rs/): each mutant
// flips one operator or literal on one line (`===`/`!==`, `<`/`<=`,
// `>`/`>=`, `&&`/`||`, `true`/`false`, `+ 1`/`- 1`, `break`/`continue`),
// the package is rebuilt (for TypeScript, the file alone transpiled into
// dist/; for Rust, the napi build with Cargo's `mutate` profile: release
// semantics without LTO, incremental, a few seconds a mutant) and the given
// specs run; a mutant the specs do not fail survived. The full build is
// made again at the end. A mutant
// that does not build is not counted. The file is restored after each
// mutant, and on Ctrl-C. Prints each survivor (file:line, before and after)
// and the score: killed / (killed + survived). `--match` narrows the specs to
// tests whose titles match (ava's --match), which keeps a run short.
// `--list` prints the mutants and builds or runs nothing. `--survivors JSON`
// takes only the mutants that survived a run whose `--json` is JSON: a first
// run against the fast specs of a file, then its survivors against more.
//
//   npm run mutate -- lib/net/addr.ts --specs __test__/addr-format.spec.ts __test__/hostile.spec.ts
//   npm run mutate -- src-rs/stream.rs --specs __test__/io-window.spec.ts --lines 240-275
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    specs: { type: 'string', multiple: true, default: [] },
    match: { type: 'string', multiple: true, default: [] },
    lines: { type: 'string' },
    max: { type: 'string' },
    json: { type: 'string' },
    list: { type: 'boolean', default: false },
    survivors: { type: 'string' },
  },
})
if (positionals.length === 0 || (values.specs.length === 0 && !values.list)) {
  console.error('usage: npm run mutate -- FILE [FILE...] --specs SPEC [--specs SPEC...] [--lines A-B] [--max N] [--json OUT]')
  process.exit(2)
}
const [firstLine, lastLine] = (values.lines ?? '1-1000000').split('-').map(Number)
const max = values.max === undefined ? Infinity : Number(values.max)

/** One-line mutations: [pattern, replacement]; each match on a line is one mutant. */
const OPERATORS = [
  [/ === /g, ' !== '],
  [/ !== /g, ' === '],
  [/ == /g, ' != '],
  [/ != /g, ' == '],
  [/ <= /g, ' < '],
  [/ >= /g, ' > '],
  [/ < /g, ' <= '],
  [/ > /g, ' >= '],
  [/ && /g, ' || '],
  [/ \|\| /g, ' && '],
  [/\btrue\b/g, 'false'],
  [/\bfalse\b/g, 'true'],
  [/ \+ 1\b/g, ' - 1'],
  [/ - 1\b/g, ' + 1'],
  [/\bbreak\b/g, 'continue'],
]

/** Whether a line is code worth mutating (not a comment, import or type-only line). */
function mutable(line) {
  const code = line.trim()
  return code !== '' && !/^(\/\/|\*|\/\*|import |export type |use |#\[|\/\/\/|\/\/!)/.test(code) && !/^(type|interface) /.test(code)
}

/** The line without string literals and a trailing comment, so operators inside them are not mutated. */
function codePart(line) {
  return line.replace(/(['"`])(?:\\.|(?!\1).)*\1/g, (s) => ' '.repeat(s.length)).replace(/\s\/\/.*$/, '')
}

/** Whether the `||` at `at` in Rust code opens a closure with no parameters (`guard(&env, || {`), not an `or`. */
function rustClosure(code, at, matched) {
  return matched === ' || ' && /([(,=]|\breturn|\bmove)\s*$/.test(code.slice(0, at))
}

function mutantsOf(file) {
  const lines = readFileSync(join(root, file), 'utf8').split('\n')
  const out = []
  lines.forEach((line, i) => {
    const number = i + 1
    if (number < firstLine || number > lastLine || !mutable(line)) return
    const code = codePart(line)
    for (const [pattern, replacement] of OPERATORS) {
      for (const match of code.matchAll(pattern)) {
        const at = match.index
        if (file.endsWith('.rs') && rustClosure(code, at, match[0])) continue
        const mutated = line.slice(0, at) + match[0].replace(pattern, replacement) + line.slice(at + match[0].length)
        out.push({ file, line: number, before: line.trim(), after: mutated.trim(), apply: () => lines.map((l, k) => (k === i ? mutated : l)).join('\n') })
      }
    }
  })
  return out
}

const run = (cmd, args, env = {}) => spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 26 })
const bin = (name) => join(root, 'node_modules', '.bin', name)

/** Builds what `file` is part of: `profile` is the Cargo profile for a Rust file. */
function build(file, profile = 'mutate') {
  if (file.endsWith('.rs')) return run(bin('napi'), ['build', '--platform', '--profile', profile, '--no-const-enum']).status === 0
  return run(process.execPath, [join(root, 'scripts', 'build.mjs'), 'ts']).status === 0
}

/**
 * Rebuilds a mutated TypeScript file alone: transpiled with the project's
 * compiler options into its place in `dist/` (a second a mutant, where the
 * whole `tsc` build takes tens of seconds). Types are not checked, which a
 * mutant that flips an operator does not need; the full build runs first
 * and last.
 */
function transpile(file) {
  const ts = createRequire(import.meta.url)('typescript')
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })
  if (config === undefined) return false
  const source = readFileSync(join(root, file), 'utf8')
  const { outputText, diagnostics } = ts.transpileModule(source, { compilerOptions: config.options, fileName: join(root, file), reportDiagnostics: true })
  if (diagnostics !== undefined && diagnostics.length > 0) return false
  const out = join(config.options.outDir, relative(config.options.rootDir, join(root, file))).replace(/\.ts$/, '.js')
  writeFileSync(out, outputText)
  return true
}

/** The mutants to run: every one of the files, or those that survived an earlier run. */
function chosenMutants() {
  const all = positionals.flatMap(mutantsOf)
  if (values.survivors === undefined) return all.slice(0, max)
  const earlier = JSON.parse(readFileSync(values.survivors, 'utf8')).results.filter((r) => r.outcome === 'survived')
  const key = (m) => `${m.file}:${m.line}:${m.after}`
  const wanted = new Set(earlier.map(key))
  return all.filter((m) => wanted.has(key(m))).slice(0, max)
}

if (values.list) {
  const mutants = chosenMutants()
  for (const m of mutants) console.log(`${m.file}:${m.line}  ${m.after}`)
  console.log(`mutate: ${mutants.length} mutants`)
  process.exit(0)
}

const originals = new Map(positionals.map((file) => [file, readFileSync(join(root, file), 'utf8')]))
const restore = () => {
  for (const [file, text] of originals) writeFileSync(join(root, file), text)
}
const rebuild = () => {
  for (const file of originals.keys()) build(file, 'release')
}
process.on('SIGINT', () => {
  restore()
  rebuild()
  process.exit(130)
})

// The specs must pass on the unmutated code, or every mutant would look killed.
for (const file of originals.keys()) build(file)
const avaArgs = ['--fail-fast', ...values.match.flatMap((title) => ['--match', title]), ...values.specs]
const baseline = run(bin('ava'), avaArgs, { FORCE_COLOR: '0' })
if (baseline.status !== 0) {
  console.error(`mutate: the specs fail without any mutant:\n${baseline.stdout}${baseline.stderr}`)
  process.exit(1)
}

const mutants = chosenMutants()
console.log(`mutate: ${mutants.length} mutants of ${positionals.join(', ')}, specs ${values.specs.join(' ')}`)
const results = []
for (const [k, mutant] of mutants.entries()) {
  writeFileSync(join(root, mutant.file), mutant.apply())
  let outcome
  if (!(mutant.file.endsWith('.ts') ? transpile(mutant.file) : build(mutant.file))) outcome = 'invalid'
  else outcome = run(bin('ava'), avaArgs, { FORCE_COLOR: '0' }).status === 0 ? 'survived' : 'killed'
  writeFileSync(join(root, mutant.file), originals.get(mutant.file))
  if (mutant.file.endsWith('.ts')) transpile(mutant.file)
  results.push({ file: relative(root, join(root, mutant.file)), line: mutant.line, before: mutant.before, after: mutant.after, outcome })
  console.log(`${String(k + 1).padStart(4)}/${mutants.length} ${outcome.padEnd(8)} ${mutant.file}:${mutant.line}  ${mutant.after}`)
}
restore()
rebuild()

const killed = results.filter((r) => r.outcome === 'killed').length
const survived = results.filter((r) => r.outcome === 'survived')
const score = killed + survived.length === 0 ? 1 : killed / (killed + survived.length)
console.log(`\nmutate: ${killed} killed, ${survived.length} survived, ${results.length - killed - survived.length} invalid; score ${(score * 100).toFixed(1)}%`)
for (const r of survived) console.log(`  survived ${r.file}:${r.line}\n    - ${r.before}\n    + ${r.after}`)
if (values.json) writeFileSync(values.json, JSON.stringify({ score, killed, survived: survived.length, results }, null, 2))
process.exit(0)
