//! Platform specifics, as in mio's `sys/`: error numbers, and the event loop
//! watch mode rides on.

#[cfg(unix)]
pub mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;
