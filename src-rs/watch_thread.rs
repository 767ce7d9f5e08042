//! Watch mode with a polling thread, for where libuv cannot watch the
//! selector: Windows (IOCP has no pollable descriptor) and runtimes without
//! libuv (Bun). Also available everywhere with `NODE_MIO_WATCH=thread`.
//!
//! The thread borrows the `mio::Poll` (registrations go through a registry
//! clone meanwhile), blocks in `poll(None)`, appends each batch to a shared
//! queue as `(token, bits)` pairs (the layout of `Events`) and signals
//! JavaScript through a threadsafe function; JavaScript takes the queue
//! (`watchThreadTake`). Each event's readiness was consumed by the thread's
//! poll (edge-triggered), so none may be dropped: stopping hands whatever is
//! still queued back to the wrapper, which returns it from the next poll. To stop it, the JS thread sets a flag and sends
//! one datagram to a loopback UDP socket the thread has registered under a
//! token JavaScript can never use (above 2^53), so a user's `Waker` is left
//! alone (mio allows one per `Poll`); then it joins the thread and takes the
//! `Poll` back.

use std::cell::RefCell;
use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use napi::bindgen_prelude::{Float64Array, Function};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{sys, Env, Status};
use napi_derive::napi;

use crate::boundary::{self, guard};
use crate::error::{Error, Result};
use crate::events;
use crate::handle::{Handle, Table};
use crate::napi_raw;
use crate::poll::{self, PollCore};

/// The stop datagram's token: beyond any token JavaScript can register.
const STOP: mio::Token = mio::Token(usize::MAX);

type Signal = ThreadsafeFunction<(), (), (), Status, false, false, 0>;

/// Events polled by the thread and not yet taken by JavaScript.
type Queue = Arc<Mutex<Vec<f64>>>;

struct ThreadWatch {
  stop: Arc<AtomicBool>,
  /// Sends the stop datagram.
  trigger: UdpSocket,
  target: SocketAddr,
  thread: Option<JoinHandle<mio::Poll>>,
  queue: Queue,
  signal: Arc<Signal>,
  core: Weak<PollCore>,
  env: sys::napi_env,
  id: Handle,
}

thread_local! {
  static THREAD_WATCHES: RefCell<Table<ThreadWatch>> = const { RefCell::new(Table::new()) };
}

/// Starts a polling thread for `poll` (`capacity` events per poll):
/// `on_ready()` runs on the JS thread when events are queued; take them with
/// `watchThreadTake`.
#[napi(ts_args_type = "poll: Handle, capacity: number, onReady: () => void")]
pub fn watch_thread_start(
  env: Env,
  poll: Handle,
  capacity: u32,
  on_ready: Function<(), ()>,
) -> napi::Result<Handle> {
  guard(&env, || {
    let capacity = events::check_capacity(capacity as usize)?;
    poll::core(poll)?;
    // First what may run JavaScript (a threadsafe function is an async
    // resource: async hooks run): the Poll's state is read only after.
    let signal: Arc<Signal> = Arc::new(
      on_ready
        .build_threadsafe_function::<()>()
        .build_callback(|_| Ok(()))?,
    );
    start(&env, poll, capacity, signal)
  })
}

fn start(env: &Env, poll: Handle, capacity: usize, signal: Arc<Signal>) -> Result<Handle> {
  let core: Rc<PollCore> = poll::core(poll)?;
  if core.watched() {
    return Err(Error::system_kind(
      ErrorKind::AlreadyExists,
      "watch",
      "this Poll is already watched: stop that watch first",
    ));
  }
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
      .spawn(move || run(mio_poll, wake, capacity, &stop, &queue, &signal))
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
  let entry = ThreadWatch {
    stop,
    trigger,
    target,
    thread: Some(thread),
    queue,
    signal,
    core: Rc::downgrade(&core),
    env: env.raw(),
    id: 0.0,
  };
  let id = THREAD_WATCHES.with_borrow_mut(|watches| {
    let id = watches.insert(entry);
    if let Some(entry) = watches.get_mut(id) {
      entry.id = id;
    }
    id
  });
  core.thread_watch.set(Some(id));
  // SAFETY: the argument is the handle's bits, not a pointer; the hook is
  // removed in `finish` before the entry goes.
  unsafe { napi_raw::add_cleanup_hook(env.raw(), on_env_teardown, id.to_bits() as *mut _) };
  Ok(id)
}

/// The polling thread: returns the `Poll` when told to stop (or when
/// JavaScript can no longer be called). Every event it polls goes to the
/// queue, the last batch included.
fn run(
  mut poll: mio::Poll,
  mut wake: mio::net::UdpSocket,
  capacity: usize,
  stop: &AtomicBool,
  queue: &Mutex<Vec<f64>>,
  signal: &Signal,
) -> mio::Poll {
  let mut batch_events = mio::Events::with_capacity(capacity);
  let mut drain = [0u8; 16];
  loop {
    match poll.poll(&mut batch_events, None) {
      Ok(()) => {}
      Err(e) if e.kind() == ErrorKind::Interrupted => continue,
      // A selector error ends the thread (it would repeat forever).
      Err(_) => break,
    }
    let was_empty = {
      let Ok(mut queued) = queue.lock() else { break };
      let was_empty = queued.is_empty();
      for event in batch_events.iter() {
        if event.token() == STOP {
          while wake.recv(&mut drain).is_ok() {}
          continue;
        }
        queued.push(crate::token::to_js(event.token()));
        queued.push(f64::from(events::bits(event)));
      }
      was_empty && !queued.is_empty()
    };
    if stop.load(Ordering::Acquire) {
      break;
    }
    // One signal per refill: JavaScript takes everything queued at once.
    if was_empty && signal.call((), ThreadsafeFunctionCallMode::NonBlocking) != Status::Ok {
      // The environment is going away.
      break;
    }
  }
  let _ = poll.registry().deregister(&mut wake);
  poll
}

/// Takes the events the polling thread queued (`null` if none).
#[napi]
pub fn watch_thread_take(env: Env, handle: Handle) -> napi::Result<Option<Float64Array>> {
  guard(&env, || {
    let queue =
      THREAD_WATCHES.with_borrow(|watches| watches.get(handle).map(|entry| entry.queue.clone()));
    Ok(queue.and_then(|queue| take(&queue)))
  })
}

fn take(queue: &Mutex<Vec<f64>>) -> Option<Float64Array> {
  let taken = std::mem::take(&mut *queue.lock().ok()?);
  (!taken.is_empty()).then(|| Float64Array::new(taken))
}

/// Stops the polling thread, waits for it and gives its `Poll` back.
/// Returns the events still queued (`null` if none, or if the watch was
/// already stopped): the wrapper returns them from the next poll.
#[napi]
pub fn watch_thread_stop(env: Env, handle: Handle) -> napi::Result<Option<Float64Array>> {
  guard(&env, || Ok(stop(handle)))
}

/// Stops the thread watch `handle` (see `watch_thread_stop`).
pub fn stop(handle: Handle) -> Option<Float64Array> {
  let entry = THREAD_WATCHES.with_borrow_mut(|watches| watches.remove(handle))?;
  finish(entry)
}

/// Tells the thread to stop, wakes it and waits for it: its `Poll`.
fn join(entry: &mut ThreadWatch) -> Option<mio::Poll> {
  entry.stop.store(true, Ordering::Release);
  // The thread wakes on this datagram; a lost one is retried below.
  let _ = entry.trigger.send_to(&[1], entry.target);
  let thread = entry.thread.take()?;
  while !thread.is_finished() {
    std::thread::sleep(Duration::from_millis(1));
    let _ = entry.trigger.send_to(&[1], entry.target);
  }
  thread.join().ok()
}

fn finish(mut entry: ThreadWatch) -> Option<Float64Array> {
  if let (Some(poll), Some(core)) = (join(&mut entry), entry.core.upgrade()) {
    core.give_back(poll);
  }
  if let Some(core) = entry.core.upgrade() {
    if core.thread_watch.get() == Some(entry.id) {
      core.thread_watch.set(None);
    }
  }
  // SAFETY: the hook was added with these arguments on this env.
  unsafe {
    napi_raw::remove_cleanup_hook(entry.env, on_env_teardown, entry.id.to_bits() as *mut _)
  };
  // Dropping the last reference releases the threadsafe function; a signal
  // still queued finds nothing to take.
  take(&entry.queue)
}

/// `ref()` / `unref()`: whether the watch keeps the event loop alive.
#[napi]
pub fn watch_thread_ref(env: Env, handle: Handle, keep_alive: bool) -> napi::Result<()> {
  guard(&env, || {
    let signal = THREAD_WATCHES
      .with_borrow(|watches| watches.get(handle).map(|entry| entry.signal.clone()))
      .ok_or_else(|| Error::closed("Watch"))?;
    // SAFETY: the threadsafe function is alive (held by `signal`) and this
    // is its env's thread.
    unsafe { napi_raw::ref_threadsafe_function(env.raw(), signal.raw(), keep_alive) }
  })
}

unsafe extern "C" fn on_env_teardown(arg: *mut std::ffi::c_void) {
  boundary::contain("tearing down a thread watch", || {
    let handle = f64::from_bits(arg as u64);
    if let Some(mut entry) = THREAD_WATCHES.with_borrow_mut(|watches| watches.remove(handle)) {
      // Teardown: stop and join the thread; there is no JS to give back to.
      drop(join(&mut entry));
    }
  });
}
