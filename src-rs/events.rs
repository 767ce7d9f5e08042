//! `Events` and `Event`: how readiness crosses into JavaScript.
//!
//! JavaScript allocates one `Float64Array` per `Events` (two slots an event:
//! the token, then the readiness bits below) and registers it here once
//! (`eventsRegister`): the binding keeps a reference to it and its memory's
//! address, so a `poll` passes only numbers and fills the array in place. A
//! poll allocates nothing on either side, and skips the typed-array lookup
//! Node-API would otherwise do on every call. A token is at most 2^53 - 1 (see
//! `token.rs`), which a double holds exactly.

use std::cell::RefCell;
use std::ptr;

use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, JsValue};
use napi_derive::napi;

use crate::error::{self, Result};
use crate::fast_call;
use crate::handle::{Handle, Table};

#[napi]
pub const EVENT_READABLE: u32 = 1;
#[napi]
pub const EVENT_WRITABLE: u32 = 2;
#[napi]
pub const EVENT_ERROR: u32 = 4;
#[napi]
pub const EVENT_READ_CLOSED: u32 = 8;
#[napi]
pub const EVENT_WRITE_CLOSED: u32 = 16;
#[napi]
pub const EVENT_PRIORITY: u32 = 32;
#[napi]
pub const EVENT_AIO: u32 = 64;
#[napi]
pub const EVENT_LIO: u32 = 128;
/// Slots per event in the `Float64Array`.
#[napi]
pub const EVENT_STRIDE: u32 = 2;
/// The largest `Events` capacity the binding accepts.
#[napi]
pub const EVENTS_MAX_CAPACITY: u32 = 1 << 20;

/// The readiness bits of one mio event.
pub fn bits(event: &mio::event::Event) -> u32 {
  let mut bits = 0;
  if event.is_readable() {
    bits |= EVENT_READABLE;
  }
  if event.is_writable() {
    bits |= EVENT_WRITABLE;
  }
  if event.is_error() {
    bits |= EVENT_ERROR;
  }
  if event.is_read_closed() {
    bits |= EVENT_READ_CLOSED;
  }
  if event.is_write_closed() {
    bits |= EVENT_WRITE_CLOSED;
  }
  if event.is_priority() {
    bits |= EVENT_PRIORITY;
  }
  if event.is_aio() {
    bits |= EVENT_AIO;
  }
  if event.is_lio() {
    bits |= EVENT_LIO;
  }
  bits
}

/// Copies a batch into the JavaScript array; returns how many were written.
pub fn fill(events: &mio::Events, out: &mut [f64]) -> u32 {
  let mut written = 0;
  for (event, slot) in events
    .iter()
    .zip(out.chunks_exact_mut(EVENT_STRIDE as usize))
  {
    slot[0] = crate::token::to_js(event.token());
    slot[1] = f64::from(bits(event));
    written += 1;
  }
  written
}

/// A registered `Events` storage: a `Float64Array` the binding holds on to.
struct Storage {
  data: *mut f64,
  len: usize,
  /// Keeps the array (and so `data`) alive until `eventsRelease`.
  reference: sys::napi_ref,
  env: sys::napi_env,
}

thread_local! {
  static STORAGE: RefCell<Table<Storage>> = const { RefCell::new(Table::new()) };
}

/// Registers an `Events` storage: a `Float64Array` over its own
/// `ArrayBuffer`, which the binding references until `eventsRelease`.
#[napi(ts_args_type = "storage: Float64Array")]
pub fn events_register(env: Env, storage: Unknown) -> Result<Handle> {
  // SAFETY: `storage` is this call's argument; the slice is not kept, only
  // its address, which stays valid while the reference below holds the array
  // (an `ArrayBuffer`'s memory does not move).
  let slice = unsafe {
    fast_call::typed_array::<f64>(
      &env,
      storage.raw(),
      sys::TypedarrayType::float64_array,
      "storage",
    )
  }?;
  let capacity = slice.len() / EVENT_STRIDE as usize;
  if capacity == 0 || capacity > EVENTS_MAX_CAPACITY as usize {
    return Err(error::range_error(
      &env,
      "ERR_OUT_OF_RANGE",
      "events storage must hold 1 to 2^20 events",
    ));
  }
  let mut reference = ptr::null_mut();
  // SAFETY: a plain Node-API call on this thread with a valid out-pointer.
  let status = unsafe { sys::napi_create_reference(env.raw(), storage.raw(), 1, &mut reference) };
  if status != sys::Status::napi_ok {
    return Err(napi::Error::from_reason(
      "cannot reference the events storage",
    ));
  }
  let entry = Storage {
    data: slice.as_mut_ptr(),
    len: slice.len(),
    reference,
    env: env.raw(),
  };
  Ok(STORAGE.with_borrow_mut(|storage| storage.insert(entry)))
}

/// Drops the binding's reference to a registered storage.
#[napi]
pub fn events_release(handle: Handle) -> bool {
  match STORAGE.with_borrow_mut(|storage| storage.remove(handle)) {
    Some(entry) => {
      // SAFETY: the reference was created on this thread's env, still alive
      // (the wrapper releases storage from a finalizer or `close`).
      unsafe { sys::napi_delete_reference(entry.env, entry.reference) };
      true
    }
    None => false,
  }
}

/// Runs `f` on a registered storage's elements.
pub fn with_storage<R>(
  env: &Env,
  handle: Handle,
  f: impl FnOnce(&mut [f64]) -> Result<R>,
) -> Result<R> {
  let (data, len) = STORAGE
    .with_borrow(|storage| storage.get(handle).map(|entry| (entry.data, entry.len)))
    .ok_or_else(|| error::type_error(env, "ERR_INVALID_ARG_TYPE", "unknown events storage"))?;
  // SAFETY: the storage is registered, so its array is referenced and its
  // memory (an ArrayBuffer's) valid at `data` for `len` elements. The
  // binding's calls are synchronous on the JS thread, so no JavaScript reads
  // or writes the array while this slice lives, and it does not outlive `f`.
  f(unsafe { std::slice::from_raw_parts_mut(data, len) })
}
