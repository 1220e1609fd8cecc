//! The JSON messages of protocol v1 as serde types (needs `alloc`).
//!
//! Harness to board: [`Command`], one per line, tagged by `cmd`.
//! Board to harness: [`Inbound`]; every line has `ms` (the board's
//! monotonic milliseconds since boot), `actor` and `event`. Actor `agent`
//! is the protocol itself (`hello`, `pong`, `heap`, `error`); the actors
//! `dut` and `app` carry the harness's trace vocabulary, same event names
//! and fields (the harness checks those).

use alloc::string::{String, ToString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::PROTOCOL_MAJOR;

/// Harness to board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// The DUT configuration for this run: the broker as the board sees it
    /// (`host:port`, the harness's fault proxy), the seed for the driver's
    /// jitter, and the scenario's `[dut]` table (same keys as the scenario
    /// file; durations as strings like `"500ms"`; never a password value).
    Configure {
        broker: String,
        seed: u64,
        /// The driver's WiFi integrity check before the first connect.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        link_integrity_ms: Option<u64>,
        dut: Value,
    },
    /// Start the application: the scenario's `[workload]` table.
    Start {
        workload: Value,
    },
    /// Take WiFi down; back up after `for_ms` if given, else at `wifi_on`.
    WifiOff {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_ms: Option<u64>,
    },
    WifiOn,
    /// The application calls `disconnect()`.
    Disconnect,
    /// Reboot now (the board says `hello` again when it is back).
    Reboot,
    /// Say `hello` again (the harness opened the port after the board
    /// booted, or reopened it after a reset).
    Hello,
    /// Clock sync: answer `pong {id}` at once.
    Ping {
        id: u64,
    },
    /// Stop the application and the driver (end of run).
    Stop,
}

impl Command {
    /// The JSON text (without framing).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The framed line, ready to send.
    pub fn to_line(&self) -> String {
        crate::frame::encode(&self.to_json())
    }

    /// Parses the JSON text of a command line.
    pub fn parse(json: &str) -> Result<Command, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }
}

/// `hello`, as the harness reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloMsg {
    pub proto: String,
    pub firmware: String,
    pub driver: String,
    pub driver_version: String,
    pub board: String,
    #[serde(default)]
    pub heap: Option<u64>,
}

impl HelloMsg {
    /// Refuses another major version.
    pub fn check_version(&self) -> Result<(), String> {
        let major = self
            .proto
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok());
        match major {
            Some(PROTOCOL_MAJOR) => Ok(()),
            _ => Err(alloc::format!(
                "the board speaks agent protocol `{}`; this harness speaks major version {PROTOCOL_MAJOR} only",
                self.proto
            )),
        }
    }
}

/// Board to harness.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
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
    Error {
        ms: u64,
        message: String,
    },
    /// A trace event of actor `dut` or `app`: `event` and its fields,
    /// ready to be read as the harness's trace event.
    Trace {
        ms: u64,
        actor: String,
        body: Map<String, Value>,
    },
}

/// Why a line's JSON was not understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundError {
    /// Not a JSON object, or `ms` / `actor` / `event` missing or mistyped.
    BadJson(String),
    /// An `agent` event this version does not know, or an unknown actor.
    UnknownEvent(String),
}

impl core::fmt::Display for InboundError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            InboundError::BadJson(m) => write!(f, "bad JSON: {m}"),
            InboundError::UnknownEvent(m) => write!(f, "unknown event: {m}"),
        }
    }
}

impl Inbound {
    /// Parses the JSON text of a board line.
    pub fn parse(json: &str) -> Result<Inbound, InboundError> {
        let v: Value =
            serde_json::from_str(json).map_err(|e| InboundError::BadJson(e.to_string()))?;
        let Value::Object(mut body) = v else {
            return Err(InboundError::BadJson("not a JSON object".into()));
        };
        let ms = body
            .remove("ms")
            .and_then(|m| m.as_u64())
            .ok_or_else(|| InboundError::BadJson("`ms` missing or not an integer".into()))?;
        let actor = match body.remove("actor") {
            Some(Value::String(a)) => a,
            _ => {
                return Err(InboundError::BadJson(
                    "`actor` missing or not a string".into(),
                ))
            }
        };
        let event = match body.get("event") {
            Some(Value::String(e)) => e.clone(),
            _ => {
                return Err(InboundError::BadJson(
                    "`event` missing or not a string".into(),
                ))
            }
        };
        let bad = |e: serde_json::Error| InboundError::BadJson(alloc::format!("`{event}`: {e}"));
        match actor.as_str() {
            "agent" => {
                body.remove("event");
                let obj = Value::Object(body);
                match event.as_str() {
                    "hello" => Ok(Inbound::Hello {
                        ms,
                        hello: serde_json::from_value(obj).map_err(bad)?,
                    }),
                    "pong" => {
                        #[derive(Deserialize)]
                        struct P {
                            id: u64,
                        }
                        let p: P = serde_json::from_value(obj).map_err(bad)?;
                        Ok(Inbound::Pong { ms, id: p.id })
                    }
                    "heap" => {
                        #[derive(Deserialize)]
                        struct H {
                            free: u64,
                        }
                        let h: H = serde_json::from_value(obj).map_err(bad)?;
                        Ok(Inbound::Heap { ms, free: h.free })
                    }
                    "error" => {
                        #[derive(Deserialize)]
                        struct E {
                            message: String,
                        }
                        let e: E = serde_json::from_value(obj).map_err(bad)?;
                        Ok(Inbound::Error {
                            ms,
                            message: e.message,
                        })
                    }
                    other => Err(InboundError::UnknownEvent(alloc::format!("agent/{other}"))),
                }
            }
            "dut" | "app" => Ok(Inbound::Trace { ms, actor, body }),
            other => Err(InboundError::UnknownEvent(alloc::format!(
                "actor `{other}` (expected agent, dut or app)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip() {
        for c in [
            Command::Ping { id: 7 },
            Command::WifiOff { for_ms: Some(3000) },
            Command::WifiOff { for_ms: None },
            Command::Reboot,
            Command::Start {
                workload: serde_json::json!({"heartbeat": "100ms"}),
            },
        ] {
            assert_eq!(Command::parse(&c.to_json()).unwrap(), c);
        }
        assert_eq!(
            Command::Ping { id: 7 }.to_json(),
            r#"{"cmd":"ping","id":7}"#
        );
    }

    #[test]
    fn another_major_version_is_refused() {
        let mut h = HelloMsg {
            proto: "1.3".into(),
            firmware: "f".into(),
            driver: "d".into(),
            driver_version: "0".into(),
            board: "b".into(),
            heap: None,
        };
        assert!(h.check_version().is_ok());
        h.proto = "2.0".into();
        let e = h.check_version().unwrap_err();
        assert!(e.contains("`2.0`") && e.contains("major version 1"), "{e}");
    }

    #[test]
    fn inbound_kinds() {
        assert_eq!(
            Inbound::parse(r#"{"ms":5,"actor":"agent","event":"pong","id":2}"#),
            Ok(Inbound::Pong { ms: 5, id: 2 })
        );
        assert!(matches!(
            Inbound::parse(r#"{"ms":5,"actor":"agent","event":"reboot_me"}"#),
            Err(InboundError::UnknownEvent(_))
        ));
        assert!(matches!(
            Inbound::parse(r#"{"ms":-1,"actor":"dut","event":"up"}"#),
            Err(InboundError::BadJson(_))
        ));
        assert!(matches!(
            Inbound::parse(r#"{"ms":9,"actor":"dut","event":"up"}"#),
            Ok(Inbound::Trace { ms: 9, .. })
        ));
    }
}
