//! Transports: anything that connects and yields a byte stream. Tokio TCP
//! here; turmoil TCP in the simulator and TLS implement the same trait.

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
