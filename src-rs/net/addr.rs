//! Socket addresses: parsed from `'127.0.0.1:8080'` / `'[::1]:8080'`, and
//! returned the way `node:net` returns them.

use std::net::SocketAddr;

use napi_derive::napi;

use crate::error::{Error, Result};

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

/// An IP address text (IPv6 with an optional numeric `%scope`) and a port.
pub fn parse_parts(address: &str, port: u32) -> Result<SocketAddr> {
  let invalid = || {
    Error::type_error(
      "ERR_INVALID_ADDRESS",
      format!("invalid IP address {address:?} (host names are not resolved)"),
    )
  };
  let port = u16::try_from(port).map_err(|_| {
    Error::range_error(
      "ERR_SOCKET_BAD_PORT",
      format!("Port should be >= 0 and < 65536. Received {port}."),
    )
  })?;
  if let Ok(ip) = address.parse::<std::net::IpAddr>() {
    return Ok(SocketAddr::new(ip, port));
  }
  let (ip, scope) = address.split_once('%').ok_or_else(invalid)?;
  let ip: std::net::Ipv6Addr = ip.parse().map_err(|_| invalid())?;
  let scope: u32 = scope.parse().map_err(|_| invalid())?;
  Ok(SocketAddr::V6(std::net::SocketAddrV6::new(
    ip, port, 0, scope,
  )))
}

/// Parses `ip:port` (IPv6 in brackets). Host names are not resolved. A
/// valid address whose port is out of range is `ERR_SOCKET_BAD_PORT`, as
/// in the `{ address, port }` form and `node:net`.
pub fn parse(text: &str) -> Result<SocketAddr> {
  text.parse().map_err(|_| {
    if let Some((ip, port)) = text.rsplit_once(':') {
      let ip = match ip.strip_prefix('[').and_then(|ip| ip.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => ip.parse::<std::net::Ipv4Addr>().is_ok(),
      };
      let numeric = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
      let too_large = port.parse::<u64>().map_or(true, |port| port > 65535);
      if ip && numeric && too_large {
        return Error::range_error(
          "ERR_SOCKET_BAD_PORT",
          format!("Port should be >= 0 and < 65536. Received {port} in {text:?}."),
        );
      }
    }
    Error::type_error(
      "ERR_INVALID_ADDRESS",
      format!(
        "invalid socket address {text:?}: expected an IP address and port such as \
         '127.0.0.1:8080' or '[::1]:8080' (host names are not resolved)"
      ),
    )
  })
}

/// A datagram's destination: port 0 names no peer, so it is
/// `ERR_SOCKET_BAD_PORT`, as `node:dgram`'s `send` and `connect` say.
pub fn destination(addr: SocketAddr) -> Result<SocketAddr> {
  if addr.port() == 0 {
    return Err(Error::range_error(
      "ERR_SOCKET_BAD_PORT",
      format!("Port should be > 0 and < 65536. Received 0 in \"{addr}\"."),
    ));
  }
  Ok(addr)
}

#[cfg(test)]
mod tests {
  use super::{destination, parse, SocketAddress};
  use crate::error::Error;
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

  fn code(text: &str) -> &'static str {
    match parse(text) {
      Ok(_) => "ok",
      Err(Error::Coded { code, .. }) => code,
      Err(_) => "other",
    }
  }

  #[test]
  fn a_port_out_of_range_is_a_bad_port_whatever_the_form() {
    assert_eq!(code("127.0.0.1:65535"), "ok");
    assert_eq!(code("127.0.0.1:70000"), "ERR_SOCKET_BAD_PORT");
    assert_eq!(code("[::1]:99999999999999999999"), "ERR_SOCKET_BAD_PORT");
    assert_eq!(code("::1:70000"), "ERR_INVALID_ADDRESS");
    assert_eq!(code("localhost:70000"), "ERR_INVALID_ADDRESS");
    assert_eq!(code("127.0.0.1:-1"), "ERR_INVALID_ADDRESS");
    assert_eq!(code("127.0.0.1:"), "ERR_INVALID_ADDRESS");
  }

  #[test]
  fn port_0_is_no_destination() {
    let zero: SocketAddr = "127.0.0.1:0".parse().unwrap();
    assert!(matches!(
      destination(zero),
      Err(Error::Coded {
        code: "ERR_SOCKET_BAD_PORT",
        ..
      })
    ));
    let one: SocketAddr = "[::1]:1".parse().unwrap();
    assert!(destination(one).is_ok());
  }
}
