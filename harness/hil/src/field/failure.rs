//! The failure a field case is about: an oracle and, optionally, the kind
//! of its failure message (its first two words, e.g. `app publish` for a
//! lost DUT publish in `qos1_no_loss`, `observer message` for a lost
//! message to the DUT). `hil import` writes it into the scenario's header
//! as a comment,
//!
//! ```toml
//! # field-failure: oracle = "duplicates_at_most" kind = "message dut-0:12"
//! ```
//!
//! and `hil reproduce` / `hil shrink` keep to it: a seed reproduces the
//! case only when this oracle fails with this kind of message.

use std::fmt;

use crate::oracle::{Status, Verdict};

/// The header line's prefix.
pub const HEADER: &str = "# field-failure:";

/// An oracle and an optional failure-message kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureSpec {
    pub oracle: String,
    pub kind: Option<String>,
}

/// The kind of a failure message: its first two words, lower case.
pub fn message_kind(message: &str) -> String {
    message
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl FailureSpec {
    /// `ORACLE` or `ORACLE:KIND` (the command-line form).
    pub fn parse(s: &str) -> Result<FailureSpec, String> {
        let (oracle, kind) = match s.split_once(':') {
            Some((o, k)) => (o.trim(), Some(k.trim().to_lowercase())),
            None => (s.trim(), None),
        };
        if !crate::oracle::ORACLES.contains(&oracle) {
            return Err(format!(
                "unknown oracle `{oracle}`; expected one of: {}",
                crate::oracle::ORACLES.join(", ")
            ));
        }
        Ok(FailureSpec {
            oracle: oracle.to_string(),
            kind: kind.filter(|k| !k.is_empty()),
        })
    }

    /// The `# field-failure:` line of a scenario file, if it has one.
    pub fn from_header(text: &str) -> Option<FailureSpec> {
        let line = text.lines().find(|l| l.starts_with(HEADER))?;
        let rest = &line[HEADER.len()..];
        let value = |key: &str| -> Option<String> {
            let i = rest.find(&format!("{key} = \""))? + key.len() + 4;
            let end = rest[i..].find('"')?;
            Some(rest[i..i + end].to_string())
        };
        Some(FailureSpec {
            oracle: value("oracle")?,
            kind: value("kind"),
        })
    }

    /// The header line.
    pub fn header_line(&self) -> String {
        match &self.kind {
            Some(k) => format!("{HEADER} oracle = \"{}\" kind = \"{k}\"", self.oracle),
            None => format!("{HEADER} oracle = \"{}\"", self.oracle),
        }
    }

    /// The failure message of `verdicts` that matches, if any.
    pub fn matching<'a>(&self, verdicts: &'a [Verdict]) -> Option<&'a str> {
        verdicts
            .iter()
            .filter(|v| v.oracle == self.oracle && v.status == Status::Fail)
            .flat_map(|v| v.failures.iter())
            .find(|f| {
                self.kind
                    .as_ref()
                    .is_none_or(|k| message_kind(&f.message) == *k)
            })
            .map(|f| f.message.as_str())
    }
}

impl fmt::Display for FailureSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Some(k) => write!(f, "{} ({k})", self.oracle),
            None => f.write_str(&self.oracle),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_header() {
        let s = FailureSpec::parse("qos1_no_loss:App publish").unwrap();
        assert_eq!(s.kind.as_deref(), Some("app publish"));
        let text = format!("# hello\n{}\nname = \"x\"\n", s.header_line());
        assert_eq!(FailureSpec::from_header(&text), Some(s));
        assert!(FailureSpec::parse("nope")
            .unwrap_err()
            .contains("unknown oracle `nope`"));
    }
}
