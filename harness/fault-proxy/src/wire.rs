//! The wire tap: what a device did, as seen in the bytes it exchanged with
//! the broker through the proxy. A harness that cannot instrument the
//! device (a black-box client, firmware it did not build) subscribes with
//! [`crate::Proxy::set_wire_tap`] and turns these events into the device's
//! side of its trace.
//!
//! What is reported, and when:
//! - [`WireEvent::Opened`]: the device opened a TCP connection (reported
//!   at accept, also when a `refuse` rule then turns it away);
//! - [`WireEvent::Packet`] with [`crate::fault::Dir::Up`]: a whole MQTT
//!   packet the device sent, when the proxy read it (before any fault: it is
//!   what the device did, even if the proxy then drops it);
//! - [`WireEvent::Packet`] with [`crate::fault::Dir::Down`]: a whole packet
//!   the device received, when the proxy wrote it (after the faults: a
//!   dropped PUBACK never reaches the tap, a rewritten CONNACK does);
//! - [`WireEvent::Closed`]: the connection ended, and who ended it
//!   ([`Closer`]): the device's FIN or RST, or the proxy (the broker went,
//!   a fault closed it, the proxy stopped).
//!
//! [`Framer`] is the sans-IO part: bytes in, whole packets out ([`Packet`],
//! owned summaries of the driver's codec), across any segmentation. Bytes
//! that are not MQTT 3.1.1 stop the framer for the rest of the connection
//! ([`Framer::is_broken`]); nothing here panics on any input.

use std::sync::Arc;

use resilient_mqtt::codec::{decode, ConnectReturnCode, Decoded, Packet as Codec, QoS, SubAckCode};

use crate::fault::Dir;

/// The largest packet the tap decodes (the proxy forwards larger ones; the
/// tap then stops reading that connection).
pub const MAX_TAPPED_PACKET: usize = 1 << 20;

/// One MQTT packet, as the tap saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Connect {
        client_id: String,
        clean_session: bool,
        keep_alive: u16,
    },
    /// `code`: 0 = accepted.
    Connack {
        session_present: bool,
        code: u8,
    },
    Publish {
        /// `None` for QoS 0.
        pid: Option<u16>,
        qos: u8,
        dup: bool,
        retain: bool,
        topic: String,
        payload: Vec<u8>,
    },
    Puback {
        pid: u16,
    },
    Pubrec {
        pid: u16,
    },
    Pubrel {
        pid: u16,
    },
    Pubcomp {
        pid: u16,
    },
    Subscribe {
        pid: u16,
        /// (filter, requested qos)
        topics: Vec<(String, u8)>,
    },
    /// Granted qos per topic (0x80 = failure).
    Suback {
        pid: u16,
        codes: Vec<u8>,
    },
    Unsubscribe {
        pid: u16,
    },
    Unsuback {
        pid: u16,
    },
    Pingreq,
    Pingresp,
    Disconnect,
}

fn qos_u8(q: QoS) -> u8 {
    q as u8
}

impl Packet {
    fn from_codec(p: &Codec<'_>) -> Packet {
        match p {
            Codec::Connect(c) => Packet::Connect {
                client_id: c.client_id.to_string(),
                clean_session: c.clean_session,
                keep_alive: c.keep_alive,
            },
            Codec::ConnAck(c) => Packet::Connack {
                session_present: c.session_present,
                code: match c.code {
                    ConnectReturnCode::Accepted => 0,
                    other => other as u8,
                },
            },
            Codec::Publish(p) => Packet::Publish {
                pid: p.qospid.pid().map(|x| x.get()),
                qos: qos_u8(p.qospid.qos()),
                dup: p.dup,
                retain: p.retain,
                topic: p.topic.to_string(),
                payload: p.payload.to_vec(),
            },
            Codec::PubAck(a) => Packet::Puback { pid: a.0.get() },
            Codec::PubRec(a) => Packet::Pubrec { pid: a.0.get() },
            Codec::PubRel(a) => Packet::Pubrel { pid: a.0.get() },
            Codec::PubComp(a) => Packet::Pubcomp { pid: a.0.get() },
            Codec::Subscribe(s) => Packet::Subscribe {
                pid: s.pid.get(),
                topics: s
                    .topics
                    .iter()
                    .map(|t| (t.filter.to_string(), qos_u8(t.qos)))
                    .collect(),
            },
            Codec::SubAck(s) => Packet::Suback {
                pid: s.pid.get(),
                codes: s
                    .codes
                    .iter()
                    .map(|c| match c {
                        SubAckCode::Granted(q) => qos_u8(q),
                        SubAckCode::Failure => 0x80,
                    })
                    .collect(),
            },
            Codec::Unsubscribe(u) => Packet::Unsubscribe { pid: u.pid.get() },
            Codec::UnsubAck(a) => Packet::Unsuback { pid: a.0.get() },
            Codec::PingReq => Packet::Pingreq,
            Codec::PingResp => Packet::Pingresp,
            Codec::Disconnect => Packet::Disconnect,
        }
    }
}

/// Who ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closer {
    /// The device closed it (FIN).
    DeviceFin,
    /// The device reset it (RST), or its socket failed.
    DeviceReset,
    /// The proxy closed it: the broker closed or went away, a fault (a
    /// `refuse`, `reset-peer`, `close-after`...), or the proxy stopped.
    Proxy,
}

/// What the tap reports, per connection (`conn` is the proxy's connection
/// number, as in its log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireEvent {
    Opened { conn: u64 },
    Packet { conn: u64, dir: Dir, packet: Packet },
    Closed { conn: u64, by: Closer },
}

/// Where a proxy sends its wire events (called from the proxy's tasks, in
/// the order things happen on each connection).
pub type WireTap = Arc<dyn Fn(WireEvent) + Send + Sync>;

/// One direction of one connection: bytes in, whole packets out.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
    broken: Option<String>,
}

impl Framer {
    pub fn new() -> Framer {
        Framer::default()
    }

    /// Why the framer stopped (bytes that are not MQTT 3.1.1), if it did.
    pub fn is_broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    /// Takes `bytes`; returns every packet they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Packet> {
        let mut out = Vec::new();
        if self.broken.is_some() {
            return out;
        }
        self.buf.extend_from_slice(bytes);
        let mut used = 0;
        loop {
            match decode(&self.buf[used..], MAX_TAPPED_PACKET) {
                Ok(Decoded::Packet { packet, len }) => {
                    out.push(Packet::from_codec(&packet));
                    used += len;
                }
                Ok(Decoded::Incomplete { .. }) => break,
                Err(e) => {
                    self.broken = Some(format!("{e:?}"));
                    self.buf = Vec::new();
                    return out;
                }
            }
        }
        self.buf.drain(..used);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A paho-mqtt 2.2 session as captured between it and mosquitto:
    /// CONNECT (client `dut-q`, keepalive 60, clean), CONNACK, a QoS 1
    /// PUBLISH of `7` to `peers/dut-q/seq` with pid 1, its PUBACK, the same
    /// publish resent with DUP, PINGREQ, PINGRESP, SUBSCRIBE/SUBACK.
    const UP: &[u8] = &[
        0x10, 0x11, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x05, b'd',
        b'u', b't', b'-', b'q', // CONNECT
        0x32, 0x14, 0x00, 0x0f, b'p', b'e', b'e', b'r', b's', b'/', b'd', b'u', b't', b'-', b'q',
        b'/', b's', b'e', b'q', 0x00, 0x01, b'7', // PUBLISH qos 1 pid 1
        0x3a, 0x14, 0x00, 0x0f, b'p', b'e', b'e', b'r', b's', b'/', b'd', b'u', b't', b'-', b'q',
        b'/', b's', b'e', b'q', 0x00, 0x01, b'7', // the same, DUP
        0xc0, 0x00, // PINGREQ
        0x82, 0x08, 0x00, 0x02, 0x00, 0x03, b'c', b'/', b'x', 0x01, // SUBSCRIBE c/x qos 1
    ];
    const DOWN: &[u8] = &[
        0x20, 0x02, 0x01, 0x00, // CONNACK session present, accepted
        0x40, 0x02, 0x00, 0x01, // PUBACK 1
        0xd0, 0x00, // PINGRESP
        0x90, 0x03, 0x00, 0x02, 0x01, // SUBACK qos 1
    ];

    fn up_packets() -> Vec<Packet> {
        let publish = |dup| Packet::Publish {
            pid: Some(1),
            qos: 1,
            dup,
            retain: false,
            topic: "peers/dut-q/seq".into(),
            payload: b"7".to_vec(),
        };
        vec![
            Packet::Connect {
                client_id: "dut-q".into(),
                clean_session: true,
                keep_alive: 60,
            },
            publish(false),
            publish(true),
            Packet::Pingreq,
            Packet::Subscribe {
                pid: 2,
                topics: vec![("c/x".into(), 1)],
            },
        ]
    }

    #[test]
    fn a_recorded_session_reads_as_its_packets() {
        assert_eq!(Framer::new().push(UP), up_packets());
        assert_eq!(
            Framer::new().push(DOWN),
            vec![
                Packet::Connack {
                    session_present: true,
                    code: 0
                },
                Packet::Puback { pid: 1 },
                Packet::Pingresp,
                Packet::Suback {
                    pid: 2,
                    codes: vec![1]
                },
            ]
        );
    }

    #[test]
    fn a_refused_connack_keeps_its_code() {
        let p = Framer::new().push(&[0x20, 0x02, 0x00, 0x05]);
        assert_eq!(
            p,
            vec![Packet::Connack {
                session_present: false,
                code: 5
            }]
        );
    }

    #[test]
    fn bytes_that_are_not_mqtt_stop_the_framer() {
        let mut f = Framer::new();
        assert_eq!(f.push(b"GET / HTTP/1.1\r\n"), vec![]);
        assert!(f.is_broken().is_some());
        assert_eq!(f.push(DOWN), vec![], "nothing after the framer stopped");
    }

    proptest! {
        /// Any segmentation of the recorded bytes gives the same packets.
        #[test]
        fn segmentation_does_not_matter(cuts in proptest::collection::vec(0usize..UP.len(), 0..12)) {
            let mut cuts = cuts;
            cuts.push(0);
            cuts.push(UP.len());
            cuts.sort_unstable();
            let mut f = Framer::new();
            let mut got = Vec::new();
            for w in cuts.windows(2) {
                got.extend(f.push(&UP[w[0]..w[1]]));
            }
            prop_assert_eq!(got, up_packets());
        }

        #[test]
        fn never_panics(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..6)) {
            let mut f = Framer::new();
            for c in chunks {
                let _ = f.push(&c);
            }
        }
    }
}
