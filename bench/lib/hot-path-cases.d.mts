import type * as NodeMio from 'node-mio'
import type * as Raw from '../../index.js'

export interface HotPathCase {
  /** What the case calls, for the printed table. */
  label: string
  /** Calls of this case per iteration count N (write + read cost more: N / 4). */
  share: number
  body: () => unknown
}

/** One build's wrapper, raw binding and a source's handle. */
export interface Build {
  mio: typeof NodeMio
  raw: typeof Raw
  handleOf: (source: object) => number
}

export function hotPathCases(build: Build): { cases: Record<string, HotPathCase>; close(): void }
