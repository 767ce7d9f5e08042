//! `UnixStream`: connect and pair. Reads, writes and shutdown are shared
//! with the other streams (`net/io.rs`, `net/mod.rs`).

use napi::bindgen_prelude::Unknown;
use napi::Env;
use napi::JsValue;
use napi_derive::napi;

use crate::boundary::guard;
use crate::error::Error;
use crate::handle::Handle;
use crate::napi_raw;
use crate::net::uds::addr::abstract_addr;
use crate::source::{self, Fresh, HandlePair, Io};

/// `UnixStream::connect(path)`.
#[napi]
pub fn unix_stream_connect(env: Env, path: String) -> napi::Result<Handle> {
  guard(&env, || {
    let stream = mio::net::UnixStream::connect(&path)
      .map_err(|e| Error::system(&e, "connect").on_path(&path))?;
    source::insert(Io::UnixStream(stream))
  })
}

/// `UnixStream::connect_addr` with a Linux abstract name.
#[napi(ts_args_type = "name: Uint8Array")]
pub fn unix_stream_connect_abstract(env: Env, name: Unknown) -> napi::Result<Handle> {
  guard(&env, || {
    // SAFETY: `name` is this call's argument.
    let name = unsafe { napi_raw::copy_bytes(env.raw(), name.raw()) }
      .ok_or_else(|| Error::invalid_type("name must be a Uint8Array or Buffer"))?;
    let addr = abstract_addr(&name)?;
    let stream =
      mio::net::UnixStream::connect_addr(&addr).map_err(|e| Error::system(&e, "connect"))?;
    source::insert(Io::UnixStream(stream))
  })
}

/// `UnixStream::pair()`: two connected streams.
#[napi(ts_return_type = "HandlePair")]
pub fn unix_stream_pair(env: Env) -> napi::Result<Fresh<HandlePair>> {
  guard(&env, || {
    let (a, b) = mio::net::UnixStream::pair().map_err(|e| Error::system(&e, "socketpair"))?;
    source::fresh_pair(Io::UnixStream(a), Io::UnixStream(b))
  })
}

/// The credentials of a Unix stream's peer, as of when it connected.
#[napi(object, use_nullable = true)]
pub struct PeerCred {
  /// The peer's process id, where the OS reports it (Linux, macOS).
  pub pid: Option<i32>,
  pub uid: u32,
  pub gid: u32,
}

/// `SO_PEERCRED` on Linux.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn peer_cred_of(fd: std::os::fd::RawFd) -> std::io::Result<PeerCred> {
  let mut cred = libc::ucred {
    pid: 0,
    uid: 0,
    gid: 0,
  };
  let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
  // SAFETY: `cred` and `len` are live out-pointers of the right sizes.
  let status = unsafe {
    libc::getsockopt(
      fd,
      libc::SOL_SOCKET,
      libc::SO_PEERCRED,
      (&mut cred as *mut libc::ucred).cast(),
      &mut len,
    )
  };
  if status != 0 {
    return Err(std::io::Error::last_os_error());
  }
  Ok(PeerCred {
    pid: (cred.pid > 0).then_some(cred.pid),
    uid: cred.uid,
    gid: cred.gid,
  })
}

/// `getpeerucred` on illumos and Solaris (they have no `getpeereid`).
#[cfg(any(target_os = "illumos", target_os = "solaris"))]
pub(crate) fn peer_cred_of(fd: std::os::fd::RawFd) -> std::io::Result<PeerCred> {
  let mut cred: *mut libc::ucred_t = std::ptr::null_mut();
  // SAFETY: `cred` is a live out-pointer; on success it owns a `ucred_t`
  // that `ucred_free` releases below.
  if unsafe { libc::getpeerucred(fd, &mut cred) } != 0 {
    return Err(std::io::Error::last_os_error());
  }
  // SAFETY: `cred` came from a successful `getpeerucred`, is read and then
  // freed once.
  let (pid, uid, gid) = unsafe {
    let ids = (
      libc::ucred_getpid(cred),
      libc::ucred_geteuid(cred),
      libc::ucred_getegid(cred),
    );
    libc::ucred_free(cred);
    ids
  };
  Ok(PeerCred {
    pid: (pid > 0).then_some(pid),
    uid,
    gid,
  })
}

/// `getpeereid` elsewhere, and `LOCAL_PEERPID` on Apple systems.
#[cfg(not(any(
  target_os = "linux",
  target_os = "android",
  target_os = "illumos",
  target_os = "solaris"
)))]
pub(crate) fn peer_cred_of(fd: std::os::fd::RawFd) -> std::io::Result<PeerCred> {
  let (mut uid, mut gid) = (0, 0);
  // SAFETY: `uid` and `gid` are live out-pointers.
  if unsafe { libc::getpeereid(fd, &mut uid, &mut gid) } != 0 {
    return Err(std::io::Error::last_os_error());
  }
  #[cfg(any(target_os = "macos", target_os = "ios"))]
  let pid = {
    let mut pid: libc::pid_t = 0;
    let mut len = std::mem::size_of::<libc::pid_t>() as libc::socklen_t;
    // SAFETY: `pid` and `len` are live out-pointers of the right sizes.
    let status = unsafe {
      libc::getsockopt(
        fd,
        libc::SOL_LOCAL,
        libc::LOCAL_PEERPID,
        (&mut pid as *mut libc::pid_t).cast(),
        &mut len,
      )
    };
    (status == 0 && pid > 0).then_some(pid)
  };
  #[cfg(not(any(target_os = "macos", target_os = "ios")))]
  let pid = None;
  Ok(PeerCred { pid, uid, gid })
}

/// `UnixStream.peerCred()`: the peer's process id (where reported), user
/// and group ids.
#[napi]
pub fn unix_stream_peer_cred(env: Env, handle: Handle) -> napi::Result<PeerCred> {
  guard(&env, || {
    use std::os::fd::AsRawFd;
    source::with(handle, |io| match io {
      Io::UnixStream(s) => peer_cred_of(s.as_raw_fd()).map_err(|e| Error::system(&e, "getsockopt")),
      _ => Err(Error::wrong_kind("UnixStream")),
    })
  })
}
