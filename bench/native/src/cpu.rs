//! CPU time: of a process (all its threads) from `/proc`, of this thread
//! from the clock, and of a measured process and this one together.

/// utime + stime of a process (all its threads), in seconds, from
/// `/proc/<pid>/stat`; `pid` may be `"self"`. `None` once the process is gone.
pub fn cpu_seconds(pid: &str) -> Option<f64> {
  let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
  // The command name may hold spaces and parentheses: fields start after
  // the last ')', with field 3 (state) first.
  let rest = &stat[stat.rfind(')')? + 1..];
  let fields: Vec<&str> = rest.split_whitespace().collect();
  let utime: f64 = fields.get(11)?.parse().ok()?;
  let stime: f64 = fields.get(12)?.parse().ok()?;
  // SAFETY: sysconf has no preconditions.
  let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
  let ticks = if ticks > 0 { ticks as f64 } else { 100.0 };
  Some((utime + stime) / ticks)
}

/// CPU time of the calling thread so far, in ns.
#[cfg(unix)]
pub fn thread_cpu_ns() -> Option<f64> {
  let mut ts = libc::timespec {
    tv_sec: 0,
    tv_nsec: 0,
  };
  // SAFETY: `ts` is a valid out-pointer.
  let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0;
  ok.then_some(ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64)
}

#[cfg(not(unix))]
pub fn thread_cpu_ns() -> Option<f64> {
  None
}

/// CPU seconds of the measured process (`peer`: the server, the watcher)
/// and of this process at one instant; `None` where unreadable.
#[derive(Clone, Copy)]
pub struct CpuMark {
  pub peer: Option<f64>,
  pub own: Option<f64>,
}

impl CpuMark {
  pub fn now(peer: Option<u32>) -> Self {
    CpuMark {
      peer: peer.and_then(|p| cpu_seconds(&p.to_string())),
      own: cpu_seconds("self"),
    }
  }

  /// CPU seconds each process used from `self` to `end`.
  pub fn until(&self, end: &CpuMark) -> CpuMark {
    let diff = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| b - a);
    CpuMark {
      peer: diff(self.peer, end.peer),
      own: diff(self.own, end.own),
    }
  }
}
