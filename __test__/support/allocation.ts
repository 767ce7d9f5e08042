// Measuring what a hot loop allocates: GCs during the loop, young-generation
// growth, and what the heap keeps after a full GC. Needs `--expose-gc` (set
// in package.json "ava".nodeArguments).
import type { ExecutionContext } from 'ava'
import { PerformanceObserver, performance } from 'node:perf_hooks'
import v8 from 'node:v8'

const gc = (globalThis as { gc?: () => void }).gc

/** Start times of every GC of this process, as `performance.now()` reads them. */
const collections: number[] = []
let observer: PerformanceObserver | undefined

/** Records GC start times from now on (the observer costs nothing between GCs). */
function observeCollections(): void {
  if (observer !== undefined) return
  observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) collections.push(entry.startTime)
  })
  observer.observe({ entryTypes: ['gc'] })
}

/** Stops recording GCs; for a spec's `test.after.always`. */
export function stopObservingCollections(): void {
  observer?.disconnect()
  observer = undefined
}

const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function newSpaceUsed(): number {
  return v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_used_size ?? NaN
}

export interface Measurement {
  /** GCs that started while the loop ran. */
  gcs: number
  /** Young-generation bytes allocated during the loop (no GC ran in between). */
  newSpace: number
  /** `heapUsed` after the loop minus before, both right after a full GC. */
  retained: number
  ms: number
}

/** At most this many bytes per iteration, allocated or retained. */
const LIMIT = 0.25

const quiet = (m: Measurement, iterations: number): boolean =>
  m.gcs === 0 && m.newSpace / iterations < LIMIT && m.retained / iterations < LIMIT

/**
 * Warms `loop` up with `warmup` iterations, then runs it `iterations` times
 * between full GCs and reports what that run allocated and retained.
 *
 * Steady state is what counts: the run is made up to five times and the
 * quietest kept. V8 tiers a function up by the bytecode it has run, and
 * installs the code it compiles in the background when it is ready, so the
 * JIT's one-off work (feedback, optimised and on-stack-replacement code, a
 * deoptimisation and its recompilation) can fall into the first measured
 * runs, more of them on a slow host such as Wine. A real per-iteration
 * allocation (16 bytes at least) shows in every run.
 */
export async function measure(loop: (iterations: number) => void, iterations: number, warmup = iterations / 5): Promise<Measurement> {
  if (!gc) throw new Error('run with node --expose-gc')
  observeCollections()
  loop(warmup)
  let best: Measurement | undefined
  for (let run = 0; run < 5; run++) {
    const result = await measureOnce(loop, iterations)
    if (best === undefined || result.gcs + result.newSpace / 1e9 < best.gcs + best.newSpace / 1e9) best = result
    if (quiet(result, iterations)) return result
  }
  return best!
}

async function measureOnce(loop: (iterations: number) => void, iterations: number): Promise<Measurement> {
  gc!()
  await tick(20)
  gc!()
  await tick()
  const heapBefore = process.memoryUsage().heapUsed
  const newBefore = newSpaceUsed()
  const t0 = performance.now()
  loop(iterations)
  const t1 = performance.now()
  const newAfter = newSpaceUsed()
  gc!()
  const heapAfter = process.memoryUsage().heapUsed
  // GC entries reach the observer asynchronously.
  await tick(50)
  return {
    gcs: collections.filter((start) => start >= t0 && start <= t1).length,
    newSpace: newAfter - newBefore,
    retained: heapAfter - heapBefore,
    ms: Math.round(t1 - t0),
  }
}

/**
 * No GC during the loop, and less than a quarter of a byte allocated or
 * retained per iteration: any per-iteration allocation (16 bytes at least)
 * or leak is far above that; what is left is the JIT's one-off feedback and
 * code.
 */
export function allocationFree(t: ExecutionContext, result: Measurement, iterations: number, unit = 'iterations'): void {
  t.log(
    `${iterations} ${unit} in ${result.ms} ms: ${result.gcs} GCs, ` +
      `${result.newSpace} B young-generation growth, ${result.retained} B retained after GC`,
  )
  t.is(result.gcs, 0, 'no garbage collection during the loop')
  t.true(result.newSpace / iterations < LIMIT, `young generation grew ${result.newSpace} B over ${iterations} ${unit}`)
  t.true(result.retained / iterations < LIMIT, `heap grew ${result.retained} B over ${iterations} ${unit}`)
}
