//! `Interest`: the readiness a registration asks for, as a small bit set.
//!
//! JavaScript passes the bits; the values below are exported so the wrapper
//! never hard-codes them. An interest the OS lacks is `0` here (and
//! `undefined` in the wrapper): `PRIORITY` exists on Linux and Android, `AIO`
//! on FreeBSD, DragonFly and Apple OSes, `LIO` on FreeBSD, as in mio.

use napi_derive::napi;

use crate::error::{Error, Result};

#[napi]
pub const INTEREST_READABLE: u32 = 1;
#[napi]
pub const INTEREST_WRITABLE: u32 = 2;
#[napi]
pub const INTEREST_PRIORITY: u32 = if cfg!(any(target_os = "linux", target_os = "android")) {
  4
} else {
  0
};
cfg_else! {
  #[cfg(any(
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos",
    target_os = "visionos"
  ))] {
    /// mio's `Interest::AIO`, where the OS has it (as mio's own list).
    const AIO: Option<mio::Interest> = Some(mio::Interest::AIO);
  } else {
    const AIO: Option<mio::Interest> = None;
  }
}
/// `INTEREST_AIO` where the OS has it.
const AIO_BIT: u32 = 8;
#[napi]
pub const INTEREST_AIO: u32 = if AIO.is_some() { AIO_BIT } else { 0 };
#[napi]
pub const INTEREST_LIO: u32 = if cfg!(target_os = "freebsd") { 16 } else { 0 };

pub fn from_js(bits: u32) -> Result<mio::Interest> {
  let known =
    INTEREST_READABLE | INTEREST_WRITABLE | INTEREST_PRIORITY | INTEREST_AIO | INTEREST_LIO;
  if bits == 0 || bits & !known != 0 {
    return Err(Error::invalid_arg(format!(
      "invalid interest bits {bits:#x} for this platform"
    )));
  }
  let mut interest: Option<mio::Interest> = None;
  let mut add = |i: mio::Interest| {
    interest = Some(match interest {
      Some(have) => have.add(i),
      None => i,
    })
  };
  if bits & INTEREST_READABLE != 0 {
    add(mio::Interest::READABLE);
  }
  if bits & INTEREST_WRITABLE != 0 {
    add(mio::Interest::WRITABLE);
  }
  #[cfg(any(target_os = "linux", target_os = "android"))]
  if bits & INTEREST_PRIORITY != 0 {
    add(mio::Interest::PRIORITY);
  }
  // The bit is known (so may be set) only where `AIO` is `Some`: its OS
  // list, longer than the others, is written once, above.
  if let Some(aio) = AIO.filter(|_| bits & AIO_BIT != 0) {
    add(aio);
  }
  #[cfg(target_os = "freebsd")]
  if bits & INTEREST_LIO != 0 {
    add(mio::Interest::LIO);
  }
  // `bits` is non-zero and only holds known bits, so at least one was added.
  interest.ok_or_else(|| Error::invalid_arg("empty interest"))
}
