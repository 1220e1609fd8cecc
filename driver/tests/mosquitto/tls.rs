//! TLS (T1, feature `tls`) against a real mosquitto with a TLS listener.
//! Every certificate and key is generated here at test time with rcgen (a
//! test CA, server certificates valid, expired or from another CA, a client
//! certificate) and written to a temporary directory; no key is committed.
//!
//! Run: `cargo test -p resilient-mqtt --features tls --test mosquitto tls::`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mosquitto_rig::{Mosquitto, Options};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SanType,
};
use resilient_mqtt::client::tls::{TlsConfig, TlsError, TlsTransport};
use resilient_mqtt::client::{ClientBuilder, TcpTransport};
use resilient_mqtt::codec::QoS;
use resilient_mqtt::session::{Backoff, Config, ConnectError, Event};
use tokio::time::timeout;

/// A certificate authority made for one test.
struct Ca {
    cert: Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = p.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A leaf certificate for `localhost` and 127.0.0.1 (cert PEM, key PEM);
    /// `expired` makes it valid only in 2020.
    fn leaf(&self, cn: &str, expired: bool) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        p.subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        p.distinguished_name.push(DnType::CommonName, cn);
        if expired {
            p.not_before = rcgen::date_time_ymd(2020, 1, 1);
            p.not_after = rcgen::date_time_ymd(2020, 12, 31);
        }
        let cert = p.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Files for mosquitto's TLS listener in a temporary directory.
struct ServerFiles {
    dir: tempfile::TempDir,
}

impl ServerFiles {
    fn new(ca: &Ca, cert: &(String, String)) -> ServerFiles {
        let files = ServerFiles {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::write(files.path("ca.pem"), ca.pem()).unwrap();
        files.set_cert(cert);
        files
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn set_cert(&self, (cert, key): &(String, String)) {
        std::fs::write(self.path("server.pem"), cert).unwrap();
        std::fs::write(self.path("server.key"), key).unwrap();
    }

    /// The listener's TLS lines; `require_client_cert` checks client
    /// certificates against the CA.
    fn options(&self, require_client_cert: bool) -> Options {
        let p = |n: &str| self.path(n).display().to_string();
        let mut extra = vec![
            format!("certfile {}", p("server.pem")),
            format!("keyfile {}", p("server.key")),
        ];
        if require_client_cert {
            extra.push(format!("cafile {}", p("ca.pem")));
            extra.push("require_certificate true".into());
        }
        Options {
            extra,
            ..Options::default()
        }
    }
}

use crate::support::start;

/// The shared configuration with a 3 s response time (handshakes).
fn config(broker: &Mosquitto, id: &str) -> Config {
    Config {
        response_time: Duration::from_secs(3),
        ..crate::support::config(broker, id)
    }
}

fn tls(broker: &Mosquitto, tls: &TlsConfig) -> TlsTransport<TcpTransport> {
    TlsTransport::new(TcpTransport::new(broker.addr()), tls).expect("valid TLS config")
}

/// Server verified against the test CA; publish QoS 1 and receive it back
/// through a subscription, all over TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_publish_and_subscribe_with_generated_ca() {
    let ca = Ca::new("test CA");
    let files = ServerFiles::new(&ca, &ca.leaf("localhost", false));
    let broker = start(files.options(false));
    let mut c = config(&broker, "tls-ok");
    c.queue_len = 10;
    let client = ClientBuilder::new(c)
        .transport(tls(&broker, &TlsConfig::new("localhost").ca_pem(ca.pem())))
        .spawn()
        .unwrap();
    client.connect_quick().await.expect("TLS connect");
    client.subscribe("t/tls", QoS::AtLeastOnce).await.unwrap();
    client
        .publish("t/tls", b"over tls", false, QoS::AtLeastOnce)
        .await
        .unwrap();
    let m = timeout(Duration::from_secs(5), client.next_message())
        .await
        .expect("message within 5 s")
        .unwrap();
    assert_eq!(m.payload, b"over tls");
    assert!(
        broker.wait_for_log("tls-ok", Duration::from_secs(5)),
        "{}",
        broker.log()
    );
}

/// A client certificate signed by the CA, required by the broker, and ALPN
/// offered (mosquitto 2.0 ignores it): connects. Without the client
/// certificate the broker refuses the handshake: a clear error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_and_alpn() {
    let ca = Ca::new("test CA");
    let files = ServerFiles::new(&ca, &ca.leaf("localhost", false));
    let broker = start(files.options(true));
    let (cert, key) = ca.leaf("device-1", false);
    let with_cert = TlsConfig::new("localhost")
        .ca_pem(ca.pem())
        .client_cert_pem(cert, key)
        .alpn(["mqtt"]);
    assert!(!format!("{with_cert:?}").contains("PRIVATE KEY"));
    let client = ClientBuilder::new(config(&broker, "tls-client-cert"))
        .transport(tls(&broker, &with_cert))
        .spawn()
        .unwrap();
    client.connect_quick().await.expect("mutual TLS connect");
    client
        .publish("t/m", b"x", false, QoS::AtLeastOnce)
        .await
        .unwrap();

    let without = ClientBuilder::new(config(&broker, "tls-no-client-cert"))
        .transport(tls(&broker, &TlsConfig::new("localhost").ca_pem(ca.pem())))
        .spawn()
        .unwrap();
    let err = without.connect_quick().await.expect_err("no client cert");
    // TLS 1.3: the server's refusal arrives after the client's Finished, so
    // it may surface as an alert or as the connection closing before CONNACK.
    assert!(
        matches!(&err, resilient_mqtt::client::ClientError::Connect(ConnectError::Transport(r))
            if r.contains("TLS") || r.contains("alert") || r.contains("closed") || r.contains("reset")),
        "{err}"
    );
}

/// The first connect to a broker with an expired certificate, or one from
/// another CA, fails with an error that says so (K1: no retry by itself).
/// `danger_accept_invalid_certs` connects to the expired one anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_certificate_and_wrong_ca_are_clear_connect_errors() {
    let ca = Ca::new("test CA");
    let other = Ca::new("another CA");
    let files = ServerFiles::new(&ca, &ca.leaf("localhost", true));
    let expired = start(files.options(false));
    let files2 = ServerFiles::new(&other, &other.leaf("localhost", false));
    let foreign = start(files2.options(false));

    for (broker, name, want) in [
        (&expired, "expired", "expired"),
        (&foreign, "wrong-ca", "UnknownIssuer"),
    ] {
        let attempts = Arc::new(Mutex::new(0u32));
        let seen = attempts.clone();
        let client = ClientBuilder::new(config(broker, name))
            .transport(tls(broker, &TlsConfig::new("localhost").ca_pem(ca.pem())))
            .on_event(move |e| {
                if let Event::Connecting { .. } = e {
                    *seen.lock().unwrap() += 1;
                }
            })
            .spawn()
            .unwrap();
        let err = timeout(Duration::from_secs(5), client.connect_quick())
            .await
            .expect("fails at once, no hang")
            .expect_err("certificate must be rejected");
        let text = err.to_string();
        assert!(text.contains("TLS handshake rejected"), "{name}: {text}");
        assert!(
            text.to_lowercase().contains(&want.to_lowercase()),
            "{name}: {text}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(*attempts.lock().unwrap(), 1, "{name}: K1, no retry");
    }

    let lax = ClientBuilder::new(config(&expired, "lax"))
        .transport(tls(
            &expired,
            &TlsConfig::new("localhost").danger_accept_invalid_certs(),
        ))
        .spawn()
        .unwrap();
    lax.connect_quick()
        .await
        .expect("verification off: connects");
}

/// After a good connection, the broker comes back with an expired
/// certificate: every reconnect attempt is rejected and waits
/// `backoff.refused` before the next (no retry storm), where a refused TCP
/// connect would be retried after `backoff.initial`. When a valid
/// certificate is back, the driver reconnects by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_certificate_is_not_retried_in_a_storm() {
    let ca = Ca::new("test CA");
    let good = ca.leaf("localhost", false);
    let files = ServerFiles::new(&ca, &good);
    let mut broker = start(files.options(false));
    let failures: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
    let seen = failures.clone();
    let mut c = config(&broker, "tls-storm");
    c.backoff = Backoff {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
        jitter: 0.0,
        refused: Duration::from_millis(1500),
    };
    let client = ClientBuilder::new(c)
        .transport(tls(&broker, &TlsConfig::new("localhost").ca_pem(ca.pem())))
        .on_event(move |e| {
            if let Event::AttemptFailed {
                reason,
                retry_in_ms,
            } = e
            {
                seen.lock().unwrap().push((reason.clone(), *retry_in_ms));
            }
        })
        .spawn()
        .unwrap();
    client.connect_quick().await.expect("connect");

    files.set_cert(&ca.leaf("localhost", true));
    broker.restart().expect("restart");
    tokio::time::sleep(Duration::from_millis(4000)).await;
    let storm = failures.lock().unwrap().clone();
    assert!(!storm.is_empty(), "reconnects were attempted");
    let rejected: Vec<_> = storm
        .iter()
        .filter(|(r, _)| r.contains("TLS handshake rejected"))
        .collect();
    assert!(!rejected.is_empty(), "{storm:?}");
    assert!(
        rejected.iter().all(|(_, ms)| *ms >= 1500),
        "rejections wait backoff.refused: {storm:?}"
    );
    // 4 s at >= 1.5 s per rejection: at most 3 rejected attempts (a plain
    // failure would be retried every 200 ms: 20). Other failures are TCP
    // connects refused or reset while mosquitto restarts.
    assert!(rejected.len() <= 3, "{storm:?}");
    assert!(
        storm
            .iter()
            .all(|(r, _)| r.contains("TLS handshake rejected")
                || r.contains("refused")
                || r.contains("reset")),
        "{storm:?}"
    );

    files.set_cert(&good);
    broker.restart().expect("restart");
    timeout(Duration::from_secs(5), async {
        while !client.is_connected() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("reconnects once the certificate is valid again");
}

/// Bad TLS configuration is an error before any connection.
#[test]
fn bad_tls_configuration_is_a_clear_error() {
    let t = TcpTransport::new("127.0.0.1:1");
    let e = TlsTransport::new(t.clone(), &TlsConfig::new("localhost").ca_pem("not pem"))
        .expect_err("no CA");
    assert!(matches!(e, TlsError::Ca(_)), "{e}");
    assert!(e.to_string().contains("CA bundle"), "{e}");
    let e = TlsTransport::new(
        t.clone(),
        &TlsConfig::new("bad name!").ca_pem(Ca::new("x").pem()),
    )
    .expect_err("name");
    assert!(matches!(e, TlsError::ServerName(_)), "{e}");
    let ca = Ca::new("x");
    let (cert, _) = ca.leaf("c", false);
    let e = TlsTransport::new(
        t,
        &TlsConfig::new("localhost")
            .ca_pem(ca.pem())
            .client_cert_pem(cert, "garbage"),
    )
    .expect_err("key");
    assert!(matches!(e, TlsError::ClientCert(_)), "{e}");
}
