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
import { addonOf, backendOf } from './backends.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const only = process.argv[2] // 'native' | 'ts' | undefined (both)
// The tools' own scripts, run with this Node: no shell and no `.bin` shim
// (npm writes `.cmd` shims on Windows only, so a node_modules installed on
// another OS works too).
const TOOLS = { napi: '@napi-rs/cli/dist/cli.js', tsc: 'typescript/bin/tsc' }
const run = (tool, args, env = {}) =>
  execFileSync(process.execPath, [join(root, 'node_modules', TOOLS[tool]), ...args], { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } })

// NODE_MIO_BACKEND=poll|waker-pipe|poll+waker-pipe builds the addon with
// mio's secondary selector and/or waker instead (scripts/backends.mjs): in
// target/backends/<name>/, leaving the default addon and its cargo cache
// alone; it prints how to load the result.
if (only !== 'ts') {
  const profile = process.env.NODE_MIO_DEBUG ? [] : ['--release']
  const backend = backendOf(process.env.NODE_MIO_BACKEND)
  if (backend === null) {
    run('napi', ['build', '--platform', ...profile, '--no-const-enum'])
  } else {
    // Same binding, so no index.js; the .d.ts it writes lands in the folder too.
    const dir = backend.dir
    run('napi', ['build', '--platform', ...profile, '--no-const-enum', '--no-js', '--target-dir', dir, '--output-dir', dir], {
      RUSTFLAGS: backend.rustflags,
    })
    const addon = addonOf(backend)
    console.log(`\nnode-mio with mio's ${backend.name} backend (${backend.cfgs.join(', ')}): ${addon}`)
    console.log(`Load it with NAPI_RS_NATIVE_LIBRARY_PATH=${addon}, or copy it over the package's own mio.<platform>.node.`)
  }
}

if (only !== 'native') {
  run('tsc', ['-p', 'tsconfig.json'])
  // ESM entry points over the CommonJS build: one module instance either way.
  writeFileSync(join(root, 'dist', 'index.mjs'), "export * from './index.js'\n")
  writeFileSync(join(root, 'dist', 'index.d.mts'), "export * from './index.js'\n")
  // The drop-ins for other packages (`node-mio/epoll`, `node-mio/unix-dgram`), the same way.
  for (const name of ['epoll', 'unix-dgram']) {
    writeFileSync(join(root, 'dist', 'compat', `${name}.mjs`), `export * from './${name}.js'\n`)
    writeFileSync(join(root, 'dist', 'compat', `${name}.d.mts`), `export * from './${name}.js'\n`)
  }
}
