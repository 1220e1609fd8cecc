//! The async client (feature `tokio`): a cloneable [`Client`] handle and a
//! [`Driver`] task that owns the connection and pumps the sans-IO
//! [`Session`]. The shell only moves bytes, time and link changes in and
//! out; every decision is the session's.
//!
//! ```no_run
//! use resilient_mqtt::client::ClientBuilder;
//! use resilient_mqtt::codec::QoS;
//! use resilient_mqtt::session::Config;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config { server: "127.0.0.1".into(), port: 1883, ..Config::default() };
//! let client = ClientBuilder::new(config).spawn()?;
//! client.connect().await?; // K1: the first connect reports its errors
//! client.subscribe("cmd/#", QoS::AtLeastOnce).await?;
//! client.publish("status", b"online", false, QoS::AtLeastOnce).await?; // waits for PUBACK
//! # Ok(()) }
//! ```

mod driver;
mod link;
#[cfg(feature = "tls")]
pub mod tls;
mod transport;

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc, oneshot, watch, OwnedSemaphorePermit, Semaphore};

pub use driver::Driver;
pub use link::{AlwaysUp, Link, WatchLink};
pub use transport::{is_rejected, BoxFuture, Rejected, TcpTransport, Transport};

use crate::codec::QoS;
use crate::session::{
    AckReason, Config, ConfigError, ConnectError, DownReason, Event, Message, Protocol,
    PublishProperties, RequestError, ServerLimits, Session, Stats, StoreOp, SubscribeOptions,
};
use crate::storage::QueueStorage;

/// Called with every session event (diagnostics and trace).
pub type EventHook = Box<dyn FnMut(&Event) + Send>;
/// The callback interface (C7, `queue_len == 0`): called per message.
pub type MessageHook = Box<dyn FnMut(Message) + Send>;

/// An error from a client call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// K1: the first connect failed.
    Connect(ConnectError),
    /// A request could not be carried out.
    Request(RequestError),
    /// The driver task is gone (it was dropped or panicked).
    DriverGone,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect(e) => write!(f, "connect failed: {e}"),
            ClientError::Request(e) => write!(f, "{e}"),
            ClientError::DriverGone => f.write_str("the client's driver task is not running"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<ConnectError> for ClientError {
    fn from(e: ConnectError) -> Self {
        ClientError::Connect(e)
    }
}

impl From<RequestError> for ClientError {
    fn from(e: RequestError) -> Self {
        ClientError::Request(e)
    }
}

/// Up/down notifications (D4, D5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    Up { session_present: bool },
    Down { reason: DownReason },
}

/// A request from a handle to the driver task.
pub(crate) enum Command {
    Connect {
        quick: bool,
        reply: oneshot::Sender<Result<(), ConnectError>>,
    },
    Publish {
        topic: String,
        payload: Vec<u8>,
        qos: QoS,
        retain: bool,
        /// MQTT 5 properties (`None` for a plain publish).
        properties: Option<Box<PublishProperties>>,
        /// Done, with the MQTT 5 ack's reason when it said more than
        /// plain success.
        reply: oneshot::Sender<Result<Option<AckReason>, RequestError>>,
    },
    /// A QoS 0 publish made while connected: the caller does not wait
    /// (P1, P2). The permit bounds how many can be queued.
    PublishNoWait {
        topic: String,
        payload: Vec<u8>,
        retain: bool,
        permit: OwnedSemaphorePermit,
    },
    Subscribe {
        filter: String,
        qos: QoS,
        /// MQTT 5 options (`None` for a plain subscribe).
        options: Option<Box<SubscribeOptions>>,
        reply: oneshot::Sender<Result<QoS, RequestError>>,
    },
    Unsubscribe {
        filter: String,
        reply: oneshot::Sender<Result<(), RequestError>>,
    },
    BrokerUp {
        reply: oneshot::Sender<bool>,
    },
    NextMessage {
        reply: oneshot::Sender<Message>,
    },
    Disconnect {
        reply: oneshot::Sender<()>,
    },
    Close {
        reply: oneshot::Sender<()>,
    },
}

/// State the handles read without asking the driver.
pub(crate) struct Shared {
    pub connected: watch::Sender<bool>,
    pub stats: Mutex<Stats>,
    pub notifications: broadcast::Sender<Notification>,
    /// Room for QoS 0 publishes queued to the driver but not yet handled.
    pub qos0_room: Arc<Semaphore>,
    /// MQTT 5: the server's limits on the live connection (set from the
    /// CONNACK before the connection is reported up, cleared when it goes
    /// down), so that a QoS 0 publish is checked against them without
    /// waiting for the driver.
    pub server_limits: Mutex<Option<ServerLimits>>,
}

/// How many QoS 0 publishes may wait for the driver before `publish`
/// waits too (back-pressure on an application that publishes faster than
/// the socket drains).
const QOS0_QUEUE: usize = 64;

/// A [`QueueStorage`] behind a box, its errors as text.
pub(crate) trait ErasedStorage: Send {
    fn apply(&mut self, op: &StoreOp) -> Result<(), String>;
}

impl<S: QueueStorage + Send> ErasedStorage for S {
    fn apply(&mut self, op: &StoreOp) -> Result<(), String> {
        QueueStorage::apply(self, op).map_err(|e| e.to_string())
    }
}

/// A storage given to the builder: restores into the session, then
/// becomes the driver's.
type StorageSetup = Box<dyn FnOnce(&mut Session) -> Box<dyn ErasedStorage> + Send>;

/// Builds a client: configuration, transport, link and hooks.
pub struct ClientBuilder<T, L> {
    config: Config,
    transport: T,
    link: L,
    on_event: Option<EventHook>,
    on_message: Option<MessageHook>,
    storage: Option<StorageSetup>,
}

impl ClientBuilder<TcpTransport, AlwaysUp> {
    /// A builder for TCP to `config.server:config.port` over an always-up
    /// link.
    pub fn new(config: Config) -> Self {
        let addr = format!("{}:{}", config.server, config.effective_port(false));
        ClientBuilder {
            config,
            transport: TcpTransport::new(addr),
            link: AlwaysUp::default(),
            on_event: None,
            on_message: None,
            storage: None,
        }
    }
}

impl<T: Transport, L: Link> ClientBuilder<T, L> {
    /// Uses another transport (turmoil TCP, TLS...).
    pub fn transport<T2: Transport>(self, transport: T2) -> ClientBuilder<T2, L> {
        ClientBuilder {
            config: self.config,
            transport,
            link: self.link,
            on_event: self.on_event,
            on_message: self.on_message,
            storage: self.storage,
        }
    }

    /// Uses another link (WiFi).
    pub fn link<L2: Link>(self, link: L2) -> ClientBuilder<T, L2> {
        ClientBuilder {
            config: self.config,
            transport: self.transport,
            link,
            on_event: self.on_event,
            on_message: self.on_message,
            storage: self.storage,
        }
    }

    /// Sees every session event (diagnostics, traces, debug logging).
    pub fn on_event(mut self, hook: impl FnMut(&Event) + Send + 'static) -> Self {
        self.on_event = Some(Box::new(hook));
        self
    }

    /// C7: the callback interface, used when `queue_len == 0`.
    pub fn on_message(mut self, hook: impl FnMut(Message) + Send + 'static) -> Self {
        self.on_message = Some(Box::new(hook));
        self
    }

    /// P5 beyond: keeps the offline queue's QoS >= 1 publishes in
    /// `storage` (needs `config.offline_queue` with `persist = true`).
    /// `build` loads what an earlier run left there into the session
    /// (sent after the first connection, as new messages); unreadable
    /// records and storage failures are reported as
    /// [`Event::StorageFailed`], the readable records are kept.
    pub fn storage<S: QueueStorage + Send + 'static>(mut self, storage: S) -> Self {
        self.storage = Some(Box::new(move |session: &mut Session| {
            let mut storage = storage;
            crate::storage::restore_into(&mut storage, session);
            Box::new(storage) as Box<dyn ErasedStorage>
        }));
        self
    }

    /// The handle and the driver task, to be run with `driver.run().await`.
    /// Fails with [`ConfigError::StorageWithoutPersist`] when a storage was
    /// given but the offline queue does not persist.
    pub fn build(self) -> Result<(Client, Driver<T, L>), ConfigError> {
        let persist = self.config.offline_queue.is_some_and(|q| q.persist);
        if self.storage.is_some() && !persist {
            return Err(ConfigError::StorageWithoutPersist);
        }
        let mut session = Session::new(self.config)?;
        let storage = self.storage.map(|setup| setup(&mut session));
        let mqtt5 = session.config().protocol != Protocol::V311;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            connected: watch::channel(false).0,
            stats: Mutex::new(Stats::default()),
            notifications: broadcast::channel(64).0,
            qos0_room: Arc::new(Semaphore::new(QOS0_QUEUE)),
            server_limits: Mutex::new(None),
        });
        let client = Client {
            cmd: cmd_tx,
            shared: shared.clone(),
            mqtt5,
        };
        let mut driver = Driver::new(
            session,
            self.transport,
            self.link,
            cmd_rx,
            shared,
            self.on_event,
            self.on_message,
        );
        driver.storage = storage;
        Ok((client, driver))
    }

    /// Builds and spawns the driver on the current tokio runtime.
    pub fn spawn(self) -> Result<Client, ConfigError> {
        let (client, driver) = self.build()?;
        tokio::spawn(driver.run());
        Ok(client)
    }
}

/// A cloneable handle to a running client. Every call is async and never
/// blocks other tasks; calls made during an outage wait for its end (P1).
#[derive(Clone)]
pub struct Client {
    cmd: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
    /// MQTT 5: QoS 0 publishes are also checked against the server's
    /// limits (Maximum Packet Size, Retain Available) before they are
    /// queued to the driver.
    mqtt5: bool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

impl Client {
    async fn ask<R>(
        &self,
        make: impl FnOnce(oneshot::Sender<R>) -> Command,
    ) -> Result<R, ClientError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(make(tx))
            .map_err(|_| ClientError::DriverGone)?;
        rx.await.map_err(|_| ClientError::DriverGone)
    }

    /// K1, K2: the first connection, with the link integrity check. Errors
    /// are returned, not retried. Later outages are handled by the driver.
    pub async fn connect(&self) -> Result<(), ClientError> {
        Ok(self
            .ask(|reply| Command::Connect {
                quick: false,
                reply,
            })
            .await??)
    }

    /// K2: the first connection without the link integrity period.
    pub async fn connect_quick(&self) -> Result<(), ClientError> {
        Ok(self
            .ask(|reply| Command::Connect { quick: true, reply })
            .await??)
    }

    /// P1-P4: publishes; QoS 1 returns when the PUBACK arrived, across any
    /// number of outages. QoS 0 returns at once while connected (once the
    /// driver has room for it; P1), and waits for the end of an outage
    /// otherwise. A QoS 0 publish that the session would refuse (a bad
    /// topic, too large; with MQTT 5 also one the server's limits forbid:
    /// Maximum Packet Size, Retain Available) is refused here, before it is
    /// queued.
    pub async fn publish(
        &self,
        topic: &str,
        payload: &[u8],
        retain: bool,
        qos: QoS,
    ) -> Result<(), ClientError> {
        if qos == QoS::AtMostOnce && self.is_connected() {
            if let Some(checked) = self.check_qos0(topic, payload, retain) {
                checked?;
                let permit = self
                    .shared
                    .qos0_room
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| ClientError::DriverGone)?;
                self.cmd
                    .send(Command::PublishNoWait {
                        topic: topic.to_string(),
                        payload: payload.to_vec(),
                        retain,
                        permit,
                    })
                    .map_err(|_| ClientError::DriverGone)?;
                return Ok(());
            }
        }
        let (topic, payload) = (topic.to_string(), payload.to_vec());
        self.ask(|reply| Command::Publish {
            topic,
            payload,
            qos,
            retain,
            properties: None,
            reply,
        })
        .await??;
        Ok(())
    }

    /// The session's checks of a QoS 0 publish made while connected, made
    /// here so that the caller need not wait for the driver; `None` when
    /// they cannot be made here (MQTT 5 before the server's limits are
    /// known): the publish then waits for the driver's answer.
    ///
    /// With MQTT 5 the limits are those of the connection that was up when
    /// the call was made. If that connection ends before the driver takes
    /// the publish and the next server's limits forbid it, the session
    /// drops it (QoS 0 is at most once; such a publish was never sent).
    fn check_qos0(
        &self,
        topic: &str,
        payload: &[u8],
        retain: bool,
    ) -> Option<Result<(), RequestError>> {
        let qos = QoS::AtMostOnce;
        if !self.mqtt5 {
            return Some(Session::check_publish(topic, payload, qos, retain));
        }
        let limits = self
            .shared
            .server_limits
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let limits = limits.as_ref()?;
        Some(
            Session::check_publish(topic, payload, qos, retain)
                .and_then(|()| limits.check_publish(topic, payload, qos, retain, None)),
        )
    }

    /// V1, V2 (MQTT 5): publishes with properties (user properties,
    /// content type, response topic, correlation data, message expiry,
    /// payload format); completes like [`Client::publish`], with the ack's
    /// reason when it says more than plain success (e.g. PUBACK 0x10 no
    /// matching subscribers), and with [`RequestError::Rejected`] when the
    /// broker's PUBACK/PUBREC carries a failure reason code. On an MQTT
    /// 3.1.1 client any property is [`RequestError::NeedsMqtt5`].
    pub async fn publish_with(
        &self,
        topic: &str,
        payload: &[u8],
        retain: bool,
        qos: QoS,
        properties: PublishProperties,
    ) -> Result<Option<AckReason>, ClientError> {
        let (topic, payload) = (topic.to_string(), payload.to_vec());
        let properties = Some(Box::new(properties));
        Ok(self
            .ask(|reply| Command::Publish {
                topic,
                payload,
                qos,
                retain,
                properties,
                reply,
            })
            .await??)
    }

    /// V2 (MQTT 5): subscribes with options (no local, retain as
    /// published, retain handling, subscription identifier, user
    /// properties); returns the granted QoS, or
    /// [`RequestError::Rejected`] with the SUBACK's reason code.
    pub async fn subscribe_with(
        &self,
        filter: &str,
        qos: QoS,
        options: SubscribeOptions,
    ) -> Result<QoS, ClientError> {
        let filter = filter.to_string();
        let options = Some(Box::new(options));
        Ok(self
            .ask(|reply| Command::Subscribe {
                filter,
                qos,
                options,
                reply,
            })
            .await??)
    }

    /// S1: subscribes; returns the granted QoS after SUBACK.
    pub async fn subscribe(&self, filter: &str, qos: QoS) -> Result<QoS, ClientError> {
        let filter = filter.to_string();
        Ok(self
            .ask(|reply| Command::Subscribe {
                filter,
                qos,
                options: None,
                reply,
            })
            .await??)
    }

    /// S1: unsubscribes; returns after UNSUBACK.
    pub async fn unsubscribe(&self, filter: &str) -> Result<(), ClientError> {
        let filter = filter.to_string();
        Ok(self
            .ask(|reply| Command::Unsubscribe { filter, reply })
            .await??)
    }

    /// O2: whether the broker answers within `response_time`.
    pub async fn broker_up(&self) -> bool {
        self.ask(|reply| Command::BrokerUp { reply })
            .await
            .unwrap_or(false)
    }

    /// S3: the next message from the bounded queue (event interface,
    /// `queue_len > 0`). `None` when the driver has stopped.
    pub async fn next_message(&self) -> Option<Message> {
        self.ask(|reply| Command::NextMessage { reply }).await.ok()
    }

    /// O3: DISCONNECT, close, stop reconnecting.
    pub async fn disconnect(&self) {
        let _ = self.ask(|reply| Command::Disconnect { reply }).await;
    }

    /// O4: close the socket and the link at once.
    pub async fn close(&self) {
        let _ = self.ask(|reply| Command::Close { reply }).await;
    }

    /// O1: whether the broker connection is up.
    pub fn is_connected(&self) -> bool {
        *self.shared.connected.borrow()
    }

    /// Waits until the connection is up (or the driver stops).
    pub async fn wait_connected(&self) {
        let mut rx = self.shared.connected.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }

    /// D4, D5: up/down notifications from now on.
    pub fn notifications(&self) -> broadcast::Receiver<Notification> {
        self.shared.notifications.subscribe()
    }

    /// O5: counters (resends, connections, outages, discards).
    pub fn stats(&self) -> Stats {
        *self.shared.stats.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Pending replies, by kind, keyed by the session's tokens.
#[derive(Default)]
pub(crate) struct Waiters {
    pub connect: Option<oneshot::Sender<Result<(), ConnectError>>>,
    pub publish: std::collections::BTreeMap<
        crate::session::Token,
        oneshot::Sender<Result<Option<AckReason>, RequestError>>,
    >,
    /// MQTT 5: reasons reported for publishes just before their completion.
    pub ack_reasons: std::collections::BTreeMap<crate::session::Token, AckReason>,
    pub subscribe: std::collections::BTreeMap<
        crate::session::Token,
        oneshot::Sender<Result<QoS, RequestError>>,
    >,
    pub unsubscribe: std::collections::BTreeMap<
        crate::session::Token,
        oneshot::Sender<Result<(), RequestError>>,
    >,
    pub broker_up: std::collections::BTreeMap<crate::session::Token, oneshot::Sender<bool>>,
    pub messages: VecDeque<oneshot::Sender<Message>>,
}
