//! Handing descriptors in (`fromFd`, as mio's `from_std`) and out
//! (`detachFd`), and reading a source's descriptor (`fd`).

use std::io;
use std::os::fd::{BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

use napi::Env;
use napi_derive::napi;
use socket2::{SockRef, Type};

use crate::boundary::guard;
use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::source::{self, Io, Kind, Owner};
use crate::unix::source_fd::check_open;

/// The descriptor behind a handle.
pub fn raw(handle: Handle) -> Result<RawFd> {
  source::with(handle, |io| {
    io.raw()
      .ok_or_else(|| Error::wrong_kind("source with a descriptor"))
  })
}

/// `AsRawFd`: the descriptor, still owned by the source.
#[napi]
pub fn source_raw_fd(env: Env, handle: Handle) -> napi::Result<i32> {
  guard(&env, || raw(handle))
}

impl Io {
  /// A source of `kind` that owns `fd` (as mio's `from_std`); `None` for a
  /// kind that owns no descriptor.
  fn from_owned(kind: Kind, fd: OwnedFd) -> Option<Io> {
    Some(match kind {
      Kind::TcpListener => Io::TcpListener(fd.into()),
      Kind::TcpStream => Io::TcpStream(fd.into()),
      Kind::UdpSocket => Io::UdpSocket(fd.into()),
      Kind::UnixListener => Io::UnixListener(fd.into()),
      Kind::UnixStream => Io::UnixStream(fd.into()),
      Kind::UnixDatagram => Io::UnixDatagram(fd.into()),
      Kind::PipeSender => Io::PipeSender(fd.into()),
      Kind::PipeReceiver => Io::PipeReceiver(fd.into()),
      Kind::Fd | Kind::NamedPipe => return None,
    })
  }

  /// The descriptor this source owns, handed over; a `SourceFd`, which
  /// owns none, is given back.
  fn into_owned(self) -> std::result::Result<OwnedFd, Io> {
    Ok(match self {
      Io::TcpListener(s) => s.into(),
      Io::TcpStream(s) => s.into(),
      Io::UdpSocket(s) => s.into(),
      Io::UnixListener(s) => s.into(),
      Io::UnixStream(s) => s.into(),
      Io::UnixDatagram(s) => s.into(),
      Io::PipeSender(s) => s.into(),
      Io::PipeReceiver(s) => s.into(),
      Io::Fd(_) => return Err(self),
    })
  }
}

fn wrong(fd: RawFd, expected: &str, why: &str) -> Error {
  Error::invalid_arg(format!("descriptor {fd} is not {expected}: {why}"))
}

/// Whether a stream socket is listening (`SO_ACCEPTCONN`).
fn is_listening(fd: RawFd) -> Result<bool> {
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
    return Err(Error::system(&io::Error::last_os_error(), "getsockopt"));
  }
  Ok(value != 0)
}

/// Checks that `fd` is a socket of `kind` (stream or datagram, IP or Unix,
/// and for streams, listening or not).
fn check_socket(
  fd: RawFd,
  ty: Type,
  unix: bool,
  listening: Option<bool>,
  expected: &str,
) -> Result<()> {
  // SAFETY: `fd` was checked to be open; the borrow ends with this call.
  let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
  let sock = SockRef::from(&borrowed);
  let actual = sock.r#type().map_err(|e| Error::system(&e, "getsockopt"))?;
  if actual != ty {
    return Err(wrong(fd, expected, "wrong socket type"));
  }
  let family = sock
    .local_addr()
    .map_err(|e| Error::system(&e, "getsockname"))?
    .family();
  let is_unix = i32::from(family) == libc::AF_UNIX;
  if is_unix != unix {
    return Err(wrong(fd, expected, "wrong address family"));
  }
  if let Some(listening) = listening {
    if is_listening(fd)? != listening {
      let why = if listening {
        "it is not listening"
      } else {
        "it is a listening socket"
      };
      return Err(wrong(fd, expected, why));
    }
  }
  Ok(())
}

/// Checks that `fd` is a pipe end open for `O_WRONLY` (sender) or
/// `O_RDONLY` (receiver).
fn check_fifo(fd: RawFd, sender: bool, expected: &str) -> Result<()> {
  // SAFETY: an all-zero `stat` is a valid value for fstat to overwrite.
  let mut stat: libc::stat = unsafe { std::mem::zeroed() };
  // SAFETY: `fd` is open and `stat` is writable.
  if unsafe { libc::fstat(fd, &mut stat) } < 0 {
    return Err(Error::system(&io::Error::last_os_error(), "fstat"));
  }
  if stat.st_mode & libc::S_IFMT != libc::S_IFIFO {
    return Err(wrong(fd, expected, "not a pipe"));
  }
  // SAFETY: F_GETFL only reads the descriptor's flags.
  let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
  if flags < 0 {
    return Err(Error::system(&io::Error::last_os_error(), "fcntl"));
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
    return Err(wrong(fd, expected, why));
  }
  Ok(())
}

fn set_nonblocking(fd: RawFd) -> Result<()> {
  // SAFETY: F_GETFL/F_SETFL on an open descriptor.
  let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
  // SAFETY: as above.
  if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
    return Err(Error::system(&io::Error::last_os_error(), "fcntl"));
  }
  Ok(())
}

/// Checks that `fd` is what a source of `kind` holds.
fn check_kind(fd: RawFd, kind: Kind) -> Result<()> {
  let name = kind.name();
  match kind {
    Kind::TcpListener => check_socket(fd, Type::STREAM, false, Some(true), name),
    Kind::TcpStream => check_socket(fd, Type::STREAM, false, Some(false), name),
    Kind::UdpSocket => check_socket(fd, Type::DGRAM, false, None, name),
    Kind::UnixListener => check_socket(fd, Type::STREAM, true, Some(true), name),
    Kind::UnixStream => check_socket(fd, Type::STREAM, true, Some(false), name),
    Kind::UnixDatagram => check_socket(fd, Type::DGRAM, true, None, name),
    Kind::PipeSender => check_fifo(fd, true, name),
    Kind::PipeReceiver => check_fifo(fd, false, name),
    Kind::Fd | Kind::NamedPipe => Err(Error::invalid_arg(format!(
      "{name} cannot be made from a descriptor"
    ))),
  }
}

/// Adopts `fd` as a source of `kind` (as mio's `from_std`): checks what it
/// is, makes it non-blocking and takes ownership (closing the source closes
/// the descriptor).
#[napi(
  ts_args_type = "kind: 'TcpListener' | 'TcpStream' | 'UdpSocket' | 'UnixListener' | 'UnixStream' | 'UnixDatagram' | 'PipeSender' | 'PipeReceiver', fd: number"
)]
pub fn source_from_fd(env: Env, kind: String, fd: i32) -> napi::Result<Handle> {
  guard(&env, || {
    let kind = Kind::parse(&kind)
      .filter(|kind| !matches!(kind, Kind::Fd | Kind::NamedPipe))
      .ok_or_else(|| Error::invalid_arg(format!("unknown source kind {kind:?}")))?;
    check_open(fd)?;
    // Refused while a live source owns `fd` (whatever it is); held from
    // here, so no other thread adopts it meanwhile.
    let owner = Owner::claim(fd, kind)?;
    check_kind(fd, kind)?;
    set_nonblocking(fd)?;
    // SAFETY: `fd` is open, owned by no source (claimed above), and the
    // caller hands it over (documented): from here on the source owns it
    // and closes it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let io =
      Io::from_owned(kind, owned).ok_or_else(|| Error::invalid_arg("no such source kind"))?;
    source::insert_claimed(io, owner)
  })
}

/// Deregisters the source and gives its descriptor to the caller, who now
/// owns it; the source is closed. A `SourceFd` owns nothing to give.
#[napi]
pub fn source_detach_fd(env: Env, handle: Handle) -> napi::Result<i32> {
  guard(&env, || {
    source::with(handle, |io| match io.kind() {
      Kind::Fd => Err(Error::invalid_arg(
        "a SourceFd does not own its descriptor: close() it and keep using the descriptor",
      )),
      _ => Ok(()),
    })?;
    let taken = source::take(handle)?.ok_or_else(|| Error::closed("socket"))?;
    match taken.io.into_owned() {
      Ok(owned) => Ok(owned.into_raw_fd()),
      // Checked above: a SourceFd is never taken.
      Err(io) => Ok(io.raw().unwrap_or(-1)),
    }
  })
}
