//! Generational handle tables.
//!
//! JavaScript never holds a Rust pointer. Every native object (a `Poll`, a
//! `Registry`, a socket) lives in a per-thread table and JavaScript holds a
//! handle: a safe integer packing the slot index (low 32 bits) and the slot's
//! generation (high 21 bits). A handle of a closed object no longer matches
//! its slot's generation, so a stale handle is an error, never another
//! object's socket. Generations never wrap: a slot whose generation reaches
//! the largest one is retired (never reused), so every handle a table ever
//! gave out names at most one object, however long the program runs (2^32
//! slots of 2^21 - 1 objects each, 2^53 objects in all, is centuries of
//! opening and closing at a million a second).
//!
//! Why not `#[napi]` classes: a class method call in napi-rs 3 unwraps the
//! receiver, checks its type tag and registers a borrow guard on every call.
//! A plain function with a number argument skips all three, which is what the
//! hot path (`poll`, `read`, `write`) wants. Tables are per thread because
//! every Node.js environment (the main thread and each worker) runs on its own
//! thread, and a thread's tables are dropped, closing every descriptor they
//! hold, when that thread exits.

/// A handle as JavaScript sees it: a positive safe integer naming a native
/// object in the current thread's tables.
#[napi_derive::napi]
pub type Handle = f64;

const INDEX_SPAN: f64 = 4_294_967_296.0; // 2^32
const MAX_GENERATION: u32 = (1 << 21) - 1;

struct Slot<T> {
  generation: u32,
  value: Option<T>,
}

/// A slab whose slots carry a generation counter.
pub struct Table<T> {
  slots: Vec<Slot<T>>,
  free: Vec<u32>,
}

impl<T> Table<T> {
  pub const fn new() -> Self {
    Table {
      slots: Vec::new(),
      free: Vec::new(),
    }
  }

  /// Stores `value` and returns its handle.
  pub fn insert(&mut self, value: T) -> Handle {
    while let Some(index) = self.free.pop() {
      if let Some(slot) = self.slots.get_mut(index as usize) {
        // Below the largest generation: `remove` retires a slot there.
        slot.generation += 1;
        slot.value = Some(value);
        return Self::encode(index, slot.generation);
      }
    }
    let index = self.slots.len() as u32;
    self.slots.push(Slot {
      generation: 1,
      value: Some(value),
    });
    Self::encode(index, 1)
  }

  fn encode(index: u32, generation: u32) -> Handle {
    f64::from(generation) * INDEX_SPAN + f64::from(index)
  }

  fn decode(handle: Handle) -> Option<(usize, u32)> {
    // Rejects NaN, negatives, fractions and anything above 2^53.
    if !(INDEX_SPAN..=9_007_199_254_740_991.0).contains(&handle) || handle.fract() != 0.0 {
      return None;
    }
    let bits = handle as u64;
    Some(((bits & 0xffff_ffff) as usize, (bits >> 32) as u32))
  }

  pub fn get(&self, handle: Handle) -> Option<&T> {
    let (index, generation) = Self::decode(handle)?;
    let slot = self.slots.get(index)?;
    if slot.generation != generation {
      return None;
    }
    slot.value.as_ref()
  }

  pub fn get_mut(&mut self, handle: Handle) -> Option<&mut T> {
    let (index, generation) = Self::decode(handle)?;
    let slot = self.slots.get_mut(index)?;
    if slot.generation != generation {
      return None;
    }
    slot.value.as_mut()
  }

  /// Takes the value out; the handle (and every copy of it) becomes stale.
  /// Takes every value out, retiring nothing: the table is being torn down.
  pub fn drain(&mut self) -> Vec<T> {
    self.free.clear();
    self
      .slots
      .iter_mut()
      .filter_map(|slot| slot.value.take())
      .collect()
  }

  pub fn remove(&mut self, handle: Handle) -> Option<T> {
    let (index, generation) = Self::decode(handle)?;
    let slot = self.slots.get_mut(index)?;
    if slot.generation != generation {
      return None;
    }
    let value = slot.value.take()?;
    // A slot at the largest generation is retired: reusing it would make
    // its generation wrap, and an old handle match again.
    if slot.generation < MAX_GENERATION {
      self.free.push(index as u32);
    }
    Some(value)
  }
}

#[cfg(test)]
mod tests {
  use super::Table;

  #[test]
  fn stale_handles_do_not_resolve() {
    let mut table = Table::new();
    let a = table.insert("a");
    assert_eq!(table.get(a), Some(&"a"));
    assert_eq!(table.remove(a), Some("a"));
    let b = table.insert("b");
    assert_ne!(a, b, "a reused slot gets a new generation");
    assert_eq!(table.get(a), None);
    assert_eq!(table.get(b), Some(&"b"));
    assert_eq!(table.remove(a), None);
  }

  #[test]
  fn generations_never_wrap() {
    let mut table = Table::new();
    let first = table.insert(0u32);
    table.remove(first);
    let mut last = first;
    // Every reuse of slot 0 until its generation is exhausted.
    for i in 1..super::MAX_GENERATION {
      last = table.insert(i);
      assert_eq!(last % super::INDEX_SPAN, 0.0, "slot 0 is reused");
      assert_eq!(table.get(first), None);
      table.remove(last);
    }
    // Slot 0 is retired: the next object gets a new slot, and no handle of
    // slot 0 (the first and the last included) resolves again.
    let next = table.insert(u32::MAX);
    assert_eq!(
      next % super::INDEX_SPAN,
      1.0,
      "a new slot, not slot 0 again"
    );
    for _ in 0..1000 {
      let h = table.insert(7);
      assert_ne!(h % super::INDEX_SPAN, 0.0);
      table.remove(h);
    }
    assert_eq!(table.get(first), None);
    assert_eq!(table.get(last), None);
    assert_eq!(table.get(next), Some(&u32::MAX));
  }

  #[test]
  fn malformed_handles_are_rejected() {
    let mut table = Table::new();
    table.insert(1);
    for bad in [
      0.0,
      -1.0,
      0.5,
      f64::NAN,
      f64::INFINITY,
      1e300,
      4_294_967_296.5,
    ] {
      assert_eq!(table.get(bad), None, "{bad}");
    }
  }

  #[test]
  fn handles_are_safe_integers() {
    let mut table = Table::new();
    for _ in 0..5 {
      let h = table.insert(());
      assert!(h > 0.0 && h <= 9_007_199_254_740_991.0 && h.fract() == 0.0);
      table.remove(h);
    }
  }
}
