//! `TcpStream`: connect, peek, shutdown and `TCP_NODELAY`. Reads and writes
//! are shared with every stream (`net/io.rs`).

use std::net::Shutdown;

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
  Ok(source::insert(Io::TcpStream(stream)))
}

/// `TcpStream::peek(buf)`: like `read`, without consuming.
#[napi]
pub fn tcp_stream_peek(env: Env, handle: Handle, mut buf: Uint8ArraySlice) -> Result<Option<u32>> {
  let buf = crate::net::io::bytes_mut(&mut buf);
  let len = buf.len().min(i32::MAX as usize);
  let buf = &mut buf[..len];
  source::with(&env, handle, |io| match io {
    Io::TcpStream(s) => complete(&env, "peek", || s.peek(buf)),
    _ => Err(error::wrong_kind(&env, "TcpStream")),
  })
}

/// `TcpStream::shutdown(how)`, `how` one of `read`, `write`, `both`.
#[napi(ts_args_type = "handle: number, how: 'read' | 'write' | 'both'")]
pub fn tcp_stream_shutdown(env: Env, handle: Handle, how: String) -> Result<()> {
  let how = match how.as_str() {
    "read" => Shutdown::Read,
    "write" => Shutdown::Write,
    "both" => Shutdown::Both,
    _ => {
      return Err(error::type_error(
        &env,
        "ERR_INVALID_ARG_VALUE",
        &format!("shutdown direction must be 'read', 'write' or 'both', got {how:?}"),
      ))
    }
  };
  source::with(&env, handle, |io| match io {
    Io::TcpStream(s) => s
      .shutdown(how)
      .map_err(|e| error::system(&env, &e, "shutdown", None)),
    _ => Err(error::wrong_kind(&env, "TcpStream")),
  })
}

/// `TcpStream::set_nodelay(on)`.
#[napi]
pub fn tcp_stream_set_nodelay(env: Env, handle: Handle, nodelay: bool) -> Result<()> {
  source::with(&env, handle, |io| match io {
    Io::TcpStream(s) => s
      .set_nodelay(nodelay)
      .map_err(|e| error::system(&env, &e, "setsockopt", None)),
    _ => Err(error::wrong_kind(&env, "TcpStream")),
  })
}

/// `TcpStream::nodelay()`.
#[napi]
pub fn tcp_stream_nodelay(env: Env, handle: Handle) -> Result<bool> {
  source::with(&env, handle, |io| match io {
    Io::TcpStream(s) => s
      .nodelay()
      .map_err(|e| error::system(&env, &e, "getsockopt", None)),
    _ => Err(error::wrong_kind(&env, "TcpStream")),
  })
}
