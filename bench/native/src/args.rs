//! `--key value` command-line options and the usage errors they raise.

use std::io::{self, ErrorKind};
use std::str::FromStr;
use std::time::Duration;

/// A tool's usage line (`"loadgen --addr 127.0.0.1:PORT [--conns N] ..."`).
pub struct Usage(pub &'static str);

impl Usage {
  /// An invalid-input error: `msg`, then the usage line.
  pub fn error(&self, msg: &str) -> io::Error {
    io::Error::new(ErrorKind::InvalidInput, format!("{msg}\nusage: {}", self.0))
  }

  /// The command line's `--key value` pairs, in order.
  pub fn options(&self) -> io::Result<Vec<Opt<'_>>> {
    let mut args = std::env::args().skip(1);
    let mut out = Vec::new();
    while let Some(key) = args.next() {
      let value = args
        .next()
        .ok_or_else(|| self.error(&format!("{key} needs a value")))?;
      out.push(Opt {
        key,
        value,
        usage: self,
      });
    }
    Ok(out)
  }
}

/// One `--key value` pair.
pub struct Opt<'a> {
  pub key: String,
  pub value: String,
  usage: &'a Usage,
}

impl Opt<'_> {
  /// The value, parsed.
  pub fn parse<T: FromStr>(&self) -> io::Result<T> {
    self.value.parse().map_err(|_| self.bad())
  }

  /// The value as a duration in (fractional) seconds.
  pub fn seconds(&self) -> io::Result<Duration> {
    Duration::try_from_secs_f64(self.parse()?).map_err(|_| self.bad())
  }

  /// The error for a key the tool does not know.
  pub fn unknown(&self) -> io::Error {
    self.usage.error(&format!("unknown option {}", self.key))
  }

  fn bad(&self) -> io::Error {
    self
      .usage
      .error(&format!("bad value for {}: {}", self.key, self.value))
  }
}
