//! A timed run in two phases: a warm-up, then the measured window, with the
//! CPU time of the measured process and of this one over the window.

use std::time::{Duration, Instant};

use crate::cpu::CpuMark;

pub struct Window {
  warm_end: Instant,
  end: Instant,
  /// The measured process (`None`: this process only).
  peer: Option<u32>,
  /// When the window started, and the CPU times then.
  started: Option<(Instant, CpuMark)>,
}

/// What a window measured.
pub struct Measured {
  /// Seconds from the window's start to its end (0 if it never started).
  pub seconds: f64,
  /// CPU seconds the measured process and this one used in the window.
  pub cpu: CpuMark,
  /// The measured process was readable at the start and gone at the end.
  pub peer_gone: bool,
}

impl Window {
  /// A window that starts `warmup` from now and lasts `secs`.
  pub fn new(warmup: Duration, secs: Duration, peer: Option<u32>) -> Self {
    let now = Instant::now();
    Window {
      warm_end: now + warmup,
      end: now + warmup + secs,
      peer,
      started: None,
    }
  }

  /// Starts the window (marks the CPU times) at the first call after the
  /// warm-up; true for that call only.
  pub fn start_if_due(&mut self, now: Instant) -> bool {
    if self.started.is_some() || now < self.warm_end {
      return false;
    }
    self.started = Some((now, CpuMark::now(self.peer)));
    true
  }

  /// Whether `now` is before the window's end.
  pub fn running(&self, now: Instant) -> bool {
    now < self.end
  }

  /// Time left until the warm-up's or the window's end, at most `cap`.
  pub fn timeout(&self, cap: Duration) -> Duration {
    let next = if self.started.is_none() {
      self.warm_end
    } else {
      self.end
    };
    next.saturating_duration_since(Instant::now()).min(cap)
  }

  /// Closes the window now.
  pub fn finish(self) -> Measured {
    match self.started {
      Some((from, start)) => Measured::since(from, start, self.peer),
      None => Measured::since(Instant::now(), CpuMark::now(self.peer), self.peer),
    }
  }
}

impl Measured {
  /// A window that started at `from` with CPU times `start`, closed now.
  pub fn since(from: Instant, start: CpuMark, peer: Option<u32>) -> Self {
    let end = CpuMark::now(peer);
    Measured {
      seconds: from.elapsed().as_secs_f64(),
      cpu: start.until(&end),
      peer_gone: start.peer.is_some() && end.peer.is_none(),
    }
  }
}
