//! Output and records: packets encoded for the connection's protocol and
//! queued with their packet-log summaries, the packet log, events and the
//! fault-injected records. A packet is logged when it leaves: at once when
//! queued, or, if a delay fault holds it, by `poll_transmit` with the time
//! it was queued as well.

use std::time::Duration;

use resilient_mqtt::codec::Packet;

use super::{ConnId, Core};
use crate::config::PROTOCOL_MAX_PACKET_SIZE;
use crate::connection::OutFrame;
use crate::log::{summarize, BrokerEvent, Direction, EventEntry, LogRecord, PacketLogEntry};
use crate::v5::{self};

impl Core {
    /// Queues a packet for the connection.
    pub(super) fn send(&mut self, id: ConnId, p: Packet<'_>) {
        self.send_at(id, p, None);
    }

    /// Queues a packet that may not leave before `not_before`.
    pub(super) fn send_at(&mut self, id: ConnId, p: Packet<'_>, not_before: Option<Duration>) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.is_closing() {
            return;
        }
        // Every packet the broker builds is valid: topics come from valid
        // packets, lists are non-empty. A failure here would be a broker bug;
        // the packet is then skipped rather than sent broken.
        let receive_maximum = self.config.max_inflight.min(u16::MAX as usize) as u16;
        let max_packet_size = (self.config.max_packet_size < PROTOCOL_MAX_PACKET_SIZE)
            .then(|| self.config.max_packet_size.min(u32::MAX as usize) as u32);
        let props = self.publish_props.as_deref().map(|m| (m, self.now));
        let (bytes, summary) = match conn.v5.as_mut() {
            Some(v) => match v5::encode(&p, v, receive_maximum, max_packet_size, props) {
                Some(x) => x,
                None => return,
            },
            None => {
                let mut bytes = Vec::new();
                if p.encode_to_vec(&mut bytes).is_err() {
                    return;
                }
                (bytes, summarize(&p))
            }
        };
        self.push_frame(id, bytes, summary, not_before);
    }

    /// Queues encoded bytes for the connection and logs them.
    pub(super) fn push_frame(
        &mut self,
        id: ConnId,
        bytes: Vec<u8>,
        summary: String,
        not_before: Option<Duration>,
    ) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.is_closing() {
            return;
        }
        let client_id = conn.client_id.clone();
        let now = self.now;
        // A frame that cannot leave now (delayed, or queued behind a
        // delayed frame) is logged when it does leave (`poll_transmit`).
        let held =
            not_before.is_some_and(|t| t > now) || conn.outq.iter().any(|f| f.held_since.is_some());
        conn.outq.push_back(OutFrame {
            bytes,
            summary: summary.clone(),
            not_before,
            held_since: held.then_some(now),
        });
        self.dirty.insert(id);
        if !held {
            self.log_packet(now, Direction::Out, id.0, client_id, summary, None);
        }
    }

    pub(super) fn log_packet(
        &mut self,
        at: Duration,
        direction: Direction,
        conn: u64,
        client_id: Option<String>,
        summary: String,
        queued: Option<Duration>,
    ) {
        let e = PacketLogEntry {
            at,
            queued,
            direction,
            conn,
            client_id,
            summary,
        };
        if self.packet_log.len() >= self.config.log_capacity {
            self.packet_log.pop_front();
        }
        if self.config.log_capacity > 0 {
            self.packet_log.push_back(e.clone());
        }
        self.records.push(LogRecord::Packet(e));
    }

    pub(crate) fn event(&mut self, at: Duration, event: BrokerEvent) {
        let e = EventEntry { at, event };
        if self.events.len() >= self.config.log_capacity {
            self.events.pop_front();
        }
        if self.config.log_capacity > 0 {
            self.events.push_back(e.clone());
        }
        self.records.push(LogRecord::Event(e));
    }

    pub(crate) fn fault_injected(&mut self, id: ConnId, action: String, now: Duration) {
        self.stats.faults_injected += 1;
        let client_id = self.conns.get(&id).and_then(|c| c.client_id.clone());
        self.event(
            now,
            BrokerEvent::FaultInjected {
                conn: id.0,
                client_id,
                action,
            },
        );
    }
}
