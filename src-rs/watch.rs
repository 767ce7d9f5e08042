//! Watch mode: readiness delivered on Node's own event loop.
//!
//! mio's `Poll` is itself pollable on Unix (an epoll or kqueue descriptor
//! that turns readable when any registered source is ready). A watch puts
//! that one descriptor on the environment's libuv loop with `uv_poll` (each
//! worker has its own loop) and, when it fires, calls JavaScript, which polls
//! mio with a zero timeout and hands the batch on. No thread, no thread pool:
//! the JS thread never blocks, and timers, `fs` and `node:net` keep running.
//!
//! A watch's native state lives in one heap block owned by its libuv handle;
//! it is freed in the handle's close callback. Environment teardown (a
//! worker exiting) closes every watch through an async cleanup hook, which
//! Node waits for until the handle is closed.

use std::alloc::{self, Layout};
use std::cell::{Cell, RefCell};
use std::ffi::{c_int, c_void};
use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::Function;
use napi::{sys, Env, JsValue};
use napi_derive::napi;

use crate::boundary::{self, guard};
use crate::error::{Error, Result};
use crate::handle::{Handle, Table};
use crate::napi_raw::{self, AsyncContext, HandleScope};
use crate::poll::{self, PollCore};
use crate::sys::unix::uv::{self, Uv, UvPoll, UV_POLL, UV_READABLE};

struct Watch {
  env: sys::napi_env,
  uv: &'static Uv,
  handle: *mut UvPoll,
  layout: Layout,
  callback: sys::napi_ref,
  context: AsyncContext,
  cleanup: Cell<sys::napi_async_cleanup_hook_handle>,
  /// The poll's core, to clear its watch slot when this watch ends.
  core: std::rc::Weak<PollCore>,
  id: Cell<Handle>,
  stopped: Cell<bool>,
}

thread_local! {
  static WATCHES: RefCell<Table<*mut Watch>> = const { RefCell::new(Table::new()) };
}

/// Whether watch mode can run here (Node.js with libuv on Unix).
#[napi]
pub fn watch_supported(env: Env) -> napi::Result<bool> {
  guard(&env, || Ok(uv::uv().is_some()))
}

/// Starts watching `poll`: `on_ready()` runs on the JS thread whenever the
/// selector has events. One watch per `Poll`.
#[napi(ts_args_type = "poll: Handle, onReady: () => void")]
pub fn watch_start(env: Env, poll: Handle, on_ready: Function<(), ()>) -> napi::Result<Handle> {
  guard(&env, || {
    let uv = uv::uv().ok_or_else(|| {
      Error::unavailable("watch mode needs Node.js's libuv, which this runtime does not provide")
    })?;
    poll::core(poll)?;
    let raw_env = env.raw();
    // First what may run JavaScript (creating the async context runs async
    // hooks, which may close or watch this Poll): the Poll's state is read
    // only after.
    let context = AsyncContext::new(raw_env, "node-mio:watch")?;
    // SAFETY: `on_ready` is this call's argument.
    let callback =
      unsafe { napi_raw::create_reference(raw_env, on_ready.raw()) }.ok_or(Error::Pending)?;
    let (core, handle, layout) = match init(&env, uv, poll) {
      Ok(initialised) => initialised,
      Err(e) => {
        // SAFETY: created above on this env; nothing else holds it.
        unsafe { napi_raw::delete_reference(raw_env, callback) };
        return Err(e);
      }
    };
    start(&env, uv, core, handle, layout, callback, context)
  })
}

/// Checks the `Poll` and initialises a `uv_poll_t` on its selector.
fn init(env: &Env, uv: &'static Uv, poll: Handle) -> Result<(Rc<PollCore>, *mut UvPoll, Layout)> {
  let core: Rc<PollCore> = poll::core(poll)?;
  if core.watched() {
    return Err(Error::system_kind(
      std::io::ErrorKind::AlreadyExists,
      "watch",
      "this Poll is already watched: stop that watch first",
    ));
  }
  let fd = core.raw_fd().ok_or_else(|| Error::closed("Poll"))?;
  let event_loop = env.get_uv_event_loop()?;

  // SAFETY: `uv_handle_size` only reads its argument.
  let size = unsafe { (uv.handle_size)(UV_POLL) };
  let layout = Layout::from_size_align(size.max(1), 16)
    .map_err(|e| Error::system(&std::io::Error::other(e.to_string()), "uv_poll_init"))?;
  // SAFETY: `layout` has a non-zero size.
  let handle = unsafe { alloc::alloc_zeroed(layout) }.cast::<UvPoll>();
  if handle.is_null() {
    alloc::handle_alloc_error(layout);
  }
  // SAFETY: `handle` is a zeroed block of `uv_handle_size(UV_POLL)` bytes;
  // `event_loop` is this environment's loop; `fd` is the open selector.
  let status = unsafe { (uv.poll_init)(event_loop.cast(), handle, fd) };
  if status != 0 {
    // SAFETY: the handle was not initialised, so libuv holds no reference.
    unsafe { alloc::dealloc(handle.cast(), layout) };
    return Err(uv_error(uv, status, "uv_poll_init"));
  }
  Ok((core, handle, layout))
}

/// Starts polling an initialised handle; from here on `on_close` releases
/// everything, the callback reference and the context included.
fn start(
  env: &Env,
  uv: &'static Uv,
  core: Rc<PollCore>,
  handle: *mut UvPoll,
  layout: Layout,
  callback: sys::napi_ref,
  context: AsyncContext,
) -> Result<Handle> {
  let raw_env = env.raw();
  let watch = Box::into_raw(Box::new(Watch {
    env: raw_env,
    uv,
    handle,
    layout,
    callback,
    context,
    cleanup: Cell::new(ptr::null_mut()),
    core: Rc::downgrade(&core),
    id: Cell::new(0.0),
    stopped: Cell::new(false),
  }));
  // SAFETY: `handle` is initialised; the block `watch` lives until
  // `on_close` frees it, which also removes the hook.
  unsafe {
    (uv.set_data)(handle, watch.cast());
    let mut hook = ptr::null_mut();
    if sys::napi_add_async_cleanup_hook(raw_env, Some(on_env_teardown), watch.cast(), &mut hook)
      == sys::Status::napi_ok
    {
      (*watch).cleanup.set(hook);
    }
  }
  let id = WATCHES.with_borrow_mut(|watches| watches.insert(watch));
  // SAFETY: `watch` is live (see above).
  unsafe { (*watch).id.set(id) };
  core.watch.set(Some(id));
  // SAFETY: `handle` is an initialised `uv_poll_t`; `on_poll` matches `uv_poll_cb`.
  let status = unsafe { (uv.poll_start)(handle, UV_READABLE, on_poll) };
  if status != 0 {
    // `on_close` deletes the callback reference and the context.
    stop(id);
    return Err(uv_error(uv, status, "uv_poll_start"));
  }
  Ok(id)
}

fn uv_error(uv: &Uv, status: c_int, syscall: &'static str) -> Error {
  // SAFETY: `uv_strerror` returns a static NUL-terminated string.
  let message = unsafe { std::ffi::CStr::from_ptr((uv.strerror)(status)) }.to_string_lossy();
  Error::system(
    &std::io::Error::other(format!("{syscall}: {message}")),
    syscall,
  )
}

/// Stops a watch; it will not call back again. Returns `false` if it was
/// already stopped.
#[napi]
pub fn watch_stop(env: Env, handle: Handle) -> napi::Result<bool> {
  guard(&env, || Ok(stop(handle)))
}

/// Stops the watch `handle` (see `watch_stop`).
pub fn stop(handle: Handle) -> bool {
  match WATCHES.with_borrow_mut(|watches| watches.remove(handle)) {
    Some(watch) => {
      // SAFETY: the table held the block, which is freed only by `on_close`
      // after this stop.
      unsafe { close(watch) };
      true
    }
    None => false,
  }
}

/// `ref()` / `unref()`: whether the watch keeps the event loop alive.
#[napi]
pub fn watch_ref(env: Env, handle: Handle, keep_alive: bool) -> napi::Result<()> {
  guard(&env, || {
    let watch = WATCHES
      .with_borrow(|watches| watches.get(handle).copied())
      .ok_or_else(|| Error::closed("Watch"))?;
    // SAFETY: the watch is live (still in the table) and its handle open.
    unsafe {
      let watch = &*watch;
      if keep_alive {
        (watch.uv.ref_handle)(watch.handle);
      } else {
        (watch.uv.unref_handle)(watch.handle);
      }
    }
    Ok(())
  })
}

/// Stops polling and closes the handle; `on_close` frees the block.
///
/// # Safety
/// `watch` must be live.
unsafe fn close(watch: *mut Watch) {
  // SAFETY: the caller guarantees `watch` is live.
  let w = unsafe { &*watch };
  if w.stopped.replace(true) {
    return;
  }
  if let Some(core) = w.core.upgrade() {
    if core.watch.get() == Some(w.id.get()) {
      core.watch.set(None);
    }
  }
  // SAFETY: the handle is open; stopping and closing it are always allowed,
  // also from inside its own callback.
  unsafe {
    (w.uv.poll_stop)(w.handle);
    (w.uv.close)(w.handle, Some(on_close));
  }
}

unsafe extern "C" fn on_poll(handle: *mut UvPoll, _status: c_int, _events: c_int) {
  let Some(uv) = uv::uv() else { return };
  // SAFETY: the data pointer is the live `Watch` set at start; it is freed
  // only in `on_close`, which libuv runs after the last callback, and not
  // before the next loop iteration even if the callback stops the watch.
  let watch = unsafe { &*(uv.get_data)(handle).cast::<Watch>() };
  if watch.stopped.get() {
    return;
  }
  let env = watch.env;
  // SAFETY: libuv runs this on the JS thread of `env`, outside any Node-API
  // call, so it opens its own scope, dropped before returning to libuv.
  let Some(_scope) = (unsafe { HandleScope::open(env) }) else {
    return;
  };
  // SAFETY: the scope above is open on this thread.
  unsafe {
    boundary::contain_js(env, || {
      // SAFETY: the reference lives until `on_close`; the scope is open.
      if let Some(callback) = napi_raw::reference_value(env, watch.callback) {
        watch.context.call(callback);
      }
    })
  };
}

unsafe extern "C" fn on_close(handle: *mut UvPoll) {
  boundary::contain("closing a watch", || {
    let Some(uv) = uv::uv() else { return };
    // SAFETY: the data pointer is the `Watch` leaked at start; this is the
    // handle's last callback, so the block is taken back exactly once.
    let watch = unsafe { Box::from_raw((uv.get_data)(handle).cast::<Watch>()) };
    // SAFETY: the env is alive (teardown waits for this callback through the
    // async cleanup hook); the handle memory is no longer used by libuv.
    unsafe {
      napi_raw::delete_reference(watch.env, watch.callback);
      let hook = watch.cleanup.get();
      if !hook.is_null() {
        sys::napi_remove_async_cleanup_hook(hook);
      }
      alloc::dealloc(watch.handle.cast(), watch.layout);
    }
    // Dropping the block destroys the async context.
  });
}

unsafe extern "C" fn on_env_teardown(
  _hook: sys::napi_async_cleanup_hook_handle,
  data: *mut c_void,
) {
  boundary::contain("tearing down a watch", || {
    let watch = data.cast::<Watch>();
    // SAFETY: the hook is removed in `on_close`, so while it can run the
    // block is live. Closing finishes in `on_close`, which removes the hook
    // and so lets the environment finish tearing down.
    unsafe {
      let id = (*watch).id.get();
      WATCHES.with_borrow_mut(|watches| watches.remove(id));
      close(watch);
    }
  });
}
