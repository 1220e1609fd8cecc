//! Routing: incoming PUBLISH (QoS 0, 1, and 2 stored until PUBREL),
//! SUBSCRIBE and UNSUBSCRIBE, retained messages, and fan-out of a message
//! to every matching session at the lower of the two QoS levels (with
//! overlapping subscriptions as mosquitto 2.0: see [`Core::route`]).

use std::time::Duration;

use resilient_mqtt::codec::v5::RetainHandling;
use resilient_mqtt::codec::{
    List, Packet, Pid, PubAck, PubComp, PubRec, Publish, QoS, QosPid, SubAck, SubAckCode,
    Subscribe, UnsubAck, Unsubscribe,
};

use super::{ConnId, Core};
use crate::fault::DropKind;
use crate::state::{Message, SubOptions};
use crate::topic;

impl Core {
    pub(super) fn handle_publish(
        &mut self,
        id: ConnId,
        client_id: &str,
        p: Publish<'_>,
        now: Duration,
    ) {
        self.stats.publishes_received += 1;
        // An MQTT 5 publisher's properties, set aside by `handle_packet_v5`.
        let props = self
            .conns
            .get_mut(&id)
            .and_then(|c| c.v5.as_mut())
            .and_then(|v| v.in_props.take());
        let mut msg = Message {
            topic: p.topic.to_string(),
            payload: p.payload.to_vec(),
            qos: p.qospid.qos(),
            retain: p.retain,
            props,
        };
        msg.start_expiry(now);
        match p.qospid {
            QosPid::AtMostOnce => self.route(msg, Some(client_id), now),
            QosPid::AtLeastOnce(pid) => {
                self.route(msg, Some(client_id), now);
                self.send_with_faults(id, Packet::PubAck(PubAck(pid)), DropKind::PubAck, now);
            }
            QosPid::ExactlyOnce(pid) => {
                if let Some(s) = self.sessions.get_mut(client_id) {
                    // A resend of a message not yet released is stored once.
                    s.state.awaiting_pubrel.entry(pid.get()).or_insert(msg);
                }
                self.send_with_faults(id, Packet::PubRec(PubRec(pid)), DropKind::PubRec, now);
            }
        }
    }

    /// A PUBREL for a QoS 2 message from the client: the stored message is
    /// routed now; PUBCOMP goes out.
    pub(super) fn pubrel_received(&mut self, id: ConnId, client_id: &str, pid: Pid, now: Duration) {
        let msg = self
            .sessions
            .get_mut(client_id)
            .and_then(|s| s.state.awaiting_pubrel.remove(&pid.get()));
        if let Some(msg) = msg {
            self.route(msg, Some(client_id), now);
        }
        self.send_with_faults(id, Packet::PubComp(PubComp(pid)), DropKind::PubComp, now);
    }

    /// SUBSCRIBE: every filter granted at its QoS, SUBACK, then the
    /// retained messages that match (as an MQTT 5 filter's retain handling
    /// says: always, only for a new subscription, or never).
    pub(super) fn subscribe(
        &mut self,
        id: ConnId,
        client_id: &str,
        s: Subscribe<'_>,
        now: Duration,
    ) {
        let mut codes = Vec::new();
        let mut filters = Vec::new();
        // An MQTT 5 SUBSCRIBE's options, set aside by `handle_packet_v5`.
        let options = self
            .conns
            .get_mut(&id)
            .and_then(|c| c.v5.as_mut())
            .and_then(|v| v.sub_options.take())
            .unwrap_or_default();
        if let Some(session) = self.sessions.get_mut(client_id) {
            for (i, t) in s.topics.iter().enumerate() {
                let o = options.get(i).copied().unwrap_or_default();
                let st = &mut session.state;
                let new = st
                    .subscriptions
                    .insert(t.filter.to_string(), t.qos)
                    .is_none();
                let extra = SubOptions {
                    no_local: o.no_local,
                    retain_as_published: o.retain_as_published,
                };
                if extra == SubOptions::default() {
                    st.sub_options.remove(t.filter);
                } else {
                    st.sub_options.insert(t.filter.to_string(), extra);
                }
                codes.push(SubAckCode::Granted(t.qos));
                let retained = match o.retain_handling {
                    RetainHandling::SendAtSubscribe => true,
                    RetainHandling::SendAtSubscribeIfNew => new,
                    RetainHandling::DoNotSend => false,
                };
                if retained {
                    filters.push((t.filter.to_string(), t.qos));
                }
            }
        }
        self.send_with_faults(
            id,
            Packet::SubAck(SubAck {
                pid: s.pid,
                codes: List::new(&codes),
            }),
            DropKind::SubAck,
            now,
        );
        // Retained messages, after the SUBACK, with RETAIN set; expired
        // ones are gone.
        self.retained.retain(|_, m| !m.expired(now));
        for (filter, qos) in filters {
            let matching: Vec<Message> = self
                .retained
                .values()
                .filter(|m| topic::matches(&filter, &m.topic))
                .cloned()
                .collect();
            for mut m in matching {
                m.qos = m.qos.min(qos);
                m.retain = true;
                self.deliver(client_id, m, now);
            }
        }
    }

    /// UNSUBSCRIBE: the filters removed, UNSUBACK.
    pub(super) fn unsubscribe(
        &mut self,
        id: ConnId,
        client_id: &str,
        u: Unsubscribe<'_>,
        now: Duration,
    ) {
        if let Some(session) = self.sessions.get_mut(client_id) {
            for f in u.topics.iter() {
                session.state.subscriptions.remove(f);
                session.state.sub_options.remove(f);
            }
        }
        self.send_with_faults(
            id,
            Packet::UnsubAck(UnsubAck(u.pid)),
            DropKind::UnsubAck,
            now,
        );
    }

    /// Stores or clears the retained copy, then delivers to every matching
    /// session at the lower of the two QoS levels, RETAIN cleared (kept for
    /// a retain-as-published subscription), not to the publisher's own
    /// no-local subscriptions.
    pub(super) fn route(&mut self, mut msg: Message, publisher: Option<&str>, now: Duration) {
        msg.start_expiry(now);
        // mosquitto's default ACL refuses client publishes to $SYS.
        if msg.topic.starts_with("$SYS") {
            return;
        }
        if msg.retain {
            if msg.payload.is_empty() {
                self.retained.remove(&msg.topic);
            } else {
                self.retained.insert(msg.topic.clone(), msg.clone());
            }
        }
        // mosquitto 2.0: a 3.1.1 client gets one copy, at the QoS of the
        // first matching subscription its tree walk finds; an MQTT 5 client
        // one copy per matching subscription, in that order.
        type Target = (String, Vec<(QoS, SubOptions)>);
        let targets: Vec<Target> = self
            .sessions
            .iter()
            .filter_map(|(id, s)| {
                let own = publisher == Some(id.as_str());
                let mut found: Vec<(Vec<u8>, QoS, SubOptions)> = s
                    .state
                    .subscriptions
                    .iter()
                    .filter(|(f, _)| topic::matches(f, &msg.topic))
                    .map(|(f, q)| {
                        let o = s.state.sub_options.get(f).copied().unwrap_or_default();
                        (topic::walk_order(f), *q, o)
                    })
                    .filter(|(_, _, o)| !(own && o.no_local))
                    .collect();
                found.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
                if !s.state.mqtt5 {
                    found.truncate(1);
                }
                let subs: Vec<(QoS, SubOptions)> =
                    found.into_iter().map(|(_, q, o)| (q, o)).collect();
                (!subs.is_empty()).then(|| (id.clone(), subs))
            })
            .collect();
        for (client_id, (sub_qos, options)) in targets
            .into_iter()
            .flat_map(|(c, subs)| subs.into_iter().map(move |s| (c.clone(), s)))
        {
            let m = Message {
                topic: msg.topic.clone(),
                payload: msg.payload.clone(),
                qos: msg.qos.min(sub_qos),
                retain: msg.retain && options.retain_as_published,
                props: msg.props.clone(),
            };
            self.deliver(&client_id, m, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::core::testkit::{publish, pubrel, Kit};

    #[test]
    fn retained_messages_follow_the_suback_with_retain_set() {
        let mut k = Kit::new();
        let (p, _) = k.connect("pub", true);
        k.send(p, publish("a/b", b"hello", 1, 1, true));
        assert_eq!(k.out(p), ["PUBACK pid=1"]);
        let (s, _) = k.connect("sub", true);
        k.subscribe(s, 1, "a/+", 2);
        assert_eq!(
            k.out(s),
            [
                "SUBACK pid=1 codes=2",
                "PUBLISH pid=1 qos=1 dup=0 retain=1 topic=a/b len=5"
            ]
        );
        // An empty retained payload clears it.
        k.send(p, publish("a/b", b"", 0, 0, true));
        assert_eq!(k.out(s), ["PUBLISH qos=0 dup=0 retain=0 topic=a/b len=0"]);
        let (s2, _) = k.connect("sub2", true);
        k.subscribe(s2, 1, "a/#", 1);
        assert_eq!(k.out(s2), ["SUBACK pid=1 codes=1"]);
    }

    #[test]
    fn live_messages_are_downgraded_and_sys_is_not_routed() {
        let mut k = Kit::new();
        let s = k.subscriber("sub", true, "#", 1);
        let (p, _) = k.connect("pub", true);
        k.send(p, publish("x", b"12", 2, 7, true));
        assert_eq!(k.out(p), ["PUBREC pid=7"]);
        // QoS 2 is routed at PUBREL, downgraded to the subscription's QoS 1.
        assert!(k.out(s).is_empty());
        k.send(p, pubrel(7));
        assert_eq!(k.out(p), ["PUBCOMP pid=7"]);
        assert_eq!(
            k.out(s),
            ["PUBLISH pid=1 qos=1 dup=0 retain=0 topic=x len=2"]
        );
        k.send(p, publish("$SYS/x", b"1", 1, 8, false));
        assert_eq!(k.out(p), ["PUBACK pid=8"]);
        assert!(k.out(s).is_empty());
    }

    #[test]
    fn unsubscribe_stops_delivery() {
        let mut k = Kit::new();
        let s = k.subscriber("sub", true, "t", 0);
        k.send(
            s,
            resilient_mqtt::codec::Packet::Unsubscribe(resilient_mqtt::codec::Unsubscribe {
                pid: crate::core::testkit::pid(2),
                topics: resilient_mqtt::codec::List::new(&["t"]),
            }),
        );
        assert_eq!(k.out(s), ["UNSUBACK pid=2"]);
        let (p, _) = k.connect("pub", true);
        k.send(p, publish("t", b"1", 0, 0, false));
        assert!(k.out(s).is_empty());
    }
}
