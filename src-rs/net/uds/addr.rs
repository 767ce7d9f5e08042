//! Unix socket addresses: `{ path }`, `{ abstract }` (Linux) or
//! `{ unnamed: true }`.

use std::os::unix::net::SocketAddr;
use std::path::Path;

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
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let name = {
      #[cfg(target_os = "android")]
      use std::os::android::net::SocketAddrExt;
      #[cfg(target_os = "linux")]
      use std::os::linux::net::SocketAddrExt;
      addr.as_abstract_name()
    };
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let name = None;
    UnixAddress::of(addr.as_pathname(), name)
  }
}

impl UnixAddress {
  /// A received sender's address (`recvfrom` fills a `SockAddr`).
  pub fn from_sock_addr(addr: &socket2::SockAddr) -> UnixAddress {
    UnixAddress::of(addr.as_pathname(), addr.as_abstract_namespace())
  }

  /// The address with `path` if there is one, else with the abstract
  /// `name`, else unnamed.
  fn of(path: Option<&Path>, name: Option<&[u8]>) -> UnixAddress {
    let mut out = UnixAddress {
      path: None,
      abstract_name: None,
      unnamed: None,
    };
    if let Some(path) = path {
      out.path = Some(path.to_string_lossy().into_owned());
    } else if let Some(name) = name {
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
