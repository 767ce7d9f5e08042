//! Unix: errno names. libuv's error numbers are `-errno` here, which is what
//! Node.js puts in `error.errno`.

use std::io::ErrorKind;

macro_rules! errnos {
  ($($name:ident),* $(,)?) => {
    const ERRNOS: &[(i32, &str)] = &[$((libc::$name, stringify!($name))),*];
  };
}

// EAGAIN comes before EWOULDBLOCK, so the shared number reads as Node's name.
errnos! {
  EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, EBADF, ECHILD, EAGAIN, EWOULDBLOCK, ENOMEM,
  EACCES, EFAULT, EBUSY, EEXIST, EXDEV, ENODEV, ENOTDIR, EISDIR, EINVAL, ENFILE, EMFILE, ENOTTY,
  ETXTBSY, EFBIG, ENOSPC, ESPIPE, EROFS, EMLINK, EPIPE, ERANGE, EDEADLK, ENAMETOOLONG, ENOLCK,
  ENOSYS, ENOTEMPTY, ELOOP, ENOMSG, EPROTO, EBADMSG, EOVERFLOW, EILSEQ, ENOTSOCK, EDESTADDRREQ,
  EMSGSIZE, EPROTOTYPE, ENOPROTOOPT, EPROTONOSUPPORT, EOPNOTSUPP, ENOTSUP, EAFNOSUPPORT,
  EADDRINUSE, EADDRNOTAVAIL, ENETDOWN, ENETUNREACH, ENETRESET, ECONNABORTED, ECONNRESET, ENOBUFS,
  EISCONN, ENOTCONN, ESHUTDOWN, ETIMEDOUT, ECONNREFUSED, EHOSTDOWN, EHOSTUNREACH, EALREADY,
  EINPROGRESS, ECANCELED,
}

/// `(code, errno)` of a raw OS error number.
pub fn os_error(raw: i32) -> Option<(&'static str, i32)> {
  ERRNOS
    .iter()
    .find(|(number, _)| *number == raw)
    .map(|(number, name)| (*name, -number))
}

/// `(code, errno)` for an error that carries no OS number.
pub fn kind_error(kind: ErrorKind) -> (&'static str, i32) {
  let raw = match kind {
    ErrorKind::NotFound => libc::ENOENT,
    ErrorKind::PermissionDenied => libc::EACCES,
    ErrorKind::ConnectionRefused => libc::ECONNREFUSED,
    ErrorKind::ConnectionReset => libc::ECONNRESET,
    ErrorKind::ConnectionAborted => libc::ECONNABORTED,
    ErrorKind::NotConnected => libc::ENOTCONN,
    ErrorKind::AddrInUse => libc::EADDRINUSE,
    ErrorKind::AddrNotAvailable => libc::EADDRNOTAVAIL,
    ErrorKind::BrokenPipe => libc::EPIPE,
    ErrorKind::AlreadyExists => libc::EEXIST,
    ErrorKind::WouldBlock => libc::EAGAIN,
    ErrorKind::InvalidInput | ErrorKind::InvalidData => libc::EINVAL,
    ErrorKind::TimedOut => libc::ETIMEDOUT,
    ErrorKind::Interrupted => libc::EINTR,
    ErrorKind::Unsupported => libc::ENOTSUP,
    ErrorKind::OutOfMemory => libc::ENOMEM,
    ErrorKind::ResourceBusy => libc::EBUSY,
    _ => return ("EIO", -libc::EIO),
  };
  os_error(raw).unwrap_or(("EIO", -libc::EIO))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn names_match_node() {
    assert_eq!(
      os_error(libc::ECONNREFUSED),
      Some(("ECONNREFUSED", -libc::ECONNREFUSED))
    );
    assert_eq!(
      os_error(libc::EADDRINUSE),
      Some(("EADDRINUSE", -libc::EADDRINUSE))
    );
    // EWOULDBLOCK shares EAGAIN's number; Node calls it EAGAIN.
    assert_eq!(os_error(libc::EWOULDBLOCK).map(|e| e.0), Some("EAGAIN"));
    assert_eq!(os_error(-12345), None);
  }

  #[test]
  fn kinds_without_a_number() {
    assert_eq!(
      kind_error(ErrorKind::AlreadyExists),
      ("EEXIST", -libc::EEXIST)
    );
    assert_eq!(kind_error(ErrorKind::NotFound), ("ENOENT", -libc::ENOENT));
    assert_eq!(kind_error(ErrorKind::Other), ("EIO", -libc::EIO));
  }
}
