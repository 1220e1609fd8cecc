//! `retransmits_per_message_at_most{n}`: no single message was resent more
//! than `n` times (`publish_sent` with `dup = true`, counted per message
//! `msg`, across reconnections), and no PUBREL for one QoS 2 publish more
//! than `n` times (`pubrel_sent` with `resend = true`, per packet id until
//! its `puback`). `retransmits_at_most` bounds the run's total; this one
//! finds the message a DUT kept resending (P3: `max_repubs`, B5: one lost
//! PUBACK costs one resend).

use std::collections::BTreeMap;

use super::Evidence;
use super::{count_field, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::trace::{Actor, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct RetransmitsPerMessageAtMost {
    pub n: u64,
}

impl OracleSpec for RetransmitsPerMessageAtMost {
    const NAME: &'static str = "retransmits_per_message_at_most";
    const FIELDS: &'static [&'static str] = &["n"];
    const SUMMARY: &'static str =
        "no message resent (DUP publish, or PUBREL resend) more than `n` times";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        Ok(RetransmitsPerMessageAtMost {
            n: count_field(f, "n")?,
        })
    }

    fn params(&self) -> String {
        format!("n={}", self.n)
    }

    fn needs(&self) -> &'static [Evidence] {
        &[Evidence::Wire, Evidence::Messages]
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        // msg -> the records of its resends.
        let mut resends: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        // pid -> (msg of the QoS 2 publish holding it, its PUBREL resends).
        let mut pubrels: BTreeMap<u16, (String, Vec<usize>)> = BTreeMap::new();
        for (i, e) in t.of(Actor::Dut) {
            match e {
                Event::PublishSent { dup: true, msg, .. } => {
                    resends.entry(msg.clone()).or_default().push(i)
                }
                Event::PublishSent {
                    pid: Some(p),
                    qos: 2,
                    msg,
                    ..
                } => {
                    pubrels.insert(*p, (msg.clone(), vec![]));
                }
                Event::PubrelSent { pid, resend: true } => {
                    if let Some((_, v)) = pubrels.get_mut(pid) {
                        v.push(i);
                    }
                }
                Event::Puback { pid } => {
                    if let Some((msg, v)) = pubrels.remove(pid) {
                        resends
                            .entry(format!("{msg} (PUBREL)"))
                            .or_default()
                            .extend(v);
                    }
                }
                _ => {}
            }
        }
        for (_, (msg, v)) in pubrels {
            resends
                .entry(format!("{msg} (PUBREL)"))
                .or_default()
                .extend(v);
        }
        let failures: Vec<Failure> = resends
            .iter()
            .filter(|(_, v)| v.len() as u64 > self.n)
            .map(|(msg, v)| {
                Failure::new(
                    format!(
                        "{msg} was resent {} times, more than the {} allowed",
                        v.len(),
                        self.n
                    ),
                    v.iter().map(|&i| t.r(i)).collect(),
                )
            })
            .collect();
        Outcome::from_failures(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;

    fn sent(pid: u16, qos: u8, dup: bool, msg: &str) -> crate::trace::Event {
        PublishSent {
            pid: Some(pid),
            qos,
            dup,
            topic: s("t"),
            msg: s(msg),
        }
    }

    #[test]
    fn counts_per_message_not_per_run() {
        let o = oracle("oracle = \"retransmits_per_message_at_most\"\nn = 1");
        let ok = trace(vec![
            (1, Dut, sent(1, 1, false, "dut-0:1")),
            (2, Dut, sent(2, 1, false, "dut-0:2")),
            (3, Dut, sent(1, 1, true, "dut-0:1")),
            (4, Dut, sent(2, 1, true, "dut-0:2")),
            run_end(10),
        ]);
        passes(&o, &ok);
        let mut bad = ok.clone();
        bad.insert(
            4,
            crate::trace::Record::new(5, Dut, sent(5, 1, true, "dut-0:2")),
        );
        let f = failures(&o, &bad);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "dut-0:2 was resent 2 times, more than the 1 allowed"
        );
        assert_eq!(
            f[0].events.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![3, 4]
        );
    }

    #[test]
    fn counts_pubrel_resends_of_a_qos2_publish() {
        let o = oracle("oracle = \"retransmits_per_message_at_most\"\nn = 1");
        let t = trace(vec![
            (1, Dut, sent(7, 2, false, "dut-0:1")),
            (
                2,
                Dut,
                PubrelSent {
                    pid: 7,
                    resend: false,
                },
            ),
            (
                3,
                Dut,
                PubrelSent {
                    pid: 7,
                    resend: true,
                },
            ),
            (
                4,
                Dut,
                PubrelSent {
                    pid: 7,
                    resend: true,
                },
            ),
            (5, Dut, Puback { pid: 7 }),
            run_end(10),
        ]);
        let f = failures(&o, &t);
        assert!(
            f[0].message
                .starts_with("dut-0:1 (PUBREL) was resent 2 times"),
            "{}",
            f[0]
        );
    }
}
