//! Connect and disconnect: accepting or refusing a CONNECT (client id,
//! credentials, the refuse fault), takeover of a client id's old
//! connection, session present, and closing a connection from the broker's
//! side (session detached, will published if asked).

use std::time::Duration;

use resilient_mqtt::codec::v5::ReasonCode;
use resilient_mqtt::codec::{ConnAck, Connect, ConnectReturnCode, Packet};

use super::{ConnId, Core, Session};
use crate::connection::{Clock, Connected, Phase};
use crate::log::{BrokerEvent, DisconnectReason};
use crate::state::{Message, SessionState};

impl Core {
    pub(super) fn handle_connect(&mut self, id: ConnId, c: Connect<'_>, now: Duration) {
        // MQTT 5: the session expiry says whether the session outlives the
        // connection; clean start only whether a kept one is discarded.
        let v5_expiry = self
            .conns
            .get(&id)
            .and_then(|c| c.v5.as_ref())
            .map(|v| v.session_expiry);
        // Client id: generated for an empty one with a clean session (any
        // session in MQTT 5, as mosquitto does).
        let client_id = if c.client_id.is_empty() {
            if !c.clean_session && v5_expiry.is_none() {
                return self.refuse(id, "", ConnectReturnCode::IdentifierRejected, now);
            }
            let (a, b) = (self.rng.next_u64(), self.rng.next_u64());
            format!(
                "auto-{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xffff,
                b >> 48,
                b & 0xffff_ffff_ffff
            )
        } else {
            c.client_id.to_string()
        };
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.client_id = Some(client_id.clone());
            if let Some(v) = conn.v5.as_mut() {
                if c.client_id.is_empty() {
                    v.assigned_id = Some(client_id.clone());
                }
            }
        }
        if let Some(code) = self.faults.refuse_code(Some(&client_id)) {
            self.fault_injected(id, format!("CONNECT refused with code {}", code as u8), now);
            return self.refuse(id, &client_id, code, now);
        }
        if let Some(users) = &self.config.users {
            let ok = match (c.username, c.password) {
                (Some(u), Some(p)) => users.get(u).is_some_and(|want| want.as_slice() == p),
                _ => false,
            };
            if !ok {
                return self.refuse(id, &client_id, ConnectReturnCode::NotAuthorized, now);
            }
        }

        // Takeover: close the old connection of this client id.
        let old = self
            .sessions
            .get(&client_id)
            .and_then(|s| s.online.map(|o| (o, s.clean)));
        if let Some((old_id, old_clean)) = old {
            if let Some(conn) = self.conns.get_mut(&old_id) {
                conn.outq.clear();
            }
            self.send_disconnect_v5(old_id, ReasonCode::SessionTakenOver, "session taken over");
            self.event(
                now,
                BrokerEvent::SessionTakenOver {
                    client_id: client_id.clone(),
                },
            );
            // mosquitto: the old will goes out if either session is clean.
            let will = old_clean || c.clean_session;
            self.close(old_id, DisconnectReason::TakenOver, will, now);
        }

        self.expire_sessions(now);
        let existing_persistent = self.sessions.get(&client_id).is_some_and(|s| !s.clean);
        let session_present = !c.clean_session && existing_persistent;
        let ends_with_connection = v5_expiry.map_or(c.clean_session, |e| e == 0);
        if !session_present {
            self.sessions.insert(
                client_id.clone(),
                Session {
                    state: SessionState::default(),
                    online: None,
                    clean: ends_with_connection,
                    expiry: None,
                    expires_at: None,
                },
            );
        }
        let session = self.sessions.get_mut(&client_id).expect("inserted");
        session.online = Some(id);
        session.clean = ends_with_connection;
        session.expiry = v5_expiry.filter(|e| *e != u32::MAX);
        session.expires_at = None;
        session.state.mqtt5 = v5_expiry.is_some();

        let will_props = self
            .conns
            .get_mut(&id)
            .and_then(|c| c.v5.as_mut())
            .and_then(|v| v.will_props.take());
        let will = c.will.map(|w| Message {
            topic: w.topic.to_string(),
            payload: w.message.to_vec(),
            qos: w.qos,
            retain: w.retain,
            props: will_props,
        });
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.phase = Phase::Connected(Connected {
                client_id: client_id.clone(),
                keep_alive: c.keep_alive,
                will,
                clock: Clock::Running { last_in: now },
            });
        }
        // MQTT 3.1 has no session-present bit (mosquitto leaves it 0).
        let mqtt31 = self.conns.get(&id).is_some_and(|c| c.mqtt31);
        self.send(
            id,
            Packet::ConnAck(ConnAck {
                session_present: session_present && !mqtt31,
                code: ConnectReturnCode::Accepted,
            }),
        );
        self.event(
            now,
            BrokerEvent::ClientConnected {
                client_id: client_id.clone(),
                clean_session: c.clean_session,
                session_present,
            },
        );
        if session_present {
            self.resume(id, &client_id, now);
        }
    }

    pub(super) fn refuse(
        &mut self,
        id: ConnId,
        client_id: &str,
        code: ConnectReturnCode,
        now: Duration,
    ) {
        self.send(
            id,
            Packet::ConnAck(ConnAck {
                session_present: false,
                code,
            }),
        );
        self.event(
            now,
            BrokerEvent::ConnectRefused {
                client_id: client_id.to_string(),
                code: code as u8,
            },
        );
        self.close(id, DisconnectReason::Refused(code as u8), false, now);
    }

    /// Ends the detached sessions whose Session Expiry Interval has passed
    /// (MQTT 5 section 3.1.2.11.2).
    pub(super) fn expire_sessions(&mut self, now: Duration) {
        let gone: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.online.is_none() && s.expires_at.is_some_and(|t| t <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            self.sessions.remove(&id);
            self.event(now, BrokerEvent::SessionExpired { client_id: id });
        }
    }

    /// Ends a connection from the broker's side: detaches its session
    /// (removed if clean), publishes its will if asked, and marks it closing
    /// so the shell flushes and closes it.
    pub(crate) fn close(
        &mut self,
        id: ConnId,
        reason: DisconnectReason,
        publish_will: bool,
        now: Duration,
    ) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.is_closing() {
            return;
        }
        let phase = std::mem::replace(&mut conn.phase, Phase::Closing);
        conn.close_reason = Some(reason.clone());
        conn.inbuf = Vec::new();
        let client_id = conn.client_id.clone();
        self.dirty.insert(id);
        if let Phase::Connected(c) = phase {
            if let Some(s) = self.sessions.get_mut(&c.client_id) {
                if s.online == Some(id) {
                    s.online = None;
                    if s.clean {
                        self.sessions.remove(&c.client_id);
                    } else if let Some(secs) = s.expiry {
                        s.expires_at = Some(now.saturating_add(Duration::from_secs(secs.into())));
                    }
                }
            }
            if publish_will {
                if let Some(will) = c.will {
                    self.stats.wills_published += 1;
                    self.event(
                        now,
                        BrokerEvent::WillPublished {
                            client_id: c.client_id.clone(),
                            topic: will.topic.clone(),
                        },
                    );
                    self.route(will, Some(&c.client_id), now);
                }
            }
        }
        self.event(
            now,
            BrokerEvent::ClientDisconnected {
                conn: id.0,
                client_id,
                reason,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::core::testkit::{connect, Kit};
    use crate::log::{BrokerEvent, DisconnectReason};

    #[test]
    fn session_present_only_for_a_resumed_persistent_session() {
        let mut k = Kit::new();
        let (a, out) = k.connect("dev", false);
        assert_eq!(out, ["CONNACK sp=0 rc=0"]);
        k.send(a, resilient_mqtt::codec::Packet::Disconnect);
        assert!(k.closing(a));
        k.drop_conn(a);
        let (b, out) = k.connect("dev", false);
        assert_eq!(out, ["CONNACK sp=1 rc=0"]);
        k.drop_conn(b);
        // A clean connect discards the session.
        let (c, out) = k.connect("dev", true);
        assert_eq!(out, ["CONNACK sp=0 rc=0"]);
        k.drop_conn(c);
        let (_, out) = k.connect("dev", false);
        assert_eq!(out, ["CONNACK sp=0 rc=0"]);
    }

    #[test]
    fn takeover_closes_the_old_connection() {
        let mut k = Kit::new();
        let (old, _) = k.connect("dev", false);
        k.events();
        let (_, out) = k.connect("dev", false);
        assert_eq!(out, ["CONNACK sp=1 rc=0"]);
        assert!(k.closing(old));
        let events = k.events();
        assert!(events.contains(&BrokerEvent::SessionTakenOver {
            client_id: "dev".into()
        }));
        assert!(events.iter().any(|e| matches!(
            e,
            BrokerEvent::ClientDisconnected {
                reason: DisconnectReason::TakenOver,
                ..
            }
        )));
    }

    #[test]
    fn empty_client_id_needs_a_clean_session() {
        let mut k = Kit::new();
        let (id, out) = k.connect("", false);
        assert_eq!(out, ["CONNACK sp=0 rc=2"]);
        assert!(k.closing(id));
        let (id, out) = k.connect("", true);
        assert_eq!(out, ["CONNACK sp=0 rc=0"]);
        assert!(!k.closing(id));
        let id2 = k.open();
        k.send(id2, connect("", true));
        assert_eq!(k.out(id2), ["CONNACK sp=0 rc=0"]);
        // Generated ids are distinct (two sessions).
        assert_eq!(k.core.sessions().len(), 2);
    }

    #[test]
    fn keepalive_expiry_closes_at_one_and_a_half_times() {
        let mut k = Kit::new();
        let (id, _) = k.connect("dev", true);
        assert_eq!(
            k.core.poll_timeout(id),
            Some(std::time::Duration::from_secs(90))
        );
        k.advance(std::time::Duration::from_secs(89));
        assert!(!k.closing(id));
        k.advance(std::time::Duration::from_secs(1));
        assert!(k.closing(id));
    }
}
