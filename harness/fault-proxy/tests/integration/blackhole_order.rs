//! A `blackhole` is a silent path loss, as TCP lives through it: every byte
//! sent into it, both ways, arrives complete and in order once it ends (a
//! CONNECT sent during the blackhole still arrives first); nothing vanishes
//! from the middle of a stream. `blackhole reset` models a path dead so
//! long that the peers' stacks gave up: the connections with held bytes are
//! reset at the end, and the log says why. A FIN is held like data. A
//! connection opened during a blackhole is not connected to the broker
//! until it ends (its SYN would not have been answered), and never if the
//! device gives up on it first. Plain
//! TCP on both ends: no broker needed.

use std::time::Duration;

use std::sync::{Arc, Mutex};

use fault_proxy::wire::{Closer, Packet, WireEvent};
use fault_proxy::{Proxy, ProxyConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const CONNECT: &[u8] = &[
    0x10, 0x0f, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x14, 0x00, 0x03, b'd', b'e',
    b'v',
];
const PUBLISH: &[u8] = &[0x32, 0x07, 0x00, 0x01, b't', 0x00, 0x01, b'h', b'i'];
const CONNACK: &[u8] = &[0x20, 0x02, 0x00, 0x00];
const PUBACK: &[u8] = &[0x40, 0x02, 0x00, 0x01];

async fn start(upstream: &TcpListener) -> Proxy {
    Proxy::start(ProxyConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: upstream.local_addr().unwrap().to_string(),
        seed: 1,
        rules: vec![],
        log_file: None,
    })
    .await
    .expect("proxy starts")
}

/// Nothing arrives on `s` for `ms`.
async fn silent(s: &mut TcpStream, ms: u64, what: &str) {
    let mut buf = [0u8; 64];
    let r = timeout(Duration::from_millis(ms), s.read(&mut buf)).await;
    assert!(r.is_err(), "{what} got {r:?} through a blackhole");
}

/// `s` ends with a reset (not an orderly close, not data).
async fn assert_reset(s: &mut TcpStream, what: &str) {
    let mut buf = [0u8; 64];
    let r = timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .unwrap_or_else(|_| panic!("{what} ends"));
    assert!(
        matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "{what} is reset, not fed the held bytes nor closed: {r:?}"
    );
}

async fn read_exact(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    timeout(Duration::from_secs(5), s.read_exact(&mut buf))
        .await
        .expect("the held bytes arrive once the blackhole ends")
        .expect("read");
    buf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_sent_into_a_blackhole_arrive_complete_and_in_order_when_it_ends() {
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = start(&upstream).await;
    // A connection open before the blackhole: what the broker sends into
    // it is held too.
    let mut old = TcpStream::connect(proxy.addr()).await.unwrap();
    let (mut old_broker, _) = timeout(Duration::from_secs(5), upstream.accept())
        .await
        .expect("the proxy connects upstream")
        .unwrap();
    let hole = proxy.add_line("blackhole").unwrap();

    // A connection opened during the blackhole: its CONNECT, a PUBLISH cut
    // across two writes. It is not connected upstream while the
    // blackhole lasts (across a dead path its SYN is never answered).
    let mut device = TcpStream::connect(proxy.addr()).await.unwrap();
    device.write_all(CONNECT).await.unwrap();
    device.write_all(&PUBLISH[..4]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    device.write_all(&PUBLISH[4..]).await.unwrap();
    old.write_all(PUBLISH).await.unwrap();
    old_broker.write_all(PUBACK).await.unwrap();
    assert!(
        timeout(Duration::from_millis(400), upstream.accept())
            .await
            .is_err(),
        "a connection opened during a blackhole reached the broker"
    );
    silent(&mut old_broker, 100, "the broker").await;
    silent(&mut old, 100, "the device").await;

    assert!(proxy.remove(hole));
    let (mut broker, _) = timeout(Duration::from_secs(5), upstream.accept())
        .await
        .expect("the proxy connects upstream once the blackhole ends")
        .unwrap();
    let up = read_exact(&mut broker, CONNECT.len() + PUBLISH.len()).await;
    assert_eq!(
        up,
        [CONNECT, PUBLISH].concat(),
        "CONNECT first, then PUBLISH"
    );
    broker.write_all(CONNACK).await.unwrap();
    assert_eq!(read_exact(&mut device, CONNACK.len()).await, CONNACK);
    assert_eq!(read_exact(&mut old_broker, PUBLISH.len()).await, PUBLISH);
    assert_eq!(read_exact(&mut old, PUBACK.len()).await, PUBACK);
    device.shutdown().await.unwrap();
    let mut rest = [0u8; 8];
    let n = timeout(Duration::from_secs(5), broker.read(&mut rest))
        .await
        .expect("the FIN arrives after the data")
        .unwrap();
    assert_eq!(n, 0, "EOF after the data, nothing else: {:?}", &rest[..n]);

    drop(broker);
    let text = wait_for_log(&proxy, "conn 2: closed:").await;
    assert!(
        text.contains("conn 1 up: holding bytes (rule #1)"),
        "{text}"
    );
    assert!(text.contains("conn 1 up: hold over after"), "{text}");
    assert!(
        text.contains("conn 2: opened during a blackhole (rule #1); not connected to the broker until it ends"),
        "{text}"
    );
    assert!(text.contains("conn 2: blackhole over after"), "{text}");
    assert!(
        text.contains("conn 2: closed: both sides closed (FIN each way)"),
        "every close is logged with its cause:\n{text}"
    );
}

/// The proxy's log once a line containing `want` was written.
async fn wait_for_log(proxy: &Proxy, want: &str) -> String {
    let mut log = Vec::new();
    for _ in 0..250 {
        log = proxy.log_tail(100);
        if log.iter().any(|l| l.contains(want)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    log.join("\n")
}

/// A device that gives up on a connection opened during a blackhole (FIN
/// or RST) before it ends: the broker never sees that connection, nor its
/// CONNECT, after the blackhole either; the device's live connection,
/// opened after the blackhole, is the only one the broker gets.
async fn abandoned_attempt_never_reaches_the_broker(reset: bool) {
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = start(&upstream).await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    proxy.set_wire_tap(Arc::new(move |e: WireEvent| seen.lock().unwrap().push(e)));
    let hole = proxy.add_line("blackhole").unwrap();

    let mut abandoned = TcpStream::connect(proxy.addr()).await.unwrap();
    abandoned.write_all(CONNECT).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    if reset {
        socket2::SockRef::from(&abandoned)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(abandoned);
    } else {
        abandoned.shutdown().await.unwrap();
    }
    let how = if reset { "read error" } else { "FIN" };
    let text = wait_for_log(&proxy, "conn 1: closed:").await;
    assert!(
        text.contains(&format!("conn 1: closed: the device gave up ({how}")),
        "{text}"
    );
    assert!(text.contains("never connected to the broker"), "{text}");

    assert!(proxy.remove(hole));
    let mut live = TcpStream::connect(proxy.addr()).await.unwrap();
    live.write_all(CONNECT).await.unwrap();
    let (mut broker, _) = timeout(Duration::from_secs(5), upstream.accept())
        .await
        .expect("the live connection reaches the broker")
        .unwrap();
    assert_eq!(read_exact(&mut broker, CONNECT.len()).await, CONNECT);
    silent(&mut broker, 200, "the broker (only the live CONNECT)").await;
    assert!(
        timeout(Duration::from_millis(300), upstream.accept())
            .await
            .is_err(),
        "the abandoned attempt was delivered after the blackhole"
    );
    assert_eq!(proxy.stats().accepted, 1, "one connection went upstream");

    // The tap saw the abandoned attempt: opened, its CONNECT, the device's
    // close (FIN or RST), nothing from the proxy.
    let by = if reset {
        Closer::DeviceReset
    } else {
        Closer::DeviceFin
    };
    let conn1: Vec<WireEvent> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| match e {
            WireEvent::Opened { conn } | WireEvent::Closed { conn, .. } => *conn == 1,
            WireEvent::Packet { conn, .. } => *conn == 1,
        })
        .cloned()
        .collect();
    assert!(
        matches!(
            conn1.as_slice(),
            [
                WireEvent::Opened { conn: 1 },
                WireEvent::Packet { packet: Packet::Connect { .. }, .. },
                WireEvent::Closed { conn: 1, by: b },
            ] if *b == by
        ),
        "{conn1:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_closed_during_a_blackhole_never_reaches_the_broker() {
    abandoned_attempt_never_reaches_the_broker(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_reset_during_a_blackhole_never_reaches_the_broker() {
    abandoned_attempt_never_reaches_the_broker(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_opened_during_a_blackhole_reset_is_reset_when_it_ends() {
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = start(&upstream).await;
    let hole = proxy.add_line("blackhole reset").unwrap();
    let mut device = TcpStream::connect(proxy.addr()).await.unwrap();
    device.write_all(CONNECT).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(proxy.remove(hole));
    assert_reset(&mut device, "the attempt opened during the blackhole").await;
    assert!(
        timeout(Duration::from_millis(300), upstream.accept())
            .await
            .is_err(),
        "its held CONNECT reached the broker"
    );
    let text = wait_for_log(&proxy, "conn 1: closed:").await;
    assert!(
        text.contains("conn 1: closed: reset at the end of `blackhole reset` (rule #1)"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blackhole_reset_resets_the_held_connections_when_it_ends() {
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = start(&upstream).await;
    let mut quiet = TcpStream::connect(proxy.addr()).await.unwrap();
    let (mut quiet_broker, _) = upstream.accept().await.unwrap();
    let mut device = TcpStream::connect(proxy.addr()).await.unwrap();
    let (mut broker, _) = upstream.accept().await.unwrap();

    let hole = proxy.add_line("blackhole reset").unwrap();
    device.write_all(CONNECT).await.unwrap();
    silent(&mut broker, 300, "the broker").await;
    assert!(proxy.remove(hole));

    // The held connection is reset both ways; the held bytes never arrive.
    assert_reset(&mut broker, "the broker's side").await;
    assert_reset(&mut device, "the device's side").await;

    // A connection that sent nothing during it carries on.
    quiet.write_all(CONNECT).await.unwrap();
    assert_eq!(read_exact(&mut quiet_broker, CONNECT.len()).await, CONNECT);

    let text = proxy.log_tail(100).join("\n");
    assert!(
        text.contains("conn 2: closed: reset at the end of `blackhole reset` (rule #1): bytes to the broker were held (RST)"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fin_into_a_blackhole_is_held_until_it_ends() {
    // The far side's connection stays half-open while the blackhole lasts
    // (the point of a half-open link scenario), and the FIN arrives once it
    // ends, as TCP's retransmission of it would.
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = start(&upstream).await;
    let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
    let (mut server, _) = timeout(Duration::from_secs(5), upstream.accept())
        .await
        .expect("the proxy connects upstream")
        .unwrap();

    let hole = proxy.add_line("up blackhole").unwrap();
    client.shutdown().await.unwrap();
    silent(&mut server, 800, "the server").await;

    assert!(proxy.remove(hole));
    let mut buf = [0u8; 16];
    let r = timeout(Duration::from_secs(5), server.read(&mut buf))
        .await
        .expect("the FIN arrives once the blackhole ends");
    assert_eq!(r.unwrap(), 0, "EOF");
}
