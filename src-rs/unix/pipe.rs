//! `mio::unix::pipe`: a non-blocking, close-on-exec pipe.

use napi::Env;
use napi_derive::napi;

use crate::boundary::guard;
use crate::error::Error;
use crate::source::{self, Fresh, HandlePair, Io};

/// `pipe::new()`: the handles of the sender (`first`) and the receiver
/// (`second`). Closing the sender gives the receiver a read-closed event,
/// and the other way round.
#[napi(ts_return_type = "HandlePair")]
pub fn pipe_new(env: Env) -> napi::Result<Fresh<HandlePair>> {
  guard(&env, || {
    let (sender, receiver) = mio::unix::pipe::new().map_err(|e| Error::system(&e, "pipe"))?;
    source::fresh_pair(Io::PipeSender(sender), Io::PipeReceiver(receiver))
  })
}
