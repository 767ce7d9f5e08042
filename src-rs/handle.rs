//! Handle tables: a handle names exactly one object, of one table, in one
//! thread, for the life of the process.
//!
//! JavaScript never holds a Rust pointer. Every native object (a `Poll`, a
//! `Registry`, a socket) lives in a per-thread table and JavaScript holds a
//! handle: a safe integer packing a *serial* (the high 50 bits) and the
//! table's *tag* (the low 3 bits).
//!
//! - Serials are unique in the process: every thread takes them in chunks
//!   from one process-wide counter, and no serial is ever given out twice
//!   (2^50 of them is 35 years of creating a million objects a second). So
//!   a handle of a closed object never names a later one, and a handle made
//!   by another thread (a worker) names nothing in this one.
//! - The tag names the table: a socket's handle passed where a `Poll` is
//!   expected is refused before any lookup.
//!
//! Every lookup checks both, and a miss says which rule the handle broke
//! ([`Table::missing`]): closed (a stale handle of this table and thread),
//! of another table, of another thread, or never made. None of them acts.
//!
//! Why not `#[napi]` classes: a class method call in napi-rs 3 unwraps the
//! receiver, checks its type tag and registers a borrow guard on every call.
//! A plain function with a number argument skips all three, which is what the
//! hot path (`poll`, `read`, `write`) wants; a lookup is one multiply and one
//! probe of a hash table. Tables are per thread because every Node.js
//! environment (the main thread and each worker) runs on its own thread, and
//! a thread's tables are dropped, closing every descriptor they hold, when
//! that thread exits.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// A handle as JavaScript sees it: a positive safe integer naming a native
/// object in the current thread's tables.
#[napi_derive::napi]
pub type Handle = f64;

/// Which table a handle belongs to: its low three bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
  Source = 1,
  Poll = 2,
  Registry = 3,
  Events = 4,
  Waker = 5,
  Watch = 6,
}

impl Tag {
  const ALL: [Tag; 6] = [
    Tag::Source,
    Tag::Poll,
    Tag::Registry,
    Tag::Events,
    Tag::Waker,
    Tag::Watch,
  ];

  /// What the table holds, as errors name it.
  pub fn name(self) -> &'static str {
    match self {
      Tag::Source => "socket",
      Tag::Poll => "Poll",
      Tag::Registry => "Registry",
      Tag::Events => "Events",
      Tag::Waker => "Waker",
      Tag::Watch => "Watch",
    }
  }

  fn of(bits: u64) -> Option<Tag> {
    Tag::ALL.into_iter().find(|tag| *tag as u64 == bits)
  }
}

const TAG_BITS: u32 = 3;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;
/// Serials are below 2^50, so a handle stays below 2^53.
const SERIAL_END: u64 = 1 << (53 - TAG_BITS);
/// The largest safe integer, the largest handle.
const MAX_SAFE: u64 = (1 << 53) - 1;
/// How many serials a thread takes from the process-wide counter at once.
const CHUNK: u64 = 1 << 16;

/// The next chunk's first serial. Serials below `CHUNK` are never given
/// out, so no handle is below 2^19.
static NEXT_CHUNK: AtomicU64 = AtomicU64::new(CHUNK);

/// The serials of this thread: the chunk it is giving out and the ranges it
/// ever took (adjacent chunks merged), to tell its own stale handles from
/// other threads' handles.
struct Serials {
  next: u64,
  end: u64,
  taken: Vec<(u64, u64)>,
}

thread_local! {
  static SERIALS: RefCell<Serials> = const {
    RefCell::new(Serials { next: 0, end: 0, taken: Vec::new() })
  };
}

/// A serial no other object of the process ever had or will have, or
/// `None` once all 2^50 are used.
fn next_serial() -> Option<u64> {
  SERIALS
    .try_with(|serials| {
      let mut serials = serials.borrow_mut();
      if serials.next == serials.end {
        let start = NEXT_CHUNK.fetch_add(CHUNK, Ordering::Relaxed);
        if start >= SERIAL_END - CHUNK {
          // Keep the counter far from wrapping whatever is asked later.
          NEXT_CHUNK.store(SERIAL_END, Ordering::Relaxed);
          return None;
        }
        match serials.taken.last_mut() {
          Some(last) if last.1 == start => last.1 = start + CHUNK,
          _ => serials.taken.push((start, start + CHUNK)),
        }
        serials.next = start;
        serials.end = start + CHUNK;
      }
      let serial = serials.next;
      serials.next += 1;
      Some(serial)
    })
    .ok()
    .flatten()
}

/// Whether this thread gave out `serial` (it may since have been closed).
fn made_here(serial: u64) -> bool {
  SERIALS
    .try_with(|serials| {
      let serials = serials.borrow();
      let after = serials.taken.partition_point(|&(start, _)| start <= serial);
      after > 0 && serial < serials.taken[after - 1].1
    })
    .unwrap_or(false)
}

/// Hashes a serial with one multiply: serials are distinct and dense, and a
/// table's keys are never chosen by an attacker (a lookup of a forged
/// handle is one probe that misses).
#[derive(Default)]
pub struct SerialHasher(u64);

impl Hasher for SerialHasher {
  fn finish(&self) -> u64 {
    self.0
  }

  fn write(&mut self, bytes: &[u8]) {
    for &byte in bytes {
      self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
  }

  fn write_u64(&mut self, value: u64) {
    self.0 = value.wrapping_mul(0x9e37_79b9_7f4a_7c15);
  }
}

/// Why a handle names nothing in a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Miss {
  /// A handle of this table and thread whose object was closed.
  Closed,
  /// A handle of another table (a socket's where a `Poll` belongs).
  OtherTable(Tag),
  /// A well-formed handle this thread never made: another thread's.
  OtherThread,
  /// Not a handle at all (not a safe integer node-mio could have made).
  Malformed,
}

/// One kind of native object, by handle.
pub struct Table<T> {
  tag: Tag,
  entries: HashMap<u64, T, BuildHasherDefault<SerialHasher>>,
}

impl<T> Table<T> {
  pub const fn new(tag: Tag) -> Self {
    Table {
      tag,
      entries: HashMap::with_hasher(BuildHasherDefault::new()),
    }
  }

  /// Stores `value` and returns its handle; an error (dropping `value`) once
  /// the process has used every serial.
  pub fn insert(&mut self, value: T) -> Result<Handle> {
    let handle = self.reserve()?;
    self.fill(handle, value);
    Ok(handle)
  }

  /// A new handle of this table, for [`Table::fill`]: for a value whose
  /// making must be undone by hand if there is no handle to give it.
  pub fn reserve(&self) -> Result<Handle> {
    let serial = next_serial().ok_or_else(|| {
      Error::range_error(
        "ERR_MIO_HANDLES_EXHAUSTED",
        "this process has made every handle node-mio can give out",
      )
    })?;
    // Exact: below 2^53.
    Ok(((serial << TAG_BITS) | self.tag as u64) as f64)
  }

  /// Stores `value` under a handle from [`Table::reserve`].
  pub fn fill(&mut self, handle: Handle, value: T) {
    if let Some(serial) = self.serial(handle) {
      self.entries.insert(serial, value);
    }
  }

  #[inline]
  fn decode(handle: Handle) -> Option<(u64, u64)> {
    // `as` saturates (NaN and negatives to 0, too large to u64::MAX), so
    // only a whole number from 1 to 2^53 - 1 converts back to itself: two
    // conversions and a compare, where `fract()` may call libm's `trunc`.
    let bits = handle as u64;
    if bits == 0 || bits > MAX_SAFE || bits as f64 != handle {
      return None;
    }
    Some((bits >> TAG_BITS, bits & TAG_MASK))
  }

  /// The serial of a handle of this table, if it is one.
  #[inline]
  fn serial(&self, handle: Handle) -> Option<u64> {
    match Self::decode(handle) {
      Some((serial, tag)) if tag == self.tag as u64 => Some(serial),
      _ => None,
    }
  }

  #[inline]
  pub fn get(&self, handle: Handle) -> Option<&T> {
    self.entries.get(&self.serial(handle)?)
  }

  #[inline]
  pub fn get_mut(&mut self, handle: Handle) -> Option<&mut T> {
    let serial = self.serial(handle)?;
    self.entries.get_mut(&serial)
  }

  /// Takes the value out; the handle (and every copy of it) becomes stale,
  /// for good.
  pub fn remove(&mut self, handle: Handle) -> Option<T> {
    let serial = self.serial(handle)?;
    self.entries.remove(&serial)
  }

  /// Takes every value out: the table is being torn down.
  pub fn drain(&mut self) -> Vec<T> {
    self.entries.drain().map(|(_, value)| value).collect()
  }

  /// Why `handle` names nothing here (call it after a lookup missed).
  pub fn miss(&self, handle: Handle) -> Miss {
    if handle == 0.0 {
      // What a wrapper holds once closed.
      return Miss::Closed;
    }
    let Some((serial, bits)) = Self::decode(handle) else {
      return Miss::Malformed;
    };
    match Tag::of(bits) {
      None => Miss::Malformed,
      Some(tag) if tag != self.tag => Miss::OtherTable(tag),
      Some(_) if made_here(serial) => Miss::Closed,
      Some(_) if serial >= CHUNK && serial < NEXT_CHUNK.load(Ordering::Relaxed) => {
        Miss::OtherThread
      }
      Some(_) => Miss::Malformed,
    }
  }

  /// The error for a lookup of `handle` that missed: `ERR_SOCKET_CLOSED` or
  /// `ERR_MIO_CLOSED` for a closed object, `ERR_MIO_INVALID_HANDLE` for a
  /// handle of another table or thread, or none.
  pub fn missing(&self, handle: Handle) -> Error {
    self
      .stale(handle)
      .err()
      .unwrap_or_else(|| Error::closed(self.tag.name()))
  }

  /// After a lookup of `handle` missed: `Ok` if it names a closed object of
  /// this table and thread (closing it again does nothing), the error of
  /// [`Table::missing`] otherwise.
  pub fn stale(&self, handle: Handle) -> Result<()> {
    let expected = self.tag.name();
    let message = match self.miss(handle) {
      Miss::Closed => return Ok(()),
      Miss::OtherTable(tag) => format!("handle names a {}, not a {expected}", tag.name()),
      Miss::OtherThread => format!(
        "handle names a {expected} of another thread (a worker): handles work only in the thread that made them"
      ),
      Miss::Malformed => format!("not a handle of a {expected}"),
    };
    Err(Error::type_error("ERR_MIO_INVALID_HANDLE", message))
  }
}

#[cfg(test)]
mod tests {
  use super::{Miss, Table, Tag, CHUNK, TAG_BITS};

  #[test]
  fn stale_handles_do_not_resolve() {
    let mut table = Table::new(Tag::Source);
    let a = table.insert("a").unwrap();
    assert_eq!(table.get(a), Some(&"a"));
    assert_eq!(table.remove(a), Some("a"));
    let b = table.insert("b").unwrap();
    assert_ne!(a, b, "a new object gets a new handle");
    assert_eq!(table.get(a), None);
    assert_eq!(table.get(b), Some(&"b"));
    assert_eq!(table.remove(a), None);
    assert_eq!(table.miss(a), Miss::Closed);
    assert!(table.stale(a).is_ok());
  }

  #[test]
  fn handles_are_never_reused() {
    let mut table = Table::new(Tag::Poll);
    let mut seen = std::collections::HashSet::new();
    // Across several chunks.
    for i in 0..(3 * CHUNK as usize) {
      let h = table.insert(i).unwrap();
      assert!(seen.insert(h.to_bits()), "handle {h} given out twice");
      table.remove(h);
    }
  }

  #[test]
  fn a_handle_of_another_table_names_nothing() {
    let mut sources = Table::new(Tag::Source);
    let mut polls = Table::new(Tag::Poll);
    let socket = sources.insert(1).unwrap();
    let poll = polls.insert(2).unwrap();
    assert_eq!(polls.get(socket), None);
    assert_eq!(polls.remove(socket), None);
    assert_eq!(sources.get(poll), None);
    assert_eq!(polls.miss(socket), Miss::OtherTable(Tag::Source));
    assert!(polls.stale(socket).is_err());
    // The socket is untouched.
    assert_eq!(sources.get(socket), Some(&1));
    // The same serial with another tag is not this table's object either.
    let retagged = ((socket as u64 >> TAG_BITS) << TAG_BITS | Tag::Poll as u64) as f64;
    assert_eq!(polls.get(retagged), None);
    // (To this table it is a closed object's handle: serials are shared by
    // a thread's tables, so it was made here.)
    assert_eq!(polls.miss(retagged), Miss::Closed);
  }

  #[test]
  fn a_handle_of_another_thread_names_nothing() {
    let theirs = std::thread::spawn(|| {
      let mut table = Table::new(Tag::Source);
      table.insert(0).unwrap()
    })
    .join()
    .unwrap();
    let mut ours = Table::new(Tag::Source);
    let mine = ours.insert(1).unwrap();
    assert_eq!(ours.get(theirs), None);
    assert_eq!(ours.remove(theirs), None);
    assert_eq!(ours.miss(theirs), Miss::OtherThread);
    let error = ours.stale(theirs).unwrap_err();
    assert!(error.to_string().contains("another thread"), "{error}");
    assert_eq!(ours.get(mine), Some(&1));
  }

  #[test]
  fn malformed_handles_are_rejected() {
    let mut table = Table::new(Tag::Source);
    table.insert(1).unwrap();
    assert_eq!(
      table.miss(0.0),
      Miss::Closed,
      "0 is what a closed wrapper holds"
    );
    for bad in [
      -1.0,
      0.5,
      1.0,
      f64::NAN,
      f64::INFINITY,
      1e300,
      4_294_967_296.5,
      9_007_199_254_740_991.0,
    ] {
      assert_eq!(table.get(bad), None, "{bad}");
      assert_ne!(table.miss(bad), Miss::Closed, "{bad}");
      assert!(table.stale(bad).is_err(), "{bad}");
    }
  }

  #[test]
  fn handles_are_safe_integers() {
    let mut table = Table::new(Tag::Watch);
    for _ in 0..5 {
      let h = table.insert(()).unwrap();
      assert!(h > 0.0 && h <= 9_007_199_254_740_991.0 && h.fract() == 0.0);
      table.remove(h);
    }
  }
}
