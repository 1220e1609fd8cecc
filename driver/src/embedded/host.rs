//! Host adapters for the embedded shell (feature `embedded-tokio`): run it
//! on a PC or gateway, and test it, over tokio. Sockets go through
//! `embedded-io-adapters`' `FromTokio`, so the shell sees the same
//! `embedded_io_async::{Read, Write}` traits as on a board; time is tokio's
//! clock (turmoil's simulated one inside a simulation).

use core::time::Duration;

use embedded_hal_async::delay::DelayNs;
pub use embedded_io_adapters::tokio_1::FromTokio;

use super::{Clock, Connector};
use crate::session::Instant;

/// Connects with `tokio::net::TcpStream` (host names resolved by tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpConnector;

impl Connector for TcpConnector {
    type Socket = FromTokio<tokio::net::TcpStream>;
    type Error = std::io::Error;

    async fn connect(&mut self, host: &str, port: u16) -> Result<Self::Socket, Self::Error> {
        let stream = tokio::net::TcpStream::connect((host, port)).await?;
        stream.set_nodelay(true)?;
        Ok(FromTokio::new(stream))
    }

    /// Sends FIN (after the DISCONNECT, if any) rather than dropping.
    async fn close(&mut self, mut socket: Self::Socket) {
        use tokio::io::AsyncWriteExt;
        let _ = socket.inner_mut().shutdown().await;
    }
}

/// tokio's monotonic clock, from the moment it was created.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock whose origin is now. Call it inside the runtime (inside the
    /// turmoil host, for simulated time).
    pub fn new() -> Self {
        TokioClock {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::from_origin(self.origin.elapsed())
    }
}

/// `DelayNs` over `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioDelay;

impl DelayNs for TokioDelay {
    async fn delay_ns(&mut self, ns: u32) {
        tokio::time::sleep(Duration::from_nanos(ns.into())).await;
    }
    async fn delay_us(&mut self, us: u32) {
        tokio::time::sleep(Duration::from_micros(us.into())).await;
    }
    async fn delay_ms(&mut self, ms: u32) {
        tokio::time::sleep(Duration::from_millis(ms.into())).await;
    }
}
