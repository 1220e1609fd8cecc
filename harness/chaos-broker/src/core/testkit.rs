//! The core's unit-test kit, sans-IO: packets go in (encoded with the
//! driver's codec), packet summaries (the packet log's format) and broker
//! events come out, and time moves only when a test moves it. Used by the
//! tests of each `core/` file and of each fault in [`crate::fault`].

use std::time::Duration;

use resilient_mqtt::codec::{
    decode, Connect, Decoded, List, Packet, Pid, PubAck, PubComp, PubRec, PubRel, Publish, QoS,
    QosPid, Subscribe, SubscribeTopic,
};

use super::{ConnId, Core};
use crate::config::BrokerConfig;
use crate::fault::{Fault, FaultTarget};
use crate::log::{summarize, BrokerEvent, LogRecord};

/// A core and a hand-moved clock.
pub(crate) struct Kit {
    pub core: Core,
    pub now: Duration,
}

pub(crate) fn pid(n: u16) -> Pid {
    Pid::new(n).expect("non-zero pid")
}

pub(crate) fn qos(n: u8) -> QoS {
    QoS::from_u8(n).expect("qos 0..=2")
}

/// A CONNECT with keepalive 60 and no will.
pub(crate) fn connect(client_id: &str, clean: bool) -> Packet<'_> {
    Packet::Connect(Connect {
        client_id,
        keep_alive: 60,
        clean_session: clean,
        will: None,
        username: None,
        password: None,
    })
}

/// A PUBLISH with QoS `q` (pid `p` unless QoS 0).
pub(crate) fn publish<'a>(
    topic: &'a str,
    payload: &'a [u8],
    q: u8,
    p: u16,
    retain: bool,
) -> Packet<'a> {
    let qospid = match q {
        0 => QosPid::AtMostOnce,
        1 => QosPid::AtLeastOnce(pid(p)),
        _ => QosPid::ExactlyOnce(pid(p)),
    };
    Packet::Publish(Publish {
        dup: false,
        qospid,
        retain,
        topic,
        payload,
    })
}

pub(crate) fn puback(p: u16) -> Packet<'static> {
    Packet::PubAck(PubAck(pid(p)))
}

pub(crate) fn pubrec(p: u16) -> Packet<'static> {
    Packet::PubRec(PubRec(pid(p)))
}

pub(crate) fn pubrel(p: u16) -> Packet<'static> {
    Packet::PubRel(PubRel(pid(p)))
}

pub(crate) fn pubcomp(p: u16) -> Packet<'static> {
    Packet::PubComp(PubComp(pid(p)))
}

impl Kit {
    /// A broker with the default configuration at time 0.
    pub(crate) fn new() -> Kit {
        Kit::with(BrokerConfig::default())
    }

    pub(crate) fn with(config: BrokerConfig) -> Kit {
        Kit {
            core: Core::new(config),
            now: Duration::ZERO,
        }
    }

    /// Opens a connection.
    pub(crate) fn open(&mut self) -> ConnId {
        self.core.open(self.now)
    }

    /// A packet from the client on `id`.
    pub(crate) fn send(&mut self, id: ConnId, p: Packet<'_>) {
        let mut bytes = Vec::new();
        p.encode_to_vec(&mut bytes).expect("encodable test packet");
        self.core.handle_input(id, &bytes, self.now);
    }

    /// Opens a connection and sends CONNECT; returns it and what came back.
    pub(crate) fn connect(&mut self, client_id: &str, clean: bool) -> (ConnId, Vec<String>) {
        let id = self.open();
        self.send(id, connect(client_id, clean));
        let out = self.out(id);
        (id, out)
    }

    /// A connected client subscribed to `filter` at QoS `q`.
    pub(crate) fn subscriber(
        &mut self,
        client_id: &str,
        clean: bool,
        filter: &str,
        q: u8,
    ) -> ConnId {
        let (id, out) = self.connect(client_id, clean);
        assert_eq!(out[0].split(" rc=").nth(1), Some("0"), "{out:?}");
        self.subscribe(id, 1, filter, q);
        let out = self.out(id);
        assert_eq!(out[0], format!("SUBACK pid=1 codes={q}"));
        id
    }

    pub(crate) fn subscribe(&mut self, id: ConnId, p: u16, filter: &str, q: u8) {
        let topics = [SubscribeTopic {
            filter,
            qos: qos(q),
        }];
        self.send(
            id,
            Packet::Subscribe(Subscribe {
                pid: pid(p),
                topics: List::new(&topics),
            }),
        );
    }

    /// Everything the broker lets out on `id` now, as packet summaries; a
    /// packet cut short shows as `PARTIAL <n> bytes`.
    pub(crate) fn out(&mut self, id: ConnId) -> Vec<String> {
        let mut bytes = Vec::new();
        while let Some(b) = self.core.poll_transmit(id, self.now) {
            bytes.extend_from_slice(&b);
        }
        let mut summaries = Vec::new();
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            match decode(rest, usize::MAX) {
                Ok(Decoded::Packet { packet, len }) => {
                    summaries.push(summarize(&packet));
                    rest = &rest[len..];
                }
                Ok(Decoded::Incomplete { .. }) => {
                    summaries.push(format!("PARTIAL {} bytes", rest.len()));
                    break;
                }
                Err(e) => panic!("broker sent a malformed packet: {e}"),
            }
        }
        summaries
    }

    /// Moves the clock and serves the deadlines.
    pub(crate) fn advance(&mut self, by: Duration) {
        self.now += by;
        self.core.handle_timeout(self.now);
    }

    /// The events since the last call.
    pub(crate) fn events(&mut self) -> Vec<BrokerEvent> {
        self.core
            .take_records()
            .into_iter()
            .filter_map(|r| match r {
                LogRecord::Event(e) => Some(e.event),
                LogRecord::Packet(_) => None,
            })
            .collect()
    }

    /// The `FaultInjected` actions since the last call (other events are
    /// dropped).
    pub(crate) fn injected(&mut self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                BrokerEvent::FaultInjected { action, .. } => Some(action),
                _ => None,
            })
            .collect()
    }

    /// Sets a fault from control words, for all clients or one.
    pub(crate) fn fault(&mut self, client: Option<&str>, words: &str) {
        let w: Vec<&str> = words.split_whitespace().collect();
        let target = client.map_or(FaultTarget::All, |c| FaultTarget::Client(c.into()));
        let fault = Fault::parse(&w).expect("valid fault words");
        self.core.set_fault(target, fault, self.now);
    }

    pub(crate) fn clear(&mut self) {
        self.core.clear_faults(None, self.now);
    }

    /// Whether the shell would close `id` now (closing and flushed, or gone).
    pub(crate) fn closing(&self, id: ConnId) -> bool {
        self.core.should_close(id)
    }

    /// The transport of `id` ended.
    pub(crate) fn drop_conn(&mut self, id: ConnId) {
        self.core.handle_closed(id, self.now);
    }
}
