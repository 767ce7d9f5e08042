//! Helpers shared by the native side of node-mio's benchmarks.

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
