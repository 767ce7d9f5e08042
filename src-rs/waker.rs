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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use napi::Env;
use napi_derive::napi;

use crate::boundary::guard;
use crate::error::{Error, Result};
use crate::handle::{Handle, Table, Tag};
use crate::{registry, token};

struct WakerEntry {
  waker: Arc<mio::Waker>,
  /// The process-wide id, once shared.
  shared: Option<u64>,
}

impl Drop for WakerEntry {
  fn drop(&mut self) {
    if let Some(id) = self.shared {
      shared().remove(&id);
    }
  }
}

thread_local! {
  static WAKERS: RefCell<Table<WakerEntry>> = const { RefCell::new(Table::new(Tag::Waker)) };
}

type Shared = HashMap<u64, Weak<mio::Waker>>;

/// Shared wakers, by id, for every thread of the process. The map stays
/// consistent whatever panicked while it was locked (each change is one
/// insert or remove), so a poisoned lock is taken over.
fn shared() -> MutexGuard<'static, Shared> {
  static SHARED: OnceLock<Mutex<Shared>> = OnceLock::new();
  SHARED
    .get_or_init(Default::default)
    .lock()
    .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `Waker::new(registry, token)`.
#[napi]
pub fn waker_new(env: Env, registry: Handle, token: f64) -> napi::Result<Handle> {
  guard(&env, || {
    let token = token::from_js(token)?;
    let waker = registry::with(registry, |registry, core| {
      if core.has_waker.get() {
        return Err(Error::system_kind(
          io::ErrorKind::AlreadyExists,
          "waker",
          "this Poll already has a Waker (mio allows one per Poll): share that one",
        ));
      }
      let waker = mio::Waker::new(registry, token).map_err(|e| Error::system(&e, "waker"))?;
      core.has_waker.set(true);
      core.token_added(token);
      Ok(waker)
    })?;
    WAKERS.with_borrow_mut(|wakers| {
      wakers.insert(WakerEntry {
        waker: Arc::new(waker),
        shared: None,
      })
    })
  })
}

/// `Waker::wake()`: the `Poll` gets a readable event with the waker's token.
#[napi]
pub fn waker_wake(env: Env, handle: Handle) -> napi::Result<()> {
  guard(&env, || {
    let waker = WAKERS.with_borrow(|wakers| {
      wakers
        .get(handle)
        .map(|entry| entry.waker.clone())
        .ok_or_else(|| wakers.missing(handle))
    })?;
    waker.wake().map_err(|e| Error::system(&e, "wake"))
  })
}

/// Gives the waker a process-wide id that any thread can wake it through
/// (`waker_wake_shared`). The same id every time. Ids are never reused
/// (a counter that would take centuries to pass 2^53), so a closed waker's
/// id never wakes another.
#[napi]
pub fn waker_share(env: Env, handle: Handle) -> napi::Result<f64> {
  guard(&env, || {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    WAKERS.with_borrow_mut(|wakers| -> Result<f64> {
      if wakers.get(handle).is_none() {
        return Err(wakers.missing(handle));
      }
      let Some(entry) = wakers.get_mut(handle) else {
        return Err(Error::closed("Waker"));
      };
      if let Some(id) = entry.shared {
        return Ok(id as f64);
      }
      let id = NEXT.fetch_add(1, Ordering::Relaxed);
      shared().insert(id, Arc::downgrade(&entry.waker));
      entry.shared = Some(id);
      Ok(id as f64)
    })
  })
}

/// Wakes a shared waker from any thread. Returns `false` if it is closed
/// (or the id never named one).
#[napi]
pub fn waker_wake_shared(env: Env, id: f64) -> napi::Result<bool> {
  guard(&env, || {
    if !(1.0..=crate::token::MAX).contains(&id) || id.fract() != 0.0 {
      return Err(Error::out_of_range(format!(
        "a shared waker id is a positive safe integer, got {id}"
      )));
    }
    let waker = shared().get(&(id as u64)).and_then(Weak::upgrade);
    match waker {
      Some(waker) => waker
        .wake()
        .map(|()| true)
        .map_err(|e| Error::system(&e, "wake")),
      None => Ok(false),
    }
  })
}

/// Drops the waker. Returns `false` if it was already closed.
#[napi]
pub fn waker_close(env: Env, handle: Handle) -> napi::Result<bool> {
  guard(&env, || {
    let entry = WAKERS.with_borrow_mut(|wakers| match wakers.remove(handle) {
      Some(entry) => Ok(Some(entry)),
      None => wakers.stale(handle).map(|()| None),
    })?;
    Ok(entry.is_some())
  })
}
