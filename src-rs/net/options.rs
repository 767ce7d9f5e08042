//! Socket options mio leaves to `socket2` (it dropped `TcpSocket` in 0.8):
//! sockets created with options, and option getters and setters on any
//! socket the binding holds.

use std::net::SocketAddr;
use std::time::Duration;

use napi::Env;
use napi_derive::napi;
use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

use crate::boundary::guard;
use crate::error::{Error, Result};
use crate::handle::Handle;
use crate::net::{addr, with_socket};
use crate::source::{self, Io};

/// Whether `SO_REUSEPORT` exists here (every Unix but Solaris and illumos).
#[napi]
pub const HAS_REUSE_PORT: bool = cfg!(all(
  unix,
  not(any(target_os = "solaris", target_os = "illumos"))
));

/// Options for creating a socket. Unset fields keep the OS default (or
/// mio's: `SO_REUSEADDR` on for listeners on Unix, backlog 128).
#[napi(object)]
#[derive(Default)]
pub struct SocketOptions {
  pub reuse_address: Option<bool>,
  pub reuse_port: Option<bool>,
  pub backlog: Option<u32>,
  pub ipv6_only: Option<bool>,
  pub recv_buffer_size: Option<u32>,
  pub send_buffer_size: Option<u32>,
  pub nodelay: Option<bool>,
  pub keepalive: Option<bool>,
  pub keepalive_idle_ms: Option<f64>,
  pub keepalive_interval_ms: Option<f64>,
  /// Milliseconds; `0` makes `close()` reset the connection.
  pub linger_ms: Option<f64>,
  pub broadcast: Option<bool>,
  /// `ip:port` to bind before connecting.
  pub local_address: Option<String>,
}

/// Keepalive settings as read back from a socket.
#[napi(object, use_nullable = true)]
pub struct KeepaliveInfo {
  pub enabled: bool,
  /// Idle time before the first probe, where the OS reports it.
  pub idle_ms: Option<f64>,
  /// Time between probes, where the OS reports it.
  pub interval_ms: Option<f64>,
}

/// Runs `f` on the socket behind `handle`, mapping errors to `syscall`.
fn with_sock<R>(
  handle: Handle,
  syscall: &'static str,
  f: impl FnOnce(&SockRef) -> std::io::Result<R>,
) -> Result<R> {
  with_socket(handle, false, "socket", |sock| {
    f(sock).map_err(|e| Error::system(&e, syscall))
  })
}

/// Like `with_sock`, for options only a TCP stream has.
fn with_tcp_stream<R>(
  handle: Handle,
  syscall: &'static str,
  f: impl FnOnce(&SockRef) -> std::io::Result<R>,
) -> Result<R> {
  source::with(handle, |io| match io {
    Io::TcpStream(s) => f(&SockRef::from(s)).map_err(|e| Error::system(&e, syscall)),
    _ => Err(Error::wrong_kind("TcpStream")),
  })
}

/// A duration in milliseconds, rounded up to whole seconds: `SO_LINGER` and
/// the keepalive times count seconds (a fraction would be dropped, and a
/// 500 ms linger would become a reset). `min..=max` in seconds.
fn seconds(ms: f64, name: &str, min: u64, max: u64) -> Result<Duration> {
  let secs = (ms / 1000.0).ceil();
  if !(secs >= min as f64 && secs <= max as f64) {
    return Err(Error::out_of_range(format!(
      "{name} must be from {} to {} milliseconds (the OS counts whole seconds), got {ms}",
      min * 1000,
      max * 1000
    )));
  }
  Ok(Duration::from_secs(secs as u64))
}

/// The longest linger: `l_linger` is a C `int` of seconds (Linux caps it
/// lower still, so keep it to what every OS takes).
const LINGER_MAX_SECS: u64 = 0x7fff;
/// Keepalive times: Linux takes 1 to 32767 seconds.
const KEEPALIVE_MAX_SECS: u64 = 32_767;

fn linger(ms: f64) -> Result<Duration> {
  seconds(ms, "linger", 0, LINGER_MAX_SECS)
}

fn keepalive(idle_ms: Option<f64>, interval_ms: Option<f64>) -> Result<TcpKeepalive> {
  let mut params = TcpKeepalive::new();
  if let Some(idle) = idle_ms {
    params = params.with_time(seconds(idle, "keepalive idle time", 1, KEEPALIVE_MAX_SECS)?);
  }
  if let Some(interval) = interval_ms {
    let interval = seconds(interval, "keepalive interval", 1, KEEPALIVE_MAX_SECS)?;
    // OpenBSD has no per-socket keepalive interval (no TCP_KEEPINTVL, and
    // socket2 no `with_interval` there): the system's sysctl applies.
    #[cfg(target_os = "openbsd")]
    {
      let _ = interval;
      return Err(Error::unavailable(
        "a keepalive interval is not available on OpenBSD (no TCP_KEEPINTVL): the sysctl net.inet.tcp.keepintvl applies",
      ));
    }
    #[cfg(not(target_os = "openbsd"))]
    {
      params = params.with_interval(interval);
    }
  }
  Ok(params)
}

fn set_reuse_port(sock: &SockRef, on: bool) -> std::io::Result<()> {
  #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
  {
    sock.set_reuse_port(on)
  }
  #[cfg(not(all(unix, not(any(target_os = "solaris", target_os = "illumos")))))]
  {
    let _ = (sock, on);
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
  }
}

/// Parses `addr`, then creates a non-blocking, close-on-exec socket for it
/// and applies the options that must come before `bind`/`connect`: the
/// address and the socket.
fn socket(
  addr: &str,
  ty: Type,
  options: &SocketOptions,
  listener: bool,
) -> Result<(SocketAddr, Socket)> {
  let addr = addr::parse(addr)?;
  if options.reuse_port == Some(true) && !HAS_REUSE_PORT {
    return Err(Error::unavailable(
      "reusePort (SO_REUSEPORT) is not available on this platform",
    ));
  }
  let protocol = if ty == Type::STREAM {
    Protocol::TCP
  } else {
    Protocol::UDP
  };
  let fail = |e: std::io::Error, syscall: &'static str| Error::system(&e, syscall);
  let socket =
    Socket::new(Domain::for_address(addr), ty, Some(protocol)).map_err(|e| fail(e, "socket"))?;
  socket.set_nonblocking(true).map_err(|e| fail(e, "fcntl"))?;
  #[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos",
    target_os = "visionos"
  ))]
  socket
    .set_nosigpipe(true)
    .map_err(|e| fail(e, "setsockopt"))?;
  let sock = SockRef::from(&socket);
  // mio's listeners reuse addresses on Unix (not on Windows, where it means
  // something else).
  let reuse_address = options.reuse_address.unwrap_or(listener && cfg!(unix));
  if reuse_address {
    sock
      .set_reuse_address(true)
      .map_err(|e| fail(e, "setsockopt"))?;
  }
  // `reusePort: false` where there is no SO_REUSEPORT asks for what every
  // socket there is: nothing to set.
  if let Some(on) = options.reuse_port.filter(|_| HAS_REUSE_PORT) {
    set_reuse_port(&sock, on).map_err(|e| fail(e, "setsockopt"))?;
  }
  if let Some(only) = options.ipv6_only {
    if addr.is_ipv6() {
      sock.set_only_v6(only).map_err(|e| fail(e, "setsockopt"))?;
    }
  }
  apply(&sock, options)?;
  Ok((addr, socket))
}

/// Options that may be set at any time.
fn apply(sock: &SockRef, options: &SocketOptions) -> Result<()> {
  let fail = |e: std::io::Error| Error::system(&e, "setsockopt");
  if let Some(size) = options.recv_buffer_size {
    sock.set_recv_buffer_size(size as usize).map_err(fail)?;
  }
  if let Some(size) = options.send_buffer_size {
    sock.set_send_buffer_size(size as usize).map_err(fail)?;
  }
  if let Some(on) = options.nodelay {
    sock.set_tcp_nodelay(on).map_err(fail)?;
  }
  if options.keepalive == Some(true)
    || options.keepalive_idle_ms.is_some()
    || options.keepalive_interval_ms.is_some()
  {
    if options.keepalive == Some(false) {
      sock.set_keepalive(false).map_err(fail)?;
    } else {
      sock
        .set_tcp_keepalive(&keepalive(
          options.keepalive_idle_ms,
          options.keepalive_interval_ms,
        )?)
        .map_err(fail)?;
    }
  } else if options.keepalive == Some(false) {
    sock.set_keepalive(false).map_err(fail)?;
  }
  if let Some(ms) = options.linger_ms {
    sock.set_linger(Some(linger(ms)?)).map_err(fail)?;
  }
  if let Some(on) = options.broadcast {
    sock.set_broadcast(on).map_err(fail)?;
  }
  Ok(())
}

/// `TcpListener::bind` with options (socket2, then mio's `from_std`).
#[napi]
pub fn tcp_listener_bind_with(
  env: Env,
  addr: String,
  options: SocketOptions,
) -> napi::Result<Handle> {
  guard(&env, || {
    let (addr, socket) = socket(&addr, Type::STREAM, &options, true)?;
    socket
      .bind(&addr.into())
      .map_err(|e| Error::system(&e, "bind").at(addr))?;
    let backlog = options.backlog.unwrap_or(128).min(i32::MAX as u32) as i32;
    socket
      .listen(backlog)
      .map_err(|e| Error::system(&e, "listen").at(addr))?;
    let listener = mio::net::TcpListener::from_std(socket.into());
    source::insert(Io::TcpListener(listener))
  })
}

/// `TcpStream::connect` with options: bind to `localAddress` first if set.
#[napi]
pub fn tcp_stream_connect_with(
  env: Env,
  addr: String,
  options: SocketOptions,
) -> napi::Result<Handle> {
  guard(&env, || {
    let (addr, socket) = socket(&addr, Type::STREAM, &options, false)?;
    if let Some(local) = &options.local_address {
      let local = addr::parse(local)?;
      socket
        .bind(&local.into())
        .map_err(|e| Error::system(&e, "bind").at(local))?;
    }
    match socket.connect(&addr.into()) {
      Ok(()) => {}
      #[cfg(unix)]
      Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
      Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
      Err(e) => return Err(Error::system(&e, "connect").at(addr)),
    }
    let stream = mio::net::TcpStream::from_std(socket.into());
    source::insert_connecting(Io::TcpStream(stream), Some(addr))
  })
}

/// `UdpSocket::bind` with options.
#[napi]
pub fn udp_bind_with(env: Env, addr: String, options: SocketOptions) -> napi::Result<Handle> {
  guard(&env, || {
    let (addr, socket) = socket(&addr, Type::DGRAM, &options, false)?;
    socket
      .bind(&addr.into())
      .map_err(|e| Error::system(&e, "bind").at(addr))?;
    let udp = mio::net::UdpSocket::from_std(socket.into());
    source::insert(Io::UdpSocket(udp))
  })
}

#[napi]
pub fn socket_set_reuse_address(env: Env, handle: Handle, on: bool) -> napi::Result<()> {
  guard(&env, || {
    with_sock(handle, "setsockopt", |s| s.set_reuse_address(on))
  })
}

#[napi]
pub fn socket_reuse_address(env: Env, handle: Handle) -> napi::Result<bool> {
  guard(&env, || {
    with_sock(handle, "getsockopt", |s| s.reuse_address())
  })
}

/// Like `with_sock`, for `SO_REUSEPORT`: the socket's own state (closed,
/// not a socket) is checked before the platform's, so a closed socket is
/// `ERR_SOCKET_CLOSED` on every OS, as for every other method, and only a
/// live socket on Windows learns that the option does not exist there.
fn with_reuse_port<R>(
  handle: Handle,
  syscall: &'static str,
  f: impl FnOnce(&SockRef) -> std::io::Result<R>,
) -> Result<R> {
  with_socket(handle, false, "socket", |sock| {
    if !HAS_REUSE_PORT {
      return Err(Error::unavailable(
        "reusePort (SO_REUSEPORT) is not available on this platform",
      ));
    }
    f(sock).map_err(|e| Error::system(&e, syscall))
  })
}

#[napi]
pub fn socket_set_reuse_port(env: Env, handle: Handle, on: bool) -> napi::Result<()> {
  guard(&env, || {
    with_reuse_port(handle, "setsockopt", |s| set_reuse_port(s, on))
  })
}

#[napi]
pub fn socket_reuse_port(env: Env, handle: Handle) -> napi::Result<bool> {
  guard(&env, || {
    with_reuse_port(handle, "getsockopt", |s| {
      #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
      {
        s.reuse_port()
      }
      #[cfg(not(all(unix, not(any(target_os = "solaris", target_os = "illumos")))))]
      {
        let _ = s;
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
      }
    })
  })
}

#[napi]
pub fn socket_ipv6_only(env: Env, handle: Handle) -> napi::Result<bool> {
  guard(&env, || with_sock(handle, "getsockopt", |s| s.only_v6()))
}

#[napi]
pub fn socket_set_nodelay(env: Env, handle: Handle, on: bool) -> napi::Result<()> {
  guard(&env, || {
    with_tcp_stream(handle, "setsockopt", |s| s.set_tcp_nodelay(on))
  })
}

#[napi]
pub fn socket_nodelay(env: Env, handle: Handle) -> napi::Result<bool> {
  guard(&env, || {
    with_tcp_stream(handle, "getsockopt", |s| s.tcp_nodelay())
  })
}

/// Turns keepalive on (with optional idle time and interval) or off.
#[napi]
pub fn socket_set_keepalive(
  env: Env,
  handle: Handle,
  on: bool,
  idle_ms: Option<f64>,
  interval_ms: Option<f64>,
) -> napi::Result<()> {
  guard(&env, || {
    if !on {
      return with_tcp_stream(handle, "setsockopt", |s| s.set_keepalive(false));
    }
    let params = keepalive(idle_ms, interval_ms)?;
    with_tcp_stream(handle, "setsockopt", |s| s.set_tcp_keepalive(&params))
  })
}

#[napi]
pub fn socket_keepalive(env: Env, handle: Handle) -> napi::Result<KeepaliveInfo> {
  guard(&env, || {
    with_tcp_stream(handle, "getsockopt", |s| {
      let enabled = s.keepalive()?;
      #[cfg(not(any(windows, target_os = "haiku", target_os = "openbsd")))]
      let (idle_ms, interval_ms) = (
        Some(s.tcp_keepalive_time()?.as_secs_f64() * 1000.0),
        Some(s.tcp_keepalive_interval()?.as_secs_f64() * 1000.0),
      );
      #[cfg(any(windows, target_os = "haiku", target_os = "openbsd"))]
      let (idle_ms, interval_ms) = (None, None);
      Ok(KeepaliveInfo {
        enabled,
        idle_ms,
        interval_ms,
      })
    })
  })
}

/// `SO_LINGER`: milliseconds, or `null` for off.
#[napi]
pub fn socket_set_linger(env: Env, handle: Handle, ms: Option<f64>) -> napi::Result<()> {
  guard(&env, || {
    let linger = ms.map(linger).transpose()?;
    with_tcp_stream(handle, "setsockopt", |s| s.set_linger(linger))
  })
}

#[napi]
pub fn socket_linger(env: Env, handle: Handle) -> napi::Result<Option<f64>> {
  guard(&env, || {
    with_tcp_stream(handle, "getsockopt", |s| {
      Ok(s.linger()?.map(|d| d.as_secs_f64() * 1000.0))
    })
  })
}

#[napi]
pub fn socket_set_recv_buffer_size(env: Env, handle: Handle, size: u32) -> napi::Result<()> {
  guard(&env, || {
    with_sock(handle, "setsockopt", |s| {
      s.set_recv_buffer_size(size as usize)
    })
  })
}

#[napi]
pub fn socket_recv_buffer_size(env: Env, handle: Handle) -> napi::Result<u32> {
  guard(&env, || {
    with_sock(handle, "getsockopt", |s| {
      s.recv_buffer_size()
        .map(|n| n.min(u32::MAX as usize) as u32)
    })
  })
}

#[napi]
pub fn socket_set_send_buffer_size(env: Env, handle: Handle, size: u32) -> napi::Result<()> {
  guard(&env, || {
    with_sock(handle, "setsockopt", |s| {
      s.set_send_buffer_size(size as usize)
    })
  })
}

#[napi]
pub fn socket_send_buffer_size(env: Env, handle: Handle) -> napi::Result<u32> {
  guard(&env, || {
    with_sock(handle, "getsockopt", |s| {
      s.send_buffer_size()
        .map(|n| n.min(u32::MAX as usize) as u32)
    })
  })
}
