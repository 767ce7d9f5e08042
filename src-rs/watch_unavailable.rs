//! Watch mode where the selector has no descriptor libuv can poll (Windows:
//! IOCP). The functions exist so the JavaScript API is the same everywhere;
//! starting a watch reports that this build cannot.

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
    "watch mode and pollAsync need a pollable selector (epoll or kqueue: Linux, macOS, FreeBSD); \
     on Windows use a blocking poll() in a worker",
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
