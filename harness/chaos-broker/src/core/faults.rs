//! Where the core consults the faults of [`crate::fault`]: setting and
//! clearing them, a hang's release, and the send-time hook. No branch here
//! names a fault kind: each kind's behaviour lives in its own file behind
//! [`FaultHook`](crate::fault::FaultHook), and the faults that act once
//! when set (forget-sessions, disconnect, flood) do it through the small
//! `pub(crate)` primitives at the end of this file. The other hooks are
//! asked where they act: hang in input and output, delay-connack in
//! [`super::input`], refuse in [`super::connect`], duplicate in
//! [`super::deliver`], close-after in the shell API's `poll_transmit`.

use std::time::Duration;

use resilient_mqtt::codec::{Packet, Pid, Publish, QosPid};

use super::deliver::next_pid;
use super::{ConnId, Core};
use crate::connection::{Connection, Phase};
use crate::fault::{AfterSend, DropKind, Fault, FaultTarget, ReusePid, SendFate, Standing};
use crate::log::{summarize, BrokerEvent, DisconnectReason};
use crate::state::{Message, OutPhase, Outgoing};

impl Core {
    /// Activates a fault. One that acts once when set (forget-sessions,
    /// disconnect, flood) does so now and is not kept.
    pub fn set_fault(&mut self, target: FaultTarget, fault: Fault, now: Duration) {
        self.now = now;
        self.event(
            now,
            BrokerEvent::FaultSet {
                target: target.to_string(),
                fault: fault.to_string(),
            },
        );
        if fault.hook().on_set(self, &target, now) == Standing::Kept {
            self.faults.set(target, fault);
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
    /// PUBREL, PINGRESP): the faults' `on_send` hooks
    /// ([`crate::fault::FaultHook::on_send`]) say whether it is swallowed
    /// (drop), held (delay), or the connection closes after it (close-on).
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
        let (delay, then) = match self.faults.on_send(kind, client) {
            SendFate::Dropped => {
                self.fault_injected(id, format!("dropped {s}"), now);
                return;
            }
            SendFate::Sent { delay, then } => (delay, then),
        };
        if let Some(d) = delay {
            self.fault_injected(id, format!("delayed {s} by {}ms", d.as_millis()), now);
        }
        self.send_at(id, p, delay.map(|d| now.saturating_add(d)));
        if then == AfterSend::Close {
            self.fault_injected(id, format!("closed after {s}"), now);
            self.close(
                id,
                DisconnectReason::Fault(format!("close-on {}", kind.word())),
                true,
                now,
            );
        }
    }

    /// A QoS 2 PUBREC for `pid` arrived: a reuse-pid fault sends a new
    /// PUBLISH with that id first (`crate::fault::ReusePid`).
    pub(super) fn reuse_pid_fault(&mut self, id: ConnId, client_id: &str, pid: Pid, now: Duration) {
        if self.faults.take_reuse_pid(Some(client_id)) {
            ReusePid::inject(self, id, pid, now);
        }
    }

    // ----- what the faults of `crate::fault` act with -------------------

    /// Sends `message` to the connection as a QoS 2 PUBLISH with packet id
    /// `pid`, DUP=0, outside any session state (a broker breaking the rules).
    pub(crate) fn send_unsessioned(&mut self, id: ConnId, message: &Message, pid: Pid) {
        let p = Publish {
            dup: false,
            qospid: QosPid::from_qos(message.qos, pid),
            retain: message.retain,
            topic: &message.topic,
            payload: &message.payload,
        };
        self.send(id, Packet::Publish(p));
        self.stats.publishes_sent += 1;
    }

    /// The client ids of the target that have a session, in order.
    pub(crate) fn session_ids(&self, target: &FaultTarget) -> Vec<String> {
        self.sessions
            .keys()
            .filter(|id| target.matches(Some(id)))
            .cloned()
            .collect()
    }

    /// Discards a session: its live connection (output not yet sent
    /// dropped) is closed for `reason` without its will, then the session
    /// is removed.
    pub(crate) fn forget_session(
        &mut self,
        client_id: &str,
        reason: DisconnectReason,
        now: Duration,
    ) {
        if let Some(conn_id) = self.sessions.get(client_id).and_then(|s| s.online) {
            if let Some(conn) = self.conns.get_mut(&conn_id) {
                conn.outq.clear();
            }
            self.close(conn_id, reason, false, now);
        }
        self.sessions.remove(client_id);
    }

    /// Whether the connection speaks MQTT 5.
    pub(crate) fn is_v5(&self, id: ConnId) -> bool {
        self.conns.get(&id).is_some_and(|c| c.v5.is_some())
    }

    /// The client id of a connected connection (`None` before CONNECT is
    /// accepted or once closing).
    pub(crate) fn connected_client(&self, id: ConnId) -> Option<String> {
        match &self.conns.get(&id)?.phase {
            Phase::Connected(c) => Some(c.client_id.clone()),
            _ => None,
        }
    }

    /// How many unacknowledged QoS 1/2 messages the client allows: an MQTT
    /// 5 client's Receive Maximum, else `max_inflight`.
    pub(crate) fn receive_maximum(&self, id: ConnId) -> u32 {
        self.conns
            .get(&id)
            .and_then(|c| c.v5.as_ref())
            .map_or(self.config.max_inflight as u32, |v| {
                v.receive_maximum as u32
            })
    }

    /// Puts a message in the session's in-flight window and sends it at
    /// once, whatever room the window has. False when there is no session
    /// or no free packet id.
    pub(crate) fn push_inflight(
        &mut self,
        id: ConnId,
        client_id: &str,
        message: Message,
        now: Duration,
    ) -> bool {
        let Some(session) = self.sessions.get_mut(client_id) else {
            return false;
        };
        let Some(pid) = next_pid(&mut session.state) else {
            return false;
        };
        let o = Outgoing {
            pid,
            message,
            phase: OutPhase::AwaitAck,
            sent: false,
        };
        let mut sent = o.clone();
        sent.sent = true;
        session.state.inflight.push(sent);
        self.send_publish(id, client_id, &o, now);
        true
    }

    /// The connections of the target that are connected now.
    pub(crate) fn connected(&self, target: &FaultTarget) -> Vec<ConnId> {
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
