//! `Token`: mio's `Token(usize)`, as a JavaScript number.
//!
//! A token must be a non-negative safe integer (at most 2^53 - 1) so it
//! survives the trip through a `Float64Array` exactly. The wrapper validates
//! first; this is the second line.

use crate::error::{Error, Result};

pub const MAX: f64 = 9_007_199_254_740_991.0;

pub fn from_js(value: f64) -> Result<mio::Token> {
  if !(0.0..=MAX).contains(&value) || value.fract() != 0.0 || value > usize::MAX as f64 {
    return Err(Error::out_of_range(format!(
      "token must be an integer from 0 to {}, got {value}",
      MAX.min(usize::MAX as f64)
    )));
  }
  Ok(mio::Token(value as usize))
}

pub fn to_js(token: mio::Token) -> f64 {
  token.0 as f64
}
