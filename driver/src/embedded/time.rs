//! Time for the embedded shell: a [`Clock`] that reads the board's
//! monotonic timer as a session [`Instant`], and waiting through
//! `embedded_hal_async::delay::DelayNs`.
//!
//! Why `DelayNs` and not a trait of our own: every embassy HAL and
//! `embassy_time::Delay` already implement it, so firmware passes an object
//! it has; the shell only needs "wait this long", and it is cancel-safe in
//! those implementations (the shell drops a pending delay when a read or a
//! request wins the race). Deadlines are turned into durations with the
//! clock, so the delay never needs to know absolute time.

use core::time::Duration;

use embedded_hal_async::delay::DelayNs;

use crate::session::Instant;

/// A monotonic clock. `now()` must never go backwards; its origin is the
/// implementation's choice (boot, or when the client was built).
pub trait Clock {
    /// The current time as a session instant.
    fn now(&self) -> Instant;
}

/// Waits `d` with `delay`, rounding up to whole microseconds (a delay that
/// ends early would make the shell wake, find nothing due, and wait again).
pub(crate) async fn sleep<D: DelayNs>(delay: &mut D, d: Duration) {
    // Long waits in milliseconds (u32 of them is 49 days), short ones in
    // microseconds (u32 of them is 71 minutes).
    if d >= Duration::from_secs(60) {
        let ms = d.as_millis() + u128::from(d.subsec_nanos() % 1_000_000 != 0);
        delay.delay_ms(u32::try_from(ms).unwrap_or(u32::MAX)).await;
    } else {
        let us = d.as_micros() + u128::from(d.subsec_nanos() % 1_000 != 0);
        delay.delay_us(us as u32).await;
    }
}
