//! `mio::unix::pipe`: a non-blocking, close-on-exec pipe.

use napi::Env;
use napi_derive::napi;

use crate::boundary::guard;
use crate::error::Error;
use crate::handle::Handle;
use crate::source::{self, Io};

/// `pipe::new()`: `[sender, receiver]` handles. Closing the sender gives the
/// receiver a read-closed event, and the other way round.
#[napi(ts_return_type = "[Handle, Handle]")]
pub fn pipe_new(env: Env) -> napi::Result<Vec<Handle>> {
  guard(&env, || {
    let (sender, receiver) = mio::unix::pipe::new().map_err(|e| Error::system(&e, "pipe"))?;
    Ok(vec![
      source::insert(Io::PipeSender(sender)),
      source::insert(Io::PipeReceiver(receiver)),
    ])
  })
}
