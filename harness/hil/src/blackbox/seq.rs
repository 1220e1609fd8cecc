//! Message identity for a black-box DUT: which of its publishes carry a
//! sequence number, and where in the payload (a DUT profile's `seq`). The
//! wire view ([`super::wire`]) turns each numbered publish into the app
//! events the QoS oracles use (a publish the device made, a gap in the
//! sequence, a repeat); the observer names the deliveries with the same
//! ids.
//!
//! ```toml
//! seq = { topic = "dev/+/telemetry", json = "/seq" }      # a JSON pointer
//! seq = { topic = "peers/+/seq", regex = "n=(\\d+)" }     # one capture group
//! seq = { topic = "peers/+/seq", decimal = true }         # the whole payload
//! ```

use std::fmt;

use crate::scenario::types::filter_matches;

/// Where the number is.
#[derive(Debug, Clone)]
pub enum SeqFrom {
    /// A JSON pointer (`/seq`) into a JSON payload: a number, or a string
    /// of digits.
    Json(String),
    /// A regex with exactly one capture group, matching digits.
    Regex(regex::Regex),
    /// The whole payload is a decimal number (surrounding whitespace
    /// allowed).
    Decimal,
}

impl PartialEq for SeqFrom {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (SeqFrom::Json(a), SeqFrom::Json(b)) => a == b,
            (SeqFrom::Regex(a), SeqFrom::Regex(b)) => a.as_str() == b.as_str(),
            (SeqFrom::Decimal, SeqFrom::Decimal) => true,
            _ => false,
        }
    }
}

/// A profile's `seq`: publishes to topics matching `topic` carry a number
/// found as `from` says.
#[derive(Debug, Clone, PartialEq)]
pub struct SeqRule {
    /// A topic filter (`+` and `#` allowed).
    pub topic: String,
    pub from: SeqFrom,
}

impl SeqRule {
    /// The rule for a DUT given as a bare command (`--dut exec:...`): the
    /// whole payload as a decimal, on any topic.
    pub fn default_for_exec() -> SeqRule {
        SeqRule {
            topic: "#".into(),
            from: SeqFrom::Decimal,
        }
    }

    /// A regex rule, checked: it must compile and have exactly one capture
    /// group.
    pub fn regex(topic: &str, re: &str) -> Result<SeqRule, String> {
        let r = regex::Regex::new(re).map_err(|e| format!("not a valid regex: {e}"))?;
        if r.captures_len() != 2 {
            return Err(format!(
                "the regex must have exactly one capture group (the number), not {}",
                r.captures_len() - 1
            ));
        }
        Ok(SeqRule {
            topic: topic.into(),
            from: SeqFrom::Regex(r),
        })
    }

    /// The sequence number of a publish to `topic` with `payload`, if it
    /// has one.
    pub fn extract(&self, topic: &str, payload: &[u8]) -> Option<u64> {
        if !filter_matches(&self.topic, topic) {
            return None;
        }
        let text = std::str::from_utf8(payload).ok()?;
        match &self.from {
            SeqFrom::Decimal => digits(text.trim()),
            SeqFrom::Regex(r) => digits(r.captures(text)?.get(1)?.as_str()),
            SeqFrom::Json(ptr) => {
                let v: serde_json::Value = serde_json::from_str(text).ok()?;
                match v.pointer(ptr)? {
                    serde_json::Value::Number(n) => n.as_u64(),
                    serde_json::Value::String(s) => digits(s),
                    _ => None,
                }
            }
        }
    }
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl fmt::Display for SeqRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.from {
            SeqFrom::Json(p) => write!(f, "topic {} json {p}", self.topic),
            SeqFrom::Regex(r) => write!(f, "topic {} regex {}", self.topic, r.as_str()),
            SeqFrom::Decimal => write!(f, "topic {} decimal payload", self.topic),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_form_finds_its_number() {
        let json = SeqRule {
            topic: "dev/+/telemetry".into(),
            from: SeqFrom::Json("/seq".into()),
        };
        assert_eq!(
            json.extract("dev/a/telemetry", br#"{"seq": 17, "t": 1}"#),
            Some(17)
        );
        assert_eq!(
            json.extract("dev/a/telemetry", br#"{"seq": "18"}"#),
            Some(18)
        );
        assert_eq!(json.extract("dev/a/other", br#"{"seq": 17}"#), None);
        assert_eq!(json.extract("dev/a/telemetry", br#"{"seq": -1}"#), None);
        assert_eq!(json.extract("dev/a/telemetry", b"not json"), None);
        let re = SeqRule::regex("peers/+/seq", r"n=(\d+)").unwrap();
        assert_eq!(re.extract("peers/x/seq", b"boot n=42 ok"), Some(42));
        assert_eq!(re.extract("peers/x/seq", b"n=x"), None);
        let dec = SeqRule::default_for_exec();
        assert_eq!(dec.extract("any/topic", b" 7\n"), Some(7));
        assert_eq!(dec.extract("any/topic", b"7a"), None);
    }

    #[test]
    fn a_regex_needs_one_capture_group() {
        assert!(SeqRule::regex("t", r"\d+")
            .unwrap_err()
            .contains("exactly one capture group"));
        assert!(SeqRule::regex("t", r"(\d+)-(\d+)").is_err());
        assert!(SeqRule::regex("t", r"(")
            .unwrap_err()
            .contains("not a valid regex"));
    }

    proptest! {
        #[test]
        fn extraction_never_panics(payload in proptest::collection::vec(any::<u8>(), 0..40), topic in "[a-z/+#]{0,12}") {
            for rule in [
                SeqRule::default_for_exec(),
                SeqRule { topic: "#".into(), from: SeqFrom::Json("/a/0".into()) },
                SeqRule::regex("#", r"(\d+)").unwrap(),
            ] {
                let _ = rule.extract(&topic, &payload);
            }
        }

        #[test]
        fn a_decimal_payload_round_trips(n in any::<u64>()) {
            prop_assert_eq!(SeqRule::default_for_exec().extract("t", n.to_string().as_bytes()), Some(n));
        }
    }
}
