//! What an in-process DUT, the observer, the broker taps and the fault
//! executor of a real-time run share: the trace buffer stamped with the
//! wall clock (scaled back to scenario time), the DUT's lasting state
//! ([`DutState`]: WiFi, flash, message counters) and its client id. The
//! device application ([`crate::app`]) runs in it ([`DutWorld`]).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use std::future::Future;

use crate::app::{DutState, DutWorld};
use crate::blackbox::wire::WireView;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event, Record, Source};

/// Shared state of one live run. Cheap to clone.
#[derive(Clone)]
pub struct RealWorld {
    inner: Arc<Inner>,
    /// The scenario with every time scaled by the live time scale.
    pub scenario: Arc<Scenario>,
    pub seed: u64,
    pub dut_client_id: Arc<str>,
    /// The DUT's WiFi, persisted offline queue and message counters,
    /// kept across `dut_reboot` (as in the simulator's world).
    pub dut: DutState,
    /// A black-box DUT's wire view (its side of the trace, from its fault
    /// proxy; the observer names deliveries with its message ids).
    pub wire: Option<Arc<WireView>>,
}

struct Inner {
    start: Instant,
    /// Wall time x `1 / scale` = scenario time.
    scale: f64,
    records: Mutex<Vec<Record>>,
    /// The time of the last record emitted (records never go back).
    last_ms: std::sync::atomic::AtomicU64,
    /// The observer's first subscriptions were acknowledged.
    observer_ready: std::sync::atomic::AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl RealWorld {
    pub fn new(scenario: Arc<Scenario>, seed: u64, scale: f64, dut_client_id: String) -> Self {
        RealWorld {
            inner: Arc::new(Inner {
                start: Instant::now(),
                scale,
                records: Mutex::default(),
                last_ms: Default::default(),
                observer_ready: Default::default(),
            }),
            scenario,
            seed,
            dut_client_id: dut_client_id.into(),
            dut: DutState::default(),
            wire: None,
        }
    }

    /// The same world with a black-box DUT's wire view.
    pub fn with_wire(mut self, view: Arc<WireView>) -> Self {
        self.wire = Some(view);
        self
    }

    /// The observer is subscribed to everything it watches (its first
    /// SUBACKs arrived).
    pub fn set_observer_ready(&self) {
        self.inner
            .observer_ready
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether [`RealWorld::set_observer_ready`] was called.
    pub fn observer_ready(&self) -> bool {
        self.inner
            .observer_ready
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The live time scale (wall time = scenario time x scale).
    pub fn scale(&self) -> f64 {
        self.inner.scale
    }

    /// Scenario milliseconds since the run started.
    pub fn now_ms(&self) -> u64 {
        (self.inner.start.elapsed().as_secs_f64() * 1000.0 / self.inner.scale) as u64
    }

    /// The wall instant of scenario time `ms`.
    pub fn wall_at(&self, ms: u64) -> Instant {
        self.inner.start + std::time::Duration::from_secs_f64(ms as f64 * self.inner.scale / 1000.0)
    }

    /// Records an event now. The time is taken under the lock, so records
    /// are in time order whatever thread emits them.
    pub fn emit(&self, actor: Actor, event: Event) {
        let mut records = lock(&self.inner.records);
        let t_ms = self.now_ms().max(self.inner.last_ms.load(Relaxed));
        self.inner.last_ms.store(t_ms, Relaxed);
        records.push(Record::new(t_ms, actor, event));
    }

    /// Records an event observed on the wire now (`source = "wire"`).
    pub fn emit_wire(&self, actor: Actor, event: Event) {
        let mut records = lock(&self.inner.records);
        let t_ms = self.now_ms().max(self.inner.last_ms.load(Relaxed));
        self.inner.last_ms.store(t_ms, Relaxed);
        records.push(Record::new(t_ms, actor, event).from_source(Source::Wire));
    }

    /// Records an event that happened at the wall instant `at` (a board's
    /// event, its clock mapped to ours): stamped at that time, but never
    /// before the last record nor after now.
    pub fn emit_at(&self, at: Instant, actor: Actor, event: Event) {
        let mut records = lock(&self.inner.records);
        let ms = (at.saturating_duration_since(self.inner.start).as_secs_f64() * 1000.0
            / self.inner.scale) as u64;
        let t_ms = ms.min(self.now_ms()).max(self.inner.last_ms.load(Relaxed));
        self.inner.last_ms.store(t_ms, Relaxed);
        records.push(Record::new(t_ms, actor, event));
    }

    /// Takes the records emitted since the last call.
    pub fn take_records(&self) -> Vec<Record> {
        std::mem::take(&mut *lock(&self.inner.records))
    }
}

impl DutWorld for RealWorld {
    fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    fn dut(&self) -> &DutState {
        &self.dut
    }

    fn now_ms(&self) -> u64 {
        RealWorld::now_ms(self)
    }

    fn emit(&self, actor: Actor, event: Event) {
        RealWorld::emit(self, actor, event)
    }

    fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tokio::spawn(task)
    }
}
