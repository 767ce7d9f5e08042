//! `Waker`: wake a `Poll` from elsewhere.
//!
//! mio allows a single `Waker` per `Poll` (debug builds panic on a second
//! one, even after the first is dropped). The binding checks first and
//! throws `EEXIST` instead, for the `Poll`'s whole life.
//!
//! A waker can be shared with other threads (workers): `waker_share` gives
//! it a process-wide id that any thread can wake through, for as long as the
//! waker is open.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use napi::Env;
use napi_derive::napi;

use crate::error::{self, Result};
use crate::handle::{Handle, Table};
use crate::{registry, token};

struct WakerEntry {
  waker: Arc<mio::Waker>,
  /// The process-wide id, once shared.
  shared: Option<u32>,
}

impl Drop for WakerEntry {
  fn drop(&mut self) {
    if let Some(id) = self.shared {
      if let Ok(mut shared) = shared().lock() {
        shared.remove(&id);
      }
    }
  }
}

thread_local! {
  static WAKERS: RefCell<Table<WakerEntry>> = const { RefCell::new(Table::new()) };
}

/// Shared wakers, by id, for every thread of the process.
fn shared() -> &'static Mutex<HashMap<u32, Weak<mio::Waker>>> {
  static SHARED: OnceLock<Mutex<HashMap<u32, Weak<mio::Waker>>>> = OnceLock::new();
  SHARED.get_or_init(Default::default)
}

/// `Waker::new(registry, token)`.
#[napi]
pub fn waker_new(env: Env, registry: Handle, token: f64) -> Result<Handle> {
  let token = token::from_js(&env, token)?;
  let waker = registry::with(&env, registry, |registry, core| {
    if core.has_waker.get() {
      return Err(error::system_kind(
        &env,
        io::ErrorKind::AlreadyExists,
        "waker",
        "this Poll already has a Waker (mio allows one per Poll): share that one",
      ));
    }
    let waker =
      mio::Waker::new(registry, token).map_err(|e| error::system(&env, &e, "waker", None))?;
    core.has_waker.set(true);
    Ok(waker)
  })?;
  Ok(WAKERS.with_borrow_mut(|wakers| {
    wakers.insert(WakerEntry {
      waker: Arc::new(waker),
      shared: None,
    })
  }))
}

/// `Waker::wake()`: the `Poll` gets a readable event with the waker's token.
#[napi]
pub fn waker_wake(env: Env, handle: Handle) -> Result<()> {
  let waker = WAKERS
    .with_borrow(|wakers| wakers.get(handle).map(|entry| entry.waker.clone()))
    .ok_or_else(|| error::closed(&env, "Waker"))?;
  waker
    .wake()
    .map_err(|e| error::system(&env, &e, "wake", None))
}

/// Gives the waker a process-wide id that any thread can wake it through
/// (`waker_wake_shared`). The same id every time.
#[napi]
pub fn waker_share(env: Env, handle: Handle) -> Result<u32> {
  static NEXT: AtomicU32 = AtomicU32::new(1);
  WAKERS.with_borrow_mut(|wakers| {
    let entry = wakers
      .get_mut(handle)
      .ok_or_else(|| error::closed(&env, "Waker"))?;
    if let Some(id) = entry.shared {
      return Ok(id);
    }
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    shared()
      .lock()
      .map_err(|_| napi::Error::from_reason("shared waker table poisoned"))?
      .insert(id, Arc::downgrade(&entry.waker));
    entry.shared = Some(id);
    Ok(id)
  })
}

/// Wakes a shared waker from any thread. Returns `false` if it is closed
/// (or the id never named one).
#[napi]
pub fn waker_wake_shared(env: Env, id: u32) -> Result<bool> {
  let waker = shared()
    .lock()
    .map_err(|_| napi::Error::from_reason("shared waker table poisoned"))?
    .get(&id)
    .and_then(Weak::upgrade);
  match waker {
    Some(waker) => waker
      .wake()
      .map(|()| true)
      .map_err(|e| error::system(&env, &e, "wake", None)),
    None => Ok(false),
  }
}

/// Drops the waker. Returns `false` if it was already closed.
#[napi]
pub fn waker_close(handle: Handle) -> bool {
  WAKERS
    .with_borrow_mut(|wakers| wakers.remove(handle))
    .is_some()
}
