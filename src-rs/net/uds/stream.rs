//! `UnixStream`: connect and pair. Reads, writes and shutdown are shared
//! with the other streams (`net/io.rs`, `net/mod.rs`).

use napi::bindgen_prelude::Unknown;
use napi::Env;
use napi::JsValue;
use napi_derive::napi;

use crate::boundary::guard;
use crate::error::Error;
use crate::handle::Handle;
use crate::napi_raw;
use crate::net::uds::addr::abstract_addr;
use crate::source::{self, Io};

/// `UnixStream::connect(path)`.
#[napi]
pub fn unix_stream_connect(env: Env, path: String) -> napi::Result<Handle> {
  guard(&env, || {
    let stream = mio::net::UnixStream::connect(&path)
      .map_err(|e| Error::system(&e, "connect").on_path(&path))?;
    Ok(source::insert(Io::UnixStream(stream)))
  })
}

/// `UnixStream::connect_addr` with a Linux abstract name.
#[napi(ts_args_type = "name: Uint8Array")]
pub fn unix_stream_connect_abstract(env: Env, name: Unknown) -> napi::Result<Handle> {
  guard(&env, || {
    // SAFETY: `name` is this call's argument.
    let name = unsafe { napi_raw::copy_bytes(env.raw(), name.raw()) }
      .ok_or_else(|| Error::invalid_type("name must be a Uint8Array or Buffer"))?;
    let addr = abstract_addr(&name)?;
    let stream =
      mio::net::UnixStream::connect_addr(&addr).map_err(|e| Error::system(&e, "connect"))?;
    Ok(source::insert(Io::UnixStream(stream)))
  })
}

/// `UnixStream::pair()`: two connected streams.
#[napi(ts_return_type = "[Handle, Handle]")]
pub fn unix_stream_pair(env: Env) -> napi::Result<Vec<Handle>> {
  guard(&env, || {
    let (a, b) = mio::net::UnixStream::pair().map_err(|e| Error::system(&e, "socketpair"))?;
    Ok(vec![
      source::insert(Io::UnixStream(a)),
      source::insert(Io::UnixStream(b)),
    ])
  })
}
