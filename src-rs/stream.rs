//! The hot path: reads and writes on connected streams.
//!
//! Each call borrows the caller's `Uint8Array` for the duration of the call
//! (no copy, no reference, no allocation) and returns the byte count, or
//! `null` for `WouldBlock`: the normal end of every drain is a value, never
//! an exception. `EINTR` is retried here, since the caller would otherwise
//! wait for an edge that already happened.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};

use napi::bindgen_prelude::{Array, Uint8ArraySlice};
use napi::sys;
use napi::Env;
use napi_derive::napi;

use crate::error::{self, Result};
use crate::fast_call;
use crate::handle::Handle;
use crate::source::{self, Io};

/// The largest count a call reports: a longer buffer gets a short read or
/// write, which every caller handles anyway.
const MAX_CHUNK: usize = i32::MAX as usize;

/// At most this many buffers go to one `writev`; the rest is a short write.
pub const MAX_IOVECS: usize = 64;

/// The bytes of a caller's `Uint8Array`, writable for the duration of a call.
#[inline]
pub fn bytes_mut<'a>(slice: &'a mut Uint8ArraySlice) -> &'a mut [u8] {
  // SAFETY: the binding's functions are synchronous on the JavaScript thread:
  // no JavaScript runs until they return, so nothing else writes the buffer
  // while Rust does, and the slice never outlives the call.
  unsafe { slice.as_mut() }
}

/// Retries `EINTR`, maps `WouldBlock` to `None` and throws the rest.
#[inline]
pub fn complete(
  env: &Env,
  syscall: &str,
  mut op: impl FnMut() -> io::Result<usize>,
) -> Result<Option<u32>> {
  loop {
    match op() {
      Ok(n) => return Ok(Some(n as u32)),
      Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
      Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
      Err(e) => return Err(error::system(env, &e, syscall, None)),
    }
  }
}

/// `streamRead(handle, buf)`, a hot-path call (see `fast_call.rs`):
/// `Read::read` into `buf`; the count, `0` at the end of the stream, or
/// `null` when it would block.
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

/// A receive buffer, capped at `MAX_CHUNK`. An empty one is refused here
/// too (the wrapper checks first): reading into it would return `0`, which
/// means the end of the stream.
pub fn readable<'a>(env: &Env, buf: &'a mut [u8]) -> Result<&'a mut [u8]> {
  if buf.is_empty() {
    return Err(error::range_error(
      env,
      "ERR_OUT_OF_RANGE",
      "the read buffer must not be empty: a read into 0 bytes cannot be told apart from the end of the stream",
    ));
  }
  let len = buf.len().min(MAX_CHUNK);
  Ok(&mut buf[..len])
}

fn read(env: &Env, handle: Handle, buf: &mut [u8]) -> Result<Option<u32>> {
  let buf = readable(env, buf)?;
  source::with(env, handle, |io| match io {
    Io::TcpStream(s) => complete(env, "read", || (&*s).read(buf)),
    #[cfg(unix)]
    Io::UnixStream(s) => complete(env, "read", || (&*s).read(buf)),
    #[cfg(unix)]
    Io::PipeReceiver(s) => complete(env, "read", || (&*s).read(buf)),
    #[cfg(unix)]
    Io::Fd(fd) => complete(env, "read", || (&*fd).read(buf)),
    #[cfg(windows)]
    Io::NamedPipe(p) => complete(env, "read", || (&*p).read(buf)),
    _ => Err(error::wrong_kind(env, "readable stream")),
  })
}

/// `streamWrite(handle, buf)`, a hot-path call (see `fast_call.rs`):
/// `Write::write` from `buf`; the count taken (maybe short), or `null` when
/// it would block.
///
/// # Safety
/// Only Node-API calls this, with its own `env` and `info`.
pub unsafe extern "C" fn stream_write(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  // SAFETY: Node-API passes this callback's own `env` and `info`.
  unsafe { fast_call::handle_and_bytes(env, info, |env, handle, buf| write(env, handle, buf)) }
}

fn write(env: &Env, handle: Handle, buf: &[u8]) -> Result<Option<u32>> {
  let buf = &buf[..buf.len().min(MAX_CHUNK)];
  source::with(env, handle, |io| match io {
    Io::TcpStream(s) => complete(env, "write", || (&*s).write(buf)),
    #[cfg(unix)]
    Io::UnixStream(s) => complete(env, "write", || (&*s).write(buf)),
    #[cfg(unix)]
    Io::PipeSender(s) => complete(env, "write", || (&*s).write(buf)),
    #[cfg(unix)]
    Io::Fd(fd) => complete(env, "write", || (&*fd).write(buf)),
    #[cfg(windows)]
    Io::NamedPipe(p) => complete(env, "write", || (&*p).write(buf)),
    _ => Err(error::wrong_kind(env, "writable stream")),
  })
}

/// `Write::write_vectored`: gathers up to 64 buffers in one system call.
#[napi(ts_args_type = "handle: number, bufs: Uint8Array[]")]
pub fn stream_writev(env: Env, handle: Handle, bufs: Array) -> Result<Option<u32>> {
  let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
  let count = (bufs.len() as usize).min(MAX_IOVECS);
  let mut total = 0usize;
  let mut used = 0;
  for (index, slot) in slices.iter_mut().enumerate().take(count) {
    let buf: &[u8] = bufs.get(index as u32)?.unwrap_or(&[]);
    let room = MAX_CHUNK - total;
    let buf = &buf[..buf.len().min(room)];
    total += buf.len();
    *slot = IoSlice::new(buf);
    used = index + 1;
    if total == MAX_CHUNK {
      break;
    }
  }
  let slices = &slices[..used];
  source::with(&env, handle, |io| match io {
    Io::TcpStream(s) => complete(&env, "writev", || (&*s).write_vectored(slices)),
    #[cfg(unix)]
    Io::UnixStream(s) => complete(&env, "writev", || (&*s).write_vectored(slices)),
    #[cfg(unix)]
    Io::PipeSender(s) => complete(&env, "writev", || (&*s).write_vectored(slices)),
    #[cfg(unix)]
    Io::Fd(fd) => complete(&env, "writev", || (&*fd).write_vectored(slices)),
    #[cfg(windows)]
    Io::NamedPipe(p) => complete(&env, "writev", || (&*p).write_vectored(slices)),
    _ => Err(error::wrong_kind(&env, "writable stream")),
  })
}

/// `Read::read_vectored`: scatters into up to 64 buffers in one system call;
/// the count, `0` at the end of the stream, or `null` when it would block.
/// The buffers must not overlap (each is written independently).
#[napi(ts_args_type = "handle: number, bufs: Uint8Array[]")]
pub fn stream_readv(env: Env, handle: Handle, bufs: Array) -> Result<Option<u32>> {
  let count = (bufs.len() as usize).min(MAX_IOVECS);
  let mut ranges = [(std::ptr::null_mut::<u8>(), 0usize); MAX_IOVECS];
  let mut total = 0usize;
  let mut used = 0;
  for (index, range) in ranges.iter_mut().enumerate().take(count) {
    let Some(mut view) = bufs.get::<Uint8ArraySlice>(index as u32)? else {
      break;
    };
    let buf = bytes_mut(&mut view);
    let len = buf.len().min(MAX_CHUNK - total);
    *range = (buf.as_mut_ptr(), len);
    total += len;
    used = index + 1;
    if total == MAX_CHUNK {
      break;
    }
  }
  if total == 0 {
    return Err(error::range_error(
      &env,
      "ERR_OUT_OF_RANGE",
      "the read buffers must not all be empty: a read into 0 bytes cannot be told apart from the end of the stream",
    ));
  }
  let ranges = &ranges[..used];
  for (i, a) in ranges.iter().enumerate() {
    for b in &ranges[i + 1..] {
      let (a0, a1) = (a.0 as usize, a.0 as usize + a.1);
      let (b0, b1) = (b.0 as usize, b.0 as usize + b.1);
      if a.1 > 0 && b.1 > 0 && a0 < b1 && b0 < a1 {
        return Err(error::invalid_arg(&env, "readv buffers must not overlap"));
      }
    }
  }
  let mut slices: [IoSliceMut<'_>; MAX_IOVECS] =
    std::array::from_fn(|index| match ranges.get(index) {
      // SAFETY: each range is a live JavaScript buffer's memory (or a prefix),
      // valid for the call (see `bytes_mut`), and no two ranges overlap.
      Some(&(ptr, len)) if len > 0 => {
        IoSliceMut::new(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
      }
      _ => IoSliceMut::new(&mut []),
    });
  let slices = &mut slices[..used];
  source::with(&env, handle, |io| match io {
    Io::TcpStream(s) => complete(&env, "readv", || (&*s).read_vectored(slices)),
    #[cfg(unix)]
    Io::UnixStream(s) => complete(&env, "readv", || (&*s).read_vectored(slices)),
    #[cfg(unix)]
    Io::PipeReceiver(s) => complete(&env, "readv", || (&*s).read_vectored(slices)),
    _ => Err(error::wrong_kind(&env, "readable stream")),
  })
}
