//! Socket addresses: parsed from `'127.0.0.1:8080'` / `'[::1]:8080'`, and
//! returned the way `node:net` returns them.

use std::net::SocketAddr;

use napi::Env;
use napi_derive::napi;

use crate::error::{self, Result};

/// An IP socket address, as `node:net`'s `server.address()` gives it.
#[napi(object)]
pub struct SocketAddress {
  /// `'127.0.0.1'`, `'::1'`, or `'fe80::1%2'` with a scope id.
  pub address: String,
  /// `'IPv4'` or `'IPv6'`.
  pub family: String,
  pub port: u32,
}

impl From<SocketAddr> for SocketAddress {
  fn from(addr: SocketAddr) -> Self {
    let (address, family) = match addr {
      SocketAddr::V4(v4) => (v4.ip().to_string(), "IPv4"),
      SocketAddr::V6(v6) if v6.scope_id() != 0 => {
        (format!("{}%{}", v6.ip(), v6.scope_id()), "IPv6")
      }
      SocketAddr::V6(v6) => (v6.ip().to_string(), "IPv6"),
    };
    SocketAddress {
      address,
      family: family.to_string(),
      port: u32::from(addr.port()),
    }
  }
}

/// Parses `ip:port` (IPv6 in brackets). Host names are not resolved.
pub fn parse(env: &Env, text: &str) -> Result<SocketAddr> {
  text.parse().map_err(|_| {
    error::type_error(
      env,
      "ERR_INVALID_ADDRESS",
      &format!(
        "invalid socket address {text:?}: expected an IP address and port such as \
         '127.0.0.1:8080' or '[::1]:8080' (host names are not resolved)"
      ),
    )
  })
}

#[cfg(test)]
mod tests {
  use super::SocketAddress;
  use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};

  fn node(text: &str) -> (String, String, u32) {
    let addr: SocketAddr = text.parse().unwrap();
    let out = SocketAddress::from(addr);
    (out.address, out.family, out.port)
  }

  #[test]
  fn formats_like_node_net() {
    assert_eq!(
      node("127.0.0.1:80"),
      ("127.0.0.1".into(), "IPv4".into(), 80)
    );
    assert_eq!(node("[::1]:8080"), ("::1".into(), "IPv6".into(), 8080));
    let scoped = SocketAddrV6::new(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1), 9, 0, 2);
    assert_eq!(
      SocketAddress::from(SocketAddr::V6(scoped)).address,
      "fe80::1%2"
    );
  }
}
