//! `Events` and `Event`: how readiness crosses into JavaScript.
//!
//! JavaScript allocates one `Float64Array` per `Events` (two slots an event:
//! the token, then the readiness bits below) and registers it here once
//! (`eventsRegister`): the binding keeps a reference to it, so a `poll`
//! passes only numbers and fills the array in place. A poll allocates
//! nothing on either side. A token is at most 2^53 - 1 (see `token.rs`),
//! which a double holds exactly.
//!
//! The binding never keeps the array's address: every poll asks Node-API
//! for the array's memory and length again ([`with_storage`]), so an array
//! whose buffer a program detached, transferred or shrank (through the
//! inspector, a replaced global constructor, or the raw binding) is an
//! error at the next poll, never a write into freed memory. A
//! `SharedArrayBuffer` is refused at registration: the poll writes the
//! array while no JavaScript of this thread runs, which only holds for
//! memory no other thread can reach.

use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, JsValue};
use napi_derive::napi;
use std::cell::{Cell, RefCell};

use crate::boundary::{contain, guard};
use crate::error::{Error, Result};
use crate::handle::{Handle, Table, Tag};
use crate::napi_raw;

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

/// A registered `Events` storage: a reference to the `Float64Array`.
struct Storage {
  reference: sys::napi_ref,
  env: sys::napi_env,
}

thread_local! {
  static STORAGE: RefCell<Table<Storage>> = const { RefCell::new(Table::new(Tag::Events)) };
  /// Whether this thread's environment has the hook that deletes the
  /// references still held when it is torn down.
  static HOOKED: Cell<bool> = const { Cell::new(false) };
}

/// Deletes the references of storage that was never released (its `Events`
/// was still alive, or its finalizer had not run) when the environment
/// ends: Node frees its own references then, not those a program created.
unsafe extern "C" fn on_env_teardown(_: *mut std::ffi::c_void) {
  contain("the events teardown hook", || {
    let left = STORAGE.with_borrow_mut(Table::drain);
    for entry in left {
      // SAFETY: cleanup hooks run while the environment can still take
      // Node-API calls; each reference was created in it and is deleted
      // once (the entry left the table).
      unsafe { napi_raw::delete_reference(entry.env, entry.reference) };
    }
    HOOKED.set(false);
  });
}

/// Checks a capacity (in events): 1 to `EVENTS_MAX_CAPACITY`. The one place
/// the rule lives.
pub fn check_capacity(capacity: usize) -> Result<usize> {
  if capacity == 0 || capacity > EVENTS_MAX_CAPACITY as usize {
    return Err(Error::out_of_range(format!(
      "events capacity must be 1 to {EVENTS_MAX_CAPACITY}, got {capacity}"
    )));
  }
  Ok(capacity)
}

/// Registers an `Events` storage: a `Float64Array` over an `ArrayBuffer`
/// (not a `SharedArrayBuffer`), which the binding references until
/// `eventsRelease`.
#[napi(ts_args_type = "storage: Float64Array")]
pub fn events_register(env: Env, storage: Unknown) -> napi::Result<Handle> {
  guard(&env, || {
    let raw = env.raw();
    // SAFETY: `storage` is this call's argument, live in its scope.
    let info = unsafe { napi_raw::typed_array(raw, storage.raw()) }
      .filter(|info| info.kind == sys::TypedarrayType::float64_array)
      .ok_or_else(|| Error::invalid_type("events storage must be a Float64Array"))?;
    // SAFETY: `info.buffer` is the array's buffer, live in this scope.
    if unsafe { napi_raw::is_shared(raw, info.buffer) } {
      return Err(Error::invalid_type(
        "events storage must not be backed by a SharedArrayBuffer",
      ));
    }
    check_capacity(info.length / EVENT_STRIDE as usize)?;
    // SAFETY: as above.
    let reference =
      unsafe { napi_raw::create_reference(raw, storage.raw()) }.ok_or(Error::Pending)?;
    if !HOOKED.get() {
      // SAFETY: a hook with no argument, on this call's env; it runs once,
      // when the environment is torn down.
      HOOKED.set(unsafe { napi_raw::add_cleanup_hook(raw, on_env_teardown, std::ptr::null_mut()) });
    }
    let handle = STORAGE.with_borrow(Table::reserve).inspect_err(|_| {
      // SAFETY: the reference was just created on this env and is deleted
      // once: no entry holds it.
      unsafe { napi_raw::delete_reference(raw, reference) };
    })?;
    STORAGE.with_borrow_mut(|table| {
      table.fill(
        handle,
        Storage {
          reference,
          env: raw,
        },
      )
    });
    Ok(handle)
  })
}

/// Drops the binding's reference to a registered storage.
#[napi]
pub fn events_release(env: Env, handle: Handle) -> napi::Result<bool> {
  guard(&env, || {
    Ok(
      match STORAGE.with_borrow_mut(|table| match table.remove(handle) {
        Some(entry) => Ok(Some(entry)),
        None => table.stale(handle).map(|()| None),
      })? {
        Some(entry) => {
          // SAFETY: the reference was created on this thread's env, which is
          // still alive (the wrapper releases storage from a finalizer or a
          // call), and is deleted once (the entry left the table).
          unsafe { napi_raw::delete_reference(entry.env, entry.reference) };
          true
        }
        None => false,
      },
    )
  })
}

/// Runs `f` on a registered storage's elements, as they are now.
///
/// The elements are looked up on every call (see the module docs): `f` gets
/// the array's current memory, and an array that lost its memory is a
/// `TypeError`. `f` must not run JavaScript, which nothing in a poll does.
pub fn with_storage<R>(
  env: sys::napi_env,
  handle: Handle,
  f: impl FnOnce(&mut [f64]) -> Result<R>,
) -> Result<R> {
  let reference = STORAGE.with_borrow(|table| match table.get(handle) {
    Some(entry) => Ok(entry.reference),
    None => Err(
      table
        .stale(handle)
        .err()
        .unwrap_or_else(|| Error::invalid_type("unknown events storage")),
    ),
  })?;
  // SAFETY: the reference is live (its entry is in the table) and this is a
  // Node-API call of this env, whose handle scope is open.
  let array = unsafe { napi_raw::reference_value(env, reference) }
    .ok_or_else(|| Error::invalid_type("unknown events storage"))?;
  // SAFETY: `array` is live in this scope, and a Float64Array (checked at
  // registration; the reference holds that same object).
  let (data, length) = unsafe { napi_raw::typed_array_memory(env, array) }
    .filter(|&(data, length)| length >= EVENT_STRIDE as usize && data.cast::<f64>().is_aligned())
    .ok_or_else(|| {
      Error::invalid_arg(
        "the events storage lost its memory (its buffer was detached, transferred or shrunk)",
      )
    })?;
  // SAFETY: Node-API reports `length` f64 elements at `data` (aligned,
  // checked above) now; the buffer is a plain ArrayBuffer (checked at
  // registration, and a view's buffer never changes), so only this thread
  // reaches it, and no JavaScript runs until `f` returns: nothing can
  // detach, shrink or read it meanwhile.
  f(unsafe { std::slice::from_raw_parts_mut(data.cast::<f64>(), length) })
}
