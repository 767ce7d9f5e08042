//! The one JSON line each tool prints last (scripts read the last line that
//! parses), and the exit that goes with it.

use std::fmt::Display;
use std::io::{self, Write};

/// A JSON string holding `s`, with `"`, `\` and newlines turned to spaces.
pub fn text(s: &str) -> String {
  format!("\"{}\"", s.replace(['"', '\\', '\n'], " "))
}

/// A JSON object built field by field, numbers with a fixed count of decimals.
pub struct Line {
  out: String,
  decimals: usize,
}

impl Line {
  pub fn new(decimals: usize) -> Self {
    Line {
      out: String::from("{"),
      decimals,
    }
  }

  fn field(mut self, key: &str, value: impl Display) -> Self {
    if self.out.len() > 1 {
      self.out.push(',');
    }
    self.out.push_str(&format!("\"{key}\":{value}"));
    self
  }

  /// A number; `null` when missing or not finite.
  pub fn num(self, key: &str, v: Option<f64>) -> Self {
    let value = match v {
      Some(v) if v.is_finite() => format!("{v:.*}", self.decimals),
      _ => "null".into(),
    };
    self.field(key, value)
  }

  /// A count, printed as it is.
  pub fn count(self, key: &str, v: impl Into<u64>) -> Self {
    self.field(key, v.into())
  }

  pub fn flag(self, key: &str, v: bool) -> Self {
    self.field(key, v)
  }

  /// A string (see `text`); `null` when missing.
  pub fn text(self, key: &str, v: Option<&str>) -> Self {
    self.field(key, v.map_or("null".into(), text))
  }

  /// The object, closed.
  pub fn finish(mut self) -> String {
    self.out.push('}');
    self.out
  }

  /// Prints the object on one line of stdout.
  pub fn print(self) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{}", self.finish())?;
    stdout.flush()
  }
}

/// Ends a tool: exit status 0 for `Ok(true)` (a clean run), 1 for
/// `Ok(false)`; for an error, `tool: error` on stderr, `{"error":...}` on
/// stdout and exit status 2.
pub fn exit(tool: &str, result: io::Result<bool>) -> ! {
  match result {
    Ok(clean) => std::process::exit(if clean { 0 } else { 1 }),
    Err(e) => {
      eprintln!("{tool}: {e}");
      println!("{{\"error\":{}}}", text(&e.to_string()));
      std::process::exit(2);
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn line_prints_fields_in_order() {
    let line = Line::new(2)
      .num("a", Some(1.0 / 3.0))
      .num("nan", Some(f64::NAN))
      .num("none", None)
      .count("n", 7u64)
      .flag("ok", true)
      .text("error", Some("say \"no\"\\\n"))
      .text("nothing", None)
      .finish();
    assert_eq!(
      line,
      r#"{"a":0.33,"nan":null,"none":null,"n":7,"ok":true,"error":"say  no   ","nothing":null}"#
    );
    assert_eq!(Line::new(1).finish(), "{}");
  }
}
