//! `SourceFd`: register a descriptor the program owns, without owning it.

use std::io::{self, Read, Write};
use std::os::fd::RawFd;

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use napi::Env;
use napi_derive::napi;

use crate::boundary::guard;
use crate::error::{Error, Result};
use crate::handle::Handle;
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
