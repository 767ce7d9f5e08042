// mio's secondary implementations, which node-mio can be built with
// (`NODE_MIO_BACKEND=<name> npm run build`, see scripts/build.mjs and the
// CONTRIBUTING.md, "Alternative backends"). Each name sets mio's cfg flags through
// RUSTFLAGS, builds in its own cargo target folder (so the default build's
// cache stays warm) and writes its addon there, where
// NAPI_RS_NATIVE_LIBRARY_PATH (honoured by index.js) loads it.
import { existsSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Each backend variant and the cfg flags it sets. */
export const backends = {
  // mio's poll(2) selector instead of epoll/kqueue: no pollable selector
  // descriptor, so watch mode runs on its thread driver.
  poll: ['mio_unsupported_force_poll_poll'],
  // A pipe instead of eventfd (Linux, Android, illumos) or EVFILT_USER (kqueue).
  'waker-pipe': ['mio_unsupported_force_waker_pipe'],
  'poll+waker-pipe': ['mio_unsupported_force_poll_poll', 'mio_unsupported_force_waker_pipe'],
}

/**
 * The variant `name` names (`poll`, `waker-pipe`, `poll+waker-pipe`, in
 * either order; `default` or empty for none), or throws listing them.
 */
export function backendOf(name) {
  if (!name || name === 'default') return null
  const parts = name.split('+').sort((a, b) => (a === 'poll' ? -1 : b === 'poll' ? 1 : a.localeCompare(b)))
  const key = parts.join('+')
  if (!(key in backends)) {
    throw new Error(`NODE_MIO_BACKEND must be one of ${Object.keys(backends).join(', ')} (or default), got ${JSON.stringify(name)}`)
  }
  const dir = join(root, 'target', 'backends', key.replace('+', '-'))
  return {
    name: key,
    cfgs: backends[key],
    /** RUSTFLAGS for cargo: the caller's, plus `--cfg` for each flag. */
    rustflags: [process.env.RUSTFLAGS ?? '', ...backends[key].map((cfg) => `--cfg ${cfg}`)].join(' ').trim(),
    /** The cargo target folder, and where the addon is written. */
    dir,
  }
}

/** The addon a variant's build wrote (`mio.<platform>.node` in its folder), or null. */
export function addonOf(backend) {
  if (!existsSync(backend.dir)) return null
  const file = readdirSync(backend.dir).find((name) => /^mio\..*\.node$/.test(name))
  return file ? join(backend.dir, file) : null
}
