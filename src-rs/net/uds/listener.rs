//! `UnixListener`.

use napi::bindgen_prelude::Unknown;
use napi::Env;
use napi::JsValue;
use napi_derive::napi;

use crate::boundary::guard;
use crate::error::Error;
use crate::handle::Handle;
use crate::napi_raw;
use crate::net::uds::addr::{abstract_addr, UnixAddress};
use crate::source::{self, Fresh, Io};
use crate::stream::nonblocking;

/// A connection taken by `accept`: the stream's handle and its peer.
#[napi(object)]
pub struct UnixAccepted {
  pub handle: Handle,
  pub address: UnixAddress,
}

/// `UnixListener::bind(path)`.
#[napi]
pub fn unix_listener_bind(env: Env, path: String) -> napi::Result<Handle> {
  guard(&env, || {
    let listener =
      mio::net::UnixListener::bind(&path).map_err(|e| Error::system(&e, "bind").on_path(&path))?;
    source::insert(Io::UnixListener(listener))
  })
}

/// `UnixListener::bind_addr` with a Linux abstract name.
#[napi(ts_args_type = "name: Uint8Array")]
pub fn unix_listener_bind_abstract(env: Env, name: Unknown) -> napi::Result<Handle> {
  guard(&env, || {
    // SAFETY: `name` is this call's argument.
    let name = unsafe { napi_raw::copy_bytes(env.raw(), name.raw()) }
      .ok_or_else(|| Error::invalid_type("name must be a Uint8Array or Buffer"))?;
    let addr = abstract_addr(&name)?;
    let listener =
      mio::net::UnixListener::bind_addr(&addr).map_err(|e| Error::system(&e, "bind"))?;
    source::insert(Io::UnixListener(listener))
  })
}

/// `UnixListener::accept()`, or `null` when no connection is pending.
#[napi(ts_return_type = "UnixAccepted | null")]
pub fn unix_listener_accept(env: Env, handle: Handle) -> napi::Result<Option<Fresh<UnixAccepted>>> {
  guard(&env, || {
    let accepted = source::with(handle, |io| match io {
      Io::UnixListener(listener) => nonblocking("accept", || listener.accept()),
      _ => Err(Error::wrong_kind("UnixListener")),
    })?;
    let Some((stream, peer)) = accepted else {
      return Ok(None);
    };
    let handle = source::insert(Io::UnixStream(stream))?;
    Ok(Some(Fresh::one(
      UnixAccepted {
        handle,
        address: UnixAddress::from(&peer),
      },
      handle,
    )))
  })
}

/// `local_addr()` of any Unix socket.
#[napi]
pub fn unix_local_addr(env: Env, handle: Handle) -> napi::Result<UnixAddress> {
  guard(&env, || {
    source::with(handle, |io| {
      let result = match io {
        Io::UnixListener(s) => s.local_addr(),
        Io::UnixStream(s) => s.local_addr(),
        Io::UnixDatagram(s) => s.local_addr(),
        _ => return Err(Error::wrong_kind("Unix socket")),
      };
      result
        .map(|addr| UnixAddress::from(&addr))
        .map_err(|e| Error::system(&e, "getsockname"))
    })
  })
}

/// `peer_addr()` of a connected Unix socket.
#[napi]
pub fn unix_peer_addr(env: Env, handle: Handle) -> napi::Result<UnixAddress> {
  guard(&env, || {
    source::with(handle, |io| {
      let result = match io {
        Io::UnixStream(s) => s.peer_addr(),
        Io::UnixDatagram(s) => s.peer_addr(),
        _ => return Err(Error::wrong_kind("UnixStream or UnixDatagram")),
      };
      result
        .map(|addr| UnixAddress::from(&addr))
        .map_err(|e| Error::system(&e, "getpeername"))
    })
  })
}
