//! Unix domain sockets: `UnixListener`, `UnixStream`, `UnixDatagram`.

pub mod addr;
pub mod datagram;
pub mod fds;
pub mod listener;
pub mod stream;
