//! Fault kinds: what a scenario's timeline can do to the world.
//!
//! One file per kind, each a struct implementing [`FaultSpec`] (its name,
//! fields, how to read them, and the primitive [`Action`]s it expands to),
//! gathered into the [`Fault`] enum by the `fault_kinds!` list below. Adding
//! a kind = one new file, its `mod` line, and one line in that list.
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
mod broker_crash;
mod broker_delay;
mod broker_disconnect;
mod broker_drop;
mod broker_flood;
mod broker_hang;
mod broker_power_loss;
mod broker_refuse;
mod broker_restart;
mod dut_reboot;
mod latency;
mod link_blackhole;
mod link_hold;
mod link_release;
mod link_restore;
mod tls_cert;
mod tls_stall;
mod wifi_down;
mod wifi_flap;
mod wifi_up;

pub use broker_close_after::BrokerCloseAfter;
pub use broker_crash::BrokerCrash;
pub use broker_delay::BrokerDelay;
pub use broker_disconnect::BrokerDisconnect;
pub use broker_drop::BrokerDrop;
pub use broker_flood::BrokerFlood;
pub use broker_hang::BrokerHang;
pub use broker_power_loss::BrokerPowerLoss;
pub use broker_refuse::BrokerRefuse;
pub use broker_restart::BrokerRestart;
pub use dut_reboot::DutReboot;
pub use latency::Latency;
pub use link_blackhole::LinkBlackhole;
pub use link_hold::LinkHold;
pub use link_release::LinkRelease;
pub use link_restore::LinkRestore;
pub use tls_cert::TlsCert;
pub use tls_stall::TlsStall;
pub use wifi_down::WifiDown;
pub use wifi_flap::WifiFlap;
pub use wifi_up::WifiUp;

use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::fields::Fields;
use super::network::Link;
use crate::diag::Diagnostic;
use crate::duration::Dur;

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

    /// Reads the fields.
    fn parse(f: &mut Fields) -> Result<Self, Diagnostic>;
    /// The parameters as `key=value` words, for the trace's `fault.detail`.
    fn detail(&self) -> String;
    /// The primitive actions, relative to the entry's `at`.
    fn expand(&self, x: &mut Expansion);
}

/// Packets the broker can be told to drop, delay or close the connection
/// after (the QoS 2 ones for issue 11, P5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The broker drops the next `count` packets of this type to the DUT.
    BrokerDrop { packet: Packet, count: u32 },
    /// The broker sends the next `count` packets of this type to the DUT
    /// `delay` late (what follows on the connection waits behind them).
    BrokerDelay {
        packet: Packet,
        delay: Dur,
        count: u32,
    },
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
}

/// The actions one entry expands to, relative to its `at`.
#[derive(Debug, Default)]
pub struct Expansion {
    pub(crate) actions: Vec<(Dur, Action)>,
    pub(crate) ends_at: Option<Dur>,
}

impl Expansion {
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

/// Reads an optional `link` field (default `dut`).
pub(crate) fn link_field(f: &mut Fields) -> Result<Link, Diagnostic> {
    Ok(f.opt::<Link>("link")?.unwrap_or_default())
}

/// Reads an optional `count` field: at least 1, default 1.
pub(crate) fn count_field(f: &mut Fields) -> Result<u32, Diagnostic> {
    let count: i64 = f.opt("count")?.unwrap_or(1);
    if !(1..=u32::MAX as i64).contains(&count) {
        return Err(f.invalid("count", format!("must be at least 1, not {count}")));
    }
    Ok(count as u32)
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
    ($($ty:ident,)*) => {
        /// One fault, of any kind.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Fault {
            $($ty($ty),)*
        }

        /// Every fault kind's name, in documentation order.
        pub const KINDS: &[&str] = &[$($ty::KIND,)*];

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

            /// The primitive actions.
            pub fn expand(&self) -> Expansion {
                let mut x = Expansion::default();
                match self { $(Fault::$ty(f) => f.expand(&mut x),)* }
                x
            }

            /// True when faults of `kind` are silent outages.
            pub fn is_silent(kind: &str) -> bool {
                $(if kind == $ty::KIND { return $ty::SILENT; })*
                false
            }

            /// True when faults of `kind` start a disruption (see
            /// [`FaultSpec::DISRUPTS`]); false for unknown kinds.
            pub fn disrupts(kind: &str) -> bool {
                $(if kind == $ty::KIND { return $ty::DISRUPTS; })*
                false
            }

            /// (name, fields, summary) of every kind.
            pub fn catalogue() -> Vec<(&'static str, &'static [&'static str], &'static str)> {
                vec![$(($ty::KIND, $ty::FIELDS, $ty::SUMMARY),)*]
            }
        }
    };
}

fault_kinds! {
    WifiDown,
    WifiUp,
    WifiFlap,
    LinkBlackhole,
    LinkRestore,
    LinkHold,
    LinkRelease,
    Latency,
    BrokerCrash,
    BrokerRestart,
    BrokerPowerLoss,
    BrokerRefuse,
    BrokerDrop,
    BrokerDelay,
    BrokerCloseAfter,
    BrokerHang,
    BrokerDisconnect,
    BrokerFlood,
    TlsStall,
    TlsCert,
    DutReboot,
}

/// A timeline entry: a fault at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultEntry {
    pub at: Dur,
    /// A backend that cannot apply it records `unsupported` and goes on.
    pub optional: bool,
    pub fault: Fault,
    /// Where the entry is in its file (for messages).
    pub span: Range<usize>,
    /// Where its `kind` value is (timeline errors point there).
    pub kind_span: Range<usize>,
}

/// Joins `key=value` words, skipping `None`s.
pub(crate) fn words(parts: &[(&str, Option<String>)]) -> String {
    parts
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(" ")
}
