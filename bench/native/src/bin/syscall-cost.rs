//! The native floor of node-mio's hot path: what `poll(0)` with nothing
//! ready, a `read` that would block, and a 64-byte write + read cost when
//! called straight from Rust on mio, with no JavaScript in between.
//! Prints one JSON object (ns per call, median of 5 rounds).

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

fn time(iterations: u32, mut body: impl FnMut()) -> f64 {
  for _ in 0..iterations.min(100_000) {
    body();
  }
  let mut rounds: Vec<f64> = (0..5)
    .map(|_| {
      let start = Instant::now();
      for _ in 0..iterations {
        body();
      }
      start.elapsed().as_nanos() as f64 / f64::from(iterations)
    })
    .collect();
  rounds.sort_by(f64::total_cmp);
  rounds[2]
}

fn main() -> std::io::Result<()> {
  let n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);

  let mut idle = Poll::new()?;
  let mut events = Events::with_capacity(64);
  let empty_poll = time(n, || {
    idle.poll(&mut events, Some(Duration::ZERO)).expect("poll");
  });

  let listener = TcpListener::bind("127.0.0.1:0".parse().expect("addr"))?;
  let mut client = TcpStream::connect(listener.local_addr()?)?;
  let mut poll = Poll::new()?;
  poll.registry().register(&mut client, Token(1), Interest::WRITABLE)?;
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
  println!(
    "{{\"empty_poll_ns\":{empty_poll:.1},\"read_would_block_ns\":{read_would_block:.1},\"write_read_64_ns\":{write_read:.1}}}"
  );
  Ok(())
}
