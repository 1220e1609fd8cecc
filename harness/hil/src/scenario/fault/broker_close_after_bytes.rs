//! `broker_close_after_bytes`: a link that keeps breaking. The broker
//! closes each connection of the DUT once it has sent it `bytes` bytes
//! (counted from the connection's start), cutting a packet in the middle if
//! the limit falls there (the chaos broker's `close-after`). For `for`, or
//! until the end of the run.

use super::{positive, quoted, toml_lines, words, Action, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

#[derive(Debug, Clone, PartialEq)]
pub struct BrokerCloseAfterBytes {
    pub bytes: u64,
    /// None: until the end of the run.
    pub r#for: Option<Dur>,
}

impl FaultSpec for BrokerCloseAfterBytes {
    const KIND: &'static str = "broker_close_after_bytes";
    const FIELDS: &'static [&'static str] = &["bytes", "for"];
    const SUMMARY: &'static str =
        "the broker closes every DUT connection after sending it `bytes` bytes (a packet may be cut); optional `for`";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let bytes: i64 = f.req("bytes")?;
        if bytes < 0 {
            return Err(f.invalid("bytes", format!("must be 0 or more, not {bytes}")));
        }
        let d = f.opt("for")?;
        Ok(BrokerCloseAfterBytes {
            bytes: bytes as u64,
            r#for: positive(f, "for", d)?,
        })
    }

    fn detail(&self) -> String {
        words(&[
            ("bytes", Some(self.bytes.to_string())),
            ("for", self.r#for.map(|d| d.to_string())),
        ])
    }

    fn toml(&self) -> String {
        toml_lines(&[
            ("bytes", Some(self.bytes.to_string())),
            ("for", self.r#for.map(quoted)),
        ])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(
            Dur::ZERO,
            Action::BrokerCloseAfterBytes { bytes: self.bytes },
        );
        if let Some(d) = self.r#for {
            x.act(d, Action::BrokerCloseAfterBytesEnd);
            x.ends_at(d);
        }
    }
}
