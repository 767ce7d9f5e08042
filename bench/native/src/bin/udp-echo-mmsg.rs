//! `mio-native-mmsg`: the UDP echo server of `bench/udp-batch.ts` that makes
//! the fewest system calls native code can: one mio `Poll`, loopback only,
//! `recvmmsg` of up to 64 datagrams, then one `sendmmsg` echoing each to its
//! sender. The honest comparison for node-mio's `recvBatch`/`sendBatch`
//! (the plain `recv_from`/`send_to` loop is `echo-server udp`).
//!
//! Usage: `udp-echo-mmsg [port] [max-seconds]`. Port 0 picks one; the bound
//! port is printed on stdout. Exits on SIGTERM, when the parent goes away
//! (checked when idle), or after `max-seconds` (default 3600). Linux only.

use std::io::{self, ErrorKind, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::os::unix::process::parent_id;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};

const BATCH: usize = 64;
const SLOT: usize = 2048;
const IDLE_CHECK: Duration = Duration::from_millis(500);
/// Batches per event before polling again.
const DRAIN_LIMIT: usize = 64;

fn main() -> io::Result<()> {
  let mut args = std::env::args().skip(1);
  let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
  let max_seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3600);
  let parent = parent_id();
  let deadline = Instant::now() + Duration::from_secs(max_seconds);
  let alive = || parent_id() == parent && Instant::now() < deadline;

  let mut poll = Poll::new()?;
  let mut events = Events::with_capacity(64);
  let mut socket = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
  poll
    .registry()
    .register(&mut socket, Token(0), Interest::READABLE)?;
  {
    let mut out = io::stdout().lock();
    writeln!(out, "{}", socket.local_addr()?.port())?;
    out.flush()?;
  }
  let fd = socket.as_raw_fd();
  let mut bufs = vec![0u8; BATCH * SLOT];
  // SAFETY: all-zero is valid for these plain C structures.
  let mut names: [libc::sockaddr_storage; BATCH] = unsafe { std::mem::zeroed() };
  let mut iov: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
  let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
  let mut more = false;
  loop {
    let timeout = if more { Duration::ZERO } else { IDLE_CHECK };
    match poll.poll(&mut events, Some(timeout)) {
      Err(e) if e.kind() == ErrorKind::Interrupted => events.clear(),
      other => other?,
    }
    if events.is_empty() && !more {
      if !alive() {
        return Ok(());
      }
      continue;
    }
    more = true;
    for _ in 0..DRAIN_LIMIT {
      for i in 0..BATCH {
        iov[i] = libc::iovec {
          iov_base: bufs[i * SLOT..].as_mut_ptr().cast(),
          iov_len: SLOT,
        };
        let hdr = &mut msgs[i].msg_hdr;
        hdr.msg_name = (&mut names[i] as *mut libc::sockaddr_storage).cast();
        hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as _;
        hdr.msg_iov = &mut iov[i];
        hdr.msg_iovlen = 1;
      }
      // SAFETY: BATCH headers over live buffers and address storage.
      let got = unsafe { libc::recvmmsg(fd, msgs.as_mut_ptr(), BATCH as _, 0, std::ptr::null_mut()) };
      if got < 0 {
        let e = io::Error::last_os_error();
        match e.kind() {
          ErrorKind::WouldBlock => {
            more = false;
            break;
          }
          ErrorKind::Interrupted => continue,
          _ => return Err(e),
        }
      }
      let got = got as usize;
      for i in 0..got {
        // Send back exactly what arrived; the name is the sender's.
        iov[i].iov_len = msgs[i].msg_len as usize;
      }
      // SAFETY: `got` headers the kernel just filled. A full send buffer
      // drops the echo, as UDP may (and as echo-server udp does).
      unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), got as _, 0) };
      if got < BATCH {
        more = false;
        break;
      }
    }
  }
}
