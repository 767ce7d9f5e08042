//! The `thread` watch driver: a polling thread.
//!
//! For where libuv cannot watch the selector: Windows (IOCP has no pollable
//! descriptor), the `poll(2)` selector (no descriptor at all), and runtimes
//! whose libuv cannot watch a descriptor (Bun, Deno). Available everywhere.
//!
//! The thread borrows the `mio::Poll` (registrations go through a registry
//! clone meanwhile), blocks in `poll(None)`, appends each batch to a shared
//! queue as `(token, bits)` pairs (the layout of `Events`) and signals
//! JavaScript through a threadsafe function unless a signal is pending;
//! JavaScript takes the queue into its `Events` (`Watch::take`). Each
//! event's readiness was consumed by the thread's poll (edge-triggered), so
//! none may be dropped: stopping hands whatever is still queued to the
//! `Poll`, whose next poll returns it. To stop, the JS thread sets a flag and
//! sends one datagram to a loopback UDP socket the thread has registered
//! under a token JavaScript can never use (above 2^53), so a user's `Waker`
//! is left alone (mio allows one per `Poll`); then it joins the thread and
//! gives the `Poll` back.

use std::cell::Cell;
use std::collections::VecDeque;
use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use napi::bindgen_prelude::Function;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{sys, Env, Status};

use crate::boundary;
use crate::error::{Error, Result};
use crate::events;
use crate::handle::Handle;
use crate::napi_raw;
use crate::poll::{self, PollCore};

/// The stop datagram's token: beyond any token JavaScript can register.
const STOP: mio::Token = mio::Token(usize::MAX);

type Signal = ThreadsafeFunction<(), (), (), Status, false, false, 0>;

/// Events polled by the thread and not yet taken by JavaScript.
type Queue = Arc<Mutex<VecDeque<f64>>>;

/// The queue, whatever panicked while it was locked: each change is a push
/// or a drain of whole events, so it is always consistent.
fn lock(queue: &Mutex<VecDeque<f64>>) -> MutexGuard<'_, VecDeque<f64>> {
  queue
    .lock()
    .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A running `thread` watch.
pub struct Watch {
  stop: Arc<AtomicBool>,
  /// Sends the stop datagram.
  trigger: UdpSocket,
  target: SocketAddr,
  thread: Option<JoinHandle<mio::Poll>>,
  queue: Queue,
  signal: Arc<Signal>,
  env: sys::napi_env,
  /// The watch's handle in `super::WATCHES`, once attached (the cleanup
  /// hook's argument).
  id: Cell<Option<Handle>>,
}

/// Starts a polling thread for `poll`, `capacity` events per poll.
pub fn start(
  env: &Env,
  poll: Handle,
  capacity: usize,
  on_ready: Function<(), ()>,
) -> Result<Watch> {
  // First what may run JavaScript (a threadsafe function is an async
  // resource: async hooks run): the Poll's state is read only after.
  // Set by the thread when it signals, cleared on the JS thread just before
  // the callback runs: the next batch signals again even if the callback
  // threw before taking everything (otherwise the queue would stay
  // non-empty and the watch silent for good).
  let signaled = Arc::new(AtomicBool::new(false));
  let signal: Arc<Signal> = Arc::new({
    let signaled = signaled.clone();
    on_ready
      .build_threadsafe_function::<()>()
      .build_callback(move |_| {
        signaled.store(false, Ordering::Release);
        Ok(())
      })?
  });
  let core: Rc<PollCore> = poll::core(poll)?;
  super::check_unwatched(&core)?;
  let fail = |e: io::Error, syscall: &'static str| Error::system(&e, syscall);
  let localhost = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
  let std_wake = UdpSocket::bind(localhost).map_err(|e| fail(e, "bind"))?;
  std_wake
    .set_nonblocking(true)
    .map_err(|e| fail(e, "fcntl"))?;
  let target = std_wake.local_addr().map_err(|e| fail(e, "getsockname"))?;
  let trigger = UdpSocket::bind(localhost).map_err(|e| fail(e, "bind"))?;
  let mut wake = mio::net::UdpSocket::from_std(std_wake);
  let queue: Queue = Arc::default();

  let mio_poll = core
    .lend()
    .map_err(|e| fail(e, "dup"))?
    .ok_or_else(|| Error::closed("Poll"))?;
  if let Err(e) = mio_poll
    .registry()
    .register(&mut wake, STOP, mio::Interest::READABLE)
  {
    core.give_back(mio_poll);
    return Err(fail(e, "register"));
  }
  let stop = Arc::new(AtomicBool::new(false));
  let thread = {
    let stop = stop.clone();
    let signal = signal.clone();
    let queue = queue.clone();
    std::thread::Builder::new()
      .name("node-mio watch".into())
      .spawn(move || run(mio_poll, wake, capacity, &stop, &queue, &signal, &signaled))
  };
  let thread = match thread {
    Ok(thread) => thread,
    Err(e) => {
      // The closure (and the Poll it held) is gone with the failed spawn:
      // the Poll is closed.
      core.give_back_lost();
      return Err(fail(e, "thread"));
    }
  };
  Ok(Watch {
    stop,
    trigger,
    target,
    thread: Some(thread),
    queue,
    signal,
    env: env.raw(),
    id: Cell::new(None),
  })
}

/// The polling thread: returns the `Poll` when told to stop (or when
/// JavaScript can no longer be called). Every event it polls goes to the
/// queue, the last batch included.
fn run(
  mut poll: mio::Poll,
  mut wake: mio::net::UdpSocket,
  capacity: usize,
  stop: &AtomicBool,
  queue: &Mutex<VecDeque<f64>>,
  signal: &Signal,
  signaled: &AtomicBool,
) -> mio::Poll {
  let mut batch = mio::Events::with_capacity(capacity);
  let mut drain = [0u8; 16];
  loop {
    match poll.poll(&mut batch, None) {
      Ok(()) => {}
      Err(e) if e.kind() == ErrorKind::Interrupted => continue,
      // A selector error ends the thread (it would repeat forever).
      Err(_) => break,
    }
    let added = {
      let mut queued = lock(queue);
      let before = queued.len();
      for event in batch.iter() {
        if event.token() == STOP {
          while wake.recv(&mut drain).is_ok() {}
          continue;
        }
        queued.push_back(crate::token::to_js(event.token()));
        queued.push_back(f64::from(events::bits(event)));
      }
      queued.len() > before
    };
    if stop.load(Ordering::Acquire) {
      break;
    }
    // One signal at a time: JavaScript takes until the queue is empty, and
    // a batch that arrives once the callback has started signals again.
    if added
      && !signaled.swap(true, Ordering::AcqRel)
      && signal.call((), ThreadsafeFunctionCallMode::NonBlocking) != Status::Ok
    {
      // The environment is going away.
      break;
    }
  }
  let _ = poll.registry().deregister(&mut wake);
  poll
}

impl Watch {
  /// Records the watch's handle and registers the environment cleanup hook
  /// that ends the thread if the environment goes first.
  pub fn attach(&self, _env: &Env, id: Handle) {
    self.id.set(Some(id));
    // SAFETY: the argument is the handle's bits, not a pointer; the hook is
    // removed in `stop`, and `teardown` runs only from the hook itself.
    unsafe { napi_raw::add_cleanup_hook(self.env, on_env_teardown, id.to_bits() as *mut _) };
  }

  /// Moves up to `out.len() / 2` queued events into `out`, those of tokens
  /// `core` still has registered (see `PollCore::tokens`); how many.
  pub fn take(&self, core: &PollCore, out: &mut [f64]) -> u32 {
    poll::take_registered(core, &mut lock(&self.queue), out)
  }

  /// Tells the thread to stop, wakes it and waits for it: its `Poll`.
  fn join(&mut self) -> Option<mio::Poll> {
    self.stop.store(true, Ordering::Release);
    // The thread wakes on this datagram; a lost one is retried below.
    let _ = self.trigger.send_to(&[1], self.target);
    let thread = self.thread.take()?;
    while !thread.is_finished() {
      std::thread::sleep(Duration::from_millis(1));
      let _ = self.trigger.send_to(&[1], self.target);
    }
    thread.join().ok()
  }

  /// Stops the thread and gives its `Poll` back to `core` (if the `Poll` is
  /// still open). Returns the events still queued, for the `Poll` to keep.
  pub fn stop(mut self, core: Option<&PollCore>) -> VecDeque<f64> {
    let poll = self.join();
    match (poll, core) {
      (Some(poll), Some(core)) => core.give_back(poll),
      // The thread is gone without its Poll: the Poll is closed.
      (None, Some(core)) => core.give_back_lost(),
      _ => {}
    }
    if let Some(id) = self.id.get() {
      // SAFETY: the hook was added with these arguments on this env.
      unsafe { napi_raw::remove_cleanup_hook(self.env, on_env_teardown, id.to_bits() as *mut _) };
    }
    // Dropping the last reference releases the threadsafe function; a signal
    // still queued finds nothing to take.
    std::mem::take(&mut *lock(&self.queue))
  }

  /// Ends the thread for environment teardown (from the cleanup hook):
  /// there is no JavaScript left to give anything to.
  pub fn teardown(mut self) {
    drop(self.join());
  }

  /// `ref()` / `unref()` of the threadsafe function.
  pub fn set_ref(&self, keep_alive: bool) -> Result<()> {
    // SAFETY: the threadsafe function is alive (held by `signal`) and this
    // is its env's thread.
    unsafe { napi_raw::ref_threadsafe_function(self.env, self.signal.raw(), keep_alive) }
  }
}

unsafe extern "C" fn on_env_teardown(arg: *mut std::ffi::c_void) {
  boundary::contain("tearing down a thread watch", || {
    super::teardown(f64::from_bits(arg as u64));
  });
}
