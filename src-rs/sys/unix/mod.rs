//! Unix: errno names, system calls on JavaScript memory, and libuv (Node's
//! event loop) for watch mode.

mod errno;
pub mod io;
pub mod uv;

pub use errno::*;
