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

use crate::error::{self, Result};
use crate::handle::{Handle, Table};
use crate::poll::{self, PollCore};
use crate::sys::unix::uv::{self, Uv, UvPoll, UV_POLL, UV_READABLE};

struct Watch {
  env: sys::napi_env,
  uv: &'static Uv,
  handle: *mut UvPoll,
  layout: Layout,
  callback: sys::napi_ref,
  context: sys::napi_async_context,
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
pub fn watch_supported() -> bool {
  uv::uv().is_some()
}

/// Starts watching `poll`: `on_ready()` runs on the JS thread whenever the
/// selector has events. One watch per `Poll`.
#[napi(ts_args_type = "poll: Handle, onReady: () => void")]
pub fn watch_start(env: Env, poll: Handle, on_ready: Function<(), ()>) -> Result<Handle> {
  let core: Rc<PollCore> = poll::core(&env, poll)?;
  if core.watch.get().is_some() {
    return Err(error::system_kind(
      &env,
      std::io::ErrorKind::AlreadyExists,
      "watch",
      "this Poll is already watched: stop that watch first",
    ));
  }
  let uv = uv::uv().ok_or_else(|| {
    error::unavailable(
      &env,
      "watch mode needs Node.js's libuv, which this runtime does not provide",
    )
  })?;
  let fd = core.raw_fd().ok_or_else(|| error::closed(&env, "Poll"))?;
  let event_loop = env.get_uv_event_loop()?;

  // SAFETY: `uv_handle_size` only reads its argument.
  let size = unsafe { (uv.handle_size)(UV_POLL) };
  let layout = Layout::from_size_align(size.max(1), 16)
    .map_err(|e| napi::Error::from_reason(e.to_string()))?;
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
    return Err(uv_error(&env, uv, status, "uv_poll_init"));
  }

  let raw_env = env.raw();
  let mut callback = ptr::null_mut();
  let mut context = ptr::null_mut();
  // SAFETY: plain Node-API calls with valid out-pointers, on the JS thread.
  unsafe {
    sys::napi_create_reference(raw_env, on_ready.raw(), 1, &mut callback);
    let mut name = ptr::null_mut();
    sys::napi_create_string_utf8(raw_env, c"node-mio:watch".as_ptr(), 14, &mut name);
    let mut resource = ptr::null_mut();
    sys::napi_create_object(raw_env, &mut resource);
    sys::napi_async_init(raw_env, resource, name, &mut context);
  }
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
  // `on_close` frees it.
  unsafe {
    (uv.set_data)(handle, watch.cast());
    let mut hook = ptr::null_mut();
    sys::napi_add_async_cleanup_hook(raw_env, Some(on_env_teardown), watch.cast(), &mut hook);
    (*watch).cleanup.set(hook);
  }
  let id = WATCHES.with_borrow_mut(|watches| watches.insert(watch));
  // SAFETY: `watch` is live (see above).
  unsafe { (*watch).id.set(id) };
  core.watch.set(Some(id));
  // SAFETY: `handle` is an initialised `uv_poll_t`; `on_poll` matches `uv_poll_cb`.
  let status = unsafe { (uv.poll_start)(handle, UV_READABLE, on_poll) };
  if status != 0 {
    watch_stop(id);
    return Err(uv_error(&env, uv, status, "uv_poll_start"));
  }
  Ok(id)
}

fn uv_error(env: &Env, uv: &Uv, status: c_int, syscall: &str) -> napi::Error {
  // SAFETY: `uv_strerror` returns a static NUL-terminated string.
  let message = unsafe { std::ffi::CStr::from_ptr((uv.strerror)(status)) }.to_string_lossy();
  let err = std::io::Error::other(format!("{syscall}: {message}"));
  error::system(env, &err, syscall, None)
}

/// Stops a watch; it will not call back again. Returns `false` if it was
/// already stopped.
#[napi]
pub fn watch_stop(handle: Handle) -> bool {
  match WATCHES.with_borrow_mut(|watches| watches.remove(handle)) {
    Some(watch) => {
      // SAFETY: the table held the block, which is freed only by `on_close`
      // after this stop.
      unsafe { stop(watch) };
      true
    }
    None => false,
  }
}

/// `ref()` / `unref()`: whether the watch keeps the event loop alive.
#[napi]
pub fn watch_ref(env: Env, handle: Handle, keep_alive: bool) -> Result<()> {
  let watch = WATCHES
    .with_borrow(|watches| watches.get(handle).copied())
    .ok_or_else(|| error::closed(&env, "Watch"))?;
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
}

/// Stops polling and closes the handle; `on_close` frees the block.
///
/// # Safety
/// `watch` must be live.
unsafe fn stop(watch: *mut Watch) {
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
  // only in `on_close`, which libuv runs after the last callback.
  let watch = unsafe { &*(uv.get_data)(handle).cast::<Watch>() };
  if watch.stopped.get() {
    return;
  }
  let env = watch.env;
  // SAFETY: libuv runs this on the JS thread of `env`, outside any
  // Node-API call, so it opens its own handle scope; `napi_make_callback`
  // runs the function like any event-loop callback (microtasks and
  // `process.nextTick` run after it). A throw becomes an uncaught exception.
  unsafe {
    let mut scope = ptr::null_mut();
    if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
      return;
    }
    let mut callback = ptr::null_mut();
    let mut receiver = ptr::null_mut();
    sys::napi_get_reference_value(env, watch.callback, &mut callback);
    sys::napi_get_global(env, &mut receiver);
    if !callback.is_null() {
      let mut result = ptr::null_mut();
      let status = sys::napi_make_callback(
        env,
        watch.context,
        receiver,
        callback,
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
    sys::napi_close_handle_scope(env, scope);
  }
}

unsafe extern "C" fn on_close(handle: *mut UvPoll) {
  let Some(uv) = uv::uv() else { return };
  // SAFETY: the data pointer is the `Watch` leaked at start; this is the
  // handle's last callback, so the block is taken back exactly once.
  let watch = unsafe { Box::from_raw((uv.get_data)(handle).cast::<Watch>()) };
  // SAFETY: the env is alive (teardown waits for this callback through the
  // async cleanup hook); the handle memory is no longer used by libuv.
  unsafe {
    sys::napi_delete_reference(watch.env, watch.callback);
    sys::napi_async_destroy(watch.env, watch.context);
    let hook = watch.cleanup.get();
    if !hook.is_null() {
      sys::napi_remove_async_cleanup_hook(hook);
    }
    alloc::dealloc(watch.handle.cast(), watch.layout);
  }
}

unsafe extern "C" fn on_env_teardown(
  _hook: sys::napi_async_cleanup_hook_handle,
  data: *mut c_void,
) {
  let watch = data.cast::<Watch>();
  // SAFETY: the hook is removed in `on_close`, so while it can run the
  // block is live. Closing finishes in `on_close`, which removes the hook
  // and so lets the environment finish tearing down.
  unsafe {
    let id = (*watch).id.get();
    WATCHES.with_borrow_mut(|watches| watches.remove(id));
    stop(watch);
  }
}
