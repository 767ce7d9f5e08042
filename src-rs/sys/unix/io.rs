//! System calls on JavaScript memory (see `napi_raw::JsBytes`): each takes
//! the memory as an address and a length and hands it straight to the
//! kernel, so Rust never holds a slice of memory another thread may write.
//! The portable code runs them through mio's `try_io`, which re-arms
//! readiness on `WouldBlock` where the selector needs it.

use std::cell::Cell;
use std::io;
use std::mem::MaybeUninit;
pub use std::os::fd::RawFd;

use socket2::{SockAddr, SockAddrStorage};

use crate::napi_raw::JsBytes;

cfg_else! {
  #[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "dragonfly",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "illumos",
    target_os = "solaris",
    target_os = "haiku",
    target_os = "nto"
  ))] {
    /// What std passes so a write to a closed socket is an `EPIPE` error,
    /// not a `SIGPIPE` (Apple sockets get `SO_NOSIGPIPE` instead).
    pub const NOSIGNAL: libc::c_int = libc::MSG_NOSIGNAL;
  } else {
    pub const NOSIGNAL: libc::c_int = 0;
  }
}

/// The most buffers one vectored call takes (`IOV_MAX` is at least 1024
/// everywhere mio runs; the binding passes at most 64).
pub const MAX_IOVECS: usize = 64;

fn count(n: isize) -> io::Result<usize> {
  if n < 0 {
    Err(io::Error::last_os_error())
  } else {
    Ok(n as usize)
  }
}

/// `read(2)` into `buf`: for pipes and descriptors.
pub fn read(fd: RawFd, buf: JsBytes<'_>) -> io::Result<usize> {
  // SAFETY: `buf` is `len` writable bytes (its contract); the kernel writes
  // at most that many.
  count(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })
}

/// `write(2)` from `buf`: for pipes and descriptors.
pub fn write(fd: RawFd, buf: JsBytes<'_>) -> io::Result<usize> {
  // SAFETY: `buf` is `len` readable bytes; the kernel only reads them.
  count(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) })
}

/// `recv(2)` into `buf` (`MSG_PEEK` when `peek`).
pub fn recv(fd: RawFd, buf: JsBytes<'_>, peek: bool) -> io::Result<usize> {
  let flags = if peek { libc::MSG_PEEK } else { 0 };
  // SAFETY: as `read`.
  count(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags) })
}

/// `send(2)` from `buf`, without `SIGPIPE`.
pub fn send(fd: RawFd, buf: JsBytes<'_>) -> io::Result<usize> {
  // SAFETY: as `write`.
  count(unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), NOSIGNAL) })
}

fn iovecs(bufs: &[JsBytes<'_>]) -> ([libc::iovec; MAX_IOVECS], libc::c_int) {
  let mut iov = [libc::iovec {
    iov_base: std::ptr::null_mut(),
    iov_len: 0,
  }; MAX_IOVECS];
  let used = bufs.len().min(MAX_IOVECS);
  for (slot, buf) in iov.iter_mut().zip(&bufs[..used]) {
    *slot = libc::iovec {
      iov_base: buf.as_mut_ptr().cast(),
      iov_len: buf.len(),
    };
  }
  (iov, used as libc::c_int)
}

/// `readv(2)`: scatters into `bufs` (at most `MAX_IOVECS`).
pub fn readv(fd: RawFd, bufs: &[JsBytes<'_>]) -> io::Result<usize> {
  let (iov, used) = iovecs(bufs);
  // SAFETY: `used` iovecs, each a live buffer's writable bytes.
  count(unsafe { libc::readv(fd, iov.as_ptr(), used) })
}

/// `writev(2)`: gathers from `bufs` (at most `MAX_IOVECS`).
pub fn writev(fd: RawFd, bufs: &[JsBytes<'_>]) -> io::Result<usize> {
  let (iov, used) = iovecs(bufs);
  // SAFETY: `used` iovecs, each a live buffer's readable bytes.
  count(unsafe { libc::writev(fd, iov.as_ptr(), used) })
}

/// `recvfrom(2)` into `buf`: the size and the sender.
pub fn recv_from(fd: RawFd, buf: JsBytes<'_>, peek: bool) -> io::Result<(usize, SockAddr)> {
  let flags = if peek { libc::MSG_PEEK } else { 0 };
  // SAFETY: `try_init` hands a zeroed address storage and its length, which
  // `recvfrom` fills; `buf` is as in `read`.
  unsafe {
    SockAddr::try_init(|storage, len| {
      count(libc::recvfrom(
        fd,
        buf.as_mut_ptr().cast(),
        buf.len(),
        flags,
        storage.cast(),
        len,
      ))
    })
  }
}

/// `sendto(2)` from `buf` to `to`.
pub fn send_to(fd: RawFd, buf: JsBytes<'_>, to: &SockAddr) -> io::Result<usize> {
  // SAFETY: `to` is a valid address of `to.len()` bytes; `buf` as in `write`.
  count(unsafe {
    libc::sendto(
      fd,
      buf.as_ptr().cast(),
      buf.len(),
      NOSIGNAL,
      to.as_ptr().cast(),
      to.len(),
    )
  })
}

/// `recv` on a stream socket (a `read`); on Unix the first read after a
/// failed connect reports its error by itself (see the Windows twin).
pub fn recv_stream(
  fd: RawFd,
  buf: JsBytes<'_>,
  _reported: &Cell<Option<i32>>,
) -> io::Result<usize> {
  recv(fd, buf, false)
}

/// `readv` on a stream socket (see `recv_stream`).
pub fn readv_stream(
  fd: RawFd,
  bufs: &[JsBytes<'_>],
  _reported: &Cell<Option<i32>>,
) -> io::Result<usize> {
  readv(fd, bufs)
}

/// `send` on a datagram socket: `EDESTADDRREQ` when unconnected, by itself.
pub fn send_datagram(fd: RawFd, buf: JsBytes<'_>) -> io::Result<usize> {
  send(fd, buf)
}

pub use crate::sys::{Datagram, MAX_BATCH};

/// Room for one `int` control message (`UDP_GRO`, `UDP_SEGMENT`).
type Control = [u64; 4];

/// A `msghdr` over one iovec, a name and a control buffer.
///
/// # Safety
/// The pointers must stay valid while the kernel uses the header.
unsafe fn header(
  iov: *mut libc::iovec,
  name: *mut libc::c_void,
  name_len: libc::socklen_t,
  control: *mut Control,
  control_len: usize,
) -> libc::msghdr {
  // SAFETY: all-zero is a valid `msghdr` (null pointers, zero lengths), and
  // leaves the padding some targets have zeroed.
  let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
  msg.msg_iov = iov;
  msg.msg_iovlen = 1 as _;
  msg.msg_name = name;
  msg.msg_namelen = name_len;
  if control_len > 0 {
    msg.msg_control = control.cast();
    msg.msg_controllen = control_len as _;
  }
  msg
}

/// The GRO segment size a received message carries, 0 if none.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn gro_segment(msg: &libc::msghdr) -> u16 {
  // SAFETY: `msg` is a header the kernel filled: its control pointer and
  // length describe the control buffer, which the CMSG macros walk.
  unsafe {
    let mut cmsg = libc::CMSG_FIRSTHDR(msg);
    while !cmsg.is_null() {
      if (*cmsg).cmsg_level == libc::SOL_UDP && (*cmsg).cmsg_type == libc::UDP_GRO {
        let size = libc::CMSG_DATA(cmsg).cast::<libc::c_int>().read_unaligned();
        return size.clamp(0, i32::from(u16::MAX)) as u16;
      }
      cmsg = libc::CMSG_NXTHDR(msg, cmsg);
    }
  }
  0
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn gro_segment(_msg: &libc::msghdr) -> u16 {
  0
}

/// Writes a `UDP_SEGMENT` control message of `segment` into `control`,
/// returning its length (0 when `segment` is 0).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn gso_control(control: &mut Control, segment: u16) -> usize {
  if segment == 0 {
    return 0;
  }
  // SAFETY: `control` holds `CMSG_SPACE(2)` bytes (32 >= 16 + 8), aligned
  // for `cmsghdr`; a header over it is what `CMSG_FIRSTHDR` needs.
  unsafe {
    let space = libc::CMSG_SPACE(std::mem::size_of::<u16>() as _) as usize;
    let mut msg: libc::msghdr = std::mem::zeroed();
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    let cmsg = libc::CMSG_FIRSTHDR(&msg);
    (*cmsg).cmsg_level = libc::SOL_UDP;
    (*cmsg).cmsg_type = libc::UDP_SEGMENT;
    (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<u16>() as _) as _;
    libc::CMSG_DATA(cmsg).cast::<u16>().write_unaligned(segment);
    space
  }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn gso_control(_control: &mut Control, segment: u16) -> usize {
  debug_assert_eq!(segment, 0, "the binding refuses segments here");
  0
}

/// The per-datagram storage of a batch call. Slot `i` is written by
/// `receiving(i, ..)` or `sending(i, ..)` before anything reads it, so a
/// call sets up only the slots it uses.
struct Slots {
  iov: [MaybeUninit<libc::iovec>; MAX_BATCH],
  names: [MaybeUninit<SockAddrStorage>; MAX_BATCH],
  control: [MaybeUninit<Control>; MAX_BATCH],
}

impl Slots {
  fn new() -> Slots {
    Slots {
      iov: [const { MaybeUninit::uninit() }; MAX_BATCH],
      names: [const { MaybeUninit::uninit() }; MAX_BATCH],
      control: [const { MaybeUninit::uninit() }; MAX_BATCH],
    }
  }

  /// The receive header of slot `i` for `datagram`.
  fn receiving(&mut self, i: usize, datagram: &Datagram<'_>) -> libc::msghdr {
    let iov = self.iov[i].write(libc::iovec {
      iov_base: datagram.buf.as_mut_ptr().cast(),
      iov_len: datagram.buf.len(),
    });
    let name = self.names[i].write(SockAddrStorage::zeroed());
    let name_len = name.size_of();
    let control = self.control[i].write([0; 4]);
    // SAFETY: every pointer is into `self`, which outlives the call.
    unsafe {
      let name: *mut libc::sockaddr_storage = name.view_as();
      header(
        iov,
        name.cast(),
        name_len,
        control,
        std::mem::size_of::<Control>(),
      )
    }
  }

  /// The send header of slot `i` for `datagram`.
  fn sending(&mut self, i: usize, datagram: &Datagram<'_>) -> libc::msghdr {
    let iov = self.iov[i].write(libc::iovec {
      iov_base: datagram.buf.as_mut_ptr().cast(),
      iov_len: datagram.buf.len(),
    });
    let control = self.control[i].write([0; 4]);
    let control_len = gso_control(control, datagram.segment);
    let (name, name_len) = match &datagram.peer {
      Some(peer) => (peer.as_ptr().cast_mut().cast(), peer.len()),
      None => (std::ptr::null_mut(), 0),
    };
    // SAFETY: every pointer is into `self` or `datagram`, which outlive the
    // call; the kernel only reads a send's name.
    unsafe { header(iov, name, name_len, control, control_len) }
  }

  /// Reports slot `i`'s received message into `datagram`. Only for a slot
  /// set up by `receiving`.
  fn received(&self, i: usize, msg: &libc::msghdr, size: usize, datagram: &mut Datagram<'_>) {
    datagram.size = size;
    datagram.truncated = msg.msg_flags & libc::MSG_TRUNC != 0;
    datagram.segment = gro_segment(msg);
    // SAFETY: `receiving(i, ..)` wrote the slot's storage (zeroed), and the
    // kernel wrote `msg_namelen` bytes of an address into it.
    datagram.peer = Some(unsafe {
      let name = self.names[i].assume_init_ref();
      SockAddr::new(std::ptr::read(name), msg.msg_namelen.min(name.size_of()))
    });
  }
}

/// Writes the first `batch.len()` headers of `msgs` for `recvmmsg(2)` or
/// `sendmmsg(2)`: header `i`'s message is `msg(i, &batch[i])`.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
#[inline]
fn mmsghdrs(
  msgs: &mut [MaybeUninit<libc::mmsghdr>; MAX_BATCH],
  batch: &[Datagram<'_>],
  mut msg: impl FnMut(usize, &Datagram<'_>) -> libc::msghdr,
) {
  for (i, datagram) in batch.iter().enumerate() {
    msgs[i].write(libc::mmsghdr {
      msg_hdr: msg(i, datagram),
      msg_len: 0,
    });
  }
}

/// Receives up to `MAX_BATCH` datagrams into `batch` with one `recvmmsg(2)`:
/// how many arrived (the rest of `batch` is untouched).
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
pub fn recv_batch(fd: RawFd, batch: &mut [Datagram<'_>]) -> io::Result<usize> {
  let n = batch.len().min(MAX_BATCH);
  let mut slots = Slots::new();
  let mut msgs = [const { MaybeUninit::uninit() }; MAX_BATCH];
  mmsghdrs(&mut msgs, &batch[..n], |i, datagram| {
    slots.receiving(i, datagram)
  });
  // SAFETY: the first `n` headers are written, each over a live buffer's
  // writable bytes and the slots' storage, which outlive the call.
  let got = unsafe {
    libc::recvmmsg(
      fd,
      msgs.as_mut_ptr().cast(),
      n as _,
      0,
      std::ptr::null_mut(),
    )
  };
  let got = count(got as isize)?.min(n);
  for (i, datagram) in batch[..got].iter_mut().enumerate() {
    // SAFETY: header `i < n` was written above (and filled by the kernel).
    let msg = unsafe { msgs[i].assume_init_ref() };
    slots.received(i, &msg.msg_hdr, msg.msg_len as usize, datagram);
  }
  Ok(got)
}

/// Sends up to `MAX_BATCH` datagrams of `batch` with one `sendmmsg(2)`: how
/// many were sent.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
pub fn send_batch(fd: RawFd, batch: &[Datagram<'_>]) -> io::Result<usize> {
  let n = batch.len().min(MAX_BATCH);
  let mut slots = Slots::new();
  let mut msgs = [const { MaybeUninit::uninit() }; MAX_BATCH];
  mmsghdrs(&mut msgs, &batch[..n], |i, datagram| {
    slots.sending(i, datagram)
  });
  // SAFETY: the first `n` headers are written, over live buffers' readable
  // bytes and addresses.
  let sent = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr().cast(), n as _, NOSIGNAL as _) };
  count(sent as isize)
}

/// Receives up to `MAX_BATCH` datagrams into `batch`, one `recvmsg(2)` each
/// (this system has no `recvmmsg`): how many arrived. Stops at the first
/// would-block or error after the first datagram.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
pub fn recv_batch(fd: RawFd, batch: &mut [Datagram<'_>]) -> io::Result<usize> {
  let mut slots = Slots::new();
  let n = batch.len().min(MAX_BATCH);
  for (i, datagram) in batch[..n].iter_mut().enumerate() {
    let mut msg = slots.receiving(i, datagram);
    // SAFETY: one header over a live buffer and the slot's storage.
    match count(unsafe { libc::recvmsg(fd, &mut msg, 0) }) {
      Ok(size) => slots.received(i, &msg, size, datagram),
      Err(e) if i == 0 => return Err(e),
      Err(_) => return Ok(i),
    }
  }
  Ok(n)
}

/// Sends up to `MAX_BATCH` datagrams of `batch`, one `sendmsg(2)` each: how
/// many were sent. Stops at the first would-block or error after the first.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
pub fn send_batch(fd: RawFd, batch: &[Datagram<'_>]) -> io::Result<usize> {
  let mut slots = Slots::new();
  let n = batch.len().min(MAX_BATCH);
  for (i, datagram) in batch[..n].iter().enumerate() {
    let msg = slots.sending(i, datagram);
    // SAFETY: one header over a live buffer and address.
    match count(unsafe { libc::sendmsg(fd, &msg, NOSIGNAL) }) {
      Ok(_) => {}
      Err(e) if i == 0 => return Err(e),
      Err(_) => return Ok(i),
    }
  }
  Ok(n)
}

/// An `int` socket option (used for the Linux-only UDP offload options).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn set_int_option(
  fd: RawFd,
  level: libc::c_int,
  name: libc::c_int,
  value: libc::c_int,
) -> io::Result<()> {
  // SAFETY: `value` is a live `int` of the given size.
  let status = unsafe {
    libc::setsockopt(
      fd,
      level,
      name,
      (&value as *const libc::c_int).cast(),
      std::mem::size_of::<libc::c_int>() as libc::socklen_t,
    )
  };
  count(status as isize).map(drop)
}

/// Reads an `int` socket option.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn int_option(fd: RawFd, level: libc::c_int, name: libc::c_int) -> io::Result<libc::c_int> {
  let mut value: libc::c_int = 0;
  let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
  // SAFETY: `value` and `len` are live out-pointers of the right sizes.
  let status = unsafe {
    libc::getsockopt(
      fd,
      level,
      name,
      (&mut value as *mut libc::c_int).cast(),
      &mut len,
    )
  };
  count(status as isize).map(|_| value)
}
