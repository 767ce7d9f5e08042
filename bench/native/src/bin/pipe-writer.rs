//! The producer of the descriptor-events scenario of `npm run bench`: makes
//! `--pipes` FIFOs readable over and over, one byte at a time, for a watcher
//! process (node-mio's `SourceFd`, or the `epoll` npm package) that counts
//! the readiness events and reads the bytes. Linux only.
//!
//! Usage: `pipe-writer --dir DIR [--pipes N] [--warmup S] [--secs S]`, driven
//! by scripts/bench.mjs:
//! 1. Creates `DIR/fifo-0` .. `DIR/fifo-<N-1>` (mode 0600) and opens each
//!    `O_RDWR | O_NONBLOCK` (on Linux that never blocks, and makes this
//!    process each FIFO's only writer), then prints `ready`.
//! 2. Reads the watcher's pid from stdin (one line), once the watcher has
//!    opened the read ends and registered them.
//! 3. Paces the bytes: a FIFO gets its next byte (its sequence number, mod
//!    256) only when the last one was read (`FIONREAD` says 0 bytes unread),
//!    so every byte is one readiness event and no FIFO ever holds more than
//!    one. All N are kept armed at once: the watcher gets them in batches
//!    when it is slower than this loop, one by one when it is faster.
//! 4. Warms up for `--warmup` seconds, then measures `--secs` seconds: bytes
//!    read by the watcher (= events) and the watcher's CPU time (utime +
//!    stime of all its threads, from `/proc/<pid>/stat`) over the window.
//! 5. Stops writing, waits (at most 5 s) until the watcher read every byte,
//!    prints one JSON line, then closes the FIFOs (the watcher reads end of
//!    file on each, prints its own count and exits) and removes them.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, BufRead, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use node_mio_bench::args::Usage;
use node_mio_bench::json::{self, Line};
use node_mio_bench::window::{Measured, Window};

const USAGE: Usage = Usage("pipe-writer --dir DIR [--pipes N] [--warmup S] [--secs S]");

/// A watcher that reads nothing for this long is stuck (or gone).
const STALL: Duration = Duration::from_secs(5);

struct Config {
  dir: PathBuf,
  pipes: usize,
  warmup: Duration,
  secs: Duration,
}

fn parse_args() -> io::Result<Config> {
  let mut cfg = Config {
    dir: PathBuf::new(),
    pipes: 16,
    warmup: Duration::from_secs(1),
    secs: Duration::from_secs(4),
  };
  for opt in USAGE.options()? {
    match opt.key.as_str() {
      "--dir" => cfg.dir = PathBuf::from(&opt.value),
      "--pipes" => cfg.pipes = opt.parse()?,
      "--warmup" => cfg.warmup = opt.seconds()?,
      "--secs" => cfg.secs = opt.seconds()?,
      _ => return Err(opt.unknown()),
    }
  }
  if cfg.dir.as_os_str().is_empty() || !cfg.dir.is_dir() {
    return Err(USAGE.error("--dir must name an existing directory"));
  }
  if !(1..=1000).contains(&cfg.pipes) {
    return Err(USAGE.error("--pipes must be 1..1000"));
  }
  Ok(cfg)
}

/// Creates the FIFO at `path` and opens it read-write, non-blocking.
fn make_fifo(path: &Path) -> io::Result<File> {
  let c = CString::new(path.as_os_str().as_encoded_bytes())
    .map_err(|_| USAGE.error("--dir holds a NUL byte"))?;
  // SAFETY: `c` is a valid NUL-terminated path; the descriptor returned by
  // `open` is owned by the `File` from here on.
  unsafe {
    if libc::mkfifo(c.as_ptr(), 0o600) != 0 {
      return Err(io::Error::last_os_error());
    }
    let fd = libc::open(
      c.as_ptr(),
      libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
    );
    if fd < 0 {
      return Err(io::Error::last_os_error());
    }
    Ok(File::from_raw_fd(fd))
  }
}

/// Bytes written to `fifo` and not read yet.
fn unread(fifo: &File) -> io::Result<i32> {
  let mut n: libc::c_int = 0;
  // SAFETY: FIONREAD writes one c_int through the pointer.
  if unsafe { libc::ioctl(fifo.as_raw_fd(), libc::FIONREAD, &mut n) } != 0 {
    return Err(io::Error::last_os_error());
  }
  Ok(n)
}

struct Outcome {
  events: u64,
  window: Measured,
  written: u64,
  drained: bool,
  error: Option<String>,
}

fn run(cfg: &Config, fifos: &[File], watcher: u32) -> io::Result<Outcome> {
  let n = fifos.len();
  // A FIFO is armed while its last byte is unread.
  let mut armed = vec![false; n];
  let mut seq = vec![0u8; n];
  let mut written = 0u64;
  let mut consumed = 0u64;
  // Events read before the window started (`None`: it has not started).
  let mut consumed_before = None;
  let mut error = None;
  let mut window = Window::new(cfg.warmup, cfg.secs, Some(watcher));
  let mut last_progress = Instant::now();
  let mut now = last_progress;
  'run: while window.running(now) {
    let mut progress = false;
    for i in 0..n {
      if armed[i] {
        if unread(&fifos[i])? > 0 {
          continue;
        }
        armed[i] = false;
        consumed += 1;
        progress = true;
      }
      match (&fifos[i]).write(&[seq[i]]) {
        Ok(1) => {
          armed[i] = true;
          seq[i] = seq[i].wrapping_add(1);
          written += 1;
        }
        Ok(_) => unreachable!("a one-byte write takes the byte or fails"),
        Err(e) => {
          error = Some(format!("write to fifo-{i}: {e}"));
          break 'run;
        }
      }
    }
    now = Instant::now();
    if progress {
      last_progress = now;
    } else if now.duration_since(last_progress) > STALL {
      error = Some(format!(
        "the watcher read nothing for {} s",
        STALL.as_secs()
      ));
      break;
    }
    if window.start_if_due(now) {
      consumed_before = Some(consumed);
    }
  }
  let events = consumed - consumed_before.unwrap_or(consumed);
  let window = window.finish();
  // Let the watcher read what is still armed.
  let deadline = Instant::now() + STALL;
  let mut drained = false;
  while Instant::now() < deadline {
    let mut left = 0;
    for f in fifos {
      if unread(f)? > 0 {
        left += 1;
      }
    }
    if left == 0 {
      drained = true;
      break;
    }
    std::thread::sleep(Duration::from_millis(1));
  }
  if window.peer_gone && error.is_none() {
    error = Some("the watcher exited during the window".into());
  }
  Ok(Outcome {
    events,
    window,
    written,
    drained,
    error,
  })
}

/// Makes the FIFOs (their paths go to `paths`, for removal), runs the
/// window for the watcher whose pid comes on stdin, and reports.
fn main_with(paths: &mut Vec<PathBuf>) -> io::Result<bool> {
  let cfg = parse_args()?;
  let mut fifos = Vec::with_capacity(cfg.pipes);
  for i in 0..cfg.pipes {
    let path = cfg.dir.join(format!("fifo-{i}"));
    fifos.push(make_fifo(&path)?);
    paths.push(path);
  }
  println!("ready");
  io::stdout().flush()?;
  let mut line = String::new();
  io::stdin().lock().read_line(&mut line)?;
  let pid: u32 = line.trim().parse().map_err(|_| {
    USAGE.error(&format!(
      "expected the watcher's pid on stdin, got {line:?}"
    ))
  })?;
  let o = run(&cfg, &fifos, pid)?;
  let seconds = o.window.seconds;
  let watcher_cpu = o.window.cpu.peer;
  let events = o.events as f64;
  Line::new(6)
    .count("pipes", cfg.pipes as u64)
    .count("events", o.events)
    .num("seconds", Some(seconds))
    .num("events_per_s", Some(events / seconds))
    .num("watcher_cpu_s", watcher_cpu)
    .num(
      "cpu_ns_per_event",
      watcher_cpu
        .filter(|_| o.events > 0)
        .map(|c| c * 1e9 / events),
    )
    .num(
      "events_per_cpu_s",
      watcher_cpu.filter(|&c| c > 0.0).map(|c| events / c),
    )
    .num("producer_cpu_s", o.window.cpu.own)
    .count("written", o.written)
    .flag("drained", o.drained)
    .text("error", o.error.as_deref())
    .print()?;
  // Closing the FIFOs (dropping `fifos`) gives the watcher end of file.
  drop(fifos);
  Ok(o.error.is_none() && o.drained && o.events > 0)
}

fn main() {
  let mut paths = Vec::new();
  let result = main_with(&mut paths);
  for path in &paths {
    let _ = std::fs::remove_file(path);
  }
  json::exit("pipe-writer", result);
}
