//! `cfg_else!`: items for the targets a `#[cfg]` predicate holds on, and
//! others for the rest, with the predicate written once (as the `cfg-if`
//! crate does).

/// `cfg_else! { #[cfg(P)] { A } else { B } }` compiles the items `A` where
/// `P` holds and the items `B` where it does not.
macro_rules! cfg_else {
  (#[cfg($predicate:meta)] { $($then:item)* } else { $($otherwise:item)* }) => {
    $(#[cfg($predicate)] $then)*
    $(#[cfg(not($predicate))] $otherwise)*
  };
}
