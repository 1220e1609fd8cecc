//! `link_resyncs_within{frames}`: after damage on the serial line
//! (`serial_noise`, `serial_drop`, a cut mid-frame) the bridge host's
//! framing finds the next good frame within `frames` damaged frames
//! (`[bridge]` scenarios). The host reports each recovery as
//! `serial_resync {bad_frames}`: how many damaged frames it had to throw
//! away since the last good one. A framing that cannot resynchronise
//! (loses the frame boundary for good, or needs many frames to find it)
//! shows long runs of bad frames, or none at all followed by a link that
//! never comes back (`gateway_down` with no `gateway_up` after the noise
//! while the cable is in).
//!
//! Inconclusive when the trace shows no damaged frame at all (the noise
//! hit nothing, or there was none).

use super::{count_field, secs, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct LinkResyncsWithin {
    pub frames: u64,
}

impl OracleSpec for LinkResyncsWithin {
    const NAME: &'static str = "link_resyncs_within";
    const FIELDS: &'static [&'static str] = &["frames"];
    const SUMMARY: &'static str = "[bridge] after damaged frames on the serial line the bridge host decodes a good frame again within `frames` damaged frames, and its link to the gateway comes back";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let frames = count_field(f, "frames")?;
        if frames == 0 {
            return Err(f.invalid("frames", "must be at least 1"));
        }
        Ok(LinkResyncsWithin { frames })
    }

    fn params(&self) -> String {
        format!("frames={}", self.frames)
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        if s.bridge.is_none() {
            return Err("needs a `[bridge]` table (the DUT is not a serial bridge)".into());
        }
        Ok(())
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let mut failures = Vec::new();
        let mut resyncs = 0u64;
        let mut worst = 0u32;
        for (i, e) in t.of(Actor::Dut) {
            let Event::SerialResync { bad_frames } = e else {
                continue;
            };
            resyncs += 1;
            worst = worst.max(*bad_frames);
            if u64::from(*bad_frames) > self.frames {
                failures.push(Failure::new(
                    format!(
                        "the link needed {bad_frames} damaged frames (> {}) to resynchronise, at {}",
                        self.frames,
                        secs(t.records[i].t_ms)
                    ),
                    vec![t.r(i)],
                ));
            }
        }
        // The link must be up at the end unless the cable is out then.
        let last_link = t
            .of(Actor::Dut)
            .filter(|(_, e)| matches!(e, Event::GatewayUp | Event::GatewayDown))
            .last();
        let cable_out_at_end = {
            let mut out = false;
            for (_, e) in t.of(Actor::Faults) {
                match e {
                    Event::Fault { kind, .. } if kind == "serial_cut" => out = true,
                    Event::FaultEnd { kind } if kind == "serial_cut" => out = false,
                    _ => {}
                }
            }
            out
        };
        if let Some((i, Event::GatewayDown)) = last_link {
            if !cable_out_at_end && t.end_ms().saturating_sub(t.records[i].t_ms) > 10_000 {
                failures.push(Failure::new(
                    format!(
                        "the link to the gateway went down at {} and never came back (the cable was in)",
                        secs(t.records[i].t_ms)
                    ),
                    vec![t.r(i)],
                ));
            }
        }
        if !failures.is_empty() {
            return Outcome::Fail(failures);
        }
        if resyncs == 0 {
            return Outcome::Inconclusive(
                "no damaged frame in the trace: nothing to resynchronise".into(),
            );
        }
        Outcome::Pass.noted(format!(
            "{resyncs} resyncs, the longest after {worst} damaged frame(s)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::Oracle;
    use super::LinkResyncsWithin;
    use crate::trace::Event::*;

    fn o(frames: u64) -> Oracle {
        Oracle::LinkResyncsWithin(LinkResyncsWithin { frames })
    }

    #[test]
    fn passes_when_every_resync_is_quick() {
        let t = trace(vec![
            (0, Dut, GatewayUp),
            (100, Dut, SerialResync { bad_frames: 1 }),
            (200, Dut, SerialResync { bad_frames: 2 }),
            run_end(60_000),
        ]);
        let out = o(2).check(&super::super::Trace::new(&t));
        assert!(
            matches!(out, super::super::Outcome::Noted(ref p, _) if **p == super::super::Outcome::Pass),
            "{out:?}"
        );
    }

    #[test]
    fn fails_on_a_long_run_of_damaged_frames() {
        let t = trace(vec![
            (0, Dut, GatewayUp),
            (100, Dut, SerialResync { bad_frames: 1 }),
            (5_000, Dut, SerialResync { bad_frames: 9 }),
            run_end(60_000),
        ]);
        let f = failures(&o(3), &t);
        assert_eq!(
            f[0].message,
            "the link needed 9 damaged frames (> 3) to resynchronise, at 5.000s"
        );
        assert_eq!(f[0].events[0].index, 2);
    }

    #[test]
    fn fails_when_the_link_never_comes_back_with_the_cable_in() {
        let t = trace(vec![
            (0, Dut, GatewayUp),
            (100, Dut, SerialResync { bad_frames: 1 }),
            (1_000, Dut, GatewayDown),
            run_end(60_000),
        ]);
        let f = failures(&o(3), &t);
        assert!(f[0].message.contains("never came back"), "{}", f[0]);
        // The cable pulled to the end: not the framing's fault.
        let t = trace(vec![
            (0, Dut, GatewayUp),
            (100, Dut, SerialResync { bad_frames: 1 }),
            (
                900,
                Faults,
                Fault {
                    kind: s("serial_cut"),
                    detail: s("for=5m"),
                },
            ),
            (1_000, Dut, GatewayDown),
            run_end(60_000),
        ]);
        assert!(o(3).check(&super::super::Trace::new(&t)) != super::super::Outcome::Fail(vec![]));
        assert!(!matches!(
            o(3).check(&super::super::Trace::new(&t)),
            super::super::Outcome::Fail(_)
        ));
    }

    #[test]
    fn nothing_damaged_is_inconclusive() {
        let t = trace(vec![(0, Dut, GatewayUp), run_end(60_000)]);
        assert!(matches!(
            o(3).check(&super::super::Trace::new(&t)),
            super::super::Outcome::Inconclusive(_)
        ));
    }
}
