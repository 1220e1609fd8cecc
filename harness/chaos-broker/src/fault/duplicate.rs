//! Duplicate: each of the next N PUBLISH packets the broker delivers is sent
//! twice in a row; the second copy carries DUP (QoS 1/2, same packet id), as
//! a broker that redelivers would send it.

use std::fmt;

use super::{no_more, parse_count, FaultHook, FaultParseError};

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

impl FaultHook for Duplicate {
    fn duplicates(&mut self) -> bool {
        self.take()
    }

    fn spent(&self) -> bool {
        self.count == 0
    }
}

impl fmt::Display for Duplicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "duplicate {}", self.count)
    }
}

#[cfg(test)]
mod tests {
    use crate::core::testkit::{publish, Kit};

    #[test]
    fn the_publish_is_sent_twice_the_copy_with_dup() {
        let mut k = Kit::new();
        let s = k.subscriber("sub", true, "t", 1);
        k.fault(None, "duplicate 1");
        let (p, _) = k.connect("pub", true);
        k.send(p, publish("t", b"x", 1, 1, false));
        assert_eq!(
            k.out(s),
            [
                "PUBLISH pid=1 qos=1 dup=0 retain=0 topic=t len=1",
                "PUBLISH pid=1 qos=1 dup=1 retain=0 topic=t len=1",
            ]
        );
        assert_eq!(k.injected(), ["PUBLISH to t sent twice"]);
        assert!(k.core.faults().is_empty());
    }
}
