//! How the embedded shell opens a connection to the broker: a small async
//! trait that yields an `embedded-io-async` socket. Firmware implements it
//! over its network stack (embassy-net's `TcpSocket`, esp-wifi, a modem),
//! the host tests over tokio or turmoil TCP (`embedded::host`).

use core::fmt::Debug;

/// Opens a byte stream to the broker.
///
/// The shell calls [`Connector::connect`] each time the session asks for a
/// transport (`Action::OpenTransport`), with `config.server` and the
/// effective port, bounded by `config.response_time`; it drops the socket
/// when the session asks to close it. A returned error is reported to the
/// session as a failed attempt (it retries after its backoff).
///
/// `read` on the socket must be cancel-safe (dropping a pending read loses
/// no bytes): the shell races it against the timer and the request channel.
/// embassy-net's `TcpSocket` and tokio's `TcpStream` are.
#[allow(async_fn_in_trait)]
pub trait Connector {
    /// The connected stream.
    type Socket: embedded_io_async::Read + embedded_io_async::Write;
    /// Why a connection could not be opened (it appears, formatted with
    /// `Debug`, in the session's `AttemptFailed` reason).
    type Error: Debug;

    /// Connects to `host:port` (`host` as in `Config::server`: a name or a
    /// literal address; resolving it is the connector's job).
    async fn connect(&mut self, host: &str, port: u16) -> Result<Self::Socket, Self::Error>;

    /// Closes a socket the session is done with, after anything it asked
    /// to send first (a DISCONNECT) was written and flushed; bounded by
    /// `response_time`. The default drops it; override it to close
    /// gracefully (send FIN) where dropping does not.
    async fn close(&mut self, socket: Self::Socket) {
        drop(socket);
    }
}
