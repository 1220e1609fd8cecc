//! Duplicate: each of the next N PUBLISH packets the broker delivers is sent
//! twice in a row; the second copy carries DUP (QoS 1/2, same packet id), as
//! a broker that redelivers would send it.

use std::fmt;

use super::{no_more, parse_count, FaultParseError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duplicate {
    /// How many deliveries are still to be doubled.
    pub count: u32,
}

impl Duplicate {
    /// `duplicate <n>`.
    pub fn parse(args: &[&str]) -> Result<Self, FaultParseError> {
        let count = parse_count("duplicate", args.first())?;
        no_more("duplicate", args.get(1..).unwrap_or(&[]))?;
        Ok(Duplicate { count })
    }

    pub(crate) fn take(&mut self) -> bool {
        if self.count == 0 {
            return false;
        }
        self.count -= 1;
        true
    }
}

impl fmt::Display for Duplicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "duplicate {}", self.count)
    }
}
