//! Windows: Winsock and Win32 errors, named as libuv names them, with libuv's
//! error numbers (what Node.js puts in `error.errno` on Windows).

use std::io::ErrorKind;

/// `(Winsock/Win32 error, code, libuv errno)`.
const ERRORS: &[(i32, &str, i32)] = &[
  (10004, "EINTR", -4072),
  (10009, "EBADF", -4083),
  (10013, "EACCES", -4092),
  (10014, "EFAULT", -4074),
  (10022, "EINVAL", -4071),
  (10024, "EMFILE", -4066),
  (10035, "EAGAIN", -4088),
  (10036, "EALREADY", -4084),
  (10037, "EALREADY", -4084),
  (10038, "ENOTSOCK", -4050),
  (10039, "EDESTADDRREQ", -4076),
  (10040, "EMSGSIZE", -4065),
  (10041, "EPROTOTYPE", -4044),
  (10042, "ENOPROTOOPT", -4035),
  (10043, "EPROTONOSUPPORT", -4045),
  (10045, "ENOTSUP", -4049),
  (10047, "EAFNOSUPPORT", -4089),
  (10048, "EADDRINUSE", -4091),
  (10049, "EADDRNOTAVAIL", -4090),
  (10050, "ENETDOWN", -4063),
  (10051, "ENETUNREACH", -4062),
  (10052, "ECONNRESET", -4077),
  (10053, "ECONNABORTED", -4079),
  (10054, "ECONNRESET", -4077),
  (10055, "ENOBUFS", -4060),
  (10056, "EISCONN", -4069),
  (10057, "ENOTCONN", -4053),
  (10058, "EPIPE", -4047),
  (10060, "ETIMEDOUT", -4039),
  (10061, "ECONNREFUSED", -4078),
  (10065, "EHOSTUNREACH", -4073),
  (2, "ENOENT", -4058),
  (5, "EACCES", -4092),
  (6, "EBADF", -4083),
  (109, "EPIPE", -4047),
  (232, "EPIPE", -4047),
  (183, "EEXIST", -4075),
];

pub fn os_error(raw: i32) -> Option<(&'static str, i32)> {
  ERRORS
    .iter()
    .find(|(number, _, _)| *number == raw)
    .map(|(_, name, errno)| (*name, *errno))
}

pub fn kind_error(kind: ErrorKind) -> (&'static str, i32) {
  match kind {
    ErrorKind::NotFound => ("ENOENT", -4058),
    ErrorKind::PermissionDenied => ("EACCES", -4092),
    ErrorKind::ConnectionRefused => ("ECONNREFUSED", -4078),
    ErrorKind::ConnectionReset => ("ECONNRESET", -4077),
    ErrorKind::ConnectionAborted => ("ECONNABORTED", -4079),
    ErrorKind::NotConnected => ("ENOTCONN", -4053),
    ErrorKind::AddrInUse => ("EADDRINUSE", -4091),
    ErrorKind::AddrNotAvailable => ("EADDRNOTAVAIL", -4090),
    ErrorKind::BrokenPipe => ("EPIPE", -4047),
    ErrorKind::AlreadyExists => ("EEXIST", -4075),
    ErrorKind::WouldBlock => ("EAGAIN", -4088),
    ErrorKind::InvalidInput | ErrorKind::InvalidData => ("EINVAL", -4071),
    ErrorKind::TimedOut => ("ETIMEDOUT", -4039),
    ErrorKind::Interrupted => ("EINTR", -4072),
    ErrorKind::Unsupported => ("ENOTSUP", -4049),
    ErrorKind::OutOfMemory => ("ENOMEM", -4057),
    ErrorKind::ResourceBusy => ("EBUSY", -4082),
    _ => ("EIO", -4070),
  }
}
