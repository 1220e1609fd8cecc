//! The tokio shell: accepts device connections, opens one to the broker
//! for each, and moves bytes through two [`Pipe`]s (one per direction).
//! Per direction a reader task feeds the pipe and a writer task carries out
//! its timed writes and closes; a connection-wide signal ends all four
//! tasks on a close or a reset. Every close is logged with its cause
//! (`conn N: closed: ...`). A `hold` or `blackhole` holds the writer, so
//! held bytes and FINs go out in order when it ends (or, for `blackhole
//! reset`, the connection is reset then).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::fault::{Dir, Fault};
use crate::log::Log;
use crate::pipe::{Out, Pipe};
use crate::rule::{HoldEnd, Rule, RuleSet, RuleSpec};
use crate::wire::{Closer, Framer, WireEvent, WireTap};

/// How long the proxy waits for the broker to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often open connections look at time-bound rules (`reset-peer`, the
/// end of a `hold` or `blackhole`): at most this late.
const TICK: Duration = Duration::from_millis(10);

/// How a proxy starts.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Where devices connect (port 0: any free port).
    pub listen: SocketAddr,
    /// The broker.
    pub upstream: String,
    /// Seed of every random choice (jitter).
    pub seed: u64,
    /// Rules installed at start (their `after` counts from the start).
    pub rules: Vec<RuleSpec>,
    /// Also append the log to this file.
    pub log_file: Option<std::path::PathBuf>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) struct Shared {
    start: Instant,
    upstream: Mutex<String>,
    seed: u64,
    rules: Mutex<RuleSet>,
    log: Mutex<Log>,
    next_conn: AtomicU64,
    conns: Mutex<BTreeMap<u64, watch::Sender<Option<Kill>>>>,
    pub(crate) stats: Mutex<Stats>,
    /// The wire tap ([`Proxy::set_wire_tap`]) and the connections whose
    /// device end closed (the rest were closed by the proxy).
    tap: Mutex<Option<WireTap>>,
    device_closed: Mutex<std::collections::BTreeSet<u64>>,
}

/// Why a connection is being ended by the proxy, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Kill {
    /// RST instead of FIN.
    reset: bool,
    /// For the log's close line.
    cause: String,
}

type KillTx = Arc<watch::Sender<Option<Kill>>>;
type KillRx = watch::Receiver<Option<Kill>>;

/// Ends the connection (first cause wins).
fn kill(tx: &watch::Sender<Option<Kill>>, reset: bool, cause: String) {
    tx.send_if_modified(|k| {
        if k.is_some() {
            return false;
        }
        *k = Some(Kill { reset, cause });
        true
    });
}

/// Counters since start.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    pub accepted: u64,
    pub refused: u64,
    pub upstream_failed: u64,
    pub resets: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
}

impl Shared {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn log(&self, line: &str) {
        let now = self.now();
        lock(&self.log).write(now, line);
    }

    /// Reports `event` to the wire tap, if there is one.
    fn tap(&self, event: impl FnOnce() -> WireEvent) {
        let tap = lock(&self.tap).clone();
        if let Some(tap) = tap {
            tap(event());
        }
    }

    /// Reports the packets `bytes` complete on `framer` (if tapped).
    fn tap_bytes(&self, conn: u64, dir: Dir, framer: &mut Framer, bytes: &[u8]) {
        if lock(&self.tap).is_none() {
            return;
        }
        for packet in framer.push(bytes) {
            self.tap(|| WireEvent::Packet { conn, dir, packet });
        }
    }

    /// The device's end of connection `conn` closed (its reader saw a FIN,
    /// `read` = Ok, or an error).
    fn tap_device_closed(&self, conn: u64, dir: Dir, read: &std::io::Result<usize>) {
        if dir != Dir::Up {
            return;
        }
        lock(&self.device_closed).insert(conn);
        let by = match read {
            Ok(_) => Closer::DeviceFin,
            Err(_) => Closer::DeviceReset,
        };
        self.tap(|| WireEvent::Closed { conn, by });
    }

    /// Connection `conn` is over: the proxy closed it unless the device did.
    fn tap_closed(&self, conn: u64) {
        if !lock(&self.device_closed).remove(&conn) {
            self.tap(|| WireEvent::Closed {
                conn,
                by: Closer::Proxy,
            });
        }
    }
}

/// A running proxy. Dropping it stops accepting and closes every
/// connection.
pub struct Proxy {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: JoinHandle<()>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy").field("addr", &self.addr).finish()
    }
}

impl Proxy {
    /// Binds and starts serving (inside a tokio runtime).
    pub async fn start(config: ProxyConfig) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let log = match &config.log_file {
            Some(p) => Log::with_file(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            ),
            None => Log::default(),
        };
        let shared = Arc::new(Shared {
            start: Instant::now(),
            upstream: Mutex::new(config.upstream.clone()),
            seed: config.seed,
            rules: Mutex::default(),
            log: Mutex::new(log),
            next_conn: AtomicU64::new(0),
            conns: Mutex::default(),
            stats: Mutex::default(),
            tap: Mutex::default(),
            device_closed: Mutex::default(),
        });
        shared.log(&format!(
            "listening on {addr}, forwarding to {}, seed {}",
            config.upstream, config.seed
        ));
        for spec in config.rules {
            let id = lock(&shared.rules).add(spec, 0);
            let line = lock(&shared.rules)
                .rules()
                .iter()
                .find(|r| r.id == id)
                .map(|r| format!("rule added: {r}"));
            if let Some(l) = line {
                shared.log(&l);
            }
        }
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        let s = s.clone();
                        tokio::spawn(serve(s, stream, peer));
                    }
                    Err(e) => {
                        s.log(&format!("accept failed: {e}"));
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        });
        Ok(Proxy {
            shared,
            addr,
            accept,
        })
    }

    /// Where devices connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Milliseconds since the proxy started (the clock of rules and log).
    pub fn now_ms(&self) -> u64 {
        self.shared.now()
    }

    /// Installs a rule now; returns its id.
    pub fn add(&self, spec: RuleSpec) -> u64 {
        add_rule(&self.shared, spec)
    }

    /// Parses and installs `[dir] KIND ARGS [after D] [for D]`.
    pub fn add_line(&self, line: &str) -> Result<u64, String> {
        Ok(self.add(RuleSpec::parse(line)?))
    }

    /// Removes a rule (false if unknown). Ending a `hold` releases what it held.
    pub fn remove(&self, id: u64) -> bool {
        remove_rule(&self.shared, id)
    }

    /// Removes every rule.
    pub fn clear(&self) {
        lock(&self.shared.rules).clear();
        self.shared.log("all rules removed");
    }

    /// The rules in force (including those not started or used up).
    pub fn rules(&self) -> Vec<Rule> {
        lock(&self.shared.rules).rules().to_vec()
    }

    /// The last `n` log lines.
    pub fn log_tail(&self, n: usize) -> Vec<String> {
        lock(&self.shared.log).tail(n)
    }

    /// Writes a line of the caller's into the log (e.g. what a harness did).
    pub fn note(&self, line: &str) {
        self.shared.log(line);
    }

    /// Log lines after the first `seen` ever written, and the new total.
    pub fn log_lines_since(&self, seen: u64) -> (Vec<String>, u64) {
        lock(&self.shared.log).since(seen)
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        lock(&self.shared.stats).clone()
    }

    /// Open connections.
    pub fn open_connections(&self) -> usize {
        lock(&self.shared.conns).len()
    }

    /// Reports what devices do on their connections from now on to `tap`
    /// (see [`crate::wire`]).
    pub fn set_wire_tap(&self, tap: WireTap) {
        *lock(&self.shared.tap) = Some(tap);
    }

    /// Changes where new connections go (a broker that moved ports).
    pub fn set_upstream(&self, upstream: String) {
        self.shared
            .log(&format!("upstream is now {upstream} (for new connections)"));
        *lock(&self.shared.upstream) = upstream;
    }

    /// Closes every open connection (`reset`: with RST).
    pub fn close_all(&self, reset: bool) {
        for tx in lock(&self.shared.conns).values() {
            kill(
                tx,
                reset,
                "closed by the proxy (close_all or shutdown)".into(),
            );
        }
    }

    pub(crate) fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.close_all(false);
    }
}

pub(crate) fn add_rule(shared: &Shared, spec: RuleSpec) -> u64 {
    let now = shared.now();
    let (id, line) = {
        let mut rules = lock(&shared.rules);
        let id = rules.add(spec, now);
        let line = rules
            .rules()
            .iter()
            .find(|r| r.id == id)
            .map(|r| format!("rule added: {r}"))
            .unwrap_or_default();
        (id, line)
    };
    shared.log(&line);
    id
}

pub(crate) fn remove_rule(shared: &Shared, id: u64) -> bool {
    let removed = lock(&shared.rules).remove(id);
    if removed {
        shared.log(&format!("rule removed: #{id}"));
    }
    removed
}

pub(crate) fn rules_of(shared: &Shared) -> Vec<Rule> {
    lock(&shared.rules).rules().to_vec()
}

pub(crate) fn clear_rules(shared: &Shared) {
    lock(&shared.rules).clear();
    shared.log("all rules removed");
}

pub(crate) fn log_tail(shared: &Shared, n: usize) -> Vec<String> {
    lock(&shared.log).tail(n)
}

fn reset(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}

async fn serve(shared: Arc<Shared>, mut client: TcpStream, peer: SocketAddr) {
    let id = shared.next_conn.fetch_add(1, Ordering::Relaxed) + 1;
    shared.tap(|| WireEvent::Opened { conn: id });
    let now = shared.now();
    let (refuse, reset_now) = {
        let rules = lock(&shared.rules);
        (
            rules.any(now, |f| matches!(f, Fault::Refuse(_))),
            rules.any(now, |f| matches!(f, Fault::ResetPeer(_))),
        )
    };
    if refuse || reset_now {
        lock(&shared.stats).refused += 1;
        shared.log(&format!(
            "conn {id} from {peer}: refused ({})",
            if refuse { "refuse" } else { "reset-peer" }
        ));
        reset(&client);
        shared.tap_closed(id);
        return;
    }
    let _ = client.set_nodelay(true);
    let (kill_tx, mut kill_rx) = watch::channel(None::<Kill>);
    lock(&shared.conns).insert(id, kill_tx.clone());
    // Across a dead path a new connection's SYN is never answered: opened
    // during a blackhole, it is not connected upstream until it ends, and
    // never if the device gives up first.
    let mut early = Early::default();
    let blackholed = lock(&shared.rules).blackhole(shared.now());
    if let Some(hole) = blackholed {
        let outcome =
            wait_out_blackhole(&shared, id, hole, &mut client, &mut kill_rx, &mut early).await;
        if let Some(cause) = outcome {
            lock(&shared.conns).remove(&id);
            shared.log(&format!("conn {id}: closed: {cause}"));
            shared.tap_closed(id);
            return;
        }
    }
    let upstream_addr = lock(&shared.upstream).clone();
    let upstream =
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&upstream_addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                lock(&shared.conns).remove(&id);
                return upstream_failed(&shared, id, &client, &e.to_string());
            }
            Err(_) => {
                lock(&shared.conns).remove(&id);
                return upstream_failed(&shared, id, &client, "timed out");
            }
        };
    let _ = upstream.set_nodelay(true);
    lock(&shared.stats).accepted += 1;
    shared.log(&format!("conn {id} from {peer}: open to {upstream_addr}"));
    let (cr, cw) = client.into_split();
    let (ur, uw) = upstream.into_split();
    let kill_tx = Arc::new(kill_tx);
    // Per direction a reader and its writer; the connection has ended when
    // all four are done (the writers deliver what a hold kept after both
    // peers closed, so the close line comes after them).
    let mut tasks = Vec::with_capacity(4);
    let mut early = Some(early);
    for (dir, src, dst) in [(Dir::Up, cr, uw), (Dir::Down, ur, cw)] {
        let (tx, rx) = mpsc::unbounded_channel();
        let early = if dir == Dir::Up {
            early.take().unwrap_or_default()
        } else {
            Early::default()
        };
        tasks.push(tokio::spawn(writer(
            shared.clone(),
            dir,
            dst,
            rx,
            id,
            kill_tx.clone(),
            kill_rx.clone(),
        )));
        tasks.push(tokio::spawn(reader(
            shared.clone(),
            Pipe::new(dir, id, shared.seed),
            src,
            kill_tx.clone(),
            kill_rx.clone(),
            tx,
            early,
        )));
    }
    for t in tasks {
        let _ = t.await;
    }
    lock(&shared.conns).remove(&id);
    let cause = match &*kill_rx.borrow() {
        Some(k) => format!("{}{}", k.cause, if k.reset { " (RST)" } else { "" }),
        None => "both sides closed (FIN each way)".into(),
    };
    shared.log(&format!("conn {id}: closed: {cause}"));
    shared.tap_closed(id);
}

/// The bytes a device sent on a connection before it was connected
/// upstream (while it waited out a blackhole), and the tap's framer that
/// already saw them.
#[derive(Default)]
struct Early {
    bytes: Vec<u8>,
    framer: Framer,
}

/// At most this much of what a device sends while its new connection
/// waits out a blackhole is kept (a real stack would not even have sent
/// it: its handshake is unanswered); beyond it the proxy stops reading
/// until the blackhole ends.
const MAX_EARLY: usize = 1 << 20;

/// Keeps the new connection `id` waiting (not connected upstream) while a
/// blackhole lasts, reading and tapping what the device sends into
/// `early`. `None`: the blackhole is over, connect now. `Some(cause)`: the
/// connection is over before it reached the broker (the device closed or
/// reset it, a `blackhole reset` ended with its bytes held, the proxy
/// closed it); nothing was delivered.
async fn wait_out_blackhole(
    shared: &Shared,
    id: u64,
    first: HoldEnd,
    client: &mut TcpStream,
    kill_rx: &mut KillRx,
    early: &mut Early,
) -> Option<String> {
    let rule_of = |h: HoldEnd| match h {
        HoldEnd::Deliver { rule } | HoldEnd::Reset { rule } => rule,
    };
    shared.log(&format!(
        "conn {id}: opened during a blackhole (rule #{}); not connected to the broker until it ends",
        rule_of(first)
    ));
    let since = shared.now();
    let mut hole = first;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let reading = early.bytes.len() < MAX_EARLY;
        tokio::select! {
            r = client.read(&mut buf), if reading => match r {
                Ok(0) | Err(_) => {
                    shared.tap_device_closed(id, Dir::Up, &r);
                    let how = match r {
                        Err(e) => format!("read error ({e})"),
                        Ok(_) => "FIN".into(),
                    };
                    return Some(format!(
                        "the device gave up ({how}) during the blackhole (rule #{}); never connected to the broker",
                        rule_of(hole)
                    ));
                }
                Ok(n) => {
                    shared.tap_bytes(id, Dir::Up, &mut early.framer, &buf[..n]);
                    lock(&shared.stats).bytes_up += n as u64;
                    early.bytes.extend_from_slice(&buf[..n]);
                }
            },
            _ = tokio::time::sleep(TICK) => {
                match lock(&shared.rules).blackhole(shared.now()) {
                    Some(h) => hole = hole.max(h),
                    None => break,
                }
            }
            _ = kill_rx.changed() => {
                let k = kill_rx.borrow().clone().unwrap_or(Kill { reset: false, cause: "closed by the proxy".into() });
                if k.reset {
                    reset(client);
                }
                return Some(format!("{}{}", k.cause, if k.reset { " (RST)" } else { "" }));
            }
        }
    }
    if let HoldEnd::Reset { rule } = hole {
        if !early.bytes.is_empty() {
            reset(client);
            return Some(format!(
                "reset at the end of `blackhole reset` (rule #{rule}): it was opened during it and its bytes to the broker were held (RST)"
            ));
        }
    }
    shared.log(&format!(
        "conn {id}: blackhole over after {} ms; connecting to the broker",
        shared.now().saturating_sub(since)
    ));
    None
}

fn upstream_failed(shared: &Shared, id: u64, client: &TcpStream, why: &str) {
    lock(&shared.stats).upstream_failed += 1;
    shared.log(&format!(
        "conn {id}: cannot reach the broker ({why}); resetting the device's connection"
    ));
    reset(client);
    shared.tap_closed(id);
}

/// Reads one direction (`pipe`'s) into its pipe; `early`: what the device
/// sent before the connection went upstream.
async fn reader(
    shared: Arc<Shared>,
    mut pipe: Pipe,
    mut src: OwnedReadHalf,
    kill_tx: KillTx,
    mut kill_rx: KillRx,
    tx: mpsc::UnboundedSender<Out>,
    early: Early,
) {
    let (id, dir) = (pipe.conn, pipe.dir);
    let Early {
        bytes: early,
        mut framer,
    } = early;
    if !early.is_empty() {
        // What the device sent while its connection waited out a
        // blackhole (already tapped and counted): first in the stream.
        let mut lines = Vec::new();
        let outs = {
            let mut rules = lock(&shared.rules);
            pipe.input(shared.now(), &early, &mut rules, &mut |l| lines.push(l))
        };
        for l in lines {
            shared.log(&l);
        }
        for o in outs {
            let _ = tx.send(o);
        }
    }
    let mut buf = vec![0u8; 16 * 1024];
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            r = src.read(&mut buf) => {
                let now = shared.now();
                match r {
                    Ok(0) | Err(_) => {
                        shared.tap_device_closed(id, dir, &r);
                        let how = match r {
                            Err(e) => format!("read error ({e})"),
                            Ok(_) => "FIN".into(),
                        };
                        let side = match dir { Dir::Up => "device", Dir::Down => "broker" };
                        shared.log(&format!("conn {id} {}: the {side} closed its side: {how}", dir.as_str()));
                        // The FIN queues behind the data: a hold or a
                        // blackhole holds it too, as TCP would.
                        let out = pipe.eof(now, &lock(&shared.rules));
                        let _ = tx.send(out);
                        return;
                    }
                    Ok(n) => {
                        if dir == Dir::Up {
                            shared.tap_bytes(id, dir, &mut framer, &buf[..n]);
                        }
                        {
                            let mut st = lock(&shared.stats);
                            match dir { Dir::Up => st.bytes_up += n as u64, Dir::Down => st.bytes_down += n as u64 }
                        }
                        let mut lines = Vec::new();
                        let outs = {
                            let mut rules = lock(&shared.rules);
                            pipe.input(now, &buf[..n], &mut rules, &mut |l| lines.push(l))
                        };
                        for l in lines {
                            shared.log(&l);
                        }
                        for o in outs {
                            let _ = tx.send(o);
                        }
                    }
                }
            }
            _ = tick.tick() => {
                let now = shared.now();
                if lock(&shared.rules).any(now, |f| matches!(f, Fault::ResetPeer(_))) {
                    lock(&shared.stats).resets += 1;
                    kill(&kill_tx, true, "reset-peer".into());
                    return;
                }
            }
            _ = kill_rx.changed() => return,
        }
    }
}

async fn writer(
    shared: Arc<Shared>,
    dir: Dir,
    mut dst: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Out>,
    id: u64,
    kill_tx: KillTx,
    mut kill_rx: KillRx,
) {
    let start = shared.start;
    let at = |ms: u64| tokio::time::Instant::from_std(start + Duration::from_millis(ms));
    let to = match dir {
        Dir::Up => "broker",
        Dir::Down => "device",
    };
    let mut framer = Framer::new();
    loop {
        let item = tokio::select! {
            i = rx.recv() => i,
            _ = kill_rx.changed() => None,
        };
        let Some(item) = item else { break };
        let due = match &item {
            Out::Data { at: t, .. } | Out::Eof { at: t } | Out::Close { at: t, .. } => *t,
        };
        let held = tokio::select! {
            h = wait_until_due(&shared, dir, id, at(due)) => h,
            _ = kill_rx.changed() => break,
        };
        if let Some(HoldEnd::Reset { rule }) = held {
            kill(
                &kill_tx,
                true,
                format!("reset at the end of `blackhole reset` (rule #{rule}): bytes to the {to} were held"),
            );
            break;
        }
        match item {
            Out::Data { bytes, .. } => {
                let w = tokio::select! {
                    w = dst.write_all(&bytes) => w.err().map(|e| e.to_string()),
                    _ = kill_rx.changed() => break,
                };
                if let Some(e) = w {
                    kill(&kill_tx, false, format!("write to the {to} failed ({e})"));
                    break;
                }
                if dir == Dir::Down {
                    shared.tap_bytes(id, dir, &mut framer, &bytes);
                }
            }
            Out::Eof { .. } => {
                let _ = dst.shutdown().await;
                shared.log(&format!(
                    "conn {id} {}: FIN passed on to the {to}",
                    dir.as_str()
                ));
            }
            Out::Close {
                reset: r, cause, ..
            } => {
                kill(&kill_tx, r, cause);
                break;
            }
        }
    }
    let reset_now = kill_rx.borrow().as_ref().is_some_and(|k| k.reset);
    if reset_now {
        reset(dst.as_ref());
        // Dropping a write half sends a FIN first, which the peer would read
        // as an orderly close; forgotten, the socket closes with the RST
        // alone when its read half goes.
        dst.forget();
    }
}

/// Sleeps until `due`, then while a `hold` or `blackhole` holds `dir`
/// (logging when holding starts and ends). Returns how the hold ended, if
/// there was one.
async fn wait_until_due(
    shared: &Shared,
    dir: Dir,
    id: u64,
    due: tokio::time::Instant,
) -> Option<HoldEnd> {
    tokio::time::sleep_until(due).await;
    let since = shared.now();
    let mut held = None;
    loop {
        let h = lock(&shared.rules).holding(dir, shared.now());
        match h {
            Some(h) => {
                if held.is_none() {
                    let rule = match h {
                        HoldEnd::Deliver { rule } | HoldEnd::Reset { rule } => rule,
                    };
                    shared.log(&format!(
                        "conn {id} {}: holding bytes (rule #{rule})",
                        dir.as_str()
                    ));
                }
                // A `blackhole reset` seen at any time during the hold
                // decides the end.
                held = held.max(Some(h));
                tokio::time::sleep(TICK).await;
            }
            None => break,
        }
    }
    if let Some(HoldEnd::Deliver { .. }) = held {
        shared.log(&format!(
            "conn {id} {}: hold over after {} ms; delivering in order",
            dir.as_str(),
            shared.now().saturating_sub(since)
        ));
    }
    held
}
