//! Messages from the broker (S2-S4, P5): acknowledged by QoS, QoS 2
//! duplicates recognised until PUBREL (a new message on such an id is a
//! broker violation, P5 beyond: flagged, not delivered), then delivered as an
//! event or into the bounded incoming queue (S3, oldest discarded first).

use super::store::{self, text, text_fmt, text_lossy, Boxed, IdSet, Seq};
use super::v5::MessageProperties;
use super::{BrokerViolation, Event, Instant, Message, Session};
use crate::codec::{Packet, Pid, PubAck, PubComp, PubRec, QosPid};

impl Session {
    /// S2-S4, P5: an incoming message (its topic resolved, for MQTT 5,
    /// from an alias): acknowledged, then delivered unless a duplicate.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn receive(
        &mut self,
        now: Instant,
        qospid: QosPid,
        dup: bool,
        retain: bool,
        topic: &str,
        payload: &[u8],
        properties: Option<Boxed<MessageProperties>>,
    ) {
        let (Ok(topic), Ok(payload)) = (text(topic), store::bytes(payload)) else {
            // Only without alloc: not acknowledged, so not lost; the
            // broker sends it again on the next connection.
            self.protocol_error(
                now,
                text_fmt(format_args!(
                    "PUBLISH over capacity: topic {} B, payload {} B",
                    topic.len(),
                    payload.len()
                )),
            );
            return;
        };
        let deliver = match qospid {
            QosPid::AtMostOnce => true,
            QosPid::AtLeastOnce(pid) => {
                self.tx.encode(&Packet::PubAck(PubAck(pid)));
                true
            }
            QosPid::ExactlyOnce(pid) => {
                // P5: delivered on first receipt; the id is remembered until
                // PUBREL, so the broker's resends are acknowledged again but
                // not delivered again (across reconnects with the session).
                let Ok(new) = self.incoming_qos2.try_add(pid) else {
                    self.protocol_error(
                        now,
                        text_lossy("over capacity: QoS 2 messages awaiting PUBREL"),
                    );
                    return;
                };
                self.tx.encode(&Packet::PubRec(PubRec(pid)));
                if !new && !dup {
                    // P5 beyond: a new message (DUP = 0) on an id still awaiting
                    // PUBREL: the broker reused the id before releasing it
                    // (or resent without DUP). The rule for the receiver
                    // holds either way: PUBREC again, never a second
                    // delivery on this id; the broker is flagged, with what
                    // it sent, since a new message on a reused id is lost.
                    self.stats.broker_violations += 1;
                    self.events.push(Event::BrokerViolation {
                        violation: BrokerViolation::Qos2IdReused { pid },
                        topic,
                        payload,
                    });
                    return;
                }
                if !new {
                    self.events.push(Event::DuplicateIgnored { pid });
                }
                new
            }
        };
        if !deliver {
            return;
        }
        let msg = Message {
            topic,
            payload,
            qos: qospid.qos(),
            retained: retain,
            dup,
            properties,
        };
        if self.config.queue_len == 0 {
            self.events.push(Event::Message(msg));
            return;
        }
        let discarded = self.queue.len() >= self.config.queue_len;
        if discarded {
            if let Some(message) = self.queue.pop_first() {
                self.stats.discards += 1;
                self.events.push(Event::Discarded {
                    message,
                    total: self.stats.discards,
                });
            }
        }
        // queue_len <= the queue's capacity (Config::validate): room.
        let _ = self.queue.try_push(msg);
        self.events.push(Event::MessageQueued { discarded });
    }

    /// P5: PUBREL for an incoming QoS 2 message: released, PUBCOMP.
    pub(super) fn on_pubrel(&mut self, pid: Pid) {
        self.incoming_qos2.remove(&pid);
        self.tx.encode(&Packet::PubComp(PubComp(pid)));
    }
}
