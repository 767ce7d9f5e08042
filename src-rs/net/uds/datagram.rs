//! `UnixDatagram`.

use napi::bindgen_prelude::Unknown;
use napi::{Env, JsValue};
use napi_derive::napi;
use socket2::SockAddr;

use crate::boundary::guard;
use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::napi_raw::{self, JsBytes};
use crate::net::uds::addr::{abstract_addr, UnixAddress};
use crate::source::{self, Fresh, HandlePair, Io, Kind};
use crate::stream::{arg_bytes, nonblocking, on_descriptor, readable, MAX_CHUNK};
use crate::sys::io as os;

/// A received datagram's sender (one of `path`, `abstract`, `unnamed`) and size.
#[napi(object, use_nullable = true)]
pub struct UnixRemoteInfo {
  pub path: Option<String>,
  #[napi(js_name = "abstract")]
  pub abstract_name: Option<napi::bindgen_prelude::Buffer>,
  pub unnamed: Option<bool>,
  /// Bytes received (a datagram longer than the buffer is truncated).
  pub size: u32,
}

fn with_datagram<R>(
  handle: Handle,
  f: impl FnOnce(&mio::net::UnixDatagram) -> Result<R>,
) -> Result<R> {
  source::with(handle, |io| match io {
    Io::UnixDatagram(s) => f(s),
    _ => Err(Error::wrong_kind("UnixDatagram")),
  })
}

/// `UnixDatagram::bind(path)`.
#[napi]
pub fn unix_datagram_bind(env: Env, path: String) -> napi::Result<Handle> {
  guard(&env, || {
    let socket =
      mio::net::UnixDatagram::bind(&path).map_err(|e| Error::system(&e, "bind").on_path(&path))?;
    source::insert(Io::UnixDatagram(socket))
  })
}

/// `UnixDatagram::bind_addr` with a Linux abstract name.
#[napi(ts_args_type = "name: Uint8Array")]
pub fn unix_datagram_bind_abstract(env: Env, name: Unknown) -> napi::Result<Handle> {
  guard(&env, || {
    // SAFETY: `name` is this call's argument.
    let name = unsafe { napi_raw::copy_bytes(env.raw(), name.raw()) }
      .ok_or_else(|| Error::invalid_type("name must be a Uint8Array or Buffer"))?;
    let addr = abstract_addr(&name)?;
    let socket = mio::net::UnixDatagram::bind_addr(&addr).map_err(|e| Error::system(&e, "bind"))?;
    source::insert(Io::UnixDatagram(socket))
  })
}

/// `UnixDatagram::unbound()`: a socket with no name, for `sendTo`.
#[napi]
pub fn unix_datagram_unbound(env: Env) -> napi::Result<Handle> {
  guard(&env, || {
    let socket = mio::net::UnixDatagram::unbound().map_err(|e| Error::system(&e, "socket"))?;
    source::insert(Io::UnixDatagram(socket))
  })
}

/// `UnixDatagram::pair()`: two connected sockets.
#[napi(ts_return_type = "HandlePair")]
pub fn unix_datagram_pair(env: Env) -> napi::Result<Fresh<HandlePair>> {
  guard(&env, || {
    let (a, b) = mio::net::UnixDatagram::pair().map_err(|e| Error::system(&e, "socketpair"))?;
    source::fresh_pair(Io::UnixDatagram(a), Io::UnixDatagram(b))
  })
}

/// `UnixDatagram::connect(path)`.
#[napi]
pub fn unix_datagram_connect(env: Env, handle: Handle, path: String) -> napi::Result<()> {
  guard(&env, || {
    with_datagram(handle, |s| {
      s.connect(&path)
        .map_err(|e| Error::system(&e, "connect").on_path(&path))
    })
  })
}

/// Binds an unbound `UnixDatagram` to `path`, a filesystem path or, with a
/// leading NUL byte, a Linux abstract name.
#[napi]
pub fn unix_datagram_bind_to(env: Env, handle: Handle, path: String) -> napi::Result<()> {
  guard(&env, || {
    let addr = SockAddr::unix(&path).map_err(|e| Error::system(&e, "bind").on_path(&path))?;
    with_datagram(handle, |s| {
      socket2::SockRef::from(s)
        .bind(&addr)
        .map_err(|e| Error::system(&e, "bind").on_path(&path))
    })
  })
}

/// Connects a `UnixDatagram` to `path`, a filesystem path or, with a
/// leading NUL byte, a Linux abstract name.
#[napi]
pub fn unix_datagram_connect_to(env: Env, handle: Handle, path: String) -> napi::Result<()> {
  guard(&env, || {
    let addr = SockAddr::unix(&path).map_err(|e| Error::system(&e, "connect").on_path(&path))?;
    with_datagram(handle, |s| {
      socket2::SockRef::from(s)
        .connect(&addr)
        .map_err(|e| Error::system(&e, "connect").on_path(&path))
    })
  })
}

/// Sends `buf` to `to` (or to the connected peer).
fn send(handle: Handle, buf: JsBytes<'_>, to: Option<&SockAddr>) -> Result<Option<u32>> {
  let buf = buf.prefix(MAX_CHUNK);
  source::with_kind(
    handle,
    |kind| kind == Kind::UnixDatagram,
    "UnixDatagram",
    |io| {
      let syscall = if to.is_some() { "sendto" } else { "send" };
      nonblocking(syscall, || {
        on_descriptor(io, |raw| match to {
          Some(to) => os::send_to(raw, buf, to),
          None => os::send(raw, buf),
        })
      })
      .map(|n| n.map(|n| n as u32))
    },
  )
}

/// `UnixDatagram::send_to(buf, path)`.
#[napi(ts_args_type = "handle: Handle, buf: Uint8Array, path: string")]
pub fn unix_datagram_send_to(
  env: Env,
  handle: Handle,
  buf: Unknown,
  path: String,
) -> napi::Result<Option<u32>> {
  guard(&env, || {
    let to = SockAddr::unix(&path).map_err(|e| Error::system(&e, "sendto").on_path(&path))?;
    // SAFETY: `buf` is this call's argument, read last.
    let buf = unsafe { arg_bytes(env.raw(), buf.raw(), "buffer") }?;
    send(handle, buf, Some(&to))
  })
}

/// `UnixDatagram::send(buf)` to the connected peer.
#[napi(ts_args_type = "handle: Handle, buf: Uint8Array")]
pub fn unix_datagram_send(env: Env, handle: Handle, buf: Unknown) -> napi::Result<Option<u32>> {
  guard(&env, || {
    // SAFETY: `buf` is this call's argument.
    let buf = unsafe { arg_bytes(env.raw(), buf.raw(), "buffer") }?;
    send(handle, buf, None)
  })
}

/// `UnixDatagram::recv(buf)`.
#[napi(ts_args_type = "handle: Handle, buf: Uint8Array")]
pub fn unix_datagram_recv(env: Env, handle: Handle, buf: Unknown) -> napi::Result<Option<u32>> {
  guard(&env, || {
    // SAFETY: `buf` is this call's argument.
    let buf = readable(unsafe { arg_bytes(env.raw(), buf.raw(), "buffer") }?)?;
    source::with_kind(
      handle,
      |kind| kind == Kind::UnixDatagram,
      "UnixDatagram",
      |io| {
        nonblocking("recv", || {
          on_descriptor(io, |raw| os::recv(raw, buf, false))
        })
        .map(|n| n.map(|n| n as u32))
      },
    )
  })
}

/// `UnixDatagram::recv_from(buf)`: the sender and size, or `null`.
#[napi(ts_args_type = "handle: Handle, buf: Uint8Array")]
pub fn unix_datagram_recv_from(
  env: Env,
  handle: Handle,
  buf: Unknown,
) -> napi::Result<Option<UnixRemoteInfo>> {
  guard(&env, || {
    // SAFETY: `buf` is this call's argument.
    let buf = readable(unsafe { arg_bytes(env.raw(), buf.raw(), "buffer") }?)?;
    let received = source::with_kind(
      handle,
      |kind| kind == Kind::UnixDatagram,
      "UnixDatagram",
      |io| {
        nonblocking("recvfrom", || {
          on_descriptor(io, |raw| os::recv_from(raw, buf, false))
        })
      },
    )?;
    Ok(received.map(|(size, from)| {
      let from = UnixAddress::from_sock_addr(&from);
      UnixRemoteInfo {
        path: from.path,
        abstract_name: from.abstract_name,
        unnamed: from.unnamed,
        size: size as u32,
      }
    }))
  })
}

/// `unixDatagramSendFast(handle, buf)`: `UnixDatagram::send(buf)` to the
/// connected peer, as a hot-path call (`fast_call.rs`): the bytes sent, or
/// `null` when it would block.
///
/// # Safety
/// Called by Node-API only, with its own `env` and `info`.
pub unsafe extern "C" fn unix_datagram_send_fast(
  env: napi::sys::napi_env,
  info: napi::sys::napi_callback_info,
) -> napi::sys::napi_value {
  // SAFETY: Node-API passes this callback's own `env` and `info`.
  unsafe { crate::fast_call::handle_and_bytes(env, info, |handle, buf| send(handle, buf, None)) }
}

/// `UnixDatagram.peerCred()`: the peer's credentials where the OS recorded
/// them for this socket, else `null`. Linux records them for a `pair()`
/// (`socketpair`), not for a `connect()` to a path: there `SO_PEERCRED`
/// answers pid 0 and user -1, which is no one. Where `getpeereid` refuses
/// a datagram socket (`ENOTCONN`, `EINVAL`, `EOPNOTSUPP`), also `null`.
#[napi]
pub fn unix_datagram_peer_cred(
  env: Env,
  handle: Handle,
) -> napi::Result<Option<crate::net::uds::stream::PeerCred>> {
  guard(&env, || {
    use std::os::fd::AsRawFd;
    with_datagram(handle, |s| {
      match crate::net::uds::stream::peer_cred_of(s.as_raw_fd()) {
        Ok(cred) if cred.pid.is_none() && cred.uid == u32::MAX => Ok(None),
        Ok(cred) => Ok(Some(cred)),
        Err(e)
          if matches!(
            e.raw_os_error(),
            Some(libc::ENOTCONN | libc::EINVAL | libc::EOPNOTSUPP)
          ) =>
        {
          Ok(None)
        }
        Err(e) => Err(Error::system(&e, "getsockopt")),
      }
    })
  })
}
