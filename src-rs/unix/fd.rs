//! Handing descriptors in (`fromFd`, as mio's `from_std`) and out
//! (`detachFd`), and reading a source's descriptor (`fd`).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

use napi::Env;
use napi_derive::napi;
use socket2::{SockRef, Type};

use crate::error::{self, Result};
use crate::handle::Handle;
use crate::source::{self, Io};
use crate::unix::source_fd::check_open;

/// The descriptor behind a handle.
pub fn raw(env: &Env, handle: Handle) -> Result<RawFd> {
  source::with(env, handle, |io| {
    Ok(match io {
      Io::TcpListener(s) => s.as_raw_fd(),
      Io::TcpStream(s) => s.as_raw_fd(),
      Io::UdpSocket(s) => s.as_raw_fd(),
      Io::UnixListener(s) => s.as_raw_fd(),
      Io::UnixStream(s) => s.as_raw_fd(),
      Io::UnixDatagram(s) => s.as_raw_fd(),
      Io::PipeSender(s) => s.as_raw_fd(),
      Io::PipeReceiver(s) => s.as_raw_fd(),
      Io::Fd(fd) => fd.0,
    })
  })
}

/// `AsRawFd`: the descriptor, still owned by the source.
#[napi]
pub fn source_raw_fd(env: Env, handle: Handle) -> Result<i32> {
  raw(&env, handle)
}

fn wrong(env: &Env, fd: RawFd, expected: &str, why: &str) -> napi::Error {
  error::invalid_arg(env, &format!("descriptor {fd} is not {expected}: {why}"))
}

/// Whether a stream socket is listening (`SO_ACCEPTCONN`).
fn is_listening(env: &Env, fd: RawFd) -> Result<bool> {
  let mut value: libc::c_int = 0;
  let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
  // SAFETY: `value` and `len` are valid for getsockopt to write an int.
  let status = unsafe {
    libc::getsockopt(
      fd,
      libc::SOL_SOCKET,
      libc::SO_ACCEPTCONN,
      (&mut value as *mut libc::c_int).cast(),
      &mut len,
    )
  };
  if status < 0 {
    return Err(error::system(
      env,
      &io::Error::last_os_error(),
      "getsockopt",
      None,
    ));
  }
  Ok(value != 0)
}

/// Checks that `fd` is a socket of `kind` (stream or datagram, IP or Unix,
/// and for streams, listening or not).
fn check_socket(
  env: &Env,
  fd: RawFd,
  ty: Type,
  unix: bool,
  listening: Option<bool>,
  expected: &str,
) -> Result<()> {
  // SAFETY: `fd` was checked to be open; the borrow ends with this call.
  let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
  let sock = SockRef::from(&borrowed);
  let actual = sock
    .r#type()
    .map_err(|e| error::system(env, &e, "getsockopt", None))?;
  if actual != ty {
    return Err(wrong(env, fd, expected, "wrong socket type"));
  }
  let family = sock
    .local_addr()
    .map_err(|e| error::system(env, &e, "getsockname", None))?
    .family();
  let is_unix = i32::from(family) == libc::AF_UNIX;
  if is_unix != unix {
    return Err(wrong(env, fd, expected, "wrong address family"));
  }
  if let Some(listening) = listening {
    if is_listening(env, fd)? != listening {
      let why = if listening {
        "it is not listening"
      } else {
        "it is a listening socket"
      };
      return Err(wrong(env, fd, expected, why));
    }
  }
  Ok(())
}

/// Checks that `fd` is a pipe end open for `O_WRONLY` (sender) or
/// `O_RDONLY` (receiver).
fn check_fifo(env: &Env, fd: RawFd, sender: bool, expected: &str) -> Result<()> {
  // SAFETY: an all-zero `stat` is a valid value for fstat to overwrite.
  let mut stat: libc::stat = unsafe { std::mem::zeroed() };
  // SAFETY: `fd` is open and `stat` is writable.
  if unsafe { libc::fstat(fd, &mut stat) } < 0 {
    return Err(error::system(
      env,
      &io::Error::last_os_error(),
      "fstat",
      None,
    ));
  }
  if stat.st_mode & libc::S_IFMT != libc::S_IFIFO {
    return Err(wrong(env, fd, expected, "not a pipe"));
  }
  // SAFETY: F_GETFL only reads the descriptor's flags.
  let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
  if flags < 0 {
    return Err(error::system(
      env,
      &io::Error::last_os_error(),
      "fcntl",
      None,
    ));
  }
  let mode = flags & libc::O_ACCMODE;
  let ok = mode == libc::O_RDWR
    || mode
      == if sender {
        libc::O_WRONLY
      } else {
        libc::O_RDONLY
      };
  if !ok {
    let why = if sender {
      "it is not open for writing"
    } else {
      "it is not open for reading"
    };
    return Err(wrong(env, fd, expected, why));
  }
  Ok(())
}

fn set_nonblocking(env: &Env, fd: RawFd) -> Result<()> {
  // SAFETY: F_GETFL/F_SETFL on an open descriptor.
  let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
  // SAFETY: as above.
  if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
    return Err(error::system(
      env,
      &io::Error::last_os_error(),
      "fcntl",
      None,
    ));
  }
  Ok(())
}

/// Adopts `fd` as a source of `kind` (as mio's `from_std`): checks what it
/// is, makes it non-blocking and takes ownership (closing the source closes
/// the descriptor).
#[napi(
  ts_args_type = "kind: 'TcpListener' | 'TcpStream' | 'UdpSocket' | 'UnixListener' | 'UnixStream' | 'UnixDatagram' | 'PipeSender' | 'PipeReceiver', fd: number"
)]
pub fn source_from_fd(env: Env, kind: String, fd: i32) -> Result<Handle> {
  check_open(&env, fd)?;
  match kind.as_str() {
    "TcpListener" => check_socket(&env, fd, Type::STREAM, false, Some(true), &kind)?,
    "TcpStream" => check_socket(&env, fd, Type::STREAM, false, Some(false), &kind)?,
    "UdpSocket" => check_socket(&env, fd, Type::DGRAM, false, None, &kind)?,
    "UnixListener" => check_socket(&env, fd, Type::STREAM, true, Some(true), &kind)?,
    "UnixStream" => check_socket(&env, fd, Type::STREAM, true, Some(false), &kind)?,
    "UnixDatagram" => check_socket(&env, fd, Type::DGRAM, true, None, &kind)?,
    "PipeSender" => check_fifo(&env, fd, true, &kind)?,
    "PipeReceiver" => check_fifo(&env, fd, false, &kind)?,
    _ => {
      return Err(error::invalid_arg(
        &env,
        &format!("unknown source kind {kind:?}"),
      ))
    }
  }
  set_nonblocking(&env, fd)?;
  // SAFETY: `fd` is open, and the caller hands it over (documented): from
  // here on the source owns it and closes it.
  let owned = unsafe { OwnedFd::from_raw_fd(fd) };
  let io = match kind.as_str() {
    "TcpListener" => Io::TcpListener(owned.into()),
    "TcpStream" => Io::TcpStream(owned.into()),
    "UdpSocket" => Io::UdpSocket(owned.into()),
    "UnixListener" => Io::UnixListener(owned.into()),
    "UnixStream" => Io::UnixStream(owned.into()),
    "UnixDatagram" => Io::UnixDatagram(owned.into()),
    "PipeSender" => Io::PipeSender(owned.into()),
    _ => Io::PipeReceiver(owned.into()),
  };
  Ok(source::insert(io))
}

/// Deregisters the source and gives its descriptor to the caller, who now
/// owns it; the source is closed. A `SourceFd` owns nothing to give.
#[napi]
pub fn source_detach_fd(env: Env, handle: Handle) -> Result<i32> {
  source::with(&env, handle, |io| match io {
    Io::Fd(_) => Err(error::invalid_arg(
      &env,
      "a SourceFd does not own its descriptor: close() it and keep using the descriptor",
    )),
    _ => Ok(()),
  })?;
  let io = source::take(handle).ok_or_else(|| error::closed(&env, "socket"))?;
  let owned: OwnedFd = match io {
    Io::TcpListener(s) => s.into(),
    Io::TcpStream(s) => s.into(),
    Io::UdpSocket(s) => s.into(),
    Io::UnixListener(s) => s.into(),
    Io::UnixStream(s) => s.into(),
    Io::UnixDatagram(s) => s.into(),
    Io::PipeSender(s) => s.into(),
    Io::PipeReceiver(s) => s.into(),
    Io::Fd(fd) => return Ok(fd.0),
  };
  Ok(owned.into_raw_fd())
}
