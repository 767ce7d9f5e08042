//! Unix socket addresses: `{ path }`, `{ abstract }` (Linux) or
//! `{ unnamed: true }`.

use std::os::unix::net::SocketAddr;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::error::{Error, Result};

/// A Unix socket address: exactly one of the fields is not `null`. Every
/// field is defined (`null` when unset), never assigned.
#[napi(object, use_nullable = true)]
pub struct UnixAddress {
  /// A filesystem path.
  pub path: Option<String>,
  /// A Linux abstract name (the bytes after the leading NUL).
  #[napi(js_name = "abstract")]
  pub abstract_name: Option<Buffer>,
  /// An unnamed socket (from `pair()`, `unbound()`, or a client's end).
  pub unnamed: Option<bool>,
}

impl From<&SocketAddr> for UnixAddress {
  fn from(addr: &SocketAddr) -> Self {
    let mut out = UnixAddress {
      path: None,
      abstract_name: None,
      unnamed: None,
    };
    if let Some(path) = addr.as_pathname() {
      out.path = Some(path.to_string_lossy().into_owned());
      return out;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
      #[cfg(target_os = "android")]
      use std::os::android::net::SocketAddrExt;
      #[cfg(target_os = "linux")]
      use std::os::linux::net::SocketAddrExt;
      if let Some(name) = addr.as_abstract_name() {
        out.abstract_name = Some(name.to_vec().into());
        return out;
      }
    }
    out.unnamed = Some(true);
    out
  }
}

impl UnixAddress {
  /// A received sender's address (`recvfrom` fills a `SockAddr`).
  pub fn from_sock_addr(addr: &socket2::SockAddr) -> UnixAddress {
    let mut out = UnixAddress {
      path: None,
      abstract_name: None,
      unnamed: None,
    };
    if let Some(path) = addr.as_pathname() {
      out.path = Some(path.to_string_lossy().into_owned());
    } else if let Some(name) = addr.as_abstract_namespace() {
      out.abstract_name = Some(name.to_vec().into());
    } else {
      out.unnamed = Some(true);
    }
    out
  }
}

/// The address of a Linux abstract name.
pub fn abstract_addr(name: &[u8]) -> Result<SocketAddr> {
  #[cfg(any(target_os = "linux", target_os = "android"))]
  {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name).map_err(|e| Error::system(&e, "bind"))
  }
  #[cfg(not(any(target_os = "linux", target_os = "android")))]
  {
    let _ = name;
    Err(Error::unavailable(
      "abstract Unix socket names exist on Linux and Android only",
    ))
  }
}
