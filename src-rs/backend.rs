//! Which of mio's implementations this build runs: the selector behind
//! `Poll` and the mechanism behind `Waker`.
//!
//! mio picks both by target, and two cfg flags force its secondary ones
//! (scripts/build.mjs sets them from `NODE_MIO_BACKEND`):
//! `mio_unsupported_force_poll_poll` (a `poll(2)` selector, which has no
//! pollable descriptor, so watch mode has only its `thread` driver) and
//! `mio_unsupported_force_waker_pipe` (a pipe instead of eventfd or kqueue's
//! user event). The cfgs below mirror mio 1.2's `sys/unix/mod.rs`.

use napi::Env;
use napi_derive::napi;

use crate::boundary::guard;

/// The implementations this build of node-mio runs.
#[napi(object)]
pub struct Backend {
  /// The selector: `'epoll'`, `'kqueue'`, `'iocp'`, `'event-ports'` or
  /// `'poll'` (`poll(2)`).
  #[napi(ts_type = "'epoll' | 'kqueue' | 'iocp' | 'event-ports' | 'poll'")]
  pub selector: String,
  /// The waker: `'eventfd'`, `'kqueue'` (`EVFILT_USER`), `'iocp'`,
  /// `'event-ports'` (`port_send`) or `'pipe'`.
  #[napi(ts_type = "'eventfd' | 'kqueue' | 'iocp' | 'event-ports' | 'pipe'")]
  pub waker: String,
}

/// The systems where mio's selector is kqueue.
const KQUEUE_OS: bool = cfg!(any(
  target_os = "dragonfly",
  target_os = "freebsd",
  target_os = "ios",
  target_os = "macos",
  target_os = "netbsd",
  target_os = "openbsd",
  target_os = "tvos",
  target_os = "visionos",
  target_os = "watchos",
));

/// The selector this build uses.
pub const SELECTOR: &str = if cfg!(windows) {
  "iocp"
} else if cfg!(mio_unsupported_force_poll_poll) {
  "poll"
} else if cfg!(any(
  target_os = "android",
  target_os = "emscripten",
  target_os = "illumos",
  target_os = "linux",
  target_os = "redox",
)) {
  "epoll"
} else if KQUEUE_OS {
  "kqueue"
} else if cfg!(target_os = "solaris") {
  "event-ports"
} else {
  "poll"
};

/// The waker this build uses.
pub const WAKER: &str = if cfg!(windows) {
  "iocp"
} else if cfg!(mio_unsupported_force_waker_pipe) {
  "pipe"
} else if cfg!(any(
  target_os = "android",
  target_os = "espidf",
  target_os = "nuttx",
  target_os = "fuchsia",
  target_os = "hermit",
  target_os = "illumos",
  target_os = "linux",
)) {
  "eventfd"
} else if KQUEUE_OS && !cfg!(mio_unsupported_force_poll_poll) {
  // kqueue's EVFILT_USER needs the kqueue selector: with `poll(2)` mio
  // falls back to a pipe.
  "kqueue"
} else if cfg!(target_os = "solaris") && !cfg!(mio_unsupported_force_poll_poll) {
  "event-ports"
} else {
  "pipe"
};

/// The selector and waker this build of node-mio runs (see `backend.rs`).
#[napi]
pub fn mio_backend(env: Env) -> napi::Result<Backend> {
  guard(&env, || {
    Ok(Backend {
      selector: SELECTOR.into(),
      waker: WAKER.into(),
    })
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  #[cfg(all(target_os = "linux", not(mio_unsupported_force_poll_poll)))]
  fn linux_selector_is_epoll() {
    assert_eq!(SELECTOR, "epoll");
  }

  #[test]
  #[cfg(all(target_os = "linux", not(mio_unsupported_force_waker_pipe)))]
  fn linux_waker_is_eventfd() {
    assert_eq!(WAKER, "eventfd");
  }

  #[test]
  #[cfg(mio_unsupported_force_poll_poll)]
  fn forced_poll_selector() {
    assert_eq!(SELECTOR, "poll");
  }

  #[test]
  #[cfg(mio_unsupported_force_waker_pipe)]
  fn forced_pipe_waker() {
    assert_eq!(WAKER, "pipe");
  }
}
