//! The harness side of the agent protocol (`fixtures/agents/PROTOCOL.md`):
//! bytes from a board in, [`BoardMsg`]s out, with every problem counted
//! ([`ProtocolStats`]) and none fatal. Framing and message types are the
//! `hil-agent` crate's; this module maps trace lines onto the harness's
//! own [`Event`] vocabulary and keeps the console output.

use hil_agent::frame::{Decoder, FrameError, Item};
use hil_agent::msg::{HelloMsg, Inbound, InboundError};
use hil_agent::MAX_LINE;
use serde::Serialize;

use crate::trace::{Actor, Event};

/// What a board said.
#[derive(Debug, Clone, PartialEq)]
pub enum BoardMsg {
    Hello {
        ms: u64,
        hello: HelloMsg,
    },
    Pong {
        ms: u64,
        id: u64,
    },
    Heap {
        ms: u64,
        free: u64,
    },
    /// The board could not carry out a command.
    AgentError {
        ms: u64,
        message: String,
    },
    /// A trace event of the DUT (actor `dut` or `app`), board time `ms`.
    Trace {
        ms: u64,
        actor: Actor,
        event: Event,
    },
}

/// Counts of everything the reader saw, for the run's report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProtocolStats {
    /// Lines accepted.
    pub lines: u64,
    /// Console bytes (not part of the protocol).
    pub console_bytes: u64,
    /// Protocol lines cut short (no checksum trailer).
    pub partial: u64,
    /// Protocol lines whose checksum did not match.
    pub bad_checksum: u64,
    /// Lines longer than the protocol's limit.
    pub overlong: u64,
    /// Good framing, but the JSON is not a valid message.
    pub bad_json: u64,
    /// Valid JSON, but an event or actor this harness does not know (or
    /// one a board may not emit).
    pub unknown_event: u64,
}

impl ProtocolStats {
    /// Any problem at all.
    pub fn problems(&self) -> u64 {
        self.partial + self.bad_checksum + self.overlong + self.bad_json + self.unknown_event
    }
}

/// The console log is kept up to this size (the oldest bytes go first).
pub const CONSOLE_KEEP: usize = 256 * 1024;

/// Turns the board's byte stream into messages.
#[derive(Default)]
pub struct ProtocolReader {
    decoder: Box<Decoder<{ MAX_LINE + 1 }>>,
    stats: ProtocolStats,
    console: Vec<u8>,
    /// The last problems, for messages (at most 20).
    pub recent_problems: Vec<String>,
}

/// Events a board may send: the DUT's and its application's.
fn board_may_emit(actor: Actor, e: &Event) -> bool {
    use Event::*;
    match actor {
        Actor::Dut => matches!(
            e,
            WifiUp
                | WifiDown
                | Connecting { .. }
                | Connected { .. }
                | ConnectFailed { .. }
                | SessionUncertain
                | ConnectionLost { .. }
                | PublishSent { .. }
                | Puback { .. }
                | Retransmit { .. }
                | StrayAck { .. }
                | BrokerViolation { .. }
                | PingSent
                | Pingresp
                | Message { .. }
                | Discarded { .. }
                | Queued { .. }
                | QueueDropped { .. }
                | QueueRejected { .. }
                | QueueRestored { .. }
                | StorageFailed { .. }
                | Subscribed { .. }
                | Up
                | Down
        ),
        Actor::App => matches!(
            e,
            AppConnectStart
                | AppConnectDone { .. }
                | AppPublishStart { .. }
                | AppPublishDone { .. }
                | AppPublishFailed { .. }
                | AppDisconnect
                | Heartbeat
        ),
        _ => false,
    }
}

/// Parses one accepted line's JSON into a message.
pub fn parse_line(json: &str) -> Result<BoardMsg, (bool, String)> {
    match Inbound::parse(json) {
        Ok(Inbound::Hello { ms, hello }) => Ok(BoardMsg::Hello { ms, hello }),
        Ok(Inbound::Pong { ms, id }) => Ok(BoardMsg::Pong { ms, id }),
        Ok(Inbound::Heap { ms, free }) => Ok(BoardMsg::Heap { ms, free }),
        Ok(Inbound::Error { ms, message }) => Ok(BoardMsg::AgentError { ms, message }),
        Ok(Inbound::Trace { ms, actor, body }) => {
            let actor = if actor == "dut" {
                Actor::Dut
            } else {
                Actor::App
            };
            let name = body
                .get("event")
                .and_then(|e| e.as_str())
                .unwrap_or_default()
                .to_string();
            match serde_json::from_value::<Event>(serde_json::Value::Object(body)) {
                Ok(event) if board_may_emit(actor, &event) => {
                    Ok(BoardMsg::Trace { ms, actor, event })
                }
                Ok(_) => Err((true, format!("`{name}` is not an event of actor {actor}"))),
                Err(e) if e.to_string().contains("unknown variant") => {
                    Err((true, format!("unknown event `{name}`")))
                }
                Err(e) => Err((false, format!("`{name}`: {e}"))),
            }
        }
        Err(InboundError::UnknownEvent(m)) => Err((true, m)),
        Err(InboundError::BadJson(m)) => Err((false, m)),
    }
}

impl ProtocolReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes from the board; the messages they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<BoardMsg> {
        let mut out = Vec::new();
        let mut items: Vec<Result<String, Option<FrameError>>> = Vec::new();
        let console = &mut self.console;
        self.decoder.push(bytes, &mut |i| match i {
            Item::Console(b) => {
                console.extend_from_slice(b);
                items.push(Err(None));
            }
            Item::Line(l) => items.push(Ok(l.to_string())),
            Item::Bad(e) => items.push(Err(Some(e))),
        });
        self.absorb(items, &mut out);
        out
    }

    /// The link closed (reset, port gone): what was buffered is partial.
    pub fn end_of_stream(&mut self) {
        let mut items = Vec::new();
        let console = &mut self.console;
        self.decoder.flush(&mut |i| match i {
            Item::Console(b) => {
                console.extend_from_slice(b);
                items.push(Err(None));
            }
            Item::Line(l) => items.push(Ok(l.to_string())),
            Item::Bad(e) => items.push(Err(Some(e))),
        });
        let mut out = Vec::new();
        self.absorb(items, &mut out);
    }

    fn problem(&mut self, m: String) {
        if self.recent_problems.len() == 20 {
            self.recent_problems.remove(0);
        }
        self.recent_problems.push(m);
    }

    fn absorb(&mut self, items: Vec<Result<String, Option<FrameError>>>, out: &mut Vec<BoardMsg>) {
        if self.console.len() > CONSOLE_KEEP {
            let cut = self.console.len() - CONSOLE_KEEP;
            self.console.drain(..cut);
        }
        for i in items {
            match i {
                Err(None) => {}
                Err(Some(e)) => self.problem(e.to_string()),
                Ok(json) => match parse_line(&json) {
                    Ok(m) => out.push(m),
                    Err((unknown, m)) => {
                        if unknown {
                            self.stats.unknown_event += 1;
                        } else {
                            self.stats.bad_json += 1;
                        }
                        self.problem(m);
                    }
                },
            }
        }
        let f = self.decoder.stats();
        self.stats.lines = f.lines - self.stats.bad_json - self.stats.unknown_event;
        self.stats.console_bytes = f.console_bytes;
        self.stats.partial = f.partial;
        self.stats.bad_checksum = f.bad_checksum + f.not_utf8;
        self.stats.overlong = f.overlong;
    }

    pub fn stats(&self) -> ProtocolStats {
        self.stats
    }

    /// The console output kept so far.
    pub fn console(&self) -> &[u8] {
        &self.console
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hil_agent::frame::encode;
    use proptest::prelude::*;

    #[test]
    fn trace_lines_become_harness_events() {
        let mut r = ProtocolReader::new();
        let msgs = r.push(
            encode(r#"{"ms":7,"actor":"dut","event":"connected","session_present":true,"keepalive_s":6}"#)
                .as_bytes(),
        );
        assert_eq!(
            msgs,
            vec![BoardMsg::Trace {
                ms: 7,
                actor: Actor::Dut,
                event: Event::Connected {
                    session_present: true,
                    keepalive_s: 6
                }
            }]
        );
    }

    #[test]
    fn every_kind_of_problem_is_counted() {
        let mut r = ProtocolReader::new();
        let mut input = String::from("boot log\n");
        input += &encode(r#"{"ms":1,"actor":"dut","event":"warp_drive"}"#); // unknown event
        input += &encode(r#"{"ms":1,"actor":"dut","event":"connected"}"#); // missing fields
        input += &encode(
            r#"{"ms":1,"actor":"dut","event":"run_start","scenario":"x","seed":1,"backend":"b"}"#,
        ); // not the board's
        input += &encode(r#"[1,2]"#); // not an object
        input += "@hil {\"ms\":1,\"act"; // cut by the next line
        input += &encode(r#"{"ms":2,"actor":"app","event":"heartbeat"}"#);
        input += "@hil {\"ms\":3}*00000000\n"; // bad checksum
        input += &format!("@hil {}\n", "x".repeat(2000)); // overlong
        let msgs = r.push(input.as_bytes());
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        let s = r.stats();
        assert_eq!(
            (
                s.unknown_event,
                s.bad_json,
                s.partial,
                s.bad_checksum,
                s.overlong,
                s.lines
            ),
            (2, 2, 1, 1, 1, 1),
            "{s:?} {:?}",
            r.recent_problems
        );
        assert_eq!(r.console(), b"boot log\n");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn never_panics_and_counts_add_up(data in proptest::collection::vec(any::<u8>(), 0..3000),
                                         json in proptest::collection::vec("[ -~]{0,60}", 0..5)) {
            let mut r = ProtocolReader::new();
            let mut input = data.clone();
            for j in &json {
                input.extend_from_slice(encode(j).as_bytes());
            }
            let msgs = r.push(&input);
            r.end_of_stream();
            let s = r.stats();
            prop_assert_eq!(msgs.len() as u64, s.lines);
            prop_assert!(s.console_bytes <= input.len() as u64);
        }
    }
}
