//! Unix domain sockets: `UnixListener`, `UnixStream`, `UnixDatagram`.

pub mod addr;
pub mod datagram;
pub mod listener;
pub mod stream;
