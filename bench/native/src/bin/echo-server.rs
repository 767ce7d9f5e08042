//! `mio-native`: the baseline echo server of `npm run bench`.
//!
//! One thread, one mio `Poll`, loopback only. TCP: accept, `TCP_NODELAY`,
//! echo every byte back, edge-triggered (drain to `WouldBlock`), with
//! backpressure (a connection whose echo cannot be written stops reading
//! until it is writable). UDP: echo every datagram to its sender.
//!
//! Usage: `echo-server tcp|udp [port] [max-seconds]`. Port 0 picks one. The
//! bound port is printed on stdout (one line). The server exits on SIGTERM,
//! when its parent process goes away (checked when idle), or after
//! `max-seconds` (default 3600), so a crashed harness leaves nothing behind.

use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::os::unix::process::parent_id;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Token};
use node_mio_bench::poll::wait;

const LISTENER: Token = Token(usize::MAX);
const BUF: usize = 64 * 1024;
const IDLE_CHECK: Duration = Duration::from_millis(500);
/// Reads per event before a connection goes to the back of the line.
const DRAIN_LIMIT: usize = 4096;

/// What `serve` left: would block, connection finished, or more to read.
enum Served {
  Idle,
  Done,
  More,
}

struct Conn {
  stream: TcpStream,
  /// Echo bytes the kernel has not taken yet (`pending[sent..]`).
  pending: Vec<u8>,
  sent: usize,
}

/// Keeps the process bounded: false once the parent is gone or time is up.
struct Lifetime {
  parent: u32,
  deadline: Instant,
}

impl Lifetime {
  fn new(max_seconds: u64) -> Self {
    Lifetime {
      parent: parent_id(),
      deadline: Instant::now() + Duration::from_secs(max_seconds),
    }
  }

  fn alive(&self) -> bool {
    parent_id() == self.parent && Instant::now() < self.deadline
  }
}

fn main() -> io::Result<()> {
  let mut args = std::env::args().skip(1);
  let mode = args.next().unwrap_or_else(|| "tcp".into());
  let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
  let max_seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3600);
  let addr = SocketAddr::from(([127, 0, 0, 1], port));
  let life = Lifetime::new(max_seconds);
  match mode.as_str() {
    "tcp" => tcp(addr, &life),
    "udp" => udp(addr, &life),
    other => Err(io::Error::new(
      ErrorKind::InvalidInput,
      format!("mode must be tcp or udp, not {other}"),
    )),
  }
}

fn announce(port: u16) -> io::Result<()> {
  let mut out = io::stdout().lock();
  writeln!(out, "{port}")?;
  out.flush()
}

fn tcp(addr: SocketAddr, life: &Lifetime) -> io::Result<()> {
  let mut poll = Poll::new()?;
  let mut events = Events::with_capacity(1024);
  let mut listener = TcpListener::bind(addr)?;
  poll
    .registry()
    .register(&mut listener, LISTENER, Interest::READABLE)?;
  announce(listener.local_addr()?.port())?;

  let mut conns: Vec<Option<Conn>> = Vec::new();
  let mut free: Vec<usize> = Vec::new();
  let mut again: Vec<usize> = Vec::new();
  let mut retry: Vec<usize> = Vec::new();
  let mut buf = vec![0u8; BUF];
  loop {
    let timeout = if again.is_empty() {
      IDLE_CHECK
    } else {
      Duration::ZERO
    };
    wait(&mut poll, &mut events, timeout)?;
    // Checked only when idle: no extra system call on the measured path.
    if events.is_empty() && again.is_empty() && !life.alive() {
      return Ok(());
    }
    for event in events.iter() {
      if event.token() == LISTENER {
        loop {
          match listener.accept() {
            Ok((mut stream, _)) => {
              stream.set_nodelay(true)?;
              let key = free.pop().unwrap_or(conns.len());
              poll.registry().register(
                &mut stream,
                Token(key),
                Interest::READABLE | Interest::WRITABLE,
              )?;
              let conn = Conn {
                stream,
                pending: Vec::new(),
                sent: 0,
              };
              if key == conns.len() {
                conns.push(Some(conn));
              } else {
                conns[key] = Some(conn);
              }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
          }
        }
        continue;
      }
      handle(&mut conns, &mut free, &mut again, event.token().0, &mut buf);
    }
    std::mem::swap(&mut again, &mut retry);
    for key in retry.drain(..) {
      handle(&mut conns, &mut free, &mut again, key, &mut buf);
    }
  }
}

/// Serves connection `key`: closes it when done, queues it when it has more.
fn handle(
  conns: &mut [Option<Conn>],
  free: &mut Vec<usize>,
  again: &mut Vec<usize>,
  key: usize,
  buf: &mut [u8],
) {
  let Some(conn) = conns.get_mut(key).and_then(Option::as_mut) else {
    return;
  };
  match serve(conn, buf) {
    Served::Idle => {}
    Served::More => again.push(key),
    // Dropping the stream closes it, which deregisters it.
    Served::Done => {
      conns[key] = None;
      free.push(key);
    }
  }
}

/// Flushes what is pending, then echoes until the socket would block.
fn serve(conn: &mut Conn, buf: &mut [u8]) -> Served {
  for _ in 0..DRAIN_LIMIT {
    while conn.sent < conn.pending.len() {
      match conn.stream.write(&conn.pending[conn.sent..]) {
        Ok(n) => conn.sent += n,
        Err(e) if e.kind() == ErrorKind::WouldBlock => return Served::Idle,
        Err(e) if e.kind() == ErrorKind::Interrupted => {}
        Err(_) => return Served::Done,
      }
    }
    conn.pending.clear();
    conn.sent = 0;
    let n = match conn.stream.read(buf) {
      Ok(0) => return Served::Done,
      Ok(n) => n,
      Err(e) if e.kind() == ErrorKind::WouldBlock => return Served::Idle,
      Err(e) if e.kind() == ErrorKind::Interrupted => continue,
      Err(_) => return Served::Done,
    };
    let mut off = 0;
    while off < n {
      match conn.stream.write(&buf[off..n]) {
        Ok(k) => off += k,
        Err(e) if e.kind() == ErrorKind::WouldBlock => {
          conn.pending.extend_from_slice(&buf[off..n]);
          return Served::Idle;
        }
        Err(e) if e.kind() == ErrorKind::Interrupted => {}
        Err(_) => return Served::Done,
      }
    }
  }
  Served::More
}

fn udp(addr: SocketAddr, life: &Lifetime) -> io::Result<()> {
  let mut poll = Poll::new()?;
  let mut events = Events::with_capacity(64);
  let mut socket = UdpSocket::bind(addr)?;
  poll
    .registry()
    .register(&mut socket, Token(0), Interest::READABLE)?;
  announce(socket.local_addr()?.port())?;
  let mut buf = vec![0u8; BUF];
  let mut more = false;
  loop {
    let timeout = if more { Duration::ZERO } else { IDLE_CHECK };
    wait(&mut poll, &mut events, timeout)?;
    if events.is_empty() && !more {
      if !life.alive() {
        return Ok(());
      }
      continue;
    }
    // One readable edge: drain (DRAIN_LIMIT at a time, then poll again).
    more = true;
    for _ in 0..DRAIN_LIMIT {
      match socket.recv_from(&mut buf) {
        // A full send buffer drops the echo, as UDP may.
        Ok((n, from)) => {
          let _ = socket.send_to(&buf[..n], from);
        }
        Err(e) if e.kind() == ErrorKind::WouldBlock => {
          more = false;
          break;
        }
        Err(e) if e.kind() == ErrorKind::Interrupted => {}
        Err(e) => return Err(e),
      }
    }
  }
}
