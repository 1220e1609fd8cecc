//! `disconnect_reason{code, from}` (MQTT 5): a DISCONNECT with reason
//! `code` went the way `from` says, and was seen at the other end.
//!
//! - `from = "broker"`: the DUT reported the server's DISCONNECT: one of
//!   its `connection_lost` reasons names the code (e.g. `server
//!   disconnected: server shutting down (0x8b)`). A DUT that only says
//!   "closed by broker" fails.
//! - `from = "dut"`: the broker received a DISCONNECT with the code from
//!   a client other than the observer's (e.g. 0x93 after a
//!   receive-maximum violation); needs the broker's packet log, i.e. the
//!   simulator.
//!
//! `code` is written as TOML allows, e.g. `0x8B`.

use super::{Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::scenario::fields::Fields;
use crate::scenario::Scenario;
use crate::trace::{Actor, Dir, Event};

#[derive(Debug, Clone, PartialEq)]
pub struct DisconnectReason {
    pub code: u8,
    pub from_dut: bool,
}

impl OracleSpec for DisconnectReason {
    const NAME: &'static str = "disconnect_reason";
    const FIELDS: &'static [&'static str] = &["code", "from"];
    const SUMMARY: &'static str =
        "MQTT 5: a DISCONNECT with reason `code` was sent `from` \"broker\" (the DUT reports it) or \"dut\" (the broker got it)";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let code: i64 = f.req("code")?;
        let Ok(code) = u8::try_from(code) else {
            return Err(f.invalid("code", format!("a reason code is 0x00 to 0xFF, not {code}")));
        };
        let from: String = f.req("from")?;
        let from_dut = match from.as_str() {
            "dut" => true,
            "broker" => false,
            other => {
                return Err(f.invalid(
                    "from",
                    format!("`from` is \"broker\" or \"dut\", not {other:?}"),
                ))
            }
        };
        Ok(DisconnectReason { code, from_dut })
    }

    fn params(&self) -> String {
        format!(
            "code=0x{:02X} from={}",
            self.code,
            if self.from_dut { "dut" } else { "broker" }
        )
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        if s.dut.mqtt != 5 {
            return Err("needs `mqtt = 5` in [dut] (3.1.1 has no DISCONNECT reason codes)".into());
        }
        Ok(())
    }

    fn needs_why(&self) -> &'static str {
        "the MQTT 5 reason code the DUT reported in its `connection_lost`; the wire view reads MQTT 3.1.1"
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        let found = if self.from_dut {
            let want = format!("DISCONNECT rc=0x{:02X}", self.code);
            t.of(Actor::Broker).any(|(_, e)| {
                matches!(e, Event::BrokerPacket { dir: Dir::In, client_id, summary, .. }
                    if summary.starts_with(&want) && !client_id.starts_with("observer-"))
            })
        } else {
            let want = format!("({:#04x})", self.code);
            t.of(Actor::Dut).any(|(_, e)| {
                matches!(e, Event::ConnectionLost { reason } if reason.to_lowercase().contains(&want))
            })
        };
        if found {
            return Outcome::from_failures(vec![]);
        }
        let message = if self.from_dut {
            format!(
                "the broker never received a DISCONNECT with reason 0x{:02X} from the DUT",
                self.code
            )
        } else {
            let lost: Vec<String> = t
                .of(Actor::Dut)
                .filter_map(|(_, e)| match e {
                    Event::ConnectionLost { reason } => Some(format!("{reason:?}")),
                    _ => None,
                })
                .collect();
            format!(
                "no connection_lost of the DUT names reason 0x{:02X} (it said: {})",
                self.code,
                if lost.is_empty() {
                    "nothing".to_string()
                } else {
                    lost.join(", ")
                }
            )
        };
        Outcome::from_failures(vec![Failure::new(message, vec![])])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Dir;
    use crate::trace::Event::*;

    // Built directly: parsing needs a scenario with `mqtt = 5`, which the
    // shared test scenario is not (the requirement is tested below).
    fn o(code: u8, from_dut: bool) -> super::super::Oracle {
        super::super::Oracle::DisconnectReason(super::DisconnectReason { code, from_dut })
    }

    #[test]
    fn needs_mqtt5() {
        let r = std::panic::catch_unwind(|| {
            oracle("oracle = \"disconnect_reason\"\ncode = 0x8B\nfrom = \"broker\"")
        });
        assert!(r.is_err(), "a 3.1.1 scenario is refused");
    }

    #[test]
    fn the_dut_reports_the_servers_reason() {
        let o = o(0x8B, false);
        let lost = |r: &str| ConnectionLost { reason: s(r) };
        passes(
            &o,
            &trace(vec![
                (
                    10,
                    Dut,
                    lost("server disconnected: server shutting down (0x8b): bye"),
                ),
                run_end(1_000),
            ]),
        );
        let f = failures(
            &o,
            &trace(vec![(10, Dut, lost("closed by broker")), run_end(1_000)]),
        );
        assert!(f[0].message.contains("\"closed by broker\""), "{f:?}");
    }

    #[test]
    fn the_broker_got_the_duts_reason() {
        let o = o(0x93, true);
        let pkt = |id: &str, summary: &str| BrokerPacket {
            dir: Dir::In,
            client_id: s(id),
            summary: s(summary),
            queued_ms: None,
        };
        passes(
            &o,
            &trace(vec![
                (
                    10,
                    Broker,
                    pkt("dut-1", "DISCONNECT rc=0x93 (receive maximum exceeded)"),
                ),
                run_end(1_000),
            ]),
        );
        let f = failures(
            &o,
            &trace(vec![
                (10, Broker, pkt("observer-sub", "DISCONNECT rc=0x93")),
                (11, Broker, pkt("dut-1", "DISCONNECT rc=0x00 (success)")),
                run_end(1_000),
            ]),
        );
        assert!(f[0].message.contains("never received"), "{f:?}");
    }
}
