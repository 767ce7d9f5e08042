//! `UnixListener`.

use napi::Env;
use napi_derive::napi;

use crate::error::{self, Result};
use crate::handle::Handle;
use crate::net::uds::addr::{abstract_addr, UnixAddress};
use crate::source::{self, Io};

/// A connection taken by `accept`: the stream's handle and its peer.
#[napi(object)]
pub struct UnixAccepted {
  pub handle: Handle,
  pub address: UnixAddress,
}

/// `UnixListener::bind(path)`.
#[napi]
pub fn unix_listener_bind(env: Env, path: String) -> Result<Handle> {
  let listener =
    mio::net::UnixListener::bind(&path).map_err(|e| error::system_path(&env, &e, "bind", &path))?;
  Ok(source::insert(Io::UnixListener(listener)))
}

/// `UnixListener::bind_addr` with a Linux abstract name.
#[napi]
pub fn unix_listener_bind_abstract(env: Env, name: &[u8]) -> Result<Handle> {
  let addr = abstract_addr(&env, name)?;
  let listener =
    mio::net::UnixListener::bind_addr(&addr).map_err(|e| error::system(&env, &e, "bind", None))?;
  Ok(source::insert(Io::UnixListener(listener)))
}

/// `UnixListener::accept()`, or `null` when no connection is pending.
#[napi]
pub fn unix_listener_accept(env: Env, handle: Handle) -> Result<Option<UnixAccepted>> {
  let accepted = source::with(&env, handle, |io| match io {
    Io::UnixListener(listener) => loop {
      match listener.accept() {
        Ok(pair) => return Ok(Some(pair)),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
        Err(e) => return Err(error::system(&env, &e, "accept", None)),
      }
    },
    _ => Err(error::wrong_kind(&env, "UnixListener")),
  })?;
  Ok(accepted.map(|(stream, peer)| UnixAccepted {
    handle: source::insert(Io::UnixStream(stream)),
    address: UnixAddress::from(&peer),
  }))
}

/// `local_addr()` of any Unix socket.
#[napi]
pub fn unix_local_addr(env: Env, handle: Handle) -> Result<UnixAddress> {
  source::with(&env, handle, |io| {
    let result = match io {
      Io::UnixListener(s) => s.local_addr(),
      Io::UnixStream(s) => s.local_addr(),
      Io::UnixDatagram(s) => s.local_addr(),
      _ => return Err(error::wrong_kind(&env, "Unix socket")),
    };
    result
      .map(|addr| UnixAddress::from(&addr))
      .map_err(|e| error::system(&env, &e, "getsockname", None))
  })
}

/// `peer_addr()` of a connected Unix socket.
#[napi]
pub fn unix_peer_addr(env: Env, handle: Handle) -> Result<UnixAddress> {
  source::with(&env, handle, |io| {
    let result = match io {
      Io::UnixStream(s) => s.peer_addr(),
      Io::UnixDatagram(s) => s.peer_addr(),
      _ => return Err(error::wrong_kind(&env, "UnixStream or UnixDatagram")),
    };
    result
      .map(|addr| UnixAddress::from(&addr))
      .map_err(|e| error::system(&env, &e, "getpeername", None))
  })
}
