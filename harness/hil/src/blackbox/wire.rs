//! The wire view: a black-box DUT's side of the trace, from what the fault
//! proxy in front of it saw ([`fault_proxy::wire`]). Every event it emits
//! is marked `source = "wire"`: observed, not reported.
//!
//! | on the wire | trace (actor `dut` unless said) |
//! |---|---|
//! | the DUT opens a TCP connection | `connecting {attempt}` (counted since the last CONNACK accepted) |
//! | a CONNACK accepted reaches it | `connected {session_present, keepalive_s}` (its CONNECT's keepalive, in scenario time), `up` |
//! | a refused CONNACK reaches it | `connect_failed {reason}` |
//! | it closes (FIN) or resets (RST) its connection | `connection_lost {reason: closed_by_dut \| reset_by_dut}`, `down` (`disconnected_by_dut` after its DISCONNECT) |
//! | it opens a new connection while the old one is up | `connection_lost {reason: new_connection_by_dut}`, `down`, then `connecting` |
//! | the proxy closes its connection (broker gone, a fault) | `connection_lost {reason: closed_by_proxy}`; `down` waits for the DUT's next connection (its detection) |
//! | it sends PUBLISH | `retransmit {pid}` first if a DUP resend of a pid in flight; `publish_sent {pid, dup}` |
//! | PUBACK (QoS 1) / PUBCOMP (QoS 2) reaches it | `puback {pid}` |
//! | PUBREC reaches it | nothing (its PUBREL answers it) |
//! | an ack for a pid it has not in flight reaches it (PUBACK, PUBREC, PUBCOMP) | `stray_ack {pid}` |
//! | it sends PUBREL | `pubrel_sent {pid, resend}` (`resend`: again for a pid not yet completed) |
//! | it sends PINGREQ; PINGRESP reaches it | `ping_sent`; `pingresp` |
//! | SUBACK reaches it | `subscribed {topic, qos}` per granted filter |
//! | a QoS 0 PUBLISH reaches it | `message` |
//! | it acknowledges a QoS 1 PUBLISH (its PUBACK) | `message` (the DUT took it) |
//! | it acknowledges a QoS 2 PUBLISH (its PUBREC) | `message`; `qos2_duplicate {pid}` instead when that pid still awaits the broker's PUBREL (a resend it must not deliver again) |
//!
//! The DUT's own acks are not trace events: they date its `message`s. A
//! QoS 1/2 PUBLISH it never acknowledges is not counted as received. The
//! QoS 2 ids awaiting PUBREL are forgotten when the broker's PUBREL
//! reaches the DUT, when a session is lost (`connected` with
//! `session_present = false`) and at a reboot; a reboot also forgets the
//! publishes in flight (a later ack for one of them is stray).
//!
//! Detection time for a black-box DUT is when it gave up on the old
//! connection: its FIN or RST, or its first new connection attempt,
//! whichever comes first (the `down` above).
//!
//! Message identity ([`SeqRule`]): a publish whose payload carries a
//! sequence number is one of the device application's messages. Its id
//! is `TOPIC#SEQ` (`TOPIC#SEQ@bootN` after the Nth `dut_reboot`, since a
//! restarted device counts again). The first time an id is sent, actor
//! `app` gets `app_publish_start`; when its PUBACK reaches the device,
//! `app_publish_done` (QoS 0: at once). Numbers skipped in a topic's
//! sequence are publishes the device made and never sent: each gets an
//! `app_publish_start` that never completes. The observer names its
//! deliveries with the id the wire view gave that topic and number
//! ([`WireView::delivered_id`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use fault_proxy::fault::Dir;
use fault_proxy::wire::{Closer, Packet, WireEvent};

use super::seq::SeqRule;
use crate::trace::{payload, Actor, Event};

/// At most this many skipped numbers are reported per gap.
const MAX_GAP: u64 = 100;

/// The wire view of one run (shared by the proxy's tap, the observer and
/// the DUT's reboots).
#[derive(Debug)]
pub struct WireView {
    seq: Option<SeqRule>,
    /// Wall time x `1 / scale` = scenario time (for keepalives).
    scale: f64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    boot: u64,
    attempt: u32,
    /// The connection that is up (CONNACK accepted, not ended).
    live: Option<u64>,
    /// The proxy closed the live connection and the DUT has not shown it
    /// noticed yet.
    unnoticed: bool,
    keepalive: BTreeMap<u64, u16>,
    /// Connections whose attempt already failed (a refused CONNACK).
    failed: BTreeSet<u64>,
    /// Connections on which the DUT sent DISCONNECT.
    disconnected: BTreeSet<u64>,
    /// Connections that were up when the DUT opened a newer one (the old
    /// boot's socket of a device that restarted, or one it abandoned):
    /// their last bytes can still arrive after the new connection's
    /// start, and are not the new attempt's.
    replaced: BTreeSet<u64>,
    /// Publishes in flight: pid -> message id.
    inflight: BTreeMap<u16, String>,
    pubrels: BTreeSet<u16>,
    /// PUBLISHes at QoS 1/2 that reached the DUT and that it has not
    /// acknowledged yet: pid -> (qos, the `message` it means).
    incoming: BTreeMap<u16, (u8, Event)>,
    /// Incoming QoS 2 ids the DUT acknowledged (PUBREC) and the broker has
    /// not released (PUBREL) yet.
    awaiting_rel: BTreeSet<u16>,
    subscribing: BTreeMap<u16, Vec<String>>,
    started: BTreeSet<String>,
    done: BTreeSet<String>,
    /// The last sequence number per topic (this boot).
    last: BTreeMap<String, u64>,
    /// (topic, seq) -> the id last given to it.
    ids: BTreeMap<(String, u64), String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl WireView {
    pub fn new(seq: Option<SeqRule>, scale: f64) -> WireView {
        WireView {
            seq,
            scale,
            state: Mutex::default(),
        }
    }

    /// The message-identity rule, if the DUT has one.
    pub fn seq(&self) -> Option<&SeqRule> {
        self.seq.as_ref()
    }

    /// The device restarted (`dut_reboot`): its sequence numbers start
    /// again, under new ids.
    pub fn rebooted(&self) {
        let mut s = lock(&self.state);
        s.boot += 1;
        s.last.clear();
        s.inflight.clear();
        s.pubrels.clear();
        s.incoming.clear();
        s.awaiting_rel.clear();
    }

    /// The id of a delivery of the device's message to `topic` with
    /// `payload`, as the observer records it: the id the wire view gave
    /// that number, else the workload's payload id, else none.
    pub fn delivered_id(&self, topic: &str, payload: &[u8]) -> Option<String> {
        let Some(n) = self.seq.as_ref().and_then(|r| r.extract(topic, payload)) else {
            return payload::identity(payload);
        };
        let s = lock(&self.state);
        Some(
            s.ids
                .get(&(topic.to_string(), n))
                .cloned()
                .unwrap_or_else(|| msg_id(topic, n, s.boot)),
        )
    }

    /// The trace events one wire event means, in order.
    pub fn feed(&self, ev: WireEvent) -> Vec<(Actor, Event)> {
        let mut s = lock(&self.state);
        let mut out = Vec::new();
        match ev {
            WireEvent::Opened { conn } => {
                if let Some(old) = s.live.take() {
                    s.replaced.insert(old);
                    out.push(lost("new_connection_by_dut"));
                    out.push((Actor::Dut, Event::Down));
                } else if std::mem::take(&mut s.unnoticed) {
                    out.push((Actor::Dut, Event::Down));
                }
                s.attempt += 1;
                let attempt = s.attempt;
                out.push((Actor::Dut, Event::Connecting { attempt }));
                s.keepalive.remove(&conn);
            }
            WireEvent::Closed { conn, .. } if s.replaced.remove(&conn) => {
                // Its end was already reported when the newer connection
                // started; it was no connection attempt.
                s.keepalive.remove(&conn);
                s.disconnected.remove(&conn);
            }
            WireEvent::Closed { conn, by } => {
                let reason = match by {
                    _ if s.disconnected.remove(&conn) => "disconnected_by_dut",
                    Closer::DeviceFin => "closed_by_dut",
                    Closer::DeviceReset => "reset_by_dut",
                    Closer::Proxy => "closed_by_proxy",
                };
                if s.live == Some(conn) {
                    s.live = None;
                    out.push(lost(reason));
                    if by == Closer::Proxy {
                        s.unnoticed = true;
                    } else {
                        out.push((Actor::Dut, Event::Down));
                    }
                } else if !s.failed.remove(&conn) {
                    if by != Closer::Proxy {
                        // The DUT gave up on an attempt, or closed after its
                        // connection was already replaced.
                        s.unnoticed = false;
                    }
                    if s.keepalive.contains_key(&conn) || by == Closer::Proxy {
                        out.push((
                            Actor::Dut,
                            Event::ConnectFailed {
                                reason: format!("{reason} before CONNACK"),
                            },
                        ));
                    }
                } else if by != Closer::Proxy {
                    s.unnoticed = false;
                }
                s.keepalive.remove(&conn);
            }
            WireEvent::Packet { conn, dir, packet } => {
                self.packet(&mut s, conn, dir, packet, &mut out)
            }
        }
        out
    }

    fn packet(
        &self,
        s: &mut State,
        conn: u64,
        dir: Dir,
        packet: Packet,
        out: &mut Vec<(Actor, Event)>,
    ) {
        match (dir, packet) {
            (Dir::Up, Packet::Connect { keep_alive, .. }) => {
                s.keepalive.insert(conn, keep_alive);
            }
            (
                Dir::Down,
                Packet::Connack {
                    session_present,
                    code,
                },
            ) => {
                if code == 0 {
                    if !session_present {
                        // The broker will not release, nor resend, what
                        // the lost session held.
                        s.incoming.clear();
                        s.awaiting_rel.clear();
                    }
                    let ka = s.keepalive.get(&conn).copied().unwrap_or(0);
                    let keepalive_s = (f64::from(ka) / self.scale).round().min(65535.0) as u16;
                    s.live = Some(conn);
                    s.unnoticed = false;
                    s.attempt = 0;
                    out.push((
                        Actor::Dut,
                        Event::Connected {
                            session_present,
                            keepalive_s,
                        },
                    ));
                    out.push((Actor::Dut, Event::Up));
                } else {
                    s.failed.insert(conn);
                    out.push((
                        Actor::Dut,
                        Event::ConnectFailed {
                            reason: format!("CONNACK return code {code}"),
                        },
                    ));
                }
            }
            (
                Dir::Up,
                Packet::Publish {
                    pid,
                    qos,
                    dup,
                    topic,
                    payload,
                    ..
                },
            ) => {
                let n = self.seq.as_ref().and_then(|r| r.extract(&topic, &payload));
                let msg = match n {
                    Some(n) => self.number(s, &topic, n, qos, out),
                    None => payload::identity(&payload).unwrap_or_default(),
                };
                if let Some(p) = pid {
                    if dup && s.inflight.contains_key(&p) {
                        out.push((Actor::Dut, Event::Retransmit { pid: p }));
                    }
                    s.inflight.insert(p, msg.clone());
                }
                out.push((
                    Actor::Dut,
                    Event::PublishSent {
                        pid,
                        qos,
                        dup,
                        topic: topic.clone(),
                        msg: msg.clone(),
                    },
                ));
                if qos == 0 && n.is_some() && s.done.insert(msg.clone()) {
                    out.push((Actor::App, Event::AppPublishDone { msg }));
                }
            }
            (Dir::Down, Packet::Puback { pid } | Packet::Pubcomp { pid }) => {
                let Some(msg) = s.inflight.remove(&pid) else {
                    out.push((Actor::Dut, Event::StrayAck { pid }));
                    return;
                };
                out.push((Actor::Dut, Event::Puback { pid }));
                s.pubrels.remove(&pid);
                if s.started.contains(&msg) && s.done.insert(msg.clone()) {
                    out.push((Actor::App, Event::AppPublishDone { msg }));
                }
            }
            (Dir::Down, Packet::Pubrec { pid }) if !s.inflight.contains_key(&pid) => {
                out.push((Actor::Dut, Event::StrayAck { pid }));
            }
            (Dir::Up, Packet::Pubrel { pid }) => {
                let resend = !s.pubrels.insert(pid);
                out.push((Actor::Dut, Event::PubrelSent { pid, resend }));
            }
            (Dir::Up, Packet::Disconnect) => {
                s.disconnected.insert(conn);
            }
            // A replaced connection's keepalive is not the new one's: a
            // ping on it is the old connection's last breath, not a ping
            // sent outside a connection.
            (_, Packet::Pingreq | Packet::Pingresp) if s.replaced.contains(&conn) => {}
            (Dir::Up, Packet::Pingreq) => out.push((Actor::Dut, Event::PingSent)),
            (Dir::Down, Packet::Pingresp) => out.push((Actor::Dut, Event::Pingresp)),
            (Dir::Up, Packet::Subscribe { pid, topics }) => {
                s.subscribing
                    .insert(pid, topics.into_iter().map(|(t, _)| t).collect());
            }
            (Dir::Down, Packet::Suback { pid, codes }) => {
                let topics = s.subscribing.remove(&pid).unwrap_or_default();
                for (topic, code) in topics.into_iter().zip(codes) {
                    if code <= 2 {
                        out.push((Actor::Dut, Event::Subscribed { topic, qos: code }));
                    }
                }
            }
            (
                Dir::Down,
                Packet::Publish {
                    pid,
                    qos,
                    dup,
                    retain,
                    topic,
                    payload,
                },
            ) => {
                let message = Event::Message {
                    msg: payload::identity(&payload).unwrap_or_default(),
                    topic,
                    qos,
                    retain,
                    dup,
                };
                match pid {
                    // Received when the DUT acknowledges it.
                    Some(p) => {
                        s.incoming.insert(p, (qos, message));
                    }
                    None => out.push((Actor::Dut, message)),
                }
            }
            (Dir::Up, Packet::Puback { pid }) => {
                if let Some((1, message)) = s.incoming.get(&pid).cloned() {
                    s.incoming.remove(&pid);
                    out.push((Actor::Dut, message));
                }
            }
            (Dir::Up, Packet::Pubrec { pid }) => {
                if let Some((2, message)) = s.incoming.get(&pid).cloned() {
                    s.incoming.remove(&pid);
                    if s.awaiting_rel.insert(pid) {
                        out.push((Actor::Dut, message));
                    } else {
                        out.push((Actor::Dut, Event::Qos2Duplicate { pid }));
                    }
                }
            }
            (Dir::Down, Packet::Pubrel { pid }) => {
                s.awaiting_rel.remove(&pid);
            }
            _ => {}
        }
    }

    /// The id of number `n` on `topic`, with the app events its first
    /// send (and a gap before it) mean.
    fn number(
        &self,
        s: &mut State,
        topic: &str,
        n: u64,
        qos: u8,
        out: &mut Vec<(Actor, Event)>,
    ) -> String {
        let boot = s.boot;
        let msg = msg_id(topic, n, boot);
        if s.started.contains(&msg) {
            return msg;
        }
        let start = |msg: String| {
            (
                Actor::App,
                Event::AppPublishStart {
                    msg,
                    topic: topic.to_string(),
                    qos,
                },
            )
        };
        if let Some(&last) = s.last.get(topic) {
            if n > last + 1 {
                for skipped in (last + 1..n).take(MAX_GAP as usize) {
                    let m = msg_id(topic, skipped, boot);
                    if s.started.insert(m.clone()) {
                        out.push(start(m));
                    }
                }
            }
        }
        let last = s.last.entry(topic.to_string()).or_insert(n);
        *last = (*last).max(n);
        s.started.insert(msg.clone());
        s.ids.insert((topic.to_string(), n), msg.clone());
        out.push(start(msg.clone()));
        msg
    }
}

fn lost(reason: &str) -> (Actor, Event) {
    (
        Actor::Dut,
        Event::ConnectionLost {
            reason: reason.into(),
        },
    )
}

/// `TOPIC#N`, or `TOPIC#N@bootB` after a reboot.
fn msg_id(topic: &str, n: u64, boot: u64) -> String {
    if boot == 0 {
        format!("{topic}#{n}")
    } else {
        format!("{topic}#{n}@boot{boot}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fault_proxy::wire::Framer;

    /// A paho-style session, as bytes: CONNECT (keepalive 60), CONNACK,
    /// PUBLISH `1` (pid 1), PUBACK, PUBLISH `3` (pid 2, seq 2 skipped), its
    /// DUP resend, PUBACK, PINGREQ, PINGRESP.
    fn publish(pid: u16, n: u8, dup: bool) -> Vec<u8> {
        let mut p = vec![if dup { 0x3a } else { 0x32 }, 0x10, 0x00, 0x0b];
        p.extend_from_slice(b"peers/d/seq");
        p.extend_from_slice(&pid.to_be_bytes());
        p.push(b'0' + n);
        p
    }
    const CONNECT: &[u8] = &[
        0x10, 0x0f, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x03, b'd',
        b'u', b't',
    ];

    fn run(view: &WireView, steps: Vec<(Dir, Vec<u8>)>) -> Vec<String> {
        let mut up = Framer::new();
        let mut down = Framer::new();
        let mut out = Vec::new();
        for (dir, bytes) in steps {
            let f = if dir == Dir::Up { &mut up } else { &mut down };
            for packet in f.push(&bytes) {
                for (a, e) in view.feed(WireEvent::Packet {
                    conn: 1,
                    dir,
                    packet,
                }) {
                    out.push(format!(
                        "{a} {}",
                        crate::trace::Record::new(0, a, e).to_json_line()
                    ));
                }
            }
        }
        out
    }

    fn names(view: &WireView, ev: WireEvent) -> Vec<String> {
        view.feed(ev)
            .into_iter()
            .map(|(a, e)| format!("{a} {}", e.name()))
            .collect()
    }

    #[test]
    fn recorded_bytes_become_the_duts_events() {
        let view = WireView::new(Some(SeqRule::default_for_exec()), 0.5);
        assert_eq!(
            names(&view, WireEvent::Opened { conn: 1 }),
            ["dut connecting"]
        );
        let lines = run(
            &view,
            vec![
                (Dir::Up, CONNECT.to_vec()),
                (Dir::Down, vec![0x20, 0x02, 0x00, 0x00]),
                (Dir::Up, publish(1, 1, false)),
                (Dir::Down, vec![0x40, 0x02, 0x00, 0x01]),
                (Dir::Up, publish(2, 3, false)),
                (Dir::Up, publish(2, 3, true)),
                (Dir::Down, vec![0x40, 0x02, 0x00, 0x02]),
                (Dir::Up, vec![0xc0, 0x00]),
                (Dir::Down, vec![0xd0, 0x00]),
            ],
        );
        let want = [
            // keepalive 60 s of wall time at scale 0.5 = 120 s
            r#"dut {"t_ms":0,"actor":"dut","event":"connected","session_present":false,"keepalive_s":120}"#,
            r#"dut {"t_ms":0,"actor":"dut","event":"up"}"#,
            r#"app {"t_ms":0,"actor":"app","event":"app_publish_start","msg":"peers/d/seq#1","topic":"peers/d/seq","qos":1}"#,
            r#"dut {"t_ms":0,"actor":"dut","event":"publish_sent","pid":1,"qos":1,"dup":false,"topic":"peers/d/seq","msg":"peers/d/seq#1"}"#,
            r#"dut {"t_ms":0,"actor":"dut","event":"puback","pid":1}"#,
            r#"app {"t_ms":0,"actor":"app","event":"app_publish_done","msg":"peers/d/seq#1"}"#,
            // 2 was skipped: a publish the device made and never sent
            r#"app {"t_ms":0,"actor":"app","event":"app_publish_start","msg":"peers/d/seq#2","topic":"peers/d/seq","qos":1}"#,
            r#"app {"t_ms":0,"actor":"app","event":"app_publish_start","msg":"peers/d/seq#3","topic":"peers/d/seq","qos":1}"#,
            r#"dut {"t_ms":0,"actor":"dut","event":"publish_sent","pid":2,"qos":1,"dup":false,"topic":"peers/d/seq","msg":"peers/d/seq#3"}"#,
            r#"dut {"t_ms":0,"actor":"dut","event":"retransmit","pid":2}"#,
            r#"dut {"t_ms":0,"actor":"dut","event":"publish_sent","pid":2,"qos":1,"dup":true,"topic":"peers/d/seq","msg":"peers/d/seq#3"}"#,
            r#"dut {"t_ms":0,"actor":"dut","event":"puback","pid":2}"#,
            r#"app {"t_ms":0,"actor":"app","event":"app_publish_done","msg":"peers/d/seq#3"}"#,
            r#"dut {"t_ms":0,"actor":"dut","event":"ping_sent"}"#,
            r#"dut {"t_ms":0,"actor":"dut","event":"pingresp"}"#,
        ];
        assert_eq!(lines, want);
        assert_eq!(
            view.delivered_id("peers/d/seq", b"3").as_deref(),
            Some("peers/d/seq#3")
        );
    }

    #[test]
    fn detection_is_the_duts_fin_or_its_next_connection() {
        let view = WireView::new(None, 1.0);
        let connack = |conn| WireEvent::Packet {
            conn,
            dir: Dir::Down,
            packet: Packet::Connack {
                session_present: true,
                code: 0,
            },
        };
        names(&view, WireEvent::Opened { conn: 1 });
        assert_eq!(names(&view, connack(1)), ["dut connected", "dut up"]);
        // The DUT resets its connection: detected then.
        assert_eq!(
            names(
                &view,
                WireEvent::Closed {
                    conn: 1,
                    by: Closer::DeviceReset
                }
            ),
            ["dut connection_lost", "dut down"]
        );
        names(&view, WireEvent::Opened { conn: 2 });
        names(&view, connack(2));
        // A new connection while the old one looks up: detected at the new one.
        assert_eq!(
            names(&view, WireEvent::Opened { conn: 3 }),
            ["dut connection_lost", "dut down", "dut connecting"]
        );
        names(&view, connack(3));
        // The proxy closes it: lost, but the DUT's detection is its next
        // connection attempt.
        assert_eq!(
            names(
                &view,
                WireEvent::Closed {
                    conn: 3,
                    by: Closer::Proxy
                }
            ),
            ["dut connection_lost"]
        );
        assert_eq!(
            names(&view, WireEvent::Opened { conn: 4 }),
            ["dut down", "dut connecting"]
        );
        // Refused: a failed attempt, counted on.
        assert_eq!(
            names(
                &view,
                WireEvent::Packet {
                    conn: 4,
                    dir: Dir::Down,
                    packet: Packet::Connack {
                        session_present: false,
                        code: 5
                    }
                }
            ),
            ["dut connect_failed"]
        );
        assert_eq!(
            names(
                &view,
                WireEvent::Closed {
                    conn: 4,
                    by: Closer::DeviceFin
                }
            ),
            Vec::<String>::new()
        );
        let e = view.feed(WireEvent::Opened { conn: 5 });
        assert_eq!(e, vec![(Actor::Dut, Event::Connecting { attempt: 2 })]);
        // A DISCONNECT, then its FIN: a clean close.
        view.feed(connack(5));
        let e = view.feed(WireEvent::Packet {
            conn: 5,
            dir: Dir::Up,
            packet: Packet::Disconnect,
        });
        assert!(e.is_empty());
        assert_eq!(
            view.feed(WireEvent::Closed {
                conn: 5,
                by: Closer::DeviceFin
            }),
            vec![lost("disconnected_by_dut"), (Actor::Dut, Event::Down)]
        );
    }

    #[test]
    fn a_replaced_connections_last_bytes_are_not_the_new_attempts() {
        // A device that restarted (or gave up on its connection) opens a
        // new one; the old socket's last ping and its close arrive after.
        let view = WireView::new(None, 1.0);
        let packet = |conn, dir, packet| WireEvent::Packet { conn, dir, packet };
        let connack = Packet::Connack {
            session_present: false,
            code: 0,
        };
        names(&view, WireEvent::Opened { conn: 1 });
        names(&view, packet(1, Dir::Down, connack.clone()));
        assert_eq!(
            names(&view, WireEvent::Opened { conn: 2 }),
            ["dut connection_lost", "dut down", "dut connecting"]
        );
        assert!(names(&view, packet(1, Dir::Up, Packet::Pingreq)).is_empty());
        assert!(names(&view, packet(1, Dir::Down, Packet::Pingresp)).is_empty());
        let closed = |conn| WireEvent::Closed {
            conn,
            by: Closer::DeviceReset,
        };
        assert!(names(&view, closed(1)).is_empty(), "not a failed attempt");
        // The new connection's own ping before its CONNACK is still the
        // DUT's, and the conformance oracle judges it.
        assert_eq!(
            names(&view, packet(2, Dir::Up, Packet::Pingreq)),
            ["dut ping_sent"]
        );
        assert_eq!(
            names(&view, packet(2, Dir::Down, connack)),
            ["dut connected", "dut up"]
        );
        assert_eq!(names(&view, closed(2)), ["dut connection_lost", "dut down"]);
    }

    #[test]
    fn a_reboot_gives_new_ids_to_the_same_numbers() {
        let view = WireView::new(Some(SeqRule::default_for_exec()), 1.0);
        let lines = run(&view, vec![(Dir::Up, publish(1, 5, false))]);
        assert!(lines[0].contains("\"msg\":\"peers/d/seq#5\""), "{lines:?}");
        view.rebooted();
        let lines = run(&view, vec![(Dir::Up, publish(1, 1, false))]);
        assert_eq!(lines.len(), 2, "no gap across a reboot: {lines:?}");
        assert!(
            lines[0].contains("\"msg\":\"peers/d/seq#1@boot1\""),
            "{lines:?}"
        );
        assert_eq!(
            view.delivered_id("peers/d/seq", b"1").as_deref(),
            Some("peers/d/seq#1@boot1")
        );
    }
    /// A PUBLISH as bytes: `qos`, `dup`, topic `c`, payload `payload`.
    fn publish_to(qos: u8, dup: bool, pid: u16, payload: &[u8]) -> Vec<u8> {
        let mut body = vec![0x00, 0x01, b'c'];
        if qos > 0 {
            body.extend_from_slice(&pid.to_be_bytes());
        }
        body.extend_from_slice(payload);
        let mut p = vec![
            0x30 | (qos << 1) | if dup { 0x08 } else { 0 },
            body.len() as u8,
        ];
        p.extend(body);
        p
    }

    /// An ack of type `first` (0x40 PUBACK, 0x50 PUBREC, 0x62 PUBREL,
    /// 0x70 PUBCOMP) for `pid`.
    fn ack(first: u8, pid: u16) -> Vec<u8> {
        let [a, b] = pid.to_be_bytes();
        vec![first, 0x02, a, b]
    }

    /// The `event` names of `lines` (what `run` returns).
    fn events(lines: &[String]) -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                let (who, json) = l.split_once(' ').unwrap();
                let v: serde_json::Value = serde_json::from_str(json).unwrap();
                let mut e = format!("{who} {}", v["event"].as_str().unwrap());
                for k in ["pid", "resend", "dup", "msg"] {
                    if let Some(x) = v.get(k) {
                        e.push_str(&format!(" {k}={x}"));
                    }
                }
                e
            })
            .collect()
    }

    fn connack(session_present: bool) -> Vec<u8> {
        vec![0x20, 0x02, u8::from(session_present), 0x00]
    }

    #[test]
    fn qos2_out_pubrec_pubrel_pubcomp_and_a_resent_pubrel() {
        let view = WireView::new(Some(SeqRule::default_for_exec()), 1.0);
        let mut q2 = publish(7, 1, false);
        q2[0] = 0x34;
        let lines = run(
            &view,
            vec![
                (Dir::Up, CONNECT.to_vec()),
                (Dir::Down, connack(false)),
                (Dir::Up, q2),
                (Dir::Down, ack(0x50, 7)),
                (Dir::Up, ack(0x62, 7)),
                (Dir::Up, ack(0x62, 7)),
                (Dir::Down, ack(0x70, 7)),
            ],
        );
        assert_eq!(
            events(&lines)[2..],
            [
                r#"app app_publish_start msg="peers/d/seq#1""#,
                r#"dut publish_sent pid=7 dup=false msg="peers/d/seq#1""#,
                "dut pubrel_sent pid=7 resend=false",
                "dut pubrel_sent pid=7 resend=true",
                "dut puback pid=7",
                r#"app app_publish_done msg="peers/d/seq#1""#,
            ]
        );
    }

    #[test]
    fn acks_for_pids_not_in_flight_are_stray() {
        let view = WireView::new(None, 1.0);
        let lines = run(
            &view,
            vec![
                (Dir::Up, CONNECT.to_vec()),
                (Dir::Down, connack(false)),
                (Dir::Up, publish(3, 1, false)),
                (Dir::Down, ack(0x40, 3)),
                // The original and its resend both acknowledged.
                (Dir::Down, ack(0x40, 3)),
                (Dir::Down, ack(0x50, 9)),
                (Dir::Down, ack(0x70, 9)),
            ],
        );
        assert_eq!(
            events(&lines)[3..],
            [
                "dut puback pid=3",
                "dut stray_ack pid=3",
                "dut stray_ack pid=9",
                "dut stray_ack pid=9",
            ]
        );
        // A reboot forgets what was in flight: a late ack is stray.
        run(&view, vec![(Dir::Up, publish(4, 2, false))]);
        view.rebooted();
        assert_eq!(
            events(&run(&view, vec![(Dir::Down, ack(0x40, 4))])),
            ["dut stray_ack pid=4"]
        );
    }

    #[test]
    fn incoming_messages_count_when_the_dut_acknowledges_them() {
        let view = WireView::new(None, 1.0);
        let m = |n: u8| format!("obs-1:{n} x").into_bytes();
        let lines = run(
            &view,
            vec![
                (Dir::Up, CONNECT.to_vec()),
                (Dir::Down, connack(false)),
                // QoS 0: on arrival.
                (Dir::Down, publish_to(0, false, 0, &m(1))),
                // QoS 1: at the DUT's PUBACK; one it never acks is not
                // received.
                (Dir::Down, publish_to(1, false, 1, &m(2))),
                (Dir::Up, ack(0x40, 1)),
                (Dir::Down, publish_to(1, false, 2, &m(3))),
                // QoS 2: at its PUBREC; the broker's resend of a pid
                // awaiting PUBREL is a duplicate, not a message.
                (Dir::Down, publish_to(2, false, 5, &m(4))),
                (Dir::Up, ack(0x50, 5)),
                (Dir::Down, publish_to(2, true, 5, &m(4))),
                (Dir::Up, ack(0x50, 5)),
                (Dir::Down, ack(0x62, 5)),
                (Dir::Up, ack(0x70, 5)),
                // Released: the pid is free again.
                (Dir::Down, publish_to(2, false, 5, &m(5))),
                (Dir::Up, ack(0x50, 5)),
            ],
        );
        assert_eq!(
            events(&lines)[2..],
            [
                r#"dut message dup=false msg="obs-1:1""#,
                r#"dut message dup=false msg="obs-1:2""#,
                r#"dut message dup=false msg="obs-1:4""#,
                "dut qos2_duplicate pid=5",
                r#"dut message dup=false msg="obs-1:5""#,
            ]
        );
        // A lost session forgets the ids awaiting PUBREL.
        let lines = run(
            &view,
            vec![
                (Dir::Down, connack(false)),
                (Dir::Down, publish_to(2, true, 5, &m(5))),
                (Dir::Up, ack(0x50, 5)),
            ],
        );
        assert_eq!(
            events(&lines)[2..],
            [r#"dut message dup=true msg="obs-1:5""#]
        );
    }

    #[test]
    fn a_connection_the_proxy_turns_away_is_a_failed_attempt() {
        let view = WireView::new(None, 1.0);
        assert_eq!(
            names(&view, WireEvent::Opened { conn: 1 }),
            ["dut connecting"]
        );
        assert_eq!(
            view.feed(WireEvent::Closed {
                conn: 1,
                by: Closer::Proxy
            }),
            vec![(
                Actor::Dut,
                Event::ConnectFailed {
                    reason: "closed_by_proxy before CONNACK".into()
                }
            )]
        );
        // An attempt the DUT abandons after its CONNECT (a dead path).
        names(&view, WireEvent::Opened { conn: 2 });
        view.feed(WireEvent::Packet {
            conn: 2,
            dir: Dir::Up,
            packet: Packet::Connect {
                client_id: "d".into(),
                clean_session: true,
                keep_alive: 10,
            },
        });
        assert_eq!(
            view.feed(WireEvent::Closed {
                conn: 2,
                by: Closer::DeviceReset
            }),
            vec![(
                Actor::Dut,
                Event::ConnectFailed {
                    reason: "reset_by_dut before CONNACK".into()
                }
            )]
        );
        assert_eq!(
            view.feed(WireEvent::Opened { conn: 3 }),
            vec![(Actor::Dut, Event::Connecting { attempt: 3 })]
        );
    }
}
