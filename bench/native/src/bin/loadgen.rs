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
use node_mio_bench::cpu_seconds;

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

fn usage(msg: &str) -> io::Error {
  io::Error::new(
    ErrorKind::InvalidInput,
    format!(
      "{msg}\nusage: loadgen --addr 127.0.0.1:PORT [--proto tcp|udp] [--mode echo|bulk] [--conns N] \
       [--size B] [--inflight K] [--warmup S] [--secs S] [--bytes N] [--chunk B] [--server-pid PID] [--timeout S]"
    ),
  )
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
      "--addr" => cfg.addr = value.parse().map_err(|_| bad())?,
      "--proto" => cfg.proto = value.clone(),
      "--mode" => cfg.mode = value.clone(),
      "--conns" => cfg.conns = value.parse().map_err(|_| bad())?,
      "--size" => cfg.size = value.parse().map_err(|_| bad())?,
      "--inflight" => cfg.inflight = value.parse().map_err(|_| bad())?,
      "--warmup" => cfg.warmup = seconds(value)?,
      "--secs" => cfg.secs = seconds(value)?,
      "--bytes" => cfg.bytes = value.parse().map_err(|_| bad())?,
      "--chunk" => cfg.chunk = value.parse().map_err(|_| bad())?,
      "--server-pid" => cfg.server_pid = Some(value.parse().map_err(|_| bad())?),
      "--timeout" => cfg.timeout = seconds(value)?,
      _ => return Err(usage(&format!("unknown option {key}"))),
    }
  }
  if !cfg.addr.ip().is_loopback() || cfg.addr.port() == 0 {
    return Err(usage("--addr must be a loopback address with a port"));
  }
  if !(1..=10_000).contains(&cfg.conns)
    || !(1..=65_507).contains(&cfg.size)
    || !(1..=1024).contains(&cfg.inflight)
    || !(1..=READ_BUF).contains(&cfg.chunk)
    || cfg.bytes == 0
  {
    return Err(usage(
      "--conns, --size, --inflight, --chunk or --bytes out of range",
    ));
  }
  Ok(cfg)
}

/// CPU time of the server and of this process at one instant.
#[derive(Clone, Copy)]
struct CpuMark {
  server: Option<f64>,
  client: Option<f64>,
}

fn cpu_mark(cfg: &Config) -> CpuMark {
  CpuMark {
    server: cfg.server_pid.and_then(|p| cpu_seconds(&p.to_string())),
    client: cpu_seconds("self"),
  }
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
  seconds: f64,
  start: CpuMark,
  end: CpuMark,
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
      _ => {
        return Err(usage(
          "--proto/--mode must be tcp/echo, udp/echo or tcp/bulk",
        ))
      }
    };
    Ok(report(&outcome))
  });
  match result {
    Ok(ok) => std::process::exit(if ok { 0 } else { 1 }),
    Err(e) => {
      eprintln!("loadgen: {e}");
      println!(
        "{{\"error\":\"{}\"}}",
        e.to_string().replace(['"', '\\', '\n'], " ")
      );
      std::process::exit(2);
    }
  }
}

fn json_num(v: Option<f64>) -> String {
  match v {
    Some(v) if v.is_finite() => format!("{v:.4}"),
    _ => "null".into(),
  }
}

/// Prints the JSON line; true when the run was clean.
fn report(o: &Outcome) -> bool {
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
  let diff = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| b - a);
  let server_cpu = diff(o.start.server, o.end.server);
  let client_cpu = diff(o.start.client, o.end.client);
  let per_op = server_cpu.filter(|_| o.ops > 0.0).map(|c| c * 1e6 / o.ops);
  let error = match &o.error {
    Some(e) => format!("\"{}\"", e.replace(['"', '\\', '\n'], " ")),
    None => "null".into(),
  };
  println!(
    "{{\"ops\":{},\"seconds\":{},\"ops_per_s\":{},\"p50_us\":{},\"p99_us\":{},\"mean_us\":{},\"max_us\":{},\
     \"samples\":{},\"server_cpu_s\":{},\"cpu_us_per_op\":{},\"client_cpu_s\":{},\"bytes\":{},\"window_bytes\":{},\"verified\":{},\
     \"lost\":{},\"errors\":{},\"error\":{}}}",
    json_num(Some(o.ops)),
    json_num(Some(o.seconds)),
    json_num(Some(o.ops / o.seconds)),
    json_num(rank(0.5)),
    json_num(rank(0.99)),
    json_num(mean),
    json_num(rank(1.0)),
    s.len(),
    json_num(server_cpu),
    json_num(per_op),
    json_num(client_cpu),
    o.bytes,
    o.window_bytes,
    o.verified,
    o.lost,
    o.errors,
    error
  );
  o.verified && o.error.is_none() && o.errors == 0 && o.ops > 0.0
}

/// Echo message content: the same bytes for every message.
fn message(size: usize) -> Vec<u8> {
  (0..size).map(|i| (i.wrapping_mul(31) + 7) as u8).collect()
}

/// The window of an echo run: warm-up, then measurement.
struct Window {
  warm_end: Instant,
  end: Instant,
  measuring: Option<(Instant, CpuMark)>,
}

impl Window {
  fn new(cfg: &Config) -> Self {
    let now = Instant::now();
    Window {
      warm_end: now + cfg.warmup,
      end: now + cfg.warmup + cfg.secs,
      measuring: None,
    }
  }

  /// Starts measuring when the warm-up is over; false once the window ends.
  fn advance(&mut self, cfg: &Config, samples: &mut Samples, ops: &mut f64) -> bool {
    let now = Instant::now();
    if self.measuring.is_none() && now >= self.warm_end {
      samples.recording = true;
      samples.ns.clear();
      *ops = 0.0;
      self.measuring = Some((now, cpu_mark(cfg)));
    }
    now < self.end
  }

  fn timeout(&self) -> Duration {
    let now = Instant::now();
    let next = if self.measuring.is_none() {
      self.warm_end
    } else {
      self.end
    };
    next.saturating_duration_since(now).min(TICK)
  }
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
  let mut window = Window::new(cfg);
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
  while window.advance(cfg, &mut samples, &mut ops) {
    match poll.poll(&mut events, Some(window.timeout())) {
      Err(e) if e.kind() == ErrorKind::Interrupted => continue,
      other => other?,
    }
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
  let (measure_start, start_mark) = window
    .measuring
    .take()
    .unwrap_or((Instant::now(), cpu_mark(cfg)));
  let end_mark = cpu_mark(cfg);
  let seconds = measure_start.elapsed().as_secs_f64();
  Ok(Outcome {
    ops,
    seconds,
    start: start_mark,
    end: end_mark,
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
  let mut window = Window::new(cfg);
  let mut next_check = Instant::now() + UDP_RESEND;
  for conn in &mut conns {
    for _ in 0..cfg.inflight {
      send_datagram(conn, &msg, &mut errors);
    }
  }
  while window.advance(cfg, &mut samples, &mut ops) {
    match poll.poll(&mut events, Some(window.timeout())) {
      Err(e) if e.kind() == ErrorKind::Interrupted => continue,
      other => other?,
    }
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
  let (measure_start, start_mark) = window
    .measuring
    .take()
    .unwrap_or((Instant::now(), cpu_mark(cfg)));
  let end_mark = cpu_mark(cfg);
  Ok(Outcome {
    ops,
    seconds: measure_start.elapsed().as_secs_f64(),
    start: start_mark,
    end: end_mark,
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
            measuring = Some((now, cpu_mark(cfg), received));
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
      match poll.poll(&mut events, Some(TICK)) {
        Err(e) if e.kind() == ErrorKind::Interrupted => {}
        other => other?,
      }
    }
  }
  let end_mark = cpu_mark(cfg);
  let (start, start_mark, from) = measuring.unwrap_or((Instant::now(), end_mark, received));
  let measured = received - from;
  Ok(Outcome {
    ops: measured as f64 / cfg.chunk as f64,
    seconds: start.elapsed().as_secs_f64(),
    start: start_mark,
    end: end_mark,
    samples: samples.ns,
    bytes: received,
    window_bytes: measured,
    verified: verified && received == total,
    lost: 0,
    errors: 0,
    error,
  })
}
