//! `event::Source`: every I/O object the binding owns, and its registration.
//!
//! mio leaves double registration "unspecified" (epoll and kqueue differ, and
//! debug builds differ from release). The binding tracks each source's
//! registration itself so every OS and build answers the same way:
//! registering a registered source is `EEXIST`, reregistering or
//! deregistering one that is not registered (with this `Poll`) is `ENOENT`,
//! and touching a source registered with another `Poll` is `EEXIST`.

use std::cell::RefCell;
use std::io;
use std::rc::{Rc, Weak};

use napi::Env;
use napi_derive::napi;

use crate::error::{self, Result};
use crate::handle::{Handle, Table};
use crate::poll::PollCore;

/// The I/O objects a handle can name.
pub enum Io {
  TcpListener(mio::net::TcpListener),
  TcpStream(mio::net::TcpStream),
  UdpSocket(mio::net::UdpSocket),
  #[cfg(unix)]
  UnixListener(mio::net::UnixListener),
  #[cfg(unix)]
  UnixStream(mio::net::UnixStream),
  #[cfg(unix)]
  UnixDatagram(mio::net::UnixDatagram),
  #[cfg(unix)]
  PipeSender(mio::unix::pipe::Sender),
  #[cfg(unix)]
  PipeReceiver(mio::unix::pipe::Receiver),
  /// A descriptor the program owns (`SourceFd`): registered, never closed.
  #[cfg(unix)]
  Fd(crate::unix::source_fd::Fd),
  #[cfg(windows)]
  NamedPipe(mio::windows::NamedPipe),
}

impl Io {
  fn as_source(&mut self) -> &mut dyn mio::event::Source {
    match self {
      Io::TcpListener(s) => s,
      Io::TcpStream(s) => s,
      Io::UdpSocket(s) => s,
      #[cfg(unix)]
      Io::UnixListener(s) => s,
      #[cfg(unix)]
      Io::UnixStream(s) => s,
      #[cfg(unix)]
      Io::UnixDatagram(s) => s,
      #[cfg(unix)]
      Io::PipeSender(s) => s,
      #[cfg(unix)]
      Io::PipeReceiver(s) => s,
      #[cfg(unix)]
      Io::Fd(s) => s,
      #[cfg(windows)]
      Io::NamedPipe(s) => s,
    }
  }
}

pub struct SourceEntry {
  pub io: Io,
  registered: Option<Weak<PollCore>>,
  /// Where a connecting stream connects to, for the error `takeError` gives.
  target: Option<std::net::SocketAddr>,
}

thread_local! {
  static SOURCES: RefCell<Table<SourceEntry>> = const { RefCell::new(Table::new()) };
}

pub fn insert(io: Io) -> Handle {
  insert_connecting(io, None)
}

/// Stores a stream whose connect to `target` is under way.
pub fn insert_connecting(io: Io, target: Option<std::net::SocketAddr>) -> Handle {
  SOURCES.with_borrow_mut(|sources| {
    sources.insert(SourceEntry {
      io,
      registered: None,
      target,
    })
  })
}

/// The address a stream was connecting to (see `insert_connecting`).
pub fn target(handle: Handle) -> Option<std::net::SocketAddr> {
  SOURCES.with_borrow(|sources| sources.get(handle).and_then(|entry| entry.target))
}

/// Runs `f` on the live source behind `handle`.
#[inline]
pub fn with<R>(env: &Env, handle: Handle, f: impl FnOnce(&Io) -> Result<R>) -> Result<R> {
  SOURCES.with_borrow(|sources| match sources.get(handle) {
    Some(entry) => f(&entry.io),
    None => Err(error::closed(env, "socket")),
  })
}

pub enum Op {
  Register(mio::Token, mio::Interest),
  Reregister(mio::Token, mio::Interest),
  Deregister,
}

/// Register, reregister or deregister `handle` with `registry`, whose `Poll`
/// is `core`, checking the registration state first (see the module docs).
pub fn registration(
  env: &Env,
  handle: Handle,
  registry: &mio::Registry,
  core: &Rc<PollCore>,
  op: Op,
) -> Result<()> {
  SOURCES.with_borrow_mut(|sources| {
    let entry = sources
      .get_mut(handle)
      .ok_or_else(|| error::closed(env, "socket"))?;
    let current = entry
      .registered
      .as_ref()
      .and_then(Weak::upgrade)
      .filter(|poll| poll.is_open());
    let same_poll = current.as_ref().map(|poll| Rc::ptr_eq(poll, core));
    let syscall = match op {
      Op::Register(..) => "register",
      Op::Reregister(..) => "reregister",
      Op::Deregister => "deregister",
    };
    let result = match (op, same_poll) {
      (Op::Register(..), Some(_)) => {
        return Err(error::system_kind(
          env,
          io::ErrorKind::AlreadyExists,
          syscall,
          "source is already registered with a Poll; deregister it first",
        ))
      }
      (Op::Reregister(..) | Op::Deregister, Some(false)) => {
        return Err(error::system_kind(
          env,
          io::ErrorKind::AlreadyExists,
          syscall,
          "source is registered with another Poll",
        ))
      }
      (Op::Reregister(..) | Op::Deregister, None) => {
        return Err(error::system_kind(
          env,
          io::ErrorKind::NotFound,
          syscall,
          "source is not registered",
        ))
      }
      (Op::Register(token, interest), None) => {
        let result = registry.register(entry.io.as_source(), token, interest);
        if result.is_ok() {
          entry.registered = Some(Rc::downgrade(core));
        }
        result
      }
      (Op::Reregister(token, interest), Some(true)) => {
        registry.reregister(entry.io.as_source(), token, interest)
      }
      (Op::Deregister, Some(true)) => {
        let result = registry.deregister(entry.io.as_source());
        if result.is_ok() {
          entry.registered = None;
        }
        result
      }
    };
    result.map_err(|e| error::system(env, &e, syscall, None))
  })
}

/// Takes the source out of the table, deregistered: closing its descriptor
/// (dropping it) is then all that is left, or handing it on (`detachFd`).
pub fn take(handle: Handle) -> Option<Io> {
  // Take it out first so nothing runs inside the table borrow.
  let mut entry = SOURCES.with_borrow_mut(|sources| sources.remove(handle))?;
  // Closing a descriptor removes it from epoll and kqueue, but a borrowed
  // one (`SourceFd`) or one handed on stays open: deregister explicitly.
  if let Some(core) = entry.registered.take().and_then(|poll| poll.upgrade()) {
    core.with_registry(|registry| {
      if let Some(registry) = registry {
        // Best effort: the source is going away either way.
        let _ = registry.deregister(entry.io.as_source());
      }
    });
  }
  Some(entry.io)
}

/// Closes (drops) the source, deregistering it. Returns `false` if it was
/// already closed.
#[napi]
pub fn source_close(handle: Handle) -> bool {
  take(handle).is_some()
}
