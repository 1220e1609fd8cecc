//! `--broker tls://HOST:PORT`: a loopback TCP listener whose every
//! connection is carried to the broker over TLS (rustls, the driver's
//! `client::tls`), so the fault proxies (plain TCP upstream) and the
//! observer reach a TLS-only broker. Verified against `--broker-ca FILE`
//! (PEM), else the system's roots; the server name is HOST.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use resilient_mqtt::client::tls::{TlsConfig, TlsTransport};
use resilient_mqtt::client::{TcpTransport, Transport};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// A running bridge; dropping it stops accepting (open connections end
/// with the runtime).
pub struct TlsBridge {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

/// The TLS client side for `host:port`, checked against `ca` (a PEM file).
pub fn transport(
    host: &str,
    port: u16,
    ca: Option<&Path>,
) -> Result<TlsTransport<TcpTransport>, String> {
    let mut config = TlsConfig::new(host);
    if let Some(ca) = ca {
        let pem = std::fs::read(ca)
            .map_err(|e| format!("--broker-ca {}: cannot read it: {e}", ca.display()))?;
        config = config.ca_pem(pem);
    }
    TlsTransport::new(TcpTransport::new(format!("{host}:{port}")), &config)
        .map_err(|e| format!("TLS to {host}:{port}: {e}"))
}

impl TlsBridge {
    /// Listens on a free loopback port, on `rt`.
    pub fn start(rt: &Handle, tls: TlsTransport<TcpTransport>) -> Result<TlsBridge, String> {
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(|e| format!("TLS bridge cannot listen: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let tls = Arc::new(tls);
        let task = rt.spawn(async move {
            loop {
                let Ok((mut plain, _)) = listener.accept().await else {
                    continue;
                };
                let tls = tls.clone();
                tokio::spawn(async move {
                    // A broker that is down or refuses the handshake: the
                    // connection closes, as a refused TCP connect would.
                    if let Ok(mut secure) = tls.connect().await {
                        let _ = tokio::io::copy_bidirectional(&mut plain, &mut secure).await;
                    }
                });
            }
        });
        Ok(TlsBridge { addr, task })
    }

    /// Where the proxies connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for TlsBridge {
    fn drop(&mut self) {
        self.task.abort();
    }
}
