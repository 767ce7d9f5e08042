//! `Waker`: wake a `Poll` from elsewhere.
//!
//! mio allows a single `Waker` per `Poll` (debug builds panic on a second
//! one, even after the first is dropped). The binding checks first and
//! throws `EEXIST` instead, for the `Poll`'s whole life.

use std::cell::RefCell;
use std::io;
use std::sync::Arc;

use napi::Env;
use napi_derive::napi;

use crate::error::{self, Result};
use crate::handle::{Handle, Table};
use crate::{registry, token};

thread_local! {
  static WAKERS: RefCell<Table<Arc<mio::Waker>>> = const { RefCell::new(Table::new()) };
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
  Ok(WAKERS.with_borrow_mut(|wakers| wakers.insert(Arc::new(waker))))
}

/// `Waker::wake()`: the `Poll` gets a readable event with the waker's token.
#[napi]
pub fn waker_wake(env: Env, handle: Handle) -> Result<()> {
  let waker = WAKERS
    .with_borrow(|wakers| wakers.get(handle).cloned())
    .ok_or_else(|| error::closed(&env, "Waker"))?;
  waker
    .wake()
    .map_err(|e| error::system(&env, &e, "wake", None))
}

/// Drops the waker. Returns `false` if it was already closed.
#[napi]
pub fn waker_close(handle: Handle) -> bool {
  WAKERS
    .with_borrow_mut(|wakers| wakers.remove(handle))
    .is_some()
}
