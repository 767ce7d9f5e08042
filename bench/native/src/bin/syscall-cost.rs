//! The native floor of node-mio's hot path: what `poll(0)` with nothing
//! ready, a `read` that would block, and a 64-byte write + read cost when
//! called straight from Rust on mio, with no JavaScript in between.
//! `epoll_wait_ns` is the bare system call (`libc::epoll_wait`, timeout 0, on
//! an epoll descriptor with nothing registered), below even mio.
//! Prints one JSON object: ns per call, median of 5 rounds, in wall-clock
//! time (`*_ns`) and in this thread's CPU time (`*_cpu_ns`, which a
//! busy machine's other work does not inflate).

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use node_mio_bench::cpu::thread_cpu_ns;
use node_mio_bench::json::Line;

/// Cost of one call: wall-clock and CPU time (ns), each the median of 5 rounds.
#[derive(Clone, Copy)]
struct Cost {
  wall: f64,
  cpu: Option<f64>,
}

fn median(mut v: Vec<f64>) -> f64 {
  v.sort_by(f64::total_cmp);
  v[v.len() / 2]
}

fn time(iterations: u32, mut body: impl FnMut()) -> Cost {
  for _ in 0..iterations.min(100_000) {
    body();
  }
  let per_call = f64::from(iterations);
  let mut wall = Vec::with_capacity(5);
  let mut cpu = Vec::with_capacity(5);
  for _ in 0..5 {
    let cpu_start = thread_cpu_ns();
    let start = Instant::now();
    for _ in 0..iterations {
      body();
    }
    wall.push(start.elapsed().as_nanos() as f64 / per_call);
    if let (Some(a), Some(b)) = (cpu_start, thread_cpu_ns()) {
      cpu.push((b - a) / per_call);
    }
  }
  Cost {
    wall: median(wall),
    cpu: (cpu.len() == 5).then(|| median(cpu)),
  }
}

/// Adds `{name}_ns` (wall-clock) and `{name}_cpu_ns` to the JSON line.
fn cost(line: Line, name: &str, cost: Option<Cost>) -> Line {
  line
    .num(&format!("{name}_ns"), cost.map(|c| c.wall))
    .num(&format!("{name}_cpu_ns"), cost.and_then(|c| c.cpu))
}

fn main() -> std::io::Result<()> {
  let n: u32 = std::env::args()
    .nth(1)
    .and_then(|a| a.parse().ok())
    .unwrap_or(1_000_000);

  let mut idle = Poll::new()?;
  let mut events = Events::with_capacity(64);
  let empty_poll = time(n, || {
    idle.poll(&mut events, Some(Duration::ZERO)).expect("poll");
  });

  let epoll_wait = raw_epoll_wait(n)?;

  let listener = TcpListener::bind("127.0.0.1:0".parse().expect("addr"))?;
  let mut client = TcpStream::connect(listener.local_addr()?)?;
  let mut poll = Poll::new()?;
  poll
    .registry()
    .register(&mut client, Token(1), Interest::WRITABLE)?;
  poll.poll(&mut events, Some(Duration::from_secs(1)))?;
  let mut server = loop {
    match listener.accept() {
      Ok((stream, _)) => break stream,
      Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(1)),
      Err(e) => return Err(e),
    }
  };
  client.set_nodelay(true)?;
  let mut buf = [0u8; 4096];
  let read_would_block = time(n, || {
    let err = server.read(&mut buf).expect_err("nothing to read");
    assert_eq!(err.kind(), ErrorKind::WouldBlock);
  });
  let msg = [7u8; 64];
  let write_read = time(n / 4, || {
    client.write_all(&msg).expect("write");
    let mut got = 0;
    while got < msg.len() {
      match server.read(&mut buf) {
        Ok(k) => got += k,
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        Err(e) => panic!("{e}"),
      }
    }
  });
  let line = cost(Line::new(1), "empty_poll", Some(empty_poll));
  let line = cost(line, "epoll_wait", epoll_wait);
  let line = cost(line, "read_would_block", Some(read_would_block));
  cost(line, "write_read_64", Some(write_read)).print()
}

/// The bare `epoll_wait` (timeout 0, nothing registered): the floor below mio.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn raw_epoll_wait(n: u32) -> std::io::Result<Option<Cost>> {
  // SAFETY: plain system calls on a descriptor this function owns and
  // closes; `raw` has room for the 64 events `epoll_wait` may write.
  unsafe {
    let epfd = libc::epoll_create1(libc::EPOLL_CLOEXEC);
    if epfd < 0 {
      return Err(std::io::Error::last_os_error());
    }
    let mut raw = [libc::epoll_event { events: 0, u64: 0 }; 64];
    let ns = time(n, || {
      let got = libc::epoll_wait(epfd, raw.as_mut_ptr(), 64, 0);
      assert_eq!(got, 0);
    });
    libc::close(epfd);
    Ok(Some(ns))
  }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn raw_epoll_wait(_n: u32) -> std::io::Result<Option<Cost>> {
  Ok(None)
}
