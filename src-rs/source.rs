//! `event::Source`: every I/O object the binding owns, and its registration.
//!
//! mio leaves double registration "unspecified" (epoll and kqueue differ, and
//! debug builds differ from release). The binding tracks each source's
//! registration itself so every OS and build answers the same way:
//! registering a registered source is `EEXIST`, reregistering or
//! deregistering one that is not registered (with this `Poll`) is `ENOENT`,
//! and touching a source registered with another `Poll` is `EEXIST`.
//!
//! What each kind of source can do is written once, here ([`Kind`] and the
//! accessors of [`Io`]); the operations (`stream.rs`, `net/`) ask for a
//! capability instead of matching every kind.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io;
use std::rc::{Rc, Weak};
use std::sync::{Mutex, MutexGuard};

use napi::Env;
use napi_derive::napi;

use crate::boundary::guard;
use crate::error::{Error, Result};
use crate::handle::{Handle, Table, Tag};
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

/// What kind of object a source is (every platform's, so the names and
/// capabilities read the same everywhere; Windows constructs fewer).
#[cfg_attr(windows, allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
  TcpListener,
  TcpStream,
  UdpSocket,
  UnixListener,
  UnixStream,
  UnixDatagram,
  PipeSender,
  PipeReceiver,
  Fd,
  NamedPipe,
}

#[cfg_attr(windows, allow(dead_code))]
impl Kind {
  const ALL: [Kind; 10] = [
    Kind::TcpListener,
    Kind::TcpStream,
    Kind::UdpSocket,
    Kind::UnixListener,
    Kind::UnixStream,
    Kind::UnixDatagram,
    Kind::PipeSender,
    Kind::PipeReceiver,
    Kind::Fd,
    Kind::NamedPipe,
  ];

  /// The wrapper's class name.
  pub fn name(self) -> &'static str {
    match self {
      Kind::TcpListener => "TcpListener",
      Kind::TcpStream => "TcpStream",
      Kind::UdpSocket => "UdpSocket",
      Kind::UnixListener => "UnixListener",
      Kind::UnixStream => "UnixStream",
      Kind::UnixDatagram => "UnixDatagram",
      Kind::PipeSender => "PipeSender",
      Kind::PipeReceiver => "PipeReceiver",
      Kind::Fd => "SourceFd",
      Kind::NamedPipe => "NamedPipe",
    }
  }

  /// The kind a class name names.
  pub fn parse(name: &str) -> Option<Kind> {
    Kind::ALL.into_iter().find(|kind| kind.name() == name)
  }

  /// A byte stream one can read.
  pub fn reads(self) -> bool {
    matches!(
      self,
      Kind::TcpStream | Kind::UnixStream | Kind::PipeReceiver | Kind::Fd | Kind::NamedPipe
    )
  }

  /// A byte stream one can write.
  pub fn writes(self) -> bool {
    matches!(
      self,
      Kind::TcpStream | Kind::UnixStream | Kind::PipeSender | Kind::Fd | Kind::NamedPipe
    )
  }

  /// A socket (`recv`/`send`, socket options); the rest are files (`read`/`write`).
  pub fn is_socket(self) -> bool {
    matches!(
      self,
      Kind::TcpListener
        | Kind::TcpStream
        | Kind::UdpSocket
        | Kind::UnixListener
        | Kind::UnixStream
        | Kind::UnixDatagram
    )
  }

  /// An IP socket (TCP or UDP).
  pub fn is_ip(self) -> bool {
    matches!(self, Kind::TcpListener | Kind::TcpStream | Kind::UdpSocket)
  }
}

/// The OS name of a source: a descriptor on Unix, a socket on Windows.
#[cfg(unix)]
pub type Raw = std::os::fd::RawFd;
#[cfg(windows)]
pub type Raw = std::os::windows::io::RawSocket;

impl Io {
  pub fn kind(&self) -> Kind {
    match self {
      Io::TcpListener(_) => Kind::TcpListener,
      Io::TcpStream(_) => Kind::TcpStream,
      Io::UdpSocket(_) => Kind::UdpSocket,
      #[cfg(unix)]
      Io::UnixListener(_) => Kind::UnixListener,
      #[cfg(unix)]
      Io::UnixStream(_) => Kind::UnixStream,
      #[cfg(unix)]
      Io::UnixDatagram(_) => Kind::UnixDatagram,
      #[cfg(unix)]
      Io::PipeSender(_) => Kind::PipeSender,
      #[cfg(unix)]
      Io::PipeReceiver(_) => Kind::PipeReceiver,
      #[cfg(unix)]
      Io::Fd(_) => Kind::Fd,
      #[cfg(windows)]
      Io::NamedPipe(_) => Kind::NamedPipe,
    }
  }

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

  /// The descriptor (Unix) or socket (Windows); `None` for a Windows named
  /// pipe, which has neither.
  pub fn raw(&self) -> Option<Raw> {
    #[cfg(unix)]
    use std::os::fd::AsRawFd as AsRaw;
    #[cfg(windows)]
    use std::os::windows::io::AsRawSocket as AsRaw;
    #[cfg(unix)]
    fn raw_of(source: &impl AsRaw) -> Raw {
      source.as_raw_fd()
    }
    #[cfg(windows)]
    fn raw_of(source: &impl AsRaw) -> Raw {
      source.as_raw_socket()
    }
    Some(match self {
      Io::TcpListener(s) => raw_of(s),
      Io::TcpStream(s) => raw_of(s),
      Io::UdpSocket(s) => raw_of(s),
      #[cfg(unix)]
      Io::UnixListener(s) => raw_of(s),
      #[cfg(unix)]
      Io::UnixStream(s) => raw_of(s),
      #[cfg(unix)]
      Io::UnixDatagram(s) => raw_of(s),
      #[cfg(unix)]
      Io::PipeSender(s) => raw_of(s),
      #[cfg(unix)]
      Io::PipeReceiver(s) => raw_of(s),
      #[cfg(unix)]
      Io::Fd(fd) => fd.0,
      #[cfg(windows)]
      Io::NamedPipe(_) => return None,
    })
  }

  /// Runs a system call `op` on the source's descriptor the way mio's
  /// `try_io` does: a `WouldBlock` re-arms readiness where the selector
  /// needs it (Windows, the `poll(2)` selector). `None` for a source with no
  /// descriptor (a Windows named pipe).
  pub fn try_io<T>(&self, op: impl FnOnce(Raw) -> io::Result<T>) -> Option<io::Result<T>> {
    let raw = self.raw()?;
    Some(match self {
      Io::TcpStream(s) => s.try_io(|| op(raw)),
      Io::UdpSocket(s) => s.try_io(|| op(raw)),
      #[cfg(unix)]
      Io::UnixStream(s) => s.try_io(|| op(raw)),
      #[cfg(unix)]
      Io::UnixDatagram(s) => s.try_io(|| op(raw)),
      #[cfg(unix)]
      Io::PipeSender(s) => s.try_io(|| op(raw)),
      #[cfg(unix)]
      Io::PipeReceiver(s) => s.try_io(|| op(raw)),
      // Listeners accept through mio; a `SourceFd` is the program's own
      // descriptor, which mio does not wrap either.
      _ => op(raw),
    })
  }

  /// The socket, for socket2's options and addresses; `None` for pipes,
  /// descriptors and named pipes.
  pub fn sock_ref(&self) -> Option<socket2::SockRef<'_>> {
    use socket2::SockRef;
    Some(match self {
      Io::TcpListener(s) => SockRef::from(s),
      Io::TcpStream(s) => SockRef::from(s),
      Io::UdpSocket(s) => SockRef::from(s),
      #[cfg(unix)]
      Io::UnixListener(s) => SockRef::from(s),
      #[cfg(unix)]
      Io::UnixStream(s) => SockRef::from(s),
      #[cfg(unix)]
      Io::UnixDatagram(s) => SockRef::from(s),
      _ => return None,
    })
  }
}

/// The descriptors (Unix) or sockets (Windows) the sources of every thread
/// own, with the owner's kind and how many sources claim the number (more
/// than one only after a program closed a source's descriptor behind its
/// back and the OS gave the number out again).
type Owners = BTreeMap<i64, (Kind, u32)>;

/// The process's [`Owners`]. Every change is one insert or update, so a
/// poisoned lock is taken over.
fn owners() -> MutexGuard<'static, Owners> {
  static OWNERS: Mutex<Owners> = Mutex::new(BTreeMap::new());
  OWNERS
    .lock()
    .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A source's claim on its descriptor, dropped after the descriptor is
/// closed or handed over (it is declared after `io` wherever both are
/// fields, so it drops second): while it lives, `fromFd` of that number is
/// refused, so no two sources own one descriptor.
pub struct Owner(i64);

impl Owner {
  /// Records that a new source of `kind` owns `raw` (fresh from the OS).
  fn new(raw: Raw, kind: Kind) -> Owner {
    let key = raw as i64;
    owners()
      .entry(key)
      .and_modify(|(owner, count)| {
        *owner = kind;
        *count += 1;
      })
      .or_insert((kind, 1));
    Owner(key)
  }

  /// Claims `raw` for a source of `kind` adopting it (`fromFd`), unless a
  /// live source already owns it.
  #[cfg(unix)]
  pub fn claim(raw: Raw, kind: Kind) -> Result<Owner> {
    let key = raw as i64;
    let mut owners = owners();
    if let Some((owner, _)) = owners.get(&key) {
      return Err(Error::Coded {
        class: crate::error::Class::Error,
        code: "ERR_MIO_FD_OWNED",
        message: format!(
          "descriptor {raw} is owned by a live {}: a descriptor has one owner (hand it over with detachFd())",
          owner.name()
        ),
      });
    }
    owners.insert(key, (kind, 1));
    Ok(Owner(key))
  }
}

impl Drop for Owner {
  fn drop(&mut self) {
    let mut owners = owners();
    if let Some((_, count)) = owners.get_mut(&self.0) {
      *count -= 1;
      if *count == 0 {
        owners.remove(&self.0);
      }
    }
  }
}

/// A source taken out of its table (closed or being handed over): the I/O
/// object, then its claim on the descriptor, dropped in that order.
pub struct Taken {
  #[cfg_attr(
    windows,
    expect(
      dead_code,
      reason = "handed over by detachFd, Unix only; elsewhere only closed"
    )
  )]
  pub io: Io,
  _owner: Option<Owner>,
}

pub struct SourceEntry {
  pub io: Io,
  registered: Option<Weak<PollCore>>,
  /// The token it is registered under (with `registered`).
  token: Option<mio::Token>,
  /// Where a connecting stream connects to, for the error `takeError` gives.
  target: Option<std::net::SocketAddr>,
  /// The `SO_ERROR` code `takeError()` or a read already reported, so it is
  /// reported once on every OS: Wine never clears `SO_ERROR` (not by
  /// reading it, not by setting it to 0; `scripts/cross/winsock-probe.c`).
  /// Unused on Unix, where reading `SO_ERROR` clears it.
  reported_error: Cell<Option<i32>>,
  /// The claim on the descriptor (none for a `SourceFd`, which borrows it).
  /// Declared after `io`, so dropped after the descriptor is closed.
  owner: Option<Owner>,
}

impl SourceEntry {
  /// Records that the source is registered with no Poll (and frees its
  /// token on `core`, the Poll it was registered with).
  fn forget_registration(&mut self, core: &PollCore) {
    self.registered = None;
    if let Some(old) = self.token.take() {
      core.token_removed(old);
    }
  }
}

thread_local! {
  static SOURCES: RefCell<Table<SourceEntry>> = const { RefCell::new(Table::new(Tag::Source)) };
}

/// Stores a new source. If there is no handle to give it, it is closed and
/// the error returned.
pub fn insert(io: Io) -> Result<Handle> {
  insert_entry(io, None, None)
}

/// Stores a stream whose connect to `target` is under way.
pub fn insert_connecting(io: Io, target: Option<std::net::SocketAddr>) -> Result<Handle> {
  insert_entry(io, target, None)
}

/// Stores a source adopted with `owner` already claimed (`fromFd`).
#[cfg(unix)]
pub fn insert_claimed(io: Io, owner: Owner) -> Result<Handle> {
  insert_entry(io, None, Some(owner))
}

/// Stores two new sources (a pair, a pipe): both, or neither (closed).
#[cfg(unix)]
pub fn insert_pair(a: Io, b: Io) -> Result<(Handle, Handle)> {
  let first = insert(a)?;
  match insert(b) {
    Ok(second) => Ok((first, second)),
    Err(error) => {
      drop(take(first));
      Err(error)
    }
  }
}

fn insert_entry(
  io: Io,
  target: Option<std::net::SocketAddr>,
  owner: Option<Owner>,
) -> Result<Handle> {
  let owner = owner.or_else(|| match (io.kind(), io.raw()) {
    (Kind::Fd, _) | (_, None) => None,
    (kind, Some(raw)) => Some(Owner::new(raw, kind)),
  });
  SOURCES.with_borrow_mut(|sources| {
    sources.insert(SourceEntry {
      io,
      registered: None,
      token: None,
      target,
      reported_error: Cell::new(None),
      owner,
    })
  })
}

/// The address a stream was connecting to (see `insert_connecting`).
pub fn target(handle: Handle) -> Option<std::net::SocketAddr> {
  SOURCES.with_borrow(|sources| sources.get(handle).and_then(|entry| entry.target))
}

/// Runs `f` on the live source behind `handle`. `f` runs inside the table's
/// borrow: it must not call JavaScript (nothing in the binding's operations
/// does; errors are values until the boundary).
#[inline]
pub fn with<R>(handle: Handle, f: impl FnOnce(&Io) -> Result<R>) -> Result<R> {
  SOURCES.with_borrow(|sources| match sources.get(handle) {
    Some(entry) => f(&entry.io),
    None => Err(sources.missing(handle)),
  })
}

/// Like [`with`], also handing over the record of the socket error already
/// reported (see `SourceEntry::reported_error`).
#[inline]
pub fn with_reported<R>(
  handle: Handle,
  f: impl FnOnce(&Io, &Cell<Option<i32>>) -> Result<R>,
) -> Result<R> {
  SOURCES.with_borrow(|sources| match sources.get(handle) {
    Some(entry) => f(&entry.io, &entry.reported_error),
    None => Err(sources.missing(handle)),
  })
}

/// Like [`with`], for a source that must have the capability `can`
/// (`Kind::reads`, say); otherwise a `TypeError` naming `expected`.
#[inline]
pub fn with_kind<R>(
  handle: Handle,
  can: impl FnOnce(Kind) -> bool,
  expected: &str,
  f: impl FnOnce(&Io) -> Result<R>,
) -> Result<R> {
  with(handle, |io| {
    if can(io.kind()) {
      f(io)
    } else {
      Err(Error::wrong_kind(expected))
    }
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
  handle: Handle,
  registry: &mio::Registry,
  core: &Rc<PollCore>,
  op: Op,
) -> Result<()> {
  SOURCES.with_borrow_mut(|sources| {
    if sources.get(handle).is_none() {
      return Err(sources.missing(handle));
    }
    let Some(entry) = sources.get_mut(handle) else {
      return Err(Error::closed("socket"));
    };
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
        return Err(Error::system_kind(
          io::ErrorKind::AlreadyExists,
          syscall,
          "source is already registered with a Poll; deregister it first",
        ))
      }
      (Op::Reregister(..) | Op::Deregister, Some(false)) => {
        return Err(Error::system_kind(
          io::ErrorKind::AlreadyExists,
          syscall,
          "source is registered with another Poll",
        ))
      }
      (Op::Reregister(..) | Op::Deregister, None) => {
        return Err(Error::system_kind(
          io::ErrorKind::NotFound,
          syscall,
          "source is not registered",
        ))
      }
      (Op::Register(token, interest), None) => {
        // (A closed Poll's tokens no longer matter.)
        entry.token = None;
        let stale = entry.registered.take().is_some();
        if stale {
          // Registered with a Poll that has closed since. The OS forgot the
          // registration with that Poll's selector, but mio may not have:
          // on Windows a socket's `IoSourceState` keeps the old selector's
          // state, so a new register would be `AlreadyExists`.
          // Deregistering clears mio's side; it may fail (epoll and kqueue
          // say `ENOENT`: the new selector never knew the source), which is
          // the expected outcome.
          let _ = registry.deregister(entry.io.as_source());
        }
        let mut result = registry.register(entry.io.as_source(), token, interest);
        if stale && matches!(&result, Err(e) if e.kind() == io::ErrorKind::AlreadyExists) {
          // mio's debug builds also remember the old selector's id and
          // refuse the deregister above before clearing the state; the
          // failed register associated the new selector, so now the
          // deregister clears both.
          let _ = registry.deregister(entry.io.as_source());
          result = registry.register(entry.io.as_source(), token, interest);
        }
        if result.is_ok() {
          entry.registered = Some(Rc::downgrade(core));
          entry.token = Some(token);
          core.token_added(token);
        }
        result
      }
      (Op::Reregister(token, interest), Some(true)) => {
        let result = registry.reregister(entry.io.as_source(), token, interest);
        if result.is_ok() {
          if let Some(old) = entry.token.replace(token) {
            core.token_removed(old);
          }
          core.token_added(token);
        } else if matches!(&result, Err(e) if e.kind() == io::ErrorKind::NotFound) {
          // The selector forgot the source by itself (mio's poll(2)
          // selector drops one that reported a hang-up or an error): it
          // is not registered, so a register must work again.
          entry.forget_registration(core);
        }
        result
      }
      (Op::Deregister, Some(true)) => {
        match registry.deregister(entry.io.as_source()) {
          Ok(()) => {
            entry.forget_registration(core);
            Ok(())
          }
          // Forgotten by the selector already (as above): not registered,
          // which is what a deregister asks for.
          Err(e) if e.kind() == io::ErrorKind::NotFound => {
            entry.forget_registration(core);
            Ok(())
          }
          Err(e) => Err(e),
        }
      }
    };
    result.map_err(|e| registration_error(&e, syscall))
  })
}

/// A failed registration as a system error, with the reason epoll gives
/// `EPERM` (mio's `register` of a regular file or a directory).
fn registration_error(e: &io::Error, syscall: &'static str) -> Error {
  let error = Error::system(e, syscall);
  #[cfg(any(target_os = "linux", target_os = "android"))]
  if e.raw_os_error() == Some(libc::EPERM) {
    return error.hint(
      "epoll cannot watch regular files or directories: they are always ready, so read them without a Poll",
    );
  }
  error
}

/// Takes the source out of the table, deregistered: closing its descriptor
/// (dropping it) is then all that is left, or handing it on (`detachFd`).
/// `None` for a closed source; an error for a handle that is not a socket's
/// of this thread.
pub fn take(handle: Handle) -> Result<Option<Taken>> {
  // Take it out first so nothing runs inside the table borrow.
  let removed = SOURCES.with_borrow_mut(|sources| match sources.remove(handle) {
    Some(entry) => Ok(Some(entry)),
    None => sources.stale(handle).map(|()| None),
  })?;
  let Some(mut entry) = removed else {
    return Ok(None);
  };
  // Closing a descriptor removes it from epoll and kqueue, but a borrowed
  // one (`SourceFd`) or one handed on stays open: deregister explicitly.
  if let Some(core) = entry.registered.take().and_then(|poll| poll.upgrade()) {
    if let Some(token) = entry.token.take() {
      core.token_removed(token);
    }
    core.with_registry(|registry| {
      if let Some(registry) = registry {
        // Best effort: the source is going away either way.
        let _ = registry.deregister(entry.io.as_source());
      }
    });
  }
  Ok(Some(Taken {
    io: entry.io,
    _owner: entry.owner,
  }))
}

/// Closes (drops) the source, deregistering it. Returns `false` if it was
/// already closed.
#[napi]
pub fn source_close(env: Env, handle: Handle) -> napi::Result<bool> {
  guard(&env, || Ok(take(handle)?.is_some()))
}

/// A result that carries new sources to JavaScript (`accept`, a pair, a
/// pipe): if it cannot be built, the sources are closed before the error
/// propagates, so none is left in the table with no object to close it.
/// The value's fields are defined, never assigned: building it runs no
/// setter a program put on `Object.prototype`.
pub struct Fresh<T> {
  pub value: T,
  pub sources: [Handle; 2],
}

impl<T> Fresh<T> {
  pub fn one(value: T, source: Handle) -> Self {
    Fresh {
      value,
      sources: [source, 0.0],
    }
  }
}

impl<T: napi::bindgen_prelude::ToNapiValue> napi::bindgen_prelude::ToNapiValue for Fresh<T> {
  unsafe fn to_napi_value(
    env: napi::sys::napi_env,
    val: Self,
  ) -> napi::Result<napi::sys::napi_value> {
    // SAFETY: forwarded with the caller's `env`.
    let result = unsafe { T::to_napi_value(env, val.value) };
    if result.is_err() {
      for handle in val.sources {
        if handle != 0.0 {
          drop(take(handle));
        }
      }
    }
    result
  }
}

impl<T: napi::bindgen_prelude::TypeName> napi::bindgen_prelude::TypeName for Fresh<T> {
  fn type_name() -> &'static str {
    T::type_name()
  }

  fn value_type() -> napi::ValueType {
    T::value_type()
  }
}

/// Two new sources' handles (a pair, a pipe), as an object whose fields
/// are defined (not an array, whose elements are assigned through
/// `Array.prototype`).
#[cfg(unix)]
#[napi(object)]
pub struct HandlePair {
  pub first: Handle,
  pub second: Handle,
}

/// Stores a pair of new sources and returns their handles for JavaScript.
#[cfg(unix)]
pub fn fresh_pair(a: Io, b: Io) -> Result<Fresh<HandlePair>> {
  let (first, second) = insert_pair(a, b)?;
  Ok(Fresh {
    value: HandlePair { first, second },
    sources: [first, second],
  })
}
