//! Watch mode: readiness delivered on the JavaScript thread's event loop.
//!
//! A watch runs one of two drivers behind one interface:
//!
//! - `uv` (`uv.rs`, Unix with Node's libuv): the `Poll`'s own epoll or
//!   kqueue descriptor is put on the environment's libuv loop; when it turns
//!   readable, JavaScript is called and takes the events with a zero-timeout
//!   poll. No thread.
//! - `thread` (`thread.rs`, everywhere): a thread borrows the `mio::Poll`,
//!   blocks in it, and queues each batch for JavaScript, which is signalled
//!   through a threadsafe function. For Windows (IOCP has no pollable
//!   descriptor), mio's `poll(2)` selector (a build with
//!   `mio_unsupported_force_poll_poll`: `watchDrivers()` is then only
//!   `['thread']`), and runtimes whose libuv cannot
//!   watch a descriptor (Bun, Deno).
//!
//! The contract is the same in both: one watch per `Poll`; while it runs,
//! the watch owns the `Poll`'s events, so `poll()` on it is `EBUSY` (any
//! timeout) and a second watch is `EEXIST`; JavaScript takes each batch with
//! `watchTake` into its `Events` storage; events the watch took from the OS
//! but did not deliver before it stopped stay with the `Poll`
//! (`PollCore::pending`) and come first from the next poll or watch.

// The selector must be a descriptor: not IOCP, nor mio's `poll(2)` selector
// (`mio_unsupported_force_poll_poll`, see `backend.rs`), whose `Poll` has no
// `AsRawFd`.
#[cfg(all(unix, not(mio_unsupported_force_poll_poll)))]
pub mod uv;
#[cfg(not(all(unix, not(mio_unsupported_force_poll_poll))))]
pub mod uv {
  //! No `uv` driver where the selector has no pollable descriptor.
  use crate::error::{Error, Result};

  pub struct Watch;

  pub fn supported() -> bool {
    false
  }

  pub fn start(
    _: &napi::Env,
    _: crate::handle::Handle,
    _: napi::bindgen_prelude::Function<(), ()>,
  ) -> Result<Watch> {
    Err(Error::unavailable(format!(
      "the uv watch driver needs a pollable selector (epoll or kqueue); this build's is {}",
      crate::backend::SELECTOR
    )))
  }

  impl Watch {
    pub fn attach(&self, _: crate::handle::Handle) {}
    pub fn stop(self) {}
    pub fn set_ref(&self, _: bool) {}
  }
}
pub mod thread;

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use napi::bindgen_prelude::Function;
use napi::{sys, Env};
use napi_derive::napi;

use crate::boundary::{guard, guard_raw};
use crate::error::{Error, Result};
use crate::events;
use crate::handle::{Handle, Table, Tag};
use crate::napi_raw;
use crate::poll::{self, PollCore};

/// A running watch, by driver.
enum Driver {
  Uv(uv::Watch),
  Thread(thread::Watch),
}

struct Entry {
  driver: Driver,
  core: std::rc::Weak<PollCore>,
}

thread_local! {
  static WATCHES: RefCell<Table<Entry>> = const { RefCell::new(Table::new(Tag::Watch)) };
}

/// The drivers that run here, best first: `['uv', 'thread']` with Node.js
/// on Unix, else `['thread']` (Windows, a `poll(2)` selector, Bun, Deno and
/// other runtimes whose libuv is not Node's).
#[napi]
pub fn watch_drivers(env: Env) -> napi::Result<Vec<&'static str>> {
  guard(&env, || {
    Ok(if uv::supported() {
      vec!["uv", "thread"]
    } else {
      vec!["thread"]
    })
  })
}

/// Starts watching `poll` with `driver`: `on_ready()` runs on this thread
/// whenever events wait; take them with `watchTake` (`capacity` at most
/// per take, the `Events` capacity).
#[napi(
  ts_args_type = "poll: Handle, driver: 'uv' | 'thread', capacity: number, onReady: () => void"
)]
pub fn watch_start(
  env: Env,
  poll: Handle,
  driver: String,
  capacity: u32,
  on_ready: Function<(), ()>,
) -> napi::Result<Handle> {
  guard(&env, || {
    let capacity = events::check_capacity(capacity as usize)?;
    poll::core(poll)?;
    let id = WATCHES.with_borrow(Table::reserve)?;
    let started = match driver.as_str() {
      "uv" => uv::start(&env, poll, on_ready).map(Driver::Uv),
      "thread" => thread::start(&env, poll, capacity, on_ready).map(Driver::Thread),
      _ => Err(Error::invalid_arg(format!(
        "watch driver must be 'uv' or 'thread', got {driver:?}"
      ))),
    }?;
    // The drivers check the Poll after whatever JavaScript their setup ran.
    let core = poll::core(poll)?;
    WATCHES.with_borrow_mut(|watches| {
      watches.fill(
        id,
        Entry {
          driver: started,
          core: Rc::downgrade(&core),
        },
      );
    });
    core.watch.set(Some(id));
    WATCHES.with_borrow(|watches| match watches.get(id).map(|entry| &entry.driver) {
      Some(Driver::Uv(watch)) => watch.attach(id),
      Some(Driver::Thread(watch)) => watch.attach(&env, id),
      None => {}
    });
    Ok(id)
  })
}

/// Refuses a second watch: the one rule for both drivers.
pub fn check_unwatched(core: &PollCore) -> Result<()> {
  if core.watch.get().is_some() {
    return Err(Error::system_kind(
      io::ErrorKind::AlreadyExists,
      "watch",
      "this Poll is already watched: stop that watch first",
    ));
  }
  Ok(())
}

/// `watchTake(watch, events)`, a hot-path call (see `fast_call.rs`): moves
/// the events waiting for a watch into the registered `Events` storage:
/// first what the `Poll` kept from a stopped watch, then the driver's (the
/// thread's queue, or a zero-timeout poll). Returns how many; `0` when none
/// wait (or the watch has stopped).
///
/// # Safety
/// Only Node-API calls this, with its own `env` and `info`.
pub unsafe extern "C" fn watch_take(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  guard_raw(env, || {
    // SAFETY: `env` and `info` are this callback's.
    let ([handle, storage], _) = unsafe { napi_raw::args::<2>(env, info) };
    // SAFETY: the values are this call's arguments; reading numbers runs no
    // JavaScript.
    let (handle, storage) = unsafe {
      (
        napi_raw::get_number(env, handle, "watch")?,
        napi_raw::get_number(env, storage, "events")?,
      )
    };
    let count = events::with_storage(env, storage, |out| take(handle, out))?;
    napi_raw::uint32(env, count).ok_or(Error::Pending)
  })
}

fn take(handle: Handle, out: &mut [f64]) -> Result<u32> {
  WATCHES.with_borrow(|watches| {
    let Some(entry) = watches.get(handle) else {
      return watches.stale(handle).map(|()| 0);
    };
    let Some(core) = entry.core.upgrade() else {
      return Ok(0);
    };
    let kept = poll::take_pending(&core, out);
    if kept > 0 {
      return Ok(kept);
    }
    match &entry.driver {
      Driver::Uv(_) => poll::poll_now(&core, out),
      Driver::Thread(watch) => Ok(watch.take(&core, out)),
    }
  })
}

/// Stops a watch; no callback runs after this returns. Returns `false` if it
/// was already stopped.
#[napi]
pub fn watch_stop(env: Env, handle: Handle) -> napi::Result<bool> {
  guard(&env, || {
    if stop(handle) {
      return Ok(true);
    }
    WATCHES.with_borrow(|watches| watches.stale(handle))?;
    Ok(false)
  })
}

/// Stops the watch `handle` (see `watch_stop`): the `Poll` keeps the events
/// the driver took and did not deliver.
pub fn stop(handle: Handle) -> bool {
  let Some(entry) = WATCHES.with_borrow_mut(|watches| watches.remove(handle)) else {
    return false;
  };
  let core = entry.core.upgrade();
  if let Some(core) = &core {
    if core.watch.get() == Some(handle) {
      core.watch.set(None);
    }
  }
  match entry.driver {
    Driver::Uv(watch) => watch.stop(),
    Driver::Thread(watch) => {
      let left = watch.stop(core.as_deref());
      if let Some(core) = &core {
        poll::keep_pending(core, left);
      }
    }
  }
  true
}

/// Ends the watch `handle` because its environment is being torn down:
/// no JavaScript is left to deliver to.
pub(crate) fn teardown(handle: Handle) {
  let Some(entry) = WATCHES.with_borrow_mut(|watches| watches.remove(handle)) else {
    return;
  };
  if let Some(core) = entry.core.upgrade() {
    if core.watch.get() == Some(handle) {
      core.watch.set(None);
    }
  }
  match entry.driver {
    Driver::Uv(watch) => watch.stop(),
    Driver::Thread(watch) => watch.teardown(),
  }
}

/// `ref()` / `unref()`: whether the watch keeps the event loop alive.
#[napi]
pub fn watch_ref(env: Env, handle: Handle, keep_alive: bool) -> napi::Result<()> {
  guard(&env, || {
    WATCHES.with_borrow(|watches| {
      let entry = watches.get(handle).ok_or_else(|| watches.missing(handle))?;
      match &entry.driver {
        Driver::Uv(watch) => watch.set_ref(keep_alive),
        Driver::Thread(watch) => watch.set_ref(keep_alive)?,
      }
      Ok(())
    })
  })
}
