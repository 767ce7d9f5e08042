//! The hot path, called without napi-rs's per-call machinery.
//!
//! A `#[napi]` function in napi-rs 3 opens and closes a native-borrow scope
//! on every call (thread-local stacks, an `Arc`, a `Mutex`, a heap
//! allocation). Measured here (`bench/hot-path.ts`), that is most of the
//! binding's overhead on a call whose system call costs 100-250 ns. The few
//! calls a readiness loop makes per event (`poll`, `read`, `write`) are
//! therefore plain Node-API callbacks: one `napi_get_cb_info`, one number, one
//! typed array, one result. Everything else stays `#[napi]`.
//!
//! JavaScript gets them once, from `fastCalls()`, as an object of functions.

use std::ffi::c_void;
use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, Function, Object};
use napi::{sys, Env, JsError, Result};
use napi_derive::napi;

use crate::error;

/// A raw Node-API callback.
pub type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// The call's first `N` arguments (`undefined` for missing ones).
///
/// # Safety
/// `env` and `info` must be the ones Node-API passed to the running callback.
pub unsafe fn args<const N: usize>(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> [sys::napi_value; N] {
  // SAFETY: the caller's contract.
  unsafe { args_counted::<N>(env, info) }.0
}

/// Like [`args`], with how many arguments the call actually passed.
///
/// # Safety
/// As [`args`].
pub unsafe fn args_counted<const N: usize>(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> ([sys::napi_value; N], usize) {
  let mut argv = [ptr::null_mut(); N];
  let mut argc = N;
  // SAFETY: `argv` has room for `argc` values, as Node-API requires; missing
  // arguments are filled with `undefined`.
  unsafe {
    sys::napi_get_cb_info(
      env,
      info,
      &mut argc,
      argv.as_mut_ptr(),
      ptr::null_mut(),
      ptr::null_mut(),
    )
  };
  (argv, argc)
}

/// A number argument, or a thrown `TypeError`.
///
/// # Safety
/// As [`args`]; `value` is one of the call's arguments.
pub unsafe fn number(env: &Env, value: sys::napi_value, name: &str) -> Result<f64> {
  let mut out = 0.0;
  // SAFETY: `value` is a live handle of this call; `out` is a valid f64.
  match unsafe { sys::napi_get_value_double(env.raw(), value, &mut out) } {
    sys::Status::napi_ok => Ok(out),
    _ => Err(error::type_error(
      env,
      "ERR_INVALID_ARG_TYPE",
      &format!("{name} must be a number"),
    )),
  }
}

/// The elements of a typed array argument of element type `T`, borrowed for
/// the duration of the call.
///
/// # Safety
/// As [`args`]. `kind` must be the `napi_typedarray_type` whose elements are
/// `T`. The slice must not outlive the call: JavaScript owns the memory, and
/// no JavaScript runs until the callback returns.
pub unsafe fn typed_array<'call, T>(
  env: &Env,
  value: sys::napi_value,
  kind: sys::napi_typedarray_type,
  name: &str,
) -> Result<&'call mut [T]> {
  let mut actual = -1;
  let mut length = 0usize;
  let mut data: *mut c_void = ptr::null_mut();
  // SAFETY: every out-pointer is valid or null (the array buffer and offset
  // are not needed).
  let status = unsafe {
    sys::napi_get_typedarray_info(
      env.raw(),
      value,
      &mut actual,
      &mut length,
      &mut data,
      ptr::null_mut(),
      ptr::null_mut(),
    )
  };
  if status != sys::Status::napi_ok || actual != kind {
    return Err(error::type_error(
      env,
      "ERR_INVALID_ARG_TYPE",
      &format!("{name} has the wrong type"),
    ));
  }
  if length == 0 || data.is_null() {
    return Ok(&mut []);
  }
  // SAFETY: Node-API reports `length` elements of type `T` at `data` (the
  // view's start); the memory stays valid for the call (see above).
  Ok(unsafe { std::slice::from_raw_parts_mut(data.cast::<T>(), length) })
}

/// Converts a call's outcome to its return value: a count, `null` (would
/// block), or the pending exception.
///
/// # Safety
/// `env` must be the running callback's.
pub unsafe fn count_or_null(env: &Env, result: Result<Option<u32>>) -> sys::napi_value {
  let mut out = ptr::null_mut();
  match result {
    // SAFETY: valid env and out-pointer.
    Ok(Some(n)) => unsafe { sys::napi_create_uint32(env.raw(), n, &mut out) },
    // SAFETY: valid env and out-pointer.
    Ok(None) => unsafe { sys::napi_get_null(env.raw(), &mut out) },
    Err(err) => {
      // The helpers in `error` have thrown already (`PendingException`);
      // anything else is thrown here.
      // SAFETY: valid env; `throw_into` skips a pending exception.
      unsafe { JsError::from(err).throw_into(env.raw()) };
      return ptr::null_mut();
    }
  };
  out
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
  op: impl FnOnce(&Env, f64, &mut [u8]) -> Result<Option<u32>>,
) -> sys::napi_value {
  let env = Env::from_raw(env);
  // SAFETY: `env` and `info` are this callback's (the caller's contract).
  let ([handle, buf, offset, length], argc) = unsafe { args_counted::<4>(env.raw(), info) };
  // SAFETY: the arguments are this call's; the slice lives only in this call,
  // during which no JavaScript runs to touch the buffer.
  let result = unsafe {
    number(&env, handle, "handle").and_then(|handle| {
      let buf = typed_array::<u8>(&env, buf, sys::TypedarrayType::uint8_array, "buffer")?;
      let buf = if argc >= 4 {
        let offset = number(&env, offset, "offset")?;
        let length = number(&env, length, "length")?;
        window(&env, buf, offset, length)?
      } else {
        buf
      };
      op(&env, handle, buf)
    })
  };
  // SAFETY: `env` is this callback's.
  unsafe { count_or_null(&env, result) }
}

/// `buf[offset..offset + length]`, or a `RangeError` when that is not inside it.
fn window<'a>(env: &Env, buf: &'a mut [u8], offset: f64, length: f64) -> Result<&'a mut [u8]> {
  let len = buf.len() as f64;
  if !(offset >= 0.0 && offset <= len && offset.fract() == 0.0) {
    return Err(error::range_error(
      env,
      "ERR_OUT_OF_RANGE",
      &format!("offset must be an integer from 0 to {len}, got {offset}"),
    ));
  }
  if !(length >= 0.0 && length <= len - offset && length.fract() == 0.0) {
    return Err(error::range_error(
      env,
      "ERR_OUT_OF_RANGE",
      &format!(
        "length must be an integer from 0 to {}, got {length}",
        len - offset
      ),
    ));
  }
  let start = offset as usize;
  Ok(&mut buf[start..start + length as usize])
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
    return Err(napi::Error::from_reason(format!(
      "cannot create function {name}"
    )));
  }
  // SAFETY: `out` is the function Node-API just created in this env.
  unsafe { Function::from_napi_value(env.raw(), out) }
}

/// The hot-path functions, for the wrapper to keep: `pollPoll`,
/// `streamRead`, `streamWrite`.
#[napi(ts_return_type = "{
  pollPoll(handle: Handle, events: Handle, timeoutMs: number): number
  streamRead(handle: Handle, buf: Uint8Array, offset?: number, length?: number): number | null
  streamWrite(handle: Handle, buf: Uint8Array, offset?: number, length?: number): number | null
}")]
pub fn fast_calls(env: &Env) -> Result<Object<'_>> {
  let mut calls = Object::new(env)?;
  calls.set(
    "pollPoll",
    function(env, "pollPoll", crate::poll::poll_poll)?,
  )?;
  calls.set(
    "streamRead",
    function(env, "streamRead", crate::net::io::stream_read)?,
  )?;
  calls.set(
    "streamWrite",
    function(env, "streamWrite", crate::net::io::stream_write)?,
  )?;
  Ok(calls)
}
