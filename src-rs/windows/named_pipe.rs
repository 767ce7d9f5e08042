//! `NamedPipe` (Windows): mio's server end (`new`, `connect`, `disconnect`)
//! and a client end opened for overlapped I/O, as mio's tests open it. Reads
//! and writes are the shared stream calls (`stream.rs`), which call
//! [`read_vectored`] and [`write_vectored`] here for a pipe.

use std::fs::OpenOptions;
use std::io::{self, ErrorKind};
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::{FromRawHandle, IntoRawHandle};

use napi::Env;
use napi_derive::napi;

use crate::boundary::guard;
use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::napi_raw::JsBytes;
use crate::source::{self, Io};

/// `FILE_FLAG_OVERLAPPED`: mio drives every pipe handle with overlapped I/O.
const FILE_FLAG_OVERLAPPED: u32 = 0x4000_0000;

/// `NamedPipe::new(name)`: the server end (duplex, byte mode, first instance).
#[napi]
pub fn named_pipe_new(env: Env, name: String) -> napi::Result<Handle> {
  guard(&env, || {
    let pipe = mio::windows::NamedPipe::new(&name)
      .map_err(|e| Error::system(&e, "CreateNamedPipe").on_path(&name))?;
    source::insert(Io::NamedPipe(pipe))
  })
}

/// Opens the client end of `name` for overlapped I/O.
#[napi]
pub fn named_pipe_open(env: Env, name: String) -> napi::Result<Handle> {
  guard(&env, || {
    let file = OpenOptions::new()
      .read(true)
      .write(true)
      .custom_flags(FILE_FLAG_OVERLAPPED)
      .open(&name)
      .map_err(|e| Error::system(&e, "CreateFile").on_path(&name))?;
    // SAFETY: the handle was just opened for overlapped I/O and is owned by
    // nothing else: `into_raw_handle` gave up the `File`'s ownership.
    let pipe = unsafe { mio::windows::NamedPipe::from_raw_handle(file.into_raw_handle()) };
    source::insert(Io::NamedPipe(pipe))
  })
}

fn with_pipe<R>(
  handle: Handle,
  f: impl FnOnce(&mio::windows::NamedPipe) -> Result<R>,
) -> Result<R> {
  source::with(handle, |io| match io {
    Io::NamedPipe(pipe) => f(pipe),
    _ => Err(Error::wrong_kind("NamedPipe")),
  })
}

/// `NamedPipe::connect()`: `true` once a client is connected, `false` while
/// the connect is pending (a writable event tells when it completes; then
/// `takeError` tells how).
#[napi]
pub fn named_pipe_connect(env: Env, handle: Handle) -> napi::Result<bool> {
  guard(&env, || {
    with_pipe(handle, |pipe| match pipe.connect() {
      Ok(()) => Ok(true),
      Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(false),
      Err(e) => Err(Error::system(&e, "ConnectNamedPipe")),
    })
  })
}

/// `NamedPipe::disconnect()`: drops the client, so another can connect.
#[napi]
pub fn named_pipe_disconnect(env: Env, handle: Handle) -> napi::Result<()> {
  guard(&env, || {
    with_pipe(handle, |pipe| {
      pipe
        .disconnect()
        .map_err(|e| Error::system(&e, "DisconnectNamedPipe"))
    })
  })
}

/// `NamedPipe::take_error()`: the outcome of a completed connect.
#[napi]
pub fn named_pipe_take_error(
  env: &Env,
  handle: Handle,
) -> napi::Result<Option<napi::bindgen_prelude::Object<'_>>> {
  guard(env, || {
    let pending = with_pipe(handle, |pipe| {
      pipe
        .take_error()
        .map_err(|e| Error::system(&e, "GetOverlappedResult"))
    })?;
    pending
      .map(|e| crate::net::error_object(env, &Error::system(&e, "ConnectNamedPipe")))
      .transpose()
  })
}

/// `Write::write_vectored` for a pipe. mio copies what it is given into its
/// own write buffer, so the buffers are gathered first, each through
/// `send_with` (which reads memory other threads share atomically); the pipe
/// takes all of it or would block.
pub fn write_vectored(pipe: &mio::windows::NamedPipe, bufs: &[JsBytes<'_>]) -> io::Result<usize> {
  let mut gathered = Vec::with_capacity(bufs.iter().map(JsBytes::len).sum());
  for buf in bufs {
    buf.send_with(|slice| {
      gathered.extend_from_slice(slice);
      Ok(slice.len())
    })?;
  }
  io::Write::write(&mut &*pipe, &gathered)
}

/// `Read::read_vectored` for a pipe: mio reads from its own buffer as much
/// as the buffers hold together, which lands in a private buffer first and
/// is then scattered over them in order, each through `fill_with`.
pub fn read_vectored(pipe: &mio::windows::NamedPipe, bufs: &[JsBytes<'_>]) -> io::Result<usize> {
  let mut private = vec![0u8; bufs.iter().map(JsBytes::len).sum()];
  let read = io::Read::read(&mut &*pipe, &mut private)?;
  let mut rest = private.get(..read).unwrap_or_default();
  for buf in bufs {
    if rest.is_empty() {
      break;
    }
    let (head, tail) = rest.split_at(rest.len().min(buf.len()));
    buf.fill_with(|slice| {
      let n = head.len().min(slice.len());
      slice[..n].copy_from_slice(&head[..n]);
      Ok(n)
    })?;
    rest = tail;
  }
  Ok(read)
}
