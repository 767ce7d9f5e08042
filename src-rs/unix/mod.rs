//! `mio::unix`: pipes, any file descriptor (`SourceFd`), and handing
//! descriptors in and out of the binding.

pub mod fd;
pub mod pipe;
pub mod source_fd;
