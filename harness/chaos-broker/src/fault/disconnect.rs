//! Disconnect: acts once, when set. Every connected MQTT 5 client of the
//! target gets a server DISCONNECT with this reason code (default 0x8B,
//! server shutting down) and a reason string, then the broker closes the
//! connection and publishes its will, as a broker going down or an
//! operator kicking the client would. A 3.1.1 connection (which has no
//! server DISCONNECT) is just closed. Sessions are kept.

use std::fmt;
use std::time::Duration;

use resilient_mqtt::codec::v5::{PacketType, ReasonCode};

use super::{no_more, FaultHook, FaultParseError, FaultTarget, Standing};
use crate::core::Core;
use crate::log::DisconnectReason;
use crate::v5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnect {
    /// A reason code a server may send in DISCONNECT.
    pub reason: ReasonCode,
}

impl Default for Disconnect {
    fn default() -> Self {
        Disconnect {
            reason: ReasonCode::ServerShuttingDown,
        }
    }
}

impl Disconnect {
    /// `disconnect [code]`, the code as `0x8B` or `139`.
    pub fn parse(args: &[&str]) -> Result<Self, FaultParseError> {
        let Some((code, rest)) = args.split_first() else {
            return Ok(Disconnect::default());
        };
        no_more("disconnect", rest)?;
        let n = match code.strip_prefix("0x").or_else(|| code.strip_prefix("0X")) {
            Some(hex) => u8::from_str_radix(hex, 16).ok(),
            None => code.parse::<u8>().ok(),
        };
        let reason = n
            .and_then(|n| ReasonCode::for_packet(n, PacketType::Disconnect))
            .ok_or_else(|| {
                FaultParseError(format!(
                    "disconnect: `{}` is not a DISCONNECT reason code (e.g. 0x8B server shutting down, 0x98 administrative action, 0x9C use another server)",
                    code.escape_debug()
                ))
            })?;
        Ok(Disconnect { reason })
    }
}

impl FaultHook for Disconnect {
    /// DISCONNECT with the reason to each connected client of the target
    /// (nothing on 3.1.1), then close, will published.
    fn on_set(&self, core: &mut Core, target: &FaultTarget, now: Duration) -> Standing {
        let reason = self.reason;
        for id in core.connected(target) {
            let action = if core.is_v5(id) {
                format!("sent {} and closed", v5::disconnect_summary(reason))
            } else {
                "closed (3.1.1 has no server DISCONNECT)".to_string()
            };
            core.fault_injected(id, action, now);
            core.send_disconnect_v5(id, reason, reason.name());
            core.close(
                id,
                DisconnectReason::Fault(format!("disconnect 0x{:02X}", reason as u8)),
                true,
                now,
            );
        }
        Standing::Done
    }
}

impl fmt::Display for Disconnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "disconnect 0x{:02X}", self.reason as u8)
    }
}

#[cfg(test)]
mod tests {
    use crate::core::testkit::Kit;

    #[test]
    fn a_3_1_1_client_is_just_closed_and_its_session_kept() {
        let mut k = Kit::new();
        let (id, _) = k.connect("dev", false);
        k.fault(Some("dev"), "disconnect");
        assert!(k.out(id).is_empty());
        assert!(k.closing(id));
        assert_eq!(k.injected(), ["closed (3.1.1 has no server DISCONNECT)"]);
        assert_eq!(k.core.sessions(), [("dev".to_string(), false)]);
        assert!(k.core.faults().is_empty(), "it acts once");
    }
}
