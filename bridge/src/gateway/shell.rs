//! The gateway's async shell (feature `gateway`): the [`Gateway`] core on
//! the serial side, `resilient-mqtt`'s tokio client on the network side.
//!
//! The client is built by the caller's closure from the host's identity,
//! so any transport and link the driver supports work (tokio TCP, TLS,
//! turmoil TCP inside the simulator, a WiFi link model).

use std::future::Future;
use std::io;
use std::time::Duration;

use resilient_mqtt::client::{
    Client, ClientBuilder, ClientError, Link as NetLink, Notification, Transport,
};
use resilient_mqtt::session::{Config, RequestError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::{Gateway, GatewayConfig, MqttRequest, MqttResult};
use crate::tokio::sleep_until;
use crate::Instant;

/// The MQTT identity the host configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostIdentity {
    pub client_id: String,
    pub keepalive_s: u16,
    pub clean_session: bool,
}

/// The driver's incoming queue the gateway reads from (C7 event
/// interface): with the gateway's own [`super::DOWNLINK`] queue, what it
/// holds for a host that reads slowly.
pub const CLIENT_QUEUE: usize = 256;

impl HostIdentity {
    /// `base` (server, port, credentials, backoff...) with the host's
    /// client id, keepalive and clean-session flag, and the event
    /// interface the gateway reads messages from.
    pub fn apply(&self, base: &Config) -> Config {
        let mut c = base.clone();
        c.client_id = self.client_id.clone();
        c.keepalive = Duration::from_secs(self.keepalive_s as u64);
        c.clean = self.clean_session;
        c.clean_init = self.clean_session;
        if c.queue_len == 0 {
            c.queue_len = CLIENT_QUEUE;
        }
        c
    }
}

/// Runs a gateway over `io` (the serial port) until it fails or ends.
/// `client` builds the MQTT client for the host's identity, e.g.
/// `|id| ClientBuilder::new(id.apply(&base))`; it is called again when a
/// host configures another identity.
pub fn run<IO, T, L, F>(
    io: IO,
    cfg: GatewayConfig,
    client: F,
) -> impl Future<Output = io::Result<()>> + Send
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
    T: Transport,
    L: NetLink,
    F: FnMut(&HostIdentity) -> ClientBuilder<T, L> + Send + 'static,
{
    Shell {
        gw: Gateway::new(cfg),
        make: client,
        generation: 0,
        tasks: JoinSet::new(),
        client: None,
    }
    .run(io)
}

struct Shell<F> {
    gw: Gateway,
    make: F,
    /// Results from an earlier client are ignored.
    generation: u64,
    /// The driver and helper tasks of the current client.
    tasks: JoinSet<()>,
    client: Option<(Client, watch::Receiver<bool>)>,
}

type Results = mpsc::UnboundedSender<(u64, MqttResult)>;
type Messages = mpsc::Sender<(u64, MqttResult)>;

impl<F> Shell<F> {
    async fn run<IO, T, L>(mut self, io: IO) -> io::Result<()>
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
        T: Transport,
        L: NetLink,
        F: FnMut(&HostIdentity) -> ClientBuilder<T, L>,
    {
        let (mut rd, mut wr) = tokio::io::split(io);
        let start = tokio::time::Instant::now();
        let now = || Instant(start.elapsed().as_millis() as u64);
        let (res_tx, mut res_rx) = mpsc::unbounded_channel();
        let (msg_tx, mut msg_rx) = mpsc::channel(1);
        let mut buf = vec![0u8; 1024];
        let mut out = vec![0u8; 4096];
        loop {
            while let Some(req) = self.gw.poll_mqtt() {
                self.request(req, &res_tx, &msg_tx);
            }
            loop {
                let n = self.gw.poll_transmit(now(), &mut out);
                if n == 0 {
                    break;
                }
                wr.write_all(&out[..n]).await?;
            }
            wr.flush().await?;
            let deadline = self
                .gw
                .poll_timeout()
                .map(|t| start + Duration::from_millis(t.0));
            let room = self.gw.can_accept_message();
            tokio::select! {
                r = rd.read(&mut buf) => {
                    let n = r?;
                    if n == 0 {
                        return Ok(());
                    }
                    self.gw.handle_input(now(), &buf[..n]);
                }
                Some((g, r)) = res_rx.recv() => if g == self.generation {
                    self.gw.handle_mqtt(now(), r);
                },
                Some((g, m)) = msg_rx.recv(), if room => if g == self.generation {
                    self.gw.handle_mqtt(now(), m);
                },
                _ = sleep_until(deadline), if deadline.is_some() => self.gw.handle_timeout(now()),
            }
        }
    }

    fn request<T, L>(&mut self, req: MqttRequest, res: &Results, msgs: &Messages)
    where
        T: Transport,
        L: NetLink,
        F: FnMut(&HostIdentity) -> ClientBuilder<T, L>,
    {
        match req {
            MqttRequest::Configure {
                client_id,
                keepalive_s,
                clean_session,
            } => {
                let id = HostIdentity {
                    client_id,
                    keepalive_s,
                    clean_session,
                };
                self.configure(&id, res, msgs);
            }
            MqttRequest::Publish {
                id,
                topic,
                payload,
                qos,
                retain,
            } => self.spawn_request(
                res,
                MqttResult::PublishFailed {
                    id,
                    error: "no MQTT client (configuration refused)".into(),
                },
                move |c| async move {
                    match c.publish(&topic, &payload, retain, qos).await {
                        Ok(()) => MqttResult::PublishDone { id },
                        Err(e) => MqttResult::PublishFailed {
                            id,
                            error: e.to_string(),
                        },
                    }
                },
            ),
            MqttRequest::Subscribe { id, filter, qos } => {
                let refused = MqttResult::SubscribeDone { id, granted: None };
                self.spawn_request(res, refused, move |c| async move {
                    let granted = c.subscribe(&filter, qos).await.ok();
                    MqttResult::SubscribeDone { id, granted }
                })
            }
            MqttRequest::Unsubscribe { id, filter } => {
                let refused = MqttResult::UnsubscribeDone { id };
                self.spawn_request(res, refused, move |c| async move {
                    let _ = c.unsubscribe(&filter).await;
                    MqttResult::UnsubscribeDone { id }
                })
            }
        }
    }

    /// Runs one request on the client once its first connect succeeded.
    fn spawn_request<Fut>(
        &mut self,
        res: &Results,
        refused: MqttResult,
        f: impl FnOnce(Client) -> Fut + Send + 'static,
    ) where
        Fut: Future<Output = MqttResult> + Send + 'static,
    {
        let Some((client, ready)) = self.client.clone() else {
            // No client (its configuration was refused): answer at once.
            let _ = res.send((self.generation, refused));
            return;
        };
        let res = res.clone();
        let g = self.generation;
        self.tasks.spawn(async move {
            let mut ready = ready;
            if ready.wait_for(|r| *r).await.is_err() {
                return;
            }
            let r = f(client).await;
            let _ = res.send((g, r));
        });
    }

    fn configure<T, L>(&mut self, id: &HostIdentity, res: &Results, msgs: &Messages)
    where
        T: Transport,
        L: NetLink,
        F: FnMut(&HostIdentity) -> ClientBuilder<T, L>,
    {
        self.tasks.abort_all();
        self.generation += 1;
        let g = self.generation;
        let (client, driver) = match (self.make)(id).build() {
            Ok(x) => x,
            Err(e) => {
                // A configuration the driver refuses: the host's requests
                // stay queued, the host sees MQTT down.
                eprintln!("bridge gateway: MQTT client configuration refused: {e}");
                self.client = None;
                return;
            }
        };
        let mut notes = client.notifications();
        self.tasks.spawn(driver.run());
        let (ready_tx, ready_rx) = watch::channel(false);
        self.client = Some((client.clone(), ready_rx));
        // The first connect reports its errors instead of retrying (K1):
        // the gateway retries until the broker is there. Quick (no link
        // integrity wait, K2): the gateway's network is up when it runs.
        let c = client.clone();
        self.tasks.spawn(async move {
            loop {
                match c.connect_quick().await {
                    Ok(()) => break,
                    Err(ClientError::Request(RequestError::Closed))
                    | Err(ClientError::DriverGone) => return,
                    Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                }
            }
            let _ = ready_tx.send(true);
            std::future::pending::<()>().await;
        });
        let r = res.clone();
        let c = client.clone();
        self.tasks.spawn(async move {
            if c.is_connected() {
                let _ = r.send((
                    g,
                    MqttResult::Up {
                        session_present: false,
                    },
                ));
            }
            loop {
                let ev = match notes.recv().await {
                    Ok(Notification::Up { session_present }) => MqttResult::Up { session_present },
                    Ok(Notification::Down { .. }) => MqttResult::Down,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        if c.is_connected() {
                            MqttResult::Up {
                                session_present: true,
                            }
                        } else {
                            MqttResult::Down
                        }
                    }
                    Err(_) => return,
                };
                if r.send((g, ev)).is_err() {
                    return;
                }
            }
        });
        let m = msgs.clone();
        self.tasks.spawn(async move {
            while let Some(msg) = client.next_message().await {
                let ev = MqttResult::Message {
                    topic: msg.topic.to_string(),
                    payload: msg.payload.to_vec(),
                    qos: msg.qos,
                    retain: msg.retained,
                };
                if m.send((g, ev)).await.is_err() {
                    return;
                }
            }
        });
    }
}
