//! node-mio: the native core.
//!
//! Every concept of mio lives in its own module, as in mio's own `src/`; this
//! file only wires them. The binding is a flat set of functions over numeric
//! handles (see `handle.rs` for why): the TypeScript wrapper in `lib/` turns
//! them back into mio's classes.
#![deny(clippy::all)]
#![deny(clippy::undocumented_unsafe_blocks)]
// Clippy 1.96 with -Zbuild-std (scripts/cross-check.sh) sees std's
// `thread_local!` expansion as this crate's code and asks for `const` on
// initializers that already are `const { ... }`.
#![allow(clippy::missing_const_for_thread_local)]
// Under `cargo test` the `#[napi]` exports are not generated, so most of the
// crate is unreachable from the unit tests.
#![cfg_attr(test, allow(dead_code, unused_imports))]

// `cfg_else!`, for every module below.
#[macro_use]
mod cfg;

mod backend;
// With mio's poll(2) selector there is no uv watch, the only libuv callback:
// the helpers for JavaScript called from libuv have no user then.
#[cfg_attr(mio_unsupported_force_poll_poll, allow(dead_code))]
mod boundary;
mod error;
mod events;
mod fast_call;
mod handle;
mod interest;
#[cfg_attr(mio_unsupported_force_poll_poll, allow(dead_code))]
mod napi_raw;
mod net;
mod poll;
mod registry;
mod source;
mod stream;
mod sys;
mod token;
#[cfg(unix)]
mod unix;
mod waker;
mod watch;
#[cfg(windows)]
mod windows;
