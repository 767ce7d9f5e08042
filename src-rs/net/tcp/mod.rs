//! TCP: `TcpListener` and `TcpStream`.

pub mod listener;
pub mod stream;
