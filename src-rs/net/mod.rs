//! `mio::net`: TCP and UDP sockets, and what every socket shares.

pub mod addr;
pub mod io;
pub mod tcp;
pub mod udp;

use napi::bindgen_prelude::Object;
use napi::Env;
use napi_derive::napi;

use crate::error::{self, Result};
use crate::handle::Handle;
use crate::source::{self, Io};
use addr::SocketAddress;

/// `local_addr()` of any socket.
#[napi]
pub fn socket_local_addr(env: Env, handle: Handle) -> Result<SocketAddress> {
  source::with(&env, handle, |io| {
    let result = match io {
      Io::TcpListener(s) => s.local_addr(),
      Io::TcpStream(s) => s.local_addr(),
      Io::UdpSocket(s) => s.local_addr(),
    };
    result
      .map(SocketAddress::from)
      .map_err(|e| error::system(&env, &e, "getsockname", None))
  })
}

/// `peer_addr()` of a connected socket.
#[napi]
pub fn socket_peer_addr(env: Env, handle: Handle) -> Result<SocketAddress> {
  source::with(&env, handle, |io| {
    let result = match io {
      Io::TcpStream(s) => s.peer_addr(),
      Io::UdpSocket(s) => s.peer_addr(),
      _ => return Err(error::wrong_kind(&env, "TcpStream or UdpSocket")),
    };
    result
      .map(SocketAddress::from)
      .map_err(|e| error::system(&env, &e, "getpeername", None))
  })
}

/// `take_error()`: the pending `SO_ERROR`, as an error object, or `null`.
#[napi]
pub fn socket_take_error(env: &Env, handle: Handle) -> Result<Option<Object<'_>>> {
  let pending = source::with(env, handle, |io| {
    let result = match io {
      Io::TcpListener(s) => s.take_error(),
      Io::TcpStream(s) => s.take_error(),
      Io::UdpSocket(s) => s.take_error(),
    };
    result.map_err(|e| error::system(env, &e, "getsockopt", None))
  })?;
  pending
    .map(|e| error::system_object(env, &e, "connect", None))
    .transpose()
}

/// `set_ttl(ttl)` (IP_TTL) of any socket.
#[napi]
pub fn socket_set_ttl(env: Env, handle: Handle, ttl: u32) -> Result<()> {
  source::with(&env, handle, |io| {
    let result = match io {
      Io::TcpListener(s) => s.set_ttl(ttl),
      Io::TcpStream(s) => s.set_ttl(ttl),
      Io::UdpSocket(s) => s.set_ttl(ttl),
    };
    result.map_err(|e| error::system(&env, &e, "setsockopt", None))
  })
}

/// `ttl()` (IP_TTL) of any socket.
#[napi]
pub fn socket_ttl(env: Env, handle: Handle) -> Result<u32> {
  source::with(&env, handle, |io| {
    let result = match io {
      Io::TcpListener(s) => s.ttl(),
      Io::TcpStream(s) => s.ttl(),
      Io::UdpSocket(s) => s.ttl(),
    };
    result.map_err(|e| error::system(&env, &e, "getsockopt", None))
  })
}
