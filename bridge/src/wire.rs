//! The application messages carried in [`Kind::Data`](crate::frame::Kind)
//! frames, and the handshake body of a `Hello` frame. Decoded messages
//! borrow from the frame; every field is bounds-checked, so any bytes give
//! a message or a [`WireError`], never a panic.

use resilient_mqtt::codec::QoS;

use crate::caps::{MAX_CLIENT_ID, MAX_PAYLOAD, MAX_TOPIC};

/// The link protocol's version, sent in the first frame each way.
pub const VERSION: u8 = 1;
/// Start of every `Hello` body.
pub const MAGIC: &[u8; 3] = b"RMB";

/// Which end of the link sent a `Hello`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Host = 0,
    Gateway = 1,
}

/// The body of a `Hello` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    pub version: u8,
    pub role: Role,
    /// The sender's boot nonce: new at every boot.
    pub nonce: u32,
    /// The peer's nonce this `Hello` answers (0: none, an announcement).
    pub peer: u32,
    /// The host's handshake number (new at each handshake the host starts;
    /// the gateway echoes it): a repeated `Hello` of the same handshake
    /// does not reset the link a second time.
    pub session: u16,
}

pub const HELLO_LEN: usize = 3 + 1 + 1 + 4 + 4 + 2;

impl Hello {
    pub fn encode(&self) -> [u8; HELLO_LEN] {
        let mut b = [0u8; HELLO_LEN];
        b[..3].copy_from_slice(MAGIC);
        b[3] = self.version;
        b[4] = self.role as u8;
        b[5..9].copy_from_slice(&self.nonce.to_be_bytes());
        b[9..13].copy_from_slice(&self.peer.to_be_bytes());
        b[13..15].copy_from_slice(&self.session.to_be_bytes());
        b
    }

    /// Any version is decoded (so that a mismatch can be reported); the
    /// rest of the layout is fixed for all versions.
    pub fn decode(b: &[u8]) -> Result<Hello, WireError> {
        if b.len() < HELLO_LEN || &b[..3] != MAGIC {
            return Err(WireError::BadHello);
        }
        let role = match b[4] {
            0 => Role::Host,
            1 => Role::Gateway,
            _ => return Err(WireError::BadHello),
        };
        Ok(Hello {
            version: b[3],
            role,
            nonce: u32::from_be_bytes([b[5], b[6], b[7], b[8]]),
            peer: u32::from_be_bytes([b[9], b[10], b[11], b[12]]),
            session: u16::from_be_bytes([b[13], b[14]]),
        })
    }
}

/// Why a broker or the gateway refused a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    /// The broker or the gateway's client refused it (bad topic, too large...).
    Refused = 1,
    /// A QoS 0 publish had been handed to a gateway that then rebooted:
    /// at most once means it is not sent again.
    GatewayLost = 2,
}

/// One application message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg<'a> {
    /// Host -> gateway: the MQTT identity the gateway connects with.
    Configure {
        client_id: &'a str,
        keepalive_s: u16,
        clean_session: bool,
    },
    Publish {
        id: u16,
        qos: QoS,
        retain: bool,
        topic: &'a str,
        payload: &'a [u8],
    },
    Subscribe {
        id: u16,
        qos: QoS,
        filter: &'a str,
    },
    Unsubscribe {
        id: u16,
        filter: &'a str,
    },
    /// Gateway -> host: the MQTT side and the per-host queue.
    Status {
        mqtt_up: bool,
        session_present: bool,
        queued: u16,
        capacity: u16,
    },
    PubDone {
        id: u16,
    },
    PubFailed {
        id: u16,
        reason: FailReason,
    },
    /// `granted` is `None` when the broker refused the subscription.
    SubDone {
        id: u16,
        granted: Option<QoS>,
    },
    UnsubDone {
        id: u16,
    },
    Message {
        qos: QoS,
        retain: bool,
        topic: &'a str,
        payload: &'a [u8],
    },
}

/// Why bytes were not a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    Empty,
    UnknownType(u8),
    Truncated,
    BadQoS,
    BadUtf8,
    TooLong,
    BadHello,
    /// Encoding: the output buffer is too small.
    NoRoom,
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            WireError::Empty => f.write_str("empty message"),
            WireError::UnknownType(t) => write!(f, "unknown message type {t:#04x}"),
            WireError::Truncated => f.write_str("message ends early"),
            WireError::BadQoS => f.write_str("QoS is not 0, 1 or 2"),
            WireError::BadUtf8 => f.write_str("text is not UTF-8"),
            WireError::TooLong => f.write_str("field longer than its limit"),
            WireError::BadHello => f.write_str("not a hello"),
            WireError::NoRoom => f.write_str("message does not fit"),
        }
    }
}

mod t {
    pub const CONFIGURE: u8 = 0x10;
    pub const PUBLISH: u8 = 0x11;
    pub const SUBSCRIBE: u8 = 0x12;
    pub const UNSUBSCRIBE: u8 = 0x13;
    pub const STATUS: u8 = 0x20;
    pub const PUB_DONE: u8 = 0x21;
    pub const PUB_FAILED: u8 = 0x22;
    pub const SUB_DONE: u8 = 0x23;
    pub const UNSUB_DONE: u8 = 0x24;
    pub const MESSAGE: u8 = 0x25;
}

struct W<'b> {
    out: &'b mut [u8],
    n: usize,
}

impl W<'_> {
    fn bytes(&mut self, b: &[u8]) -> Result<(), WireError> {
        let end = self.n + b.len();
        if end > self.out.len() {
            return Err(WireError::NoRoom);
        }
        self.out[self.n..end].copy_from_slice(b);
        self.n = end;
        Ok(())
    }
    fn u8(&mut self, v: u8) -> Result<(), WireError> {
        self.bytes(&[v])
    }
    fn u16(&mut self, v: u16) -> Result<(), WireError> {
        self.bytes(&v.to_be_bytes())
    }
    /// A text with a one-byte length.
    fn str8(&mut self, s: &str, max: usize) -> Result<(), WireError> {
        if s.len() > max || s.len() > 255 {
            return Err(WireError::TooLong);
        }
        self.u8(s.len() as u8)?;
        self.bytes(s.as_bytes())
    }
}

struct R<'a> {
    b: &'a [u8],
}

impl<'a> R<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.b.len() < n {
            return Err(WireError::Truncated);
        }
        let (a, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn str8(&mut self, max: usize) -> Result<&'a str, WireError> {
        let n = self.u8()? as usize;
        if n > max {
            return Err(WireError::TooLong);
        }
        core::str::from_utf8(self.take(n)?).map_err(|_| WireError::BadUtf8)
    }
    fn rest(&mut self, max: usize) -> Result<&'a [u8], WireError> {
        if self.b.len() > max {
            return Err(WireError::TooLong);
        }
        Ok(core::mem::take(&mut self.b))
    }
    fn qos(v: u8) -> Result<QoS, WireError> {
        QoS::from_u8(v).ok_or(WireError::BadQoS)
    }
}

fn flags(qos: QoS, retain: bool) -> u8 {
    qos as u8 | (retain as u8) << 2
}

impl<'a> Msg<'a> {
    /// Writes the message into `out`; returns its length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, WireError> {
        let mut w = W { out, n: 0 };
        match *self {
            Msg::Configure {
                client_id,
                keepalive_s,
                clean_session,
            } => {
                w.u8(t::CONFIGURE)?;
                w.u16(keepalive_s)?;
                w.u8(clean_session as u8)?;
                w.str8(client_id, MAX_CLIENT_ID)?;
            }
            Msg::Publish {
                id,
                qos,
                retain,
                topic,
                payload,
            } => {
                w.u8(t::PUBLISH)?;
                w.u16(id)?;
                w.u8(flags(qos, retain))?;
                w.str8(topic, MAX_TOPIC)?;
                if payload.len() > MAX_PAYLOAD {
                    return Err(WireError::TooLong);
                }
                w.bytes(payload)?;
            }
            Msg::Subscribe { id, qos, filter } => {
                w.u8(t::SUBSCRIBE)?;
                w.u16(id)?;
                w.u8(qos as u8)?;
                w.str8(filter, MAX_TOPIC)?;
            }
            Msg::Unsubscribe { id, filter } => {
                w.u8(t::UNSUBSCRIBE)?;
                w.u16(id)?;
                w.str8(filter, MAX_TOPIC)?;
            }
            Msg::Status {
                mqtt_up,
                session_present,
                queued,
                capacity,
            } => {
                w.u8(t::STATUS)?;
                w.u8(mqtt_up as u8 | (session_present as u8) << 1)?;
                w.u16(queued)?;
                w.u16(capacity)?;
            }
            Msg::PubDone { id } => {
                w.u8(t::PUB_DONE)?;
                w.u16(id)?;
            }
            Msg::PubFailed { id, reason } => {
                w.u8(t::PUB_FAILED)?;
                w.u16(id)?;
                w.u8(reason as u8)?;
            }
            Msg::SubDone { id, granted } => {
                w.u8(t::SUB_DONE)?;
                w.u16(id)?;
                w.u8(granted.map_or(0x80, |q| q as u8))?;
            }
            Msg::UnsubDone { id } => {
                w.u8(t::UNSUB_DONE)?;
                w.u16(id)?;
            }
            Msg::Message {
                qos,
                retain,
                topic,
                payload,
            } => {
                w.u8(t::MESSAGE)?;
                w.u8(flags(qos, retain))?;
                w.str8(topic, MAX_TOPIC)?;
                if payload.len() > MAX_PAYLOAD {
                    return Err(WireError::TooLong);
                }
                w.bytes(payload)?;
            }
        }
        Ok(w.n)
    }

    /// Reads one message.
    pub fn decode(b: &'a [u8]) -> Result<Msg<'a>, WireError> {
        let mut r = R { b };
        let ty = r.u8().map_err(|_| WireError::Empty)?;
        Ok(match ty {
            t::CONFIGURE => {
                let keepalive_s = r.u16()?;
                let clean_session = r.u8()? & 1 == 1;
                let client_id = r.str8(MAX_CLIENT_ID)?;
                Msg::Configure {
                    client_id,
                    keepalive_s,
                    clean_session,
                }
            }
            t::PUBLISH => {
                let id = r.u16()?;
                let f = r.u8()?;
                Msg::Publish {
                    id,
                    qos: R::qos(f & 3)?,
                    retain: f & 4 != 0,
                    topic: r.str8(MAX_TOPIC)?,
                    payload: r.rest(MAX_PAYLOAD)?,
                }
            }
            t::SUBSCRIBE => Msg::Subscribe {
                id: r.u16()?,
                qos: R::qos(r.u8()?)?,
                filter: r.str8(MAX_TOPIC)?,
            },
            t::UNSUBSCRIBE => Msg::Unsubscribe {
                id: r.u16()?,
                filter: r.str8(MAX_TOPIC)?,
            },
            t::STATUS => {
                let f = r.u8()?;
                Msg::Status {
                    mqtt_up: f & 1 != 0,
                    session_present: f & 2 != 0,
                    queued: r.u16()?,
                    capacity: r.u16()?,
                }
            }
            t::PUB_DONE => Msg::PubDone { id: r.u16()? },
            t::PUB_FAILED => Msg::PubFailed {
                id: r.u16()?,
                reason: match r.u8()? {
                    2 => FailReason::GatewayLost,
                    _ => FailReason::Refused,
                },
            },
            t::SUB_DONE => {
                let id = r.u16()?;
                let g = r.u8()?;
                Msg::SubDone {
                    id,
                    granted: if g == 0x80 { None } else { Some(R::qos(g)?) },
                }
            }
            t::UNSUB_DONE => Msg::UnsubDone { id: r.u16()? },
            t::MESSAGE => {
                let f = r.u8()?;
                Msg::Message {
                    qos: R::qos(f & 3)?,
                    retain: f & 4 != 0,
                    topic: r.str8(MAX_TOPIC)?,
                    payload: r.rest(MAX_PAYLOAD)?,
                }
            }
            other => return Err(WireError::UnknownType(other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::MAX_BODY;

    fn rt(m: Msg<'_>) {
        let mut b = [0u8; MAX_BODY];
        let n = m.encode(&mut b).unwrap();
        assert_eq!(Msg::decode(&b[..n]), Ok(m));
    }

    #[test]
    fn every_message_roundtrips() {
        let big = [0xA5u8; MAX_PAYLOAD];
        let topic = core::str::from_utf8(&[b't'; MAX_TOPIC]).unwrap();
        rt(Msg::Configure {
            client_id: "sensor-7",
            keepalive_s: 60,
            clean_session: false,
        });
        rt(Msg::Publish {
            id: 65535,
            qos: QoS::ExactlyOnce,
            retain: true,
            topic,
            payload: &big,
        });
        rt(Msg::Subscribe {
            id: 2,
            qos: QoS::AtLeastOnce,
            filter: "cmd/#",
        });
        rt(Msg::Unsubscribe { id: 3, filter: "x" });
        rt(Msg::Status {
            mqtt_up: true,
            session_present: true,
            queued: 5,
            capacity: 32,
        });
        rt(Msg::PubDone { id: 9 });
        rt(Msg::PubFailed {
            id: 9,
            reason: FailReason::GatewayLost,
        });
        rt(Msg::SubDone {
            id: 1,
            granted: None,
        });
        rt(Msg::SubDone {
            id: 1,
            granted: Some(QoS::ExactlyOnce),
        });
        rt(Msg::UnsubDone { id: 4 });
        rt(Msg::Message {
            qos: QoS::AtMostOnce,
            retain: false,
            topic: "a/b",
            payload: b"",
        });
    }

    #[test]
    fn the_largest_publish_fits_a_frame_body() {
        let big = [1u8; MAX_PAYLOAD];
        let topic = core::str::from_utf8(&[b't'; MAX_TOPIC]).unwrap();
        let mut b = [0u8; MAX_BODY];
        let m = Msg::Publish {
            id: 1,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic,
            payload: &big,
        };
        assert!(m.encode(&mut b).is_ok());
    }

    #[test]
    fn bad_bytes_are_errors() {
        assert_eq!(Msg::decode(&[]), Err(WireError::Empty));
        assert_eq!(Msg::decode(&[0x99]), Err(WireError::UnknownType(0x99)));
        assert_eq!(Msg::decode(&[0x11, 0, 1, 3]), Err(WireError::BadQoS));
        assert_eq!(
            Msg::decode(&[0x11, 0, 1, 1, 5, b'a']),
            Err(WireError::Truncated)
        );
        assert_eq!(
            Msg::decode(&[0x12, 0, 1, 1, 2, 0xff, 0xfe]),
            Err(WireError::BadUtf8)
        );
        assert_eq!(Hello::decode(b"XYZ1234567890"), Err(WireError::BadHello));
    }

    #[test]
    fn hello_roundtrips() {
        let h = Hello {
            version: VERSION,
            role: Role::Gateway,
            nonce: 0xDEADBEEF,
            peer: 7,
            session: 513,
        };
        assert_eq!(Hello::decode(&h.encode()), Ok(h));
    }
}
