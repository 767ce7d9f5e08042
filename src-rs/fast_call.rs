//! The hot path, called without napi-rs's per-call machinery.
//!
//! A `#[napi]` function in napi-rs 3 opens and closes a native-borrow scope
//! on every call (thread-local stacks, an `Arc`, a `Mutex`, a heap
//! allocation). Measured here (`bench/hot-path.ts`), that is most of the
//! binding's overhead on a call whose system call costs 100-250 ns. The few
//! calls a readiness loop makes per event (`poll`, `read`, `write`, and a
//! UDP socket's receives and sends) are therefore plain Node-API callbacks: one `napi_get_cb_info`, numbers, one
//! typed array, one result. Everything else stays `#[napi]`.
//!
//! JavaScript gets them once, from `fastCalls()`, as an object of functions.

use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, Function, Object};
use napi::{sys, Env};
use napi_derive::napi;

use crate::boundary::{guard, guard_raw};
use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::napi_raw::{self, JsBytes};

/// A raw Node-API callback.
pub type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// A count, or `null` (would block), as the call's return value.
pub fn count_or_null(env: sys::napi_env, count: Option<u32>) -> Result<sys::napi_value> {
  match count {
    Some(n) => napi_raw::uint32(env, n),
    None => napi_raw::null(env),
  }
  .ok_or(Error::Pending)
}

/// A `(handle, bytes[, offset, length])` hot-path call: decodes the handle
/// and the `Uint8Array` (narrowed to `offset..offset + length` when both are
/// passed), runs `op`, and returns its count, `null` or exception.
///
/// # Safety
/// `env` and `info` must be the running callback's.
pub unsafe fn handle_and_bytes(
  env: sys::napi_env,
  info: sys::napi_callback_info,
  op: impl FnOnce(Handle, JsBytes<'_>) -> Result<Option<u32>>,
) -> sys::napi_value {
  guard_raw(env, || {
    // SAFETY: `env` and `info` are this callback's (the caller's contract).
    let ([handle, buf, offset, length], argc) = unsafe { napi_raw::args::<4>(env, info) };
    // SAFETY: the values are this call's arguments. Reading numbers and a
    // typed array runs no JavaScript, so the bytes stay valid through `op`.
    let count = unsafe {
      let handle = napi_raw::get_number(env, handle, "handle")?;
      let window = if argc >= 4 {
        Some((
          napi_raw::get_number(env, offset, "offset")?,
          napi_raw::get_number(env, length, "length")?,
        ))
      } else {
        None
      };
      let mut bytes = napi_raw::bytes(env, buf)
        .ok_or_else(|| Error::invalid_type("buffer must be a Uint8Array or Buffer"))?;
      if let Some((offset, length)) = window {
        bytes = bytes.window(offset, length)?;
      }
      op(handle, bytes)?
    };
    count_or_null(env, count)
  })
}

fn function<'env>(env: &'env Env, name: &str, callback: Callback) -> Result<Function<'env>> {
  let mut out = ptr::null_mut();
  // SAFETY: `name` is valid UTF-8 of the given length; `callback` is a
  // Node-API callback; the data pointer is unused.
  let status = unsafe {
    sys::napi_create_function(
      env.raw(),
      name.as_ptr().cast(),
      name.len() as isize,
      Some(callback),
      ptr::null_mut(),
      &mut out,
    )
  };
  if status != sys::Status::napi_ok {
    return Err(Error::Pending);
  }
  // SAFETY: `out` is the function Node-API just created in this env.
  Ok(unsafe { Function::from_napi_value(env.raw(), out) }?)
}

/// The hot-path functions, for the wrapper to keep: `pollPoll`,
/// `watchTake`, `streamRead`, `streamWrite`; the UDP socket's
/// `udpRecvFrom`, `udpSendTo`, `udpSendToV4`, `udpRecvBatch`,
/// `udpSendBatch` (the `udpRecvFromParts`, `udpSendToParts`, `udpRecvBatch`
/// and `udpSendBatch` of the binding as plain callbacks, their
/// `Float64Array`s passed as the whole `ArrayBuffer`); and on Unix
/// `sourcePollNow`, `unixDatagramSendFast` and `unixDatagramRecvMsg`
/// (`node-mio/epoll` and `node-mio/unix-dgram`).
#[napi(ts_return_type = "{
  pollPoll(handle: Handle, events: Handle, timeoutMs: number): number
  watchTake(watch: Handle, events: Handle): number
  streamRead(handle: Handle, buf: Uint8Array, offset?: number, length?: number): number | null
  streamWrite(handle: Handle, buf: Uint8Array, offset?: number, length?: number): number | null
  udpRecvFrom(handle: Handle, buf: Uint8Array, from: ArrayBuffer): number | null
  udpSendTo(handle: Handle, buf: Uint8Array, address: string, port: number, offset: number, length: number): number | null
  udpSendToV4(handle: Handle, buf: Uint8Array, ip: number, port: number, offset: number, length: number): number | null
  udpRecvBatch(handle: Handle, buf: Uint8Array, meta: ArrayBuffer, start: number, count: number): number | null
  udpSendBatch(handle: Handle, buf: Uint8Array, meta: ArrayBuffer, start: number, count: number): number | null
  sourcePollNow?(handle: Handle, events: number): number
  unixDatagramSendFast?(handle: Handle, buf: Uint8Array): number | null
  unixDatagramRecvMsg?(handle: Handle, buf: Uint8Array, out: Int32Array, addr: Uint8Array): number | null
}")]
pub fn fast_calls(env: &Env) -> napi::Result<Object<'_>> {
  guard(env, || {
    let mut calls = Object::new(env)?;
    calls.set(
      "pollPoll",
      function(env, "pollPoll", crate::poll::poll_poll)?,
    )?;
    calls.set(
      "watchTake",
      function(env, "watchTake", crate::watch::watch_take)?,
    )?;
    calls.set(
      "streamRead",
      function(env, "streamRead", crate::stream::stream_read)?,
    )?;
    calls.set(
      "streamWrite",
      function(env, "streamWrite", crate::stream::stream_write)?,
    )?;
    calls.set(
      "udpRecvFrom",
      function(env, "udpRecvFrom", crate::net::udp::udp_recv_from_fast)?,
    )?;
    calls.set(
      "udpSendTo",
      function(env, "udpSendTo", crate::net::udp::udp_send_to_fast)?,
    )?;
    calls.set(
      "udpSendToV4",
      function(env, "udpSendToV4", crate::net::udp::udp_send_to_v4_fast)?,
    )?;
    calls.set(
      "udpRecvBatch",
      function(
        env,
        "udpRecvBatch",
        crate::net::udp_batch::udp_recv_batch_fast,
      )?,
    )?;
    calls.set(
      "udpSendBatch",
      function(
        env,
        "udpSendBatch",
        crate::net::udp_batch::udp_send_batch_fast,
      )?,
    )?;
    #[cfg(unix)]
    calls.set(
      "sourcePollNow",
      function(
        env,
        "sourcePollNow",
        crate::unix::source_fd::source_poll_now,
      )?,
    )?;
    #[cfg(unix)]
    calls.set(
      "unixDatagramSendFast",
      function(
        env,
        "unixDatagramSendFast",
        crate::net::uds::datagram::unix_datagram_send_fast,
      )?,
    )?;
    #[cfg(unix)]
    calls.set(
      "unixDatagramRecvMsg",
      function(
        env,
        "unixDatagramRecvMsg",
        crate::net::uds::fds::unix_datagram_recv_msg,
      )?,
    )?;
    Ok(calls)
  })
}
