//! Unix: errno names, and libuv (Node's event loop) for watch mode.

mod errno;
pub mod uv;

pub use errno::*;
