//! Polling through signals.

use std::io::{self, ErrorKind};
use std::time::Duration;

use mio::{Events, Poll};

/// One `poll`, waiting at most `timeout`; a signal gives an empty batch.
pub fn wait(poll: &mut Poll, events: &mut Events, timeout: Duration) -> io::Result<()> {
  match poll.poll(events, Some(timeout)) {
    Err(e) if e.kind() == ErrorKind::Interrupted => {
      events.clear();
      Ok(())
    }
    other => other,
  }
}
