//! `UdpSocket`.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use napi::bindgen_prelude::{Float64ArraySlice, Uint8ArraySlice};
use napi::Env;
use napi_derive::napi;

use crate::error::{self, Result};
use crate::handle::Handle;
use crate::net::addr::{self, SocketAddress};
use crate::net::io::complete;
use crate::source::{self, Io};

/// A received datagram's sender and size, like `node:dgram`'s `RemoteInfo`.
#[napi(object)]
pub struct RemoteInfo {
  pub address: String,
  /// `'IPv4'` or `'IPv6'`.
  pub family: String,
  pub port: u32,
  /// Bytes received (a datagram longer than the buffer is truncated).
  pub size: u32,
}

fn with_udp<R>(
  env: &Env,
  handle: Handle,
  f: impl FnOnce(&mio::net::UdpSocket) -> Result<R>,
) -> Result<R> {
  source::with(env, handle, |io| match io {
    Io::UdpSocket(s) => f(s),
    _ => Err(error::wrong_kind(env, "UdpSocket")),
  })
}

fn option<T>(env: &Env, result: io::Result<T>, syscall: &str) -> Result<T> {
  result.map_err(|e| error::system(env, &e, syscall, None))
}

fn received(
  env: &Env,
  syscall: &str,
  mut op: impl FnMut() -> io::Result<(usize, SocketAddr)>,
) -> Result<Option<RemoteInfo>> {
  loop {
    match op() {
      Ok((size, from)) => {
        let from = SocketAddress::from(from);
        return Ok(Some(RemoteInfo {
          address: from.address,
          family: from.family,
          port: from.port,
          size: size as u32,
        }));
      }
      Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
      Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
      Err(e) => return Err(error::system(env, &e, syscall, None)),
    }
  }
}

fn ipv4(env: &Env, text: &str) -> Result<Ipv4Addr> {
  text.parse().map_err(|_| {
    error::type_error(
      env,
      "ERR_INVALID_IP_ADDRESS",
      &format!("invalid IPv4 address: {text:?}"),
    )
  })
}

fn ipv6(env: &Env, text: &str) -> Result<Ipv6Addr> {
  text.parse().map_err(|_| {
    error::type_error(
      env,
      "ERR_INVALID_IP_ADDRESS",
      &format!("invalid IPv6 address: {text:?}"),
    )
  })
}

/// `UdpSocket::bind(addr)`.
#[napi]
pub fn udp_bind(env: Env, addr: String) -> Result<Handle> {
  let addr = addr::parse(&env, &addr)?;
  let socket =
    mio::net::UdpSocket::bind(addr).map_err(|e| error::system(&env, &e, "bind", Some(&addr)))?;
  Ok(source::insert(Io::UdpSocket(socket)))
}

/// `UdpSocket::send_to(buf, target)`.
#[napi]
pub fn udp_send_to(env: Env, handle: Handle, buf: &[u8], target: String) -> Result<Option<u32>> {
  let target = addr::parse(&env, &target)?;
  with_udp(&env, handle, |s| {
    complete(&env, "sendto", || s.send_to(buf, target))
  })
}

/// `UdpSocket::send_to(buf, target)` with the target as an IP address text
/// and a port, the way a received `RemoteInfo` carries it: no `ip:port` text
/// is built for every datagram. `offset`/`length` send part of `buf`.
#[napi]
pub fn udp_send_to_parts(
  env: Env,
  handle: Handle,
  buf: &[u8],
  address: String,
  port: u32,
  offset: Option<u32>,
  length: Option<u32>,
) -> Result<Option<u32>> {
  let target = addr::parse_parts(&env, &address, port)?;
  let start = offset.unwrap_or(0) as usize;
  let end = length.map_or(buf.len(), |length| start.saturating_add(length as usize));
  let Some(buf) = buf.get(start..end) else {
    return Err(error::range_error(
      &env,
      "ERR_OUT_OF_RANGE",
      &format!(
        "offset and length must lie within the buffer ({} bytes)",
        buf.len()
      ),
    ));
  };
  with_udp(&env, handle, |s| {
    complete(&env, "sendto", || s.send_to(buf, target))
  })
}

/// The sender's address as numbers in `from`: `[family (4 or 6), port,
/// w0, w1, w2, w3, scope id]`, the address in 32-bit words, most significant
/// first (IPv4: `w0` only).
fn address_parts(from: SocketAddr, out: &mut [f64]) {
  if out.len() < 7 {
    return;
  }
  match from {
    SocketAddr::V4(v4) => {
      out[0] = 4.0;
      out[2] = f64::from(u32::from(*v4.ip()));
      out[3] = 0.0;
      out[4] = 0.0;
      out[5] = 0.0;
      out[6] = 0.0;
    }
    SocketAddr::V6(v6) => {
      out[0] = 6.0;
      let bits = u128::from(*v6.ip());
      for (word, slot) in out[2..6].iter_mut().enumerate() {
        *slot = f64::from((bits >> (96 - 32 * word)) as u32);
      }
      out[6] = f64::from(v6.scope_id());
    }
  }
  out[1] = f64::from(from.port());
}

/// `UdpSocket::recv_from(buf)` writing the sender into `from` (see
/// `address_parts`) instead of a new object: the size, or `null`.
#[napi]
pub fn udp_recv_from_parts(
  env: Env,
  handle: Handle,
  mut buf: Uint8ArraySlice,
  mut from: Float64ArraySlice,
) -> Result<Option<u32>> {
  let buf = crate::net::io::bytes_mut(&mut buf);
  let buf = crate::net::io::readable(&env, buf)?;
  // SAFETY: synchronous on the JS thread, as `bytes_mut`.
  let from = unsafe { from.as_mut() };
  with_udp(&env, handle, |s| loop {
    match s.recv_from(buf) {
      Ok((size, sender)) => {
        address_parts(sender, from);
        return Ok(Some(size as u32));
      }
      Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
      Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
      Err(e) => return Err(error::system(&env, &e, "recvfrom", None)),
    }
  })
}

/// `UdpSocket::recv_from(buf)`.
#[napi]
pub fn udp_recv_from(
  env: Env,
  handle: Handle,
  mut buf: Uint8ArraySlice,
) -> Result<Option<RemoteInfo>> {
  let buf = crate::net::io::bytes_mut(&mut buf);
  let buf = crate::net::io::readable(&env, buf)?;
  with_udp(&env, handle, |s| {
    received(&env, "recvfrom", || s.recv_from(buf))
  })
}

/// `UdpSocket::peek_from(buf)`.
#[napi]
pub fn udp_peek_from(
  env: Env,
  handle: Handle,
  mut buf: Uint8ArraySlice,
) -> Result<Option<RemoteInfo>> {
  let buf = crate::net::io::bytes_mut(&mut buf);
  let buf = crate::net::io::readable(&env, buf)?;
  with_udp(&env, handle, |s| {
    received(&env, "recvfrom", || s.peek_from(buf))
  })
}

/// `UdpSocket::connect(addr)`: sets the default peer for `send`/`recv`.
#[napi]
pub fn udp_connect(env: Env, handle: Handle, addr: String) -> Result<()> {
  let addr = addr::parse(&env, &addr)?;
  with_udp(&env, handle, |s| {
    s.connect(addr)
      .map_err(|e| error::system(&env, &e, "connect", Some(&addr)))
  })
}

/// `UdpSocket::send(buf)` to the connected peer.
#[napi]
pub fn udp_send(env: Env, handle: Handle, buf: &[u8]) -> Result<Option<u32>> {
  with_udp(&env, handle, |s| complete(&env, "send", || s.send(buf)))
}

/// `UdpSocket::recv(buf)` from the connected peer.
#[napi]
pub fn udp_recv(env: Env, handle: Handle, mut buf: Uint8ArraySlice) -> Result<Option<u32>> {
  let buf = crate::net::io::bytes_mut(&mut buf);
  let buf = crate::net::io::readable(&env, buf)?;
  with_udp(&env, handle, |s| complete(&env, "recv", || s.recv(buf)))
}

/// `UdpSocket::peek(buf)` from the connected peer.
#[napi]
pub fn udp_peek(env: Env, handle: Handle, mut buf: Uint8ArraySlice) -> Result<Option<u32>> {
  let buf = crate::net::io::bytes_mut(&mut buf);
  let buf = crate::net::io::readable(&env, buf)?;
  with_udp(&env, handle, |s| complete(&env, "recv", || s.peek(buf)))
}

#[napi]
pub fn udp_set_broadcast(env: Env, handle: Handle, on: bool) -> Result<()> {
  with_udp(&env, handle, |s| {
    option(&env, s.set_broadcast(on), "setsockopt")
  })
}

#[napi]
pub fn udp_broadcast(env: Env, handle: Handle) -> Result<bool> {
  with_udp(&env, handle, |s| option(&env, s.broadcast(), "getsockopt"))
}

#[napi]
pub fn udp_set_multicast_loop_v4(env: Env, handle: Handle, on: bool) -> Result<()> {
  with_udp(&env, handle, |s| {
    option(&env, s.set_multicast_loop_v4(on), "setsockopt")
  })
}

#[napi]
pub fn udp_multicast_loop_v4(env: Env, handle: Handle) -> Result<bool> {
  with_udp(&env, handle, |s| {
    option(&env, s.multicast_loop_v4(), "getsockopt")
  })
}

#[napi]
pub fn udp_set_multicast_ttl_v4(env: Env, handle: Handle, ttl: u32) -> Result<()> {
  with_udp(&env, handle, |s| {
    option(&env, s.set_multicast_ttl_v4(ttl), "setsockopt")
  })
}

#[napi]
pub fn udp_multicast_ttl_v4(env: Env, handle: Handle) -> Result<u32> {
  with_udp(&env, handle, |s| {
    option(&env, s.multicast_ttl_v4(), "getsockopt")
  })
}

#[napi]
pub fn udp_set_multicast_loop_v6(env: Env, handle: Handle, on: bool) -> Result<()> {
  with_udp(&env, handle, |s| {
    option(&env, s.set_multicast_loop_v6(on), "setsockopt")
  })
}

#[napi]
pub fn udp_multicast_loop_v6(env: Env, handle: Handle) -> Result<bool> {
  with_udp(&env, handle, |s| {
    option(&env, s.multicast_loop_v6(), "getsockopt")
  })
}

/// `UdpSocket::join_multicast_v4(group, interface)`.
#[napi]
pub fn udp_join_multicast_v4(
  env: Env,
  handle: Handle,
  group: String,
  interface: String,
) -> Result<()> {
  let (group, interface) = (ipv4(&env, &group)?, ipv4(&env, &interface)?);
  with_udp(&env, handle, |s| {
    option(&env, s.join_multicast_v4(&group, &interface), "setsockopt")
  })
}

/// `UdpSocket::leave_multicast_v4(group, interface)`.
#[napi]
pub fn udp_leave_multicast_v4(
  env: Env,
  handle: Handle,
  group: String,
  interface: String,
) -> Result<()> {
  let (group, interface) = (ipv4(&env, &group)?, ipv4(&env, &interface)?);
  with_udp(&env, handle, |s| {
    option(&env, s.leave_multicast_v4(&group, &interface), "setsockopt")
  })
}

/// `UdpSocket::join_multicast_v6(group, interface index)`.
#[napi]
pub fn udp_join_multicast_v6(
  env: Env,
  handle: Handle,
  group: String,
  interface: u32,
) -> Result<()> {
  let group = ipv6(&env, &group)?;
  with_udp(&env, handle, |s| {
    option(&env, s.join_multicast_v6(&group, interface), "setsockopt")
  })
}

/// `UdpSocket::leave_multicast_v6(group, interface index)`.
#[napi]
pub fn udp_leave_multicast_v6(
  env: Env,
  handle: Handle,
  group: String,
  interface: u32,
) -> Result<()> {
  let group = ipv6(&env, &group)?;
  with_udp(&env, handle, |s| {
    option(&env, s.leave_multicast_v6(&group, interface), "setsockopt")
  })
}

/// `UdpSocket::only_v6()` (`IPV6_V6ONLY`).
#[napi]
pub fn udp_only_v6(env: Env, handle: Handle) -> Result<bool> {
  with_udp(&env, handle, |s| option(&env, s.only_v6(), "getsockopt"))
}
