// Builds the package from source: the native addon (napi build, which also
// regenerates the raw binding index.js/index.d.ts) and the TypeScript wrapper
// (lib/ -> dist/, plus the ESM entry points). `npm run build` (both),
// `npm run build:native`, `npm run build:ts`; `npm test` runs it first and
// `npm pack` runs the TypeScript half (`prepack`). Nothing runs it on
// install: a user's install never builds.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const only = process.argv[2] // 'native' | 'ts' | undefined (both)
const bin = (name) => join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name)
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })

if (only !== 'ts') {
  const profile = process.env.NODE_MIO_DEBUG ? [] : ['--release']
  run(bin('napi'), ['build', '--platform', ...profile, '--no-const-enum'])
}

if (only !== 'native') {
  run(bin('tsc'), ['-p', 'tsconfig.json'])
  // ESM entry points over the CommonJS build: one module instance either way.
  writeFileSync(join(root, 'dist', 'index.mjs'), "export * from './index.js'\n")
  writeFileSync(join(root, 'dist', 'index.d.mts'), "export * from './index.js'\n")
}
