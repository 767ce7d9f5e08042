//! The few libuv functions watch mode needs, resolved at run time from the
//! process (Node.js exports libuv's symbols). Nothing is linked, so the
//! addon never carries a second libuv, and loads where there is none.
//!
//! Symbols alone prove nothing: Bun exports `uv_poll_init` as a stub that
//! aborts the process, and Deno's emulated `uv_poll` delivers one batch and
//! crashes a process that exits with an unref'd handle. So libuv counts as
//! present only in Node.js, recognised by `node::Start` (`node.h`, public
//! since Node's first releases), which neither exports. Elsewhere the `uv`
//! driver reports itself unavailable and watches use the thread.

use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

/// An opaque `uv_poll_t`, allocated at `handle_size(UV_POLL)` bytes so the
/// layout is always the host's.
#[repr(C)]
pub struct UvPoll {
  _opaque: [u8; 0],
}

/// `UV_POLL` in libuv's `uv_handle_type`.
pub const UV_POLL: c_int = 8;
/// `UV_READABLE` in libuv's `uv_poll_event`.
pub const UV_READABLE: c_int = 1;

pub type PollCb = unsafe extern "C" fn(handle: *mut UvPoll, status: c_int, events: c_int);
pub type CloseCb = unsafe extern "C" fn(handle: *mut UvPoll);

/// libuv entry points (signatures from `uv.h`, stable since libuv 1.19).
pub struct Uv {
  pub handle_size: unsafe extern "C" fn(kind: c_int) -> usize,
  pub poll_init:
    unsafe extern "C" fn(event_loop: *mut c_void, handle: *mut UvPoll, fd: c_int) -> c_int,
  pub poll_start: unsafe extern "C" fn(handle: *mut UvPoll, events: c_int, cb: PollCb) -> c_int,
  pub poll_stop: unsafe extern "C" fn(handle: *mut UvPoll) -> c_int,
  pub close: unsafe extern "C" fn(handle: *mut UvPoll, cb: Option<CloseCb>),
  pub ref_handle: unsafe extern "C" fn(handle: *mut UvPoll),
  pub unref_handle: unsafe extern "C" fn(handle: *mut UvPoll),
  pub set_data: unsafe extern "C" fn(handle: *mut UvPoll, data: *mut c_void),
  pub get_data: unsafe extern "C" fn(handle: *const UvPoll) -> *mut c_void,
  pub strerror: unsafe extern "C" fn(err: c_int) -> *const std::ffi::c_char,
}

fn symbol(name: &CStr) -> Option<*mut c_void> {
  // SAFETY: dlsym with RTLD_DEFAULT searches the loaded images for a
  // NUL-terminated name; it has no other effect.
  let found = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
  (!found.is_null()).then_some(found)
}

/// The function `name` as a pointer of type `F`.
///
/// # Safety
/// `F` must be the function-pointer type of the C function `name`.
unsafe fn function<F>(name: &CStr) -> Option<F> {
  let found = symbol(name)?;
  if std::mem::size_of::<F>() != std::mem::size_of::<*mut c_void>() {
    return None;
  }
  // SAFETY: `found` is the address of `name`, whose type the caller names.
  Some(unsafe { std::mem::transmute_copy::<*mut c_void, F>(&found) })
}

fn load() -> Option<Uv> {
  // `node::Start(int, char**)`, mangled (dlsym adds macOS's underscore).
  symbol(c"_ZN4node5StartEiPPc")?;
  // SAFETY: each symbol is libuv's function of that name, whose C signature
  // matches the field's type (see uv.h).
  unsafe {
    Some(Uv {
      handle_size: function(c"uv_handle_size")?,
      poll_init: function(c"uv_poll_init")?,
      poll_start: function(c"uv_poll_start")?,
      poll_stop: function(c"uv_poll_stop")?,
      close: function(c"uv_close")?,
      ref_handle: function(c"uv_ref")?,
      unref_handle: function(c"uv_unref")?,
      set_data: function(c"uv_handle_set_data")?,
      get_data: function(c"uv_handle_get_data")?,
      strerror: function(c"uv_strerror")?,
    })
  }
}

/// libuv, if the host process is Node.js.
pub fn uv() -> Option<&'static Uv> {
  static UV: OnceLock<Option<Uv>> = OnceLock::new();
  UV.get_or_init(load).as_ref()
}
