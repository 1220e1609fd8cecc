//! The shell's one future: [`Runner::run`] owns the socket and pumps the
//! sans-IO session (the quinn pattern: the runtime only drives the core).
//!
//! One wake-up: write what the session wants sent (bounded by
//! `response_time`), carry out its actions in order (open a socket through
//! the [`Connector`], bounded by `response_time`; drop it), hand its events
//! to the waiting requests and the inbox, then sleep until the earliest of
//! socket input, the session's next deadline and an application request.
//! Writes and connects run inline: while one is under way, requests queue in
//! the bounded channel (the caller's `send` waits when it is full).

use crate::session::store::{text_fmt, text_lossy, Text};
use core::future::pending;

use embassy_sync::blocking_mutex::raw::RawMutex;
use embedded_hal_async::delay::DelayNs;
use embedded_io_async::{Error as _, Read, Write};

use super::connector::Connector;
use super::select::{select, select3, Either, Either3};
use super::shared::{Done, InMessage, Request, Shared, Ticket};
use super::time::{sleep, Clock};
use crate::session::{Action, Config, ConfigError, Event, Message, Session, Token};

/// Drives one session over sockets from a [`Connector`]. See the module
/// docs of [`crate::embedded`].
pub struct Runner<
    'a,
    C: Connector,
    K: Clock,
    D: DelayNs,
    M: RawMutex,
    const TOPIC: usize,
    const PAYLOAD: usize,
    const DEPTH: usize,
> {
    session: Session,
    connector: C,
    clock: K,
    delay: D,
    shared: &'a Shared<M, TOPIC, PAYLOAD, DEPTH>,
    rx: &'a mut [u8],
    socket: Option<C::Socket>,
    link_up: bool,
    /// The `connect` request waiting for `ConnectResult`.
    connecting: Option<Ticket>,
    /// Requests waiting for their completion event, by session token. At
    /// most `DEPTH`: every entry holds one of the `DEPTH` completion slots.
    waiting: heapless::Vec<(Token, Ticket), DEPTH>,
    /// The `disconnect`/`close` request, answered when `run` ends.
    ending: Option<Ticket>,
    on_event: Option<&'a mut dyn FnMut(&Event)>,
    /// P5 beyond: where the persisted offline queue goes.
    storage: Option<&'a mut dyn crate::storage::DynQueueStorage>,
}

impl<
        'a,
        C: Connector,
        K: Clock,
        D: DelayNs,
        M: RawMutex,
        const TOPIC: usize,
        const PAYLOAD: usize,
        const DEPTH: usize,
    > Runner<'a, C, K, D, M, TOPIC, PAYLOAD, DEPTH>
{
    /// A runner for `config`; `rx` is the read buffer (any size > 0; 512 to
    /// 1460 bytes suits a TCP segment). Nothing happens until [`Self::run`]
    /// runs and a [`super::Client`] calls `connect`.
    pub fn new(
        config: Config,
        connector: C,
        clock: K,
        delay: D,
        shared: &'a Shared<M, TOPIC, PAYLOAD, DEPTH>,
        rx: &'a mut [u8],
    ) -> Result<Self, ConfigError> {
        Ok(Runner {
            session: Session::new(config)?,
            connector,
            clock,
            delay,
            shared,
            rx,
            socket: None,
            link_up: true,
            connecting: None,
            waiting: heapless::Vec::new(),
            ending: None,
            on_event: None,
            storage: None,
        })
    }

    /// Sees every session event (diagnostics, or agent trace lines on a
    /// board) before the shell handles it.
    pub fn on_event(&mut self, hook: &'a mut dyn FnMut(&Event)) {
        self.on_event = Some(hook);
    }

    /// P5 beyond: the offline queue's storage (a flash sector's
    /// [`QueueStorage`](crate::storage::QueueStorage); needs
    /// `offline_queue.persist`). Call before [`Self::run`]: loads what an
    /// earlier boot left into the session (sent after the first
    /// connection) and returns how many were restored; from then on every
    /// change is applied to it. Problems are `Event::StorageFailed`.
    pub fn storage<S: crate::storage::QueueStorage + 'a>(&mut self, storage: &'a mut S) -> usize {
        let (restored, _) = crate::storage::restore_into(&mut *storage, &mut self.session);
        self.storage = Some(storage);
        restored
    }

    /// The session, for queries (`stats`, `client_id`, `rtt_estimate`).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Runs until the session is disconnected or closed (O3, O4). Outages
    /// do not end it: the session reconnects through the connector.
    pub async fn run(&mut self) {
        let now = self.clock.now();
        self.session.handle_link(now, self.link_up);
        loop {
            self.pump().await;
            if self.session.is_closed() {
                self.finish();
                return;
            }
            let wait = self
                .session
                .poll_timeout()
                .map(|t| t.saturating_since(self.clock.now()));
            let Runner {
                socket,
                rx,
                delay,
                shared,
                ..
            } = &mut *self;
            let read = async {
                match socket {
                    Some(s) => s.read(&mut rx[..]).await,
                    None => pending().await,
                }
            };
            let timer = async {
                match wait {
                    Some(d) => sleep(delay, d).await,
                    None => pending().await,
                }
            };
            let outcome = select3(read, timer, shared.requests.receive()).await;
            let now = self.clock.now();
            match outcome {
                Either3::First(Ok(0)) => {
                    self.socket = None;
                    self.session.handle_transport_closed(now);
                }
                Either3::First(Ok(n)) => {
                    let n = n.min(self.rx.len());
                    self.session.handle_bytes(now, &self.rx[..n]);
                }
                Either3::First(Err(e)) => {
                    self.socket = None;
                    let reason = text_fmt(format_args!("read: {:?}", e.kind()));
                    self.session.handle_transport_error(now, &reason);
                }
                Either3::Second(()) => self.session.handle_timeout(now),
                Either3::Third(request) => self.handle_request(request),
            }
        }
    }

    /// Carries out everything the session asked for, in its order.
    async fn pump(&mut self) {
        loop {
            let mut progress = false;
            if !self.session.pending_transmit().is_empty() {
                progress = true;
                self.write_pending().await;
            }
            if let Some(action) = self.session.poll_action() {
                progress = true;
                self.act(action).await;
            }
            while let Some(op) = self.session.poll_store() {
                // P5 beyond: without a storage the operations are dropped.
                progress = true;
                if let Some(storage) = self.storage.as_mut() {
                    if let Err(e) = storage.apply_op(&op) {
                        self.session.handle_storage_error(&e);
                    }
                }
            }
            while let Some(event) = self.session.poll_event() {
                progress = true;
                self.dispatch(event);
            }
            if !progress {
                break;
            }
        }
        let stats = self.session.stats();
        self.shared.stats.lock(|s| s.set(Some(stats)));
    }

    /// Writes `bytes` to the socket within `response_time` (C3); a failure
    /// or a stall is a transport error.
    /// The bytes are written from the session's own buffer (no copy) and
    /// then cleared.
    async fn write_pending(&mut self) {
        let limit = self.session.config().response_time;
        let Some(socket) = self.socket.as_mut() else {
            self.session.clear_transmit();
            return;
        };
        let bytes = self.session.pending_transmit();
        let result = select(write_all(socket, bytes), sleep(&mut self.delay, limit)).await;
        self.session.clear_transmit();
        let failure = match result {
            Either::First(Ok(())) => return,
            Either::First(Err(reason)) => reason,
            Either::Second(()) => text_lossy("write took longer than response_time"),
        };
        self.socket = None;
        let now = self.clock.now();
        self.session.handle_transport_error(now, &failure);
    }

    async fn act(&mut self, action: Action) {
        match action {
            Action::OpenTransport => {
                self.close_socket().await;
                let config = self.session.config();
                let (limit, port) = (config.response_time, config.effective_port(false));
                let host = &config.server;
                let opened = select(
                    self.connector.connect(host, port),
                    sleep(&mut self.delay, limit),
                )
                .await;
                let now = self.clock.now();
                match opened {
                    Either::First(Ok(socket)) => {
                        self.socket = Some(socket);
                        self.session.handle_transport_connected(now);
                    }
                    Either::First(Err(e)) => {
                        let reason = text_fmt(format_args!("connect: {e:?}"));
                        self.session.handle_transport_failed(now, &reason);
                    }
                    Either::Second(()) => {
                        self.session
                            .handle_transport_failed(now, "connect timed out");
                    }
                }
            }
            Action::CloseTransport => self.close_socket().await,
            Action::BringLinkUp => {
                // The firmware owns the link (WiFi): the shell reports what
                // it was last told; `Client::report_link` tells it more.
                let now = self.clock.now();
                self.session.handle_link(now, self.link_up);
            }
            // O4: taking WiFi down is the firmware's decision; the socket
            // is already closed.
            Action::TakeLinkDown => {}
        }
    }

    /// Hands the socket, if any, to the connector to close, within
    /// `response_time`.
    async fn close_socket(&mut self) {
        if let Some(socket) = self.socket.take() {
            let limit = self.session.config().response_time;
            let _ = select(self.connector.close(socket), sleep(&mut self.delay, limit)).await;
        }
    }

    fn handle_request(&mut self, request: Request<TOPIC, PAYLOAD>) {
        let now = self.clock.now();
        let shared = self.shared;
        match request {
            Request::Connect { quick, ticket } => match self.session.connect(now, quick) {
                Ok(()) => self.connecting = Some(ticket),
                Err(e) => shared.complete(ticket, Done::Connect(Err(e))),
            },
            Request::Publish {
                topic,
                payload,
                qos,
                retain,
                ticket,
            } => match self.session.publish(now, &topic, &payload, qos, retain) {
                Ok(token) => self.wait_for(token, ticket),
                Err(e) => shared.complete(ticket, Done::Publish(Err(e))),
            },
            Request::Subscribe {
                filter,
                qos,
                ticket,
            } => match self.session.subscribe(now, &filter, qos) {
                Ok(token) => self.wait_for(token, ticket),
                Err(e) => shared.complete(ticket, Done::Subscribe(Err(e))),
            },
            Request::Unsubscribe { filter, ticket } => {
                match self.session.unsubscribe(now, &filter) {
                    Ok(token) => self.wait_for(token, ticket),
                    Err(e) => shared.complete(ticket, Done::Unsubscribe(Err(e))),
                }
            }
            Request::Link { up } => {
                self.link_up = up;
                self.session.handle_link(now, up);
            }
            Request::End { graceful, ticket } => {
                if graceful {
                    self.session.disconnect(now);
                } else {
                    self.session.close(now);
                }
                self.ending = Some(ticket);
            }
        }
    }

    fn wait_for(&mut self, token: Token, ticket: Ticket) {
        // Cannot be full: each entry holds one of the DEPTH slots.
        let _ = self.waiting.push((token, ticket));
    }

    fn take_waiting(&mut self, token: Token) -> Option<Ticket> {
        let i = self.waiting.iter().position(|(t, _)| *t == token)?;
        Some(self.waiting.swap_remove(i).1)
    }

    fn answer(&mut self, token: Token, done: Done) {
        if let Some(ticket) = self.take_waiting(token) {
            self.shared.complete(ticket, done);
        }
    }

    fn dispatch(&mut self, event: Event) {
        if let Some(hook) = self.on_event.as_mut() {
            hook(&event);
        }
        let shared = self.shared;
        let connected = &shared.connected;
        match event {
            Event::ConnectResult(r) => {
                if let Some(ticket) = self.connecting.take() {
                    shared.complete(ticket, Done::Connect(r));
                }
            }
            Event::Up { .. } => connected.lock(|c| c.set(true)),
            Event::Down { .. } | Event::Closed { .. } => connected.lock(|c| c.set(false)),
            Event::PublishDone { token } => self.answer(token, Done::Publish(Ok(()))),
            Event::PublishFailed { token, error } => self.answer(token, Done::Publish(Err(error))),
            Event::SubscribeDone { token, result } => self.answer(token, Done::Subscribe(result)),
            Event::UnsubscribeDone { token, result } => {
                self.answer(token, Done::Unsubscribe(result))
            }
            Event::Message(m) => self.deliver(m),
            Event::MessageQueued { .. } => {
                while let Some(m) = self.session.pop_message() {
                    self.deliver(m);
                }
            }
            _ => {}
        }
    }

    /// Puts a message into the inbox, dropping the oldest when it is full
    /// (S3) and counting what is dropped.
    fn deliver(&mut self, m: Message) {
        let dropped = &self.shared.dropped;
        let count = || dropped.lock(|d| d.set(d.get() + 1));
        let (Ok(topic), Ok(payload)) = (
            heapless::String::try_from(m.topic.as_str()),
            heapless::Vec::from_slice(&m.payload),
        ) else {
            count();
            return;
        };
        let mut message = InMessage {
            topic,
            payload,
            qos: m.qos,
            retained: m.retained,
            dup: m.dup,
        };
        let inbox = &self.shared.inbox;
        while let Err(embassy_sync::channel::TrySendError::Full(back)) = inbox.try_send(message) {
            message = back;
            // Full: drop the oldest to make room (none to drop: no room at
            // all, drop this one).
            count();
            if inbox.try_receive().is_err() {
                return;
            }
        }
    }

    /// The session ended: answer everything still asked, mark stopped.
    fn finish(&mut self) {
        let shared = self.shared;
        shared.connected.lock(|c| c.set(false));
        shared.stopped.lock(|s| s.set(true));
        for (_, ticket) in core::mem::take(&mut self.waiting) {
            shared.complete(ticket, Done::Ended);
        }
        if let Some(ticket) = self.connecting.take() {
            shared.complete(ticket, Done::Ended);
        }
        if let Some(ticket) = self.ending.take() {
            shared.complete(ticket, Done::Ended);
        }
        while let Ok(request) = shared.requests.try_receive() {
            let ticket = match request {
                Request::Connect { ticket, .. }
                | Request::Publish { ticket, .. }
                | Request::Subscribe { ticket, .. }
                | Request::Unsubscribe { ticket, .. }
                | Request::End { ticket, .. } => ticket,
                Request::Link { .. } => continue,
            };
            shared.complete(ticket, Done::Ended);
        }
    }
}

/// `write_all` then `flush`, with a write of zero bytes as an error (the
/// trait's own `write_all` panics on it).
async fn write_all<S: Write>(socket: &mut S, mut bytes: &[u8]) -> Result<(), Text> {
    while !bytes.is_empty() {
        match socket.write(bytes).await {
            Ok(0) => return Err(text_lossy("write: the socket accepted no bytes")),
            Ok(n) => bytes = &bytes[n.min(bytes.len())..],
            Err(e) => return Err(text_fmt(format_args!("write: {:?}", e.kind()))),
        }
    }
    socket
        .flush()
        .await
        .map_err(|e| text_fmt(format_args!("flush: {:?}", e.kind())))
}
