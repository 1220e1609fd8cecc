//! The task that owns the connection: it feeds the session with commands,
//! bytes, link changes and time, and carries out what the session asks
//! (open or close the transport, bring the link up). Writes run in a
//! per-connection writer task bounded by `response_time` (C3), so a stalled
//! socket never stalls the driver, and reads are always in progress so a
//! closed socket is seen at once (B2).

use std::future::{pending, Future};
use std::io;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadHalf};
use tokio::sync::{mpsc, watch};
use tokio::time::timeout;

use super::{
    BoxFuture, Command, EventHook, Link, MessageHook, Notification, Shared, Transport, Waiters,
};
use crate::codec::QoS;
use crate::session::{Action, Event, Instant, Session};

/// A write failure, tagged with the connection it happened on.
type WriterError = (u64, String);

/// Runs a client's connection. Created by `ClientBuilder::build`; run it
/// with `driver.run().await` (or let `ClientBuilder::spawn` do it).
pub struct Driver<T: Transport, L: Link> {
    session: Session,
    transport: T,
    link: L,
    link_state: watch::Receiver<bool>,
    cmd_rx: mpsc::UnboundedReceiver<Command>,
    cmds_open: bool,
    shared: Arc<Shared>,
    on_event: Option<EventHook>,
    on_message: Option<MessageHook>,
    waiters: Waiters,
    origin: tokio::time::Instant,
    /// Identifies the current connection, so a late error from an old
    /// writer task is not taken for the new connection's.
    generation: u64,
    reader: Option<ReadHalf<T::Stream>>,
    writer: Option<mpsc::UnboundedSender<Vec<u8>>>,
    writer_errors: (
        mpsc::UnboundedSender<WriterError>,
        mpsc::UnboundedReceiver<WriterError>,
    ),
    connecting: Option<BoxFuture<io::Result<T::Stream>>>,
    linking: Option<BoxFuture<()>>,
    read_buf: Vec<u8>,
    /// P5 beyond: where the persisted offline queue goes.
    pub(crate) storage: Option<Box<dyn super::ErasedStorage>>,
}

/// Awaits an optional future; never resolves when there is none.
async fn maybe<F: Future + Unpin>(f: &mut Option<F>) -> F::Output {
    match f {
        Some(f) => f.await,
        None => pending().await,
    }
}

async fn read_some<R: AsyncRead + Unpin>(r: &mut Option<R>, buf: &mut [u8]) -> io::Result<usize> {
    match r {
        Some(r) => r.read(buf).await,
        None => pending().await,
    }
}

/// An I/O error as a reason: its kind, and its message when that adds
/// something (turmoil's only names the address).
fn io_reason(e: &io::Error) -> String {
    format!("{} ({e})", e.kind())
}

/// How many commands one wake-up handles before the driver looks at its
/// socket and timers again (fairness under a flood of publishes).
const COMMAND_BATCH: usize = 64;

/// The most bytes the writer task joins into one write.
const WRITE_BATCH: usize = 64 * 1024;

impl<T: Transport, L: Link> Driver<T, L> {
    pub(crate) fn new(
        session: Session,
        transport: T,
        link: L,
        cmd_rx: mpsc::UnboundedReceiver<Command>,
        shared: Arc<Shared>,
        on_event: Option<EventHook>,
        on_message: Option<MessageHook>,
    ) -> Self {
        let link_state = link.state();
        Driver {
            session,
            transport,
            link,
            link_state,
            cmd_rx,
            cmds_open: true,
            shared,
            on_event,
            on_message,
            waiters: Waiters::default(),
            origin: tokio::time::Instant::now(),
            generation: 0,
            reader: None,
            writer: None,
            writer_errors: mpsc::unbounded_channel(),
            connecting: None,
            linking: None,
            read_buf: vec![0; 4096],
            storage: None,
        }
    }

    fn now(&self) -> Instant {
        Instant::from_origin(self.origin.elapsed())
    }

    /// Runs until every [`super::Client`] handle is dropped.
    pub async fn run(mut self) {
        let up = *self.link_state.borrow_and_update();
        let now = self.now();
        self.session.handle_link(now, up);
        // One timer for the whole run, moved only when the session's next
        // deadline changes (re-creating it on every wake-up costs a timer
        // wheel insertion per packet).
        let far = tokio::time::Instant::now() + std::time::Duration::from_secs(86_400 * 365);
        let sleep = tokio::time::sleep_until(far);
        tokio::pin!(sleep);
        let mut armed: Option<tokio::time::Instant> = None;
        loop {
            self.drain();
            if !self.cmds_open {
                // Every handle is gone: leave politely and stop.
                let now = self.now();
                self.session.disconnect(now);
                self.drain();
                return;
            }
            let deadline = self
                .session
                .poll_timeout()
                .map(|t| self.origin + t.since_origin());
            if deadline != armed {
                sleep.as_mut().reset(deadline.unwrap_or(far));
                armed = deadline;
            }
            tokio::select! {
                cmd = self.cmd_rx.recv() => match cmd {
                    Some(cmd) => {
                        self.handle_command(cmd);
                        self.handle_queued_commands();
                    }
                    None => self.cmds_open = false,
                },
                res = read_some(&mut self.reader, &mut self.read_buf) => {
                    let now = self.now();
                    match res {
                        Ok(0) => {
                            self.reader = None;
                            self.session.handle_transport_closed(now);
                        }
                        Ok(n) => {
                            let bytes = &self.read_buf[..n];
                            self.session.handle_bytes(now, bytes);
                        }
                        Err(e) => {
                            self.reader = None;
                            self.session.handle_transport_error(now, &io_reason(&e));
                        }
                    }
                }
                res = maybe(&mut self.connecting) => {
                    self.connecting = None;
                    let now = self.now();
                    match res {
                        Ok(stream) => {
                            self.start_connection(stream);
                            self.session.handle_transport_connected(now);
                        }
                        Err(e) if super::is_rejected(&e) => {
                            self.session.handle_transport_rejected(now, &io_reason(&e))
                        }
                        Err(e) => self.session.handle_transport_failed(now, &io_reason(&e)),
                    }
                }
                Some((generation, err)) = self.writer_errors.1.recv() => {
                    if generation == self.generation && self.writer.is_some() {
                        let now = self.now();
                        self.session.handle_transport_error(now, &err);
                    }
                }
                changed = self.link_state.changed() => {
                    if changed.is_ok() {
                        let up = *self.link_state.borrow_and_update();
                        let now = self.now();
                        self.session.handle_link(now, up);
                    }
                }
                () = maybe(&mut self.linking) => {
                    self.linking = None;
                    let up = *self.link_state.borrow_and_update();
                    let now = self.now();
                    self.session.handle_link(now, up);
                }
                () = &mut sleep, if armed.is_some() => {
                    let now = self.now();
                    self.session.handle_timeout(now);
                }
            }
        }
    }

    /// Handles commands already waiting, up to [`COMMAND_BATCH`], so a
    /// burst of publishes costs one wake-up and one write.
    fn handle_queued_commands(&mut self) {
        for _ in 1..COMMAND_BATCH {
            match self.cmd_rx.try_recv() {
                Ok(cmd) => self.handle_command(cmd),
                Err(mpsc::error::TryRecvError::Empty) => return,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    self.cmds_open = false;
                    return;
                }
            }
        }
    }

    fn handle_command(&mut self, cmd: Command) {
        let now = self.now();
        match cmd {
            Command::Connect { quick, reply } => match self.session.connect(now, quick) {
                Ok(()) => self.waiters.connect = Some(reply),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Command::Publish {
                topic,
                payload,
                qos,
                retain,
                properties,
                reply,
            } => match match properties {
                None => self.session.publish(now, &topic, &payload, qos, retain),
                Some(p) => self
                    .session
                    .publish_with(now, &topic, &payload, qos, retain, *p),
            } {
                Ok(token) => {
                    self.waiters.publish.insert(token, reply);
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Command::PublishNoWait {
                topic,
                payload,
                retain,
                permit,
            } => {
                // P2: fire and forget; the caller has already returned.
                let _ = self
                    .session
                    .publish(now, &topic, &payload, QoS::AtMostOnce, retain);
                drop(permit);
            }
            Command::Subscribe {
                filter,
                qos,
                options,
                reply,
            } => {
                let options = options.map(|o| *o).unwrap_or_default();
                match self.session.subscribe_with(now, &filter, qos, options) {
                    Ok(token) => {
                        self.waiters.subscribe.insert(token, reply);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::Unsubscribe { filter, reply } => {
                match self.session.unsubscribe(now, &filter) {
                    Ok(token) => {
                        self.waiters.unsubscribe.insert(token, reply);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::BrokerUp { reply } => {
                let token = self.session.broker_up(now);
                self.waiters.broker_up.insert(token, reply);
            }
            Command::NextMessage { reply } => {
                self.waiters.messages.push_back(reply);
                self.deliver_queued();
            }
            Command::Disconnect { reply } => {
                self.session.disconnect(now);
                let _ = reply.send(());
            }
            Command::Close { reply } => {
                self.session.close(now);
                let _ = reply.send(());
            }
        }
    }

    /// Hands queued messages to waiting `next_message` calls.
    fn deliver_queued(&mut self) {
        while let Some(waiter) = self.waiters.messages.pop_front() {
            if waiter.is_closed() {
                continue;
            }
            match self.session.pop_message() {
                Some(m) => {
                    let _ = waiter.send(m);
                }
                None => {
                    self.waiters.messages.push_front(waiter);
                    return;
                }
            }
        }
    }

    fn start_connection(&mut self, stream: T::Stream) {
        self.generation += 1;
        let (reader, mut writer) = tokio::io::split(stream);
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let errors = self.writer_errors.0.clone();
        let generation = self.generation;
        let limit = self.session.config().response_time;
        tokio::spawn(async move {
            while let Some(mut bytes) = rx.recv().await {
                // Join what is already queued into one write.
                while bytes.len() < WRITE_BATCH {
                    match rx.try_recv() {
                        Ok(more) => bytes.extend_from_slice(&more),
                        Err(_) => break,
                    }
                }
                let write = async {
                    writer.write_all(&bytes).await?;
                    writer.flush().await
                };
                let failure = match timeout(limit, write).await {
                    Ok(Ok(())) => continue,
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => "write took longer than response_time".to_string(),
                };
                let _ = errors.send((generation, failure));
                return;
            }
            // The driver closed the connection: flush what was queued
            // (a DISCONNECT) and send FIN.
            let _ = timeout(limit, writer.shutdown()).await;
        });
        self.reader = Some(reader);
        self.writer = Some(tx);
    }

    /// Carries out everything the session has asked for.
    fn drain(&mut self) {
        let mut out: Vec<u8> = Vec::new();
        loop {
            let mut progress = false;
            if let Some(bytes) = self.session.poll_transmit() {
                progress = true;
                if out.is_empty() {
                    out = bytes;
                } else {
                    out.extend_from_slice(&bytes);
                }
            }

            if let Some(action) = self.session.poll_action() {
                progress = true;
                // Bytes queued before an action (a DISCONNECT before the
                // close) go to the connection they were meant for.
                self.flush_out(&mut out);
                self.act(action);
            }
            if let Some(op) = self.session.poll_store() {
                // P5 beyond: persisted before the events that follow it
                // are handed out. A failure is reported, not fatal.
                progress = true;
                if let Some(storage) = &mut self.storage {
                    if let Err(e) = storage.apply(&op) {
                        self.session.handle_storage_error(&e);
                    }
                }
            }
            if let Some(event) = self.session.poll_event() {
                progress = true;
                self.dispatch(event);
            }
            if !progress {
                break;
            }
        }
        self.flush_out(&mut out);
        let stats = self.session.stats();
        *self.shared.stats.lock().unwrap_or_else(|e| e.into_inner()) = stats;
    }

    /// Hands the bytes gathered by [`Self::drain`] to the writer task.
    fn flush_out(&mut self, out: &mut Vec<u8>) {
        if out.is_empty() {
            return;
        }
        let bytes = std::mem::take(out);
        if let Some(w) = &self.writer {
            let _ = w.send(bytes);
        }
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::OpenTransport => {
                let connect = self.transport.connect();
                let limit = self.session.config().response_time;
                self.connecting = Some(Box::pin(async move {
                    timeout(limit, connect).await.unwrap_or_else(|_| {
                        Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))
                    })
                }));
            }
            Action::CloseTransport => {
                self.reader = None;
                self.writer = None;
                self.connecting = None;
            }
            Action::BringLinkUp => {
                if self.linking.is_none() {
                    let config = self.session.config();
                    let up = self.link.bring_up(config.wifi.as_ref());
                    let limit = config.link_timeout;
                    self.linking = Some(Box::pin(async move {
                        let _ = timeout(limit, up).await;
                    }));
                }
            }
            Action::TakeLinkDown => {
                tokio::spawn(self.link.take_down());
            }
        }
    }

    fn dispatch(&mut self, event: Event) {
        if self.session.config().debug {
            eprintln!("[resilient-mqtt {}] {event:?}", self.session.client_id());
        }
        if let Some(hook) = &mut self.on_event {
            hook(&event);
        }
        let w = &mut self.waiters;
        match event {
            Event::ConnectResult(r) => {
                if let Some(reply) = w.connect.take() {
                    let _ = reply.send(r);
                }
            }
            Event::Up { session_present } => {
                self.shared.connected.send_replace(true);
                let _ = self
                    .shared
                    .notifications
                    .send(Notification::Up { session_present });
            }
            Event::ServerLimits(limits) => {
                *self
                    .shared
                    .server_limits
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = Some(limits);
            }
            Event::Down { reason } => {
                self.shared.connected.send_replace(false);
                *self
                    .shared
                    .server_limits
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = None;
                let _ = self
                    .shared
                    .notifications
                    .send(Notification::Down { reason });
            }
            Event::AckReason {
                token: Some(token),
                reason,
                ..
            } if w.publish.contains_key(&token) => {
                w.ack_reasons.insert(token, reason);
            }
            Event::PublishDone { token } => {
                let reason = w.ack_reasons.remove(&token);
                if let Some(reply) = w.publish.remove(&token) {
                    let _ = reply.send(Ok(reason));
                }
            }
            Event::PublishFailed { token, error } => {
                w.ack_reasons.remove(&token);
                if let Some(reply) = w.publish.remove(&token) {
                    let _ = reply.send(Err(error));
                }
            }
            Event::SubscribeDone { token, result } => {
                if let Some(reply) = w.subscribe.remove(&token) {
                    let _ = reply.send(result);
                }
            }
            Event::UnsubscribeDone { token, result } => {
                if let Some(reply) = w.unsubscribe.remove(&token) {
                    let _ = reply.send(result);
                }
            }
            Event::BrokerUp { token, up } => {
                if let Some(reply) = w.broker_up.remove(&token) {
                    let _ = reply.send(up);
                }
            }
            Event::Message(m) => {
                if let Some(hook) = &mut self.on_message {
                    hook(m);
                }
            }
            Event::MessageQueued { .. } => self.deliver_queued(),
            _ => {}
        }
        if self.session.is_closed() {
            self.shared.connected.send_replace(false);
        }
    }
}
