//! The way into the binding.
//!
//! Every function JavaScript calls (the `#[napi]` functions and the plain
//! Node-API callbacks of `fast_call.rs`) runs its body through [`guard`] or
//! [`guard_raw`], and every callback libuv or a thread makes into JavaScript
//! runs through [`contain`]. They do two things:
//!
//! - A Rust panic (a bug in node-mio) becomes a JavaScript error with code
//!   `ERR_MIO_PANIC` instead of unwinding into Node's C++ frames, which
//!   aborts the process.
//! - A failed call's [`Error`] is turned into a JavaScript exception only
//!   after the body has returned: by then every table borrow and every
//!   pointer into JavaScript memory the body took is gone, so whatever
//!   JavaScript the exception runs (it defines its properties rather than
//!   assigning them, but a program's `Error.prepareStackTrace` still runs
//!   when the stack is read) cannot meet a borrowed table or a stale pointer.

use std::panic::{self, AssertUnwindSafe};

use napi::{sys, Env};

use crate::error::{self, Error, Result};

/// Runs a `#[napi]` function's body: its value, or the thrown error.
pub fn guard<T>(env: &Env, body: impl FnOnce() -> Result<T>) -> napi::Result<T> {
  match run(body) {
    Ok(value) => Ok(value),
    Err(err) => Err(error::throw(env.raw(), err)),
  }
}

/// Runs a plain Node-API callback's body, whose value is already a
/// JavaScript value: that value, or `NULL` with the error thrown.
pub fn guard_raw(
  env: sys::napi_env,
  body: impl FnOnce() -> Result<sys::napi_value>,
) -> sys::napi_value {
  match run(body) {
    Ok(value) => value,
    Err(err) => {
      error::throw(env, err);
      std::ptr::null_mut()
    }
  }
}

/// Runs a callback that nothing can return an error to (a libuv callback, an
/// environment cleanup hook): a panic is contained and reported on stderr.
pub fn contain(what: &str, body: impl FnOnce()) {
  let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
    testing::maybe_panic();
    body()
  }));
  if let Err(payload) = outcome {
    eprintln!("node-mio: {}", Error::panic(payload.as_ref()));
    eprintln!("node-mio: (in {what})");
  }
}

/// Runs a libuv callback that calls JavaScript, inside the handle scope the
/// callback opened: a panic becomes an uncaught exception
/// (`process.on('uncaughtException')`), as a throw from the JavaScript would.
///
/// # Safety
/// A handle scope must be open on `env`, on its thread, outside any other
/// Node-API call.
#[cfg(unix)] // the uv watch is the only libuv callback
pub unsafe fn contain_js(env: sys::napi_env, body: impl FnOnce()) {
  let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
    testing::maybe_panic();
    body()
  }));
  if let Err(payload) = outcome {
    // SAFETY: the caller's contract.
    unsafe { crate::napi_raw::raise_uncaught(env, &Error::panic(payload.as_ref())) };
  }
}

fn run<T>(body: impl FnOnce() -> Result<T>) -> Result<T> {
  panic::catch_unwind(AssertUnwindSafe(|| {
    testing::maybe_panic();
    body()
  }))
  .unwrap_or_else(|payload| Err(Error::panic(payload.as_ref())))
}

/// A test-only way to prove the above: with the `testing` feature,
/// `testingPanicNext(n)` makes the next `n` guarded calls panic.
#[cfg(feature = "testing")]
pub mod testing {
  use std::cell::Cell;

  use napi_derive::napi;

  thread_local! {
    static PANICS: Cell<u32> = const { Cell::new(0) };
  }

  pub fn maybe_panic() {
    let left = PANICS.get();
    if left > 0 {
      PANICS.set(left - 1);
      panic!("forced by testingPanicNext");
    }
  }

  /// Makes the next `count` calls into the binding panic (`testing` builds only).
  #[napi]
  pub fn testing_panic_next(env: napi::Env, count: u32) -> napi::Result<()> {
    super::guard(&env, || {
      PANICS.set(count);
      Ok(())
    })
  }
}

#[cfg(not(feature = "testing"))]
mod testing {
  #[inline(always)]
  pub fn maybe_panic() {}
}
