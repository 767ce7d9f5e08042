// Per-call cost of the hot path (poll, read, write), through the public
// wrapper and through the raw binding, measured side by side in one run.
// The cases are bench/lib/hot-path-cases.mjs.
// Run: node --import tsx bench/hot-path.ts [iterations]
import * as mio from 'node-mio'
import * as raw from '../index.js'
import { handleOf } from '../dist/source.js'
import { hotPathCases } from './lib/hot-path-cases.mjs'

const N = Number(process.argv[2] ?? 1_000_000)

function time(name: string, iterations: number, body: () => unknown): number {
  for (let i = 0; i < Math.min(iterations, 100_000); i++) body() // warm up (JIT)
  const rounds: number[] = []
  for (let r = 0; r < 5; r++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < iterations; i++) body()
    rounds.push(Number(process.hrtime.bigint() - start) / iterations)
  }
  rounds.sort((a, b) => a - b)
  const median = rounds[2]!
  console.log(`${name.padEnd(44)} ${median.toFixed(1).padStart(8)} ns/call`)
  return median
}

const { cases, close } = hotPathCases({ mio, raw, handleOf })
console.log(`node ${process.version}, ${process.platform}-${process.arch}, ${N} calls per round, median of 5 rounds`)
const results: Record<string, number> = {}
for (const [name, c] of Object.entries(cases)) results[name] = time(c.label, N * c.share, c.body)
console.log(JSON.stringify(results))
close()
