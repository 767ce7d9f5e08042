//! `TcpStream`: connect and peek. Reads, writes, shutdown and options are
//! shared with the other sockets (`stream.rs`, `net/mod.rs`, `net/options.rs`).

use napi::bindgen_prelude::Unknown;
use napi::{Env, JsValue};
use napi_derive::napi;

use crate::boundary::guard;
use crate::error::Error;
use crate::handle::Handle;
use crate::net::addr;
use crate::source::{self, Io, Kind};
use crate::stream::{arg_bytes, nonblocking, on_descriptor, readable};
use crate::sys::io as os;

/// `TcpStream::connect(addr)`: starts a non-blocking connect. Completion is
/// a writable event; then `take_error()` and `peer_addr()` tell the outcome.
#[napi]
pub fn tcp_stream_connect(env: Env, addr: String) -> napi::Result<Handle> {
  guard(&env, || {
    let addr = addr::parse(&addr)?;
    let stream =
      mio::net::TcpStream::connect(addr).map_err(|e| Error::system(&e, "connect").at(addr))?;
    source::insert_connecting(Io::TcpStream(stream), Some(addr))
  })
}

/// `TcpStream::peek(buf)`: like `read`, without consuming.
#[napi(ts_args_type = "handle: Handle, buf: Uint8Array")]
pub fn tcp_stream_peek(env: Env, handle: Handle, buf: Unknown) -> napi::Result<Option<u32>> {
  guard(&env, || {
    // SAFETY: `buf` is this call's argument, read last.
    let buf = readable(unsafe { arg_bytes(env.raw(), buf.raw(), "buffer") }?)?;
    source::with_kind(
      handle,
      |kind| kind == Kind::TcpStream,
      "TcpStream",
      |io| {
        nonblocking("peek", || on_descriptor(io, |raw| os::recv(raw, buf, true)))
          .map(|n| n.map(|n| n as u32))
      },
    )
  })
}
