//! `UdpSocket`.
//!
//! Sends and receives take the caller's memory as an address and a length
//! (see `napi_raw::JsBytes`) and go straight to `sendto`/`recvfrom`, through
//! mio's `try_io`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use mio::net::UdpSocket;
use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, JsValue};
use napi_derive::napi;
use socket2::SockAddr;

use crate::boundary::{guard, guard_raw};
use crate::error::{Error, Result};
use crate::fast_call::count_or_null;
use crate::handle::Handle;
use crate::napi_raw::{self, JsBytes};
use crate::net::addr::{self, SocketAddress};
use crate::source::{self, Kind};
use crate::stream::{arg_bytes, nonblocking, on_descriptor, readable, MAX_CHUNK};
use crate::sys::io as os;

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

fn with_udp<R>(handle: Handle, f: impl FnOnce(&crate::source::Io) -> Result<R>) -> Result<R> {
  source::with_kind(handle, |kind| kind == Kind::UdpSocket, "UdpSocket", f)
}

fn option<T>(result: std::io::Result<T>, syscall: &'static str) -> Result<T> {
  result.map_err(|e| Error::system(&e, syscall))
}

/// Sends `buf` to `target` (or to the connected peer).
fn send(handle: Handle, buf: JsBytes<'_>, target: Option<SocketAddr>) -> Result<Option<u32>> {
  let buf = buf.prefix(MAX_CHUNK);
  let target = target.map(SockAddr::from);
  with_udp(handle, |io| {
    let syscall = if target.is_some() { "sendto" } else { "send" };
    nonblocking(syscall, || {
      on_descriptor(io, |raw| match &target {
        Some(to) => os::send_to(raw, buf, to),
        None => os::send_datagram(raw, buf),
      })
    })
    .map(|n| n.map(|n| n as u32))
  })
}

/// Receives into `buf` (`peek`: without consuming): the size and sender.
fn receive(handle: Handle, buf: JsBytes<'_>, peek: bool) -> Result<Option<(u32, SocketAddr)>> {
  let buf = readable(buf)?;
  let received = with_udp(handle, |io| {
    nonblocking("recvfrom", || {
      on_descriptor(io, |raw| os::recv_from(raw, buf, peek))
    })
  })?;
  Ok(received.map(|(size, from)| {
    // A UDP socket's sender is an IP address; an unknown family (which no
    // OS reports) reads as the unspecified address.
    let from = from
      .as_socket()
      .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
    (size as u32, from)
  }))
}

fn remote_info(size: u32, from: SocketAddr) -> RemoteInfo {
  let from = SocketAddress::from(from);
  RemoteInfo {
    address: from.address,
    family: from.family,
    port: from.port,
    size,
  }
}

fn ipv4(text: &str) -> Result<Ipv4Addr> {
  text.parse().map_err(|_| {
    Error::type_error(
      "ERR_INVALID_IP_ADDRESS",
      format!("invalid IPv4 address: {text:?}"),
    )
  })
}

fn ipv6(text: &str) -> Result<Ipv6Addr> {
  text.parse().map_err(|_| {
    Error::type_error(
      "ERR_INVALID_IP_ADDRESS",
      format!("invalid IPv6 address: {text:?}"),
    )
  })
}

/// `UdpSocket::bind(addr)`.
#[napi]
pub fn udp_bind(env: Env, addr: String) -> napi::Result<Handle> {
  guard(&env, || {
    let addr = addr::parse(&addr)?;
    let socket = mio::net::UdpSocket::bind(addr).map_err(|e| Error::system(&e, "bind").at(addr))?;
    source::insert(crate::source::Io::UdpSocket(socket))
  })
}

/// `UdpSocket::send_to(buf, target)`.
#[napi(ts_args_type = "handle: Handle, buf: Uint8Array, target: string")]
pub fn udp_send_to(
  env: Env,
  handle: Handle,
  buf: Unknown,
  target: String,
) -> napi::Result<Option<u32>> {
  guard(&env, || {
    let target = addr::destination(addr::parse(&target)?)?;
    // SAFETY: `buf` is this call's argument, read last.
    let buf = unsafe { arg_bytes(env.raw(), buf.raw(), "buffer") }?;
    send(handle, buf, Some(target))
  })
}

/// `UdpSocket::send_to(buf, target)` with the target as an IP address text
/// and a port, the way a received `RemoteInfo` carries it: no `ip:port` text
/// is built for every datagram. `offset`/`length` send part of `buf`.
#[napi(
  ts_args_type = "handle: Handle, buf: Uint8Array, address: string, port: number, offset?: number | undefined | null, length?: number | undefined | null"
)]
pub fn udp_send_to_parts(
  env: Env,
  handle: Handle,
  buf: Unknown,
  address: String,
  port: u32,
  offset: Option<u32>,
  length: Option<u32>,
) -> napi::Result<Option<u32>> {
  guard(&env, || {
    let target = addr::destination(addr::parse_parts(&address, port)?)?;
    // SAFETY: `buf` is this call's argument, read last.
    let buf = unsafe { arg_bytes(env.raw(), buf.raw(), "buffer") }?;
    let size = buf.len();
    let start = offset.unwrap_or(0);
    let length = length.map_or(size.saturating_sub(start as usize), |length| {
      length as usize
    });
    let buf = buf.window(f64::from(start), length as f64).map_err(|_| {
      Error::out_of_range(format!(
        "offset and length must lie within the buffer ({size} bytes)"
      ))
    })?;
    send(handle, buf, Some(target))
  })
}

/// The sender's address as numbers in `from`: `[family (4 or 6), port,
/// w0, w1, w2, w3, scope id]`, the address in 32-bit words, most significant
/// first (IPv4: `w0` only).
pub(crate) fn address_parts(from: SocketAddr) -> [f64; 7] {
  let mut out = [0.0; 7];
  match from {
    SocketAddr::V4(v4) => {
      out[0] = 4.0;
      out[2] = f64::from(u32::from(*v4.ip()));
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
  out
}

/// The elements of `from`, a `Float64Array` of at least 7 over a plain
/// `ArrayBuffer`, for `udp_recv_from_parts` to write.
///
/// # Safety
/// `from` must be a live value of `env`'s current scope.
pub(crate) unsafe fn parts_out(env: sys::napi_env, from: sys::napi_value) -> Result<*mut f64> {
  // SAFETY: the caller's contract.
  let info = unsafe { napi_raw::typed_array(env, from) }
    .filter(|info| info.kind == sys::TypedarrayType::float64_array && info.length >= 7)
    .ok_or_else(|| Error::invalid_type("from must be a Float64Array of at least 7 elements"))?;
  // SAFETY: as above; the written memory must be this thread's alone.
  if unsafe { napi_raw::is_shared(env, info.buffer) } {
    return Err(Error::invalid_type(
      "from must not be backed by a SharedArrayBuffer",
    ));
  }
  Ok(info.data.cast())
}

/// Like [`parts_out`], for an `ArrayBuffer` of at least 7 numbers (the
/// hot-path call: see `napi_raw::array_buffer`).
///
/// # Safety
/// `from` must be a live value of `env`'s current scope.
unsafe fn parts_out_buffer(env: sys::napi_env, from: sys::napi_value) -> Result<*mut f64> {
  // SAFETY: the caller's contract.
  match unsafe { napi_raw::array_buffer(env, from) } {
    Some((data, bytes)) if bytes >= 7 * std::mem::size_of::<f64>() => Ok(data.cast()),
    _ => Err(Error::invalid_type(
      "from must be an ArrayBuffer of at least 56 bytes",
    )),
  }
}

/// Receives into `buf`, writing the sender into `parts` (see
/// `address_parts`): the size, or `None` when nothing is waiting.
///
/// # Safety
/// `parts` must come from `parts_out` or `parts_out_buffer` in this call,
/// with no JavaScript run since.
unsafe fn receive_parts(handle: Handle, buf: JsBytes<'_>, parts: *mut f64) -> Result<Option<u32>> {
  let Some((size, sender)) = receive(handle, buf, false)? else {
    return Ok(None);
  };
  for (i, value) in address_parts(sender).into_iter().enumerate() {
    // SAFETY: `parts` has at least 7 elements of a plain ArrayBuffer, live
    // (no JavaScript ran since it was taken). It may overlap `buf`, which
    // the kernel has finished writing; unaligned writes need no alignment.
    unsafe { parts.add(i).write_unaligned(value) };
  }
  Ok(Some(size))
}

/// `UdpSocket::recv_from(buf)` writing the sender into `from` (see
/// `address_parts`) instead of a new object: the size, or `null`.
#[napi(ts_args_type = "handle: Handle, buf: Uint8Array, from: Float64Array")]
pub fn udp_recv_from_parts(
  env: Env,
  handle: Handle,
  buf: Unknown,
  from: Unknown,
) -> napi::Result<Option<u32>> {
  guard(&env, || {
    // SAFETY: both are this call's arguments; taking them runs no JavaScript,
    // and none runs until this call returns.
    unsafe {
      let (buf, parts) = (
        arg_bytes(env.raw(), buf.raw(), "buffer")?,
        parts_out(env.raw(), from.raw())?,
      );
      receive_parts(handle, buf, parts)
    }
  })
}

/// `udpRecvFrom(handle, buf, from)`, a hot-path call (see `fast_call.rs`):
/// `udpRecvFromParts` as a plain Node-API callback, with `from` the
/// `ArrayBuffer` of the parts.
///
/// # Safety
/// Only Node-API calls this, with its own `env` and `info`.
pub unsafe extern "C" fn udp_recv_from_fast(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  guard_raw(env, || {
    // SAFETY: Node-API passes this callback's own `env` and `info`.
    let ([handle, buf, from], _) = unsafe { napi_raw::args::<3>(env, info) };
    // SAFETY: the values are this call's arguments. Reading a number and two
    // typed arrays runs no JavaScript, so both stay valid through the call.
    let count = unsafe {
      let handle = napi_raw::get_number(env, handle, "handle")?;
      let parts = parts_out_buffer(env, from)?;
      let buf = arg_bytes(env, buf, "buffer")?;
      receive_parts(handle, buf, parts)?
    };
    count_or_null(env, count)
  })
}

/// `udpSendToV4(handle, buf, ip, port, offset, length)`, a hot-path call
/// (see `fast_call.rs`): `udpSendTo` to the IPv4 address whose 32-bit
/// number is `ip`, the form the wrapper keeps for addresses it has received
/// from, so that no text is read or parsed per datagram.
///
/// # Safety
/// Only Node-API calls this, with its own `env` and `info`.
pub unsafe extern "C" fn udp_send_to_v4_fast(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  guard_raw(env, || {
    // SAFETY: Node-API passes this callback's own `env` and `info`.
    let ([handle, buf, ip, port, offset, length], _) = unsafe { napi_raw::args::<6>(env, info) };
    // SAFETY: the values are this call's arguments. Reading numbers and a
    // typed array runs no JavaScript; the bytes come last and stay valid
    // through the call.
    let count = unsafe {
      let handle = napi_raw::get_number(env, handle, "handle")?;
      let ip = napi_raw::get_index(env, ip, "ip", f64::from(u32::MAX))? as u32;
      let port = port_number(napi_raw::get_number(env, port, "port")?)?;
      let target = addr::destination(SocketAddr::from((Ipv4Addr::from(ip), port)))?;
      let offset = napi_raw::get_number(env, offset, "offset")?;
      let length = napi_raw::get_number(env, length, "length")?;
      let buf = arg_bytes(env, buf, "buffer")?.window(offset, length)?;
      send(handle, buf, Some(target))?
    };
    count_or_null(env, count)
  })
}

/// A port from JavaScript, or `ERR_SOCKET_BAD_PORT`.
fn port_number(port: f64) -> Result<u16> {
  if napi_raw::whole_in(port, 65535.0) {
    Ok(port as u16)
  } else {
    Err(Error::range_error(
      "ERR_SOCKET_BAD_PORT",
      format!("port must be 0 to 65535, got {port}"),
    ))
  }
}

/// `udpSendTo(handle, buf, address, port, offset, length)`, a hot-path call
/// (see `fast_call.rs`): `udpSendToParts` as a plain Node-API callback, every
/// argument required. The address text is read into the stack, not a new
/// string.
///
/// # Safety
/// Only Node-API calls this, with its own `env` and `info`.
pub unsafe extern "C" fn udp_send_to_fast(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  guard_raw(env, || {
    // SAFETY: Node-API passes this callback's own `env` and `info`.
    let ([handle, buf, address, port, offset, length], _) =
      unsafe { napi_raw::args::<6>(env, info) };
    // Room for any IP address text, scope included (at most 56 bytes).
    let mut room = [0u8; 64];
    // SAFETY: the values are this call's arguments. Reading numbers, a
    // string and a typed array runs no JavaScript; the bytes come last and
    // stay valid through the call.
    let count = unsafe {
      let handle = napi_raw::get_number(env, handle, "handle")?;
      let address = napi_raw::get_short_str(env, address, "address", &mut room)?;
      let port = port_number(napi_raw::get_number(env, port, "port")?)?;
      let target = match address {
        Some(address) => addr::destination(addr::parse_parts(address, u32::from(port))?)?,
        None => {
          return Err(Error::type_error(
            "ERR_INVALID_ADDRESS",
            "invalid IP address (longer than any IP address text)",
          ))
        }
      };
      let offset = napi_raw::get_number(env, offset, "offset")?;
      let length = napi_raw::get_number(env, length, "length")?;
      let buf = arg_bytes(env, buf, "buffer")?.window(offset, length)?;
      send(handle, buf, Some(target))?
    };
    count_or_null(env, count)
  })
}

/// `UdpSocket::recv_from(buf)`.
#[napi(ts_args_type = "handle: Handle, buf: Uint8Array")]
pub fn udp_recv_from(env: Env, handle: Handle, buf: Unknown) -> napi::Result<Option<RemoteInfo>> {
  guard(&env, || {
    // SAFETY: `buf` is this call's argument.
    let buf = unsafe { arg_bytes(env.raw(), buf.raw(), "buffer") }?;
    Ok(receive(handle, buf, false)?.map(|(size, from)| remote_info(size, from)))
  })
}

/// `UdpSocket::peek_from(buf)`.
#[napi(ts_args_type = "handle: Handle, buf: Uint8Array")]
pub fn udp_peek_from(env: Env, handle: Handle, buf: Unknown) -> napi::Result<Option<RemoteInfo>> {
  guard(&env, || {
    // SAFETY: `buf` is this call's argument.
    let buf = unsafe { arg_bytes(env.raw(), buf.raw(), "buffer") }?;
    Ok(receive(handle, buf, true)?.map(|(size, from)| remote_info(size, from)))
  })
}

/// `UdpSocket::connect(addr)`: sets the default peer for `send`/`recv`.
#[napi]
pub fn udp_connect(env: Env, handle: Handle, addr: String) -> napi::Result<()> {
  guard(&env, || {
    let addr = addr::destination(addr::parse(&addr)?)?;
    with_udp(handle, |io| match io {
      crate::source::Io::UdpSocket(s) => s
        .connect(addr)
        .map_err(|e| Error::system(&e, "connect").at(addr)),
      _ => Err(Error::wrong_kind("UdpSocket")),
    })
  })
}

/// `UdpSocket::send(buf)` to the connected peer.
#[napi(ts_args_type = "handle: Handle, buf: Uint8Array")]
pub fn udp_send(env: Env, handle: Handle, buf: Unknown) -> napi::Result<Option<u32>> {
  guard(&env, || {
    // SAFETY: `buf` is this call's argument.
    let buf = unsafe { arg_bytes(env.raw(), buf.raw(), "buffer") }?;
    send(handle, buf, None)
  })
}

/// `recv(2)`/`recv(2)` with `MSG_PEEK` from the connected peer.
fn recv(handle: Handle, buf: JsBytes<'_>, peek: bool) -> Result<Option<u32>> {
  let buf = readable(buf)?;
  with_udp(handle, |io| {
    nonblocking("recv", || on_descriptor(io, |raw| os::recv(raw, buf, peek)))
      .map(|n| n.map(|n| n as u32))
  })
}

/// `UdpSocket::recv(buf)` from the connected peer.
#[napi(ts_args_type = "handle: Handle, buf: Uint8Array")]
pub fn udp_recv(env: Env, handle: Handle, buf: Unknown) -> napi::Result<Option<u32>> {
  guard(&env, || {
    // SAFETY: `buf` is this call's argument.
    let buf = unsafe { arg_bytes(env.raw(), buf.raw(), "buffer") }?;
    recv(handle, buf, false)
  })
}

/// `UdpSocket::peek(buf)` from the connected peer.
#[napi(ts_args_type = "handle: Handle, buf: Uint8Array")]
pub fn udp_peek(env: Env, handle: Handle, buf: Unknown) -> napi::Result<Option<u32>> {
  guard(&env, || {
    // SAFETY: `buf` is this call's argument.
    let buf = unsafe { arg_bytes(env.raw(), buf.raw(), "buffer") }?;
    recv(handle, buf, true)
  })
}

/// Runs `f` on the mio socket behind `handle`.
fn with_mio_udp<R>(handle: Handle, f: impl FnOnce(&UdpSocket) -> Result<R>) -> Result<R> {
  with_udp(handle, |io| match io {
    crate::source::Io::UdpSocket(s) => f(s),
    _ => Err(Error::wrong_kind("UdpSocket")),
  })
}

/// An option setter's body: `set(socket, value)` on the mio socket behind
/// `handle`, a failure a `setsockopt` error.
fn set_option<T>(
  env: &Env,
  handle: Handle,
  value: T,
  set: fn(&UdpSocket, T) -> std::io::Result<()>,
) -> napi::Result<()> {
  guard(env, || {
    with_mio_udp(handle, |s| option(set(s, value), "setsockopt"))
  })
}

/// An option getter's body: `get(socket)`, a failure a `getsockopt` error.
fn get_option<T>(
  env: &Env,
  handle: Handle,
  get: fn(&UdpSocket) -> std::io::Result<T>,
) -> napi::Result<T> {
  guard(env, || {
    with_mio_udp(handle, |s| option(get(s), "getsockopt"))
  })
}

/// Joins or leaves (`op`) the IPv4 multicast `group` on `interface`.
fn multicast_v4(
  env: &Env,
  handle: Handle,
  group: String,
  interface: String,
  op: fn(&UdpSocket, &Ipv4Addr, &Ipv4Addr) -> std::io::Result<()>,
) -> napi::Result<()> {
  guard(env, || {
    let (group, interface) = (ipv4(&group)?, ipv4(&interface)?);
    with_mio_udp(handle, |s| option(op(s, &group, &interface), "setsockopt"))
  })
}

/// Joins or leaves (`op`) the IPv6 multicast `group` on the interface with
/// index `interface`.
fn multicast_v6(
  env: &Env,
  handle: Handle,
  group: String,
  interface: u32,
  op: fn(&UdpSocket, &Ipv6Addr, u32) -> std::io::Result<()>,
) -> napi::Result<()> {
  guard(env, || {
    let group = ipv6(&group)?;
    with_mio_udp(handle, |s| option(op(s, &group, interface), "setsockopt"))
  })
}

#[napi]
pub fn udp_set_broadcast(env: Env, handle: Handle, on: bool) -> napi::Result<()> {
  set_option(&env, handle, on, UdpSocket::set_broadcast)
}

#[napi]
pub fn udp_broadcast(env: Env, handle: Handle) -> napi::Result<bool> {
  get_option(&env, handle, UdpSocket::broadcast)
}

#[napi]
pub fn udp_set_multicast_loop_v4(env: Env, handle: Handle, on: bool) -> napi::Result<()> {
  set_option(&env, handle, on, UdpSocket::set_multicast_loop_v4)
}

#[napi]
pub fn udp_multicast_loop_v4(env: Env, handle: Handle) -> napi::Result<bool> {
  get_option(&env, handle, UdpSocket::multicast_loop_v4)
}

#[napi]
pub fn udp_set_multicast_ttl_v4(env: Env, handle: Handle, ttl: u32) -> napi::Result<()> {
  set_option(&env, handle, ttl, UdpSocket::set_multicast_ttl_v4)
}

#[napi]
pub fn udp_multicast_ttl_v4(env: Env, handle: Handle) -> napi::Result<u32> {
  get_option(&env, handle, UdpSocket::multicast_ttl_v4)
}

#[napi]
pub fn udp_set_multicast_loop_v6(env: Env, handle: Handle, on: bool) -> napi::Result<()> {
  set_option(&env, handle, on, UdpSocket::set_multicast_loop_v6)
}

#[napi]
pub fn udp_multicast_loop_v6(env: Env, handle: Handle) -> napi::Result<bool> {
  get_option(&env, handle, UdpSocket::multicast_loop_v6)
}

/// `UdpSocket::join_multicast_v4(group, interface)`.
#[napi]
pub fn udp_join_multicast_v4(
  env: Env,
  handle: Handle,
  group: String,
  interface: String,
) -> napi::Result<()> {
  multicast_v4(&env, handle, group, interface, UdpSocket::join_multicast_v4)
}

/// `UdpSocket::leave_multicast_v4(group, interface)`.
#[napi]
pub fn udp_leave_multicast_v4(
  env: Env,
  handle: Handle,
  group: String,
  interface: String,
) -> napi::Result<()> {
  multicast_v4(
    &env,
    handle,
    group,
    interface,
    UdpSocket::leave_multicast_v4,
  )
}

/// `UdpSocket::join_multicast_v6(group, interface index)`.
#[napi]
pub fn udp_join_multicast_v6(
  env: Env,
  handle: Handle,
  group: String,
  interface: u32,
) -> napi::Result<()> {
  multicast_v6(&env, handle, group, interface, UdpSocket::join_multicast_v6)
}

/// `UdpSocket::leave_multicast_v6(group, interface index)`.
#[napi]
pub fn udp_leave_multicast_v6(
  env: Env,
  handle: Handle,
  group: String,
  interface: u32,
) -> napi::Result<()> {
  multicast_v6(
    &env,
    handle,
    group,
    interface,
    UdpSocket::leave_multicast_v6,
  )
}

/// `UdpSocket::only_v6()` (`IPV6_V6ONLY`).
#[napi]
pub fn udp_only_v6(env: Env, handle: Handle) -> napi::Result<bool> {
  // Through socket2 like `ipv6Only()`, not mio's `only_v6()`: mio reads a
  // 4-byte int it leaves uninitialised, and Wine fills one byte of it
  // (scripts/cross/winsock-probe.c), so it read `true` for `false`.
  get_option(&env, handle, |s| socket2::SockRef::from(s).only_v6())
}
