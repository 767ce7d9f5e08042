//! Errors, the way Node.js throws them.
//!
//! mio speaks `io::Error`. JavaScript gets what `node:net` throws: an `Error`
//! with `code` (`'ECONNREFUSED'`), `errno` (libuv's negative number),
//! `syscall` and, where one is involved, `address` and `port`. Bad arguments
//! become `TypeError`/`RangeError` with Node's `ERR_*` codes.
//!
//! Each helper throws the JavaScript error itself and returns the
//! `PendingException` marker, which napi-rs passes through without throwing
//! again. `WouldBlock` never comes here: callers turn it into `null`.

use std::io;
use std::net::SocketAddr;

use napi::bindgen_prelude::Object;
use napi::{Env, Error, Status};

use crate::sys;

pub type Result<T> = napi::Result<T>;

fn pending(message: String) -> Error {
  Error::new(Status::PendingException, message)
}

/// The Node-style `code` and `errno` of an `io::Error`.
pub fn describe(err: &io::Error) -> (&'static str, i32) {
  if let Some(raw) = err.raw_os_error() {
    if let Some(found) = sys::os_error(raw) {
      return found;
    }
  }
  sys::kind_error(err.kind())
}

/// What the OS says, without std's " (os error N)" suffix.
fn description(err: &io::Error) -> String {
  let text = err.to_string();
  match text.find(" (os error ") {
    Some(at) => text[..at].to_string(),
    None => text,
  }
}

/// Throws `err` as a Node-style system error from `syscall`.
pub fn system(env: &Env, err: &io::Error, syscall: &str, addr: Option<&SocketAddr>) -> Error {
  match system_object(env, err, syscall, addr).and_then(|object| env.throw(object)) {
    Ok(()) => pending(format!("{syscall} {}", describe(err).0)),
    Err(e) => e,
  }
}

/// Throws `err` from `syscall` on a Unix socket `path` (in the message and
/// as `error.path`, like `node:net` does for pipes).
pub fn system_path(env: &Env, err: &io::Error, syscall: &str, path: &str) -> Error {
  let result = system_object(env, err, syscall, None).and_then(|mut object| {
    let (code, _) = describe(err);
    object.set(
      "message",
      format!("{syscall} {code}: {} {path}", description(err)),
    )?;
    object.set("path", path)?;
    env.throw(object)
  });
  match result {
    Ok(()) => pending(format!("{syscall} {}", describe(err).0)),
    Err(e) => e,
  }
}

/// Builds (without throwing) the Node-style error object for `err`.
pub fn system_object<'env>(
  env: &'env Env,
  err: &io::Error,
  syscall: &str,
  addr: Option<&SocketAddr>,
) -> Result<Object<'env>> {
  let (code, errno) = describe(err);
  let mut message = format!("{syscall} {code}: {}", description(err));
  if let Some(addr) = addr {
    message.push(' ');
    message.push_str(&addr.to_string());
  }
  let mut object = env.create_error(Error::new(Status::GenericFailure, message))?;
  object.set("code", code)?;
  object.set("errno", errno)?;
  object.set("syscall", syscall)?;
  if let Some(addr) = addr {
    object.set("address", addr.ip().to_string())?;
    object.set("port", u32::from(addr.port()))?;
  }
  Ok(object)
}

/// A system error that mio's API leaves to the binding (registration state).
pub fn system_kind(env: &Env, kind: io::ErrorKind, syscall: &str, message: &str) -> Error {
  system(
    env,
    &io::Error::new(kind, message.to_string()),
    syscall,
    None,
  )
}

pub fn type_error(env: &Env, code: &str, message: &str) -> Error {
  if let Err(e) = env.throw_type_error(message, Some(code)) {
    return e;
  }
  pending(message.to_string())
}

pub fn range_error(env: &Env, code: &str, message: &str) -> Error {
  if let Err(e) = env.throw_range_error(message, Some(code)) {
    return e;
  }
  pending(message.to_string())
}

/// An argument the wrapper could not check (what a descriptor is, say).
pub fn invalid_arg(env: &Env, message: &str) -> Error {
  type_error(env, "ERR_INVALID_ARG_VALUE", message)
}

/// A feature this platform does not have.
pub fn unavailable(env: &Env, message: &str) -> Error {
  if let Err(e) = env.throw_error(message, Some("ERR_FEATURE_UNAVAILABLE_ON_PLATFORM")) {
    return e;
  }
  pending(message.to_string())
}

/// Use of an object after `close()` (or of a handle that never existed).
pub fn closed(env: &Env, what: &str) -> Error {
  let code = match what {
    "Poll" | "Registry" | "Waker" => "ERR_MIO_CLOSED",
    _ => "ERR_SOCKET_CLOSED",
  };
  let message = format!("{what} is closed");
  if let Err(e) = env.throw_error(&message, Some(code)) {
    return e;
  }
  pending(message)
}

/// A handle of the wrong kind reached a function (the wrapper never does this).
pub fn wrong_kind(env: &Env, expected: &str) -> Error {
  type_error(
    env,
    "ERR_INVALID_ARG_TYPE",
    &format!("expected a {expected} for this operation"),
  )
}

#[cfg(test)]
mod tests {
  use std::io;

  #[test]
  fn description_drops_the_os_error_suffix() {
    let err = io::Error::from_raw_os_error(libc_econnrefused());
    assert!(!super::description(&err).contains("os error"));
    assert_eq!(super::describe(&err).0, "ECONNREFUSED");
  }

  #[cfg(unix)]
  fn libc_econnrefused() -> i32 {
    libc::ECONNREFUSED
  }

  #[cfg(windows)]
  fn libc_econnrefused() -> i32 {
    10061
  }
}
