import binding from './binding'

/**
 * The implementations of mio this build of node-mio runs: the selector
 * behind {@link Poll} and the mechanism behind {@link Waker}.
 *
 * mio picks them by platform: epoll and eventfd on Linux and Android (and
 * illumos), kqueue and `EVFILT_USER` on macOS and the BSDs, IOCP on
 * Windows. A build from source with `NODE_MIO_BACKEND` (see CONTRIBUTING.md,
 * "Alternative backends") swaps in mio's secondary ones: the `poll(2)`
 * selector (`'poll'`), which has no descriptor of its own, so every
 * {@link Watch} runs on a polling thread (`mode` `'thread'`), and the pipe
 * waker (`'pipe'`).
 */
export interface Backend {
  /** `'epoll'`, `'kqueue'`, `'iocp'`, `'event-ports'` (Solaris) or `'poll'` (`poll(2)`). */
  readonly selector: 'epoll' | 'kqueue' | 'iocp' | 'event-ports' | 'poll'
  /** `'eventfd'`, `'kqueue'` (`EVFILT_USER`), `'iocp'`, `'event-ports'` or `'pipe'`. */
  readonly waker: 'eventfd' | 'kqueue' | 'iocp' | 'event-ports' | 'pipe'
}

const built: Backend = Object.freeze(binding.mioBackend())

/**
 * Which selector and waker this build of node-mio runs.
 *
 * @example
 * ```ts
 * backend() // { selector: 'epoll', waker: 'eventfd' } on Linux
 * ```
 */
export function backend(): Backend {
  return built
}
