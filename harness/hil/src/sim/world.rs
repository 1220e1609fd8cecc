//! What the simulated hosts and the fault executor share: the trace buffer,
//! the DUT's WiFi, the broker's current instance, its saved state, the
//! broker faults in force, the TLS state (`[tls]`), whether the observer is
//! ready and how often the DUT has booted. Everything here is touched only
//! from turmoil's single thread, in simulated time.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::net::LinkCtl;
use super::tls::Identity;
use crate::app::DutState;
use crate::scenario::tls::BrokerCert;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event, Record};
use chaos_broker::{Broker, BrokerState, Fault, FaultTarget};

/// The world's shared state. Cheap to clone.
#[derive(Clone)]
pub struct World {
    inner: Arc<Inner>,
    pub scenario: Arc<Scenario>,
    pub seed: u64,
    /// The DUT's client id, which broker faults target.
    pub dut_client_id: Arc<str>,
    /// The DUT's WiFi (controlled by `wifi_*` faults), flash and message
    /// counters, which survive `dut_reboot`.
    pub dut: DutState,
    /// The DUT link's resets and one-way latency (`sim::net`).
    pub dut_link: LinkCtl,
    /// `[bridge]`: the serial line between the bridge host and the
    /// gateway (`sim::serial`).
    pub serial: Option<super::serial::SerialLine>,
}

struct Inner {
    records: Mutex<Vec<Record>>,
    broker: Mutex<BrokerSlot>,
    tls: Mutex<TlsSlot>,
    /// The observer has subscribed to everything it records.
    observer_ready: AtomicBool,
    /// DUT boots so far.
    boots: AtomicU64,
    /// `[bridge]`: bridge host (MCU) boots so far.
    host_boots: AtomicU64,
}

/// TLS between the DUT and the broker (`[tls]`), as faults change it.
pub struct TlsSlot {
    /// The run's certificates (None: plain TCP).
    pub identity: Option<Arc<Identity>>,
    /// What the broker presents to new handshakes.
    pub cert: BrokerCert,
    /// `tls_stall` in force.
    pub stalled: bool,
}

/// The broker as the executor sees it.
#[derive(Default)]
pub struct BrokerSlot {
    /// The running instance (None while crashed).
    pub current: Option<Broker>,
    /// The last autosave (mosquitto's `autosave_interval 1`).
    pub saved: Option<BrokerState>,
    /// Whether the next start restores `saved`.
    pub restore: bool,
    /// Faults in force, re-applied to every new instance. A counted fault
    /// is kept with what is left of its count ([`BrokerSlot::sync_faults`]):
    /// the count belongs to the scenario, not to one broker process.
    pub faults: Vec<(FaultTarget, Fault)>,
}

impl BrokerSlot {
    /// Takes the faults in force from the running instance, which has used
    /// up counts (and retired spent faults) since they were set.
    pub fn sync_faults(&mut self) {
        if let Some(b) = &self.current {
            self.faults = b.faults();
        }
    }

    /// The broker died: its faults, as it had them, wait for the next
    /// instance.
    pub fn crashed(&mut self) {
        self.sync_faults();
        self.current = None;
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Milliseconds of simulated time (0 outside a simulation).
pub fn now_ms() -> u64 {
    turmoil::sim_elapsed()
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl World {
    pub fn new(
        scenario: Arc<Scenario>,
        seed: u64,
        dut_client_id: String,
        tls: Option<Identity>,
    ) -> World {
        let cert = scenario.tls.map(|t| t.broker_cert).unwrap_or_default();
        let serial = scenario
            .bridge
            .as_ref()
            .map(|b| super::serial::SerialLine::new(b, seed));
        World {
            inner: Arc::new(Inner {
                records: Mutex::default(),
                broker: Mutex::default(),
                tls: Mutex::new(TlsSlot {
                    identity: tls.map(Arc::new),
                    cert,
                    stalled: false,
                }),
                observer_ready: AtomicBool::new(false),
                boots: AtomicU64::new(0),
                host_boots: AtomicU64::new(0),
            }),
            scenario,
            seed,
            dut_client_id: dut_client_id.into(),
            dut: DutState::default(),
            dut_link: LinkCtl::new(seed),
            serial,
        }
    }

    /// Records an event at the current simulated time.
    pub fn emit(&self, actor: Actor, event: Event) {
        self.emit_at(now_ms(), actor, event);
    }

    /// Records an event at `t_ms` (the executor, between steps).
    pub fn emit_at(&self, t_ms: u64, actor: Actor, event: Event) {
        lock(&self.inner.records).push(Record::new(t_ms, actor, event));
    }

    /// Takes the records emitted since the last call.
    pub fn take_records(&self) -> Vec<Record> {
        std::mem::take(&mut *lock(&self.inner.records))
    }

    /// The TLS slot.
    pub fn tls(&self) -> MutexGuard<'_, TlsSlot> {
        lock(&self.inner.tls)
    }

    /// The observer is subscribed to everything it records.
    pub fn set_observer_ready(&self) {
        self.inner.observer_ready.store(true, Ordering::SeqCst);
    }

    /// Whether [`World::set_observer_ready`] was called.
    pub fn observer_ready(&self) -> bool {
        self.inner.observer_ready.load(Ordering::SeqCst)
    }

    /// Counts a DUT boot; the number of this boot (0: the first).
    pub fn next_boot(&self) -> u64 {
        self.inner.boots.fetch_add(1, Ordering::SeqCst)
    }

    /// `[bridge]`: counts a bridge host boot; the number of this boot.
    pub fn next_host_boot(&self) -> u64 {
        self.inner.host_boots.fetch_add(1, Ordering::SeqCst)
    }

    /// The broker slot.
    pub fn broker(&self) -> MutexGuard<'_, BrokerSlot> {
        lock(&self.inner.broker)
    }
}
