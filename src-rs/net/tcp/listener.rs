//! `TcpListener`.

use napi::Env;
use napi_derive::napi;

use crate::boundary::guard;
use crate::error::Error;
use crate::handle::Handle;
use crate::net::addr::{self, SocketAddress};
use crate::source::{self, Fresh, Io};
use crate::stream::nonblocking;

/// A connection taken by `accept`: the new stream's handle and its peer.
#[napi(object)]
pub struct Accepted {
  pub handle: Handle,
  pub address: SocketAddress,
}

/// `TcpListener::bind(addr)`: `SO_REUSEADDR` (not on Windows), bind, listen.
#[napi]
pub fn tcp_listener_bind(env: Env, addr: String) -> napi::Result<Handle> {
  guard(&env, || {
    let addr = addr::parse(&addr)?;
    let listener =
      mio::net::TcpListener::bind(addr).map_err(|e| Error::system(&e, "bind").at(addr))?;
    source::insert(Io::TcpListener(listener))
  })
}

/// `TcpListener::accept()`, or `null` when no connection is pending.
#[napi(ts_return_type = "Accepted | null")]
pub fn tcp_listener_accept(env: Env, handle: Handle) -> napi::Result<Option<Fresh<Accepted>>> {
  guard(&env, || {
    let accepted = source::with(handle, |io| match io {
      Io::TcpListener(listener) => nonblocking("accept", || listener.accept()),
      _ => Err(Error::wrong_kind("TcpListener")),
    })?;
    let Some((stream, peer)) = accepted else {
      return Ok(None);
    };
    let handle = source::insert(Io::TcpStream(stream))?;
    Ok(Some(Fresh::one(
      Accepted {
        handle,
        address: peer.into(),
      },
      handle,
    )))
  })
}
