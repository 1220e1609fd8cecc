//! `slicer BYTES DELAY`: every write is cut into writes of at most BYTES,
//! DELAY apart (exercises a receiver's reassembly of MQTT frames).

use std::fmt;

use super::Words;
use crate::duration::fmt_ms;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slicer {
    pub size: usize,
    pub delay_ms: u64,
}

impl Slicer {
    pub fn parse(w: &mut Words<'_>) -> Result<Self, String> {
        let size: usize = w.number("a slice size in bytes")?;
        if size == 0 {
            return Err("`slicer`: the slice size must be at least 1 byte".into());
        }
        Ok(Slicer {
            size,
            delay_ms: w.duration("a delay between slices")?,
        })
    }
}

impl fmt::Display for Slicer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "slicer {} {}", self.size, fmt_ms(self.delay_ms))
    }
}
