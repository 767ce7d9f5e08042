//! `Registry`: register, reregister and deregister sources with a `Poll`.

use std::cell::RefCell;
use std::rc::Rc;

use napi::Env;
use napi_derive::napi;

use crate::boundary::guard;
use crate::error::{Error, Result};
use crate::handle::{Handle, Table, Tag};
use crate::poll::PollCore;
use crate::source::{self, Op};
use crate::{interest, token};

struct RegistryEntry {
  core: Rc<PollCore>,
  /// `Some` for a `try_clone()` copy (its own selector descriptor); `None`
  /// for the registry of the `Poll` itself.
  own: Option<mio::Registry>,
}

impl Drop for RegistryEntry {
  fn drop(&mut self) {
    if self.own.is_some() {
      self.core.drop_clone();
    }
  }
}

thread_local! {
  static REGISTRIES: RefCell<Table<RegistryEntry>> = const { RefCell::new(Table::new(Tag::Registry)) };
}

pub fn insert(core: Rc<PollCore>, own: Option<mio::Registry>) -> Result<Handle> {
  if own.is_some() {
    core.add_clone();
  }
  // (A failed insert drops the entry, which undoes `add_clone`.)
  REGISTRIES.with_borrow_mut(|registries| registries.insert(RegistryEntry { core, own }))
}

/// Runs `f` with the mio registry behind `handle` and its `Poll`'s core.
pub fn with<R>(
  handle: Handle,
  f: impl FnOnce(&mio::Registry, &Rc<PollCore>) -> Result<R>,
) -> Result<R> {
  REGISTRIES.with_borrow(|registries| {
    let entry = registries
      .get(handle)
      .ok_or_else(|| registries.missing(handle))?;
    match &entry.own {
      Some(registry) => f(registry, &entry.core),
      None => entry.core.with_registry(|registry| match registry {
        Some(registry) => f(registry, &entry.core),
        None => Err(Error::closed("Poll")),
      }),
    }
  })
}

fn registration(handle: Handle, source: Handle, op: Op) -> Result<()> {
  with(handle, |registry, core| {
    source::registration(source, registry, core, op)
  })
}

/// `Registry::register(source, token, interest)`.
#[napi]
pub fn registry_register(
  env: Env,
  handle: Handle,
  source: Handle,
  token: f64,
  interest: u32,
) -> napi::Result<()> {
  guard(&env, || {
    let op = Op::Register(token::from_js(token)?, interest::from_js(interest)?);
    registration(handle, source, op)
  })
}

/// `Registry::reregister(source, token, interest)`.
#[napi]
pub fn registry_reregister(
  env: Env,
  handle: Handle,
  source: Handle,
  token: f64,
  interest: u32,
) -> napi::Result<()> {
  guard(&env, || {
    let op = Op::Reregister(token::from_js(token)?, interest::from_js(interest)?);
    registration(handle, source, op)
  })
}

/// `Registry::deregister(source)`.
#[napi]
pub fn registry_deregister(env: Env, handle: Handle, source: Handle) -> napi::Result<()> {
  guard(&env, || registration(handle, source, Op::Deregister))
}

/// `Registry::try_clone()`: a registry with its own selector descriptor.
#[napi]
pub fn registry_try_clone(env: Env, handle: Handle) -> napi::Result<Handle> {
  guard(&env, || {
    let (core, clone) = with(handle, |registry, core| {
      let clone = registry.try_clone().map_err(|e| Error::system(&e, "dup"))?;
      Ok((core.clone(), clone))
    })?;
    insert(core, Some(clone))
  })
}

/// Releases the registry (a clone closes its descriptor). Returns `false`
/// if it was already released.
#[napi]
pub fn registry_close(env: Env, handle: Handle) -> napi::Result<bool> {
  guard(&env, || {
    let entry = REGISTRIES.with_borrow_mut(|registries| match registries.remove(handle) {
      Some(entry) => Ok(Some(entry)),
      None => registries.stale(handle).map(|()| None),
    })?;
    Ok(entry.is_some())
  })
}
