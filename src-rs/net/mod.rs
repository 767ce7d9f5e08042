//! `mio::net`: TCP and UDP sockets, and what every socket shares.

pub mod addr;
pub mod options;
pub mod tcp;
pub mod udp;
pub mod udp_batch;
#[cfg(unix)]
pub mod uds;

use std::net::Shutdown;

use napi::bindgen_prelude::Object;
use napi::Env;
use napi_derive::napi;

use crate::boundary::guard;
use crate::error::{self, Error, Result};
use crate::handle::Handle;
use crate::source::{self, Kind};
use addr::SocketAddress;

/// Runs `f` on the socket behind `handle`, an IP socket when `ip_only`.
fn with_socket<R>(
  handle: Handle,
  ip_only: bool,
  expected: &str,
  f: impl FnOnce(&socket2::SockRef<'_>) -> Result<R>,
) -> Result<R> {
  source::with(handle, |io| match io.sock_ref() {
    Some(sock) if !ip_only || io.kind().is_ip() => f(&sock),
    _ => Err(Error::wrong_kind(expected)),
  })
}

fn ip_address(addr: socket2::SockAddr) -> Result<SocketAddress> {
  addr
    .as_socket()
    .map(SocketAddress::from)
    .ok_or_else(|| Error::wrong_kind("TCP or UDP socket"))
}

/// `local_addr()` of any socket.
#[napi]
pub fn socket_local_addr(env: Env, handle: Handle) -> napi::Result<SocketAddress> {
  guard(&env, || {
    let addr = with_socket(handle, true, "TCP or UDP socket", |s| {
      s.local_addr().map_err(|e| Error::system(&e, "getsockname"))
    })?;
    ip_address(addr)
  })
}

/// `peer_addr()` of a connected socket.
#[napi]
pub fn socket_peer_addr(env: Env, handle: Handle) -> napi::Result<SocketAddress> {
  guard(&env, || {
    let addr = source::with_kind(
      handle,
      |kind| matches!(kind, Kind::TcpStream | Kind::UdpSocket),
      "TcpStream or UdpSocket",
      |io| match io.sock_ref() {
        Some(s) => s.peer_addr().map_err(|e| Error::system(&e, "getpeername")),
        None => Err(Error::wrong_kind("TcpStream or UdpSocket")),
      },
    )?;
    ip_address(addr)
  })
}

/// `take_error()`: the pending `SO_ERROR`, as an error object, or `null`.
#[napi]
pub fn socket_take_error(env: &Env, handle: Handle) -> napi::Result<Option<Object<'_>>> {
  guard(env, || {
    let pending = source::with_reported(handle, |io, reported| {
      let s = io.sock_ref().ok_or_else(|| Error::wrong_kind("socket"))?;
      // Reported once on every OS (see `sys::windows::io::take_error`).
      #[cfg(windows)]
      let taken = {
        use std::os::windows::io::AsRawSocket;
        crate::sys::io::take_error(s.as_raw_socket(), reported)
      };
      #[cfg(not(windows))]
      let taken = {
        let _ = reported;
        s.take_error()
      };
      taken.map_err(|e| Error::system(&e, "getsockopt"))
    })?;
    let Some(pending) = pending else {
      return Ok(None);
    };
    // A stream's pending error is its connect's outcome; name the target,
    // as `node:net` does.
    let err = match source::target(handle) {
      Some(target) => Error::system(&pending, "connect").at(target),
      None => Error::system(&pending, "getsockopt"),
    };
    error_object(env, &err).map(Some)
  })
}

/// The JavaScript error object for `err`, as a value to return.
pub fn error_object<'env>(env: &'env Env, err: &Error) -> Result<Object<'env>> {
  let raw = error::to_js(env.raw(), err).ok_or(Error::Pending)?;
  // SAFETY: `raw` is an object just created in this call's scope.
  Ok(unsafe { <Object as napi::bindgen_prelude::FromNapiValue>::from_napi_value(env.raw(), raw) }?)
}

/// `set_ttl(ttl)` (IP_TTL) of any socket.
#[napi]
pub fn socket_set_ttl(env: Env, handle: Handle, ttl: u32) -> napi::Result<()> {
  guard(&env, || {
    with_socket(handle, true, "TCP or UDP socket", |s| {
      // `IP_TTL`, as std's (and so mio's) `set_ttl` on every IP socket.
      s.set_ttl_v4(ttl)
        .map_err(|e| Error::system(&e, "setsockopt"))
    })
  })
}

/// `ttl()` (IP_TTL) of any socket.
#[napi]
pub fn socket_ttl(env: Env, handle: Handle) -> napi::Result<u32> {
  guard(&env, || {
    with_socket(handle, true, "TCP or UDP socket", |s| {
      s.ttl_v4().map_err(|e| Error::system(&e, "getsockopt"))
    })
  })
}

/// `shutdown(how)` of a stream (or a Unix datagram socket), `how` one of
/// `read`, `write`, `both`.
#[napi(ts_args_type = "handle: number, how: 'read' | 'write' | 'both'")]
pub fn socket_shutdown(env: Env, handle: Handle, how: String) -> napi::Result<()> {
  guard(&env, || {
    let how = match how.as_str() {
      "read" => Shutdown::Read,
      "write" => Shutdown::Write,
      "both" => Shutdown::Both,
      _ => {
        return Err(Error::invalid_arg(format!(
          "shutdown direction must be 'read', 'write' or 'both', got {how:?}"
        )))
      }
    };
    source::with_kind(
      handle,
      |kind| {
        matches!(
          kind,
          Kind::TcpStream | Kind::UnixStream | Kind::UnixDatagram
        )
      },
      "stream",
      |io| match io.sock_ref() {
        Some(s) => s.shutdown(how).map_err(|e| Error::system(&e, "shutdown")),
        None => Err(Error::wrong_kind("stream")),
      },
    )
  })
}
