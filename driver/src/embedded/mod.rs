//! The embedded shell (feature `embedded`, `no_std`): an async MQTT client
//! for firmware, over any `embedded-io-async` socket, with time from a
//! [`Clock`] and `embedded_hal_async::delay::DelayNs`. It runs the same
//! sans-IO [`Session`](crate::session::Session) as the tokio client; the
//! shell only moves bytes, time and requests.
//!
//! Two halves share one [`Shared`] (which can be a `static`):
//!
//! - [`Runner`]: owns the socket, the [`Connector`], the clock and the
//!   delay. Its [`Runner::run`] future reads into a caller-provided buffer,
//!   feeds `handle_bytes`, writes `poll_transmit`, sleeps until
//!   `poll_timeout` or input (a small `select` of read, timer and request
//!   channel), opens and closes sockets when the session asks, and ends
//!   when the session is disconnected or closed.
//! - [`Client`]: `Copy` handles for application tasks: `connect`,
//!   `publish` (QoS 1 returns after PUBACK, across outages), `subscribe`,
//!   `unsubscribe`, `receive`, `disconnect`, `close`, `report_link`.
//!
//! ```ignore
//! static SHARED: Shared<NoopRawMutex> = Shared::new(); // or a StaticCell
//! let mut rx = [0u8; 1024];
//! let mut runner = Runner::new(config, connector, clock, delay, &SHARED, &mut rx)?;
//! let client = Client::new(&SHARED);
//! join(runner.run(), async {
//!     client.connect().await?;
//!     client.publish("status", b"up", false, QoS::AtLeastOnce).await?;
//! }).await;
//! ```
//!
//! # What allocates
//!
//! Nothing, without the `alloc` feature (`default-features = false,
//! features = ["embedded"]`): the read buffer is the caller's slice,
//! requests, answers and received messages live in [`Shared`]'s fixed
//! arrays (const generics `TOPIC`, `PAYLOAD`, `DEPTH`), `select` needs no
//! runtime, and the session keeps its state in fixed-capacity storage
//! ([`crate::session::store`], capacities set at build time); transmit
//! bytes are written from the session's buffer in place. No global
//! allocator is needed; `benches/memory.rs` measures the sizes and checks
//! that the heap stays at zero. With `alloc` the session uses the heap
//! instead (and MQTT 5 becomes available).

mod connector;
#[cfg(feature = "embedded-tokio")]
pub mod host;
mod runner;
mod select;
mod shared;
mod time;

pub use connector::Connector;
pub use embassy_sync::blocking_mutex::raw;
pub use runner::Runner;
pub use shared::{
    Error, InMessage, Shared, DEFAULT_DEPTH, DEFAULT_PAYLOAD, DEFAULT_RX_BUFFER, DEFAULT_TOPIC,
};
pub use time::Clock;

use core::cell::Cell;

use embassy_sync::blocking_mutex::raw::RawMutex;

use crate::codec::QoS;
use crate::session::{Session, Stats};
use shared::{Done, Request};

/// A handle for application tasks. `Copy`: hand one to every task.
pub struct Client<
    'a,
    M: RawMutex,
    const TOPIC: usize = DEFAULT_TOPIC,
    const PAYLOAD: usize = DEFAULT_PAYLOAD,
    const DEPTH: usize = DEFAULT_DEPTH,
> {
    shared: &'a Shared<M, TOPIC, PAYLOAD, DEPTH>,
}

impl<M: RawMutex, const TOPIC: usize, const PAYLOAD: usize, const DEPTH: usize> Clone
    for Client<'_, M, TOPIC, PAYLOAD, DEPTH>
{
    fn clone(&self) -> Self {
        *self
    }
}

impl<M: RawMutex, const TOPIC: usize, const PAYLOAD: usize, const DEPTH: usize> Copy
    for Client<'_, M, TOPIC, PAYLOAD, DEPTH>
{
}

impl<M: RawMutex, const TOPIC: usize, const PAYLOAD: usize, const DEPTH: usize> core::fmt::Debug
    for Client<'_, M, TOPIC, PAYLOAD, DEPTH>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("embedded::Client")
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

fn to_string<const N: usize>(s: &str) -> Result<heapless::String<N>, Error> {
    heapless::String::try_from(s).map_err(|_| Error::BufferTooSmall)
}

impl<'a, M: RawMutex, const TOPIC: usize, const PAYLOAD: usize, const DEPTH: usize>
    Client<'a, M, TOPIC, PAYLOAD, DEPTH>
{
    /// A handle on the state a [`Runner`] was built with.
    pub fn new(shared: &'a Shared<M, TOPIC, PAYLOAD, DEPTH>) -> Self {
        Client { shared }
    }

    /// Sends a request that has a completion slot and waits for its answer.
    async fn ask(
        &self,
        make: impl FnOnce(shared::Ticket) -> Request<TOPIC, PAYLOAD>,
    ) -> Result<Done, Error> {
        if self.shared.is_stopped() {
            return Err(Error::Stopped);
        }
        let slot = self.shared.reserve().await;
        if self.shared.is_stopped() {
            return Err(Error::Stopped);
        }
        self.shared.requests.send(make(slot.ticket)).await;
        if self.shared.is_stopped() {
            // The runner has ended (on one executor its last step runs at
            // once): it answered this request while draining the channel,
            // or it never will.
            return slot.try_done().ok_or(Error::Stopped);
        }
        Ok(slot.wait().await)
    }

    /// K1, K2: the first connection, with the link integrity period. Its
    /// errors are returned, not retried; later outages are the runner's.
    pub async fn connect(&self) -> Result<(), Error> {
        self.connect_inner(false).await
    }

    /// K2: the first connection without the link integrity period.
    pub async fn connect_quick(&self) -> Result<(), Error> {
        self.connect_inner(true).await
    }

    async fn connect_inner(&self, quick: bool) -> Result<(), Error> {
        match self
            .ask(|ticket| Request::Connect { quick, ticket })
            .await?
        {
            Done::Connect(r) => r.map_err(Error::Connect),
            _ => Err(Error::Stopped),
        }
    }

    /// P1-P4: publishes. QoS 0 returns once written, QoS 1 once the PUBACK
    /// came, across any number of outages. Topic and payload are copied
    /// into the request (`TOPIC`, `PAYLOAD` bytes at most).
    pub async fn publish(
        &self,
        topic: &str,
        payload: &[u8],
        retain: bool,
        qos: QoS,
    ) -> Result<(), Error> {
        Session::check_publish(topic, payload, qos, retain).map_err(Error::Request)?;
        let topic = to_string(topic)?;
        let payload = heapless::Vec::from_slice(payload).map_err(|_| Error::BufferTooSmall)?;
        let request = |ticket| Request::Publish {
            topic,
            payload,
            qos,
            retain,
            ticket,
        };
        match self.ask(request).await? {
            Done::Publish(r) => r.map_err(Error::Request),
            _ => Err(Error::Stopped),
        }
    }

    /// S1: subscribes; the granted QoS after SUBACK.
    pub async fn subscribe(&self, filter: &str, qos: QoS) -> Result<QoS, Error> {
        let filter = to_string(filter)?;
        match self
            .ask(|ticket| Request::Subscribe {
                filter,
                qos,
                ticket,
            })
            .await?
        {
            Done::Subscribe(r) => r.map_err(Error::Request),
            _ => Err(Error::Stopped),
        }
    }

    /// S1: unsubscribes; returns after UNSUBACK.
    pub async fn unsubscribe(&self, filter: &str) -> Result<(), Error> {
        let filter = to_string(filter)?;
        match self
            .ask(|ticket| Request::Unsubscribe { filter, ticket })
            .await?
        {
            Done::Unsubscribe(r) => r.map_err(Error::Request),
            _ => Err(Error::Stopped),
        }
    }

    /// O3: DISCONNECT (no will), close; the runner's `run` then returns.
    pub async fn disconnect(&self) {
        let _ = self
            .ask(|ticket| Request::End {
                graceful: true,
                ticket,
            })
            .await;
    }

    /// O4: close the socket at once (the broker publishes the will).
    pub async fn close(&self) {
        let _ = self
            .ask(|ticket| Request::End {
                graceful: false,
                ticket,
            })
            .await;
    }

    /// D2: the firmware's network link (WiFi) went up or down. The runner
    /// assumes it up until told otherwise; while it is down the session
    /// waits for it instead of dialling.
    pub async fn report_link(&self, up: bool) {
        if self.shared.is_stopped() {
            return;
        }
        self.shared.requests.send(Request::Link { up }).await;
    }

    /// S2: the next received message (oldest first). After the runner has
    /// ended, only what is already in the inbox comes.
    pub async fn receive(&self) -> InMessage<TOPIC, PAYLOAD> {
        self.shared.inbox.receive().await
    }

    /// The next received message, if one is waiting.
    pub fn try_receive(&self) -> Option<InMessage<TOPIC, PAYLOAD>> {
        self.shared.inbox.try_receive().ok()
    }

    /// O1: whether the broker connection is up.
    pub fn is_connected(&self) -> bool {
        self.shared.connected.lock(Cell::get)
    }

    /// O5: the session's counters as of the runner's last wake-up.
    pub fn stats(&self) -> Stats {
        self.shared.stats.lock(Cell::get).unwrap_or_default()
    }

    /// Messages the shell dropped: the inbox was full (the oldest went) or
    /// a message did not fit `TOPIC`/`PAYLOAD`.
    pub fn dropped_messages(&self) -> u64 {
        self.shared.dropped.lock(Cell::get)
    }
}
