//! Windows: Winsock and Win32 errors, and system calls on JavaScript memory.

mod errno;
pub mod io;

pub use errno::*;
