//! `UnixDatagram`.

use std::io;

use napi::bindgen_prelude::Uint8ArraySlice;
use napi::Env;
use napi_derive::napi;

use crate::error::{self, Result};
use crate::handle::Handle;
use crate::net::io::complete;
use crate::net::uds::addr::{abstract_addr, UnixAddress};
use crate::source::{self, Io};

/// A received datagram's sender (one of `path`, `abstract`, `unnamed`) and size.
#[napi(object)]
pub struct UnixRemoteInfo {
  pub path: Option<String>,
  #[napi(js_name = "abstract")]
  pub abstract_name: Option<napi::bindgen_prelude::Buffer>,
  pub unnamed: Option<bool>,
  /// Bytes received (a datagram longer than the buffer is truncated).
  pub size: u32,
}

fn with_datagram<R>(
  env: &Env,
  handle: Handle,
  f: impl FnOnce(&mio::net::UnixDatagram) -> Result<R>,
) -> Result<R> {
  source::with(env, handle, |io| match io {
    Io::UnixDatagram(s) => f(s),
    _ => Err(error::wrong_kind(env, "UnixDatagram")),
  })
}

/// `UnixDatagram::bind(path)`.
#[napi]
pub fn unix_datagram_bind(env: Env, path: String) -> Result<Handle> {
  let socket =
    mio::net::UnixDatagram::bind(&path).map_err(|e| error::system_path(&env, &e, "bind", &path))?;
  Ok(source::insert(Io::UnixDatagram(socket)))
}

/// `UnixDatagram::bind_addr` with a Linux abstract name.
#[napi]
pub fn unix_datagram_bind_abstract(env: Env, name: &[u8]) -> Result<Handle> {
  let addr = abstract_addr(&env, name)?;
  let socket =
    mio::net::UnixDatagram::bind_addr(&addr).map_err(|e| error::system(&env, &e, "bind", None))?;
  Ok(source::insert(Io::UnixDatagram(socket)))
}

/// `UnixDatagram::unbound()`: a socket with no name, for `sendTo`.
#[napi]
pub fn unix_datagram_unbound(env: Env) -> Result<Handle> {
  let socket =
    mio::net::UnixDatagram::unbound().map_err(|e| error::system(&env, &e, "socket", None))?;
  Ok(source::insert(Io::UnixDatagram(socket)))
}

/// `UnixDatagram::pair()`: two connected sockets.
#[napi(ts_return_type = "[Handle, Handle]")]
pub fn unix_datagram_pair(env: Env) -> Result<Vec<Handle>> {
  let (a, b) =
    mio::net::UnixDatagram::pair().map_err(|e| error::system(&env, &e, "socketpair", None))?;
  Ok(vec![
    source::insert(Io::UnixDatagram(a)),
    source::insert(Io::UnixDatagram(b)),
  ])
}

/// `UnixDatagram::connect(path)`.
#[napi]
pub fn unix_datagram_connect(env: Env, handle: Handle, path: String) -> Result<()> {
  with_datagram(&env, handle, |s| {
    s.connect(&path)
      .map_err(|e| error::system_path(&env, &e, "connect", &path))
  })
}

/// `UnixDatagram::send_to(buf, path)`.
#[napi]
pub fn unix_datagram_send_to(
  env: Env,
  handle: Handle,
  buf: &[u8],
  path: String,
) -> Result<Option<u32>> {
  with_datagram(&env, handle, |s| {
    complete(&env, "sendto", || s.send_to(buf, &path))
  })
}

/// `UnixDatagram::send(buf)` to the connected peer.
#[napi]
pub fn unix_datagram_send(env: Env, handle: Handle, buf: &[u8]) -> Result<Option<u32>> {
  with_datagram(&env, handle, |s| complete(&env, "send", || s.send(buf)))
}

/// `UnixDatagram::recv(buf)`.
#[napi]
pub fn unix_datagram_recv(
  env: Env,
  handle: Handle,
  mut buf: Uint8ArraySlice,
) -> Result<Option<u32>> {
  let buf = crate::net::io::bytes_mut(&mut buf);
  let buf = crate::net::io::readable(&env, buf)?;
  with_datagram(&env, handle, |s| complete(&env, "recv", || s.recv(buf)))
}

/// `UnixDatagram::recv_from(buf)`: the sender and size, or `null`.
#[napi]
pub fn unix_datagram_recv_from(
  env: Env,
  handle: Handle,
  mut buf: Uint8ArraySlice,
) -> Result<Option<UnixRemoteInfo>> {
  let buf = crate::net::io::bytes_mut(&mut buf);
  let buf = crate::net::io::readable(&env, buf)?;
  with_datagram(&env, handle, |s| loop {
    match s.recv_from(buf) {
      Ok((size, from)) => {
        let from = UnixAddress::from(&from);
        return Ok(Some(UnixRemoteInfo {
          path: from.path,
          abstract_name: from.abstract_name,
          unnamed: from.unnamed,
          size: size as u32,
        }));
      }
      Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
      Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
      Err(e) => return Err(error::system(&env, &e, "recvfrom", None)),
    }
  })
}
