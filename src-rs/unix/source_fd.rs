//! `SourceFd`: register a descriptor the program owns, without owning it.

use std::io::{self, Read, Write};
use std::os::fd::RawFd;

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use napi::Env;
use napi_derive::napi;

use crate::boundary::{guard, guard_raw};
use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::napi_raw;
use crate::source::{self, Io};

/// A borrowed descriptor: mio's `SourceFd` for a descriptor that outlives
/// the call, plus reads and writes that report `WouldBlock` like the sockets.
pub struct Fd(pub RawFd);

impl Source for Fd {
  fn register(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
    SourceFd(&self.0).register(registry, token, interests)
  }

  fn reregister(
    &mut self,
    registry: &Registry,
    token: Token,
    interests: Interest,
  ) -> io::Result<()> {
    SourceFd(&self.0).reregister(registry, token, interests)
  }

  fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
    SourceFd(&self.0).deregister(registry)
  }
}

impl Read for &Fd {
  fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes; `read(2)` writes at most that.
    let n = unsafe { libc::read(self.0, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
      Err(io::Error::last_os_error())
    } else {
      Ok(n as usize)
    }
  }
}

impl Write for &Fd {
  fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes; `write(2)` only reads them.
    let n = unsafe { libc::write(self.0, buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
      Err(io::Error::last_os_error())
    } else {
      Ok(n as usize)
    }
  }

  fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    let count = bufs.len().min(libc::c_int::MAX as usize) as libc::c_int;
    // SAFETY: `IoSlice` is ABI-compatible with `iovec`; `count` entries are valid.
    let n = unsafe { libc::writev(self.0, bufs.as_ptr().cast(), count) };
    if n < 0 {
      Err(io::Error::last_os_error())
    } else {
      Ok(n as usize)
    }
  }

  fn flush(&mut self) -> io::Result<()> {
    Ok(())
  }
}

/// Whether `fd` names an open descriptor.
pub fn check_open(fd: i32) -> Result<()> {
  // SAFETY: F_GETFD only queries the descriptor table.
  if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
    let err = if fd < 0 {
      io::Error::from_raw_os_error(libc::EBADF)
    } else {
      io::Error::last_os_error()
    };
    return Err(Error::system(&err, "fcntl"));
  }
  Ok(())
}

/// `SourceFd(&fd)`: a source for a descriptor the program keeps owning.
#[napi]
pub fn source_fd_new(env: Env, fd: i32) -> napi::Result<Handle> {
  guard(&env, || {
    check_open(fd)?;
    source::insert(Io::Fd(Fd(fd)))
  })
}

/// Sets or clears `O_NONBLOCK` on any descriptor the binding holds.
#[napi]
pub fn source_set_nonblocking(env: Env, handle: Handle, nonblocking: bool) -> napi::Result<()> {
  guard(&env, || {
    let fd = crate::unix::fd::raw(handle)?;
    // SAFETY: F_GETFL/F_SETFL on a descriptor the table holds open.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    let flags = if flags < 0 {
      -1
    } else if nonblocking {
      flags | libc::O_NONBLOCK
    } else {
      flags & !libc::O_NONBLOCK
    };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } < 0 {
      return Err(Error::system(&io::Error::last_os_error(), "fcntl"));
    }
    Ok(())
  })
}

/// The readiness conditions `poll(2)` accepts in `events` here: `POLLIN`,
/// `POLLPRI`, `POLLOUT`, and on Linux and Android `POLLRDHUP`. Their values
/// (and those of `POLLERR`, `POLLHUP`, `POLLNVAL`) are epoll's `EPOLL*`.
#[cfg(any(target_os = "linux", target_os = "android"))]
const POLL_ASKABLE: libc::c_short = libc::POLLIN | libc::POLLPRI | libc::POLLOUT | libc::POLLRDHUP;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const POLL_ASKABLE: libc::c_short = libc::POLLIN | libc::POLLPRI | libc::POLLOUT;

/// `sourcePollNow(handle, events)`: the readiness of the source's descriptor
/// right now, as `poll(2)` with a zero timeout reports it (`revents`:
/// `POLLIN` 1, `POLLPRI` 2, `POLLOUT` 4, `POLLERR` 8, `POLLHUP` 16,
/// `POLLNVAL` 32, `POLLRDHUP` 0x2000 on Linux); `0` when none of `events`
/// holds. Level-triggered readiness on top of the edge-triggered selector
/// (`node-mio/epoll`), once per event: a hot-path call (`fast_call.rs`).
///
/// # Safety
/// Called by Node-API only, with its own `env` and `info`.
pub unsafe extern "C" fn source_poll_now(
  env: napi::sys::napi_env,
  info: napi::sys::napi_callback_info,
) -> napi::sys::napi_value {
  guard_raw(env, || {
    // SAFETY: `env` and `info` are this callback's.
    let ([handle, events], _) = unsafe { napi_raw::args::<2>(env, info) };
    // SAFETY: the values are this call's arguments; reading numbers runs no
    // JavaScript.
    let (handle, events) = unsafe {
      (
        napi_raw::get_number(env, handle, "handle")?,
        napi_raw::get_number(env, events, "events")?,
      )
    };
    let revents = poll_now(handle, events)?;
    napi_raw::uint32(env, revents).ok_or(Error::Pending)
  })
}

fn poll_now(handle: Handle, events: f64) -> Result<u32> {
  // `as` saturates (NaN is 0): only an integer from 0 to 65535 converts
  // back to itself (no `fract()`, which calls libm on baseline x86_64).
  let mask = events as u16;
  if f64::from(mask) != events {
    return Err(Error::out_of_range(format!(
      "events must be a poll(2) mask (an integer from 0 to 65535), got {events}"
    )));
  }
  let fd = crate::unix::fd::raw(handle)?;
  let mut entry = libc::pollfd {
    fd,
    events: (mask as libc::c_short) & POLL_ASKABLE,
    revents: 0,
  };
  loop {
    // SAFETY: one `pollfd` on the stack, live through the call.
    let n = unsafe { libc::poll(&mut entry, 1, 0) };
    if n >= 0 {
      return Ok(u32::from(entry.revents as u16));
    }
    let error = io::Error::last_os_error();
    if error.kind() != io::ErrorKind::Interrupted {
      return Err(Error::system(&error, "poll"));
    }
  }
}
