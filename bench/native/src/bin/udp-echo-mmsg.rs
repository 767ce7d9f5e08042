//! `mio-native-mmsg`: the UDP echo server of `bench/udp-batch.ts` that makes
//! the fewest system calls native code can: one mio `Poll`, loopback only,
//! `recvmmsg` of up to 64 datagrams, then one `sendmmsg` echoing each to its
//! sender. The honest comparison for node-mio's `recvBatch`/`sendBatch`
//! (the plain `recv_from`/`send_to` loop is `echo-server udp`).
//!
//! With `gso`, a batch whose datagrams all come from one peer, all of one
//! size (the last may be shorter), is echoed as `sendmsg` UDP GSO sends
//! (`UDP_SEGMENT`) of up to 48 segments, copied into one buffer: the native
//! twin of `node-mio-udp-batch.ts ... gso`.
//!
//! Usage: `udp-echo-mmsg [port] [max-seconds] [slot-size] [gso]`. Port 0
//! picks one; the bound port is printed on stdout. Exits on SIGTERM, when the parent goes away
//! (checked when idle), or after `max-seconds` (default 3600). Linux only.

use std::io::{self, ErrorKind, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::os::unix::process::parent_id;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};

const BATCH: usize = 64;
const IDLE_CHECK: Duration = Duration::from_millis(500);
/// Batches per event before polling again.
const DRAIN_LIMIT: usize = 64;

fn main() -> io::Result<()> {
  let mut args = std::env::args().skip(1);
  let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
  let max_seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3600);
  let slot: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2048).clamp(1, 65536);
  let gso = args.next().as_deref() == Some("gso");
  let max_segments = (65507 / slot).clamp(1, 48);
  let mut out = vec![0u8; 65536 + slot];
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
  let mut bufs = vec![0u8; BATCH * slot];
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
          iov_base: bufs[i * slot..].as_mut_ptr().cast(),
          iov_len: slot,
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
      if gso && got > 1 && one_flow(&msgs[..got]) {
        let segment = msgs[0].msg_len as usize;
        let mut first = 0;
        while first < got {
          let last = got.min(first + max_segments);
          let mut total = 0;
          for i in first..last {
            let len = msgs[i].msg_len as usize;
            out[total..total + len].copy_from_slice(&bufs[i * slot..i * slot + len]);
            total += len;
          }
          send_gso(fd, &out[..total], &mut names[0], msgs[0].msg_hdr.msg_namelen, if last - first > 1 { segment } else { 0 });
          first = last;
        }
        if got < BATCH {
          more = false;
          break;
        }
        continue;
      }
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

/// Whether the received messages all come from the first one's sender and
/// all have its size (the last may be shorter).
fn one_flow(msgs: &[libc::mmsghdr]) -> bool {
  let first = &msgs[0].msg_hdr;
  let segment = msgs[0].msg_len;
  msgs.iter().enumerate().skip(1).all(|(i, m)| {
    let h = &m.msg_hdr;
    // SAFETY: both names point at address storage the kernel filled with
    // `msg_namelen` bytes.
    let same = h.msg_namelen == first.msg_namelen
      && unsafe {
        libc::memcmp(h.msg_name, first.msg_name, first.msg_namelen as usize) == 0
      };
    same && (m.msg_len == segment || (m.msg_len < segment && i == msgs.len() - 1))
  })
}

/// One `sendmsg` of `data` to `name`, split by the kernel into datagrams of
/// `segment` bytes (`UDP_SEGMENT`; 0: one datagram). Errors drop the echo.
fn send_gso(fd: i32, data: &[u8], name: &mut libc::sockaddr_storage, namelen: libc::socklen_t, segment: usize) {
  let mut iov = libc::iovec {
    iov_base: data.as_ptr().cast_mut().cast(),
    iov_len: data.len(),
  };
  let mut control = [0u64; 4];
  // SAFETY: all-zero is a valid msghdr; every pointer outlives the call, and
  // the control buffer holds CMSG_SPACE(2) bytes, aligned for cmsghdr.
  unsafe {
    let mut msg: libc::msghdr = std::mem::zeroed();
    msg.msg_name = (name as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = namelen;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if segment > 0 {
      msg.msg_control = control.as_mut_ptr().cast();
      msg.msg_controllen = libc::CMSG_SPACE(2) as _;
      let cmsg = libc::CMSG_FIRSTHDR(&msg);
      (*cmsg).cmsg_level = libc::SOL_UDP;
      (*cmsg).cmsg_type = libc::UDP_SEGMENT;
      (*cmsg).cmsg_len = libc::CMSG_LEN(2) as _;
      libc::CMSG_DATA(cmsg).cast::<u16>().write_unaligned(segment as u16);
    }
    libc::sendmsg(fd, &msg, 0);
  }
}
