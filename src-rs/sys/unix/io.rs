//! System calls on JavaScript memory (see `napi_raw::JsBytes`): each takes
//! the memory as an address and a length and hands it straight to the
//! kernel, so Rust never holds a slice of memory another thread may write.
//! The portable code runs them through mio's `try_io`, which re-arms
//! readiness on `WouldBlock` where the selector needs it.

use std::cell::Cell;
use std::io;
use std::os::fd::RawFd;

use socket2::SockAddr;

use crate::napi_raw::JsBytes;

/// What std passes so a write to a closed socket is an `EPIPE` error, not a
/// `SIGPIPE` (Apple sockets get `SO_NOSIGPIPE` instead).
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
))]
const NOSIGNAL: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(not(any(
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
)))]
const NOSIGNAL: libc::c_int = 0;

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
