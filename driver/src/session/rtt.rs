//! The adaptive response time (issue 11, "beyond" C3): a round-trip
//! estimator the way TCP sets its retransmission timeout (RFC 6298):
//! smoothed RTT plus four times its mean deviation, clamped to configured
//! bounds. Samples come from PINGREQ/PINGRESP and from publish
//! acknowledgements; Karn's rule keeps resent publishes out (their ack
//! cannot be matched to one transmission).
//!
//! In fixed mode (the default, as in `mqtt_as`) [`Rtt::timeout`] is always
//! `response_time` and samples only feed the diagnostics.

use core::time::Duration;

use super::config::ResponseMode;

/// RFC 6298 gains: alpha = 1/8, beta = 1/4, K = 4.
const K: u32 = 4;

/// The estimator and the timeout it yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rtt {
    mode: ResponseMode,
    /// The fixed response time (and the adaptive timeout before a sample).
    fixed: Duration,
    srtt: Option<Duration>,
    rttvar: Duration,
    samples: u64,
}

impl Rtt {
    pub fn new(mode: ResponseMode, fixed: Duration) -> Self {
        Rtt {
            mode,
            fixed,
            srtt: None,
            rttvar: Duration::ZERO,
            samples: 0,
        }
    }

    /// Feeds one round-trip measurement.
    pub fn sample(&mut self, rtt: Duration) {
        self.samples += 1;
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                let err = rtt.abs_diff(srtt);
                // rttvar = 3/4 rttvar + 1/4 |srtt - rtt|; srtt = 7/8 srtt + 1/8 rtt
                self.rttvar = (self.rttvar * 3 + err) / 4;
                self.srtt = Some((srtt * 7 + rtt) / 8);
            }
        }
    }

    /// How long a reply (PINGRESP, PUBACK, SUBACK, broker_up) may take on
    /// a live connection before a resend or an outage.
    pub fn timeout(&self) -> Duration {
        match self.mode {
            ResponseMode::Fixed => self.fixed,
            ResponseMode::Adaptive { min, max } => {
                let raw = match self.srtt {
                    Some(srtt) => srtt.saturating_add(self.rttvar.saturating_mul(K)),
                    None => self.fixed,
                };
                raw.clamp(min, max)
            }
        }
    }

    /// The wait before resend number `resends + 1` of one publish: the
    /// timeout, doubled for each earlier resend in adaptive mode (TCP's
    /// backoff, so a latency burst costs a few resends, not an outage),
    /// never above the upper bound. Fixed mode resends every
    /// `response_time`, as `mqtt_as` does.
    pub fn resend_after(&self, resends: u8) -> Duration {
        match self.mode {
            ResponseMode::Fixed => self.fixed,
            ResponseMode::Adaptive { max, .. } => {
                let factor = 1u32 << u32::from(resends.min(16));
                self.timeout().saturating_mul(factor).min(max)
            }
        }
    }

    /// Whether the timeout adapts.
    pub fn is_adaptive(&self) -> bool {
        matches!(self.mode, ResponseMode::Adaptive { .. })
    }

    /// The smoothed round-trip time, once measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// Its mean deviation.
    pub fn rttvar(&self) -> Duration {
        self.rttvar
    }

    /// Measurements taken.
    #[cfg(test)]
    pub fn samples(&self) -> u64 {
        self.samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn adaptive() -> Rtt {
        Rtt::new(
            ResponseMode::Adaptive {
                min: ms(1000),
                max: ms(30_000),
            },
            ms(10_000),
        )
    }

    #[test]
    fn fixed_mode_ignores_samples() {
        let mut r = Rtt::new(ResponseMode::Fixed, ms(10_000));
        r.sample(ms(50));
        assert_eq!(r.timeout(), ms(10_000));
        assert_eq!(r.resend_after(3), ms(10_000));
        assert_eq!(r.samples(), 1);
    }

    #[test]
    fn before_a_sample_the_fixed_value_clamped() {
        let r = adaptive();
        assert_eq!(r.timeout(), ms(10_000));
        let small = Rtt::new(
            ResponseMode::Adaptive {
                min: ms(100),
                max: ms(2000),
            },
            ms(10_000),
        );
        assert_eq!(small.timeout(), ms(2000));
    }

    #[test]
    fn rfc6298_first_and_second_sample() {
        let mut r = adaptive();
        r.sample(ms(400));
        // srtt = 400, rttvar = 200 -> 400 + 800
        assert_eq!(r.srtt(), Some(ms(400)));
        assert_eq!(r.timeout(), ms(1200));
        r.sample(ms(800));
        // rttvar = (3*200 + 400)/4 = 250; srtt = (7*400 + 800)/8 = 450
        assert_eq!(r.rttvar(), ms(250));
        assert_eq!(r.srtt(), Some(ms(450)));
        assert_eq!(r.timeout(), ms(1450));
    }

    #[test]
    fn steady_fast_link_reaches_the_lower_bound() {
        let mut r = adaptive();
        for _ in 0..50 {
            r.sample(ms(20));
        }
        assert_eq!(r.timeout(), ms(1000));
    }

    #[test]
    fn jitter_raises_the_timeout_up_to_the_upper_bound() {
        let mut r = adaptive();
        for i in 0..40 {
            r.sample(if i % 2 == 0 { ms(100) } else { ms(4000) });
        }
        let t = r.timeout();
        assert!(t > ms(6000), "variation counts four times: {t:?}");
        for _ in 0..20 {
            r.sample(ms(60_000));
        }
        assert_eq!(r.timeout(), ms(30_000));
    }

    #[test]
    fn resends_back_off_up_to_the_bound() {
        let mut r = adaptive();
        for _ in 0..50 {
            r.sample(ms(500));
        }
        let t = r.timeout();
        assert_eq!(r.resend_after(0), t);
        assert_eq!(r.resend_after(1), t * 2);
        assert_eq!(r.resend_after(2), t * 4);
        assert_eq!(r.resend_after(200), ms(30_000));
    }
}
