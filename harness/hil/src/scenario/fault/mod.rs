//! Fault kinds: what a scenario's timeline can do to the world.
//!
//! One file per kind, each a struct implementing [`FaultSpec`] (its name,
//! fields, how to read them, the primitive [`Action`]s it expands to, and
//! how it is written back as TOML), gathered into the [`Fault`] enum by the
//! `fault_kinds!` list below (`file::Type`). Adding a kind = one new file,
//! its line in that list, and its `mod` line (kept outside the macro so that
//! rustfmt sees the file).
//!
//! The same file declares what the rest of the harness needs to know about
//! the kind, so nothing else names kinds: whether it ends another fault
//! (the report's timeline), whether it cuts the DUT off ([`Cut`], board
//! qualification), whether it is a silent outage or a disruption (oracles),
//! whether and how `hil fuzz` picks it ([`Fuzz`]), and its TOML
//! ([`FaultSpec::toml`]: `hil fuzz`, `hil import`). [`CATALOGUE`] lists it
//! all by kind name, for readers that only have a trace's `kind` string.
//!
//! A timeline entry in a scenario file:
//!
//! ```toml
//! [[timeline]]
//! at = "30s"          # simulated time since the run started
//! kind = "wifi_down"  # one of KINDS
//! for = "90s"         # the kind's own fields
//! optional = true     # a backend that cannot apply it records `unsupported`
//! ```
//!
//! Backends do not interpret kinds: they execute the [`Action`]s of the
//! schedule (`scenario::schedule`), which also says which `fault` /
//! `fault_end` trace events to emit.

mod broker_close_after;
mod broker_close_after_bytes;
mod broker_crash;
mod broker_delay;
mod broker_delay_connack;
mod broker_disconnect;
mod broker_drop;
mod broker_duplicate;
mod broker_flood;
mod broker_forget_sessions;
mod broker_hang;
mod broker_power_loss;
mod broker_refuse;
mod broker_restart;
mod broker_reuse_pid;
mod dut_power_cycle;
mod dut_reboot;
mod gateway_reboot;
mod latency;
mod link_blackhole;
mod link_hold;
mod link_release;
mod link_reset;
mod link_restore;
mod serial_cut;
mod serial_drop;
mod serial_noise;
mod tls_cert;
mod tls_stall;
mod wifi_associating;
mod wifi_down;
mod wifi_flap;
mod wifi_up;

use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::fields::{Fields, RawEntry};
use super::network::Link;
use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::fuzz::rng::Rng;

/// What one fault kind is: its name, its fields, and what it does.
pub trait FaultSpec: Sized {
    /// The `kind = "..."` name.
    const KIND: &'static str;
    /// Its own fields (besides `at`, `kind`, `optional`).
    const FIELDS: &'static [&'static str];
    /// One line for `hil` help and the README.
    const SUMMARY: &'static str;
    /// True for silent outages: the link stays up but nothing gets through,
    /// so the driver must notice by itself (`detects_outage_within`).
    const SILENT: bool = false;
    /// False for faults that only restore or tune (`wifi_up`,
    /// `link_restore`, `link_release`, `broker_restart`, `latency`): they do
    /// not start a disruption the DUT must recover from.
    const DISRUPTS: bool = true;

    /// True for kinds that end another fault (`wifi_up` ends `wifi_down`):
    /// the report's timeline draws one the trace gives no `fault_end` as an
    /// instant, not as a span to the end of the run.
    const ENDS_FAULT: bool = false;
    /// Whether it cuts the DUT off from the broker, and until when (board
    /// qualification times detection and recovery from these).
    const CUT: Cut = Cut::No;
    /// True when the DUT loses its memory at the fault (`dut_reboot`,
    /// `dut_power_cycle`): the oracles treat it as a reboot.
    const REBOOTS: bool = false;
    /// Whether and how `hil fuzz` picks it.
    const FUZZ: Fuzz = Fuzz::No;

    /// Reads the fields.
    fn parse(f: &mut Fields) -> Result<Self, Diagnostic>;
    /// The parameters as `key=value` words, for the trace's `fault.detail`.
    fn detail(&self) -> String;
    /// Its fields as TOML lines (`key = value\n`, see [`toml_lines`]), as
    /// `hil fuzz` and `hil import` write them; reading them back gives the
    /// same fault.
    fn toml(&self) -> String;
    /// The primitive actions, relative to the entry's `at`.
    fn expand(&self, x: &mut Expansion);
}

/// Whether a fault cuts the DUT off from the broker (it should notice an
/// outage), and where that disruption ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// It does not cut the DUT off.
    No,
    /// Until its `fault_end`, or until a fault of kind `or_kind` (e.g. a
    /// `broker_restart` after a `broker_crash`), whichever comes first.
    UntilEnd { or_kind: Option<&'static str> },
    /// For an instant: the disruption ends with the fault itself (a reboot).
    Instant,
}

impl Cut {
    /// True unless [`Cut::No`].
    pub fn cuts(self) -> bool {
        self != Cut::No
    }
}

/// Timeline entries a picked fault writes: (offset from its `at`, fault).
pub type Picks = Vec<(Dur, Fault)>;

/// Whether and how `hil fuzz` picks a kind (its `[fuzz] kinds`).
#[derive(Debug, Clone, Copy)]
pub enum Fuzz {
    /// The fuzzer does not pick this kind.
    No,
    /// It lasts: the fuzzer picks a length within the `[fuzz]` bounds and
    /// the function writes the entries for it.
    Lasting(fn(length: Dur) -> Picks),
    /// An instant (no length): the function writes the entries, drawing
    /// any parameter from the seed's RNG (after the time is picked).
    Instant(fn(&mut Rng) -> Picks),
}

impl Fuzz {
    /// True unless [`Fuzz::No`].
    pub fn picks(self) -> bool {
        !matches!(self, Fuzz::No)
    }
}

/// What the harness knows of one kind, by name (see [`CATALOGUE`]).
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    pub kind: &'static str,
    pub fields: &'static [&'static str],
    pub summary: &'static str,
    /// [`FaultSpec::SILENT`].
    pub silent: bool,
    /// [`FaultSpec::DISRUPTS`].
    pub disrupts: bool,
    /// [`FaultSpec::ENDS_FAULT`].
    pub ends_fault: bool,
    pub cut: Cut,
    pub fuzz: Fuzz,
    /// [`FaultSpec::REBOOTS`].
    pub reboots: bool,
}

/// The catalogue entry of `kind`; `None` for a kind this build does not
/// know (say, in a trace from another version).
pub fn info(kind: &str) -> Option<&'static KindInfo> {
    CATALOGUE.iter().find(|k| k.kind == kind)
}

/// The kinds `hil fuzz` can pick, in catalogue order.
pub fn fuzz_kinds() -> Vec<&'static str> {
    CATALOGUE
        .iter()
        .filter(|k| k.fuzz.picks())
        .map(|k| k.kind)
        .collect()
}

/// Packets the broker can be told to drop, delay or close the connection
/// after (the QoS 2 ones for issue 11, P5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Packet {
    /// A message to the DUT (lost on the wire if dropped: resent on resume).
    Publish,
    Puback,
    Pingresp,
    Suback,
    Pubrec,
    Pubrel,
    Pubcomp,
}

impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Packet::Publish => "publish",
            Packet::Puback => "puback",
            Packet::Pingresp => "pingresp",
            Packet::Suback => "suback",
            Packet::Pubrec => "pubrec",
            Packet::Pubrel => "pubrel",
            Packet::Pubcomp => "pubcomp",
        })
    }
}

/// A primitive change to the world; backends implement these.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// The DUT's WiFi loses signal: the driver sees the link go down; packets
    /// in flight vanish.
    WifiDown,
    /// The DUT's WiFi signal is back (the driver reconnects it).
    WifiUp,
    /// Packets on `link` vanish silently; the link stays up (no reset).
    Blackhole(Link),
    /// Ends a blackhole.
    Restore(Link),
    /// Packets on `link` are held (delayed), not lost: TCP survives.
    Hold(Link),
    /// Delivers what was held, in order, and ends the hold.
    Release(Link),
    /// Sets `link`'s latency range.
    SetLatency { link: Link, min: Dur, max: Dur },
    /// Returns `link`'s latency to the scenario's `[network]` setting.
    ResetLatency(Link),
    /// The broker process dies; peers see their connections closed.
    BrokerCrash,
    /// The broker's host loses power: connections go silent (no FIN/RST),
    /// and state since its last save is lost.
    BrokerPowerLoss,
    /// The broker starts again; with `persist` it restores sessions,
    /// subscriptions and queued messages, else it starts empty.
    BrokerRestart { persist: bool },
    /// Every CONNECT is answered with CONNACK return code `code` (1-5).
    BrokerRefuse { code: u8 },
    /// Ends a refusal.
    BrokerAccept,
    /// The broker drops the next `count` packets of this type to the DUT
    /// (`None`: every one, until [`Action::BrokerDropEnd`]).
    BrokerDrop { packet: Packet, count: Option<u32> },
    /// Ends a `broker_drop` window: what is left of its count expires.
    BrokerDropEnd(Packet),
    /// The broker sends the next `count` packets of this type to the DUT
    /// `delay` late (what follows on the connection waits behind them;
    /// `None`: every one, until [`Action::BrokerDelayEnd`]).
    BrokerDelay {
        packet: Packet,
        delay: Dur,
        count: Option<u32>,
    },
    /// Ends a `broker_delay` window.
    BrokerDelayEnd(Packet),
    /// The broker closes the DUT's connection right after sending it each
    /// of the next `count` packets of this type.
    BrokerCloseAfter { packet: Packet, count: u32 },
    /// MQTT 5: the broker sends the DUT DISCONNECT with this reason code
    /// and closes the connection.
    BrokerDisconnect { reason: u8 },
    /// MQTT 5: the broker sends the DUT `count` QoS 2 publishes at once
    /// (`None`: one more than its Receive Maximum).
    BrokerFlood { count: Option<u32> },
    /// The broker stops answering (sockets stay open), like SIGSTOP.
    BrokerHang,
    /// Ends a hang, like SIGCONT.
    BrokerResume,
    /// The broker's TLS handshakes stall after the ServerHello (`[tls]`).
    TlsStall,
    /// Ends a TLS stall.
    TlsUnstall,
    /// The broker presents this certificate to new TLS handshakes (`None`:
    /// the one `[tls]` names).
    TlsCert(Option<crate::scenario::tls::BrokerCert>),
    /// The DUT loses power and boots again (its application restarts).
    DutReboot,
    /// The DUT's WiFi is associated again (the driver sees its link up) but
    /// IP does not work yet: connects are refused at once, or with `hang`
    /// get no answer. Existing connections are gone (the WiFi was down).
    WifiUpNoIp { hang: bool },
    /// IP works again after [`Action::WifiUpNoIp`].
    IpUp,
    /// A TCP reset on `link`'s path: both ends of every connection on it
    /// see the connection reset (not closed by the broker).
    LinkReset(Link),
    /// Adds `min..=max` (per packet, from the seed) to the DUT link's
    /// latency in one direction (`up`: towards the broker), on top of the
    /// link's own latency.
    SetExtraLatency { up: bool, min: Dur, max: Dur },
    /// Ends [`Action::SetExtraLatency`] in that direction.
    ResetExtraLatency { up: bool },
    /// The broker sends each of the next `count` PUBLISHes to the DUT twice
    /// (the copy with DUP).
    BrokerDuplicate { count: u32 },
    /// The broker forgets the DUT's session at once (closing its
    /// connection without the will).
    BrokerForgetSessions,
    /// The broker closes each DUT connection once it has sent it `bytes`
    /// bytes (cutting a packet if the limit falls inside it).
    BrokerCloseAfterBytes { bytes: u64 },
    /// Ends [`Action::BrokerCloseAfterBytes`].
    BrokerCloseAfterBytesEnd,
    /// The broker answers each DUT CONNECT `delay` late.
    BrokerDelayConnack { delay: Dur },
    /// Ends [`Action::BrokerDelayConnack`].
    BrokerDelayConnackEnd,
    /// For each of the next `count` QoS 2 PUBRECs from the DUT, the broker
    /// first sends a new PUBLISH (DUP=0) reusing that packet id, which the
    /// DUT still holds awaiting PUBREL.
    BrokerReusePid { count: u32 },
    /// `[bridge]`: the serial cable between host and gateway is pulled:
    /// bytes on the line and bytes written vanish, both ways.
    SerialCut,
    /// Ends [`Action::SerialCut`]: the cable is back.
    SerialRestore,
    /// `[bridge]`: from now on each serial byte has a bit flipped with this
    /// probability (0: the noise ends).
    SerialNoise { rate: f64 },
    /// `[bridge]`: from now on each serial byte is lost with this
    /// probability (0: the loss ends).
    SerialDrop { rate: f64 },
    /// `[bridge]`: the gateway loses power and boots again.
    GatewayReboot,
    /// The DUT's power goes off: it stops at once, its connections die
    /// without FIN or DISCONNECT (nothing it sent is delivered), until
    /// [`Action::DutPowerOn`].
    DutPowerOff,
    /// The DUT's power is back: it boots (its application starts over).
    DutPowerOn,
}

/// The actions one entry expands to, relative to its `at`.
#[derive(Debug)]
pub struct Expansion {
    pub(crate) actions: Vec<(Dur, Action)>,
    pub(crate) ends_at: Option<Dur>,
    /// The entry's random numbers: from the run's seed and the entry's
    /// place in the timeline, so a seed always expands it the same way.
    rng: Rng,
    /// Whether anything was drawn.
    drew: bool,
}

impl Expansion {
    /// An expansion whose random draws come from `seed` and `salt` (the
    /// entry's index).
    pub fn seeded(seed: u64, salt: u64) -> Expansion {
        Expansion {
            actions: Vec::new(),
            ends_at: None,
            rng: Rng::new(seed ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            drew: false,
        }
    }

    /// A duration drawn uniformly from `range` (whole milliseconds).
    pub fn draw(&mut self, range: DurRange) -> Dur {
        self.drew = true;
        Dur::from_millis(self.rng.range(range.min.as_millis(), range.max.as_millis()))
    }

    /// Adds an action `offset` after the entry's `at`.
    pub fn act(&mut self, offset: Dur, action: Action) {
        self.actions.push((offset, action));
    }

    /// The disruption this entry started ends at `offset` (emits
    /// `fault_end{kind}` with the action at that offset, which must exist).
    pub fn ends_at(&mut self, offset: Dur) {
        self.ends_at = Some(offset);
    }
}

/// A range of durations, written `"1s..30s"` (or one duration, `"5s"`,
/// for a fixed value); a value is drawn from it with the run's seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurRange {
    pub min: Dur,
    pub max: Dur,
}

impl DurRange {
    /// Reads `"A..B"` or `"A"`.
    pub fn parse(s: &str) -> Result<DurRange, String> {
        let (a, b) = s.split_once("..").unwrap_or((s, s));
        let min = Dur::parse(a.trim())?;
        let max = Dur::parse(b.trim())?;
        if min > max {
            return Err(format!("the range starts after it ends ({min} > {max})"));
        }
        Ok(DurRange { min, max })
    }

    /// Reads a range field that must be above zero; `None` when absent.
    pub(crate) fn field(f: &mut Fields, key: &'static str) -> Result<Option<DurRange>, Diagnostic> {
        let Some(text) = f.opt::<String>(key)? else {
            return Ok(None);
        };
        let r = DurRange::parse(&text).map_err(|e| {
            f.invalid(
                key,
                format!("{e}; expected a duration or a range such as \"1s..30s\""),
            )
        })?;
        if r.min.is_zero() {
            return Err(f.invalid(key, "must be greater than zero"));
        }
        Ok(Some(r))
    }
}

impl fmt::Display for DurRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            write!(f, "{}", self.min)
        } else {
            write!(f, "{}..{}", self.min, self.max)
        }
    }
}

/// Reads an optional `link` field (default `dut`).
pub(crate) fn link_field(f: &mut Fields) -> Result<Link, Diagnostic> {
    Ok(f.opt::<Link>("link")?.unwrap_or_default())
}

/// A `link` value to write: `None` (left out) for the default, `dut`.
pub(crate) fn link_value(link: Link) -> Option<String> {
    (link != Link::default()).then(|| quoted(link))
}

/// Reads an optional `count` field: at least 1, default 1.
pub(crate) fn count_field(f: &mut Fields) -> Result<u32, Diagnostic> {
    let count: i64 = f.opt("count")?.unwrap_or(1);
    if !(1..=u32::MAX as i64).contains(&count) {
        return Err(f.invalid("count", format!("must be at least 1, not {count}")));
    }
    Ok(count as u32)
}

/// The fields of `serial_noise` and `serial_drop`: a per-byte probability
/// and an optional window (none: until the end of the run).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SerialRate {
    /// 0 < rate <= 1.
    pub rate: f64,
    pub r#for: Option<Dur>,
}

impl SerialRate {
    /// Reads `rate` and `for`.
    pub(crate) fn parse(f: &mut Fields) -> Result<SerialRate, Diagnostic> {
        let rate: f64 = f.req("rate")?;
        if !(rate > 0.0 && rate <= 1.0) {
            return Err(f.invalid(
                "rate",
                format!("must be a probability per byte, 0 < rate <= 1 (e.g. 1e-3), not {rate}"),
            ));
        }
        let d = f.opt("for")?;
        Ok(SerialRate {
            rate,
            r#for: positive(f, "for", d)?,
        })
    }

    fn parts(&self, toml: bool) -> [(&'static str, Option<String>); 2] {
        let d = |d: Dur| if toml { quoted(d) } else { d.to_string() };
        let rate = if toml {
            toml::Value::Float(self.rate).to_string()
        } else {
            self.rate.to_string()
        };
        [("rate", Some(rate)), ("for", self.r#for.map(d))]
    }

    /// `rate=0.001 for=10m`.
    pub(crate) fn detail(&self) -> String {
        words(&self.parts(false))
    }

    /// Its TOML lines.
    pub(crate) fn toml(&self) -> String {
        toml_lines(&self.parts(true))
    }
}

/// Expands a [`SerialRate`] fault: `set(rate)` at once, `set(0)` at the
/// end of its window (if it has one).
pub(crate) fn serial_rate(x: &mut Expansion, r: SerialRate, set: fn(f64) -> Action) {
    x.act(Dur::ZERO, set(r.rate));
    if let Some(d) = r.r#for {
        x.act(d, set(0.0));
        x.ends_at(d);
    }
}

/// How long a broker packet fault (`broker_drop`, `broker_delay`) lasts:
/// the next `count` packets of its type; or, with `for`, every one for that
/// long; or, with both, the next `count` within `for` (the window ends it
/// even if some of the count is left). Neither: the next one. The count and
/// the window belong to the scenario: a broker restart in between does not
/// give the count back, and the window runs on while the broker is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// `None`: every packet of the type, until the window ends.
    pub count: Option<u32>,
    pub r#for: Option<Dur>,
}

impl Budget {
    /// The next `n` packets.
    pub fn next(n: u32) -> Budget {
        Budget {
            count: Some(n),
            r#for: None,
        }
    }

    /// Reads `count` and `for`.
    pub(crate) fn parse(f: &mut Fields) -> Result<Budget, Diagnostic> {
        let count = match f.opt::<i64>("count")? {
            None => None,
            Some(_) => Some(count_field(f)?),
        };
        let d = f.opt("for")?;
        let r#for = positive(f, "for", d)?;
        Ok(Budget {
            count: count.or(r#for.is_none().then_some(1)),
            r#for,
        })
    }

    /// Its `key=value` words / TOML values: `count` (left out when the
    /// window alone bounds it) and `for`.
    fn parts(&self, toml: bool) -> [(&'static str, Option<String>); 2] {
        let d = |d: Dur| if toml { quoted(d) } else { d.to_string() };
        [
            ("count", self.count.map(|n| n.to_string())),
            ("for", self.r#for.map(d)),
        ]
    }

    /// Adds the fault's start `start`, and with a window the end `end` at
    /// `for`; marks its `fault_end` (at once without a window).
    fn expand(&self, x: &mut Expansion, start: Action, end: Action) {
        x.act(Dur::ZERO, start);
        match self.r#for {
            Some(d) => {
                x.act(d, end);
                x.ends_at(d);
            }
            None => x.ends_at(Dur::ZERO),
        }
    }
}

/// Reads a duration field that must be positive.
pub(crate) fn positive(
    f: &mut Fields,
    key: &'static str,
    d: Option<Dur>,
) -> Result<Option<Dur>, Diagnostic> {
    match d {
        Some(d) if d.is_zero() => Err(f.invalid(key, "must be greater than zero")),
        other => Ok(other),
    }
}

macro_rules! fault_kinds {
    ($($m:ident::$ty:ident,)*) => {
        $(pub use $m::$ty;)*

        /// One fault, of any kind.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Fault {
            $($ty($ty),)*
        }

        /// Every fault kind's name, in documentation order.
        pub const KINDS: &[&str] = &[$($ty::KIND,)*];

        /// What the harness knows of every kind, in documentation order.
        pub const CATALOGUE: &[KindInfo] = &[$(KindInfo {
            kind: $ty::KIND,
            fields: $ty::FIELDS,
            summary: $ty::SUMMARY,
            silent: $ty::SILENT,
            disrupts: $ty::DISRUPTS,
            ends_fault: $ty::ENDS_FAULT,
            cut: $ty::CUT,
            fuzz: $ty::FUZZ,
            reboots: $ty::REBOOTS,
        },)*];

        impl Fault {
            /// Reads a fault of `kind`; `None` for an unknown kind.
            pub fn parse(kind: &str, f: &mut Fields) -> Option<Result<Fault, Diagnostic>> {
                $(
                    if kind == $ty::KIND {
                        let r = f
                            .expect_only(format!("fault `{}`", $ty::KIND), $ty::FIELDS)
                            .and_then(|()| $ty::parse(f))
                            .map(Fault::$ty);
                        return Some(r);
                    }
                )*
                None
            }

            /// The kind's name.
            pub fn kind(&self) -> &'static str {
                match self { $(Fault::$ty(_) => $ty::KIND,)* }
            }

            /// The parameters, for the trace.
            pub fn detail(&self) -> String {
                match self { $(Fault::$ty(x) => x.detail(),)* }
            }

            /// Its fields as TOML lines ([`FaultSpec::toml`]).
            pub fn toml(&self) -> String {
                match self { $(Fault::$ty(x) => x.toml(),)* }
            }

            /// The primitive actions, random draws (if the kind makes any)
            /// from `seed` and `salt` (the entry's index).
            pub fn expand_seeded(&self, seed: u64, salt: u64) -> Expansion {
                let mut x = Expansion::seeded(seed, salt);
                match self { $(Fault::$ty(f) => f.expand(&mut x),)* }
                x
            }

        }
    };
}

impl Fault {
    /// The primitive actions, as seed 0 draws any random part (a kind with
    /// one, e.g. an irregular `wifi_flap`, expands per run seed in
    /// [`crate::scenario::Scenario::schedule_for`]).
    pub fn expand(&self) -> Expansion {
        self.expand_seeded(0, 0)
    }

    /// When the fault's disruption ends, after its `at` (its `fault_end`);
    /// `None` when it lasts until another fault ends it. For a kind with
    /// random parts, as seed 0 draws them.
    pub fn ends_after(&self) -> Option<Dur> {
        self.expand().ends_at
    }

    /// Whether its expansion draws from the seed.
    pub fn seeded(&self) -> bool {
        self.expand().drew
    }

    /// True when faults of `kind` are silent outages.
    pub fn is_silent(kind: &str) -> bool {
        info(kind).is_some_and(|k| k.silent)
    }

    /// True when faults of `kind` start a disruption (see
    /// [`FaultSpec::DISRUPTS`]); false for unknown kinds.
    pub fn disrupts(kind: &str) -> bool {
        info(kind).is_some_and(|k| k.disrupts)
    }

    /// True when faults of `kind` end another fault (see
    /// [`FaultSpec::ENDS_FAULT`]); false for unknown kinds.
    pub fn ends_fault(kind: &str) -> bool {
        info(kind).is_some_and(|k| k.ends_fault)
    }

    /// True when faults of `kind` reboot the DUT (see
    /// [`FaultSpec::REBOOTS`]); false for unknown kinds.
    pub fn reboots(kind: &str) -> bool {
        info(kind).is_some_and(|k| k.reboots)
    }

    /// Whether faults of `kind` cut the DUT off ([`Cut::No`] for unknown
    /// kinds).
    pub fn cut(kind: &str) -> Cut {
        info(kind).map_or(Cut::No, |k| k.cut)
    }

    /// How `hil fuzz` picks `kind` ([`Fuzz::No`] for unknown kinds).
    pub fn fuzz(kind: &str) -> Fuzz {
        info(kind).map_or(Fuzz::No, |k| k.fuzz)
    }

    /// (name, fields, summary) of every kind.
    pub fn catalogue() -> Vec<(&'static str, &'static [&'static str], &'static str)> {
        CATALOGUE
            .iter()
            .map(|k| (k.kind, k.fields, k.summary))
            .collect()
    }

    /// Reads a fault of `kind` from its fields written as TOML lines (what
    /// [`Fault::toml`] writes); the error says why it does not read.
    pub fn from_toml(kind: &str, fields: &str) -> Result<Fault, String> {
        #[derive(Deserialize)]
        struct Doc {
            entry: Vec<RawEntry>,
        }
        let doc: Doc = toml::from_str(&format!("[[entry]]\n{fields}"))
            .map_err(|e| format!("fault `{kind}`: {}", e.message()))?;
        let raw = doc
            .entry
            .first()
            .ok_or_else(|| format!("fault `{kind}`: no fields"))?;
        let mut f = Fields::from_raw(raw);
        match Fault::parse(kind, &mut f) {
            None => Err(format!("unknown fault kind `{kind}`")),
            Some(r) => r.map_err(|d| d.message),
        }
    }
}

fault_kinds! {
    wifi_down::WifiDown,
    wifi_up::WifiUp,
    wifi_flap::WifiFlap,
    wifi_associating::WifiAssociating,
    link_blackhole::LinkBlackhole,
    link_restore::LinkRestore,
    link_hold::LinkHold,
    link_release::LinkRelease,
    link_reset::LinkReset,
    latency::Latency,
    broker_crash::BrokerCrash,
    broker_restart::BrokerRestart,
    broker_power_loss::BrokerPowerLoss,
    broker_refuse::BrokerRefuse,
    broker_drop::BrokerDrop,
    broker_delay::BrokerDelay,
    broker_close_after::BrokerCloseAfter,
    broker_close_after_bytes::BrokerCloseAfterBytes,
    broker_delay_connack::BrokerDelayConnack,
    broker_duplicate::BrokerDuplicate,
    broker_forget_sessions::BrokerForgetSessions,
    broker_reuse_pid::BrokerReusePid,
    broker_hang::BrokerHang,
    broker_disconnect::BrokerDisconnect,
    broker_flood::BrokerFlood,
    tls_stall::TlsStall,
    tls_cert::TlsCert,
    dut_reboot::DutReboot,
    serial_cut::SerialCut,
    serial_noise::SerialNoise,
    serial_drop::SerialDrop,
    gateway_reboot::GatewayReboot,
    dut_power_cycle::DutPowerCycle,
}

/// A timeline entry: a fault at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultEntry {
    pub at: Dur,
    /// How far a seed may move `at` either way (`at = "60s ± 2s"`, see
    /// `scenario::at`); zero: exact.
    pub tolerance: Dur,
    /// A backend that cannot apply it records `unsupported` and goes on.
    pub optional: bool,
    pub fault: Fault,
    /// Where the entry is in its file (for messages).
    pub span: Range<usize>,
    /// Where its `kind` value is (timeline errors point there).
    pub kind_span: Range<usize>,
}

/// A value as a quoted TOML string.
pub(crate) fn quoted(v: impl fmt::Display) -> String {
    toml::Value::String(v.to_string()).to_string()
}

/// Writes `key = value` lines (values already TOML: [`quoted`] strings,
/// bare numbers and booleans), skipping `None`s.
pub(crate) fn toml_lines(parts: &[(&str, Option<String>)]) -> String {
    parts
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} = {v}\n")))
        .collect()
}

/// Joins `key=value` words, skipping `None`s.
pub(crate) fn words(parts: &[(&str, Option<String>)]) -> String {
    parts
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn scenario_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                scenario_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "toml") {
                out.push(p);
            }
        }
    }

    /// Every fault of every scenario in the repository reads back from the
    /// TOML its kind writes.
    #[test]
    fn every_fault_reads_back_from_its_toml() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
        let mut files = Vec::new();
        scenario_files(&root, &mut files);
        let mut kinds = std::collections::BTreeSet::new();
        for f in &files {
            let Ok(l) = crate::fuzz::load(f) else {
                continue;
            };
            for e in &l.loaded.scenario.timeline {
                let kind = e.fault.kind();
                assert_eq!(
                    Fault::from_toml(kind, &e.fault.toml()).as_ref(),
                    Ok(&e.fault),
                    "{}: {kind}:\n{}",
                    f.display(),
                    e.fault.toml()
                );
                kinds.insert(kind);
            }
        }
        assert!(kinds.len() >= 15, "only {kinds:?}");
    }

    #[test]
    fn defaults_are_left_out_and_values_are_toml() {
        let f = Fault::from_toml("link_blackhole", "for = \"1m30s\"\n").unwrap();
        assert_eq!(f.toml(), "for = \"1m30s\"\n");
        let f = Fault::from_toml("link_hold", "link = \"observer\"\nfor = \"2s\"\n").unwrap();
        assert_eq!(f.toml(), "link = \"observer\"\nfor = \"2s\"\n");
        // broker_drop writes its count even at the default.
        let f = Fault::from_toml("broker_drop", "packet = \"puback\"\n").unwrap();
        assert_eq!(f.toml(), "packet = \"puback\"\ncount = 1\n");
        let f = Fault::from_toml("broker_disconnect", "reason = 0x98\n").unwrap();
        assert_eq!(f.toml(), "reason = 0x98\n");
        assert_eq!(Fault::from_toml("broker_disconnect", &f.toml()), Ok(f));
        let f = Fault::from_toml("wifi_flap", "period = \"15s\"\nduty = 0.4\nfor = \"1m\"\n");
        assert_eq!(
            f.unwrap().toml(),
            "period = \"15s\"\nduty = 0.4\nfor = \"1m\"\n"
        );
    }

    /// The kinds issue 21 added: what they read, write back and expand to.
    #[test]
    fn the_new_kinds_read_write_and_expand() {
        let round = |kind: &str, fields: &str| {
            let f = Fault::from_toml(kind, fields).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(Fault::from_toml(kind, &f.toml()).as_ref(), Ok(&f), "{kind}");
            f
        };
        let ms = Dur::from_millis;
        let f = round("broker_drop", "packet = \"puback\"\nfor = \"2m\"\n");
        assert_eq!(f.detail(), "packet=puback for=2m");
        let x = f.expand();
        assert_eq!(
            x.actions,
            [
                (
                    Dur::ZERO,
                    Action::BrokerDrop {
                        packet: Packet::Puback,
                        count: None
                    }
                ),
                (ms(120_000), Action::BrokerDropEnd(Packet::Puback)),
            ]
        );
        assert_eq!(x.ends_at, Some(ms(120_000)));
        let f = round(
            "broker_delay",
            "packet = \"pubcomp\"\ndelay = \"5s\"\ncount = 2\nfor = \"1m\"\n",
        );
        assert_eq!(f.detail(), "packet=pubcomp delay=5s count=2 for=1m");
        let f = round("wifi_associating", "for = \"20s\"\nconnects = \"hang\"\n");
        assert_eq!(f.detail(), "down=1s for=20s connects=hang");
        assert_eq!(
            f.expand().actions,
            [
                (Dur::ZERO, Action::WifiDown),
                (ms(1_000), Action::WifiUpNoIp { hang: true }),
                (ms(21_000), Action::IpUp),
            ]
        );
        let f = round("link_reset", "");
        assert_eq!(
            f.expand().actions,
            [(Dur::ZERO, Action::LinkReset(Link::Dut))]
        );
        let f = round(
            "latency",
            "direction = \"down\"\nmin = \"1s\"\nmax = \"2s\"\nfor = \"1m\"\n",
        );
        assert_eq!(
            f.expand().actions,
            [
                (
                    Dur::ZERO,
                    Action::SetExtraLatency {
                        up: false,
                        min: ms(1_000),
                        max: ms(2_000)
                    }
                ),
                (ms(60_000), Action::ResetExtraLatency { up: false }),
            ]
        );
        let f = round("latency", "min = \"1s\"\nmax = \"2s\"\nburst_every = \"5s..10s\"\nburst_length = \"1s\"\nfor = \"1m\"\n");
        assert!(f.seeded());
        assert_ne!(f.expand_seeded(1, 0).actions, f.expand_seeded(2, 0).actions);
        assert_eq!(f.expand_seeded(1, 0).ends_at, Some(ms(60_000)));
        let f = round(
            "wifi_flap",
            "down = \"200ms..5s\"\nup = \"1s..30s\"\nfor = \"5m\"\n",
        );
        assert_eq!(f.detail(), "down=200ms..5s up=1s..30s for=5m");
        assert!(f.seeded());
        assert!(!round("wifi_flap", "period = \"10s\"\nduty = 0.5\nfor = \"1m\"\n").seeded());
        for (kind, fields, detail) in [
            ("broker_duplicate", "count = 3\n", "count=3"),
            ("broker_forget_sessions", "", ""),
            ("broker_close_after_bytes", "bytes = 0\n", "bytes=0"),
            (
                "broker_delay_connack",
                "delay = \"8s\"\nfor = \"2m\"\n",
                "delay=8s for=2m",
            ),
            ("broker_reuse_pid", "", "count=1"),
        ] {
            assert_eq!(round(kind, fields).detail(), detail, "{kind}");
        }
        for (kind, fields, says) in [
            (
                "broker_close_after_bytes",
                "bytes = -1\n",
                "must be 0 or more",
            ),
            ("broker_close_after_bytes", "", "needs the field `bytes`"),
            (
                "broker_delay_connack",
                "delay = \"0s\"\n",
                "greater than zero",
            ),
            ("broker_reuse_pid", "count = 0\n", "at least 1"),
            ("broker_duplicate", "count = \"2\"\n", "count"),
            (
                "wifi_associating",
                "down = \"1s\"\n",
                "needs the field `for`",
            ),
            ("link_reset", "for = \"1s\"\n", "unknown field `for`"),
            (
                "latency",
                "min = \"1s\"\nmax = \"2s\"\ndirection = \"sideways\"\n",
                "sideways",
            ),
            (
                "latency",
                "min = \"1s\"\nmax = \"2s\"\nburst_length = \"1s\"\nfor = \"1m\"\n",
                "burst_every",
            ),
            (
                "wifi_flap",
                "up = \"0s..1s\"\ndown = \"1s\"\nfor = \"1m\"\n",
                "greater than zero",
            ),
        ] {
            let e = Fault::from_toml(kind, fields).unwrap_err();
            assert!(e.contains(says), "{kind}: {e}");
        }
    }

    #[test]
    fn from_toml_says_why_a_fault_does_not_read() {
        let e = Fault::from_toml("wifi_dwn", "").unwrap_err();
        assert_eq!(e, "unknown fault kind `wifi_dwn`");
        let e = Fault::from_toml("broker_drop", "count = 2\n").unwrap_err();
        assert!(e.contains("packet"), "{e}");
        let e = Fault::from_toml("wifi_down", "for = \"1s\"\nbogus = 1\n").unwrap_err();
        assert!(e.contains("unknown field `bogus`"), "{e}");
    }

    fn kinds(f: impl Fn(&KindInfo) -> bool) -> Vec<&'static str> {
        CATALOGUE.iter().filter(|k| f(k)).map(|k| k.kind).collect()
    }

    /// What the report, qualification and fuzzer read from the catalogue
    /// (they used to list these names themselves).
    #[test]
    fn the_catalogue_says_what_each_kind_is() {
        assert_eq!(
            kinds(|k| k.ends_fault),
            ["wifi_up", "link_restore", "link_release", "broker_restart"]
        );
        assert_eq!(
            kinds(|k| k.cut.cuts()),
            [
                "wifi_down",
                "wifi_associating",
                "link_blackhole",
                "broker_crash",
                "broker_power_loss",
                "broker_hang",
                "dut_reboot",
                "gateway_reboot",
                "dut_power_cycle",
            ]
        );
        assert_eq!(Fault::cut("dut_reboot"), Cut::Instant);
        assert_eq!(
            Fault::cut("broker_crash"),
            Cut::UntilEnd {
                or_kind: Some("broker_restart")
            }
        );
        assert_eq!(Fault::cut("no_such_kind"), Cut::No);
        assert_eq!(
            fuzz_kinds(),
            [
                "wifi_down",
                "link_blackhole",
                "link_hold",
                "broker_crash",
                "broker_drop",
                "broker_hang"
            ]
        );
        assert_eq!(
            kinds(|k| k.silent),
            ["link_blackhole", "broker_power_loss", "broker_hang"]
        );
        assert_eq!(KINDS, kinds(|_| true).as_slice());
    }

    /// What the fuzzer writes for each kind it picks.
    #[test]
    fn fuzzed_kinds_write_their_entries() {
        let d = Dur::from_millis(2_500);
        let Fuzz::Lasting(crash) = Fault::fuzz("broker_crash") else {
            panic!("broker_crash lasts")
        };
        let e = crash(d);
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[1].0, e[1].1.kind(), e[1].1.toml().as_str()),
            (d, "broker_restart", "persist = true\n")
        );
        let Fuzz::Instant(drop) = Fault::fuzz("broker_drop") else {
            panic!("broker_drop is an instant")
        };
        let mut seen = std::collections::BTreeSet::new();
        let mut rng = Rng::new(3);
        for _ in 0..50 {
            let e = drop(&mut rng);
            seen.insert(e[0].1.toml());
        }
        assert_eq!(
            seen.into_iter().collect::<Vec<_>>(),
            [
                "packet = \"pingresp\"\ncount = 1\n",
                "packet = \"puback\"\ncount = 1\n"
            ]
        );
    }
}
