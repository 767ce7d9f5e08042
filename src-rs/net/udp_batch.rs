//! Batched datagrams: `udpRecvBatch`/`udpSendBatch` move many datagrams per
//! call (`recvmmsg`/`sendmmsg` on Linux and FreeBSD, a loop elsewhere)
//! between a socket and caller-owned storage, allocating nothing.
//!
//! The storage is a `Uint8Array` of datagram bytes and a `Float64Array` of
//! records, `STRIDE` numbers per datagram (see `lib/net/datagram-batch.ts`):
//!
//! | field | receive | send |
//! | --- | --- | --- |
//! | `OFFSET` | in: where the slot starts in the bytes | in: where the datagram starts |
//! | `CAPACITY` | in: the slot's room | - |
//! | `SIZE` | out: bytes received | in: bytes to send |
//! | `FAMILY`, `PORT`, `WORDS`, `SCOPE` | out: the sender | in: the target (family 0: the connected peer) |
//! | `SEGMENT` | out: GRO segment size (0: none) | in: GSO segment size (0: none) |
//! | `FLAGS` | out: `TRUNCATED` | - |
//!
//! Memory safety (see `napi_raw.rs`): the numbers are read first (running no
//! JavaScript), then the records' and the bytes' memory; every record is
//! read and checked before the system call, results are written after it,
//! all through raw pointers (the two arrays may share memory).

use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, JsValue};
use napi_derive::napi;
use socket2::SockAddr;

use crate::boundary::{guard, guard_raw};
use crate::error::{Error, Result};
use crate::fast_call::count_or_null;
use crate::handle::Handle;
use crate::napi_raw::{self, JsBytes};
use crate::source::{self, Kind};
use crate::stream::{arg_bytes, nonblocking, on_descriptor};
use crate::sys::io::{self as os, Datagram, MAX_BATCH};

/// Numbers per datagram record.
pub const STRIDE: usize = 12;
const OFFSET: usize = 0;
const CAPACITY: usize = 1;
const SIZE: usize = 2;
const FAMILY: usize = 3;
const PORT: usize = 4;
const WORDS: usize = 5;
const SCOPE: usize = 9;
const SEGMENT: usize = 10;
const FLAGS: usize = 11;
/// `FLAGS`: the datagram was longer than its slot.
const TRUNCATED: f64 = 1.0;

/// The records of a call: `Float64Array` memory, read and written through
/// raw pointers only.
struct Records {
  data: *mut f64,
  first: usize,
}

impl Records {
  /// Takes `meta`'s memory for records `start..start + count`.
  ///
  /// # Safety
  /// `meta` must be a live value of `env`'s current scope, and no JavaScript
  /// may run while the result is used.
  unsafe fn take(
    env: sys::napi_env,
    meta: sys::napi_value,
    start: u32,
    count: u32,
  ) -> Result<Records> {
    // SAFETY: the caller's contract.
    let info = unsafe { napi_raw::typed_array(env, meta) }
      .filter(|info| info.kind == sys::TypedarrayType::float64_array)
      .ok_or_else(|| Error::invalid_type("meta must be a Float64Array"))?;
    // SAFETY: as above; written memory must be this thread's alone.
    if unsafe { napi_raw::is_shared(env, info.buffer) } {
      return Err(Error::invalid_type(
        "meta must not be backed by a SharedArrayBuffer",
      ));
    }
    Records::within(info.data.cast(), info.length, start, count)
  }

  /// Like [`take`](Self::take), for the records as a whole `ArrayBuffer`
  /// (the hot-path calls: see `napi_raw::array_buffer`).
  ///
  /// # Safety
  /// As `take`.
  unsafe fn take_buffer(
    env: sys::napi_env,
    meta: sys::napi_value,
    start: u32,
    count: u32,
  ) -> Result<Records> {
    // SAFETY: the caller's contract.
    let (data, bytes) = unsafe { napi_raw::array_buffer(env, meta) }
      .ok_or_else(|| Error::invalid_type("meta must be an ArrayBuffer"))?;
    Records::within(
      data.cast(),
      bytes / std::mem::size_of::<f64>(),
      start,
      count,
    )
  }

  /// Records `start..start + count` of `length` numbers at `data`, or a
  /// `RangeError` when they do not fit.
  fn within(data: *mut f64, length: usize, start: u32, count: u32) -> Result<Records> {
    let end = (start as usize + count as usize) * STRIDE;
    if end > length {
      return Err(Error::out_of_range(format!(
        "records {start} to {} do not fit in meta ({} records)",
        start as usize + count as usize,
        length / STRIDE
      )));
    }
    Ok(Records {
      data,
      first: start as usize,
    })
  }

  fn at(&self, record: usize, field: usize) -> *mut f64 {
    // SAFETY: `take` checked that every record of the call lies inside the
    // array, and callers stay within `count` records and `STRIDE` fields.
    unsafe { self.data.add((self.first + record) * STRIDE + field) }
  }

  fn get(&self, record: usize, field: usize) -> f64 {
    // SAFETY: see `at`; no alignment is assumed.
    unsafe { self.at(record, field).read_unaligned() }
  }

  fn set(&self, record: usize, field: usize, value: f64) {
    // SAFETY: see `at`; the memory is a plain ArrayBuffer of this thread.
    unsafe { self.at(record, field).write_unaligned(value) }
  }

  /// An integer field from 0 to `max`, or a `RangeError`.
  fn integer(&self, record: usize, field: usize, name: &str, max: f64) -> Result<f64> {
    let value = self.get(record, field);
    if napi_raw::whole_in(value, max) {
      Ok(value)
    } else {
      Err(Error::out_of_range(format!(
        "datagram {}: {name} must be an integer from 0 to {max}, got {value}",
        self.first + record
      )))
    }
  }

  /// The bytes of record `record`: `OFFSET` and the field `length`.
  fn window<'call>(
    &self,
    buf: JsBytes<'call>,
    record: usize,
    length: usize,
    name: &str,
  ) -> Result<JsBytes<'call>> {
    // `JsBytes::window` checks both numbers; the record's own checks run
    // only to say which datagram and field was wrong.
    buf
      .window(self.get(record, OFFSET), self.get(record, length))
      .map_err(|error| {
        let max = buf.len() as f64;
        match self.integer(record, OFFSET, "offset", max) {
          Err(e) => e,
          Ok(offset) => self
            .integer(record, length, name, max - offset)
            .err()
            .unwrap_or(error),
        }
      })
  }

  /// Record `record`'s peer, `None` for family 0.
  fn peer(&self, record: usize) -> Result<Option<SocketAddr>> {
    let family = self.get(record, FAMILY);
    let port = self.integer(record, PORT, "port", 65535.0)? as u16;
    let word = |i: usize| -> Result<u32> {
      Ok(self.integer(record, WORDS + i, "address word", f64::from(u32::MAX))? as u32)
    };
    match family {
      0.0 => Ok(None),
      4.0 => Ok(Some(SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::from(word(0)?),
        port,
      )))),
      6.0 => {
        let mut bits = 0u128;
        for i in 0..4 {
          bits = (bits << 32) | u128::from(word(i)?);
        }
        let scope = self.integer(record, SCOPE, "scope", f64::from(u32::MAX))? as u32;
        Ok(Some(SocketAddr::V6(SocketAddrV6::new(
          Ipv6Addr::from(bits),
          port,
          0,
          scope,
        ))))
      }
      _ => Err(Error::out_of_range(format!(
        "datagram {}: family must be 4, 6 or 0 (the connected peer), got {family}",
        self.first + record
      ))),
    }
  }

  /// Writes a received datagram's report into record `record`.
  fn report(&self, record: usize, datagram: &Datagram<'_>) {
    self.set(record, SIZE, datagram.size as f64);
    self.set(record, SEGMENT, f64::from(datagram.segment));
    self.set(
      record,
      FLAGS,
      if datagram.truncated { TRUNCATED } else { 0.0 },
    );
    let from = datagram
      .peer
      .as_ref()
      .and_then(SockAddr::as_socket)
      .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
    for (i, value) in super::udp::address_parts(from).into_iter().enumerate() {
      // `address_parts` is [family, port, w0..w3, scope], as FAMILY.. here.
      self.set(record, FAMILY + i, value);
    }
  }
}

/// The datagrams of one batch call, on the stack: only the `len` in use are
/// ever written, so a call costs what its datagrams cost, not `MAX_BATCH`.
struct Batch<'call> {
  items: [MaybeUninit<Datagram<'call>>; MAX_BATCH],
  len: usize,
}

impl<'call> Batch<'call> {
  fn new() -> Batch<'call> {
    Batch {
      items: [const { MaybeUninit::uninit() }; MAX_BATCH],
      len: 0,
    }
  }

  /// Sets the first `count` (at most `MAX_BATCH`) datagrams, each from
  /// `slot`, in place (a batch is kilobytes: it is never moved once used).
  fn fill(
    &mut self,
    count: usize,
    mut slot: impl FnMut(usize) -> Result<Datagram<'call>>,
  ) -> Result<()> {
    for i in 0..count.min(MAX_BATCH) {
      self.items[i].write(slot(i)?);
      self.len = i + 1;
    }
    Ok(())
  }

  fn as_slice(&self) -> &[Datagram<'call>] {
    // SAFETY: the first `len` items were written by `build`.
    unsafe { std::slice::from_raw_parts(self.items.as_ptr().cast(), self.len) }
  }

  fn as_mut_slice(&mut self) -> &mut [Datagram<'call>] {
    // SAFETY: the first `len` items were written by `build`.
    unsafe { std::slice::from_raw_parts_mut(self.items.as_mut_ptr().cast(), self.len) }
  }
}

/// The system calls a batch makes here, for error reports.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
const SYSCALLS: (&str, &str) = ("recvmmsg", "sendmmsg");
#[cfg(all(
  unix,
  not(any(target_os = "linux", target_os = "android", target_os = "freebsd"))
))]
const SYSCALLS: (&str, &str) = ("recvmsg", "sendmsg");
#[cfg(windows)]
const SYSCALLS: (&str, &str) = ("recvfrom", "sendto");

fn with_udp<R>(handle: Handle, f: impl FnOnce(&source::Io) -> Result<R>) -> Result<R> {
  source::with_kind(handle, |kind| kind == Kind::UdpSocket, "UdpSocket", f)
}

/// The records argument of a batch call: a `Float64Array` (the `#[napi]`
/// functions) or its whole `ArrayBuffer` (the hot-path calls).
#[derive(Clone, Copy)]
enum Meta {
  Array(sys::napi_value),
  Buffer(sys::napi_value),
}

impl Meta {
  /// # Safety
  /// As `Records::take`.
  unsafe fn take(self, env: sys::napi_env, start: u32, count: u32) -> Result<Records> {
    // SAFETY: the caller's contract.
    unsafe {
      match self {
        Meta::Array(meta) => Records::take(env, meta, start, count),
        Meta::Buffer(meta) => Records::take_buffer(env, meta, start, count),
      }
    }
  }
}

/// Receives up to `count` (at most 64) datagrams into records `start..` of
/// `meta`: how many arrived, or `None` when none was waiting.
///
/// # Safety
/// `buf` and `meta` must be live values of `env`'s current scope, and no
/// JavaScript may run until this returns.
unsafe fn recv_batch(
  env: sys::napi_env,
  handle: Handle,
  buf: sys::napi_value,
  meta: Meta,
  start: u32,
  count: u32,
) -> Result<Option<u32>> {
  let count = (count as usize).min(MAX_BATCH);
  // SAFETY: the caller's contract: taking them runs no JavaScript, and none
  // runs until this returns.
  let (records, buf) = unsafe {
    (
      meta.take(env, start, count as u32)?,
      arg_bytes(env, buf, "buffer")?,
    )
  };
  let mut batch = Batch::new();
  batch.fill(count, |i| {
    let window = records.window(buf, i, CAPACITY, "capacity")?;
    if window.is_empty() {
      return Err(Error::out_of_range(format!(
        "datagram {}: capacity must be at least 1",
        start as usize + i
      )));
    }
    Ok(Datagram::new(window, None, 0))
  })?;
  if count == 0 {
    return Ok(Some(0));
  }
  let got = with_udp(handle, |io| {
    nonblocking(SYSCALLS.0, || {
      on_descriptor(io, |raw| os::recv_batch(raw, batch.as_mut_slice()))
    })
  })?;
  Ok(got.map(|got| {
    for (i, datagram) in batch.as_slice().iter().take(got).enumerate() {
      records.report(i, datagram);
    }
    got as u32
  }))
}

/// Sends up to `count` (at most 64) datagrams described by records `start..`
/// of `meta`: how many were sent, or `None` when the socket could take none.
///
/// # Safety
/// As [`recv_batch`].
unsafe fn send_batch(
  env: sys::napi_env,
  handle: Handle,
  buf: sys::napi_value,
  meta: Meta,
  start: u32,
  count: u32,
) -> Result<Option<u32>> {
  let count = (count as usize).min(MAX_BATCH);
  // SAFETY: as in `recv_batch`.
  let (records, buf) = unsafe {
    (
      meta.take(env, start, count as u32)?,
      arg_bytes(env, buf, "buffer")?,
    )
  };
  let mut batch = Batch::new();
  batch.fill(count, |i| {
    let window = records.window(buf, i, SIZE, "size")?;
    let peer = records.peer(i)?.map(SockAddr::from);
    let segment = records.integer(i, SEGMENT, "segment size", f64::from(u16::MAX))? as u16;
    if segment != 0 && !cfg!(any(target_os = "linux", target_os = "android")) {
      return Err(Error::unavailable(
        "UDP segmentation offload (a segment size) is only available on Linux",
      ));
    }
    Ok(Datagram::new(window, peer, segment))
  })?;
  if count == 0 {
    return Ok(Some(0));
  }
  let sent = with_udp(handle, |io| {
    nonblocking(SYSCALLS.1, || {
      on_descriptor(io, |raw| os::send_batch(raw, batch.as_slice()))
    })
  })?;
  Ok(sent.map(|n| n as u32))
}

/// `udpRecvBatch(handle, buf, meta, start, count)`: receives up to `count`
/// (at most 64) datagrams into records `start..` of `meta`; how many
/// arrived, or `null` when none was waiting.
#[napi(
  ts_args_type = "handle: Handle, buf: Uint8Array, meta: Float64Array, start: number, count: number"
)]
pub fn udp_recv_batch(
  env: Env,
  handle: Handle,
  buf: Unknown,
  meta: Unknown,
  start: u32,
  count: u32,
) -> napi::Result<Option<u32>> {
  // SAFETY: this call's arguments; none of what follows runs JavaScript.
  guard(&env, || unsafe {
    recv_batch(
      env.raw(),
      handle,
      buf.raw(),
      Meta::Array(meta.raw()),
      start,
      count,
    )
  })
}

/// `udpSendBatch(handle, buf, meta, start, count)`: sends up to `count` (at
/// most 64) datagrams described by records `start..` of `meta`; how many
/// were sent, or `null` when the socket could take none.
#[napi(
  ts_args_type = "handle: Handle, buf: Uint8Array, meta: Float64Array, start: number, count: number"
)]
pub fn udp_send_batch(
  env: Env,
  handle: Handle,
  buf: Unknown,
  meta: Unknown,
  start: u32,
  count: u32,
) -> napi::Result<Option<u32>> {
  // SAFETY: as in `udp_recv_batch`.
  guard(&env, || unsafe {
    send_batch(
      env.raw(),
      handle,
      buf.raw(),
      Meta::Array(meta.raw()),
      start,
      count,
    )
  })
}

/// The body of a batch call: `recv_batch` or `send_batch`.
type BatchOp =
  unsafe fn(sys::napi_env, Handle, sys::napi_value, Meta, u32, u32) -> Result<Option<u32>>;

/// A batch hot-path call, `(handle, buf, meta, start, count)` with `meta`
/// the records' `ArrayBuffer`: decodes the numbers and runs `op`.
///
/// # Safety
/// `env` and `info` must be the running callback's.
unsafe fn batch_call(
  env: sys::napi_env,
  info: sys::napi_callback_info,
  op: BatchOp,
) -> sys::napi_value {
  guard_raw(env, || {
    // SAFETY: `env` and `info` are this callback's (the caller's contract).
    let ([handle, buf, meta, start, count], _) = unsafe { napi_raw::args::<5>(env, info) };
    // SAFETY: the values are this call's arguments; reading numbers and
    // typed arrays runs no JavaScript.
    let result = unsafe {
      let handle = napi_raw::get_number(env, handle, "handle")?;
      let start = napi_raw::get_index(env, start, "start", f64::from(u32::MAX))? as u32;
      let count = napi_raw::get_index(env, count, "count", f64::from(u32::MAX))? as u32;
      op(env, handle, buf, Meta::Buffer(meta), start, count)?
    };
    count_or_null(env, result)
  })
}

/// `udpRecvBatch` as a hot-path call (see `fast_call.rs`).
///
/// # Safety
/// Only Node-API calls this, with its own `env` and `info`.
pub unsafe extern "C" fn udp_recv_batch_fast(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  // SAFETY: Node-API passes this callback's own `env` and `info`.
  unsafe { batch_call(env, info, recv_batch) }
}

/// `udpSendBatch` as a hot-path call (see `fast_call.rs`).
///
/// # Safety
/// Only Node-API calls this, with its own `env` and `info`.
pub unsafe extern "C" fn udp_send_batch_fast(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  // SAFETY: Node-API passes this callback's own `env` and `info`.
  unsafe { batch_call(env, info, send_batch) }
}

/// Runs `f` on the descriptor of the UDP socket behind `handle`, Linux only
/// (UDP segmentation and receive offload).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn offload<R>(handle: Handle, f: impl FnOnce(os::RawFd) -> std::io::Result<R>) -> Result<R> {
  with_udp(handle, |io| {
    let raw = io.raw().ok_or_else(|| Error::wrong_kind("UdpSocket"))?;
    f(raw).map_err(|e| Error::system(&e, "setsockopt"))
  })
}

/// Elsewhere: a closed socket is still `ERR_SOCKET_CLOSED`, an open one the
/// platform error.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn offload<R>(handle: Handle, _f: impl FnOnce(source::Raw) -> std::io::Result<R>) -> Result<R> {
  with_udp(handle, |_| {
    Err(Error::unavailable(
      "UDP segmentation and receive offload (UDP_SEGMENT, UDP_GRO) are only available on Linux",
    ))
  })
}

/// Sets `UDP_GRO`: received datagrams of a flow may arrive coalesced, with
/// their segment size reported. Linux only.
#[napi]
pub fn udp_set_gro(env: Env, handle: Handle, on: bool) -> napi::Result<()> {
  guard(&env, || {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return offload(handle, |fd| {
      os::set_int_option(fd, libc::SOL_UDP, libc::UDP_GRO, i32::from(on))
    });
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    offload(handle, |_| {
      let _ = on;
      Ok(())
    })
  })
}

/// Reads `UDP_GRO`. Linux only.
#[napi]
pub fn udp_gro(env: Env, handle: Handle) -> napi::Result<bool> {
  guard(&env, || {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return offload(handle, |fd| {
      os::int_option(fd, libc::SOL_UDP, libc::UDP_GRO).map(|v| v != 0)
    });
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    offload(handle, |_| Ok(false))
  })
}

/// Sets `UDP_SEGMENT`: every send is split into datagrams of `size` bytes
/// by the kernel (0: off). Linux only.
#[napi]
pub fn udp_set_segment_size(env: Env, handle: Handle, size: u32) -> napi::Result<()> {
  guard(&env, || {
    if size > u32::from(u16::MAX) {
      return Err(Error::out_of_range(format!(
        "size must be an integer from 0 to 65535, got {size}"
      )));
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return offload(handle, |fd| {
      os::set_int_option(fd, libc::SOL_UDP, libc::UDP_SEGMENT, size as i32)
    });
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    offload(handle, |_| {
      let _ = size;
      Ok(())
    })
  })
}

/// Reads `UDP_SEGMENT`. Linux only.
#[napi]
pub fn udp_segment_size(env: Env, handle: Handle) -> napi::Result<u32> {
  guard(&env, || {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return offload(handle, |fd| {
      os::int_option(fd, libc::SOL_UDP, libc::UDP_SEGMENT).map(|v| v.max(0) as u32)
    });
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    offload(handle, |_| Ok(0))
  })
}

/// Writes the parts of IP socket address `addr` (`ip:port` text) into
/// `out`, a `Float64Array` of at least 7: `[family, port, w0..w3, scope]`,
/// as a batch record holds a peer. A send target: port 0 is
/// `ERR_SOCKET_BAD_PORT`.
#[napi(ts_args_type = "addr: string, out: Float64Array")]
pub fn udp_address_parts(env: Env, addr: String, out: Unknown) -> napi::Result<()> {
  guard(&env, || {
    let addr = crate::net::addr::destination(crate::net::addr::parse(&addr)?)?;
    // SAFETY: `out` is this call's argument; no JavaScript runs until this
    // call returns.
    let parts = unsafe { super::udp::parts_out(env.raw(), out.raw()) }?;
    for (i, value) in super::udp::address_parts(addr).into_iter().enumerate() {
      // SAFETY: `parts` has at least 7 elements of a plain ArrayBuffer.
      unsafe { parts.add(i).write_unaligned(value) };
    }
    Ok(())
  })
}
