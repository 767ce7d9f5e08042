//! `Events` and `Event`: how readiness crosses into JavaScript.
//!
//! JavaScript allocates one `Float64Array` per `Events` (two slots an event:
//! the token, then the readiness bits below). `poll` fills it in place and
//! returns the count, so a poll allocates nothing on either side. A token is
//! at most 2^53 - 1 (see `token.rs`), which a double holds exactly.

use napi_derive::napi;

#[napi]
pub const EVENT_READABLE: u32 = 1;
#[napi]
pub const EVENT_WRITABLE: u32 = 2;
#[napi]
pub const EVENT_ERROR: u32 = 4;
#[napi]
pub const EVENT_READ_CLOSED: u32 = 8;
#[napi]
pub const EVENT_WRITE_CLOSED: u32 = 16;
#[napi]
pub const EVENT_PRIORITY: u32 = 32;
#[napi]
pub const EVENT_AIO: u32 = 64;
#[napi]
pub const EVENT_LIO: u32 = 128;
/// Slots per event in the `Float64Array`.
#[napi]
pub const EVENT_STRIDE: u32 = 2;
/// The largest `Events` capacity the binding accepts.
#[napi]
pub const EVENTS_MAX_CAPACITY: u32 = 1 << 20;

/// The readiness bits of one mio event.
pub fn bits(event: &mio::event::Event) -> u32 {
  let mut bits = 0;
  if event.is_readable() {
    bits |= EVENT_READABLE;
  }
  if event.is_writable() {
    bits |= EVENT_WRITABLE;
  }
  if event.is_error() {
    bits |= EVENT_ERROR;
  }
  if event.is_read_closed() {
    bits |= EVENT_READ_CLOSED;
  }
  if event.is_write_closed() {
    bits |= EVENT_WRITE_CLOSED;
  }
  if event.is_priority() {
    bits |= EVENT_PRIORITY;
  }
  if event.is_aio() {
    bits |= EVENT_AIO;
  }
  if event.is_lio() {
    bits |= EVENT_LIO;
  }
  bits
}

/// Copies a batch into the JavaScript array; returns how many were written.
pub fn fill(events: &mio::Events, out: &mut [f64]) -> u32 {
  let mut written = 0;
  for (event, slot) in events
    .iter()
    .zip(out.chunks_exact_mut(EVENT_STRIDE as usize))
  {
    slot[0] = crate::token::to_js(event.token());
    slot[1] = f64::from(bits(event));
    written += 1;
  }
  written
}
