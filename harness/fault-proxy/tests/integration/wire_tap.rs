//! The wire tap on real sockets: a device's connection, its packets both
//! ways (after the faults on the way to it: a dropped PUBACK is not seen),
//! and who closed it. Plain TCP on both ends: the "broker" answers from a
//! script, no broker needed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fault_proxy::fault::Dir;
use fault_proxy::wire::{Closer, Packet, WireEvent};
use fault_proxy::{Proxy, ProxyConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const CONNECT: &[u8] = &[
    0x10, 0x0f, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x03, b'd', b'u',
    b't',
];
const PUBLISH: &[u8] = &[0x32, 0x06, 0x00, 0x01, b't', 0x00, 0x01, b'7'];
const CONNACK: &[u8] = &[0x20, 0x02, 0x00, 0x00];
const PUBACK: &[u8] = &[0x40, 0x02, 0x00, 0x01];
const PINGRESP: &[u8] = &[0xd0, 0x00];

async fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    timeout(Duration::from_secs(5), s.read_exact(&mut b))
        .await
        .expect("bytes arrive")
        .unwrap();
    b
}

type Seen = Arc<Mutex<Vec<WireEvent>>>;

/// A listener playing the broker, a proxy in front of it, and what its
/// tap reports.
async fn tapped_proxy() -> (TcpListener, Proxy, Seen) {
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = Proxy::start(ProxyConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: upstream.local_addr().unwrap().to_string(),
        seed: 1,
        rules: vec![],
        log_file: None,
    })
    .await
    .expect("proxy starts");
    let seen: Seen = Arc::default();
    let s = seen.clone();
    proxy.set_wire_tap(Arc::new(move |e| s.lock().unwrap().push(e)));
    (upstream, proxy, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tap_sees_what_the_device_sent_and_got() {
    let (upstream, proxy, seen) = tapped_proxy().await;
    proxy.add_line("down drop puback 1").unwrap();

    let mut device = TcpStream::connect(proxy.addr()).await.unwrap();
    let (mut broker, _) = timeout(Duration::from_secs(5), upstream.accept())
        .await
        .expect("the proxy connects upstream")
        .unwrap();
    device.write_all(CONNECT).await.unwrap();
    // Split mid-packet: the tap frames across segments.
    device.write_all(&PUBLISH[..3]).await.unwrap();
    read_n(&mut broker, CONNECT.len() + 3).await;
    device.write_all(&PUBLISH[3..]).await.unwrap();
    read_n(&mut broker, PUBLISH.len() - 3).await;
    broker.write_all(CONNACK).await.unwrap();
    broker.write_all(PUBACK).await.unwrap(); // dropped by the rule
    broker.write_all(PINGRESP).await.unwrap();
    assert_eq!(read_n(&mut device, 6).await, [CONNACK, PINGRESP].concat());
    device.shutdown().await.unwrap();
    drop(device);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !seen
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, WireEvent::Closed { .. }))
    {
        assert!(tokio::time::Instant::now() < deadline, "no close seen");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seen = seen.lock().unwrap().clone();
    let publish = Packet::Publish {
        pid: Some(1),
        qos: 1,
        dup: false,
        retain: false,
        topic: "t".into(),
        payload: b"7".to_vec(),
    };
    assert_eq!(
        seen,
        vec![
            WireEvent::Opened { conn: 1 },
            WireEvent::Packet {
                conn: 1,
                dir: Dir::Up,
                packet: Packet::Connect {
                    client_id: "dut".into(),
                    clean_session: true,
                    keep_alive: 60
                }
            },
            WireEvent::Packet {
                conn: 1,
                dir: Dir::Up,
                packet: publish
            },
            WireEvent::Packet {
                conn: 1,
                dir: Dir::Down,
                packet: Packet::Connack {
                    session_present: false,
                    code: 0
                }
            },
            WireEvent::Packet {
                conn: 1,
                dir: Dir::Down,
                packet: Packet::Pingresp
            },
            WireEvent::Closed {
                conn: 1,
                by: Closer::DeviceFin
            },
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_closed_by_the_proxy() {
    let (_upstream, proxy, seen) = tapped_proxy().await;
    proxy.add_line("refuse").unwrap();
    // Accepted, then reset at once (the connect itself may see the RST).
    if let Ok(mut device) = TcpStream::connect(proxy.addr()).await {
        let mut b = [0u8; 1];
        let _ = timeout(Duration::from_secs(5), device.read(&mut b)).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while seen.lock().unwrap().len() < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            WireEvent::Opened { conn: 1 },
            WireEvent::Closed {
                conn: 1,
                by: Closer::Proxy
            }
        ]
    );
}
