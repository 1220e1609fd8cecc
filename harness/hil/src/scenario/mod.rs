//! Scenario files: reading, checking and the in-memory [`Scenario`].
//!
//! A scenario is pure data (see `scenarios/README.md` for the file format):
//! what the world looks like (`[dut]`, `[network]`), what the application
//! and observer do (`[workload]`), what goes wrong when (`[[timeline]]`,
//! compiled into a [`schedule::Schedule`]), and what must hold
//! (`[[expect]]`, oracles). Nothing in it is backend-specific.
//!
//! Reading is two-phase: serde + toml for the structure (errors carry
//! toml's spans), then checks that need the whole file (timeline
//! consistency, oracle prerequisites) using [`spans::Spans`] to point at the
//! offending key. All problems found are returned, each a
//! [`Diagnostic`] with a place and the expected form; [`LoadError`]'s
//! `Display` renders them with file, line and column.

pub mod at;
pub mod bridge;
pub mod broker;
pub mod dut;
pub mod fault;
pub mod fields;
pub mod network;
pub mod phases;
pub mod schedule;
pub mod spans;
pub mod tls;
pub mod types;
pub mod workload;

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use self::broker::BrokerSettings;
use self::dut::DutConfig;
use self::fault::{Fault, FaultEntry, KINDS};
use self::fields::{Fields, RawEntry};
use self::network::Network;
use self::phases::SimPhases;
use self::schedule::Schedule;
use self::spans::Spans;
use self::tls::Tls;
use self::workload::Workload;
use crate::diag::{self, Diagnostic};
use crate::duration::Dur;
use crate::oracle::{Oracle, OracleEntry, ORACLES};

/// The default seed when a file gives none.
pub const DEFAULT_SEED: u64 = 1;

/// The default simulator tick.
pub const DEFAULT_TICK: Dur = Dur::from_millis(10);

/// Where the scenario format is documented (for help lines).
pub const FORMAT_DOC: &str = "scenarios/README.md";

/// A checked scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Unique name; also the run directory's name (`[a-z0-9_-]`).
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    /// The seed used when the command line gives none.
    pub seed: u64,
    /// Length of the run.
    pub duration: Dur,
    /// Simulator tick (default 10 ms).
    pub tick: Dur,
    /// Live backends run every duration of the scenario multiplied by this
    /// (0.01-10, default 1): 0.1 runs a 5-minute scenario in 30 s. Traces
    /// stay in scenario time (see `live::scale`).
    pub live_time_scale: f64,
    pub dut: DutConfig,
    pub network: Network,
    /// `[broker]`: the broker's settings.
    pub broker: BrokerSettings,
    /// `[sim]`: the simulator's seeded phases (boot, observer, host order).
    pub sim: SimPhases,
    /// `[tls]`: the DUT connects with TLS (absent: plain TCP).
    pub tls: Option<Tls>,
    /// `[bridge]`: the DUT is a serial MQTT bridge, host + gateway
    /// (absent: the driver itself).
    pub bridge: Option<bridge::Bridge>,
    pub workload: Workload,
    /// The timeline as written.
    pub timeline: Vec<FaultEntry>,
    /// The timeline compiled into steps: what backends execute.
    pub schedule: Schedule,
    /// The oracles, in file order.
    pub expect: Vec<OracleEntry>,
}

impl Scenario {
    /// The scenario as `seed` runs it: the timeline's and the workload's
    /// tolerances (`at = "60s ± 2s"`) resolved to the times this seed
    /// draws (see [`at`]). Backends run this, not the file's nominal times.
    pub fn for_seed(&self, seed: u64) -> Scenario {
        let mut s = self.clone();
        s.schedule = self.schedule.for_seed(seed);
        s.workload = self.workload.for_seed(seed);
        s
    }
}

fn default_seed() -> u64 {
    DEFAULT_SEED
}

fn default_tick() -> Spanned<Dur> {
    Spanned::new(0..0, DEFAULT_TICK)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default = "default_seed")]
    seed: u64,
    duration: Spanned<Dur>,
    #[serde(default = "default_tick")]
    tick: Spanned<Dur>,
    #[serde(default)]
    live_time_scale: Option<Spanned<f64>>,
    #[serde(default)]
    dut: DutConfig,
    #[serde(default)]
    network: Network,
    #[serde(default)]
    broker: BrokerSettings,
    #[serde(default)]
    sim: SimPhases,
    #[serde(default)]
    tls: Option<Tls>,
    #[serde(default)]
    bridge: Option<bridge::Bridge>,
    #[serde(default)]
    workload: Workload,
    #[serde(default)]
    timeline: Vec<RawEntry>,
    #[serde(default)]
    expect: Vec<RawEntry>,
}

/// A scenario read from a file, with its warnings.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub source: String,
    pub scenario: Scenario,
    pub warnings: Vec<Diagnostic>,
}

impl Loaded {
    /// The warnings, rendered with file, line and column.
    pub fn render_warnings(&self) -> String {
        let path = self.path.display().to_string();
        self.warnings
            .iter()
            .map(|d| diag::render(&path, &self.source, d))
            .collect()
    }
}

/// A file that is not a valid scenario.
#[derive(Debug, Clone)]
pub struct LoadError {
    pub path: PathBuf,
    /// The file's text (empty when it could not be read).
    pub source: String,
    /// The errors (warnings are reported for valid files only).
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display().to_string();
        for d in &self.diagnostics {
            f.write_str(&diag::render(&path, &self.source, d))?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// Reads and checks the scenario file at `path`.
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    let source = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            return Err(LoadError {
                path: path.to_path_buf(),
                source: String::new(),
                diagnostics: vec![Diagnostic::error(
                    format!("cannot read the file: {e}"),
                    None,
                )],
            })
        }
    };
    match parse(&source) {
        Ok((scenario, warnings)) => Ok(Loaded {
            path: path.to_path_buf(),
            source,
            scenario,
            warnings,
        }),
        Err(diagnostics) => Err(LoadError {
            path: path.to_path_buf(),
            source,
            diagnostics,
        }),
    }
}

fn is_valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 100
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'_')
}

/// Parses and checks scenario text. `Ok` carries the warnings; `Err` every
/// error found.
pub fn parse(src: &str) -> Result<(Scenario, Vec<Diagnostic>), Vec<Diagnostic>> {
    let raw: RawScenario = toml::from_str(src).map_err(|e| {
        let message = e.message().trim_end().replace('\n', "; ");
        vec![Diagnostic::error(message, e.span())
            .with_help(format!("the scenario format is described in {FORMAT_DOC}"))]
    })?;
    let spans = Spans::parse(src);
    let at = |path: &str| spans.as_ref().and_then(|s| s.nearest(path));
    let mut errors: Vec<Diagnostic> = Vec::new();
    let mut warnings: Vec<Diagnostic> = Vec::new();

    // ---- header ----
    if !is_valid_name(raw.name.get_ref()) {
        errors.push(
            Diagnostic::error(format!("invalid scenario name `{}`", raw.name.get_ref()), Some(raw.name.span()))
                .with_help("a name is 1-100 characters of a-z, 0-9, `-` and `_`, starting with a letter or digit (it names the run directory)"),
        );
    }
    let duration = *raw.duration.get_ref();
    if duration.is_zero() {
        errors.push(Diagnostic::error(
            "duration must be greater than zero",
            Some(raw.duration.span()),
        ));
    }
    let tick = *raw.tick.get_ref();
    let tick_span = (raw.tick.span() != (0..0)).then(|| raw.tick.span());
    if tick.is_zero() || tick > duration {
        errors.push(Diagnostic::error(
            format!(
                "tick must be greater than zero and at most the duration ({duration}), not {tick}"
            ),
            tick_span,
        ));
    }
    let live_time_scale = match &raw.live_time_scale {
        None => 1.0,
        Some(k) => {
            let v = *k.get_ref();
            if !(0.01..=10.0).contains(&v) {
                errors.push(Diagnostic::error(
                    format!("live_time_scale must be between 0.01 and 10, not {v}"),
                    Some(k.span()),
                ));
            }
            v
        }
    };

    // ---- [dut], [network], [workload] ----
    let mut dut_warnings = Vec::new();
    for (field, message) in raw.dut.check(&mut dut_warnings) {
        errors.push(Diagnostic::error(
            format!("[dut] {message}"),
            at(&format!("dut.{field}")),
        ));
    }
    for (field, message) in dut_warnings {
        warnings.push(Diagnostic::warning(
            format!("[dut] {message}"),
            at(&format!("dut.{field}")),
        ));
    }
    for (link, message) in raw.network.check() {
        errors.push(Diagnostic::error(
            format!("[network.{link}] {message}"),
            at(&format!("network.{link}")),
        ));
    }
    for (field, message) in raw.broker.check() {
        errors.push(Diagnostic::error(
            format!("[broker] {message}"),
            at(&format!("broker.{field}")),
        ));
    }
    for (field, message) in raw.sim.check(duration) {
        errors.push(Diagnostic::error(
            format!("[sim] {message}"),
            at(&format!("sim.{field}")),
        ));
    }
    let mut wl_warnings = Vec::new();
    for (path, message) in raw.workload.check(duration, &mut wl_warnings) {
        errors.push(Diagnostic::error(
            format!("[workload] {path}: {message}"),
            at(&workload_path(&path)),
        ));
    }
    for (path, message) in wl_warnings {
        warnings.push(Diagnostic::warning(
            format!("[workload] {path}: {message}"),
            at(&workload_path(&path)),
        ));
    }

    // ---- [[timeline]] ----
    let mut timeline = Vec::new();
    for raw_entry in &raw.timeline {
        match parse_fault(raw_entry) {
            Ok(e) => timeline.push(e),
            Err(d) => errors.push(d),
        }
    }
    if raw.tls.is_none() {
        for e in &timeline {
            if e.fault.kind().starts_with("tls_") {
                errors.push(Diagnostic::error(
                    format!(
                        "fault `{}` needs a `[tls]` table (the DUT is on plain TCP)",
                        e.fault.kind()
                    ),
                    Some(e.kind_span.clone()),
                ));
            }
        }
    }
    if let Some(b) = &raw.bridge {
        for (field, message) in b.check(duration) {
            errors.push(Diagnostic::error(
                format!("[bridge] {message}"),
                at(&format!("bridge.{field}")),
            ));
        }
    } else {
        for e in &timeline {
            if bridge::needs_bridge(e.fault.kind()) {
                errors.push(Diagnostic::error(
                    format!(
                        "fault `{}` needs a `[bridge]` table (the DUT is not a serial bridge)",
                        e.fault.kind()
                    ),
                    Some(e.kind_span.clone()),
                ));
            }
        }
    }
    let schedule = if errors.is_empty() {
        match Schedule::build(&timeline, duration, raw.seed) {
            Ok(s) => s,
            Err(e) => {
                errors.push(Diagnostic::error(
                    format!("timeline: {}", e.message),
                    Some(timeline[e.entry].kind_span.clone()),
                ));
                Schedule::default()
            }
        }
    } else {
        Schedule::default()
    };

    // ---- [[expect]] ----
    let mut expect = Vec::new();
    for raw_entry in &raw.expect {
        match parse_oracle(raw_entry) {
            Ok(e) => expect.push(e),
            Err(d) => errors.push(d),
        }
    }
    if raw.expect.is_empty() {
        warnings.push(Diagnostic::warning(
            "no [[expect]] entries: a run of this scenario can never fail",
            None,
        ));
    }

    for e in &mut expect {
        e.oracle.configure(&raw.dut);
    }
    let scenario = Scenario {
        name: raw.name.into_inner(),
        description: raw.description,
        tags: raw.tags,
        seed: raw.seed,
        duration,
        tick,
        live_time_scale,
        dut: raw.dut,
        network: raw.network,
        broker: raw.broker,
        sim: raw.sim,
        tls: raw.tls,
        bridge: raw.bridge,
        workload: raw.workload,
        timeline,
        schedule,
        expect,
    };
    if errors.is_empty() {
        for e in &scenario.expect {
            if let Err(message) = e.oracle.requires(&scenario) {
                errors.push(Diagnostic::error(
                    format!("oracle `{}` {message}", e.oracle.name()),
                    Some(e.span.clone()),
                ));
            }
        }
    }
    // Warnings are reported for valid files only: next to errors they are
    // noise (and often a consequence).
    if errors.is_empty() {
        Ok((scenario, warnings))
    } else {
        Err(errors)
    }
}

impl Scenario {
    /// The schedule a run with `seed` executes: [`Scenario::schedule`]
    /// unless a timeline entry draws from the seed (an irregular
    /// `wifi_flap`, latency bursts), which is then expanded for this seed.
    /// `Err`: this seed's draws make the timeline inconsistent (e.g. a
    /// flap's down overlapping another `wifi_down`).
    pub fn schedule_for(&self, seed: u64) -> Result<std::borrow::Cow<'_, Schedule>, String> {
        if seed == self.seed || !self.timeline.iter().any(|e| e.fault.seeded()) {
            return Ok(std::borrow::Cow::Borrowed(&self.schedule));
        }
        // Built again for this seed's draws, then moved by its tolerance
        // offsets as [`Scenario::for_seed`] moves the parsed schedule.
        Schedule::build(&self.timeline, self.duration, seed)
            .map(|s| std::borrow::Cow::Owned(s.for_seed(seed)))
            .map_err(|e| {
                let t = &self.timeline[e.entry];
                format!(
                    "timeline with seed {seed}: the {} at {}: {}",
                    t.fault.kind(),
                    t.at,
                    e.message
                )
            })
    }
}

/// `publish[0]` -> `workload.publish.0`.
fn workload_path(p: &str) -> String {
    format!("workload.{}", p.replace('[', ".").replace(']', ""))
}

fn parse_fault(raw: &RawEntry) -> Result<FaultEntry, Diagnostic> {
    let mut f = Fields::from_raw(raw);
    let span = f.entry_span();
    let kind: Option<(String, Range<usize>)> = f.take("kind", "timeline entry")?;
    let Some((kind, kind_span)) = kind else {
        return Err(
            Diagnostic::error("a timeline entry needs `kind`", Some(span))
                .with_help(format!("the fault kinds are: {}", KINDS.join(", "))),
        );
    };
    let at: Option<(at::At, Range<usize>)> = f.take("at", &format!("fault `{kind}`"))?;
    let optional: Option<(bool, Range<usize>)> = f.take("optional", &format!("fault `{kind}`"))?;
    let fault = match Fault::parse(&kind, &mut f) {
        None => {
            return Err(
                Diagnostic::error(format!("unknown fault kind `{kind}`"), Some(kind_span))
                    .with_help(format!("expected one of: {}", KINDS.join(", "))),
            )
        }
        Some(r) => r?,
    };
    let Some((at, _)) = at else {
        return Err(Diagnostic::error(
            format!("fault `{kind}` needs `at` (when it happens)"),
            Some(span),
        )
        .with_help(
            "e.g. at = \"30s\", or at = \"30s ± 2s\" to let each seed move it by up to 2 s",
        ));
    };
    Ok(FaultEntry {
        at: at.at,
        tolerance: at.tolerance,
        optional: optional.map(|o| o.0).unwrap_or(false),
        fault,
        span,
        kind_span,
    })
}

fn parse_oracle(raw: &RawEntry) -> Result<OracleEntry, Diagnostic> {
    let mut f = Fields::from_raw(raw);
    let span = f.entry_span();
    let name: Option<(String, Range<usize>)> = f.take("oracle", "expect entry")?;
    let Some((name, name_span)) = name else {
        return Err(
            Diagnostic::error("an [[expect]] entry needs `oracle`", Some(span))
                .with_help(format!("the oracles are: {}", ORACLES.join(", "))),
        );
    };
    match Oracle::parse(&name, &mut f) {
        None => Err(
            Diagnostic::error(format!("unknown oracle `{name}`"), Some(name_span))
                .with_help(format!("expected one of: {}", ORACLES.join(", "))),
        ),
        Some(r) => Ok(OracleEntry { oracle: r?, span }),
    }
}
