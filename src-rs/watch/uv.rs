//! The `uv` watch driver: the selector's descriptor on libuv's loop.
//!
//! mio's `Poll` is itself pollable on Unix (an epoll or kqueue descriptor
//! that turns readable when any registered source is ready). The driver puts
//! that one descriptor on the environment's libuv loop with `uv_poll` (each
//! worker has its own loop) and, when it fires, calls JavaScript, which takes
//! the events with a zero-timeout poll (`watchTake`). No thread, no thread
//! pool: the JS thread never blocks, and timers, `fs` and `node:net` keep
//! running.
//!
//! A watch's native state lives in one heap block owned by its libuv handle;
//! it is freed in the handle's close callback. Environment teardown (a
//! worker exiting) closes every watch through an async cleanup hook, which
//! Node waits for until the handle is closed.

use std::alloc::{self, Layout};
use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::Function;
use napi::{sys, Env, JsValue};

use crate::boundary;
use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::napi_raw::{self, AsyncContext, HandleScope};
use crate::poll::{self, PollCore};
use crate::sys::unix::uv::{self, Uv, UvPoll, UV_POLL, UV_READABLE};

/// A running `uv` watch: its block, which libuv's handle owns.
pub struct Watch(*mut Block);

struct Block {
  env: sys::napi_env,
  uv: &'static Uv,
  handle: *mut UvPoll,
  layout: Layout,
  callback: sys::napi_ref,
  context: AsyncContext,
  cleanup: Cell<sys::napi_async_cleanup_hook_handle>,
  /// The watch's handle in `super::WATCHES`, once attached.
  id: Cell<Handle>,
  stopped: Cell<bool>,
}

/// Whether the `uv` driver can run here (Node.js's libuv on Unix).
pub fn supported() -> bool {
  uv::uv().is_some()
}

/// Starts the driver on `poll`'s selector.
pub fn start(env: &Env, poll: Handle, on_ready: Function<(), ()>) -> Result<Watch> {
  let uv = uv::uv().ok_or_else(|| {
    Error::unavailable(
      "the uv watch driver needs Node.js's libuv, which this runtime does not provide",
    )
  })?;
  let raw_env = env.raw();
  // First what may run JavaScript (creating the async context runs async
  // hooks, which may close or watch this Poll): the Poll's state is read
  // only after.
  let context = AsyncContext::new(raw_env, "node-mio:watch")?;
  // SAFETY: `on_ready` is this call's argument.
  let callback =
    unsafe { napi_raw::create_reference(raw_env, on_ready.raw()) }.ok_or(Error::Pending)?;
  match init(env, uv, poll) {
    Ok((handle, layout)) => Ok(begin(env, uv, handle, layout, callback, context)?),
    Err(e) => {
      // SAFETY: created above on this env; nothing else holds it.
      unsafe { napi_raw::delete_reference(raw_env, callback) };
      Err(e)
    }
  }
}

/// Checks the `Poll` and initialises a `uv_poll_t` on its selector.
fn init(env: &Env, uv: &'static Uv, poll: Handle) -> Result<(*mut UvPoll, Layout)> {
  let core: Rc<PollCore> = poll::core(poll)?;
  super::check_unwatched(&core)?;
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
  Ok((handle, layout))
}

/// Starts polling an initialised handle; from here on `on_close` releases
/// everything, the callback reference and the context included.
fn begin(
  env: &Env,
  uv: &'static Uv,
  handle: *mut UvPoll,
  layout: Layout,
  callback: sys::napi_ref,
  context: AsyncContext,
) -> Result<Watch> {
  let raw_env = env.raw();
  let block = Box::into_raw(Box::new(Block {
    env: raw_env,
    uv,
    handle,
    layout,
    callback,
    context,
    cleanup: Cell::new(ptr::null_mut()),
    id: Cell::new(0.0),
    stopped: Cell::new(false),
  }));
  // SAFETY: `handle` is initialised; `block` lives until `on_close` frees it,
  // which also removes the hook.
  unsafe {
    (uv.set_data)(handle, block.cast());
    let mut hook = ptr::null_mut();
    if sys::napi_add_async_cleanup_hook(raw_env, Some(on_env_teardown), block.cast(), &mut hook)
      == sys::Status::napi_ok
    {
      (*block).cleanup.set(hook);
    }
  }
  let watch = Watch(block);
  // SAFETY: `handle` is an initialised `uv_poll_t`; `on_poll` matches `uv_poll_cb`.
  let status = unsafe { (uv.poll_start)(handle, UV_READABLE, on_poll) };
  if status != 0 {
    // `on_close` deletes the callback reference and the context.
    watch.stop();
    return Err(uv_error(uv, status, "uv_poll_start"));
  }
  Ok(watch)
}

fn uv_error(uv: &Uv, status: c_int, syscall: &'static str) -> Error {
  // SAFETY: `uv_strerror` returns a static NUL-terminated string.
  let message = unsafe { std::ffi::CStr::from_ptr((uv.strerror)(status)) }.to_string_lossy();
  Error::system(
    &std::io::Error::other(format!("{syscall}: {message}")),
    syscall,
  )
}

impl Watch {
  /// Records the watch's handle, for environment teardown.
  pub fn attach(&self, id: Handle) {
    // SAFETY: the block is live until `on_close`, which only a stop starts.
    unsafe { (*self.0).id.set(id) };
  }

  /// Stops polling and closes the handle; `on_close` frees the block. No
  /// callback runs after this.
  pub fn stop(self) {
    // SAFETY: the block is live: `on_close` runs only after the close below,
    // and a block is stopped once (the flag).
    let block = unsafe { &*self.0 };
    if block.stopped.replace(true) {
      return;
    }
    // SAFETY: the handle is open; stopping and closing it are always allowed,
    // also from inside its own callback.
    unsafe {
      (block.uv.poll_stop)(block.handle);
      (block.uv.close)(block.handle, Some(on_close));
    }
  }

  /// `ref()` / `unref()` of the libuv handle.
  pub fn set_ref(&self, keep_alive: bool) {
    // SAFETY: the watch is live (its entry is in the table), so its handle
    // is open.
    let block = unsafe { &*self.0 };
    // SAFETY: as above.
    unsafe {
      if keep_alive {
        (block.uv.ref_handle)(block.handle);
      } else {
        (block.uv.unref_handle)(block.handle);
      }
    }
  }
}

unsafe extern "C" fn on_poll(handle: *mut UvPoll, _status: c_int, _events: c_int) {
  let Some(uv) = uv::uv() else { return };
  // SAFETY: the data pointer is the live block set at start; it is freed
  // only in `on_close`, which libuv runs after the last callback, and not
  // before the next loop iteration even if the callback stops the watch.
  let block = unsafe { &*(uv.get_data)(handle).cast::<Block>() };
  if block.stopped.get() {
    return;
  }
  let env = block.env;
  // SAFETY: libuv runs this on the JS thread of `env`, outside any Node-API
  // call, so it opens its own scope, dropped before returning to libuv.
  let Some(_scope) = (unsafe { HandleScope::open(env) }) else {
    return;
  };
  // SAFETY: the scope above is open on this thread.
  unsafe {
    boundary::contain_js(env, || {
      // SAFETY: the reference lives until `on_close`; the scope is open.
      if let Some(callback) = napi_raw::reference_value(env, block.callback) {
        block.context.call(callback);
      }
    })
  };
}

unsafe extern "C" fn on_close(handle: *mut UvPoll) {
  boundary::contain("closing a watch", || {
    let Some(uv) = uv::uv() else { return };
    // SAFETY: the data pointer is the block leaked at start; this is the
    // handle's last callback, so the block is taken back exactly once.
    let block = unsafe { Box::from_raw((uv.get_data)(handle).cast::<Block>()) };
    // SAFETY: the env is alive (teardown waits for this callback through the
    // async cleanup hook); the handle memory is no longer used by libuv.
    unsafe {
      napi_raw::delete_reference(block.env, block.callback);
      let hook = block.cleanup.get();
      if !hook.is_null() {
        sys::napi_remove_async_cleanup_hook(hook);
      }
      alloc::dealloc(block.handle.cast(), block.layout);
    }
    // Dropping the block destroys the async context.
  });
}

unsafe extern "C" fn on_env_teardown(
  _hook: sys::napi_async_cleanup_hook_handle,
  data: *mut c_void,
) {
  boundary::contain("tearing down a watch", || {
    let block = data.cast::<Block>();
    // SAFETY: the hook is removed in `on_close`, so while it can run the
    // block is live. Closing finishes in `on_close`, which removes the hook
    // and so lets the environment finish tearing down.
    let id = unsafe { (*block).id.get() };
    super::teardown(id);
    // Not attached, or already stopped: make sure the handle closes.
    Watch(block).stop();
  });
}
