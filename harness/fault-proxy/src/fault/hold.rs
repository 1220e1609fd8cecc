//! `hold`: bytes are kept, not lost, and delivered in order once the hold
//! ends (removed, or its `for` elapsed). TCP survives.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold;
