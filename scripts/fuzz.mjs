// `npm run fuzz -- --runs N [--seed S --path P]`: the operation-sequence
// properties of __test__/fuzz.spec.ts, run longer than `npm test` runs them
// (40 programs). `--seed` and `--path` replay a failure that a run printed.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { values } = parseArgs({ options: { runs: { type: 'string', default: '2000' }, seed: { type: 'string' }, path: { type: 'string' } } })
const runs = Number(values.runs)
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs must be a positive integer, got ${values.runs}`)
  process.exit(2)
}
const env = { ...process.env, NODE_MIO_FUZZ_RUNS: String(runs) }
if (values.seed !== undefined) env.NODE_MIO_FUZZ_SEED = values.seed
if (values.path !== undefined) env.NODE_MIO_FUZZ_PATH = values.path
console.log(`fuzz: ${runs} random programs${values.seed === undefined ? '' : `, seed ${values.seed}`}`)
const ava = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'ava.cmd' : 'ava')
const result = spawnSync(ava, ['--timeout', '60m', '__test__/fuzz.spec.ts'], { cwd: root, env, stdio: 'inherit', shell: process.platform === 'win32' })
process.exit(result.status ?? 1)
