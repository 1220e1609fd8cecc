//! TLS in the simulation (`[tls]`, T1): the broker host's TLS listener and
//! the DUT's TLS transport, over turmoil TCP.
//!
//! - Certificates: a test CA the DUT trusts, another CA it does not, and
//!   server certificates for `broker` (valid, expired, from the other CA,
//!   for another name). Every key is Ed25519 derived from the run's seed and
//!   every validity date is fixed, so one seed gives byte-identical
//!   certificates (Ed25519 signatures are deterministic; serial numbers are
//!   rcgen's hash of the key). Nothing is written to disk.
//! - Time: the DUT checks validity against the simulation's clock (the run's
//!   fixed epoch plus simulated time), never the host's.
//! - The handshake's own randomness (client random, key shares) comes from
//!   ring, not the seed; it changes bytes on the wire but no trace line (the
//!   trace sees MQTT packets, not TLS records, and record sizes do not
//!   depend on it).
//! - `tls_stall`: the broker answers a ClientHello with only its first
//!   record (the ServerHello), then keeps the socket open and silent.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
use resilient_mqtt::client::tls::{TlsConfig, TlsTransport};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::time_provider::TimeProvider;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::net::SimTcp;
use crate::scenario::tls::BrokerCert;

/// The broker's TLS port in the simulated network.
pub const TLS_PORT: u16 = 8883;

/// The name the broker's certificate carries and the DUT checks.
pub const SERVER_NAME: &str = "broker";

/// The simulation's wall clock: the fixed epoch plus simulated time.
#[derive(Debug)]
pub struct SimClock {
    pub epoch_secs: u64,
}

impl TimeProvider for SimClock {
    fn current_time(&self) -> Option<UnixTime> {
        let elapsed = turmoil::sim_elapsed().unwrap_or_default();
        Some(UnixTime::since_unix_epoch(
            Duration::from_secs(self.epoch_secs) + elapsed,
        ))
    }
}

/// An Ed25519 key from 32 seed bytes (PKCS#8 v1, as RFC 8410 writes it).
fn ed25519(seed: [u8; 32]) -> Result<KeyPair, rcgen::Error> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&seed);
    KeyPair::try_from(der.as_slice())
}

/// 32 bytes for key `n` of a run (splitmix64 over the seed).
fn key_seed(seed: u64, n: u64) -> [u8; 32] {
    let mut x = seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut out = [0u8; 32];
    for chunk in out.chunks_mut(8) {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_be_bytes());
    }
    out
}

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn ca(name: &str, key: KeyPair) -> Result<Ca, rcgen::Error> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = rcgen::date_time_ymd(2020, 1, 1);
    p.not_after = rcgen::date_time_ymd(2040, 1, 1);
    let cert = p.self_signed(&key)?;
    Ok(Ca { cert, key })
}

/// Every certificate a run may need, and the CA bundle the DUT trusts.
pub struct Identity {
    /// The test CA, PEM: what the DUT trusts.
    pub ca_pem: String,
    servers: [(BrokerCert, Arc<rustls::ServerConfig>); 4],
}

impl Identity {
    /// The certificates for `seed`.
    pub fn new(seed: u64) -> Result<Identity, String> {
        let e = |e: rcgen::Error| format!("cannot make the run's test certificates: {e}");
        let trusted = ca("hil sim CA", ed25519(key_seed(seed, 1)).map_err(e)?).map_err(e)?;
        let other = ca("another CA", ed25519(key_seed(seed, 2)).map_err(e)?).map_err(e)?;
        let server_key = ed25519(key_seed(seed, 3)).map_err(e)?;
        let leaf = |issuer: &Ca, name: &str, from: i32, to: i32| {
            let mut p = CertificateParams::new(Vec::<String>::new())?;
            p.subject_alt_names = vec![SanType::DnsName(name.try_into()?)];
            p.distinguished_name.push(DnType::CommonName, name);
            p.not_before = rcgen::date_time_ymd(from, 1, 1);
            p.not_after = rcgen::date_time_ymd(to, 1, 1);
            p.signed_by(&server_key, &issuer.cert, &issuer.key)
        };
        let mut servers = Vec::new();
        for (kind, issuer, name, from, to) in [
            (BrokerCert::Valid, &trusted, SERVER_NAME, 2025, 2035),
            (BrokerCert::Expired, &trusted, SERVER_NAME, 2020, 2025),
            (BrokerCert::OtherCa, &other, SERVER_NAME, 2025, 2035),
            (BrokerCert::WrongName, &trusted, "elsewhere", 2025, 2035),
        ] {
            let cert = leaf(issuer, name, from, to).map_err(e)?;
            let chain = vec![CertificateDer::from(cert.der().to_vec())];
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
            let config = rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|e| format!("the broker's TLS configuration: {e}"))?;
            servers.push((kind, Arc::new(config)));
        }
        let servers = servers
            .try_into()
            .map_err(|_| "four server certificates".to_string())?;
        Ok(Identity {
            ca_pem: trusted.cert.pem(),
            servers,
        })
    }

    /// The broker's configuration when it presents `cert`.
    pub fn server(&self, cert: BrokerCert) -> Arc<rustls::ServerConfig> {
        self.servers
            .iter()
            .find(|(k, _)| *k == cert)
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| self.servers[0].1.clone())
    }

    /// The DUT's TLS transport: trusts the test CA, checks `broker`, on the
    /// simulation's clock.
    pub fn dut_transport(
        &self,
        epoch_secs: u64,
        link: super::net::LinkCtl,
    ) -> Result<TlsTransport<SimTcp>, String> {
        let config = TlsConfig::new(SERVER_NAME)
            .ca_pem(self.ca_pem.clone())
            .clock(Arc::new(SimClock { epoch_secs }));
        TlsTransport::new(SimTcp::dut(TLS_PORT, link), &config).map_err(|e| e.to_string())
    }
}

/// Reads the ClientHello, sends only the first TLS record of the server's
/// reply (the ServerHello), then keeps the socket open and silent until the
/// client gives up.
pub async fn stall_after_server_hello(
    mut s: turmoil::net::TcpStream,
    config: Arc<rustls::ServerConfig>,
) -> io::Result<()> {
    let mut conn = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    let mut buf = [0u8; 4096];
    while !conn.wants_write() {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        conn.read_tls(&mut &buf[..n])?;
        conn.process_new_packets().map_err(io::Error::other)?;
    }
    let mut reply = Vec::new();
    conn.write_tls(&mut reply)?;
    if reply.len() >= 5 {
        let first = (5 + u16::from_be_bytes([reply[3], reply[4]]) as usize).min(reply.len());
        s.write_all(&reply[..first]).await?;
    }
    while s.read(&mut buf).await? != 0 {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_seed_gives_the_same_certificates() {
        let a = Identity::new(7).unwrap();
        let b = Identity::new(7).unwrap();
        let c = Identity::new(8).unwrap();
        assert_eq!(a.ca_pem, b.ca_pem);
        assert_ne!(a.ca_pem, c.ca_pem);
    }
}
