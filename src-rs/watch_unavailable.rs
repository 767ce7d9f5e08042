//! The `uv_poll` watch where the selector has no descriptor libuv can poll
//! (Windows: IOCP). `watch_supported()` is `false`, so the wrapper uses the
//! polling thread (`watch_thread.rs`) instead; the functions exist so the
//! binding exports the same names everywhere.

use napi::bindgen_prelude::Function;
use napi::Env;
use napi_derive::napi;

use crate::error::{self, Result};
use crate::handle::Handle;

#[napi]
pub fn watch_supported() -> bool {
  false
}

#[napi(ts_args_type = "poll: Handle, onReady: () => void")]
pub fn watch_start(env: Env, _poll: Handle, _on_ready: Function<(), ()>) -> Result<Handle> {
  Err(error::unavailable(
    &env,
    "uv_poll watch mode needs a pollable selector (epoll or kqueue); here watch mode uses a polling thread",
  ))
}

#[napi]
pub fn watch_stop(_handle: Handle) -> bool {
  false
}

#[napi]
pub fn watch_ref(_env: Env, _handle: Handle, _keep_alive: bool) -> Result<()> {
  Ok(())
}
