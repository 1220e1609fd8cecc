//! TLS to the broker (T1, feature `tls`): a [`Transport`] that wraps any
//! other transport's stream in rustls, so the same code runs over tokio TCP,
//! over turmoil's simulated TCP, or over anything else that yields a byte
//! stream.
//!
//! - Crypto: rustls with the *ring* provider, pinned explicitly (no
//!   process-wide default is installed or needed, so a binary that also links
//!   aws-lc-rs through another crate still works).
//! - Trust: a CA bundle (PEM) or the system's roots (rustls-native-certs).
//!   Certificates are always verified unless [`TlsConfig::danger_accept_invalid_certs`]
//!   is called; its name says what it does.
//! - Optional client certificate and key (PEM), optional ALPN protocols.
//! - A rejected certificate (expired, unknown CA, wrong name, ...) is a
//!   [`Rejected`] error: the session waits `backoff.refused` before it tries
//!   again (no retry storm against a broker whose certificate cannot pass),
//!   and the first `connect()` reports it with the reason.
//! - The handshake is part of `connect`, which the driver bounds by
//!   `response_time`: a handshake that stalls is an ordinary timed-out
//!   attempt.

use std::fmt;
use std::io;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::time_provider::{DefaultTimeProvider, TimeProvider};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::transport::{BoxFuture, Rejected, Transport};

/// Where trusted CA certificates come from.
#[derive(Clone, PartialEq, Eq)]
pub enum Roots {
    /// The operating system's trust store (rustls-native-certs).
    System,
    /// A PEM bundle of one or more CA certificates.
    Pem(Vec<u8>),
}

impl fmt::Debug for Roots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Roots::System => f.write_str("System"),
            Roots::Pem(p) => write!(f, "Pem({} bytes)", p.len()),
        }
    }
}

/// TLS settings. `Debug` never shows the client key.
#[derive(Clone)]
pub struct TlsConfig {
    /// The name the server's certificate must carry (SNI and verification).
    pub server_name: String,
    pub roots: Roots,
    /// Client certificate chain and private key, both PEM.
    pub client_auth: Option<(Vec<u8>, Vec<u8>)>,
    /// ALPN protocols offered, most preferred first (e.g. `b"mqtt"`).
    pub alpn: Vec<Vec<u8>>,
    /// The clock certificates are checked against; `None` = the system's.
    /// A simulation gives its virtual clock so that validity checks do not
    /// depend on the host's wall clock.
    pub clock: Option<Arc<dyn TimeProvider>>,
    danger_accept_invalid_certs: bool,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("server_name", &self.server_name)
            .field("roots", &self.roots)
            .field(
                "client_auth",
                &self.client_auth.as_ref().map(|_| "<key redacted>"),
            )
            .field("alpn", &self.alpn)
            .field("clock", &self.clock.as_ref().map(|_| "custom"))
            .field(
                "danger_accept_invalid_certs",
                &self.danger_accept_invalid_certs,
            )
            .finish()
    }
}

impl TlsConfig {
    /// Verifies the server as `server_name` against the system's roots.
    pub fn new(server_name: impl Into<String>) -> Self {
        TlsConfig {
            server_name: server_name.into(),
            roots: Roots::System,
            client_auth: None,
            alpn: Vec::new(),
            clock: None,
            danger_accept_invalid_certs: false,
        }
    }

    /// Trusts only the CA certificates in this PEM bundle.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.roots = Roots::Pem(pem.into());
        self
    }

    /// Presents this client certificate chain and key (both PEM).
    pub fn client_cert_pem(mut self, chain: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.client_auth = Some((chain.into(), key.into()));
        self
    }

    /// Offers these ALPN protocols.
    pub fn alpn<P: Into<Vec<u8>>>(mut self, protocols: impl IntoIterator<Item = P>) -> Self {
        self.alpn = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Checks certificate validity periods against this clock instead of
    /// the system's (a simulator's virtual time, a board's RTC).
    pub fn clock(mut self, clock: Arc<dyn TimeProvider>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// DANGER: accepts ANY server certificate: expired, self-signed, for
    /// another name. The connection is encrypted but not authenticated; a
    /// man in the middle can read and change everything. For lab setups only.
    pub fn danger_accept_invalid_certs(mut self) -> Self {
        self.danger_accept_invalid_certs = true;
        self
    }

    /// Whether certificate verification is off.
    pub fn accepts_invalid_certs(&self) -> bool {
        self.danger_accept_invalid_certs
    }
}

/// A TLS configuration that cannot be used.
#[derive(Debug)]
pub enum TlsError {
    /// `server_name` is not a valid DNS name or IP address.
    ServerName(String),
    /// The CA bundle holds no certificate, or one that is not valid.
    Ca(String),
    /// The system trust store could not be read or is empty.
    SystemRoots(String),
    /// The client certificate or key could not be read or do not match.
    ClientCert(String),
    /// rustls refused the configuration.
    Rustls(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::ServerName(n) => write!(f, "TLS: invalid server name {n:?}"),
            TlsError::Ca(e) => write!(f, "TLS: CA bundle: {e}"),
            TlsError::SystemRoots(e) => write!(f, "TLS: system roots: {e}"),
            TlsError::ClientCert(e) => write!(f, "TLS: client certificate: {e}"),
            TlsError::Rustls(e) => write!(f, "TLS: {e}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// The crypto provider every connection uses: ring, pinned.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn root_store(roots: &Roots) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::Pem(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| TlsError::Ca(e.to_string()))?;
                store
                    .add(cert)
                    .map_err(|e| TlsError::Ca(format!("not a usable CA certificate: {e}")))?;
            }
            if store.is_empty() {
                return Err(TlsError::Ca("no CERTIFICATE block found".into()));
            }
        }
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map_or("no certificates found".to_string(), |e| e.to_string());
                return Err(TlsError::SystemRoots(why));
            }
        }
    }
    Ok(store)
}

/// Builds the rustls client configuration.
pub fn client_config(c: &TlsConfig) -> Result<ClientConfig, TlsError> {
    let clock = c
        .clock
        .clone()
        .unwrap_or_else(|| Arc::new(DefaultTimeProvider));
    let builder = ClientConfig::builder_with_details(provider(), clock)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Rustls)?;
    let builder = if c.danger_accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider())))
    } else {
        builder.with_root_certificates(root_store(&c.roots)?)
    };
    let mut config = match &c.client_auth {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain)
                .collect::<Result<_, _>>()
                .map_err(|e| TlsError::ClientCert(e.to_string()))?;
            if chain.is_empty() {
                return Err(TlsError::ClientCert("no CERTIFICATE block found".into()));
            }
            let key = PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| TlsError::ClientCert(format!("private key: {e}")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| TlsError::ClientCert(e.to_string()))?
        }
    };
    config.alpn_protocols = c.alpn.clone();
    Ok(config)
}

/// TLS over any transport `T`.
pub struct TlsTransport<T> {
    inner: T,
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

impl<T> fmt::Debug for TlsTransport<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsTransport")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> TlsTransport<T> {
    /// Checks `config` and builds the transport (errors are configuration
    /// errors, reported before any connection is attempted).
    pub fn new(inner: T, config: &TlsConfig) -> Result<Self, TlsError> {
        let server_name = ServerName::try_from(config.server_name.clone())
            .map_err(|_| TlsError::ServerName(config.server_name.clone()))?;
        Ok(TlsTransport {
            inner,
            connector: TlsConnector::from(Arc::new(client_config(config)?)),
            server_name,
        })
    }
}

/// Whether a handshake failure is one that retrying soon cannot fix: the
/// peer's certificate (or ours) was rejected, or the peer speaks no TLS
/// version or cipher we accept.
fn permanent(e: &rustls::Error) -> bool {
    use rustls::Error as E;
    matches!(
        e,
        E::InvalidCertificate(_)
            | E::NoCertificatesPresented
            | E::UnsupportedNameType
            | E::PeerIncompatible(_)
            | E::AlertReceived(
                rustls::AlertDescription::BadCertificate
                    | rustls::AlertDescription::CertificateExpired
                    | rustls::AlertDescription::CertificateRevoked
                    | rustls::AlertDescription::CertificateUnknown
                    | rustls::AlertDescription::CertificateRequired
                    | rustls::AlertDescription::UnknownCA
                    | rustls::AlertDescription::AccessDenied
                    | rustls::AlertDescription::HandshakeFailure
                    | rustls::AlertDescription::ProtocolVersion
                    | rustls::AlertDescription::NoApplicationProtocol
            )
    )
}

/// Turns a handshake error into the error the driver sees: a [`Rejected`]
/// with a readable reason for certificate problems, else as it was.
fn classify(e: io::Error) -> io::Error {
    let reason = match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(tls) if permanent(tls) => format!("TLS handshake rejected: {tls}"),
        Some(tls) => return io::Error::new(e.kind(), format!("TLS handshake failed: {tls}")),
        None => return e,
    };
    io::Error::new(io::ErrorKind::InvalidData, Rejected(reason))
}

impl<T: Transport> Transport for TlsTransport<T> {
    type Stream = TlsStream<T::Stream>;

    fn connect(&self) -> BoxFuture<io::Result<Self::Stream>> {
        let tcp = self.inner.connect();
        let connector = self.connector.clone();
        let name = self.server_name.clone();
        Box::pin(async move {
            let stream = tcp.await?;
            connector.connect(name, stream).await.map_err(classify)
        })
    }
}

/// The verifier behind `danger_accept_invalid_certs`: checks signatures
/// (so the handshake is still well-formed) but not the certificate.
#[derive(Debug)]
struct AcceptAnything(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
