//! `Poll`: the selector (epoll, kqueue, IOCP) and the `poll` call.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use napi::sys;
use napi::Env;
use napi_derive::napi;

use crate::boundary::{guard, guard_raw};
use crate::error::{Error, Result};
use crate::events::{self, EVENTS_MAX_CAPACITY, EVENT_STRIDE};
use crate::handle::{Handle, Table, Tag};
use crate::napi_raw;

/// One mio `Poll` and what every `Registry` of it shares.
pub struct PollCore {
  /// `None` once the `Poll` is closed.
  poll: RefCell<Option<mio::Poll>>,
  /// Reused by every `poll` call; reallocated only when the capacity changes.
  events: RefCell<mio::Events>,
  /// Live `Registry.tryClone()` copies: each keeps the selector open.
  clones: Cell<u32>,
  /// mio allows one `Waker` per `Poll`, for the `Poll`'s whole life.
  pub has_waker: Cell<bool>,
  /// The active watch (see `watch/`), stopped when the `Poll` closes.
  pub watch: Cell<Option<Handle>>,
  /// While a polling thread holds the `mio::Poll` (the `thread` watch
  /// driver), registrations go through this clone.
  pub thread_registry: RefCell<Option<mio::Registry>>,
  /// Events a watch took from the OS and did not deliver before it stopped,
  /// as `(token, bits)` pairs: their readiness is consumed (edge-triggered),
  /// so the next poll or watch returns them first.
  pending: RefCell<VecDeque<f64>>,
  /// How many sources (and the `Waker`) are registered under each token.
  /// Events polled earlier and delivered later (a polling thread's queue,
  /// `pending`) are delivered only for a token that is registered now: a
  /// source reregistered under another token or deregistered meanwhile
  /// gets none of them, as the OS would give none after the change.
  tokens: RefCell<HashMap<usize, u32>>,
}

impl PollCore {
  /// Whether the selector is still open through the `Poll` or a clone.
  /// Registrations with a closed selector are gone.
  pub fn is_open(&self) -> bool {
    self.poll.borrow().is_some() || self.clones.get() > 0 || self.thread_registry.borrow().is_some()
  }

  /// Runs `f` with the registry of the `Poll` itself.
  pub fn with_registry<R>(&self, f: impl FnOnce(Option<&mio::Registry>) -> R) -> R {
    let thread_registry = self.thread_registry.borrow();
    if let Some(registry) = thread_registry.as_ref() {
      return f(Some(registry));
    }
    match self.poll.try_borrow() {
      Ok(poll) => f(poll.as_ref().map(mio::Poll::registry)),
      // Only a poll in progress holds it mutably; it never calls back here.
      Err(_) => f(None),
    }
  }

  /// The selector's descriptor (epoll or kqueue), while the `Poll` is open.
  /// mio's `poll(2)` selector has none.
  #[cfg(all(unix, not(mio_unsupported_force_poll_poll)))]
  pub fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
    use std::os::fd::AsRawFd;
    self
      .poll
      .try_borrow()
      .ok()?
      .as_ref()
      .map(|poll| poll.as_raw_fd())
  }

  /// Takes the `mio::Poll` out for a polling thread, leaving a registry.
  pub fn lend(&self) -> std::io::Result<Option<mio::Poll>> {
    let Some(poll) = self.poll.borrow_mut().take() else {
      return Ok(None);
    };
    match poll.registry().try_clone() {
      Ok(registry) => {
        *self.thread_registry.borrow_mut() = Some(registry);
        Ok(Some(poll))
      }
      Err(e) => {
        *self.poll.borrow_mut() = Some(poll);
        Err(e)
      }
    }
  }

  /// Takes back the `mio::Poll` a polling thread held.
  pub fn give_back(&self, poll: mio::Poll) {
    *self.poll.borrow_mut() = Some(poll);
    self.thread_registry.borrow_mut().take();
  }

  /// Forgets the `mio::Poll` a polling thread held and lost (the thread
  /// could not start): the `Poll` is closed.
  pub fn give_back_lost(&self) {
    self.thread_registry.borrow_mut().take();
  }

  /// A source (or the `Waker`) is now registered under `token`.
  pub fn token_added(&self, token: mio::Token) {
    if let Ok(mut tokens) = self.tokens.try_borrow_mut() {
      *tokens.entry(token.0).or_insert(0) += 1;
    }
  }

  /// A source registered under `token` no longer is.
  pub fn token_removed(&self, token: mio::Token) {
    if let Ok(mut tokens) = self.tokens.try_borrow_mut() {
      if let Some(count) = tokens.get_mut(&token.0) {
        *count -= 1;
        if *count == 0 {
          tokens.remove(&token.0);
        }
      }
    }
  }

  /// Whether a queued event's token (as JavaScript has it) is registered.
  pub fn has_token(&self, token: f64) -> bool {
    self
      .tokens
      .try_borrow()
      .map_or(true, |tokens| tokens.contains_key(&(token as usize)))
  }

  pub fn add_clone(&self) {
    self.clones.set(self.clones.get() + 1);
  }

  pub fn drop_clone(&self) {
    self.clones.set(self.clones.get().saturating_sub(1));
  }
}

thread_local! {
  static POLLS: RefCell<Table<Rc<PollCore>>> = const { RefCell::new(Table::new(Tag::Poll)) };
}

/// The shared core of a live `Poll`.
pub fn core(handle: Handle) -> Result<Rc<PollCore>> {
  POLLS.with_borrow(|polls| {
    polls
      .get(handle)
      .cloned()
      .ok_or_else(|| polls.missing(handle))
  })
}

/// `Poll::new()`.
#[napi]
pub fn poll_new(env: Env) -> napi::Result<Handle> {
  guard(&env, || {
    let poll = mio::Poll::new().map_err(|e| Error::system(&e, "poll_create"))?;
    let core = PollCore {
      poll: RefCell::new(Some(poll)),
      events: RefCell::new(mio::Events::with_capacity(0)),
      clones: Cell::new(0),
      has_waker: Cell::new(false),
      watch: Cell::new(None),
      thread_registry: RefCell::new(None),
      pending: RefCell::new(VecDeque::new()),
      tokens: RefCell::new(HashMap::new()),
    };
    POLLS.with_borrow_mut(|polls| polls.insert(Rc::new(core)))
  })
}

/// `pollPoll(handle, events, timeoutMs)`, a hot-path call (see `fast_call.rs`):
/// `Poll::poll(&mut events, timeout)` into the registered storage `events`
/// (see `events.rs`); returns the number of events. A negative `timeoutMs` blocks
/// until an event arrives. A signal that interrupts the wait ends it with no
/// events (mio returns `Interrupted`; an empty batch is what a caller retries
/// on anyway).
///
/// # Safety
/// Only Node-API calls this, with its own `env` and `info`.
pub unsafe extern "C" fn poll_poll(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  guard_raw(env, || {
    // SAFETY: `env` and `info` are this callback's.
    let ([handle, storage, timeout], _) = unsafe { napi_raw::args::<3>(env, info) };
    // SAFETY: the values are this call's arguments; reading numbers runs no
    // JavaScript.
    let (handle, storage, timeout) = unsafe {
      (
        napi_raw::get_number(env, handle, "handle")?,
        napi_raw::get_number(env, storage, "events")?,
        napi_raw::get_number(env, timeout, "timeout")?,
      )
    };
    let count = events::with_storage(env, storage, |out| poll_into(env, handle, out, timeout))?;
    napi_raw::uint32(env, count).ok_or(Error::Pending)
  })
}

fn poll_into(env: sys::napi_env, handle: Handle, out: &mut [f64], timeout_ms: f64) -> Result<u32> {
  let timeout = timeout_from_ms(timeout_ms)?;
  let core = core(handle)?;
  if core.watch.get().is_some() {
    return Err(busy(
      "this Poll is watched (the watch takes its events): stop the watch first",
    ));
  }
  let kept = take_pending(&core, out);
  if kept > 0 {
    return Ok(kept);
  }
  poll_mio(&core, out, timeout, Some(env))
}

/// What a watch takes when its `Poll` is ready: kept events first, else a
/// zero-timeout poll (see `watch/`).
pub fn poll_now(core: &PollCore, out: &mut [f64]) -> Result<u32> {
  let kept = take_pending(core, out);
  if kept > 0 {
    return Ok(kept);
  }
  poll_mio(core, out, Some(Duration::ZERO), None)
}

/// Moves events a stopped watch left into `out`, those of tokens still
/// registered; how many.
pub fn take_pending(core: &PollCore, out: &mut [f64]) -> u32 {
  let Ok(mut pending) = core.pending.try_borrow_mut() else {
    return 0;
  };
  take_registered(core, &mut pending, out)
}

/// Moves queued `(token, bits)` events into `out` until it is full or the
/// queue is empty, dropping those whose token is no longer registered (see
/// `PollCore::tokens`); how many it moved.
pub fn take_registered(core: &PollCore, queue: &mut VecDeque<f64>, out: &mut [f64]) -> u32 {
  let mut count = 0;
  for slot in out.chunks_exact_mut(EVENT_STRIDE as usize) {
    let event = loop {
      match (queue.pop_front(), queue.pop_front()) {
        (Some(token), Some(bits)) if core.has_token(token) => break Some((token, bits)),
        (Some(_), Some(_)) => continue,
        _ => break None,
      }
    };
    let Some((token, bits)) = event else { break };
    if let [slot_token, slot_bits] = slot {
      *slot_token = token;
      *slot_bits = bits;
      count += 1;
    }
  }
  count
}

/// Keeps events a stopped watch took and did not deliver (see `pending`).
pub fn keep_pending(core: &PollCore, left: VecDeque<f64>) {
  if let Ok(mut pending) = core.pending.try_borrow_mut() {
    pending.extend(left);
  }
}

/// `mio::Poll::poll` into `out`. With `env`, a long wait is cut into slices
/// so a terminated worker is noticed.
fn poll_mio(
  core: &PollCore,
  out: &mut [f64],
  timeout: Option<Duration>,
  env: Option<sys::napi_env>,
) -> Result<u32> {
  let capacity = (out.len() / EVENT_STRIDE as usize).min(EVENTS_MAX_CAPACITY as usize);
  let mut poll = core
    .poll
    .try_borrow_mut()
    .map_err(|_| busy("this Poll is already being polled"))?;
  let poll = poll.as_mut().ok_or_else(|| Error::closed("Poll"))?;
  let mut batch = core
    .events
    .try_borrow_mut()
    .map_err(|_| busy("this Poll is already being polled"))?;
  if batch.capacity() != capacity {
    *batch = mio::Events::with_capacity(capacity);
  }
  if timeout.is_some_and(|t| t <= SLICE) || env.is_none() {
    return match poll.poll(&mut batch, timeout) {
      Ok(()) => Ok(events::fill(&batch, out)),
      Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
      Err(e) => Err(Error::system(&e, "poll")),
    };
  }
  // A long wait is cut into slices: between them the environment is asked
  // whether it is being torn down (a worker terminated while blocked here),
  // since nothing else can interrupt the system call.
  let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
  loop {
    let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    let last = remaining.is_some_and(|r| r <= SLICE);
    match poll.poll(&mut batch, Some(remaining.map_or(SLICE, |r| r.min(SLICE)))) {
      Ok(()) if !batch.is_empty() || last => return Ok(events::fill(&batch, out)),
      Ok(()) => {}
      Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(0),
      Err(e) => return Err(Error::system(&e, "poll")),
    }
    if env.is_some_and(napi_raw::env_stopping) {
      return Ok(0);
    }
  }
}

fn busy(message: &str) -> Error {
  Error::system_kind(io::ErrorKind::ResourceBusy, "poll", message)
}

/// The longest single wait of a blocking `poll` (see `poll_into`).
const SLICE: Duration = Duration::from_millis(100);

fn timeout_from_ms(ms: f64) -> Result<Option<Duration>> {
  if ms.is_nan() {
    return Err(Error::out_of_range("timeout must not be NaN"));
  }
  if ms < 0.0 || ms == f64::INFINITY {
    return Ok(None);
  }
  // Beyond what a Duration holds is as good as forever.
  Ok(Duration::try_from_secs_f64(ms / 1000.0).ok())
}

/// A `Registry` handle for this `Poll` (`poll.registry()`).
#[napi]
pub fn poll_registry(env: Env, handle: Handle) -> napi::Result<Handle> {
  guard(&env, || crate::registry::insert(core(handle)?, None))
}

/// Closes the selector. Returns `false` if it was already closed.
#[napi]
pub fn poll_close(env: Env, handle: Handle) -> napi::Result<bool> {
  guard(&env, || close(handle))
}

fn close(handle: Handle) -> Result<bool> {
  let removed = POLLS.with_borrow_mut(|polls| match polls.remove(handle) {
    Some(core) => Ok(Some(core)),
    None => polls.stale(handle).map(|()| None),
  })?;
  Ok(match removed {
    Some(core) => {
      if let Some(watch) = core.watch.get() {
        crate::watch::stop(watch);
      }
      if let Ok(mut poll) = core.poll.try_borrow_mut() {
        poll.take();
      }
      true
    }
    None => false,
  })
}
