//! `mio::net`: TCP and UDP sockets, and what every socket shares.

pub mod addr;
pub mod io;
pub mod options;
pub mod tcp;
pub mod udp;
#[cfg(unix)]
pub mod uds;

use std::net::Shutdown;

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
      _ => return Err(error::wrong_kind(&env, "TCP or UDP socket")),
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
      #[cfg(unix)]
      Io::UnixListener(s) => s.take_error(),
      #[cfg(unix)]
      Io::UnixStream(s) => s.take_error(),
      #[cfg(unix)]
      Io::UnixDatagram(s) => s.take_error(),
      _ => return Err(error::wrong_kind(env, "socket")),
    };
    result.map_err(|e| error::system(env, &e, "getsockopt", None))
  })?;
  // A stream's pending error is its connect's outcome; name the target,
  // as `node:net` does.
  let target = source::target(handle);
  let syscall = if target.is_some() {
    "connect"
  } else {
    "getsockopt"
  };
  pending
    .map(|e| error::system_object(env, &e, syscall, target.as_ref()))
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
      _ => return Err(error::wrong_kind(&env, "TCP or UDP socket")),
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
      _ => return Err(error::wrong_kind(&env, "TCP or UDP socket")),
    };
    result.map_err(|e| error::system(&env, &e, "getsockopt", None))
  })
}

/// `shutdown(how)` of a stream (or a Unix datagram socket), `how` one of
/// `read`, `write`, `both`.
#[napi(ts_args_type = "handle: number, how: 'read' | 'write' | 'both'")]
pub fn socket_shutdown(env: Env, handle: Handle, how: String) -> Result<()> {
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
  source::with(&env, handle, |io| {
    let result = match io {
      Io::TcpStream(s) => s.shutdown(how),
      #[cfg(unix)]
      Io::UnixStream(s) => s.shutdown(how),
      #[cfg(unix)]
      Io::UnixDatagram(s) => s.shutdown(how),
      _ => return Err(error::wrong_kind(&env, "stream")),
    };
    result.map_err(|e| error::system(&env, &e, "shutdown", None))
  })
}
