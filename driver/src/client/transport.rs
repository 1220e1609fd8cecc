//! Transports: anything that connects and yields a byte stream. Tokio TCP
//! here; turmoil TCP in the simulator and TLS (`tls.rs`, over any of them)
//! implement the same trait. [`Rejected`] marks a failure not worth a quick
//! retry.

use std::future::Future;
use std::io;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};

/// A boxed future, as transports and links return them.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Opens connections to the broker.
pub trait Transport: Send + Sync + 'static {
    /// The connected stream.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Opens one connection. The client bounds it by `response_time`.
    fn connect(&self) -> BoxFuture<io::Result<Self::Stream>>;
}

/// Plain TCP with tokio, to `host:port`.
#[derive(Debug, Clone)]
pub struct TcpTransport {
    addr: String,
}

impl TcpTransport {
    /// A transport to `host:port`.
    pub fn new(addr: impl Into<String>) -> Self {
        TcpTransport { addr: addr.into() }
    }
}

impl Transport for TcpTransport {
    type Stream = tokio::net::TcpStream;

    fn connect(&self) -> BoxFuture<io::Result<Self::Stream>> {
        let addr = self.addr.clone();
        Box::pin(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            Ok(stream)
        })
    }
}

/// A connect failure that retrying soon cannot fix: the broker's TLS
/// certificate was rejected (expired, unknown CA, wrong name), or ours was.
/// A transport wraps it in an [`io::Error`]; the driver then waits
/// `backoff.refused` before trying again (no retry storm), and a first
/// `connect()` fails with its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected(pub String);

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Rejected {}

/// Whether `e` carries a [`Rejected`].
pub fn is_rejected(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Rejected>())
}
