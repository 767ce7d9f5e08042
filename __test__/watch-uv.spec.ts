// Watch mode with libuv's `uv_poll` (the default with Node.js on Linux, macOS
// and FreeBSD): the Poll's epoll/kqueue descriptor is watched on this
// thread's loop, with no thread. The watch contract runs here in this mode.
import { watchContract } from './support/watch-contract.ts'

watchContract('uv')
