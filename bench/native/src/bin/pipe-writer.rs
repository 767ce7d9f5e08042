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
use std::io::{self, BufRead, ErrorKind, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use node_mio_bench::cpu_seconds;

/// A watcher that reads nothing for this long is stuck (or gone).
const STALL: Duration = Duration::from_secs(5);

struct Config {
  dir: PathBuf,
  pipes: usize,
  warmup: Duration,
  secs: Duration,
}

fn usage(msg: &str) -> io::Error {
  io::Error::new(
    ErrorKind::InvalidInput,
    format!("{msg}\nusage: pipe-writer --dir DIR [--pipes N] [--warmup S] [--secs S]"),
  )
}

fn parse_args() -> io::Result<Config> {
  let mut cfg = Config {
    dir: PathBuf::new(),
    pipes: 16,
    warmup: Duration::from_secs(1),
    secs: Duration::from_secs(4),
  };
  let args: Vec<String> = std::env::args().skip(1).collect();
  let mut it = args.iter();
  while let Some(key) = it.next() {
    let value = it
      .next()
      .ok_or_else(|| usage(&format!("{key} needs a value")))?;
    let bad = || usage(&format!("bad value for {key}: {value}"));
    let seconds = |v: &str| -> io::Result<Duration> {
      let s: f64 = v.parse().map_err(|_| bad())?;
      Duration::try_from_secs_f64(s).map_err(|_| bad())
    };
    match key.as_str() {
      "--dir" => cfg.dir = PathBuf::from(value),
      "--pipes" => cfg.pipes = value.parse().map_err(|_| bad())?,
      "--warmup" => cfg.warmup = seconds(value)?,
      "--secs" => cfg.secs = seconds(value)?,
      _ => return Err(usage(&format!("unknown option {key}"))),
    }
  }
  if cfg.dir.as_os_str().is_empty() || !cfg.dir.is_dir() {
    return Err(usage("--dir must name an existing directory"));
  }
  if !(1..=1000).contains(&cfg.pipes) {
    return Err(usage("--pipes must be 1..1000"));
  }
  Ok(cfg)
}

/// Creates the FIFO at `path` and opens it read-write, non-blocking.
fn make_fifo(path: &Path) -> io::Result<File> {
  let c = CString::new(path.as_os_str().as_encoded_bytes())
    .map_err(|_| usage("--dir holds a NUL byte"))?;
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
  seconds: f64,
  watcher_cpu: Option<f64>,
  producer_cpu: Option<f64>,
  written: u64,
  drained: bool,
  error: Option<String>,
}

fn run(cfg: &Config, fifos: &[File], watcher: &str) -> io::Result<Outcome> {
  let n = fifos.len();
  // A FIFO is armed while its last byte is unread.
  let mut armed = vec![false; n];
  let mut seq = vec![0u8; n];
  let mut written = 0u64;
  let mut consumed = 0u64;
  let mut error = None;
  let start = Instant::now();
  let warm_end = start + cfg.warmup;
  let end = warm_end + cfg.secs;
  let mut window: Option<(Instant, u64, Option<f64>, Option<f64>)> = None;
  let mut last_progress = start;
  let mut now = start;
  'run: while now < end {
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
    if window.is_none() && now >= warm_end {
      window = Some((now, consumed, cpu_seconds(watcher), cpu_seconds("self")));
    }
  }
  let watcher_end = cpu_seconds(watcher);
  let producer_end = cpu_seconds("self");
  let stop = Instant::now();
  let (from, consumed_before, watcher_start, producer_start) =
    window.unwrap_or((stop, consumed, watcher_end, producer_end));
  let events = consumed - consumed_before;
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
  if watcher_start.is_some() && watcher_end.is_none() && error.is_none() {
    error = Some("the watcher exited during the window".into());
  }
  let diff = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| b - a);
  Ok(Outcome {
    events,
    seconds: stop.duration_since(from).as_secs_f64(),
    watcher_cpu: diff(watcher_start, watcher_end),
    producer_cpu: diff(producer_start, producer_end),
    written,
    drained,
    error,
  })
}

fn json_num(v: Option<f64>) -> String {
  match v {
    Some(v) if v.is_finite() => format!("{v:.6}"),
    _ => "null".into(),
  }
}

fn main() {
  let mut paths = Vec::new();
  let result = parse_args().and_then(|cfg| {
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
    let pid: u32 = line
      .trim()
      .parse()
      .map_err(|_| usage(&format!("expected the watcher's pid on stdin, got {line:?}")))?;
    let o = run(&cfg, &fifos, &pid.to_string())?;
    let per_event = o
      .watcher_cpu
      .filter(|_| o.events > 0)
      .map(|c| c * 1e9 / o.events as f64);
    let per_cpu_s = o
      .watcher_cpu
      .filter(|&c| c > 0.0)
      .map(|c| o.events as f64 / c);
    let error = match &o.error {
      Some(e) => format!("\"{}\"", e.replace(['"', '\\', '\n'], " ")),
      None => "null".into(),
    };
    println!(
      "{{\"pipes\":{},\"events\":{},\"seconds\":{},\"events_per_s\":{},\"watcher_cpu_s\":{},\"cpu_ns_per_event\":{},\
       \"events_per_cpu_s\":{},\"producer_cpu_s\":{},\"written\":{},\"drained\":{},\"error\":{}}}",
      cfg.pipes,
      o.events,
      json_num(Some(o.seconds)),
      json_num(Some(o.events as f64 / o.seconds)),
      json_num(o.watcher_cpu),
      json_num(per_event),
      json_num(per_cpu_s),
      json_num(o.producer_cpu),
      o.written,
      o.drained,
      error
    );
    io::stdout().flush()?;
    // Closing the FIFOs (dropping `fifos`) gives the watcher end of file.
    drop(fifos);
    Ok(o.error.is_none() && o.drained && o.events > 0)
  });
  for path in &paths {
    let _ = std::fs::remove_file(path);
  }
  match result {
    Ok(ok) => std::process::exit(if ok { 0 } else { 1 }),
    Err(e) => {
      eprintln!("pipe-writer: {e}");
      println!(
        "{{\"error\":\"{}\"}}",
        e.to_string().replace(['"', '\\', '\n'], " ")
      );
      std::process::exit(2);
    }
  }
}
