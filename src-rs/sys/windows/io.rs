//! System calls on JavaScript memory (see `napi_raw::JsBytes` and the Unix
//! twin of this file): Winsock calls on a raw socket, given the memory as an
//! address and a length. The portable code runs them through mio's `try_io`,
//! which re-arms the AFD poll on `WouldBlock` (on Windows readiness returns
//! only after an operation through mio would block).

use std::cell::Cell;
use std::io;
use std::os::windows::io::RawSocket;
use std::ptr;

use socket2::SockAddr;
use windows_sys::Win32::Networking::WinSock::{
  self as ws, MSG_PEEK, SOCKADDR, SOCKADDR_STORAGE, SOCKET, SOCKET_ERROR, SOL_SOCKET, SO_ERROR,
  WSABUF, WSAEDESTADDRREQ, WSAEINVAL, WSAEMSGSIZE, WSAENOTCONN, WSAESHUTDOWN,
};

use crate::napi_raw::JsBytes;

/// The most buffers one vectored call takes (the binding passes at most 64).
pub const MAX_IOVECS: usize = 64;

fn socket(raw: RawSocket) -> SOCKET {
  raw as SOCKET
}

fn len(buf: &JsBytes<'_>) -> i32 {
  buf.len().min(i32::MAX as usize) as i32
}

/// A Winsock result as std reports it: `WSAESHUTDOWN` on a receive is the
/// end of the stream (0), as in std's `TcpStream::read`.
fn received(n: i32) -> io::Result<usize> {
  if n == SOCKET_ERROR {
    // SAFETY: reads this thread's last Winsock error.
    match unsafe { ws::WSAGetLastError() } {
      WSAESHUTDOWN => Ok(0),
      code => Err(io::Error::from_raw_os_error(code)),
    }
  } else {
    Ok(n as usize)
  }
}

/// A received datagram longer than `buf`: Winsock fills `buf` with its first
/// part and fails with `WSAEMSGSIZE`, where Unix returns the part. Here it is
/// the part on every OS; the flag says whether it was cut.
fn truncating(result: io::Result<usize>, buf: &JsBytes<'_>) -> io::Result<(usize, bool)> {
  match result {
    Err(e) if e.raw_os_error() == Some(WSAEMSGSIZE) => Ok((len(buf) as usize, true)),
    other => other.map(|n| (n, false)),
  }
}

fn sent(n: i32) -> io::Result<usize> {
  if n == SOCKET_ERROR {
    // SAFETY: reads this thread's last Winsock error.
    Err(io::Error::from_raw_os_error(unsafe {
      ws::WSAGetLastError()
    }))
  } else {
    Ok(n as usize)
  }
}

/// `recv` into `buf` (`MSG_PEEK` when `peek`); a datagram longer than `buf`
/// is cut to it, as on Unix.
pub fn recv(raw: RawSocket, buf: JsBytes<'_>, peek: bool) -> io::Result<usize> {
  let flags = if peek { MSG_PEEK } else { 0 };
  // SAFETY: `buf` is `len` writable bytes (its contract); Winsock writes at
  // most that many.
  let result = received(unsafe { ws::recv(socket(raw), buf.as_mut_ptr(), len(&buf), flags) });
  truncating(result, &buf).map(|(n, _)| n)
}

/// `send` from `buf`.
pub fn send(raw: RawSocket, buf: JsBytes<'_>) -> io::Result<usize> {
  // SAFETY: `buf` is `len` readable bytes; Winsock only reads them.
  sent(unsafe { ws::send(socket(raw), buf.as_ptr(), len(&buf), 0) })
}

fn wsabufs(bufs: &[JsBytes<'_>]) -> ([WSABUF; MAX_IOVECS], u32) {
  let mut out = [WSABUF {
    len: 0,
    buf: ptr::null_mut(),
  }; MAX_IOVECS];
  let used = bufs.len().min(MAX_IOVECS);
  for (slot, buf) in out.iter_mut().zip(&bufs[..used]) {
    *slot = WSABUF {
      len: len(buf) as u32,
      buf: buf.as_mut_ptr(),
    };
  }
  (out, used as u32)
}

/// `WSARecv`: scatters into `bufs` (at most `MAX_IOVECS`).
pub fn readv(raw: RawSocket, bufs: &[JsBytes<'_>]) -> io::Result<usize> {
  let (wsa, used) = wsabufs(bufs);
  let mut n = 0u32;
  let mut flags = 0u32;
  // SAFETY: `used` buffers, each a live buffer's writable bytes; no
  // overlapped I/O (the call completes or fails at once on a non-blocking
  // socket).
  let status = unsafe {
    ws::WSARecv(
      socket(raw),
      wsa.as_ptr(),
      used,
      &mut n,
      &mut flags,
      ptr::null_mut(),
      None,
    )
  };
  received(status).map(|_| n as usize)
}

/// `WSASend`: gathers from `bufs` (at most `MAX_IOVECS`).
pub fn writev(raw: RawSocket, bufs: &[JsBytes<'_>]) -> io::Result<usize> {
  let (wsa, used) = wsabufs(bufs);
  let mut n = 0u32;
  // SAFETY: as `readv`; Winsock only reads the buffers.
  let status = unsafe {
    ws::WSASend(
      socket(raw),
      wsa.as_ptr(),
      used,
      &mut n,
      0,
      ptr::null_mut(),
      None,
    )
  };
  sent(status).map(|_| n as usize)
}

/// `recvfrom` into `buf`: the size and the sender; a datagram longer than
/// `buf` is cut to it, as on Unix.
pub fn recv_from(raw: RawSocket, buf: JsBytes<'_>, peek: bool) -> io::Result<(usize, SockAddr)> {
  recv_from_flagged(raw, buf, peek).map(|((n, _), from)| (n, from))
}

/// `recv_from`, and whether the datagram was cut. Winsock fills the sender's
/// address before it reports `WSAEMSGSIZE`.
fn recv_from_flagged(
  raw: RawSocket,
  buf: JsBytes<'_>,
  peek: bool,
) -> io::Result<((usize, bool), SockAddr)> {
  let flags = if peek { MSG_PEEK } else { 0 };
  // SAFETY: `try_init` hands a zeroed address storage and its length, which
  // `recvfrom` fills; `buf` is as in `recv`.
  unsafe {
    SockAddr::try_init(|storage, addr_len| {
      let result = received(ws::recvfrom(
        socket(raw),
        buf.as_mut_ptr(),
        len(&buf),
        flags,
        storage.cast::<SOCKADDR>(),
        addr_len,
      ));
      truncating(result, &buf)
    })
  }
}

/// `sendto` from `buf` to `to`.
pub fn send_to(raw: RawSocket, buf: JsBytes<'_>, to: &SockAddr) -> io::Result<usize> {
  // SAFETY: `to` is a valid address of `to.len()` bytes; `buf` as in `send`.
  sent(unsafe {
    ws::sendto(
      socket(raw),
      buf.as_ptr(),
      len(&buf),
      0,
      to.as_ptr().cast::<SOCKADDR>(),
      to.len(),
    )
  })
}

/// The last Winsock error as an `io::Error`.
fn last_error() -> io::Error {
  // SAFETY: reads this thread's last Winsock error.
  io::Error::from_raw_os_error(unsafe { ws::WSAGetLastError() })
}

/// The pending `SO_ERROR` of a socket (`0`: none), without clearing it.
fn so_error(raw: RawSocket) -> io::Result<i32> {
  let mut value: i32 = 0;
  let mut size = std::mem::size_of::<i32>() as i32;
  // SAFETY: `value` and `size` are live locals of the sizes Winsock is told.
  let r = unsafe {
    ws::getsockopt(
      socket(raw),
      SOL_SOCKET,
      SO_ERROR,
      ptr::addr_of_mut!(value).cast(),
      &mut size,
    )
  };
  if r == SOCKET_ERROR {
    Err(last_error())
  } else {
    Ok(value)
  }
}

/// Clears `SO_ERROR`. Winsock lets a program set it (Unix does not, and
/// needs not: reading it there clears it).
fn clear_error(raw: RawSocket) -> io::Result<()> {
  let zero: i32 = 0;
  // SAFETY: `zero` is a live local of the size Winsock is told.
  let r = unsafe {
    ws::setsockopt(
      socket(raw),
      SOL_SOCKET,
      SO_ERROR,
      ptr::addr_of!(zero).cast(),
      std::mem::size_of::<i32>() as i32,
    )
  };
  if r == SOCKET_ERROR {
    Err(last_error())
  } else {
    Ok(())
  }
}

/// `take_error()` as it is on Unix: the pending `SO_ERROR`, reported once.
/// Winsock documents `SO_ERROR` as cleared by reading it; Wine 8 never
/// clears it (`scripts/cross/winsock-probe.c`), so it is also cleared
/// explicitly and `reported` remembers the code already handed out.
pub fn take_error(raw: RawSocket, reported: &Cell<Option<i32>>) -> io::Result<Option<io::Error>> {
  match so_error(raw)? {
    0 => Ok(None),
    code if reported.get() == Some(code) => Ok(None),
    code => {
      // Best effort: Windows needs it not, Wine ignores it.
      let _ = clear_error(raw);
      reported.set(Some(code));
      Ok(Some(io::Error::from_raw_os_error(code)))
    }
  }
}

/// A read's outcome on a stream socket, as on Unix: after a connect
/// failed, the first read reports (and takes) the connect's error, and later
/// reads are the end of the stream. Winsock reports `WSAENOTCONN` there
/// (Wine: `0`), leaving the reason in `SO_ERROR`.
fn connect_error_first(
  raw: RawSocket,
  reported: &Cell<Option<i32>>,
  result: io::Result<usize>,
) -> io::Result<usize> {
  let suspect = match &result {
    Ok(0) => true,
    Err(e) => e.raw_os_error() == Some(WSAENOTCONN),
    Ok(_) => false,
  };
  if !suspect {
    return result;
  }
  match take_error(raw, reported) {
    Ok(Some(pending)) => Err(pending),
    _ if reported.get().is_some() => Ok(0),
    _ => result,
  }
}

/// `recv` on a stream socket (a `read`), see [`connect_error_first`].
pub fn recv_stream(
  raw: RawSocket,
  buf: JsBytes<'_>,
  reported: &Cell<Option<i32>>,
) -> io::Result<usize> {
  connect_error_first(raw, reported, recv(raw, buf, false))
}

/// `readv` on a stream socket, see [`connect_error_first`].
pub fn readv_stream(
  raw: RawSocket,
  bufs: &[JsBytes<'_>],
  reported: &Cell<Option<i32>>,
) -> io::Result<usize> {
  connect_error_first(raw, reported, readv(raw, bufs))
}

/// Whether the socket has a peer (`getpeername` succeeds).
fn connected(raw: RawSocket) -> bool {
  // SAFETY: zeroed bytes are a valid `SOCKADDR_STORAGE`.
  let mut storage: SOCKADDR_STORAGE = unsafe { std::mem::zeroed() };
  let mut size = std::mem::size_of::<SOCKADDR_STORAGE>() as i32;
  // SAFETY: `storage` and `size` are live locals of the size Winsock is told.
  let r = unsafe {
    ws::getpeername(
      socket(raw),
      ptr::addr_of_mut!(storage).cast::<SOCKADDR>(),
      &mut size,
    )
  };
  r != SOCKET_ERROR
}

/// `send` on a datagram socket: an unconnected socket is `EDESTADDRREQ`, as
/// on Unix (Winsock says `WSAENOTCONN`, Wine 8 `WSAEINVAL`).
pub fn send_datagram(raw: RawSocket, buf: JsBytes<'_>) -> io::Result<usize> {
  match send(raw, buf) {
    Err(e) if matches!(e.raw_os_error(), Some(WSAENOTCONN | WSAEINVAL)) && !connected(raw) => {
      Err(io::Error::from_raw_os_error(WSAEDESTADDRREQ))
    }
    other => other,
  }
}

pub use crate::sys::{Datagram, MAX_BATCH};

/// Receives up to `MAX_BATCH` datagrams into `batch`, one `recvfrom` each
/// (Windows has no `recvmmsg`): how many arrived. Stops at the first
/// would-block or error after the first datagram. A datagram longer than its
/// buffer is cut to it and flagged, as `MSG_TRUNC` on Unix.
pub fn recv_batch(raw: RawSocket, batch: &mut [Datagram<'_>]) -> io::Result<usize> {
  let n = batch.len().min(MAX_BATCH);
  for (i, datagram) in batch[..n].iter_mut().enumerate() {
    match recv_from_flagged(raw, datagram.buf, false) {
      Ok(((size, truncated), from)) => {
        datagram.size = size;
        datagram.truncated = truncated;
        datagram.peer = Some(from);
      }
      Err(e) if i == 0 => return Err(e),
      Err(_) => return Ok(i),
    }
  }
  Ok(n)
}

/// Sends up to `MAX_BATCH` datagrams of `batch`, one `sendto` (or
/// [`send_datagram`], for a slot with no target) each: how many were sent.
/// Stops at the first would-block or error after the first.
pub fn send_batch(raw: RawSocket, batch: &[Datagram<'_>]) -> io::Result<usize> {
  let n = batch.len().min(MAX_BATCH);
  for (i, datagram) in batch[..n].iter().enumerate() {
    let result = match &datagram.peer {
      Some(to) => send_to(raw, datagram.buf, to),
      None => send_datagram(raw, datagram.buf),
    };
    match result {
      Ok(_) => {}
      Err(e) if i == 0 => return Err(e),
      Err(_) => return Ok(i),
    }
  }
  Ok(n)
}
