//! Descriptor passing (`SCM_RIGHTS`) over `UnixStream` and `UnixDatagram`:
//! bytes and descriptors in one `sendmsg`/`recvmsg`.
//!
//! Received descriptors are close-on-exec (`MSG_CMSG_CLOEXEC`, or `fcntl`
//! right after the receive where the flag does not exist). A receive whose
//! control data did not fit (`MSG_CTRUNC`) closes every descriptor it did
//! get and is an error: nothing leaks. A plain `read`/`recv` passes no
//! control buffer, so the kernel closes descriptors sent with those bytes.

use std::os::fd::RawFd;

use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, JsValue};
use napi_derive::napi;
use socket2::SockAddr;

use crate::boundary::{guard, guard_raw};
use crate::error::{Class, Error, Result};
use crate::handle::Handle;
use crate::napi_raw::{self, JsBytes};
use crate::net::uds::addr::UnixAddress;
use crate::net::uds::datagram::UnixRemoteInfo;
use crate::source::{self, Io, Kind};
use crate::stream::{arg_bytes, nonblocking, on_descriptor, readable, MAX_CHUNK};
use crate::sys::io::NOSIGNAL;

/// The most descriptors one message carries (Linux's `SCM_MAX_FD`).
pub const MAX_FDS: usize = 253;

/// Control buffer room for `MAX_FDS` descriptors, aligned for `cmsghdr`.
type Control = [u64; (MAX_FDS * 4 + 64) / 8];

cfg_else! {
  #[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
  ))] {
    const CLOEXEC: libc::c_int = libc::MSG_CMSG_CLOEXEC;
  } else {
    const CLOEXEC: libc::c_int = 0;
  }
}

/// Runs a system call `op` on the descriptor of a `UnixStream` or
/// `UnixDatagram`, as `nonblocking` does: `None` when it would block.
fn with_unix<R>(
  handle: Handle,
  syscall: &'static str,
  mut op: impl FnMut(RawFd) -> std::io::Result<R>,
) -> Result<Option<R>> {
  source::with(handle, |io| match io {
    // Through mio's `try_io` (`on_descriptor`): a would-block re-arms the
    // source's readiness where the selector needs that (the poll(2) one).
    Io::UnixStream(_) | Io::UnixDatagram(_) => nonblocking(syscall, || on_descriptor(io, &mut op)),
    _ => Err(Error::wrong_kind("UnixStream or UnixDatagram")),
  })
}

/// Whether the source behind `handle` is a Unix stream (else a datagram
/// socket, or an error).
fn is_stream(handle: Handle) -> Result<bool> {
  source::with(handle, |io| match io {
    Io::UnixStream(_) => Ok(true),
    Io::UnixDatagram(_) => Ok(false),
    _ => Err(Error::wrong_kind("UnixStream or UnixDatagram")),
  })
}

/// An `Int32Array` of a plain `ArrayBuffer`: its first element and length.
///
/// # Safety
/// `value` must be a live value of `env`'s current scope.
unsafe fn int32s(
  env: sys::napi_env,
  value: sys::napi_value,
  name: &str,
) -> Result<(*mut i32, usize)> {
  // SAFETY: the caller's contract.
  let info = unsafe { napi_raw::typed_array(env, value) }
    .filter(|info| info.kind == sys::TypedarrayType::int32_array)
    .ok_or_else(|| Error::invalid_type(format!("{name} must be an Int32Array")))?;
  // SAFETY: as above.
  if unsafe { napi_raw::is_shared(env, info.buffer) } {
    return Err(Error::invalid_type(format!(
      "{name} must not be backed by a SharedArrayBuffer"
    )));
  }
  Ok((info.data.cast(), info.length))
}

/// `unixSendFds(handle, buf, fds, count)`: sends `buf` with the first
/// `count` descriptors of `fds` (`SCM_RIGHTS`): the bytes sent, or `null`.
#[napi(ts_args_type = "handle: Handle, buf: Uint8Array, fds: Int32Array, count: number")]
pub fn unix_send_fds(
  env: Env,
  handle: Handle,
  buf: Unknown,
  fds: Unknown,
  count: u32,
) -> napi::Result<Option<u32>> {
  guard(&env, || send_fds(&env, handle, buf, fds, count, None))
}

/// `unixDatagramSendToFds(handle, buf, fds, count, path)`: sends `buf` with
/// the first `count` descriptors of `fds` to `path` (a leading NUL byte
/// names a Linux abstract socket) from an unconnected `UnixDatagram`: the
/// bytes sent, or `null`.
#[napi(
  ts_args_type = "handle: Handle, buf: Uint8Array, fds: Int32Array, count: number, path: string"
)]
pub fn unix_datagram_send_to_fds(
  env: Env,
  handle: Handle,
  buf: Unknown,
  fds: Unknown,
  count: u32,
  path: String,
) -> napi::Result<Option<u32>> {
  guard(&env, || {
    let to = SockAddr::unix(&path).map_err(|e| Error::system(&e, "sendmsg").on_path(&path))?;
    send_fds(&env, handle, buf, fds, count, Some(&to))
  })
}

/// Sends `buf` with descriptors, to `to` or the connected peer.
fn send_fds(
  env: &Env,
  handle: Handle,
  buf: Unknown,
  fds: Unknown,
  count: u32,
  to: Option<&SockAddr>,
) -> Result<Option<u32>> {
  {
    let count = count as usize;
    if count > MAX_FDS {
      return Err(Error::out_of_range(format!(
        "at most {MAX_FDS} descriptors go in one message, got {count}"
      )));
    }
    // SAFETY: this call's arguments; no JavaScript runs until it returns.
    let (data, length) = unsafe { int32s(env.raw(), fds.raw(), "fds") }?;
    if count > length {
      return Err(Error::out_of_range(format!(
        "count ({count}) is more than fds holds ({length})"
      )));
    }
    let mut list = [0 as RawFd; MAX_FDS];
    for (i, slot) in list.iter_mut().enumerate().take(count) {
      // SAFETY: `i < count <= length` elements of a plain ArrayBuffer.
      let fd = unsafe { data.add(i).read_unaligned() };
      if fd < 0 {
        return Err(Error::out_of_range(format!(
          "fds[{i}] must be a descriptor (0 or more), got {fd}"
        )));
      }
      *slot = fd;
    }
    let stream = is_stream(handle)?;
    // SAFETY: as above, taken last.
    let buf = unsafe { arg_bytes(env.raw(), buf.raw(), "buffer") }?.prefix(MAX_CHUNK);
    if stream && count > 0 && buf.is_empty() {
      // A stream sends no message for 0 bytes, and the descriptors would be
      // dropped without a word.
      return Err(Error::out_of_range(
        "The \"buffer\" argument must not be empty on a stream: the descriptors ride on its bytes",
      ));
    }
    let mut control: Control = [0; (MAX_FDS * 4 + 64) / 8];
    with_unix(handle, "sendmsg", |fd| {
      let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
      };
      // SAFETY: all-zero is a valid `msghdr`; every pointer set below is
      // live through the call, and the control message is built inside
      // `control` by the CMSG macros over a header that describes it.
      let sent = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1 as _;
        if let Some(to) = to {
          msg.msg_name = to.as_ptr() as *mut libc::c_void;
          msg.msg_namelen = to.len();
        }
        if count > 0 {
          let bytes = (count * std::mem::size_of::<RawFd>()) as libc::c_uint;
          msg.msg_control = control.as_mut_ptr().cast();
          msg.msg_controllen = libc::CMSG_SPACE(bytes) as _;
          let cmsg = libc::CMSG_FIRSTHDR(&msg);
          (*cmsg).cmsg_level = libc::SOL_SOCKET;
          (*cmsg).cmsg_type = libc::SCM_RIGHTS;
          (*cmsg).cmsg_len = libc::CMSG_LEN(bytes) as _;
          std::ptr::copy_nonoverlapping(
            list.as_ptr(),
            libc::CMSG_DATA(cmsg).cast::<RawFd>(),
            count,
          );
        }
        libc::sendmsg(fd, &msg, NOSIGNAL)
      };
      if sent < 0 {
        Err(std::io::Error::last_os_error())
      } else {
        Ok(sent as u32)
      }
    })
  }
}

/// Closes descriptors this process received and will not hand out.
fn close_all(fds: &[RawFd]) {
  for &fd in fds {
    // SAFETY: `fd` was just received by this process and is owned by no one
    // else.
    unsafe { libc::close(fd) };
  }
}

/// `unixRecvFds(handle, buf, out, max)`: receives into `buf` with up to
/// `max` descriptors, written to `out[1..]` with their count in `out[0]`:
/// the bytes received (`0` at the end of a stream), or `null`. More
/// descriptors than `max` is an error that closes them all.
#[napi(ts_args_type = "handle: Handle, buf: Uint8Array, out: Int32Array, max: number")]
pub fn unix_recv_fds(
  env: Env,
  handle: Handle,
  buf: Unknown,
  out: Unknown,
  max: u32,
) -> napi::Result<Option<u32>> {
  guard(&env, || {
    Ok(recv_fds(&env, handle, buf, out, max)?.map(|(size, _)| size))
  })
}

/// `unixDatagramRecvFromFds(handle, buf, out, max)`: as `unixRecvFds`, on a
/// `UnixDatagram`, with the sender: its address and the size, or `null`.
#[napi(ts_args_type = "handle: Handle, buf: Uint8Array, out: Int32Array, max: number")]
pub fn unix_datagram_recv_from_fds(
  env: Env,
  handle: Handle,
  buf: Unknown,
  out: Unknown,
  max: u32,
) -> napi::Result<Option<UnixRemoteInfo>> {
  guard(&env, || {
    source::with_kind(
      handle,
      |kind| kind == Kind::UnixDatagram,
      "UnixDatagram",
      |_| Ok(()),
    )?;
    Ok(recv_fds(&env, handle, buf, out, max)?.map(|(size, from)| {
      let from = UnixAddress::from_sock_addr(&from);
      UnixRemoteInfo {
        path: from.path,
        abstract_name: from.abstract_name,
        unnamed: from.unnamed,
        size,
      }
    }))
  })
}

/// Receives into `buf` with up to `max` descriptors (see `unix_recv_fds`):
/// the size and the sender's address.
fn recv_fds(
  env: &Env,
  handle: Handle,
  buf: Unknown,
  out: Unknown,
  max: u32,
) -> Result<Option<(u32, SockAddr)>> {
  let max = max as usize;
  if max > MAX_FDS {
    return Err(Error::out_of_range(format!(
      "at most {MAX_FDS} descriptors come in one message, got {max}"
    )));
  }
  // SAFETY: this call's arguments; no JavaScript runs until it returns.
  let (out, length) = unsafe { int32s(env.raw(), out.raw(), "out") }?;
  if length < max + 1 {
    return Err(Error::out_of_range(format!(
      "out must hold {} elements (a count and {max} descriptors), it holds {length}",
      max + 1
    )));
  }
  let stream = is_stream(handle)?;
  // SAFETY: as above, taken last.
  let buf = unsafe { arg_bytes(env.raw(), buf.raw(), "buffer") }?;
  // A datagram may be empty and still carry descriptors; a stream's 0
  // bytes read would be the end of the stream.
  let buf = if stream {
    readable(buf)?
  } else {
    buf.prefix(MAX_CHUNK)
  };
  recv_into(handle, buf, out, max)
}

/// `recvmsg` into `buf` with up to `max` descriptors, written to `out[1..]`
/// with their count in `out[0]` (`out` holds at least `max + 1` elements of
/// memory no JavaScript runs against until the call returns): the size and
/// the sender's address, or `None` when it would block.
fn recv_into(
  handle: Handle,
  buf: JsBytes<'_>,
  out: *mut i32,
  max: usize,
) -> Result<Option<(u32, SockAddr)>> {
  {
    let mut control: Control = [0; (MAX_FDS * 4 + 64) / 8];
    let mut got = [0 as RawFd; MAX_FDS];
    let received = with_unix(handle, "recvmsg", |fd| {
      let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
      };
      // SAFETY: all-zero is a valid `msghdr`; the pointers are live
      // through the call (the address storage is `try_init`'s, zeroed, and
      // its length is what the kernel wrote); the CMSG macros walk what the
      // kernel wrote.
      unsafe {
        SockAddr::try_init(|storage, len| {
          let mut msg: libc::msghdr = std::mem::zeroed();
          msg.msg_name = storage.cast();
          msg.msg_namelen = *len;
          msg.msg_iov = &mut iov;
          msg.msg_iovlen = 1 as _;
          if max > 0 {
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen =
              libc::CMSG_SPACE((max * std::mem::size_of::<RawFd>()) as libc::c_uint) as _;
          }
          let n = libc::recvmsg(fd, &mut msg, CLOEXEC);
          if n < 0 {
            return Err(std::io::Error::last_os_error());
          }
          *len = msg.msg_namelen;
          let mut count = 0usize;
          let mut overflow = false;
          if max > 0 {
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
              if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg);
                let bytes = (*cmsg).cmsg_len as usize - (data as usize - cmsg as usize);
                for i in 0..bytes / std::mem::size_of::<RawFd>() {
                  let fd = data.cast::<RawFd>().add(i).read_unaligned();
                  if count < MAX_FDS {
                    got[count] = fd;
                    count += 1;
                  } else {
                    overflow = true;
                    libc::close(fd);
                  }
                }
              }
              cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
          }
          Ok((
            n as usize,
            count,
            overflow || msg.msg_flags & libc::MSG_CTRUNC != 0,
          ))
        })
      }
    })?;
    let Some(((size, count, truncated), from)) = received else {
      return Ok(None);
    };
    if truncated || count > max {
      close_all(&got[..count]);
      return Err(Error::Coded {
        class: Class::Error,
        code: "ERR_MIO_FDS_TRUNCATED",
        message: format!(
          "more descriptors arrived than the receive asked for (at most {max}): all were closed; {size} {} received",
          if size == 1 { "byte was" } else { "bytes were" }
        ),
      });
    }
    if CLOEXEC == 0 {
      for &fd in &got[..count] {
        // SAFETY: a descriptor this process just received.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
      }
    }
    // SAFETY: `out` holds at least `max + 1 > count` elements of a plain
    // ArrayBuffer, live (no JavaScript ran since it was taken).
    unsafe {
      out.write_unaligned(count as i32);
      for (i, &fd) in got[..count].iter().enumerate() {
        out.add(1 + i).write_unaligned(fd);
      }
    }
    Ok(Some((size.min(MAX_CHUNK) as u32, from)))
  }
}

/// Where `unixDatagramRecvMsg` puts the sender's address in `out`: its kind
/// (0 unnamed, 1 path, 2 Linux abstract name) and its length in bytes.
const ADDR_KIND: usize = MAX_FDS + 1;
const ADDR_LEN: usize = MAX_FDS + 2;
/// The longest address `unixDatagramRecvMsg` writes to `addr` (`sun_path`).
const ADDR_MAX: usize = 108;

/// `unixDatagramRecvMsg(handle, buf, out, addr)`: a datagram, its
/// descriptors and its sender in one `recvmsg`, without building an object:
/// the size, or `null` when it would block. `out` (an `Int32Array` of at
/// least 256 elements) gets the descriptor count in `out[0]`, the
/// descriptors from `out[1]`, the sender's kind in `out[254]` (0 unnamed,
/// 1 path, 2 abstract) and its length in `out[255]`; `addr` (a `Uint8Array`
/// of at least 108 bytes) its bytes. The receive loop of
/// `node-mio/unix-dgram`, once per datagram: a hot-path call
/// (`fast_call.rs`).
///
/// # Safety
/// Called by Node-API only, with its own `env` and `info`.
pub unsafe extern "C" fn unix_datagram_recv_msg(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  guard_raw(env, || {
    // SAFETY: `env` and `info` are this callback's.
    let ([handle, buf, out, addr], _) = unsafe { napi_raw::args::<4>(env, info) };
    // SAFETY: the values are this call's arguments. Numbers and typed arrays
    // are read without running JavaScript, so the memory stays valid through
    // the receive; it is written through raw pointers only.
    let (handle, (out, length), addr, buf) = unsafe {
      (
        napi_raw::get_number(env, handle, "handle")?,
        int32s(env, out, "out")?,
        napi_raw::bytes(env, addr)
          .ok_or_else(|| Error::invalid_type("addr must be a Uint8Array or Buffer"))?,
        napi_raw::bytes(env, buf)
          .ok_or_else(|| Error::invalid_type("buffer must be a Uint8Array or Buffer"))?,
      )
    };
    if length < ADDR_LEN + 1 {
      return Err(Error::out_of_range(format!(
        "out must hold {} elements, it holds {length}",
        ADDR_LEN + 1
      )));
    }
    if addr.len() < ADDR_MAX {
      return Err(Error::out_of_range(format!(
        "addr must hold {ADDR_MAX} bytes, it holds {}",
        addr.len()
      )));
    }
    let buf = readable(buf)?;
    let Some((size, from)) = recv_into(handle, buf, out, MAX_FDS)? else {
      return napi_raw::null(env).ok_or(Error::Pending);
    };
    let (kind, bytes): (i32, &[u8]) = if let Some(path) = from.as_pathname() {
      (1, std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
    } else if let Some(name) = from.as_abstract_namespace() {
      (2, name)
    } else {
      (0, &[])
    };
    let len = bytes.len().min(ADDR_MAX);
    // SAFETY: `out` holds more than `ADDR_LEN` elements and `addr` at least
    // `ADDR_MAX` bytes, live (no JavaScript ran since they were taken).
    unsafe {
      out.add(ADDR_KIND).write_unaligned(kind);
      out.add(ADDR_LEN).write_unaligned(len as i32);
      std::ptr::copy_nonoverlapping(bytes.as_ptr(), addr.as_mut_ptr(), len);
    }
    napi_raw::uint32(env, size).ok_or(Error::Pending)
  })
}
