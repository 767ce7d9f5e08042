//! `mio::unix::pipe`: a non-blocking, close-on-exec pipe.

use napi::Env;
use napi_derive::napi;

use crate::error::{self, Result};
use crate::handle::Handle;
use crate::source::{self, Io};

/// `pipe::new()`: `[sender, receiver]` handles. Closing the sender gives the
/// receiver a read-closed event, and the other way round.
#[napi(ts_return_type = "[Handle, Handle]")]
pub fn pipe_new(env: Env) -> Result<Vec<Handle>> {
  let (sender, receiver) =
    mio::unix::pipe::new().map_err(|e| error::system(&env, &e, "pipe", None))?;
  Ok(vec![
    source::insert(Io::PipeSender(sender)),
    source::insert(Io::PipeReceiver(receiver)),
  ])
}
