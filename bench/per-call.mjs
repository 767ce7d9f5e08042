// Per-call cost of one hot-path case (bench/lib/hot-path-cases.mjs) on any
// built node-mio tree, to compare two builds.
//
// Run: node bench/per-call.mjs ROOT CASE N [time]
//   ROOT: a built tree (its dist/ and addon); CASE: pollWrapper, pollRaw,
//   readWrapper, readRaw, writeRead, writeReadRaw, recvFromRaw or
//   sendRecvRaw; N: calls in the measured loop, after a fixed warm-up of
//   50,000 calls.
//   With `time`: prints the median wall-clock ns per call of 5 loops of N.
// Under `valgrind --tool=callgrind`, the instructions of a run with N2 calls
// minus those of a run with N1, divided by N2 - N1, are the cost of one call:
// start-up and warm-up cancel out.
import { createRequire } from 'node:module'
import path from 'node:path'
import { hotPathCases } from './lib/hot-path-cases.mjs'

const [root = '.', name = '', calls = '', mode] = process.argv.slice(2)
const load = createRequire(path.join(path.resolve(root), 'package.json'))
const source = load('./dist/source.js')
// A build that exports `kHandle` instead keeps the handle under that symbol.
const handleOf = source.handleOf ?? ((s) => s[source.kHandle])
const build = { mio: load('./dist/index.js'), raw: load('./index.js'), handleOf }
const N = Number(calls)
const { cases, close } = hotPathCases(build)
const c = cases[name]
if (c === undefined || !(N >= 1)) throw new Error(`usage: per-call.mjs ROOT CASE N [time]; CASE is one of ${Object.keys(cases).join(', ')}`)
for (let i = 0; i < 50_000; i++) c.body()
if (mode === 'time') {
  const rounds = []
  for (let r = 0; r < 5; r++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < N; i++) c.body()
    rounds.push(Number(process.hrtime.bigint() - start) / N)
  }
  rounds.sort((a, b) => a - b)
  console.log(JSON.stringify({ case: name, ns: rounds[2] }))
} else {
  for (let i = 0; i < N; i++) c.body()
}
close()
