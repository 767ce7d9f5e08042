// The wrapper's internals the specs reach on purpose: a source's handle and a
// registry's handle, which no program reaches through the package (they are
// private fields; the package's exports map has no subpath to them). Loaded
// from dist/, the same module instances `node-mio` loads.
import { createRequire } from 'node:module'
import type { Registry, Source } from 'node-mio'

const load = createRequire(import.meta.url)
const source = load('../../dist/source.js') as { handleOf: (source: Source) => number }
const registry = load('../../dist/registry.js') as { registryHandle: (registry: Registry) => number }

/** The native handle of a live source (0 once closed). */
export const handleOf = (value: Source): number => source.handleOf(value)

/** The native handle of a live registry (0 once closed). */
export const registryHandle = (value: Registry): number => registry.registryHandle(value)
