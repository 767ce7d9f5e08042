//! The fixed, native side of the unix-dgram scenario of `npm run bench`:
//! the peer of the JavaScript side being measured (node-mio/unix-dgram or
//! the `unix-dgram` npm package, bench/unix-dgram/peer.cjs), fast enough
//! that the measured side sets the pace. Blocking system calls: it waits
//! without spinning when the other side is slower.
//!
//! Usage: `dgram-peer sink PATH` binds PATH and receives datagrams as they
//! come; `dgram-peer blast PATH SIZE` connects to PATH and sends SIZE-byte
//! datagrams as fast as the receiver's queue takes them. Prints `ready`,
//! then runs until its stdin closes (the harness ends it) or, for `blast`,
//! until the receiver is gone.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixDatagram;
use std::thread;

fn main() {
  let args: Vec<String> = std::env::args().skip(1).collect();
  let usage = || -> ! {
    eprintln!("usage: dgram-peer sink PATH | dgram-peer blast PATH SIZE");
    std::process::exit(2)
  };
  let (mode, path) = match (args.first(), args.get(1)) {
    (Some(mode), Some(path)) => (mode.as_str(), path.clone()),
    _ => usage(),
  };
  // Ends the process when the harness closes stdin.
  thread::spawn(|| {
    let mut sink = Vec::new();
    let _ = io::stdin().read_to_end(&mut sink);
    std::process::exit(0)
  });
  match mode {
    "sink" => {
      let _ = std::fs::remove_file(&path);
      let socket = UnixDatagram::bind(&path).unwrap_or_else(|e| fail("bind", e));
      ready();
      let mut buf = vec![0u8; 65536];
      loop {
        if let Err(e) = socket.recv(&mut buf) {
          fail("recv", e)
        }
      }
    }
    "blast" => {
      let size: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or_else(|| usage());
      let socket = UnixDatagram::unbound().unwrap_or_else(|e| fail("socket", e));
      socket.connect(&path).unwrap_or_else(|e| fail("connect", e));
      ready();
      let buf = vec![b'm'; size];
      loop {
        if let Err(e) = socket.send(&buf) {
          // The receiver closed: nothing more to do.
          if e.kind() == io::ErrorKind::ConnectionRefused {
            std::process::exit(0)
          }
          fail("send", e)
        }
      }
    }
    _ => usage(),
  }
}

fn ready() {
  let mut out = io::stdout();
  let _ = writeln!(out, "ready");
  let _ = out.flush();
}

fn fail(what: &str, e: io::Error) -> ! {
  eprintln!("dgram-peer: {what}: {e}");
  std::process::exit(1)
}
