// `npm run lint`: the gates every change passes, also run by `npm test`:
// rustfmt, clippy (all targets, warnings denied), oxlint (.oxlintrc.json,
// warnings denied), tsc over lib/ __test__/ examples/ bench/, the type tests
// of the published declarations (type-tests/, against dist/), and the API
// docs (typedoc.json: every public member documented, warnings are errors).
// Exits non-zero if any gate fails; runs them all either way.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = (name) => join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name)

/** Each gate: a name and the command that passes or fails it. */
export const gates = [
  ['cargo fmt --check', 'cargo', ['fmt', '--check']],
  ['cargo clippy --all-targets -D warnings', 'cargo', ['clippy', '--quiet', '--all-targets', '--', '-D', 'warnings']],
  ['oxlint', bin('oxlint'), ['-c', '.oxlintrc.json', '--deny-warnings', 'lib', '__test__', 'examples', 'bench', 'scripts', 'type-tests']],
  ['tsc (lib, __test__, examples, bench)', bin('tsc'), ['--noEmit', '-p', 'tsconfig.check.json']],
  ['type tests of the published declarations', bin('tsc'), ['-p', 'type-tests']],
  ['the declarations without @types/node', bin('tsc'), ['-p', 'type-tests/no-node-types']],
  ['typedoc (every public member documented)', bin('typedoc'), ['--logLevel', 'Warn']],
]

/** Runs one gate, echoing its output; returns whether it passed. */
export function runGate([name, cmd, args]) {
  console.log(`# ${name}`)
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })
  if (result.status !== 0) console.log(`not ok: ${name}`)
  return result.status === 0
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const failed = gates.filter((gate) => !runGate(gate))
  process.exit(failed.length === 0 ? 0 : 1)
}
