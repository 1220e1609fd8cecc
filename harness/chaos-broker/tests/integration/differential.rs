//! Differential tests: the same scripted raw-packet exchange against our
//! broker and a real mosquitto 2.0 (started by the test), with what every
//! client receives compared packet by packet. Each script also states the
//! expected transcript, so the two brokers cannot agree on something wrong.
//!
//! These need mosquitto installed (`apt-get install -y mosquitto`); without
//! it they fail and say so.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use crate::support::client::{connect, will, Client, Event};
use crate::support::mosquitto::Mosquitto;
use crate::support::{serve_ours, tcp_client};
use chaos_broker::BrokerConfig;
use resilient_mqtt::codec::Packet;
use tokio::net::TcpStream;

/// How long "nothing more arrives" is watched for.
const QUIET: Duration = Duration::from_millis(300);
const WAIT: Duration = Duration::from_secs(3);

/// Records what clients see, as `name: summary` lines.
#[derive(Default)]
struct Transcript(Vec<String>);

impl Transcript {
    fn line(name: &str, e: Event) -> String {
        match e {
            Event::Packet(g) if g.payload.is_empty() => format!("{name}: {}", g.summary),
            Event::Packet(g) => format!(
                "{name}: {} payload={}",
                g.summary,
                String::from_utf8_lossy(&g.payload)
            ),
            Event::Closed => format!("{name}: closed"),
            Event::Timeout => format!("{name}: silent"),
            Event::Malformed(e) => format!("{name}: malformed {e}"),
        }
    }

    /// The next thing `c` sees.
    async fn next(&mut self, name: &str, c: &mut Client<TcpStream>) {
        let e = c.next_within(WAIT).await;
        self.0.push(Self::line(name, e));
    }

    /// The next `n` things `c` sees.
    async fn next_n(&mut self, name: &str, c: &mut Client<TcpStream>, n: usize) {
        for _ in 0..n {
            self.next(name, c).await;
        }
    }

    /// What `c` sees within a short quiet period (normally "silent").
    async fn quiet(&mut self, name: &str, c: &mut Client<TcpStream>) {
        let e = c.next_within(QUIET).await;
        self.0.push(Self::line(name, e));
    }
}

/// Runs `script` against mosquitto and against our broker; asserts both
/// transcripts equal each other and the expected one.
async fn differential<F, Fut>(script: F, expected: &[&str])
where
    F: Fn(SocketAddr) -> Fut,
    Fut: Future<Output = Vec<String>>,
{
    differential_with(
        Mosquitto::start(),
        BrokerConfig::default(),
        script,
        expected,
    )
    .await
}

async fn differential_with<F, Fut>(
    mosquitto: Mosquitto,
    config: BrokerConfig,
    script: F,
    expected: &[&str],
) where
    F: Fn(SocketAddr) -> Fut,
    Fut: Future<Output = Vec<String>>,
{
    let theirs = script(mosquitto.addr()).await;
    drop(mosquitto);
    let (addr, _broker) = serve_ours(config).await;
    let ours = script(addr).await;
    assert_eq!(
        ours, theirs,
        "chaos broker (left) differs from mosquitto (right)"
    );
    assert_eq!(
        ours, expected,
        "both brokers differ from the expected transcript"
    );
}

async fn connected(
    addr: SocketAddr,
    t: &mut Transcript,
    name: &str,
    id: &str,
    clean: bool,
) -> Client<TcpStream> {
    let mut c = tcp_client(addr).await;
    c.send(Packet::Connect(connect(id, clean, 60))).await;
    t.next(name, &mut c).await;
    c
}

#[tokio::test]
async fn connect_with_and_without_session_present() {
    differential(
        |addr| async move {
            let mut t = Transcript::default();
            let mut c = connected(addr, &mut t, "c", "diff-sp", false).await;
            c.disconnect().await;
            t.next("c", &mut c).await;
            let mut c = connected(addr, &mut t, "c", "diff-sp", false).await;
            c.disconnect().await;
            t.next("c", &mut c).await;
            let mut c = connected(addr, &mut t, "c", "diff-sp", true).await;
            c.disconnect().await;
            t.next("c", &mut c).await;
            let mut c = connected(addr, &mut t, "c", "diff-sp", false).await;
            c.ping().await;
            t.next("c", &mut c).await;
            // Empty client id: rejected for a persistent session.
            let mut e = tcp_client(addr).await;
            e.send(Packet::Connect(connect("", false, 60))).await;
            t.next_n("e", &mut e, 2).await;
            t.0
        },
        &[
            "c: CONNACK sp=0 rc=0",
            "c: closed",
            "c: CONNACK sp=1 rc=0",
            "c: closed",
            "c: CONNACK sp=0 rc=0",
            "c: closed",
            "c: CONNACK sp=0 rc=0",
            "c: PINGRESP",
            "e: CONNACK sp=0 rc=2",
            "e: closed",
        ],
    )
    .await;
}

#[tokio::test]
async fn subscribe_and_suback() {
    differential(
        |addr| async move {
            let mut t = Transcript::default();
            let mut c = connected(addr, &mut t, "c", "diff-sub", true).await;
            c.subscribe(10, &[("a/+", 0), ("b/#", 1), ("c", 2)]).await;
            t.next("c", &mut c).await;
            // Re-subscribing replaces the QoS.
            c.subscribe(11, &[("a/+", 2)]).await;
            t.next("c", &mut c).await;
            c.publish("a/x", b"m", 2, 1, false).await;
            t.next("c", &mut c).await; // PUBREC
            c.pubrel(1).await;
            t.next_n("c", &mut c, 2).await; // PUBCOMP and the delivery, in the broker's order
            t.0
        },
        &[
            "c: CONNACK sp=0 rc=0",
            "c: SUBACK pid=10 codes=0,1,2",
            "c: SUBACK pid=11 codes=2",
            "c: PUBREC pid=1",
            "c: PUBLISH pid=1 qos=2 dup=0 retain=0 topic=a/x len=1 payload=m",
            "c: PUBCOMP pid=1",
        ],
    )
    .await;
}

#[tokio::test]
async fn qos0_and_qos1_delivery_with_downgrade() {
    differential(
        |addr| async move {
            let mut t = Transcript::default();
            let mut s0 = connected(addr, &mut t, "s0", "diff-s0", true).await;
            s0.subscribe(1, &[("d/#", 0)]).await;
            t.next("s0", &mut s0).await;
            let mut s1 = connected(addr, &mut t, "s1", "diff-s1", true).await;
            s1.subscribe(1, &[("d/#", 1)]).await;
            t.next("s1", &mut s1).await;
            let mut p = connected(addr, &mut t, "p", "diff-p", true).await;
            p.publish("d/0", b"zero", 0, 0, false).await;
            t.next("s0", &mut s0).await;
            t.next("s1", &mut s1).await;
            p.publish("d/1", b"one", 1, 5, false).await;
            t.next("p", &mut p).await;
            t.next("s0", &mut s0).await;
            t.next("s1", &mut s1).await;
            s1.puback(1).await;
            p.publish("d/2", b"two", 2, 6, false).await;
            t.next("p", &mut p).await;
            p.pubrel(6).await;
            t.next("p", &mut p).await;
            t.next("s0", &mut s0).await;
            t.next("s1", &mut s1).await;
            s1.puback(2).await;
            t.quiet("s1", &mut s1).await;
            t.0
        },
        &[
            "s0: CONNACK sp=0 rc=0",
            "s0: SUBACK pid=1 codes=0",
            "s1: CONNACK sp=0 rc=0",
            "s1: SUBACK pid=1 codes=1",
            "p: CONNACK sp=0 rc=0",
            "s0: PUBLISH qos=0 dup=0 retain=0 topic=d/0 len=4 payload=zero",
            "s1: PUBLISH qos=0 dup=0 retain=0 topic=d/0 len=4 payload=zero",
            "p: PUBACK pid=5",
            "s0: PUBLISH qos=0 dup=0 retain=0 topic=d/1 len=3 payload=one",
            "s1: PUBLISH pid=1 qos=1 dup=0 retain=0 topic=d/1 len=3 payload=one",
            "p: PUBREC pid=6",
            "p: PUBCOMP pid=6",
            "s0: PUBLISH qos=0 dup=0 retain=0 topic=d/2 len=3 payload=two",
            "s1: PUBLISH pid=2 qos=1 dup=0 retain=0 topic=d/2 len=3 payload=two",
            "s1: silent",
        ],
    )
    .await;
}

#[tokio::test]
async fn retained_delivery_on_subscribe() {
    differential(
        |addr| async move {
            let mut t = Transcript::default();
            let mut p = connected(addr, &mut t, "p", "diff-rp", true).await;
            p.publish("r/a", b"old", 1, 1, true).await;
            t.next("p", &mut p).await;
            p.publish("r/a", b"new", 1, 2, true).await;
            t.next("p", &mut p).await;
            let mut s = connected(addr, &mut t, "s", "diff-rs", true).await;
            s.subscribe(1, &[("r/a", 1)]).await;
            t.next_n("s", &mut s, 2).await;
            s.puback(1).await;
            // Live delivery has RETAIN cleared; an empty retained payload clears.
            p.publish("r/a", b"", 0, 0, true).await;
            t.next("s", &mut s).await;
            let mut s2 = connected(addr, &mut t, "s2", "diff-rs2", true).await;
            s2.subscribe(1, &[("r/#", 0)]).await;
            t.next("s2", &mut s2).await;
            t.quiet("s2", &mut s2).await;
            t.0
        },
        &[
            "p: CONNACK sp=0 rc=0",
            "p: PUBACK pid=1",
            "p: PUBACK pid=2",
            "s: CONNACK sp=0 rc=0",
            "s: SUBACK pid=1 codes=1",
            "s: PUBLISH pid=1 qos=1 dup=0 retain=1 topic=r/a len=3 payload=new",
            "s: PUBLISH qos=0 dup=0 retain=0 topic=r/a len=0",
            "s2: CONNACK sp=0 rc=0",
            "s2: SUBACK pid=1 codes=0",
            "s2: silent",
        ],
    )
    .await;
}

#[tokio::test]
async fn will_on_abrupt_close_not_after_disconnect() {
    differential(
        |addr| async move {
            let mut t = Transcript::default();
            let mut w = connected(addr, &mut t, "w", "diff-w", true).await;
            w.subscribe(1, &[("will/#", 1)]).await;
            t.next("w", &mut w).await;
            let mut a = tcp_client(addr).await;
            let mut con = connect("diff-a", true, 60);
            con.will = Some(will("will/a", b"a-gone", 1, false));
            a.send(Packet::Connect(con)).await;
            t.next("a", &mut a).await;
            a.close().await;
            t.next("w", &mut w).await;
            w.puback(1).await;
            let mut b = tcp_client(addr).await;
            let mut con = connect("diff-b", true, 60);
            con.will = Some(will("will/b", b"b-gone", 0, false));
            b.send(Packet::Connect(con)).await;
            t.next("b", &mut b).await;
            b.disconnect().await;
            t.next("b", &mut b).await;
            t.quiet("w", &mut w).await;
            // A second CONNECT closes without the will (mosquitto 2.0 does so).
            let mut c = tcp_client(addr).await;
            let mut con = connect("diff-c", true, 60);
            con.will = Some(will("will/c", b"c-gone", 0, false));
            c.send(Packet::Connect(con)).await;
            t.next("c", &mut c).await;
            c.send(Packet::Connect(con)).await;
            t.next("c", &mut c).await;
            t.quiet("w", &mut w).await;
            // Other protocol errors do.
            let mut d = tcp_client(addr).await;
            let mut con = connect("diff-d", true, 60);
            con.will = Some(will("will/d", b"d-gone", 0, false));
            d.send(Packet::Connect(con)).await;
            t.next("d", &mut d).await;
            d.send_raw(&[0x80, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x00])
                .await;
            t.next("d", &mut d).await;
            t.quiet("w", &mut w).await;
            let mut e = tcp_client(addr).await;
            let mut con = connect("diff-e", true, 60);
            con.will = Some(will("will/e", b"e-gone", 0, false));
            e.send(Packet::Connect(con)).await;
            t.next("e", &mut e).await;
            e.send_raw(&[0x30, 0x03, 0x00, 0x09, b'a']).await;
            t.next("e", &mut e).await;
            t.quiet("w", &mut w).await;
            t.0
        },
        &[
            "w: CONNACK sp=0 rc=0",
            "w: SUBACK pid=1 codes=1",
            "a: CONNACK sp=0 rc=0",
            "w: PUBLISH pid=1 qos=1 dup=0 retain=0 topic=will/a len=6 payload=a-gone",
            "b: CONNACK sp=0 rc=0",
            "b: closed",
            "w: silent",
            "c: CONNACK sp=0 rc=0",
            "c: closed",
            "w: silent",
            "d: CONNACK sp=0 rc=0",
            "d: closed",
            "w: PUBLISH qos=0 dup=0 retain=0 topic=will/d len=6 payload=d-gone",
            "e: CONNACK sp=0 rc=0",
            "e: closed",
            "w: PUBLISH qos=0 dup=0 retain=0 topic=will/e len=6 payload=e-gone",
        ],
    )
    .await;
}

#[tokio::test]
async fn persistent_session_backlog() {
    differential(
        |addr| async move {
            let mut t = Transcript::default();
            let mut s = connected(addr, &mut t, "s", "diff-bs", false).await;
            s.subscribe(1, &[("q/#", 2)]).await;
            t.next("s", &mut s).await;
            s.disconnect().await;
            t.next("s", &mut s).await;
            let mut p = connected(addr, &mut t, "p", "diff-bp", true).await;
            p.publish("q/1", b"one", 1, 1, false).await;
            t.next("p", &mut p).await;
            p.publish("q/0", b"zero", 0, 0, false).await;
            p.publish("q/2", b"two", 2, 2, false).await;
            t.next("p", &mut p).await;
            p.pubrel(2).await;
            t.next("p", &mut p).await;
            p.publish("q/3", b"three", 1, 3, false).await;
            t.next("p", &mut p).await;
            let mut s = connected(addr, &mut t, "s", "diff-bs", false).await;
            t.next_n("s", &mut s, 3).await;
            s.puback(1).await;
            s.pubrec(2).await;
            t.next("s", &mut s).await;
            s.pubcomp(2).await;
            s.puback(3).await;
            t.quiet("s", &mut s).await;
            t.0
        },
        &[
            "s: CONNACK sp=0 rc=0",
            "s: SUBACK pid=1 codes=2",
            "s: closed",
            "p: CONNACK sp=0 rc=0",
            "p: PUBACK pid=1",
            "p: PUBREC pid=2",
            "p: PUBCOMP pid=2",
            "p: PUBACK pid=3",
            "s: CONNACK sp=1 rc=0",
            "s: PUBLISH pid=1 qos=1 dup=0 retain=0 topic=q/1 len=3 payload=one",
            "s: PUBLISH pid=2 qos=2 dup=0 retain=0 topic=q/2 len=3 payload=two",
            "s: PUBLISH pid=3 qos=1 dup=0 retain=0 topic=q/3 len=5 payload=three",
            "s: PUBREL pid=2",
            "s: silent",
        ],
    )
    .await;
}

#[tokio::test]
async fn inflight_resent_with_dup_on_resume() {
    differential(
        |addr| async move {
            let mut t = Transcript::default();
            let mut s = connected(addr, &mut t, "s", "diff-is", false).await;
            s.subscribe(1, &[("i", 1)]).await;
            t.next("s", &mut s).await;
            let mut p = connected(addr, &mut t, "p", "diff-ip", true).await;
            p.publish("i", b"x", 1, 1, false).await;
            t.next("p", &mut p).await;
            t.next("s", &mut s).await;
            s.close().await; // without PUBACK
            tokio::time::sleep(QUIET).await;
            let mut s = connected(addr, &mut t, "s", "diff-is", false).await;
            t.next("s", &mut s).await;
            s.puback(1).await;
            t.quiet("s", &mut s).await;
            p.publish("i", b"y", 1, 2, false).await;
            t.next("p", &mut p).await;
            t.next("s", &mut s).await;
            t.0
        },
        &[
            "s: CONNACK sp=0 rc=0",
            "s: SUBACK pid=1 codes=1",
            "p: CONNACK sp=0 rc=0",
            "p: PUBACK pid=1",
            "s: PUBLISH pid=1 qos=1 dup=0 retain=0 topic=i len=1 payload=x",
            "s: CONNACK sp=1 rc=0",
            "s: PUBLISH pid=1 qos=1 dup=1 retain=0 topic=i len=1 payload=x",
            "s: silent",
            "p: PUBACK pid=2",
            "s: PUBLISH pid=2 qos=1 dup=0 retain=0 topic=i len=1 payload=y",
        ],
    )
    .await;
}

#[tokio::test]
async fn session_takeover() {
    differential(
        |addr| async move {
            let mut t = Transcript::default();
            let mut old = connected(addr, &mut t, "old", "diff-t", false).await;
            old.subscribe(1, &[("t", 1)]).await;
            t.next("old", &mut old).await;
            let mut new = connected(addr, &mut t, "new", "diff-t", false).await;
            t.next("old", &mut old).await;
            let mut p = connected(addr, &mut t, "p", "diff-tp", true).await;
            p.publish("t", b"to-new", 1, 1, false).await;
            t.next("p", &mut p).await;
            t.next("new", &mut new).await;
            t.0
        },
        &[
            "old: CONNACK sp=0 rc=0",
            "old: SUBACK pid=1 codes=1",
            "new: CONNACK sp=1 rc=0",
            "old: closed",
            "p: CONNACK sp=0 rc=0",
            "p: PUBACK pid=1",
            "new: PUBLISH pid=1 qos=1 dup=0 retain=0 topic=t len=6 payload=to-new",
        ],
    )
    .await;
}

#[tokio::test]
async fn unsubscribe() {
    differential(
        |addr| async move {
            let mut t = Transcript::default();
            let mut s = connected(addr, &mut t, "s", "diff-u", true).await;
            s.subscribe(1, &[("u/a", 0), ("u/b", 0)]).await;
            t.next("s", &mut s).await;
            s.unsubscribe(2, &["u/a"]).await;
            t.next("s", &mut s).await;
            s.unsubscribe(3, &["never/subscribed"]).await;
            t.next("s", &mut s).await;
            let mut p = connected(addr, &mut t, "p", "diff-up", true).await;
            p.publish("u/a", b"a", 0, 0, false).await;
            p.publish("u/b", b"b", 0, 0, false).await;
            t.next("s", &mut s).await;
            t.quiet("s", &mut s).await;
            t.0
        },
        &[
            "s: CONNACK sp=0 rc=0",
            "s: SUBACK pid=1 codes=0,0",
            "s: UNSUBACK pid=2",
            "s: UNSUBACK pid=3",
            "p: CONNACK sp=0 rc=0",
            "s: PUBLISH qos=0 dup=0 retain=0 topic=u/b len=1 payload=b",
            "s: silent",
        ],
    )
    .await;
}

#[tokio::test]
async fn wildcards_dollar_topics_and_overlaps() {
    differential(
        |addr| async move {
            let mut t = Transcript::default();
            let mut s = connected(addr, &mut t, "s", "diff-wc", true).await;
            s.subscribe(1, &[("#", 0), ("w/+/x", 1), ("$dollar/#", 0)])
                .await;
            t.next("s", &mut s).await;
            let mut p = connected(addr, &mut t, "p", "diff-wp", true).await;
            p.publish("w/a/x", b"both", 1, 1, false).await;
            t.next("p", &mut p).await;
            t.next("s", &mut s).await;
            s.puback(1).await;
            p.publish("$dollar/y", b"d", 0, 0, false).await;
            t.next("s", &mut s).await;
            p.publish("$other/y", b"o", 0, 0, false).await;
            t.quiet("s", &mut s).await;
            t.0
        },
        &[
            "s: CONNACK sp=0 rc=0",
            "s: SUBACK pid=1 codes=0,1,0",
            "p: CONNACK sp=0 rc=0",
            "p: PUBACK pid=1",
            "s: PUBLISH pid=1 qos=1 dup=0 retain=0 topic=w/a/x len=4 payload=both",
            "s: PUBLISH qos=0 dup=0 retain=0 topic=$dollar/y len=1 payload=d",
            "s: silent",
        ],
    )
    .await;
}

#[tokio::test]
async fn overlapping_subscriptions_follow_mosquittos_tree_walk() {
    // A 3.1.1 client gets one copy, at the QoS of the first subscription
    // mosquitto's tree walk finds (`+` before `#`), not the highest.
    differential(
        |addr| async move {
            let mut t = Transcript::default();
            let mut s = connected(addr, &mut t, "s", "diff-ov", true).await;
            s.subscribe(1, &[("ov/#", 2), ("ov/+", 1)]).await;
            t.next("s", &mut s).await;
            let mut p = connected(addr, &mut t, "p", "diff-ovp", true).await;
            p.publish("ov/c", b"x", 2, 1, false).await;
            t.next("p", &mut p).await;
            p.pubrel(1).await;
            t.next("p", &mut p).await;
            t.next("s", &mut s).await;
            s.puback(1).await;
            t.quiet("s", &mut s).await;
            t.0
        },
        &[
            "s: CONNACK sp=0 rc=0",
            "s: SUBACK pid=1 codes=2,1",
            "p: CONNACK sp=0 rc=0",
            "p: PUBREC pid=1",
            "p: PUBCOMP pid=1",
            "s: PUBLISH pid=1 qos=1 dup=0 retain=0 topic=ov/c len=1 payload=x",
            "s: silent",
        ],
    )
    .await;
}

#[tokio::test]
async fn mqtt31_clients_are_served() {
    // Old firmware still speaks MQTT 3.1 ("MQIsdp", level 3); mosquitto
    // serves it, without the session-present bit 3.1 does not have.
    differential(
        |addr| async move {
            let mut t = Transcript::default();
            let connect31 = [
                0x10, 0x14, 0x00, 0x06, b'M', b'Q', b'I', b's', b'd', b'p', 0x03, 0x00, 0x00, 0x3c,
                0x00, 0x06, b'd', b'i', b'f', b'f', b'3', b'1',
            ];
            let mut a = tcp_client(addr).await;
            a.send_raw(&connect31).await;
            t.next("a", &mut a).await;
            a.subscribe(1, &[("v31/t", 1)]).await;
            t.next("a", &mut a).await;
            a.disconnect().await;
            t.next("a", &mut a).await;
            let mut b = tcp_client(addr).await;
            b.send_raw(&connect31).await;
            t.next("b", &mut b).await;
            b.publish("v31/t", b"old", 1, 1, false).await;
            t.next_n("b", &mut b, 2).await;
            t.0
        },
        &[
            "a: CONNACK sp=0 rc=0",
            "a: SUBACK pid=1 codes=1",
            "a: closed",
            "b: CONNACK sp=0 rc=0",
            "b: PUBLISH pid=1 qos=1 dup=0 retain=0 topic=v31/t len=3 payload=old",
            "b: PUBACK pid=1",
        ],
    )
    .await;
}

#[tokio::test]
async fn protocol_errors_close() {
    differential(
        |addr| async move {
            let mut t = Transcript::default();
            // First packet not CONNECT.
            let mut a = tcp_client(addr).await;
            a.ping().await;
            t.next("a", &mut a).await;
            // Reserved flag bits on SUBSCRIBE.
            let mut b = connected(addr, &mut t, "b", "diff-pe-b", true).await;
            b.send_raw(&[0x80, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x00])
                .await;
            t.next("b", &mut b).await;
            // A fifth remaining-length byte.
            let mut c = connected(addr, &mut t, "c", "diff-pe-c", true).await;
            c.send_raw(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]).await;
            t.next("c", &mut c).await;
            // An unknown protocol level.
            let mut d = tcp_client(addr).await;
            d.send_raw(&[
                0x10, 0x0d, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x07, 0x02, 0x00, 0x3c, 0x00, 0x01,
                b'x',
            ])
            .await;
            t.next_n("d", &mut d, 2).await;
            t.0
        },
        &[
            "a: closed",
            "b: CONNACK sp=0 rc=0",
            "b: closed",
            "c: CONNACK sp=0 rc=0",
            "c: closed",
            "d: CONNACK sp=0 rc=1",
            "d: closed",
        ],
    )
    .await;
}

#[tokio::test]
async fn takeover_will_rules() {
    differential(
        |addr| async move {
            let mut t = Transcript::default();
            let mut w = connected(addr, &mut t, "w", "diff-tw", true).await;
            w.subscribe(1, &[("will/#", 0)]).await;
            t.next("w", &mut w).await;
            // Persistent taken over by persistent: the old will is not sent.
            let mut con = connect("diff-tk", false, 60);
            con.will = Some(will("will/persistent", b"p", 0, false));
            let mut old = tcp_client(addr).await;
            old.send(Packet::Connect(con)).await;
            t.next("old", &mut old).await;
            let mut new = tcp_client(addr).await;
            new.send(Packet::Connect(connect("diff-tk", false, 60)))
                .await;
            t.next("new", &mut new).await;
            t.next("old", &mut old).await;
            t.quiet("w", &mut w).await;
            // Clean taken over by clean: it is.
            let mut con = connect("diff-tc", true, 60);
            con.will = Some(will("will/clean", b"c", 0, false));
            let mut old = tcp_client(addr).await;
            old.send(Packet::Connect(con)).await;
            t.next("old", &mut old).await;
            let mut new = tcp_client(addr).await;
            new.send(Packet::Connect(connect("diff-tc", true, 60)))
                .await;
            t.next("new", &mut new).await;
            t.next("old", &mut old).await;
            t.next("w", &mut w).await;
            t.0
        },
        &[
            "w: CONNACK sp=0 rc=0",
            "w: SUBACK pid=1 codes=0",
            "old: CONNACK sp=0 rc=0",
            "new: CONNACK sp=1 rc=0",
            "old: closed",
            "w: silent",
            "old: CONNACK sp=0 rc=0",
            "new: CONNACK sp=0 rc=0",
            "old: closed",
            "w: PUBLISH qos=0 dup=0 retain=0 topic=will/clean len=1 payload=c",
        ],
    )
    .await;
}

#[tokio::test]
async fn qos2_outbound_and_self_delivery() {
    differential(
        |addr| async move {
            let mut t = Transcript::default();
            // A client subscribed to what it publishes: delivery and ack order.
            let mut c = connected(addr, &mut t, "c", "diff-self", true).await;
            c.subscribe(1, &[("self", 2)]).await;
            t.next("c", &mut c).await;
            c.publish("self", b"1", 1, 7, false).await;
            t.next_n("c", &mut c, 2).await;
            c.puback(1).await;
            // Outbound QoS 2.
            let mut s = connected(addr, &mut t, "s", "diff-q2s", true).await;
            s.subscribe(1, &[("q2", 2)]).await;
            t.next("s", &mut s).await;
            c.publish("q2", b"x", 2, 8, false).await;
            t.next("c", &mut c).await;
            c.pubrel(8).await;
            t.next("c", &mut c).await;
            t.next("s", &mut s).await;
            s.pubrec(1).await;
            t.next("s", &mut s).await;
            s.pubcomp(1).await;
            // PUBREL and PUBREC for unknown ids.
            c.pubrel(99).await;
            t.next("c", &mut c).await;
            s.pubrec(77).await;
            t.next("s", &mut s).await;
            s.ping().await;
            t.next("s", &mut s).await;
            t.0
        },
        &[
            "c: CONNACK sp=0 rc=0",
            "c: SUBACK pid=1 codes=2",
            "c: PUBLISH pid=1 qos=1 dup=0 retain=0 topic=self len=1 payload=1",
            "c: PUBACK pid=7",
            "s: CONNACK sp=0 rc=0",
            "s: SUBACK pid=1 codes=2",
            "c: PUBREC pid=8",
            "c: PUBCOMP pid=8",
            "s: PUBLISH pid=1 qos=2 dup=0 retain=0 topic=q2 len=1 payload=x",
            "s: PUBREL pid=1",
            "c: PUBCOMP pid=99",
            "s: PUBREL pid=77",
            "s: PINGRESP",
        ],
    )
    .await;
}

#[tokio::test]
async fn authentication_refused_with_code_5() {
    // mosquitto's password file, hashed by mosquitto_passwd.
    let dir = std::env::temp_dir().join(format!("chaos-broker-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pw = dir.join("passwd");
    let status = std::process::Command::new("mosquitto_passwd")
        .args(["-b", "-c"])
        .arg(&pw)
        .args(["alice", "s3cret"])
        .status()
        .expect("mosquitto_passwd is installed with mosquitto");
    assert!(status.success());
    let mosquitto = Mosquitto::start_with(&format!(
        "allow_anonymous false\npassword_file {}",
        pw.display()
    ));
    let mut users = std::collections::BTreeMap::new();
    users.insert("alice".to_string(), b"s3cret".to_vec());
    let config = BrokerConfig {
        users: Some(users),
        ..BrokerConfig::default()
    };
    differential_with(
        mosquitto,
        config,
        |addr| async move {
            let mut t = Transcript::default();
            for (name, user, pass) in [
                ("anon", None, None),
                ("wrong", Some("alice"), Some(&b"nope"[..])),
                ("nopass", Some("alice"), None),
                ("unknown", Some("bob"), Some(&b"s3cret"[..])),
                ("right", Some("alice"), Some(&b"s3cret"[..])),
            ] {
                let mut c = tcp_client(addr).await;
                let mut con = connect(name, true, 60);
                con.username = user;
                con.password = pass;
                c.send(Packet::Connect(con)).await;
                t.next(name, &mut c).await;
                c.ping().await;
                t.next(name, &mut c).await;
            }
            t.0
        },
        &[
            "anon: CONNACK sp=0 rc=5",
            "anon: closed",
            "wrong: CONNACK sp=0 rc=5",
            "wrong: closed",
            "nopass: CONNACK sp=0 rc=5",
            "nopass: closed",
            "unknown: CONNACK sp=0 rc=5",
            "unknown: closed",
            "right: CONNACK sp=0 rc=0",
            "right: PINGRESP",
        ],
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn keepalive_expiry_publishes_the_will() {
    differential(
        |addr| async move {
            let mut t = Transcript::default();
            let mut w = connected(addr, &mut t, "w", "diff-kw", true).await;
            w.subscribe(1, &[("will/#", 0)]).await;
            t.next("w", &mut w).await;
            let mut c = tcp_client(addr).await;
            let mut con = connect("diff-k", true, 2);
            con.will = Some(will("will/k", b"silent", 0, false));
            c.send(Packet::Connect(con)).await;
            t.next("c", &mut c).await;
            let start = std::time::Instant::now();
            let e = c.next_within(Duration::from_secs(15)).await;
            t.0.push(Transcript::line("c", e));
            let waited = start.elapsed();
            eprintln!("keepalive 2 s: closed after {waited:?}");
            // Differs by design: we close at exactly 1.5 x keepalive (the
            // behaviour tests pin 15 s for 10 s); mosquitto 2.0.11 checks
            // keepalives coarsely and closed after 5-6 s here (and after
            // ~12 s for keepalive 4 and 6). Both must not close early.
            t.0.push(format!(
                "c: not before 1.5 x keepalive: {}",
                waited >= Duration::from_millis(2900)
            ));
            t.next("w", &mut w).await;
            t.0
        },
        &[
            "w: CONNACK sp=0 rc=0",
            "w: SUBACK pid=1 codes=0",
            "c: CONNACK sp=0 rc=0",
            "c: closed",
            "c: not before 1.5 x keepalive: true",
            "w: PUBLISH qos=0 dup=0 retain=0 topic=will/k len=6 payload=silent",
        ],
    )
    .await;
}
