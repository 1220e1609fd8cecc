//! Memory of the embedded shell and the session it runs, with budgets that
//! fail loudly when exceeded (issue 11, "Embedded shell": memory).
//!
//! Figures (64-bit host; a 32-bit MCU has smaller pointers, so these are
//! upper bounds for the same configuration):
//! - `size_of::<Session>()`: the session state itself (inline part);
//! - the embedded shell's fixed buffers for the default sizes
//!   (`Shared<_, 64, 256, 4>`: request channel, completion slots, inbox) and
//!   the default read buffer `DEFAULT_RX_BUFFER`;
//! - the `Runner` and its `run()` future (host adapters: tokio TCP through
//!   `FromTokio`, tokio clock and delay), i.e. what a task must reserve
//!   (the future borrows the runner: reserve both);
//! - heap: live bytes held by a session (`Config::default()`, a client id)
//!   after connect, one subscription and `INFLIGHT` QoS 1 publishes of
//!   `PAYLOAD_LEN` bytes in flight (no PUBACK yet), with every transmit and
//!   event drained as a shell does; and the peak during that sequence.
//!   Measured with a counting global allocator around the sans-IO session
//!   alone (no runtime, no sockets), so only the session's allocations count.
//!
//! Budgets are the constants below (also in driver/README.md, "Embedded
//! (no_std) shell"). Run: `cargo bench -p resilient-mqtt --bench memory`;
//! `tests/embedded_memory.rs` runs the same check in `cargo test`.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use resilient_mqtt::codec::{
    self, ConnAck, ConnectReturnCode, Decoded, List, Packet, QoS, SubAck, SubAckCode,
};
use resilient_mqtt::embedded::host::{TcpConnector, TokioClock, TokioDelay};
use resilient_mqtt::embedded::raw::NoopRawMutex;
use resilient_mqtt::embedded::{Runner, Shared, DEFAULT_RX_BUFFER};
use resilient_mqtt::session::{store, Config, Instant, Session};

// Budgets: the figures measured when the shell was written (x86_64:
// Session 936, shell buffers 3232 + 1024, Runner 1192, run() 912, heap
// live 3617 / peak 3787) plus room for growth; raise one only with a
// reason in the commit message.
//
// Without `alloc` (`--no-default-features --features embedded-tokio`) the
// session holds everything inline, sized by `session::store::caps`
// (x86_64, default capacities: Session 35472, Runner 35736), and the heap
// budgets are zero: any allocation by the session fails the check.

/// `size_of::<Session>()`, bytes.
#[cfg(feature = "alloc")]
pub const BUDGET_SESSION: usize = 1536;
/// `size_of::<Session>()`, bytes (everything inline).
#[cfg(not(feature = "alloc"))]
pub const BUDGET_SESSION: usize = 40 * 1024;
/// The shell's fixed buffers at the default sizes (`Shared` + read
/// buffer), bytes.
pub const BUDGET_SHELL_BUFFERS: usize = 5120;
/// The `Runner` struct (holds the `Session`), bytes.
#[cfg(feature = "alloc")]
pub const BUDGET_RUNNER: usize = 2048;
/// The `Runner` struct (holds the `Session`), bytes.
#[cfg(not(feature = "alloc"))]
pub const BUDGET_RUNNER: usize = BUDGET_SESSION + 1024;
/// The `run()` future (host adapters; it borrows the runner), bytes.
pub const BUDGET_RUN_FUTURE: usize = 1536;
/// Live heap of a session with `INFLIGHT` publishes in flight, bytes.
#[cfg(feature = "alloc")]
pub const BUDGET_HEAP_LIVE: usize = 6144;
/// Peak heap during the sequence, bytes.
#[cfg(feature = "alloc")]
pub const BUDGET_HEAP_PEAK: usize = 8192;
/// Without alloc the session never allocates.
#[cfg(not(feature = "alloc"))]
pub const BUDGET_HEAP_LIVE: usize = 0;
/// Without alloc the session never allocates.
#[cfg(not(feature = "alloc"))]
pub const BUDGET_HEAP_PEAK: usize = 0;

/// QoS 1 publishes in flight for the heap figure.
pub const INFLIGHT: usize = 16;
/// Their payload length.
pub const PAYLOAD_LEN: usize = 64;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn note(delta: isize) {
    let now = LIVE.fetch_add(delta, Ordering::Relaxed) + delta;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note(l.size() as isize);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        note(-(l.size() as isize));
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        note(new as isize - l.size() as isize);
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What was measured.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub session: usize,
    pub shared: usize,
    pub rx_buffer: usize,
    pub runner: usize,
    pub run_future: usize,
    pub heap_live: usize,
    pub heap_peak: usize,
}

/// The broker's replies, encoded before counting starts.
fn encoded(packet: &Packet<'_>) -> ([u8; 16], usize) {
    let mut buf = [0u8; 16];
    let n = packet.encode(&mut buf).expect("a small packet");
    (buf, n)
}

/// Drains every output as a shell would; returns the packet id of the
/// first SUBSCRIBE seen, if any.
fn drain(s: &mut Session) -> Option<u16> {
    let mut pid = None;
    loop {
        let mut progress = false;
        if !s.pending_transmit().is_empty() {
            // Read in place: the bench itself must not allocate here.
            if let Ok(Decoded::Packet {
                packet: Packet::Subscribe(sub),
                ..
            }) = codec::decode(s.pending_transmit(), usize::MAX)
            {
                pid = pid.or(Some(sub.pid.get()));
            }
            s.clear_transmit();
            progress = true;
        }
        progress |= s.poll_action().is_some();
        progress |= s.poll_event().is_some();
        if !progress {
            return pid;
        }
    }
}

fn heap() -> (usize, usize) {
    let payload = [0x5au8; PAYLOAD_LEN];
    let (connack, connack_len) = encoded(&Packet::ConnAck(ConnAck {
        session_present: false,
        code: ConnectReturnCode::Accepted,
    }));
    let config = Config {
        client_id: store::text("memory-bench").expect("short"),
        ..Config::default()
    };
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut s = Session::new(config).expect("config");
    let t = Instant::from_millis(1);
    s.handle_link(t, true);
    s.connect(t, true).expect("connect");
    drain(&mut s);
    s.handle_transport_connected(t);
    drain(&mut s);
    s.handle_bytes(t, &connack[..connack_len]);
    drain(&mut s);
    assert!(s.is_connected(), "the session accepted the CONNACK");
    s.subscribe(t, "cmd/#", QoS::AtLeastOnce)
        .expect("subscribe");
    let pid = drain(&mut s).expect("a SUBSCRIBE went out");
    let codes = [SubAckCode::Granted(QoS::AtLeastOnce)];
    let (suback, suback_len) = encoded(&Packet::SubAck(SubAck {
        pid: codec::Pid::new(pid).expect("pid"),
        codes: List::new(&codes),
    }));
    s.handle_bytes(t, &suback[..suback_len]);
    drain(&mut s);
    for i in 0..INFLIGHT {
        let t = t + Duration::from_millis(i as u64);
        s.publish(t, "sensor/temperature", &payload, QoS::AtLeastOnce, false)
            .expect("publish");
        drain(&mut s);
    }
    assert_eq!(s.pending_publishes(), INFLIGHT, "all in flight, none acked");
    let live = (LIVE.load(Ordering::Relaxed) - base).max(0) as usize;
    let peak = (PEAK.load(Ordering::Relaxed) - base).max(0) as usize;
    drop(s);
    (live, peak)
}

/// Measures every figure.
pub fn measure() -> Figures {
    let shared: Shared<NoopRawMutex> = Shared::new();
    let mut rx = [0u8; DEFAULT_RX_BUFFER];
    let runner = Runner::new(
        Config::default(),
        TcpConnector,
        TokioClock::new(),
        TokioDelay,
        &shared,
        &mut rx,
    )
    .expect("config");
    let runner_size = std::mem::size_of_val(&runner);
    let mut runner = runner;
    let run_future = std::mem::size_of_val(&runner.run());
    drop(runner);
    let (heap_live, heap_peak) = heap();
    Figures {
        session: std::mem::size_of::<Session>(),
        shared: std::mem::size_of::<Shared<NoopRawMutex>>(),
        rx_buffer: DEFAULT_RX_BUFFER,
        runner: runner_size,
        run_future,
        heap_live,
        heap_peak,
    }
}

/// Prints the figures with their budgets; returns the ones over budget.
pub fn report(f: &Figures) -> Vec<String> {
    let rows = [
        ("size_of::<Session>()", f.session, BUDGET_SESSION),
        (
            "shell buffers (Shared<_,64,256,4> + rx)",
            f.shared + f.rx_buffer,
            BUDGET_SHELL_BUFFERS,
        ),
        ("Runner struct (host adapters)", f.runner, BUDGET_RUNNER),
        (
            "run() future (host adapters)",
            f.run_future,
            BUDGET_RUN_FUTURE,
        ),
        (
            "heap live after connect+sub+16 QoS1",
            f.heap_live,
            BUDGET_HEAP_LIVE,
        ),
        ("heap peak during that", f.heap_peak, BUDGET_HEAP_PEAK),
    ];
    println!("{:<44} {:>8} {:>8}", "figure", "bytes", "budget");
    let mut over = Vec::new();
    for (name, value, budget) in rows {
        println!("{name:<44} {value:>8} {budget:>8}");
        if value > budget {
            over.push(format!("{name}: {value} bytes > budget {budget}"));
        }
    }
    println!(
        "(Shared alone {} B, rx buffer {} B; {INFLIGHT} publishes of {PAYLOAD_LEN} B)",
        f.shared, f.rx_buffer
    );
    if cfg!(feature = "alloc") {
        println!("session storage: heap (alloc feature)");
    } else {
        use store::caps;
        println!(
            "session storage: inline, no allocator; capacities (RESILIENT_MQTT_*): \
             text {} B, payload {} B, outbox {}, ops {}, subscriptions {}, queue {}, \
             QoS 2 in {}, events {}; buffers: transmit {} B, receive {} B",
            caps::TEXT,
            caps::PAYLOAD,
            caps::OUTBOX,
            caps::OPS,
            caps::SUBSCRIPTIONS,
            caps::QUEUE,
            caps::QOS2_IN,
            caps::EVENTS,
            caps::TX,
            caps::RX
        );
    }
    over
}

fn main() {
    let over = report(&measure());
    if !over.is_empty() {
        eprintln!("MEMORY BUDGET EXCEEDED:");
        for o in &over {
            eprintln!("  {o}");
        }
        std::process::exit(1);
    }
}
