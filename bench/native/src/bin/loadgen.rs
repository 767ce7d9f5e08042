//! The load generator of `npm run bench`: one thread, one mio `Poll`,
//! loopback only.
//!
//! Modes:
//! - `--proto tcp --mode echo`: `--conns` connections (`TCP_NODELAY`), each
//!   keeping `--inflight` messages of `--size` bytes in flight; every echoed
//!   message is checked byte for byte and its round trip timed.
//! - `--proto udp --mode echo`: the same with `--conns` UDP sockets, one
//!   datagram per message; a socket whose replies stop for 500 ms sends again
//!   (counted as `lost`: dropped, or late because a process stalled).
//! - `--proto tcp --mode bulk`: one connection streams `--bytes` bytes in
//!   `--chunk`-byte writes of a deterministic pattern (period 2^20 - 3 bytes,
//!   so a lost, duplicated or reordered piece shows) and checks the echoed
//!   stream against it.
//!
//! Echo runs `--warmup` seconds, then measures `--secs` seconds; bulk
//! measures after the first 1/16 of the stream comes back. With
//! `--server-pid`, the server's CPU time (utime + stime from
//! `/proc/<pid>/stat`) is read at the window's start and end.
//!
//! Prints one JSON line: ops, seconds, ops_per_s, p50_us, p99_us, mean_us,
//! max_us, server_cpu_s, cpu_us_per_op, client_cpu_s, bytes, verified, lost,
//! errors.

use std::collections::VecDeque;
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::{TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token};
use node_mio_bench::args::Usage;
use node_mio_bench::cpu::CpuMark;
use node_mio_bench::json::{self, Line};
use node_mio_bench::poll::wait;
use node_mio_bench::window::{Measured, Window};

const USAGE: Usage = Usage(
  "loadgen --addr 127.0.0.1:PORT [--proto tcp|udp] [--mode echo|bulk] [--conns N] \
   [--size B] [--inflight K] [--warmup S] [--secs S] [--bytes N] [--chunk B] [--server-pid PID] [--timeout S]",
);

const TICK: Duration = Duration::from_millis(100);
const UDP_RESEND: Duration = Duration::from_millis(500);
/// Bounds the latency record: 50 M round trips (200 MB of u32).
const MAX_SAMPLES: usize = 50_000_000;
/// The bulk pattern's period: a prime just under 2^20.
const PERIOD: usize = (1 << 20) - 3;
const READ_BUF: usize = 256 * 1024;

#[derive(Clone)]
struct Config {
  addr: SocketAddr,
  proto: String,
  mode: String,
  conns: usize,
  size: usize,
  inflight: usize,
  warmup: Duration,
  secs: Duration,
  bytes: u64,
  chunk: usize,
  server_pid: Option<u32>,
  timeout: Duration,
}

fn parse_args() -> io::Result<Config> {
  let mut cfg = Config {
    addr: SocketAddr::from(([127, 0, 0, 1], 0)),
    proto: "tcp".into(),
    mode: "echo".into(),
    conns: 50,
    size: 64,
    inflight: 1,
    warmup: Duration::from_secs(1),
    secs: Duration::from_secs(4),
    bytes: 1 << 30,
    chunk: 64 * 1024,
    server_pid: None,
    timeout: Duration::from_secs(600),
  };
  for opt in USAGE.options()? {
    match opt.key.as_str() {
      "--addr" => cfg.addr = opt.parse()?,
      "--proto" => cfg.proto = opt.value.clone(),
      "--mode" => cfg.mode = opt.value.clone(),
      "--conns" => cfg.conns = opt.parse()?,
      "--size" => cfg.size = opt.parse()?,
      "--inflight" => cfg.inflight = opt.parse()?,
      "--warmup" => cfg.warmup = opt.seconds()?,
      "--secs" => cfg.secs = opt.seconds()?,
      "--bytes" => cfg.bytes = opt.parse()?,
      "--chunk" => cfg.chunk = opt.parse()?,
      "--server-pid" => cfg.server_pid = Some(opt.parse()?),
      "--timeout" => cfg.timeout = opt.seconds()?,
      _ => return Err(opt.unknown()),
    }
  }
  if !cfg.addr.ip().is_loopback() || cfg.addr.port() == 0 {
    return Err(USAGE.error("--addr must be a loopback address with a port"));
  }
  if !(1..=10_000).contains(&cfg.conns)
    || !(1..=65_507).contains(&cfg.size)
    || !(1..=1024).contains(&cfg.inflight)
    || !(1..=READ_BUF).contains(&cfg.chunk)
    || cfg.bytes == 0
  {
    return Err(USAGE.error("--conns, --size, --inflight, --chunk or --bytes out of range"));
  }
  Ok(cfg)
}

/// Round-trip times of the measured window, in nanoseconds.
struct Samples {
  ns: Vec<u32>,
  recording: bool,
}

impl Samples {
  fn record(&mut self, since: Instant, now: Instant) {
    if self.recording && self.ns.len() < MAX_SAMPLES {
      let ns = now.saturating_duration_since(since).as_nanos();
      self.ns.push(u32::try_from(ns).unwrap_or(u32::MAX));
    }
  }
}

struct Outcome {
  ops: f64,
  /// The measured window: its length, and the server's (`peer`) and this
  /// process's (`own`) CPU time in it.
  window: Measured,
  samples: Vec<u32>,
  /// Bulk: bytes streamed and checked end to end, and bytes in the window.
  bytes: u64,
  window_bytes: u64,
  verified: bool,
  lost: u64,
  errors: u64,
  error: Option<String>,
}

fn main() {
  let result = parse_args().and_then(|cfg| {
    let outcome = match (cfg.proto.as_str(), cfg.mode.as_str()) {
      ("tcp", "echo") => tcp_echo(&cfg)?,
      ("udp", "echo") => udp_echo(&cfg)?,
      ("tcp", "bulk") => tcp_bulk(&cfg)?,
      _ => return Err(USAGE.error("--proto/--mode must be tcp/echo, udp/echo or tcp/bulk")),
    };
    report(&outcome)
  });
  json::exit("loadgen", result);
}

/// Prints the JSON line; true when the run was clean.
fn report(o: &Outcome) -> io::Result<bool> {
  let mut s = o.samples.clone();
  s.sort_unstable();
  let rank = |q: f64| -> Option<f64> {
    if s.is_empty() {
      return None;
    }
    let i = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1;
    Some(f64::from(s[i]) / 1000.0)
  };
  let mean = if s.is_empty() {
    None
  } else {
    Some(s.iter().map(|&v| f64::from(v)).sum::<f64>() / s.len() as f64 / 1000.0)
  };
  let server_cpu = o.window.cpu.peer;
  let seconds = o.window.seconds;
  Line::new(4)
    .num("ops", Some(o.ops))
    .num("seconds", Some(seconds))
    .num("ops_per_s", Some(o.ops / seconds))
    .num("p50_us", rank(0.5))
    .num("p99_us", rank(0.99))
    .num("mean_us", mean)
    .num("max_us", rank(1.0))
    .count("samples", s.len() as u64)
    .num("server_cpu_s", server_cpu)
    .num(
      "cpu_us_per_op",
      server_cpu.filter(|_| o.ops > 0.0).map(|c| c * 1e6 / o.ops),
    )
    .num("client_cpu_s", o.window.cpu.own)
    .count("bytes", o.bytes)
    .count("window_bytes", o.window_bytes)
    .flag("verified", o.verified)
    .count("lost", o.lost)
    .count("errors", o.errors)
    .text("error", o.error.as_deref())
    .print()?;
  Ok(o.verified && o.error.is_none() && o.errors == 0 && o.ops > 0.0)
}

/// Echo message content: the same bytes for every message.
fn message(size: usize) -> Vec<u8> {
  (0..size).map(|i| (i.wrapping_mul(31) + 7) as u8).collect()
}

/// Starts recording when the window starts; false once it ends.
fn advance(window: &mut Window, samples: &mut Samples, ops: &mut f64) -> bool {
  let now = Instant::now();
  if window.start_if_due(now) {
    samples.recording = true;
    samples.ns.clear();
    *ops = 0.0;
  }
  window.running(now)
}

struct TcpConn {
  stream: TcpStream,
  /// When each message in flight was queued, oldest first.
  in_flight: VecDeque<Instant>,
  /// Bytes queued but not yet written.
  unsent: usize,
  /// Bytes written so far, modulo the message size.
  tx_pos: usize,
  /// Bytes of the current echoed message received so far.
  rx_pos: usize,
  dead: bool,
}

fn connect_all(cfg: &Config, poll: &mut Poll, events: &mut Events) -> io::Result<Vec<TcpStream>> {
  let mut streams = Vec::with_capacity(cfg.conns);
  for i in 0..cfg.conns {
    let mut stream = TcpStream::connect(cfg.addr)?;
    poll.registry().register(
      &mut stream,
      Token(i),
      Interest::READABLE | Interest::WRITABLE,
    )?;
    streams.push(stream);
  }
  let mut connected = vec![false; cfg.conns];
  let mut left = cfg.conns;
  let deadline = Instant::now() + Duration::from_secs(10);
  while left > 0 {
    if Instant::now() >= deadline {
      return Err(io::Error::new(ErrorKind::TimedOut, "connect timed out"));
    }
    poll.poll(events, Some(TICK))?;
    for event in events.iter() {
      let i = event.token().0;
      if connected[i] || !event.is_writable() {
        continue;
      }
      if let Some(e) = streams[i].take_error()? {
        return Err(e);
      }
      match streams[i].peer_addr() {
        Ok(_) => {
          streams[i].set_nodelay(true)?;
          connected[i] = true;
          left -= 1;
        }
        Err(e) if e.kind() == ErrorKind::NotConnected => {}
        Err(e) => return Err(e),
      }
    }
  }
  Ok(streams)
}

fn tcp_echo(cfg: &Config) -> io::Result<Outcome> {
  let mut poll = Poll::new()?;
  let mut events = Events::with_capacity(1024);
  let streams = connect_all(cfg, &mut poll, &mut events)?;
  let msg = message(cfg.size);
  // The message repeated so that any run of queued messages is one slice.
  let train: Vec<u8> = msg.repeat(cfg.inflight + 1);
  let mut rbuf = vec![0u8; READ_BUF];
  let mut conns: Vec<TcpConn> = streams
    .into_iter()
    .map(|stream| TcpConn {
      stream,
      in_flight: VecDeque::with_capacity(cfg.inflight),
      unsent: 0,
      tx_pos: 0,
      rx_pos: 0,
      dead: false,
    })
    .collect();
  let mut samples = Samples {
    ns: Vec::with_capacity(1 << 20),
    recording: false,
  };
  let mut ops = 0.0;
  let mut verified = true;
  let mut errors = 0;
  let mut window = Window::new(cfg.warmup, cfg.secs, cfg.server_pid);
  let start = Instant::now();
  for conn in &mut conns {
    for _ in 0..cfg.inflight {
      conn.in_flight.push_back(start);
    }
    conn.unsent = cfg.inflight * cfg.size;
    if !flush(conn, &train, cfg.size) {
      errors += 1;
    }
  }
  while advance(&mut window, &mut samples, &mut ops) {
    wait(&mut poll, &mut events, window.timeout(TICK))?;
    for event in events.iter() {
      let conn = &mut conns[event.token().0];
      if conn.dead {
        continue;
      }
      if event.is_readable() {
        'read: loop {
          let n = match conn.stream.read(&mut rbuf) {
            Ok(0) => {
              conn.dead = true;
              errors += 1;
              break;
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => {
              conn.dead = true;
              errors += 1;
              break;
            }
          };
          let now = Instant::now();
          let mut got = &rbuf[..n];
          while !got.is_empty() {
            let take = got.len().min(cfg.size - conn.rx_pos);
            if got[..take] != msg[conn.rx_pos..conn.rx_pos + take] {
              verified = false;
            }
            got = &got[take..];
            conn.rx_pos += take;
            if conn.rx_pos == cfg.size {
              conn.rx_pos = 0;
              let Some(sent) = conn.in_flight.pop_front() else {
                // More came back than was sent.
                verified = false;
                conn.dead = true;
                break 'read;
              };
              samples.record(sent, now);
              ops += 1.0;
              conn.in_flight.push_back(now);
              conn.unsent += cfg.size;
            }
          }
        }
      }
      if !conn.dead && conn.unsent > 0 && !flush(conn, &train, cfg.size) {
        conn.dead = true;
        errors += 1;
      }
    }
  }
  Ok(Outcome {
    ops,
    window: window.finish(),
    samples: samples.ns,
    bytes: 0,
    window_bytes: 0,
    verified,
    lost: 0,
    errors,
    error: None,
  })
}

/// Writes queued message bytes until done or the socket would block; false
/// on a write error.
fn flush(conn: &mut TcpConn, train: &[u8], size: usize) -> bool {
  while conn.unsent > 0 {
    let from = conn.tx_pos;
    match conn.stream.write(&train[from..from + conn.unsent]) {
      Ok(n) => {
        conn.unsent -= n;
        conn.tx_pos = (from + n) % size;
      }
      Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
      Err(e) if e.kind() == ErrorKind::Interrupted => {}
      Err(_) => return false,
    }
  }
  true
}

struct UdpConn {
  socket: UdpSocket,
  in_flight: VecDeque<Instant>,
  last_reply: Instant,
}

fn udp_echo(cfg: &Config) -> io::Result<Outcome> {
  let mut poll = Poll::new()?;
  let mut events = Events::with_capacity(1024);
  let msg = message(cfg.size);
  let mut rbuf = vec![0u8; 65_536];
  let mut conns = Vec::with_capacity(cfg.conns);
  for i in 0..cfg.conns {
    let mut socket = UdpSocket::bind(SocketAddr::new(cfg.addr.ip(), 0))?;
    socket.connect(cfg.addr)?;
    poll
      .registry()
      .register(&mut socket, Token(i), Interest::READABLE)?;
    conns.push(UdpConn {
      socket,
      in_flight: VecDeque::with_capacity(cfg.inflight),
      last_reply: Instant::now(),
    });
  }
  let mut samples = Samples {
    ns: Vec::with_capacity(1 << 20),
    recording: false,
  };
  let mut ops = 0.0;
  let mut verified = true;
  let mut errors = 0u64;
  let mut lost = 0u64;
  let mut window = Window::new(cfg.warmup, cfg.secs, cfg.server_pid);
  let mut next_check = Instant::now() + UDP_RESEND;
  for conn in &mut conns {
    for _ in 0..cfg.inflight {
      send_datagram(conn, &msg, &mut errors);
    }
  }
  while advance(&mut window, &mut samples, &mut ops) {
    wait(&mut poll, &mut events, window.timeout(TICK))?;
    for event in events.iter() {
      let conn = &mut conns[event.token().0];
      loop {
        match conn.socket.recv(&mut rbuf) {
          Ok(n) => {
            let now = Instant::now();
            if rbuf[..n] != msg[..] {
              verified = false;
            }
            conn.last_reply = now;
            if let Some(sent) = conn.in_flight.pop_front() {
              samples.record(sent, now);
              ops += 1.0;
              send_datagram(conn, &msg, &mut errors);
            }
          }
          Err(e) if e.kind() == ErrorKind::WouldBlock => break,
          Err(e) if e.kind() == ErrorKind::Interrupted => {}
          Err(_) => {
            errors += 1;
            break;
          }
        }
      }
    }
    let now = Instant::now();
    if now >= next_check {
      next_check = now + TICK;
      for conn in &mut conns {
        let stalled = conn.in_flight.front().is_some_and(|&sent| {
          now.duration_since(sent) > UDP_RESEND && now.duration_since(conn.last_reply) > UDP_RESEND
        });
        if stalled {
          lost += conn.in_flight.len() as u64;
          conn.in_flight.clear();
          conn.last_reply = now;
          for _ in 0..cfg.inflight {
            send_datagram(conn, &msg, &mut errors);
          }
        }
      }
    }
  }
  Ok(Outcome {
    ops,
    window: window.finish(),
    samples: samples.ns,
    bytes: 0,
    window_bytes: 0,
    verified,
    lost,
    errors,
    error: None,
  })
}

/// Sends one datagram and notes when; a full buffer counts as sent and lost
/// (the resend timer picks it up).
fn send_datagram(conn: &mut UdpConn, msg: &[u8], errors: &mut u64) {
  match conn.socket.send(msg) {
    Ok(_) => {}
    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
    Err(_) => *errors += 1,
  }
  conn.in_flight.push_back(Instant::now());
}

/// The bulk pattern: `PERIOD` pseudo-random bytes, followed by its own
/// first `READ_BUF` bytes so that any offset has a contiguous slice.
fn pattern() -> Vec<u8> {
  let mut state = 0x9e37_79b9_7f4a_7c15u64;
  let mut out = Vec::with_capacity(PERIOD + READ_BUF + 8);
  while out.len() < PERIOD {
    // splitmix64
    state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    out.extend_from_slice(&z.to_le_bytes());
  }
  out.truncate(PERIOD);
  let head = out[..READ_BUF].to_vec();
  out.extend_from_slice(&head);
  out
}

fn tcp_bulk(cfg: &Config) -> io::Result<Outcome> {
  let mut poll = Poll::new()?;
  let mut events = Events::with_capacity(64);
  let one = Config {
    conns: 1,
    ..cfg.clone()
  };
  let mut stream = connect_all(&one, &mut poll, &mut events)?
    .pop()
    .expect("one stream");
  let pattern = pattern();
  let total = cfg.bytes;
  let warm = total / 16;
  let mut rbuf = vec![0u8; READ_BUF];
  let mut sent = 0u64;
  let mut received = 0u64;
  let mut verified = true;
  let mut error = None;
  // (stream offset a write ended at, when): timed when that byte returns.
  let mut marks: VecDeque<(u64, Instant)> = VecDeque::new();
  let mut samples = Samples {
    ns: Vec::with_capacity(1 << 16),
    recording: false,
  };
  let mut measuring: Option<(Instant, CpuMark, u64)> = None;
  let deadline = Instant::now() + cfg.timeout;
  'run: while received < total {
    if Instant::now() >= deadline {
      error = Some(format!("timed out after {received} of {total} bytes"));
      break;
    }
    // Write until the socket would block, then read until it would block.
    while sent < total {
      let at = (sent % PERIOD as u64) as usize;
      let len = (total - sent).min(cfg.chunk as u64) as usize;
      match stream.write(&pattern[at..at + len]) {
        Ok(n) => {
          sent += n as u64;
          marks.push_back((sent, Instant::now()));
        }
        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
        Err(e) if e.kind() == ErrorKind::Interrupted => {}
        Err(e) => {
          error = Some(format!("write: {e}"));
          break 'run;
        }
      }
    }
    loop {
      match stream.read(&mut rbuf) {
        Ok(0) => {
          error = Some(format!("end of stream after {received} of {total} bytes"));
          break 'run;
        }
        Ok(n) => {
          let at = (received % PERIOD as u64) as usize;
          if rbuf[..n] != pattern[at..at + n] {
            verified = false;
          }
          received += n as u64;
          let now = Instant::now();
          while marks.front().is_some_and(|&(end, _)| end <= received) {
            let (_, when) = marks.pop_front().expect("front");
            samples.record(when, now);
          }
          if measuring.is_none() && received >= warm {
            samples.recording = true;
            measuring = Some((now, CpuMark::now(cfg.server_pid), received));
          }
        }
        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
        Err(e) if e.kind() == ErrorKind::Interrupted => {}
        Err(e) => {
          error = Some(format!("read: {e}"));
          break 'run;
        }
      }
    }
    if received < total {
      wait(&mut poll, &mut events, TICK)?;
    }
  }
  let (from, start, bytes_before) =
    measuring.unwrap_or((Instant::now(), CpuMark::now(cfg.server_pid), received));
  let measured = received - bytes_before;
  Ok(Outcome {
    ops: measured as f64 / cfg.chunk as f64,
    window: Measured::since(from, start, cfg.server_pid),
    samples: samples.ns,
    bytes: received,
    window_bytes: measured,
    verified: verified && received == total,
    lost: 0,
    errors: 0,
    error,
  })
}
