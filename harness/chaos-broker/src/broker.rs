//! The async shell over [`Core`]: one shared broker, and
//! [`Broker::serve_connection`] that pumps any `AsyncRead + AsyncWrite`
//! stream (turmoil TCP, tokio TCP, `tokio::io::duplex`) through it. Time is
//! `tokio::time`, so turmoil's simulated clock and tokio's paused clock drive
//! keepalives and delays. The core sits behind a std mutex that is never
//! held across an `.await`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, Notify};
use tokio::time::Instant;

use crate::config::{BrokerConfig, ConfigError};
use crate::core::{ConnId, Core, Stats};
use crate::fault::{Fault, FaultTarget};
use crate::log::{EventEntry, LogRecord, PacketLogEntry};
use crate::state::BrokerState;

/// How many records the tap buffers for a slow subscriber before it sees
/// `RecvError::Lagged`.
const TAP_CAPACITY: usize = 16_384;

/// The chaos broker. Cheap to clone; all clones are the same broker.
///
/// Create it inside the runtime that will serve it (inside the turmoil host
/// closure in the simulator): its clock starts at creation.
#[derive(Clone)]
pub struct Broker {
    inner: Arc<Inner>,
}

struct Inner {
    start: Instant,
    shared: Mutex<Shared>,
    tap: broadcast::Sender<LogRecord>,
}

struct Shared {
    core: Core,
    wakers: BTreeMap<ConnId, Arc<Waker>>,
}

/// Wakes a connection's reader and writer.
#[derive(Default)]
struct Waker {
    read: Notify,
    write: Notify,
}

/// How a served connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionEnd {
    /// The broker closed it (DISCONNECT, protocol error, takeover, refusal,
    /// keepalive, fault).
    ClosedByBroker,
    /// The peer closed it or the stream failed.
    ClosedByPeer,
}

impl Broker {
    /// A broker with no state.
    pub fn new(config: BrokerConfig) -> Result<Broker, ConfigError> {
        config.validate()?;
        Ok(Broker::from_core(Core::new(config)))
    }

    /// A broker restarted from a snapshot, with the default configuration.
    pub fn from_snapshot(state: BrokerState) -> Broker {
        Broker::from_core(Core::from_state(BrokerConfig::default(), state))
    }

    /// A broker restarted from a snapshot.
    pub fn from_snapshot_with_config(
        config: BrokerConfig,
        state: BrokerState,
    ) -> Result<Broker, ConfigError> {
        config.validate()?;
        Ok(Broker::from_core(Core::from_state(config, state)))
    }

    fn from_core(core: Core) -> Broker {
        let (tap, _) = broadcast::channel(TAP_CAPACITY);
        Broker {
            inner: Arc::new(Inner {
                start: Instant::now(),
                shared: Mutex::new(Shared {
                    core,
                    wakers: BTreeMap::new(),
                }),
                tap,
            }),
        }
    }

    /// Time since the broker started, on tokio's clock.
    pub fn now(&self) -> Duration {
        self.inner.start.elapsed()
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic elsewhere must not take the broker down with it.
        self.inner
            .shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the core, then wakes the connections it touched and
    /// publishes its records on the tap.
    fn with_core<R>(&self, f: impl FnOnce(&mut Core, Duration) -> R) -> R {
        let now = self.now();
        let mut shared = self.lock();
        let r = f(&mut shared.core, now);
        let dirty = shared.core.take_dirty();
        for id in dirty {
            if let Some(w) = shared.wakers.get(&id) {
                w.read.notify_one();
                w.write.notify_one();
            }
        }
        for record in shared.core.take_records() {
            // No subscriber is fine.
            let _ = self.inner.tap.send(record);
        }
        r
    }

    /// The state a restart with persistence keeps.
    pub fn snapshot(&self) -> BrokerState {
        self.lock().core.snapshot()
    }

    /// Activates a fault for a target (forget-sessions acts at once).
    pub fn set_fault(&self, target: FaultTarget, fault: Fault) {
        self.with_core(|c, now| c.set_fault(target, fault, now));
    }

    /// Clears every fault.
    pub fn clear_faults(&self) {
        self.with_core(|c, now| c.clear_faults(None, now));
    }

    /// Clears the faults of one target.
    pub fn clear_faults_for(&self, target: &FaultTarget) {
        self.with_core(|c, now| c.clear_faults(Some(target), now));
    }

    /// The active faults.
    pub fn faults(&self) -> Vec<(FaultTarget, Fault)> {
        self.lock().core.faults()
    }

    /// The kept packet log.
    pub fn packet_log(&self) -> Vec<PacketLogEntry> {
        self.lock().core.packet_log()
    }

    /// The kept events.
    pub fn events(&self) -> Vec<EventEntry> {
        self.lock().core.events()
    }

    /// Every packet-log entry and event from now on, in order.
    pub fn tap(&self) -> broadcast::Receiver<LogRecord> {
        self.inner.tap.subscribe()
    }

    pub fn stats(&self) -> Stats {
        self.lock().core.stats()
    }

    /// Client ids with a session, and whether each is online.
    pub fn sessions(&self) -> Vec<(String, bool)> {
        self.lock().core.sessions()
    }

    /// Serves one client connection until it ends. Spawn one task per
    /// accepted stream.
    pub async fn serve_connection<S>(&self, stream: S) -> ConnectionEnd
    where
        S: AsyncRead + AsyncWrite,
    {
        let waker = Arc::new(Waker::default());
        let id = self.with_core(|c, now| c.open(now));
        self.lock().wakers.insert(id, waker.clone());
        let (rd, wr) = tokio::io::split(stream);
        let end = tokio::select! {
            end = self.read_loop(id, rd, &waker) => end,
            end = self.write_loop(id, wr, &waker) => end,
        };
        self.with_core(|c, now| c.handle_closed(id, now));
        self.lock().wakers.remove(&id);
        end
    }

    /// Reads input while the core wants it, and serves deadlines. Returns
    /// only when the peer closes or the stream fails.
    async fn read_loop<R: AsyncRead>(&self, id: ConnId, rd: R, waker: &Waker) -> ConnectionEnd {
        tokio::pin!(rd);
        let mut buf = vec![0u8; 8192];
        loop {
            let (wants_read, deadline) = {
                let shared = self.lock();
                (shared.core.wants_read(id), shared.core.poll_timeout(id))
            };
            // A deadline beyond what the clock can express never comes.
            let sleep_until = deadline.and_then(|d| self.inner.start.checked_add(d));
            tokio::select! {
                r = rd.read(&mut buf), if wants_read => match r {
                    Ok(0) | Err(_) => {
                        self.with_core(|c, now| c.handle_closed(id, now));
                        return ConnectionEnd::ClosedByPeer;
                    }
                    Ok(n) => self.with_core(|c, now| c.handle_input(id, &buf[..n], now)),
                },
                _ = sleep_opt(sleep_until) => self.with_core(|c, now| c.handle_timeout(now)),
                _ = waker.read.notified() => {}
            }
        }
    }

    /// Writes what the core has to send; closes the stream when the core
    /// says so.
    async fn write_loop<W: AsyncWrite>(&self, id: ConnId, wr: W, waker: &Waker) -> ConnectionEnd {
        tokio::pin!(wr);
        loop {
            let (bytes, close) = self.with_core(|c, now| {
                let bytes = c.poll_transmit(id, now);
                (bytes, c.should_close(id))
            });
            if let Some(bytes) = &bytes {
                // A peer that does not read must not keep a connection the
                // broker has closed (takeover, forget-sessions) alive.
                // (The last bytes before a close, e.g. a refusing CONNACK,
                // are written without that race.)
                let write = async {
                    wr.write_all(bytes).await?;
                    wr.flush().await
                };
                let written = if close {
                    write.await.is_ok()
                } else {
                    tokio::select! {
                        r = write => r.is_ok(),
                        _ = self.closed_by_broker(id, waker) => return ConnectionEnd::ClosedByBroker,
                    }
                };
                if !written {
                    self.with_core(|c, now| c.handle_closed(id, now));
                    return ConnectionEnd::ClosedByPeer;
                }
            }
            if close {
                let _ = wr.shutdown().await;
                return ConnectionEnd::ClosedByBroker;
            }
            if bytes.is_none() {
                waker.write.notified().await;
            }
        }
    }
}

impl Broker {
    /// Completes once the core has closed the connection with nothing left
    /// to send.
    async fn closed_by_broker(&self, id: ConnId, waker: &Waker) {
        loop {
            let notified = waker.write.notified();
            if self.lock().core.should_close(id) {
                return;
            }
            notified.await;
        }
    }
}

async fn sleep_opt(until: Option<Instant>) {
    match until {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
