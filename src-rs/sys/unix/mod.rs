//! Unix: errno names, system calls on JavaScript memory, and libuv (Node's
//! event loop) for watch mode.

mod errno;
pub mod io;
// Only the uv watch driver uses libuv, and it needs a pollable selector.
#[cfg(not(mio_unsupported_force_poll_poll))]
pub mod uv;

pub use errno::*;
