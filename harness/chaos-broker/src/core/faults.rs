//! Faults as the core applies them: setting and clearing them, a hang's
//! release, the send-time faults (drop, delay, close-on), and the faults
//! that act once when set (forget-sessions, disconnect, flood).

use std::time::Duration;

use resilient_mqtt::codec::v5::ReasonCode;
use resilient_mqtt::codec::{Packet, QoS};

use super::deliver::next_pid;
use super::{ConnId, Core};
use crate::connection::{Connection, Phase};
use crate::fault::{DropKind, Fault, FaultTarget};
use crate::log::{summarize, BrokerEvent, DisconnectReason};
use crate::state::{Message, OutPhase, Outgoing};
use crate::v5::{self};

impl Core {
    /// Activates a fault (forget-sessions, disconnect and flood act at once).
    pub fn set_fault(&mut self, target: FaultTarget, fault: Fault, now: Duration) {
        self.now = now;
        self.event(
            now,
            BrokerEvent::FaultSet {
                target: target.to_string(),
                fault: fault.to_string(),
            },
        );
        match fault {
            Fault::ForgetSessions(_) => self.forget_sessions(&target, now),
            Fault::Disconnect(d) => self.server_disconnect(&target, d.reason, now),
            Fault::Flood(f) => self.flood(&target, f.count, now),
            other => self.faults.set(target, other),
        }
        self.after_fault_change(now);
    }

    /// Clears all faults, or those of one target.
    pub fn clear_faults(&mut self, target: Option<&FaultTarget>, now: Duration) {
        self.now = now;
        self.faults.clear(target);
        self.event(
            now,
            BrokerEvent::FaultsCleared {
                target: target.map(|t| t.to_string()),
            },
        );
        self.after_fault_change(now);
    }

    /// The active faults.
    pub fn faults(&self) -> Vec<(FaultTarget, Fault)> {
        self.faults.list()
    }

    /// Resumes connections a hang released (their keepalive clock restarts
    /// now, as a process resumed after SIGCONT reads before it judges),
    /// processes what they had buffered, and wakes every task.
    pub(super) fn after_fault_change(&mut self, now: Duration) {
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            let Some(conn) = self.conns.get(&id) else {
                continue;
            };
            let hung = self.is_hung(conn);
            if let Some(Connection {
                phase: Phase::Connected(c),
                ..
            }) = self.conns.get_mut(&id)
            {
                c.hang_changed(hung, now);
            }
            self.dirty.insert(id);
            if !hung {
                self.process(id, now);
            }
        }
    }

    pub(super) fn is_hung(&self, conn: &Connection) -> bool {
        self.faults.is_hung(conn.client_id.as_deref())
    }

    /// Sends a packet a fault may act on (PUBLISH, an acknowledgement,
    /// PUBREL, PINGRESP): a drop fault swallows it, a delay fault holds it, a
    /// close-on fault closes the connection after it.
    pub(super) fn send_with_faults(
        &mut self,
        id: ConnId,
        p: Packet<'_>,
        kind: DropKind,
        now: Duration,
    ) {
        if self.faults.is_empty() {
            return self.send(id, p);
        }
        let client_id = self.conns.get(&id).and_then(|c| c.client_id.clone());
        let client = client_id.as_deref();
        let s = summarize(&p);
        if self.faults.take_drop(kind, client) {
            self.fault_injected(id, format!("dropped {s}"), now);
            return;
        }
        let delay = self.faults.take_delay(kind, client);
        let close = self.faults.take_close_on(kind, client);
        if let Some(d) = delay {
            self.fault_injected(id, format!("delayed {s} by {}ms", d.as_millis()), now);
        }
        self.send_at(id, p, delay.map(|d| now.saturating_add(d)));
        if close {
            self.fault_injected(id, format!("closed after {s}"), now);
            self.close(
                id,
                DisconnectReason::Fault(format!("close-on {}", kind.word())),
                true,
                now,
            );
        }
    }

    pub(super) fn forget_sessions(&mut self, target: &FaultTarget, now: Duration) {
        let ids: Vec<String> = self
            .sessions
            .keys()
            .filter(|id| target.matches(Some(id)))
            .cloned()
            .collect();
        for id in &ids {
            if let Some(conn_id) = self.sessions.get(id).and_then(|s| s.online) {
                if let Some(conn) = self.conns.get_mut(&conn_id) {
                    conn.outq.clear();
                }
                self.close(
                    conn_id,
                    DisconnectReason::Fault("forget-sessions".into()),
                    false,
                    now,
                );
            }
            self.sessions.remove(id);
        }
        self.event(now, BrokerEvent::SessionsForgotten { count: ids.len() });
    }

    /// The disconnect fault: DISCONNECT with `reason` to each connected
    /// client of the target, then close (will published).
    pub(super) fn server_disconnect(
        &mut self,
        target: &FaultTarget,
        reason: ReasonCode,
        now: Duration,
    ) {
        for id in self.connected(target) {
            let v5 = self.conns.get(&id).is_some_and(|c| c.v5.is_some());
            let action = if v5 {
                format!("sent {} and closed", v5::disconnect_summary(reason))
            } else {
                "closed (3.1.1 has no server DISCONNECT)".to_string()
            };
            self.fault_injected(id, action, now);
            self.send_disconnect_v5(id, reason, reason.name());
            self.close(
                id,
                DisconnectReason::Fault(format!("disconnect 0x{:02X}", reason as u8)),
                true,
                now,
            );
        }
    }

    /// The flood fault: a burst of QoS 2 publishes to each connected client
    /// of the target, past its Receive Maximum.
    pub(super) fn flood(&mut self, target: &FaultTarget, count: Option<u32>, now: Duration) {
        for id in self.connected(target) {
            let Some(conn) = self.conns.get(&id) else {
                continue;
            };
            let Phase::Connected(c) = &conn.phase else {
                continue;
            };
            let client_id = c.client_id.clone();
            let rm = conn
                .v5
                .as_ref()
                .map_or(self.config.max_inflight as u32, |v| {
                    v.receive_maximum as u32
                });
            let n = count.unwrap_or(rm.saturating_add(1));
            self.fault_injected(
                id,
                format!("flood of {n} QoS 2 PUBLISH (receive maximum {rm})"),
                now,
            );
            for i in 1..=n {
                let Some(session) = self.sessions.get_mut(&client_id) else {
                    break;
                };
                let Some(pid) = next_pid(&mut session.state) else {
                    break;
                };
                let o = Outgoing {
                    pid,
                    message: Message {
                        topic: "chaos/flood".into(),
                        payload: format!("flood {i}").into_bytes(),
                        qos: QoS::ExactlyOnce,
                        retain: false,
                    },
                    phase: OutPhase::AwaitAck,
                    sent: false,
                };
                let mut sent = o.clone();
                sent.sent = true;
                session.state.inflight.push(sent);
                self.send_publish(id, &client_id, &o, now);
            }
        }
    }

    /// The connections of the target that are connected now.
    pub(super) fn connected(&self, target: &FaultTarget) -> Vec<ConnId> {
        self.conns
            .iter()
            .filter(|(_, c)| match &c.phase {
                Phase::Connected(cc) => target.matches(Some(&cc.client_id)),
                _ => false,
            })
            .map(|(id, _)| *id)
            .collect()
    }
}
