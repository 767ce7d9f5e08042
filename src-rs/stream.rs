//! Reads and writes on byte streams: TCP and Unix streams, pipe ends,
//! `SourceFd` and (Windows) named pipes.
//!
//! Each call takes the caller's `Uint8Array` memory as an address and a
//! length for the duration of the call (no copy, no reference, no
//! allocation; see `napi_raw::JsBytes`) and returns the byte count, or
//! `null` for `WouldBlock`: the normal end of every drain is a value, never
//! an exception.

use std::io;

use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, JsValue};
use napi_derive::napi;

use crate::boundary::guard;
use crate::error::{Error, Result};
use crate::fast_call;
use crate::handle::Handle;
use crate::napi_raw::{self, JsBytes};
use crate::source::{self, Io, Kind};
use crate::sys::io as os;

/// The largest count a call reports: a longer buffer gets a short read or
/// write, which every caller handles anyway.
pub const MAX_CHUNK: usize = i32::MAX as usize;

/// At most this many buffers go to one `readv`/`writev`; the rest is a
/// short transfer.
pub const MAX_IOVECS: usize = os::MAX_IOVECS;

/// Runs a non-blocking operation: retries `EINTR` (the caller would
/// otherwise wait for an edge that already happened), maps `WouldBlock` to
/// `None` and other errors to a system error from `syscall`.
pub fn nonblocking<T>(
  syscall: &'static str,
  mut op: impl FnMut() -> io::Result<T>,
) -> Result<Option<T>> {
  loop {
    match op() {
      Ok(value) => return Ok(Some(value)),
      Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
      Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
      Err(e) => return Err(Error::system(&e, syscall)),
    }
  }
}

/// A count as JavaScript gets it (at most `MAX_CHUNK`).
fn counted(n: Option<usize>) -> Option<u32> {
  n.map(|n| n.min(MAX_CHUNK) as u32)
}

/// A receive buffer, capped at `MAX_CHUNK`. An empty one is refused here
/// too (the wrapper checks first): reading into it would return `0`, which
/// means the end of the stream.
pub fn readable(buf: JsBytes<'_>) -> Result<JsBytes<'_>> {
  if buf.is_empty() {
    return Err(Error::out_of_range(
      "The \"buffer\" argument must not be empty: a read into 0 bytes cannot be told apart from the end of the stream",
    ));
  }
  Ok(buf.prefix(MAX_CHUNK))
}

/// A `Uint8Array` argument's bytes (see `napi_raw::bytes`), or a `TypeError`
/// naming `name`. Take it after every other argument.
///
/// # Safety
/// `value` must be a live value of `env`'s current scope.
pub unsafe fn arg_bytes<'call>(
  env: sys::napi_env,
  value: sys::napi_value,
  name: &str,
) -> Result<JsBytes<'call>> {
  // SAFETY: the caller's contract.
  unsafe { napi_raw::bytes(env, value) }
    .ok_or_else(|| Error::invalid_type(format!("{name} must be a Uint8Array or Buffer")))
}

/// Runs `op` on `io`'s descriptor through mio (see `Io::try_io`).
pub fn on_descriptor<T>(io: &Io, op: impl FnOnce(source::Raw) -> io::Result<T>) -> io::Result<T> {
  io.try_io(op)
    .unwrap_or_else(|| Err(io::ErrorKind::Unsupported.into()))
}

/// `streamRead(handle, buf[, offset, length])`, a hot-path call (see
/// `fast_call.rs`): `Read::read` into `buf`; the count, `0` at the end of
/// the stream, or `null` when it would block.
///
/// # Safety
/// Only Node-API calls this, with its own `env` and `info`.
pub unsafe extern "C" fn stream_read(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  // SAFETY: Node-API passes this callback's own `env` and `info`.
  unsafe { fast_call::handle_and_bytes(env, info, read) }
}

fn read(handle: Handle, buf: JsBytes<'_>) -> Result<Option<u32>> {
  let buf = readable(buf)?;
  source::with_reported(handle, |io, reported| {
    if !io.kind().reads() {
      return Err(Error::wrong_kind("readable stream"));
    }
    #[cfg(windows)]
    if let Io::NamedPipe(pipe) = io {
      return nonblocking("read", || {
        buf.fill_with(|slice| io::Read::read(&mut &*pipe, slice))
      })
      .map(counted);
    }
    let socket = io.kind().is_socket();
    nonblocking("read", || {
      on_descriptor(io, |raw| {
        if socket {
          os::recv_stream(raw, buf, reported)
        } else {
          file_read(raw, buf)
        }
      })
    })
    .map(counted)
  })
}

/// `streamWrite(handle, buf[, offset, length])`, a hot-path call (see
/// `fast_call.rs`): `Write::write` from `buf`; the count taken (maybe
/// short), or `null` when it would block.
///
/// # Safety
/// Only Node-API calls this, with its own `env` and `info`.
pub unsafe extern "C" fn stream_write(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  // SAFETY: Node-API passes this callback's own `env` and `info`.
  unsafe { fast_call::handle_and_bytes(env, info, write) }
}

fn write(handle: Handle, buf: JsBytes<'_>) -> Result<Option<u32>> {
  let buf = buf.prefix(MAX_CHUNK);
  source::with_kind(handle, Kind::writes, "writable stream", |io| {
    #[cfg(windows)]
    if let Io::NamedPipe(pipe) = io {
      return nonblocking("write", || {
        buf.send_with(|slice| io::Write::write(&mut &*pipe, slice))
      })
      .map(counted);
    }
    let socket = io.kind().is_socket();
    nonblocking("write", || {
      on_descriptor(io, |raw| {
        if socket {
          os::send(raw, buf)
        } else {
          file_write(raw, buf)
        }
      })
    })
    .map(counted)
  })
}

#[cfg(unix)]
fn file_read(raw: source::Raw, buf: JsBytes<'_>) -> io::Result<usize> {
  os::read(raw, buf)
}

#[cfg(unix)]
fn file_write(raw: source::Raw, buf: JsBytes<'_>) -> io::Result<usize> {
  os::write(raw, buf)
}

// Windows has no file-like source with a socket handle: named pipes take
// the branch above.
#[cfg(windows)]
fn file_read(_: source::Raw, _: JsBytes<'_>) -> io::Result<usize> {
  Err(io::ErrorKind::Unsupported.into())
}

#[cfg(windows)]
fn file_write(_: source::Raw, _: JsBytes<'_>) -> io::Result<usize> {
  Err(io::ErrorKind::Unsupported.into())
}

/// The buffers of a `readv`/`writev` call: first every element is read
/// (which may run JavaScript: getters, Proxy traps), then every element's
/// memory is taken (which runs none), so no pointer is held while
/// JavaScript runs. At most `MAX_IOVECS` buffers and `MAX_CHUNK` bytes.
///
/// # Safety
/// `bufs` must be a live value of `env`'s current scope.
unsafe fn vectors<'call>(
  env: sys::napi_env,
  bufs: sys::napi_value,
) -> Result<([JsBytes<'call>; MAX_IOVECS], usize)> {
  // SAFETY: the caller's contract.
  let (values, count) = unsafe { napi_raw::array_values::<MAX_IOVECS>(env, bufs, "bufs") }?;
  let mut out = [JsBytes::EMPTY; MAX_IOVECS];
  let mut total = 0usize;
  let mut used = 0;
  for (index, value) in values.iter().enumerate().take(count) {
    // SAFETY: `value` was read from the array in this scope.
    let buf = unsafe { napi_raw::bytes(env, *value) }
      .ok_or_else(|| Error::invalid_type(format!("bufs[{index}] must be a Uint8Array or Buffer")))?
      .prefix(MAX_CHUNK - total);
    total += buf.len();
    out[index] = buf;
    used = index + 1;
    if total == MAX_CHUNK {
      break;
    }
  }
  Ok((out, used))
}

/// `Write::write_vectored`: gathers up to 64 buffers in one system call.
#[napi(ts_args_type = "handle: number, bufs: Uint8Array[]")]
pub fn stream_writev(env: Env, handle: Handle, bufs: Unknown) -> napi::Result<Option<u32>> {
  guard(&env, || {
    // SAFETY: `bufs` is this call's argument.
    let (bufs, used) = unsafe { vectors(env.raw(), bufs.raw()) }?;
    let bufs = &bufs[..used];
    source::with_kind(handle, Kind::writes, "writable stream", |io| {
      #[cfg(windows)]
      if let Io::NamedPipe(pipe) = io {
        return nonblocking("writev", || {
          crate::windows::named_pipe::write_vectored(pipe, bufs)
        })
        .map(counted);
      }
      nonblocking("writev", || on_descriptor(io, |raw| os::writev(raw, bufs))).map(counted)
    })
  })
}

/// `Read::read_vectored`: scatters into up to 64 buffers in one system call;
/// the count, `0` at the end of the stream, or `null` when it would block.
/// The buffers must not overlap (each is written independently).
#[napi(ts_args_type = "handle: number, bufs: Uint8Array[]")]
pub fn stream_readv(env: Env, handle: Handle, bufs: Unknown) -> napi::Result<Option<u32>> {
  guard(&env, || {
    // SAFETY: `bufs` is this call's argument.
    let (bufs, used) = unsafe { vectors(env.raw(), bufs.raw()) }?;
    let bufs = &bufs[..used];
    if bufs.iter().all(JsBytes::is_empty) {
      return Err(Error::out_of_range(
        "the read buffers must not all be empty: a read into 0 bytes cannot be told apart from the end of the stream",
      ));
    }
    for (i, a) in bufs.iter().enumerate() {
      for b in &bufs[i + 1..] {
        let (a0, a1) = (a.as_ptr() as usize, a.as_ptr() as usize + a.len());
        let (b0, b1) = (b.as_ptr() as usize, b.as_ptr() as usize + b.len());
        if !a.is_empty() && !b.is_empty() && a0 < b1 && b0 < a1 {
          return Err(Error::invalid_arg("readv buffers must not overlap"));
        }
      }
    }
    source::with_reported(handle, |io, reported| {
      if !io.kind().reads() {
        return Err(Error::wrong_kind("readable stream"));
      }
      #[cfg(windows)]
      if let Io::NamedPipe(pipe) = io {
        return nonblocking("readv", || {
          crate::windows::named_pipe::read_vectored(pipe, bufs)
        })
        .map(counted);
      }
      nonblocking("readv", || {
        on_descriptor(io, |raw| os::readv_stream(raw, bufs, reported))
      })
      .map(counted)
    })
  })
}
