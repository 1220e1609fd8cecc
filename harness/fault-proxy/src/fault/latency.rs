//! `latency DELAY [jitter DELAY]`: every write in the direction is
//! delivered DELAY (+ a uniform jitter drawn from the seed) later, in order.

use std::fmt;

use super::Words;
use crate::duration::fmt_ms;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latency {
    pub delay_ms: u64,
    pub jitter_ms: u64,
}

impl Latency {
    pub fn parse(w: &mut Words<'_>) -> Result<Self, String> {
        let delay_ms = w.duration("a delay")?;
        let jitter_ms = match w.option("jitter") {
            Some(()) => w.duration("a jitter")?,
            None => 0,
        };
        Ok(Latency {
            delay_ms,
            jitter_ms,
        })
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "latency {}", fmt_ms(self.delay_ms))?;
        if self.jitter_ms > 0 {
            write!(f, " jitter {}", fmt_ms(self.jitter_ms))?;
        }
        Ok(())
    }
}
