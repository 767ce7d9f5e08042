// Watch mode with libuv's `uv_poll` (the default with Node.js on Linux, macOS
// and FreeBSD): the Poll's epoll/kqueue descriptor is watched on this
// thread's loop, with no thread. The watch contract runs here in this mode.
import test from 'ava'
import { backend, Events, Poll } from 'node-mio'
import * as raw from '../index.js'
import { runtime } from './support/platform.ts'
import { watchContract } from './support/watch-contract.ts'

watchContract('uv')

// Windows has no uv driver (its IOCP has no descriptor for libuv), nor has
// mio's poll(2) selector (a NODE_MIO_BACKEND=poll build), nor Bun and Deno
// (their libuv is a stub or an emulation): there the contract above is
// skipped and runs with the thread driver in watch-thread.spec.ts. What
// those lack, asserted:
test('the uv driver exists with Node.js where the selector has a descriptor; elsewhere it is ERR_FEATURE_UNAVAILABLE_ON_PLATFORM and watches use the thread', (t) => {
  const supported = runtime === 'node' && (backend().selector === 'epoll' || backend().selector === 'kqueue')
  const poll = new Poll()
  try {
    const watch = poll.watch(new Events(4), () => {})
    t.is(watch.mode, supported ? 'uv' : 'thread')
    watch.stop()
  } finally {
    poll.close()
  }
  if (supported) {
    t.deepEqual(raw.watchDrivers(), ['uv', 'thread'])
    return
  }
  t.deepEqual(raw.watchDrivers(), ['thread'])
  const handle = raw.pollNew()
  try {
    t.throws(() => raw.watchStart(handle, 'uv', 4, () => {}), { code: 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM' })
  } finally {
    raw.pollClose(handle)
  }
})
