//! `UnixStream`: connect and pair. Reads, writes and shutdown are shared
//! with the other streams (`net/io.rs`, `net/mod.rs`).

use napi::Env;
use napi_derive::napi;

use crate::error::{self, Result};
use crate::handle::Handle;
use crate::net::uds::addr::abstract_addr;
use crate::source::{self, Io};

/// `UnixStream::connect(path)`.
#[napi]
pub fn unix_stream_connect(env: Env, path: String) -> Result<Handle> {
  let stream = mio::net::UnixStream::connect(&path)
    .map_err(|e| error::system_path(&env, &e, "connect", &path))?;
  Ok(source::insert(Io::UnixStream(stream)))
}

/// `UnixStream::connect_addr` with a Linux abstract name.
#[napi]
pub fn unix_stream_connect_abstract(env: Env, name: &[u8]) -> Result<Handle> {
  let addr = abstract_addr(&env, name)?;
  let stream = mio::net::UnixStream::connect_addr(&addr)
    .map_err(|e| error::system(&env, &e, "connect", None))?;
  Ok(source::insert(Io::UnixStream(stream)))
}

/// `UnixStream::pair()`: two connected streams.
#[napi(ts_return_type = "[Handle, Handle]")]
pub fn unix_stream_pair(env: Env) -> Result<Vec<Handle>> {
  let (a, b) =
    mio::net::UnixStream::pair().map_err(|e| error::system(&env, &e, "socketpair", None))?;
  Ok(vec![
    source::insert(Io::UnixStream(a)),
    source::insert(Io::UnixStream(b)),
  ])
}
