//! The host's async shell over any tokio `AsyncRead + AsyncWrite` (a serial
//! port from [`crate::serial`], a PTY, an in-memory duplex, a turmoil
//! stream): a task pumps the [`Host`] core, a cloneable [`HostHandle`]
//! gives the application the same calls as the driver's client.
//!
//! ```no_run
//! use resilient_mqtt_bridge::{tokio::run_host, HostConfig, QoS};
//! # async fn demo(uart: tokio::io::DuplexStream) -> Result<(), Box<dyn std::error::Error>> {
//! let (host, task) = run_host(uart, HostConfig::new("sensor-1", 42)?);
//! tokio::spawn(task);
//! host.subscribe("cmd/#", QoS::AtLeastOnce).await?;
//! host.publish("sensors/t", b"21.5", QoS::AtLeastOnce, false).await?; // broker's PUBACK
//! while let Some(m) = host.next_message().await {
//!     println!("{} {:?}", m.topic, m.payload);
//! }
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::host::{Host, HostConfig, HostError, HostEvent, Token};
use crate::link::LinkStats;
use crate::wire::FailReason;
use crate::{Instant, QoS};

/// A message for one of the host's subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
}

/// Link and MQTT state changes, as the driver's notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    GatewayUp,
    GatewayDown,
    Up { session_present: bool },
    Down,
    QueueState { queued: u16, capacity: u16 },
    VersionMismatch { gateway: u8 },
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BridgeError {
    /// The request itself is not acceptable (too long, bad topic).
    Host(HostError),
    /// The broker or gateway refused the publish, or a QoS 0 publish was
    /// lost with a rebooted gateway.
    Failed(FailReason),
    /// The broker refused the subscription.
    Refused,
    /// The host task has stopped (the serial port closed or failed).
    Stopped,
}

impl fmt::Display for BridgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BridgeError::Host(e) => write!(f, "{e}"),
            BridgeError::Failed(FailReason::Refused) => {
                f.write_str("the broker or gateway refused the publish")
            }
            BridgeError::Failed(FailReason::GatewayLost) => {
                f.write_str("QoS 0 publish lost: the gateway rebooted before sending it")
            }
            BridgeError::Refused => f.write_str("the broker refused the subscription"),
            BridgeError::Stopped => f.write_str("the bridge host task is not running"),
        }
    }
}

impl std::error::Error for BridgeError {}

enum Cmd {
    Publish {
        topic: String,
        payload: Vec<u8>,
        qos: QoS,
        retain: bool,
        reply: oneshot::Sender<Result<(), BridgeError>>,
    },
    Subscribe {
        filter: String,
        qos: QoS,
        reply: oneshot::Sender<Result<QoS, BridgeError>>,
    },
    Unsubscribe {
        filter: String,
        reply: oneshot::Sender<Result<(), BridgeError>>,
    },
}

enum Reply {
    Publish(oneshot::Sender<Result<(), BridgeError>>),
    Subscribe(oneshot::Sender<Result<QoS, BridgeError>>),
    Unsubscribe(oneshot::Sender<Result<(), BridgeError>>),
}

/// A cloneable handle to a running host task.
#[derive(Clone)]
pub struct HostHandle {
    cmd: mpsc::UnboundedSender<Cmd>,
    messages: Arc<tokio::sync::Mutex<mpsc::Receiver<Message>>>,
    notifications: broadcast::Sender<Notification>,
    state: watch::Receiver<State>,
    stats: Arc<Mutex<LinkStats>>,
}

/// The link's state as the task last saw it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct State {
    pub gateway_up: bool,
    pub mqtt_up: bool,
}

impl HostHandle {
    async fn ask<R>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<R, BridgeError>>) -> Cmd,
    ) -> Result<R, BridgeError> {
        let (tx, rx) = oneshot::channel();
        self.cmd.send(make(tx)).map_err(|_| BridgeError::Stopped)?;
        rx.await.map_err(|_| BridgeError::Stopped)?
    }

    /// Publishes; returns when the gateway reports the broker's
    /// acknowledgement, across link outages and gateway reboots. Waits
    /// while the host's outbox is full.
    pub async fn publish(
        &self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<(), BridgeError> {
        let (topic, payload) = (topic.to_string(), payload.to_vec());
        self.ask(|reply| Cmd::Publish {
            topic,
            payload,
            qos,
            retain,
            reply,
        })
        .await
    }

    /// Subscribes; returns the granted QoS. Restored by the host after a
    /// gateway reboot.
    pub async fn subscribe(&self, filter: &str, qos: QoS) -> Result<QoS, BridgeError> {
        let filter = filter.to_string();
        self.ask(|reply| Cmd::Subscribe { filter, qos, reply })
            .await
    }

    pub async fn unsubscribe(&self, filter: &str) -> Result<(), BridgeError> {
        let filter = filter.to_string();
        self.ask(|reply| Cmd::Unsubscribe { filter, reply }).await
    }

    /// The next message; `None` when the task has stopped. A host that does
    /// not read holds the gateway back (flow control), it loses nothing.
    pub async fn next_message(&self) -> Option<Message> {
        self.messages.lock().await.recv().await
    }

    pub fn notifications(&self) -> broadcast::Receiver<Notification> {
        self.notifications.subscribe()
    }

    pub fn state(&self) -> State {
        *self.state.borrow()
    }

    /// Waits until the gateway's MQTT connection is up.
    pub async fn wait_mqtt_up(&self) {
        let mut s = self.state.clone();
        let _ = s.wait_for(|s| s.mqtt_up).await;
    }

    pub fn stats(&self) -> LinkStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Messages the task holds for an application that does not read.
const MESSAGES: usize = 32;

/// The handle and the task (spawn it). The task ends with `Ok` when every
/// handle is dropped or the stream reaches its end, with the error when
/// the stream fails.
pub fn run_host<IO>(
    io: IO,
    cfg: HostConfig,
) -> (HostHandle, impl Future<Output = io::Result<()>> + Send)
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (msg_tx, msg_rx) = mpsc::channel(MESSAGES);
    let notifications = broadcast::channel(64).0;
    let (state_tx, state_rx) = watch::channel(State::default());
    let stats = Arc::new(Mutex::new(LinkStats::default()));
    let handle = HostHandle {
        cmd: cmd_tx,
        messages: Arc::new(tokio::sync::Mutex::new(msg_rx)),
        notifications: notifications.clone(),
        state: state_rx,
        stats: stats.clone(),
    };
    let task = Task {
        host: Host::new(cfg),
        replies: BTreeMap::new(),
        waiting: VecDeque::new(),
        msg_tx,
        notifications,
        state: state_tx,
        stats,
    };
    (handle, task.run(io, cmd_rx))
}

struct Task {
    host: Host,
    replies: BTreeMap<Token, Reply>,
    /// Commands that met a full outbox, in order.
    waiting: VecDeque<Cmd>,
    msg_tx: mpsc::Sender<Message>,
    notifications: broadcast::Sender<Notification>,
    state: watch::Sender<State>,
    stats: Arc<Mutex<LinkStats>>,
}

impl Task {
    async fn run<IO>(mut self, io: IO, mut cmd_rx: mpsc::UnboundedReceiver<Cmd>) -> io::Result<()>
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (mut rd, mut wr) = tokio::io::split(io);
        let start = tokio::time::Instant::now();
        let now = || Instant(start.elapsed().as_millis() as u64);
        let mut buf = vec![0u8; 1024];
        let mut out = vec![0u8; 4096];
        let mut cmds_open = true;
        loop {
            loop {
                let n = self.host.poll_transmit(now(), &mut out);
                if n == 0 {
                    break;
                }
                wr.write_all(&out[..n]).await?;
            }
            wr.flush().await?;
            let blocked = self.drain_events();
            self.retry_waiting(now());
            if !cmds_open
                && self.replies.is_empty()
                && self.waiting.is_empty()
                && self.msg_tx.is_closed()
            {
                return Ok(());
            }
            let deadline = self
                .host
                .poll_timeout()
                .map(|t| start + std::time::Duration::from_millis(t.0));
            let msg_tx = self.msg_tx.clone();
            tokio::select! {
                r = rd.read(&mut buf) => {
                    let n = r?;
                    if n == 0 {
                        return Ok(());
                    }
                    self.host.handle_input(now(), &buf[..n]);
                }
                c = cmd_rx.recv(), if cmds_open => match c {
                    Some(c) => self.command(now(), c),
                    None => cmds_open = false,
                },
                _ = sleep_until(deadline), if deadline.is_some() => self.host.handle_timeout(now()),
                p = msg_tx.reserve(), if blocked => drop(p),
            }
        }
    }

    fn command(&mut self, now: Instant, c: Cmd) {
        let r = match &c {
            Cmd::Publish {
                topic,
                payload,
                qos,
                retain,
                ..
            } => self.host.publish(now, topic, payload, *qos, *retain),
            Cmd::Subscribe { filter, qos, .. } => self.host.subscribe(now, filter, *qos),
            Cmd::Unsubscribe { filter, .. } => self.host.unsubscribe(now, filter),
        };
        match r {
            Ok(token) => {
                let reply = match c {
                    Cmd::Publish { reply, .. } => Reply::Publish(reply),
                    Cmd::Subscribe { reply, .. } => Reply::Subscribe(reply),
                    Cmd::Unsubscribe { reply, .. } => Reply::Unsubscribe(reply),
                };
                self.replies.insert(token, reply);
            }
            Err(HostError::Full) => self.waiting.push_back(c),
            Err(e) => {
                let e = BridgeError::Host(e);
                match c {
                    Cmd::Publish { reply, .. } => drop(reply.send(Err(e))),
                    Cmd::Subscribe { reply, .. } => drop(reply.send(Err(e))),
                    Cmd::Unsubscribe { reply, .. } => drop(reply.send(Err(e))),
                }
            }
        }
    }

    fn retry_waiting(&mut self, now: Instant) {
        while self.host.outbox_free() > 0 {
            let Some(c) = self.waiting.pop_front() else {
                break;
            };
            self.command(now, c);
        }
    }

    /// Hands events out; true when the message channel is full (the host
    /// core then keeps the rest and its window closes).
    fn drain_events(&mut self) -> bool {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner()) = self.host.stats();
        loop {
            if self.msg_tx.capacity() == 0 && !self.msg_tx.is_closed() {
                return true;
            }
            let Some(ev) = self.host.poll_event() else {
                return false;
            };
            let note = |n: Notification| {
                let _ = self.notifications.send(n);
            };
            match ev {
                HostEvent::GatewayUp => note(Notification::GatewayUp),
                HostEvent::GatewayDown => note(Notification::GatewayDown),
                HostEvent::Up { session_present } => note(Notification::Up { session_present }),
                HostEvent::Down => note(Notification::Down),
                HostEvent::QueueState { queued, capacity } => {
                    note(Notification::QueueState { queued, capacity })
                }
                HostEvent::VersionMismatch { gateway } => {
                    note(Notification::VersionMismatch { gateway })
                }
                HostEvent::PublishDone { token } => {
                    if let Some(Reply::Publish(r)) = self.replies.remove(&token) {
                        let _ = r.send(Ok(()));
                    }
                }
                HostEvent::PublishFailed { token, error } => {
                    if let Some(Reply::Publish(r)) = self.replies.remove(&token) {
                        let _ = r.send(Err(BridgeError::Failed(error)));
                    }
                }
                HostEvent::SubscribeDone { token, result } => {
                    if let Some(Reply::Subscribe(r)) = self.replies.remove(&token) {
                        let _ = r.send(result.map_err(|_| BridgeError::Refused));
                    }
                }
                HostEvent::UnsubscribeDone { token } => {
                    if let Some(Reply::Unsubscribe(r)) = self.replies.remove(&token) {
                        let _ = r.send(Ok(()));
                    }
                }
                HostEvent::Message {
                    topic,
                    payload,
                    qos,
                    retain,
                } => {
                    let _ = self.msg_tx.try_send(Message {
                        topic: topic.as_str().to_string(),
                        payload: payload.to_vec(),
                        qos,
                        retain,
                    });
                }
            }
            self.state.send_if_modified(|s| {
                let new = State {
                    gateway_up: self.host.is_gateway_up(),
                    mqtt_up: self.host.is_mqtt_up(),
                };
                let changed = *s != new;
                *s = new;
                changed
            });
        }
    }
}

/// Sleeps until `t`, or forever without one.
pub(crate) async fn sleep_until(t: Option<tokio::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
