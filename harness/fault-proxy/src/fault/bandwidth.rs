//! `bandwidth BYTES_PER_S`: the direction carries at most this many bytes
//! per second; a write is delivered once it would have been transmitted.

use std::fmt;

use super::Words;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    pub bytes_per_s: u64,
}

impl Bandwidth {
    pub fn parse(w: &mut Words<'_>) -> Result<Self, String> {
        let bytes_per_s: u64 = w.number("a rate in bytes per second")?;
        if bytes_per_s == 0 {
            return Err("`bandwidth`: the rate must be at least 1 byte per second (use `blackhole` for none)".into());
        }
        Ok(Bandwidth { bytes_per_s })
    }

    /// Milliseconds to transmit `len` bytes.
    pub fn transmit_ms(&self, len: usize) -> u64 {
        (len as u64).saturating_mul(1000).div_ceil(self.bytes_per_s)
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bandwidth {}", self.bytes_per_s)
    }
}
