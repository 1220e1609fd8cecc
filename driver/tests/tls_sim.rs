//! TLS over turmoil's simulated TCP (T1: "TLS runs over any transport"):
//! the driver's `TlsTransport` wraps a turmoil stream unchanged.
//!
//! - A broker host terminating TLS (rustls server, ring) with a minimal MQTT
//!   responder: the driver connects and a QoS 1 publish completes.
//! - The same broker switched to stalling every handshake right after its
//!   ServerHello (it sends the first TLS record of its reply, then nothing,
//!   socket open): each attempt times out within `response_time`, the driver
//!   tries again after its backoff, 100 times, and the test binary's live
//!   heap does not grow between attempt 20 and attempt 100 (memory flat).
//!
//! Run: `cargo test -p resilient-mqtt --features tls --test tls_sim`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use rcgen::{CertificateParams, KeyPair};
use resilient_mqtt::client::tls::{TlsConfig, TlsTransport};
use resilient_mqtt::client::{BoxFuture, ClientBuilder, Transport};
use resilient_mqtt::codec::{self, ConnAck, ConnectReturnCode, Decoded, Packet, PubAck, QoS};
use resilient_mqtt::session::{Backoff, Config, Event};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::{TcpListener, TcpStream};

/// Counts live heap bytes (allocated minus freed) for the memory check.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Tests in this file share the counter: run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const PORT: u16 = 8883;

/// Stalled handshakes in the memory test.
const CYCLES: u64 = 100;

/// The driver's transport in the simulation.
#[derive(Clone, Copy)]
struct SimTcp;

impl Transport for SimTcp {
    type Stream = TcpStream;
    fn connect(&self) -> BoxFuture<io::Result<TcpStream>> {
        Box::pin(TcpStream::connect(("broker", PORT)))
    }
}

struct ServerIdentity {
    ca_pem: String,
    config: Arc<rustls::ServerConfig>,
}

/// A self-signed certificate for `broker` (it is its own CA here).
fn identity() -> ServerIdentity {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["broker".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let chain = vec![CertificateDer::from_pem_slice(cert.pem().as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    ServerIdentity {
        ca_pem: cert.pem(),
        config: Arc::new(config),
    }
}

/// Answers CONNECT with CONNACK and QoS 1 PUBLISH with PUBACK, PINGREQ
/// with PINGRESP, until the stream ends or `stop` is set (then it closes
/// the connection).
async fn mqtt_responder<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut s: S,
    stop: Arc<AtomicBool>,
) {
    let mut rx = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let n = match tokio::time::timeout(Duration::from_millis(100), s.read(&mut buf)).await {
            Err(_) => continue,
            Ok(Ok(0) | Err(_)) => return,
            Ok(Ok(n)) => n,
        };
        rx.extend_from_slice(&buf[..n]);
        let mut out = Vec::new();
        while let Ok(Decoded::Packet { packet, len }) =
            codec::decode(&rx, codec::DEFAULT_MAX_PACKET_SIZE)
        {
            let reply = match packet {
                Packet::Connect(_) => Some(Packet::ConnAck(ConnAck {
                    session_present: false,
                    code: ConnectReturnCode::Accepted,
                })),
                Packet::Publish(p) => p.qospid.pid().map(|pid| Packet::PubAck(PubAck(pid))),
                Packet::PingReq => Some(Packet::PingResp),
                _ => None,
            };
            if let Some(p) = reply {
                p.encode_to_vec(&mut out).unwrap();
            }
            rx.drain(..len);
        }
        if s.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// Reads the ClientHello, sends only the first TLS record of the server's
/// reply (the ServerHello), then keeps the socket open and silent.
async fn stall_after_server_hello(mut s: TcpStream, config: Arc<rustls::ServerConfig>) {
    let mut conn = rustls::ServerConnection::new(config).unwrap();
    let mut buf = [0u8; 4096];
    while !conn.wants_write() {
        let n = match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if conn.read_tls(&mut &buf[..n]).is_err() || conn.process_new_packets().is_err() {
            return;
        }
    }
    let mut reply = Vec::new();
    conn.write_tls(&mut reply).unwrap();
    let first = 5 + u16::from_be_bytes([reply[3], reply[4]]) as usize;
    assert_eq!(reply[0], 22, "a handshake record");
    assert_eq!(reply[5], 2, "it is the ServerHello");
    let _ = s.write_all(&reply[..first]).await;
    // Silent, open, until the client gives up (then read returns 0).
    while let Ok(n) = s.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

fn sim<'a>(secs: u64) -> turmoil::Sim<'a> {
    turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(secs))
        .tick_duration(Duration::from_millis(10))
        .rng_seed(11)
        .epoch(UNIX_EPOCH + Duration::from_secs(1_767_225_600))
        .build()
}

/// Broker host: TLS then MQTT, or (when `stall` is set) a handshake that
/// stalls after the ServerHello.
fn broker(sim: &mut turmoil::Sim<'_>, id: &ServerIdentity, stall: Arc<AtomicBool>) {
    let config = id.config.clone();
    sim.host("broker", move || {
        let (config, stall) = (config.clone(), stall.clone());
        async move {
            let listener = TcpListener::bind(("0.0.0.0", PORT)).await?;
            loop {
                let (s, _) = listener.accept().await?;
                let config = config.clone();
                if stall.load(Ordering::SeqCst) {
                    tokio::spawn(stall_after_server_hello(s, config));
                } else {
                    let stop = stall.clone();
                    tokio::spawn(async move {
                        if let Ok(tls) = tokio_rustls::TlsAcceptor::from(config).accept(s).await {
                            mqtt_responder(tls, stop).await;
                        }
                    });
                }
            }
        }
    });
}

fn driver_config() -> Config {
    Config {
        client_id: "dut-tls".into(),
        response_time: Duration::from_secs(2),
        backoff: Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_millis(500),
            jitter: 0.0,
            refused: Duration::from_secs(30),
        },
        ..Config::default()
    }
}

#[test]
fn tls_over_turmoil_tcp_publishes() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let id = identity();
    let mut sim = sim(60);
    broker(&mut sim, &id, Arc::new(AtomicBool::new(false)));
    let ca = id.ca_pem.clone();
    sim.client("dut", async move {
        let tls = TlsTransport::new(SimTcp, &TlsConfig::new("broker").ca_pem(ca)).unwrap();
        let client = ClientBuilder::new(driver_config())
            .transport(tls)
            .spawn()
            .unwrap();
        client.connect_quick().await.expect("TLS over turmoil");
        client
            .publish("t", b"sim", false, QoS::AtLeastOnce)
            .await
            .unwrap();
        assert!(client.is_connected());
        Ok(())
    });
    sim.run().unwrap();
}

#[test]
fn handshake_stalled_after_server_hello_times_out_and_memory_stays_flat() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let id = identity();
    let mut sim = sim(600);
    let stall = Arc::new(AtomicBool::new(false));
    broker(&mut sim, &id, stall.clone());
    let ca = id.ca_pem.clone();
    // Per failed attempt: how long it took and whether it timed out. The
    // capacity is reserved up front so that recording adds no heap growth.
    let attempts: Arc<Mutex<Vec<(Duration, bool)>>> =
        Arc::new(Mutex::new(Vec::with_capacity(CYCLES as usize * 2)));
    let seen = attempts.clone();
    let start = tokio::time::Instant::now;
    sim.client("dut", async move {
        let tls = TlsTransport::new(SimTcp, &TlsConfig::new("broker").ca_pem(ca)).unwrap();
        let mut opened = start();
        let client = ClientBuilder::new(driver_config())
            .transport(tls)
            .on_event(move |e| match e {
                Event::Connecting { .. } => opened = start(),
                Event::AttemptFailed { reason, .. } => {
                    let timed_out = reason.contains("timed out");
                    seen.lock().unwrap().push((opened.elapsed(), timed_out));
                }
                _ => {}
            })
            .spawn()
            .unwrap();
        client.connect_quick().await.expect("first connect");
        // The broker closes the connection; every reconnect now stalls.
        stall.store(true, Ordering::SeqCst);
        let mut at20 = None;
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let failed = client.stats().failed_attempts;
            if failed == 20 && at20.is_none() {
                at20 = Some(LIVE.load(Ordering::Relaxed));
            }
            if failed >= CYCLES {
                let growth = LIVE.load(Ordering::Relaxed) - at20.unwrap();
                eprintln!("live heap growth from attempt 20 to {failed}: {growth} bytes");
                // Flat: no per-attempt growth (a leak of even 64 bytes per
                // attempt would be 5 KiB here); the slack is for buffers
                // that grow once to a high-water mark.
                assert!(
                    growth < 4 * 1024,
                    "live heap grew {growth} bytes in {} cycles",
                    failed - 20
                );
                return Ok(());
            }
        }
    });
    sim.run().unwrap();
    let attempts = attempts.lock().unwrap();
    for (took, timed_out) in attempts.iter() {
        assert!(*timed_out, "every attempt timed out");
        assert!(*took <= Duration::from_millis(2_050), "{took:?}");
    }
    eprintln!(
        "{} handshakes timed out, each within response_time",
        attempts.len()
    );
    assert!(attempts.len() >= CYCLES as usize, "{}", attempts.len());
}
