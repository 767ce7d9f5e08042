//! Raw Node-API, behind a few small functions.
//!
//! napi-rs covers most of the binding. What is left is the hot path (plain
//! callbacks, see `fast_call.rs`), errors built without running JavaScript
//! (`error.rs`), and JavaScript memory handed to system calls. Every raw
//! `napi_*` call of the crate that is not in the libuv watch lives here, and
//! every status is checked.
//!
//! # JavaScript memory
//! A pointer into a `Uint8Array` is valid only until JavaScript next runs:
//! any JavaScript (a getter, a Proxy trap, `valueOf`, a setter on
//! `Error.prototype`) can detach, transfer or shrink the buffer and let the
//! collector free it. So a call reads every argument that may run JavaScript
//! first and takes pointers last ([`bytes`]), and the pointers go straight to
//! a system call as a raw address and length ([`JsBytes`]), never as a Rust
//! slice: the memory may be a `SharedArrayBuffer` that another thread writes
//! meanwhile.

use std::ffi::{c_void, CStr};
use std::marker::PhantomData;
use std::ptr;

use napi::sys;

use crate::error::{Class, Error, Result};

type Env = sys::napi_env;
type Value = sys::napi_value;

fn ok(status: sys::napi_status) -> Option<()> {
  (status == sys::Status::napi_ok).then_some(())
}

/// Whether a JavaScript exception is pending in `env` (or `env` cannot say,
/// being torn down: then nothing should be thrown either).
pub fn exception_pending(env: Env) -> bool {
  let mut pending = false;
  // SAFETY: `env` is the running call's environment; `pending` is a valid
  // out-pointer.
  let status = unsafe { sys::napi_is_exception_pending(env, &mut pending) };
  status != sys::Status::napi_ok || pending
}

/// Throws `value`.
pub fn throw(env: Env, value: Value) {
  // SAFETY: `value` was created in this call's scope. A failed throw leaves
  // nothing to clean up.
  unsafe { sys::napi_throw(env, value) };
}

/// A JavaScript string.
pub fn string(env: Env, text: &str) -> Option<Value> {
  let mut out = ptr::null_mut();
  // SAFETY: `text` is valid UTF-8 of the given length; `out` is valid.
  ok(unsafe {
    sys::napi_create_string_utf8(env, text.as_ptr().cast(), text.len() as isize, &mut out)
  })?;
  Some(out)
}

/// A JavaScript number.
pub fn number(env: Env, value: f64) -> Option<Value> {
  let mut out = ptr::null_mut();
  // SAFETY: `out` is a valid out-pointer.
  ok(unsafe { sys::napi_create_double(env, value, &mut out) })?;
  Some(out)
}

/// A JavaScript number from a `u32`.
pub fn uint32(env: Env, value: u32) -> Option<Value> {
  let mut out = ptr::null_mut();
  // SAFETY: `out` is a valid out-pointer.
  ok(unsafe { sys::napi_create_uint32(env, value, &mut out) })?;
  Some(out)
}

/// `null`.
pub fn null(env: Env) -> Option<Value> {
  let mut out = ptr::null_mut();
  // SAFETY: `out` is a valid out-pointer.
  ok(unsafe { sys::napi_get_null(env, &mut out) })?;
  Some(out)
}

/// A new `Error`, `TypeError` or `RangeError` with `message` and no other
/// property. Creating an error runs no JavaScript (the stack is formatted
/// only when read).
pub fn create_error(env: Env, class: Class, message: &str) -> Option<Value> {
  let message = string(env, message)?;
  let mut out = ptr::null_mut();
  // SAFETY: `message` is a string of this scope; no code is passed (Node-API
  // would assign it, running any setter on the prototype).
  let status = unsafe {
    match class {
      Class::Error => sys::napi_create_error(env, ptr::null_mut(), message, &mut out),
      Class::TypeError => sys::napi_create_type_error(env, ptr::null_mut(), message, &mut out),
      Class::RangeError => sys::napi_create_range_error(env, ptr::null_mut(), message, &mut out),
    }
  };
  ok(status)?;
  Some(out)
}

/// Defines `object[name] = value` as an own, writable, enumerable,
/// configurable data property. Defining runs no setter, unlike assigning.
fn define(env: Env, object: Value, name: &CStr, value: Value) -> Option<()> {
  let descriptor = sys::napi_property_descriptor {
    utf8name: name.as_ptr(),
    name: ptr::null_mut(),
    method: None,
    getter: None,
    setter: None,
    value,
    attributes: sys::PropertyAttributes::writable
      | sys::PropertyAttributes::enumerable
      | sys::PropertyAttributes::configurable,
    data: ptr::null_mut(),
  };
  // SAFETY: one valid descriptor; `object` and `value` belong to this scope.
  ok(unsafe { sys::napi_define_properties(env, object, 1, &descriptor) })
}

/// [`define`] with a string value.
pub fn define_str(env: Env, object: Value, name: &CStr, value: &str) -> Option<()> {
  define(env, object, name, string(env, value)?)
}

/// [`define`] with a number value.
pub fn define_number(env: Env, object: Value, name: &CStr, value: f64) -> Option<()> {
  define(env, object, name, number(env, value)?)
}

/// Whether the environment can no longer run JavaScript: it is being torn
/// down (`worker.terminate()`, process exit). Node-API calls that may run
/// JavaScript then fail up front, and coercing `undefined` is the cheapest.
pub fn env_stopping(env: Env) -> bool {
  let mut undefined = ptr::null_mut();
  let mut coerced = ptr::null_mut();
  // SAFETY: plain Node-API calls on this thread's env with valid
  // out-pointers; coercing `undefined` runs no JavaScript.
  unsafe {
    sys::napi_get_undefined(env, &mut undefined) != sys::Status::napi_ok
      || sys::napi_coerce_to_bool(env, undefined, &mut coerced) != sys::Status::napi_ok
  }
}

/// The call's first `N` arguments (`undefined` for missing ones) and how
/// many were passed.
///
/// # Safety
/// `env` and `info` must be the ones Node-API passed to the running callback.
pub unsafe fn args<const N: usize>(env: Env, info: sys::napi_callback_info) -> ([Value; N], usize) {
  let mut argv = [ptr::null_mut(); N];
  let mut argc = N;
  // SAFETY: `argv` has room for `argc` values, as Node-API requires; missing
  // arguments are filled with `undefined`. The status only fails for a bad
  // `env`/`info`, which the caller's contract excludes.
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

/// A number argument, without coercion (no `valueOf` runs), or a `TypeError`.
///
/// # Safety
/// `value` must be a live value of `env`'s current scope.
pub unsafe fn get_number(env: Env, value: Value, name: &str) -> Result<f64> {
  let mut out = 0.0;
  // SAFETY: the caller's contract; `out` is a valid f64.
  match unsafe { sys::napi_get_value_double(env, value, &mut out) } {
    sys::Status::napi_ok => Ok(out),
    _ => Err(Error::invalid_type(format!("{name} must be a number"))),
  }
}

/// Whether `value` is an integer from 0 to `max` (at most 2^53). Without
/// `f64::fract`, a library call (`trunc`) on baseline x86-64, and through
/// `i64`, which converts each way in about one instruction where `u64` takes
/// some thirty (callgrind): this runs for every field of every datagram of a
/// batch.
#[inline]
pub fn whole_in(value: f64, max: f64) -> bool {
  value >= 0.0 && value <= max && (value as i64) as f64 == value
}

/// An integer argument from 0 to `max`, without coercion: a `TypeError` for
/// a non-number, a `RangeError` for anything else outside the range.
///
/// # Safety
/// `value` must be a live value of `env`'s current scope.
pub unsafe fn get_index(env: Env, value: Value, name: &str, max: f64) -> Result<f64> {
  // SAFETY: the caller's contract.
  let number = unsafe { get_number(env, value, name) }?;
  if whole_in(number, max) {
    Ok(number)
  } else {
    Err(Error::out_of_range(format!(
      "{name} must be an integer from 0 to {max}, got {number}"
    )))
  }
}

/// A string argument copied into `room` (no allocation, no coercion): its
/// text, `Ok(None)` when it does not fit in `room` less one byte, or a
/// `TypeError` naming `name` for a non-string.
///
/// # Safety
/// `value` must be a live value of `env`'s current scope.
pub unsafe fn get_short_str<'room>(
  env: Env,
  value: Value,
  name: &str,
  room: &'room mut [u8],
) -> Result<Option<&'room str>> {
  let mut written = 0;
  // SAFETY: the caller's contract; `room` has `room.len()` writable bytes,
  // of which Node-API writes at most `room.len() - 1` and a NUL.
  let status = unsafe {
    sys::napi_get_value_string_utf8(
      env,
      value,
      room.as_mut_ptr().cast(),
      room.len(),
      &mut written,
    )
  };
  if status != sys::Status::napi_ok {
    return Err(Error::invalid_type(format!("{name} must be a string")));
  }
  if written + 1 >= room.len() {
    return Ok(None);
  }
  // Node-API writes whole UTF-8 characters only.
  Ok(std::str::from_utf8(&room[..written]).ok())
}

/// What `napi_get_typedarray_info` reports of a typed array.
pub struct TypedArray {
  pub kind: sys::napi_typedarray_type,
  /// The first element; null or dangling when `length` is 0 (detached,
  /// empty, or a view outside a shrunk resizable buffer).
  pub data: *mut c_void,
  /// Elements, as of now.
  pub length: usize,
  /// The `ArrayBuffer` or `SharedArrayBuffer` behind the view.
  pub buffer: Value,
}

/// The typed array `value` is, if it is one. Runs no JavaScript.
///
/// # Safety
/// `value` must be a live value of `env`'s current scope.
pub unsafe fn typed_array(env: Env, value: Value) -> Option<TypedArray> {
  let mut out = TypedArray {
    kind: -1,
    data: ptr::null_mut(),
    length: 0,
    buffer: ptr::null_mut(),
  };
  // SAFETY: the caller's contract; every out-pointer is valid or null.
  ok(unsafe {
    sys::napi_get_typedarray_info(
      env,
      value,
      &mut out.kind,
      &mut out.length,
      &mut out.data,
      &mut out.buffer,
      ptr::null_mut(),
    )
  })?;
  if out.data.is_null() {
    out.length = 0;
  }
  Some(out)
}

/// A typed array's memory as it is now: its element count and data address
/// (count 0 when its buffer was detached or shrunk away). Asks Node-API for
/// nothing else, so it is the cheap form of [`typed_array`] for a value whose
/// kind was checked once before. Runs no JavaScript.
///
/// # Safety
/// `value` must be a live typed array of `env`'s current scope.
pub unsafe fn typed_array_memory(env: Env, value: Value) -> Option<(*mut c_void, usize)> {
  let mut data = ptr::null_mut();
  let mut length = 0;
  // SAFETY: the caller's contract; the out-pointers are valid or null (no
  // kind, no buffer handle, no offset: Node-API skips computing them).
  ok(unsafe {
    sys::napi_get_typedarray_info(
      env,
      value,
      ptr::null_mut(),
      &mut length,
      &mut data,
      ptr::null_mut(),
      ptr::null_mut(),
    )
  })?;
  Some(if data.is_null() {
    (data, 0)
  } else {
    (data, length)
  })
}

/// The memory of `value` if it is an `ArrayBuffer` (never a
/// `SharedArrayBuffer`): its address and current length in bytes (0 when
/// detached). Two cheap Node-API calls, where a `Float64Array` costs a walk
/// through the typed array kinds and a call for what backs it. Runs no
/// JavaScript.
///
/// # Safety
/// `value` must be a live value of `env`'s current scope.
pub unsafe fn array_buffer(env: Env, value: Value) -> Option<(*mut c_void, usize)> {
  // `napi_get_arraybuffer_info` alone is not enough: some Node versions
  // (22.23.5, for one) give it a `SharedArrayBuffer`'s memory too, which
  // other threads may write at any time. `napi_is_arraybuffer` is true for an
  // `ArrayBuffer` only, on every version.
  // SAFETY: the caller's contract.
  if unsafe { is_shared(env, value) } {
    return None;
  }
  let mut data = ptr::null_mut();
  let mut length = 0;
  // SAFETY: the caller's contract; the out-pointers are valid. Node-API
  // refuses anything but an array buffer (`napi_invalid_arg`).
  ok(unsafe { sys::napi_get_arraybuffer_info(env, value, &mut data, &mut length) })?;
  Some(if data.is_null() {
    (data, 0)
  } else {
    (data, length)
  })
}

/// Whether `buffer` (a typed array's) is a `SharedArrayBuffer`, memory other
/// threads may write at any time, or anything else but an `ArrayBuffer`.
///
/// # Safety
/// `buffer` must be a live value of `env`'s current scope.
pub unsafe fn is_shared(env: Env, buffer: Value) -> bool {
  let mut plain = false;
  // SAFETY: the caller's contract. `napi_is_arraybuffer` is false for a
  // `SharedArrayBuffer`.
  let status = unsafe { sys::napi_is_arraybuffer(env, buffer, &mut plain) };
  status != sys::Status::napi_ok || !plain
}

/// A window of a JavaScript `Uint8Array`'s memory, as an address and a
/// length: never a Rust slice (see the module docs).
///
/// It is valid only until JavaScript next runs in this environment, which
/// nothing in Rust's types can express: take it with [`bytes`] after every
/// argument that may run JavaScript has been read, use it within the call,
/// and never keep it.
#[derive(Clone, Copy)]
pub struct JsBytes<'call> {
  ptr: *mut u8,
  len: usize,
  /// Whether other threads may write it (Windows needs to know, see
  /// `with_slice_mut`).
  #[cfg(windows)]
  shared: bool,
  _call: PhantomData<&'call mut [u8]>,
}

impl JsBytes<'_> {
  /// No bytes.
  pub const EMPTY: JsBytes<'static> = JsBytes {
    ptr: ptr::null_mut(),
    len: 0,
    #[cfg(windows)]
    shared: false,
    _call: PhantomData,
  };

  pub fn len(&self) -> usize {
    self.len
  }

  pub fn is_empty(&self) -> bool {
    self.len == 0
  }

  pub fn as_ptr(&self) -> *const u8 {
    self.ptr
  }

  pub fn as_mut_ptr(&self) -> *mut u8 {
    self.ptr
  }

  /// The first `max` bytes at most.
  pub fn prefix(self, max: usize) -> Self {
    JsBytes {
      len: self.len.min(max),
      ..self
    }
  }

  /// `self[offset..offset + length]`, or a `RangeError` when that is not
  /// inside it. `offset` and `length` come from JavaScript as numbers.
  pub fn window(self, offset: f64, length: f64) -> Result<Self> {
    let len = self.len as f64;
    if !whole_in(offset, len) {
      return Err(Error::out_of_range(format!(
        "offset must be an integer from 0 to {len}, got {offset}"
      )));
    }
    if !whole_in(length, len - offset) {
      return Err(Error::out_of_range(format!(
        "length must be an integer from 0 to {}, got {length}",
        len - offset
      )));
    }
    let start = offset as usize;
    Ok(JsBytes {
      // SAFETY: `start <= len`, so the result stays inside the view (or one
      // past its end when `length` is 0).
      ptr: unsafe { self.ptr.add(start) },
      len: length as usize,
      ..self
    })
  }

  /// Runs `f` to fill the bytes through a Rust slice, for the few calls
  /// that take one (mio's `NamedPipe` copies through its own buffers); `f`
  /// returns how many bytes it filled. Memory other threads may write is
  /// filled through a private buffer with atomic byte stores, so no slice
  /// ever claims it.
  #[cfg(windows)]
  pub fn fill_with(
    &self,
    f: impl FnOnce(&mut [u8]) -> std::io::Result<usize>,
  ) -> std::io::Result<usize> {
    if !self.shared {
      // SAFETY: a plain ArrayBuffer is only reachable from this thread, and
      // no JavaScript runs while the slice lives (see the type's docs).
      return f(unsafe { self.slice_mut() });
    }
    let mut private = vec![0u8; self.len];
    let filled = f(&mut private)?;
    for (i, byte) in private.iter().take(filled).enumerate() {
      self
        .atomic(i)
        .store(*byte, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(filled)
  }

  /// Runs `f` on the bytes as a Rust slice to send them (see `fill_with`).
  #[cfg(windows)]
  pub fn send_with(
    &self,
    f: impl FnOnce(&[u8]) -> std::io::Result<usize>,
  ) -> std::io::Result<usize> {
    if !self.shared {
      // SAFETY: as in `fill_with`.
      return f(unsafe { self.slice_mut() });
    }
    let private: Vec<u8> = (0..self.len)
      .map(|i| self.atomic(i).load(std::sync::atomic::Ordering::Relaxed))
      .collect();
    f(&private)
  }

  /// # Safety
  /// The memory must not be shared with other threads, and no JavaScript may
  /// run while the slice lives.
  #[cfg(windows)]
  // The bytes are JavaScript's, not `self`'s: `JsBytes` is a view that never
  // owns or borrows them through `&self`, so `&self -> &mut` hands out no
  // alias of anything `self` holds; the caller's contract above is what
  // makes the slice exclusive.
  #[allow(clippy::mut_from_ref)]
  unsafe fn slice_mut(&self) -> &mut [u8] {
    if self.len == 0 {
      return &mut [];
    }
    // SAFETY: `len` bytes at `ptr` belong to the view (see `bytes`); the
    // caller's contract gives exclusive access.
    unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
  }

  #[cfg(windows)]
  fn atomic(&self, i: usize) -> &std::sync::atomic::AtomicU8 {
    // SAFETY: `i < len`; a byte is always aligned for `AtomicU8`, and Rust
    // touches this shared memory only atomically.
    unsafe { std::sync::atomic::AtomicU8::from_ptr(self.ptr.add(i)) }
  }
}

/// The bytes of a `Uint8Array` (or `Buffer`), or `None` for anything else.
/// Runs no JavaScript; see [`JsBytes`] for how long the result is valid.
///
/// # Safety
/// `value` must be a live value of `env`'s current scope.
pub unsafe fn bytes<'call>(env: Env, value: Value) -> Option<JsBytes<'call>> {
  // SAFETY: the caller's contract.
  let info = unsafe { typed_array(env, value) }?;
  if info.kind != sys::TypedarrayType::uint8_array {
    return None;
  }
  Some(JsBytes {
    ptr: info.data.cast(),
    len: info.length,
    // SAFETY: `info.buffer` is the view's buffer, live in this scope.
    #[cfg(windows)]
    shared: unsafe { is_shared(env, info.buffer) },
    _call: PhantomData,
  })
}

/// A copy of a `Uint8Array`'s bytes (for names and other small values that
/// outlive a system call), or `None` for anything else. Memory other threads
/// may write is read with atomic byte loads. Runs no JavaScript.
///
/// # Safety
/// `value` must be a live value of `env`'s current scope.
#[cfg(unix)] // used by Unix-only code (Unix sockets, the uv watch)
pub unsafe fn copy_bytes(env: Env, value: Value) -> Option<Vec<u8>> {
  use std::sync::atomic::{AtomicU8, Ordering};
  // SAFETY: the caller's contract.
  let info = unsafe { typed_array(env, value) }?;
  if info.kind != sys::TypedarrayType::uint8_array {
    return None;
  }
  let data = info.data.cast::<u8>();
  // SAFETY: `info.buffer` is the view's buffer, live in this scope.
  if unsafe { is_shared(env, info.buffer) } {
    Some(
      (0..info.length)
        // SAFETY: `i < length` bytes of the view; a byte is always aligned
        // for `AtomicU8`, and Rust reads this shared memory only atomically.
        .map(|i| unsafe { AtomicU8::from_ptr(data.add(i)) }.load(Ordering::Relaxed))
        .collect(),
    )
  } else if info.length == 0 {
    Some(Vec::new())
  } else {
    // SAFETY: `length` bytes at `data` belong to a plain ArrayBuffer that
    // only this thread reaches, and no JavaScript runs during the copy.
    Some(unsafe { std::slice::from_raw_parts(data, info.length) }.to_vec())
  }
}

/// Up to `N` elements of a JavaScript array argument, as values.
///
/// Reading an element may run JavaScript (an index getter, an accessor on
/// `Array.prototype` for a hole), so call this before taking any pointer,
/// then turn the values into pointers with [`bytes`].
///
/// # Safety
/// `value` must be a live value of `env`'s current scope.
pub unsafe fn array_values<const N: usize>(
  env: Env,
  value: Value,
  name: &str,
) -> Result<([Value; N], usize)> {
  let mut is_array = false;
  // SAFETY: the caller's contract; valid out-pointer.
  let status = unsafe { sys::napi_is_array(env, value, &mut is_array) };
  if status != sys::Status::napi_ok || !is_array {
    return Err(Error::invalid_type(format!("{name} must be an array")));
  }
  let mut length = 0u32;
  // SAFETY: `value` is an array; valid out-pointer.
  ok(unsafe { sys::napi_get_array_length(env, value, &mut length) }).ok_or(Error::Pending)?;
  let count = (length as usize).min(N);
  let mut values = [ptr::null_mut(); N];
  for (index, slot) in values.iter_mut().enumerate().take(count) {
    // SAFETY: `value` is an array; `slot` is a valid out-pointer. A getter
    // that throws leaves the exception pending.
    ok(unsafe { sys::napi_get_element(env, value, index as u32, slot) }).ok_or(Error::Pending)?;
  }
  Ok((values, count))
}

/// A strong reference to `value`, keeping it alive until [`delete_reference`].
///
/// # Safety
/// `value` must be a live value of `env`'s current scope.
pub unsafe fn create_reference(env: Env, value: Value) -> Option<sys::napi_ref> {
  let mut out = ptr::null_mut();
  // SAFETY: the caller's contract; valid out-pointer.
  ok(unsafe { sys::napi_create_reference(env, value, 1, &mut out) })?;
  Some(out)
}

/// The value a reference holds, in the current scope.
///
/// # Safety
/// `reference` must be a live reference created in `env`, and a handle scope
/// must be open (any Node-API call's own, or one opened by the caller).
pub unsafe fn reference_value(env: Env, reference: sys::napi_ref) -> Option<Value> {
  let mut out = ptr::null_mut();
  // SAFETY: the caller's contract; valid out-pointer.
  ok(unsafe { sys::napi_get_reference_value(env, reference, &mut out) })?;
  (!out.is_null()).then_some(out)
}

/// Deletes a reference.
///
/// # Safety
/// `reference` must be a live reference created in `env`, deleted once.
pub unsafe fn delete_reference(env: Env, reference: sys::napi_ref) {
  // SAFETY: the caller's contract. A failure (the environment is going away)
  // leaves Node to free the reference with the environment.
  unsafe { sys::napi_delete_reference(env, reference) };
}

/// A handle scope, closed when dropped: for callbacks that come from libuv,
/// outside any Node-API call.
#[cfg(unix)] // used by Unix-only code (Unix sockets, the uv watch)
pub struct HandleScope {
  env: Env,
  scope: sys::napi_handle_scope,
}

#[cfg(unix)] // used by Unix-only code (Unix sockets, the uv watch)
impl HandleScope {
  /// Opens a scope; `None` when the environment cannot run JavaScript.
  ///
  /// # Safety
  /// `env` must be a live environment of the current thread, and the scope
  /// must be dropped before control returns to libuv.
  pub unsafe fn open(env: Env) -> Option<HandleScope> {
    let mut scope = ptr::null_mut();
    // SAFETY: the caller's contract; valid out-pointer.
    ok(unsafe { sys::napi_open_handle_scope(env, &mut scope) })?;
    Some(HandleScope { env, scope })
  }
}

#[cfg(unix)] // used by Unix-only code (Unix sockets, the uv watch)
impl Drop for HandleScope {
  fn drop(&mut self) {
    // SAFETY: the scope was opened on this env and is closed once.
    unsafe { sys::napi_close_handle_scope(self.env, self.scope) };
  }
}

/// An async context, so a callback from libuv runs like any event-loop
/// callback (async hooks, microtasks and `process.nextTick` after it).
#[cfg(unix)] // used by Unix-only code (Unix sockets, the uv watch)
pub struct AsyncContext {
  env: Env,
  context: sys::napi_async_context,
}

#[cfg(unix)] // used by Unix-only code (Unix sockets, the uv watch)
impl AsyncContext {
  /// A context named `name`. This runs JavaScript (async hooks' `init`), so
  /// create it before checking state the hooks could change.
  pub fn new(env: Env, name: &str) -> Result<AsyncContext> {
    let name = string(env, name).ok_or(Error::Pending)?;
    let mut resource = ptr::null_mut();
    // SAFETY: valid out-pointer.
    ok(unsafe { sys::napi_create_object(env, &mut resource) }).ok_or(Error::Pending)?;
    let mut context = ptr::null_mut();
    // SAFETY: `resource` and `name` belong to this scope; valid out-pointer.
    ok(unsafe { sys::napi_async_init(env, resource, name, &mut context) }).ok_or(Error::Pending)?;
    Ok(AsyncContext { env, context })
  }

  /// Calls `function` with no arguments and `globalThis` as `this`. An
  /// exception it throws becomes an uncaught exception, as from any
  /// event-loop callback.
  ///
  /// # Safety
  /// A handle scope must be open on the context's env, on its thread, outside
  /// any other Node-API call; `function` must be live in that scope.
  pub unsafe fn call(&self, function: Value) {
    let env = self.env;
    let mut receiver = ptr::null_mut();
    // SAFETY: the caller's contract; valid out-pointers.
    unsafe {
      if sys::napi_get_global(env, &mut receiver) != sys::Status::napi_ok {
        return;
      }
      let mut result = ptr::null_mut();
      let status = sys::napi_make_callback(
        env,
        self.context,
        receiver,
        function,
        0,
        ptr::null(),
        &mut result,
      );
      if status == sys::Status::napi_pending_exception {
        let mut exception = ptr::null_mut();
        if sys::napi_get_and_clear_last_exception(env, &mut exception) == sys::Status::napi_ok {
          sys::napi_fatal_exception(env, exception);
        }
      }
    }
  }
}

#[cfg(unix)] // used by Unix-only code (Unix sockets, the uv watch)
impl Drop for AsyncContext {
  fn drop(&mut self) {
    // SAFETY: the context was created on this env and is destroyed once. A
    // failure means the environment is gone, and the context with it.
    unsafe { sys::napi_async_destroy(self.env, self.context) };
  }
}

/// Reports `err` as an uncaught exception (`process.on('uncaughtException')`),
/// for errors in callbacks nothing else can return them to.
///
/// # Safety
/// A handle scope must be open on `env`, on its thread.
#[cfg(unix)] // used by Unix-only code (Unix sockets, the uv watch)
pub unsafe fn raise_uncaught(env: Env, err: &Error) {
  if let Some(object) = crate::error::to_js(env, err) {
    // SAFETY: the caller's contract; `object` belongs to the open scope.
    unsafe { sys::napi_fatal_exception(env, object) };
  }
}

/// `ref()`/`unref()` of a threadsafe function: whether it keeps the event
/// loop alive.
///
/// # Safety
/// `function` must be a live threadsafe function created on `env`, and this
/// must be `env`'s thread.
pub unsafe fn ref_threadsafe_function(
  env: Env,
  function: sys::napi_threadsafe_function,
  keep_alive: bool,
) -> Result<()> {
  // SAFETY: the caller's contract.
  let status = unsafe {
    if keep_alive {
      sys::napi_ref_threadsafe_function(env, function)
    } else {
      sys::napi_unref_threadsafe_function(env, function)
    }
  };
  ok(status).ok_or(Error::Pending)
}

/// A cleanup hook `hook(arg)` that Node runs when `env` is torn down.
pub type CleanupHook = unsafe extern "C" fn(arg: *mut c_void);

/// Adds an environment cleanup hook; `false` if Node refused it.
///
/// # Safety
/// `arg` must stay valid for `hook` until [`remove_cleanup_hook`] with the
/// same pair, or until the hook ran.
pub unsafe fn add_cleanup_hook(env: Env, hook: CleanupHook, arg: *mut c_void) -> bool {
  // SAFETY: the caller's contract.
  ok(unsafe { sys::napi_add_env_cleanup_hook(env, Some(hook), arg) }).is_some()
}

/// Removes a hook [`add_cleanup_hook`] added.
///
/// # Safety
/// The pair must have been added on `env`, and not yet removed.
pub unsafe fn remove_cleanup_hook(env: Env, hook: CleanupHook, arg: *mut c_void) {
  // SAFETY: the caller's contract. A failure means the hook is gone already.
  unsafe { sys::napi_remove_env_cleanup_hook(env, Some(hook), arg) };
}
