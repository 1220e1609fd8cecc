//! The driver's transport inside the simulation: turmoil's TCP, which
//! mirrors tokio's `TcpStream`, so the driver runs unchanged.
//!
//! The DUT's connections go through a thin shim ([`ShimStream`], steered
//! by the world's [`LinkCtl`]) for what turmoil cannot do to one link:
//! a TCP reset on the path (`link_reset`: every open connection fails with
//! `ConnectionReset` and is dropped, so the broker sees it end too), and
//! latency in one direction only (`latency` with `direction`: turmoil's
//! links are symmetric). With neither in force a shim stream passes every
//! call straight to turmoil's.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use resilient_mqtt::client::{BoxFuture, Transport};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::fuzz::rng::Rng;

/// The broker's address in the simulated network.
pub const BROKER_ADDR: (&str, u16) = ("broker", 1883);

/// What faults change on the DUT's link beyond turmoil's partitions and
/// latencies. Cheap to clone; shared by the executor and the DUT's streams.
#[derive(Clone)]
pub struct LinkCtl(Arc<Mutex<CtlState>>);

struct CtlState {
    /// Bumped by each reset: a stream opened before it is reset.
    resets: u64,
    /// Extra one-way latency (min, max): [up, down].
    extra: [Option<(Duration, Duration)>; 2],
    /// Draws the extra latency of each chunk.
    rng: Rng,
    next_id: u64,
    /// Streams waiting for I/O, woken by a reset.
    wakers: BTreeMap<u64, Waker>,
}

impl LinkCtl {
    /// Draws come from `seed`.
    pub fn new(seed: u64) -> LinkCtl {
        LinkCtl(Arc::new(Mutex::new(CtlState {
            resets: 0,
            extra: [None, None],
            rng: Rng::new(seed ^ 0x11c7_0000_0000_0001),
            next_id: 0,
            wakers: BTreeMap::new(),
        })))
    }

    fn lock(&self) -> MutexGuard<'_, CtlState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A TCP reset on the path: every open stream fails.
    pub fn reset(&self) {
        let wakers = {
            let mut s = self.lock();
            s.resets += 1;
            std::mem::take(&mut s.wakers)
        };
        for w in wakers.into_values() {
            w.wake();
        }
    }

    /// Sets (`Some`) or ends the extra latency towards the broker (`up`)
    /// or towards the DUT.
    pub fn set_extra(&self, up: bool, range: Option<(Duration, Duration)>) {
        self.lock().extra[usize::from(!up)] = range;
    }

    /// The extra delay of one chunk sent now in direction `dir` (0 up, 1
    /// down); `None` without extra latency.
    fn draw(&self, dir: usize) -> Option<Duration> {
        let mut s = self.lock();
        let (min, max) = s.extra[dir]?;
        let ms = s.rng.range(min.as_millis() as u64, max.as_millis() as u64);
        Some(Duration::from_millis(ms))
    }
}

/// Connects to the simulated broker's `port` with turmoil's TCP; the DUT's
/// connections through its [`LinkCtl`].
#[derive(Clone)]
pub struct SimTcp {
    pub port: u16,
    pub ctl: Option<LinkCtl>,
}

impl Default for SimTcp {
    fn default() -> Self {
        SimTcp {
            port: BROKER_ADDR.1,
            ctl: None,
        }
    }
}

impl SimTcp {
    /// The DUT's transport to `port`, steered by `ctl`.
    pub fn dut(port: u16, ctl: LinkCtl) -> SimTcp {
        SimTcp {
            port,
            ctl: Some(ctl),
        }
    }
}

impl Transport for SimTcp {
    type Stream = ShimStream;

    fn connect(&self) -> BoxFuture<io::Result<Self::Stream>> {
        let port = self.port;
        let ctl = self.ctl.clone();
        Box::pin(async move {
            let inner = turmoil::net::TcpStream::connect((BROKER_ADDR.0, port)).await?;
            Ok(ShimStream::new(inner, ctl))
        })
    }
}

/// One connection: turmoil's stream, failing after a reset on the path and
/// holding chunks back by the extra one-way latency in force when they
/// were sent (in order: a chunk never overtakes an earlier one).
pub struct ShimStream {
    inner: Option<turmoil::net::TcpStream>,
    ctl: Option<LinkCtl>,
    id: u64,
    /// The reset count when it was opened.
    epoch: u64,
    /// Read from turmoil, not yet due to the reader: (due, bytes).
    down: VecDeque<(Instant, Vec<u8>)>,
    /// Written by the driver, not yet due on the wire: (due, bytes).
    up: VecDeque<(Instant, Vec<u8>)>,
    /// turmoil's side has ended (EOF) behind what `down` holds.
    eof: bool,
    timer: Option<Pin<Box<Sleep>>>,
    /// The task that last read (see [`ShimStream::arm_reader`]).
    reader: Option<Waker>,
}

fn reset_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "connection reset on the path (link_reset)",
    )
}

impl ShimStream {
    fn new(inner: turmoil::net::TcpStream, ctl: Option<LinkCtl>) -> ShimStream {
        let (id, epoch) = match &ctl {
            Some(c) => {
                let mut s = c.lock();
                s.next_id += 1;
                (s.next_id, s.resets)
            }
            None => (0, 0),
        };
        ShimStream {
            inner: Some(inner),
            ctl,
            id,
            epoch,
            down: VecDeque::new(),
            up: VecDeque::new(),
            eof: false,
            timer: None,
            reader: None,
        }
    }

    /// Fails (and drops turmoil's stream, so the broker sees it end) once a
    /// reset happened; else registers `cx` to be woken by one.
    fn check_reset(&mut self, cx: &Context<'_>) -> io::Result<()> {
        let Some(ctl) = &self.ctl else {
            return Ok(());
        };
        let mut s = ctl.lock();
        if s.resets != self.epoch || self.inner.is_none() {
            s.wakers.remove(&self.id);
            drop(s);
            self.inner = None;
            self.down.clear();
            self.up.clear();
            return Err(reset_error());
        }
        s.wakers.insert(self.id, cx.waker().clone());
        Ok(())
    }

    fn inner(&mut self) -> io::Result<Pin<&mut turmoil::net::TcpStream>> {
        self.inner.as_mut().map(Pin::new).ok_or_else(reset_error)
    }

    /// Whether extra latency is in force in direction `dir`.
    fn extra_on(&self, dir: usize) -> bool {
        self.ctl
            .as_ref()
            .is_some_and(|c| c.lock().extra[dir].is_some())
    }

    /// When a chunk sent now in direction `dir` is due (never before the
    /// last one queued); `None`: no extra latency and nothing queued.
    fn due(&self, dir: usize) -> Option<Instant> {
        let q = if dir == 0 { &self.up } else { &self.down };
        let extra = self.ctl.as_ref().and_then(|c| c.draw(dir));
        let last = q.back().map(|b| b.0);
        match (extra, last) {
            (None, None) => None,
            (e, l) => {
                let t = Instant::now() + e.unwrap_or_default();
                Some(l.map_or(t, |l| l.max(t)))
            }
        }
    }

    /// Writes the chunks that are due to turmoil.
    fn drain_up(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let now = Instant::now();
        while self.up.front().is_some_and(|f| f.0 <= now) {
            let Some(front) = self.up.front_mut() else {
                break;
            };
            let bytes = std::mem::take(&mut front.1);
            match self.inner()?.poll_write(cx, &bytes) {
                Poll::Ready(Ok(n)) if n >= bytes.len() => {
                    self.up.pop_front();
                }
                Poll::Ready(Ok(n)) => {
                    if let Some(f) = self.up.front_mut() {
                        f.1 = bytes[n..].to_vec();
                    }
                }
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => {
                    if let Some(f) = self.up.front_mut() {
                        f.1 = bytes;
                    }
                    break;
                }
            }
        }
        Ok(())
    }

    /// Arms the timer for the next chunk due in either direction and
    /// registers `cx` with it.
    fn arm(&mut self, cx: &mut Context<'_>) {
        let waker = cx.waker().clone();
        self.arm_for(&waker);
    }

    /// [`ShimStream::arm`] for the reader's task: the writer's task goes
    /// back to waiting for the driver's bytes, the reader always waits on
    /// the stream, so it moves held chunks out when they are due.
    fn arm_reader(&mut self, cx: &mut Context<'_>) {
        let waker = self.reader.clone().unwrap_or_else(|| cx.waker().clone());
        self.arm_for(&waker);
    }

    fn arm_for(&mut self, waker: &Waker) {
        let mut cx = Context::from_waker(waker);
        let cx = &mut cx;
        let next = [self.up.front(), self.down.front()]
            .into_iter()
            .flatten()
            .map(|c| c.0)
            .min();
        let Some(at) = next else {
            self.timer = None;
            return;
        };
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if timer.deadline() != at {
            timer.as_mut().reset(at);
        }
        if timer.as_mut().poll(cx).is_ready() {
            cx.waker().wake_by_ref();
        }
    }
}

impl AsyncRead for ShimStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.check_reset(cx)?;
        this.reader = Some(cx.waker().clone());
        // The reader's task also moves delayed chunks out (it is always
        // waiting on the stream while the connection lives).
        this.drain_up(cx)?;
        if this.down.is_empty() && !this.eof && !this.extra_on(1) {
            let r = this.inner()?.poll_read(cx, buf);
            this.arm(cx);
            return r;
        }
        // Take what turmoil has now, stamped with its due time.
        while !this.eof {
            let mut chunk = vec![0u8; 4096];
            let mut rb = ReadBuf::new(&mut chunk);
            match this.inner()?.poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    let n = rb.filled().len();
                    if n == 0 {
                        this.eof = true;
                    } else {
                        chunk.truncate(n);
                        let due = this.due(1).unwrap_or_else(Instant::now);
                        this.down.push_back((due, chunk));
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => break,
            }
        }
        let now = Instant::now();
        if let Some(front) = this.down.front_mut().filter(|f| f.0 <= now) {
            let n = front.1.len().min(buf.remaining());
            buf.put_slice(&front.1[..n]);
            front.1.drain(..n);
            if front.1.is_empty() {
                this.down.pop_front();
            }
            this.arm(cx);
            return Poll::Ready(Ok(()));
        }
        if this.down.is_empty() && this.eof {
            return Poll::Ready(Ok(()));
        }
        this.arm(cx);
        Poll::Pending
    }
}

impl AsyncWrite for ShimStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.check_reset(cx)?;
        if this.up.is_empty() && !this.extra_on(0) {
            return this.inner()?.poll_write(cx, data);
        }
        match this.due(0) {
            None => this.inner()?.poll_write(cx, data),
            Some(due) => {
                this.up.push_back((due, data.to_vec()));
                this.drain_up(cx)?;
                this.arm_reader(cx);
                Poll::Ready(Ok(data.len()))
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.check_reset(cx)?;
        this.drain_up(cx)?;
        if !this.up.is_empty() {
            // Held back by the path's latency: on its way, as far as the
            // writer can tell.
            return Poll::Ready(Ok(()));
        }
        this.inner()?.poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.check_reset(cx)?;
        this.drain_up(cx)?;
        if !this.up.is_empty() {
            this.arm(cx);
            return Poll::Pending;
        }
        this.inner()?.poll_shutdown(cx)
    }
}

impl Drop for ShimStream {
    fn drop(&mut self) {
        if let Some(c) = &self.ctl {
            c.lock().wakers.remove(&self.id);
        }
    }
}
