//! The `uv_poll` watch where the selector has no descriptor libuv can poll
//! (Windows: IOCP). `watch_supported()` is `false`, so the wrapper uses the
//! polling thread (`watch_thread.rs`) instead; the functions exist so the
//! binding exports the same names everywhere.

use napi::bindgen_prelude::Function;
use napi::Env;
use napi_derive::napi;

use crate::boundary::guard;
use crate::error::Error;
use crate::handle::Handle;

#[napi]
pub fn watch_supported(env: Env) -> napi::Result<bool> {
  guard(&env, || Ok(false))
}

#[napi(ts_args_type = "poll: Handle, onReady: () => void")]
pub fn watch_start(env: Env, _poll: Handle, _on_ready: Function<(), ()>) -> napi::Result<Handle> {
  guard(&env, || {
    Err(Error::unavailable(
      "uv_poll watch mode needs a pollable selector (epoll or kqueue); here watch mode uses a polling thread",
    ))
  })
}

#[napi]
pub fn watch_stop(env: Env, _handle: Handle) -> napi::Result<bool> {
  guard(&env, || Ok(false))
}

/// Stops the watch `handle`: there are none here.
pub fn stop(_handle: Handle) -> bool {
  false
}

#[napi]
pub fn watch_ref(env: Env, _handle: Handle, _keep_alive: bool) -> napi::Result<()> {
  guard(&env, || Ok(()))
}
