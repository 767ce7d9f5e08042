// Runs ava's CLI under Bun or Deno: `bun scripts/runtime-ava.mjs [ava args]`,
// `deno run -A scripts/runtime-ava.mjs [ava args]`. Both run ava 7 and the
// TypeScript specs as they are; the one thing missing is
// `v8.takeCoverage()`, which ava's CLI calls when a run ends and which both
// runtimes throw from (not implemented). Without coverage to write it has
// nothing to do, so here it does nothing. `npm run cross` runs the suite
// this way (scripts/cross.mjs, the runtimes group).
import v8 from 'node:v8'

try {
  v8.takeCoverage()
} catch {
  v8.takeCoverage = () => {}
}
await import('../node_modules/ava/entrypoints/cli.mjs')
