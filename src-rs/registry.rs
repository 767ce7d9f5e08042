//! `Registry`: register, reregister and deregister sources with a `Poll`.

use std::cell::RefCell;
use std::rc::Rc;

use napi::Env;
use napi_derive::napi;

use crate::error::{self, Result};
use crate::handle::{Handle, Table};
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
  static REGISTRIES: RefCell<Table<RegistryEntry>> = const { RefCell::new(Table::new()) };
}

pub fn insert(core: Rc<PollCore>, own: Option<mio::Registry>) -> Handle {
  if own.is_some() {
    core.add_clone();
  }
  REGISTRIES.with_borrow_mut(|registries| registries.insert(RegistryEntry { core, own }))
}

/// Runs `f` with the mio registry behind `handle` and its `Poll`'s core.
pub fn with<R>(
  env: &Env,
  handle: Handle,
  f: impl FnOnce(&mio::Registry, &Rc<PollCore>) -> Result<R>,
) -> Result<R> {
  REGISTRIES.with_borrow(|registries| {
    let entry = registries
      .get(handle)
      .ok_or_else(|| error::closed(env, "Registry"))?;
    match &entry.own {
      Some(registry) => f(registry, &entry.core),
      None => entry.core.with_registry(|registry| match registry {
        Some(registry) => f(registry, &entry.core),
        None => Err(error::closed(env, "Poll")),
      }),
    }
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
) -> Result<()> {
  let token = token::from_js(&env, token)?;
  let interest = interest::from_js(&env, interest)?;
  with(&env, handle, |registry, core| {
    source::registration(&env, source, registry, core, Op::Register(token, interest))
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
) -> Result<()> {
  let token = token::from_js(&env, token)?;
  let interest = interest::from_js(&env, interest)?;
  with(&env, handle, |registry, core| {
    source::registration(
      &env,
      source,
      registry,
      core,
      Op::Reregister(token, interest),
    )
  })
}

/// `Registry::deregister(source)`.
#[napi]
pub fn registry_deregister(env: Env, handle: Handle, source: Handle) -> Result<()> {
  with(&env, handle, |registry, core| {
    source::registration(&env, source, registry, core, Op::Deregister)
  })
}

/// `Registry::try_clone()`: a registry with its own selector descriptor.
#[napi]
pub fn registry_try_clone(env: Env, handle: Handle) -> Result<Handle> {
  let (core, clone) = with(&env, handle, |registry, core| {
    let clone = registry
      .try_clone()
      .map_err(|e| error::system(&env, &e, "dup", None))?;
    Ok((core.clone(), clone))
  })?;
  Ok(insert(core, Some(clone)))
}

/// Releases the registry (a clone closes its descriptor). Returns `false`
/// if it was already released.
#[napi]
pub fn registry_close(handle: Handle) -> bool {
  REGISTRIES
    .with_borrow_mut(|registries| registries.remove(handle))
    .is_some()
}
