//! `TcpStream`: connect and peek. Reads, writes, shutdown and options are
//! shared with the other sockets (`net/io.rs`, `net/mod.rs`, `net/options.rs`).

use napi::bindgen_prelude::Uint8ArraySlice;
use napi::Env;
use napi_derive::napi;

use crate::error::{self, Result};
use crate::handle::Handle;
use crate::net::addr;
use crate::net::io::complete;
use crate::source::{self, Io};

/// `TcpStream::connect(addr)`: starts a non-blocking connect. Completion is
/// a writable event; then `take_error()` and `peer_addr()` tell the outcome.
#[napi]
pub fn tcp_stream_connect(env: Env, addr: String) -> Result<Handle> {
  let addr = addr::parse(&env, &addr)?;
  let stream = mio::net::TcpStream::connect(addr)
    .map_err(|e| error::system(&env, &e, "connect", Some(&addr)))?;
  Ok(source::insert_connecting(Io::TcpStream(stream), Some(addr)))
}

/// `TcpStream::peek(buf)`: like `read`, without consuming.
#[napi]
pub fn tcp_stream_peek(env: Env, handle: Handle, mut buf: Uint8ArraySlice) -> Result<Option<u32>> {
  let buf = crate::net::io::bytes_mut(&mut buf);
  let buf = crate::net::io::readable(&env, buf)?;
  source::with(&env, handle, |io| match io {
    Io::TcpStream(s) => complete(&env, "peek", || s.peek(buf)),
    _ => Err(error::wrong_kind(&env, "TcpStream")),
  })
}
