//! Errors, the way Node.js throws them.
//!
//! mio speaks `io::Error`. JavaScript gets what `node:net` throws: an `Error`
//! with `code` (`'ECONNREFUSED'`), `errno` (libuv's negative number),
//! `syscall` and, where one is involved, `address` and `port` (or `path`).
//! Bad arguments become `TypeError`/`RangeError` with Node's `ERR_*` codes.
//!
//! An [`Error`] is a plain Rust value: building one runs no JavaScript and
//! needs no `Env`. It becomes a JavaScript exception only at the binding's
//! boundary ([`crate::boundary`]), after the call's table borrows and
//! pointers into JavaScript memory are gone, and its properties are defined
//! on the new object (never assigned), so no setter a program put on
//! `Error.prototype` runs. `WouldBlock` never comes here: callers turn it
//! into `null`.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use crate::napi_raw;
use crate::sys;

pub type Result<T> = std::result::Result<T, Error>;

/// Which JavaScript constructor an error gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
  Error,
  TypeError,
  RangeError,
}

/// A Node-style system error (`code`, `errno`, `syscall`, ...).
#[derive(Debug)]
pub struct SystemError {
  pub code: &'static str,
  pub errno: i32,
  pub syscall: &'static str,
  pub message: String,
  pub address: Option<SocketAddr>,
  pub path: Option<String>,
}

/// An error on its way to JavaScript.
#[derive(Debug)]
pub enum Error {
  System(Box<SystemError>),
  /// An error with a Node `ERR_*` code.
  Coded {
    class: Class,
    code: &'static str,
    message: String,
  },
  /// JavaScript threw while the binding called it (a getter, a callback):
  /// that exception is pending and propagates as it is.
  Pending,
}

impl fmt::Display for Error {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      Error::System(e) => f.write_str(&e.message),
      Error::Coded { code, message, .. } => write!(f, "{code}: {message}"),
      Error::Pending => f.write_str("a JavaScript exception is pending"),
    }
  }
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

impl Error {
  /// `err` as a Node-style system error from `syscall`.
  pub fn system(err: &io::Error, syscall: &'static str) -> Error {
    let (code, errno) = describe(err);
    Error::System(Box::new(SystemError {
      code,
      errno,
      syscall,
      message: format!("{syscall} {code}: {}", description(err)),
      address: None,
      path: None,
    }))
  }

  /// A system error that mio's API leaves to the binding (registration
  /// state, a busy `Poll`): `kind` gives the code.
  pub fn system_kind(kind: io::ErrorKind, syscall: &'static str, message: &str) -> Error {
    Error::system(&io::Error::new(kind, message.to_string()), syscall)
  }

  /// Adds what the program can do about a system error to its message.
  /// (Only the epoll `EPERM` of `source.rs` uses it.)
  #[cfg(any(target_os = "linux", target_os = "android"))]
  pub fn hint(mut self, hint: &str) -> Error {
    if let Error::System(e) = &mut self {
      e.message.push_str(" (");
      e.message.push_str(hint);
      e.message.push(')');
    }
    self
  }

  /// Adds the socket address involved (in the message, `address`, `port`).
  pub fn at(mut self, addr: SocketAddr) -> Error {
    if let Error::System(e) = &mut self {
      e.message.push(' ');
      e.message.push_str(&addr.to_string());
      e.address = Some(addr);
    }
    self
  }

  /// Adds the Unix socket path involved (in the message and as `path`, like
  /// `node:net` does for pipes).
  pub fn on_path(mut self, path: &str) -> Error {
    if let Error::System(e) = &mut self {
      e.message.push(' ');
      e.message.push_str(path);
      e.path = Some(path.to_string());
    }
    self
  }

  pub fn type_error(code: &'static str, message: impl Into<String>) -> Error {
    Error::Coded {
      class: Class::TypeError,
      code,
      message: message.into(),
    }
  }

  pub fn range_error(code: &'static str, message: impl Into<String>) -> Error {
    Error::Coded {
      class: Class::RangeError,
      code,
      message: message.into(),
    }
  }

  /// `ERR_OUT_OF_RANGE`.
  pub fn out_of_range(message: impl Into<String>) -> Error {
    Error::range_error("ERR_OUT_OF_RANGE", message)
  }

  /// `ERR_INVALID_ARG_TYPE`.
  pub fn invalid_type(message: impl Into<String>) -> Error {
    Error::type_error("ERR_INVALID_ARG_TYPE", message)
  }

  /// An argument the wrapper could not check (what a descriptor is, say).
  pub fn invalid_arg(message: impl Into<String>) -> Error {
    Error::type_error("ERR_INVALID_ARG_VALUE", message)
  }

  /// A feature this platform does not have.
  pub fn unavailable(message: impl Into<String>) -> Error {
    Error::Coded {
      class: Class::Error,
      code: "ERR_FEATURE_UNAVAILABLE_ON_PLATFORM",
      message: message.into(),
    }
  }

  /// Use of an object after `close()` (or of a handle that never existed).
  pub fn closed(what: &str) -> Error {
    let code = match what {
      "Poll" | "Registry" | "Waker" | "Watch" => "ERR_MIO_CLOSED",
      _ => "ERR_SOCKET_CLOSED",
    };
    Error::Coded {
      class: Class::Error,
      code,
      message: format!("{what} is closed"),
    }
  }

  /// A handle of the wrong kind reached a function (the wrapper never does this).
  pub fn wrong_kind(expected: &str) -> Error {
    Error::invalid_type(format!("expected a {expected} for this operation"))
  }

  /// A Rust panic caught at the boundary: a bug in node-mio, reported as an
  /// error instead of aborting the process.
  pub fn panic(payload: &(dyn std::any::Any + Send)) -> Error {
    let what = payload
      .downcast_ref::<&str>()
      .map(|s| s.to_string())
      .or_else(|| payload.downcast_ref::<String>().cloned())
      .unwrap_or_else(|| "unknown panic".to_string());
    Error::Coded {
      class: Class::Error,
      code: "ERR_MIO_PANIC",
      message: format!("internal error in node-mio (please report it): {what}"),
    }
  }
}

impl From<napi::Error> for Error {
  /// A failed Node-API call through napi-rs: a pending JavaScript exception
  /// stays pending; anything else becomes an error naming the status.
  fn from(err: napi::Error) -> Error {
    if err.status == napi::Status::PendingException {
      return Error::Pending;
    }
    Error::Coded {
      class: Class::Error,
      code: "ERR_MIO_NODE_API",
      message: format!("Node-API call failed ({}): {}", err.status, err.reason),
    }
  }
}

/// Builds the JavaScript error object for `err` (without throwing it).
/// `None` when an exception is already pending (`Error::Pending`, or Node-API
/// failing because the environment is going away).
pub fn to_js(env: napi::sys::napi_env, err: &Error) -> Option<napi::sys::napi_value> {
  match err {
    Error::Pending => None,
    Error::Coded {
      class,
      code,
      message,
    } => {
      let object = napi_raw::create_error(env, *class, message)?;
      napi_raw::define_str(env, object, c"code", code)?;
      Some(object)
    }
    Error::System(e) => {
      let object = napi_raw::create_error(env, Class::Error, &e.message)?;
      napi_raw::define_str(env, object, c"code", e.code)?;
      napi_raw::define_number(env, object, c"errno", f64::from(e.errno))?;
      napi_raw::define_str(env, object, c"syscall", e.syscall)?;
      if let Some(addr) = e.address {
        napi_raw::define_str(env, object, c"address", &addr.ip().to_string())?;
        napi_raw::define_number(env, object, c"port", f64::from(addr.port()))?;
      }
      if let Some(path) = &e.path {
        napi_raw::define_str(env, object, c"path", path)?;
      }
      Some(object)
    }
  }
}

/// Throws `err` into `env` (unless an exception is pending already) and
/// returns the marker napi-rs passes through without throwing again.
pub fn throw(env: napi::sys::napi_env, err: Error) -> napi::Error {
  if !napi_raw::exception_pending(env) {
    match to_js(env, &err) {
      Some(object) => napi_raw::throw(env, object),
      None if matches!(err, Error::Pending) => {
        // A Node-API call reported a pending exception that is not there:
        // say so rather than return `undefined` silently.
        if let Some(object) = napi_raw::create_error(
          env,
          Class::Error,
          "node-mio: a JavaScript exception was expected but none is pending",
        ) {
          napi_raw::throw(env, object);
        }
      }
      None => {}
    }
  }
  napi::Error::new(napi::Status::PendingException, err.to_string())
}

#[cfg(test)]
mod tests {
  use std::io;

  use super::Error;

  #[test]
  fn description_drops_the_os_error_suffix() {
    let err = io::Error::from_raw_os_error(libc_econnrefused());
    assert!(!super::description(&err).contains("os error"));
    assert_eq!(super::describe(&err).0, "ECONNREFUSED");
  }

  #[test]
  fn system_errors_carry_address_and_path() {
    let err = io::Error::from_raw_os_error(libc_econnrefused());
    let addr = "127.0.0.1:9".parse().expect("a literal address");
    match Error::system(&err, "connect").at(addr) {
      Error::System(e) => {
        assert_eq!(e.code, "ECONNREFUSED");
        assert_eq!(e.syscall, "connect");
        assert_eq!(e.address, Some(addr));
        assert!(e.message.starts_with("connect ECONNREFUSED: "));
        assert!(e.message.ends_with(" 127.0.0.1:9"));
      }
      other => panic!("not a system error: {other:?}"),
    }
    match Error::system(&err, "connect").on_path("/tmp/s") {
      Error::System(e) => assert_eq!(e.path.as_deref(), Some("/tmp/s")),
      other => panic!("not a system error: {other:?}"),
    }
  }

  #[test]
  fn panics_become_coded_errors() {
    let payload: Box<dyn std::any::Any + Send> = Box::new("boom");
    match Error::panic(payload.as_ref()) {
      Error::Coded { code, message, .. } => {
        assert_eq!(code, "ERR_MIO_PANIC");
        assert!(message.contains("boom"));
      }
      other => panic!("not a coded error: {other:?}"),
    }
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
