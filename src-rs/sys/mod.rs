//! Platform specifics, as in mio's `sys/`: error numbers, and the event loop
//! watch mode rides on.

#[cfg(unix)]
pub mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;

use socket2::SockAddr;

use crate::napi_raw::JsBytes;

/// The most datagrams one batch call moves (the wrapper splits larger
/// batches).
pub const MAX_BATCH: usize = 64;

/// One datagram of a batch: its bytes (JavaScript memory, see `JsBytes`),
/// its peer, and what the kernel reported of it.
pub struct Datagram<'call> {
  pub buf: JsBytes<'call>,
  /// Send: the target (`None`: the connected peer). Receive: the sender.
  pub peer: Option<SockAddr>,
  /// Receive: the bytes written to `buf`.
  pub size: usize,
  /// Receive: the datagram was longer than `buf` (`MSG_TRUNC`).
  pub truncated: bool,
  /// Send: the GSO segment size (`UDP_SEGMENT`, 0: none). Receive: the GRO
  /// segment size of coalesced datagrams (0: one datagram).
  pub segment: u16,
}

impl Datagram<'_> {
  pub fn new(buf: JsBytes<'_>, peer: Option<SockAddr>, segment: u16) -> Datagram<'_> {
    Datagram {
      buf,
      peer,
      size: 0,
      truncated: false,
      segment,
    }
  }
}
