//! Oracles: checks that read only the trace and say whether the device
//! behaved.
//!
//! One file per oracle, each a struct implementing [`OracleSpec`] (name,
//! parameters, the prerequisites it needs in a scenario, and `check`),
//! gathered into [`Oracle`] by the `oracles!` list below. Adding an oracle =
//! one new file, its `mod` line, and one line in that list.
//!
//! Every failure names the trace records that broke the rule
//! ([`EventRef`]: index in the trace and time), so a developer can jump to
//! them in `trace.jsonl` (line = index + 1) or the transcript.
//!
//! Each oracle declares the evidence it judges ([`OracleSpec::needs`],
//! kinds of trace events by who can produce them: [`Evidence`]), and each
//! backend the evidence its DUT produces (`Backend::evidence`). An oracle
//! that needs what the DUT cannot produce (the application's heartbeat
//! from a black-box device known only from the wire) is reported
//! *unsupported*, with the reason, and never judged: not a pass. The
//! default is [`Evidence::App`], so a new oracle is unsupported on
//! black-box DUTs until it says it can judge wire-view traces.
//!
//! An oracle with nothing to judge in a trace (say, no silent fault because
//! the backend could not apply an optional one) is *inconclusive*: reported,
//! but not a failure. Scenario checks make sure a scenario gives each of its
//! oracles something to judge.

mod attempts_end_within;
mod backoff_followed;
mod boot_session_present;
mod conformance;
mod connect_error_mentions;
mod connect_returns_within;
mod detects_outage_within;
mod discards_counted;
mod disconnect_reason;
mod duplicates_at_most;
mod evidence;
mod exactly_once;
mod fresh_ids_after_session_loss;
mod host_never_blocked;
mod link_resyncs_within;
mod never_stalls;
mod no_broker_violations;
mod no_reconnect_after_disconnect;
mod no_stray_acks;
mod offline_queue;
mod ping_cadence;
mod publish_completes_within;
mod qos1_no_loss;
mod receives_within;
mod reconnect_attempts_at_most;
mod reconnect_session_present;
mod recovers_within;
mod resubscribed_after_reconnect;
mod retransmits_at_most;
mod retransmits_per_message_at_most;
mod wifi_not_cycled;
mod will_not_published;
mod will_published;

pub use attempts_end_within::AttemptsEndWithin;
pub use backoff_followed::BackoffFollowed;
pub use boot_session_present::BootSessionPresent;
pub use conformance::Conformance;
pub use connect_error_mentions::ConnectErrorMentions;
pub use connect_returns_within::ConnectReturnsWithin;
pub use detects_outage_within::DetectsOutageWithin;
pub use discards_counted::DiscardsCounted;
pub use disconnect_reason::DisconnectReason;
pub use duplicates_at_most::DuplicatesAtMost;
pub use exactly_once::ExactlyOnce;
pub use fresh_ids_after_session_loss::FreshIdsAfterSessionLoss;
pub use host_never_blocked::HostNeverBlocked;
pub use link_resyncs_within::LinkResyncsWithin;
pub use never_stalls::NeverStalls;
pub use no_broker_violations::NoBrokerViolations;
pub use no_reconnect_after_disconnect::NoReconnectAfterDisconnect;
pub use no_stray_acks::NoStrayAcks;
pub use offline_queue::OfflineQueue;
pub use ping_cadence::PingCadence;
pub use publish_completes_within::PublishCompletesWithin;
pub use qos1_no_loss::Qos1NoLoss;
pub use receives_within::ReceivesWithin;
pub use reconnect_attempts_at_most::ReconnectAttemptsAtMost;
pub use reconnect_session_present::ReconnectSessionPresent;
pub use recovers_within::RecoversWithin;
pub use resubscribed_after_reconnect::ResubscribedAfterReconnect;
pub use retransmits_at_most::RetransmitsAtMost;
pub use retransmits_per_message_at_most::RetransmitsPerMessageAtMost;
pub use wifi_not_cycled::WifiNotCycled;
pub use will_not_published::WillNotPublished;
pub use will_published::WillPublished;

use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::scenario::dut::DutConfig;
use crate::scenario::fields::Fields;
use crate::scenario::Scenario;
use crate::trace::{Actor, Dir, Event, EventRef, Record};

/// A kind of trace evidence, by who can produce it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// The DUT's connections and packets (`connecting`, `connected`,
    /// `connection_lost`, `up`/`down`, `publish_sent`, `puback`,
    /// `retransmit`, pings, `subscribed`, `message`): reported by our
    /// driver, or seen on the wire in front of a black-box DUT.
    Wire,
    /// The application's publishes by message id (`app_publish_start` /
    /// `app_publish_done` and the ids in deliveries): reported by our
    /// application, or read from a black-box DUT's payloads as its DUT
    /// profile declares (`seq`).
    Messages,
    /// What only an instrumented application or driver can say: when
    /// `publish()` and `connect()` returned, heartbeats, queue and discard
    /// counters, the driver's view of its WiFi.
    App,
}

impl Evidence {
    /// Every kind (what our own DUT produces).
    pub const ALL: &'static [Evidence] = &[Evidence::Wire, Evidence::Messages, Evidence::App];

    /// What it is, for an `unsupported` note.
    pub fn describe(self) -> &'static str {
        match self {
            Evidence::Wire => "the DUT's connections and packets",
            Evidence::Messages => "message ids in the DUT's payloads (a DUT profile's `seq`)",
            Evidence::App => {
                "the application's own events (publish()/connect() timing, heartbeats, queue counters)"
            }
        }
    }
}

/// What one oracle is.
pub trait OracleSpec: Sized {
    /// The `oracle = "..."` name.
    const NAME: &'static str;
    /// Its parameters.
    const FIELDS: &'static [&'static str];
    /// One line for help and the README.
    const SUMMARY: &'static str;

    /// Reads the parameters.
    fn parse(f: &mut Fields) -> Result<Self, Diagnostic>;
    /// The parameters as `key=value` words.
    fn params(&self) -> String;
    /// Whether `scenario` gives this oracle something to judge; the error
    /// says what is missing ("needs ...").
    fn requires(&self, _scenario: &Scenario) -> Result<(), String> {
        Ok(())
    }
    /// The evidence it judges (see [`Evidence`]); by default the
    /// application's own events, which a black-box DUT cannot produce.
    fn needs(&self) -> &'static [Evidence] {
        &[Evidence::App]
    }
    /// What exactly it needs that a DUT may lack, in its own terms (for
    /// the `unsupported` note, after the evidence's description); empty:
    /// the description says it.
    fn needs_why(&self) -> &'static str {
        ""
    }
    /// Takes what it needs from the scenario's `[dut]` (e.g. the backoff
    /// it judges against), once the whole file is read.
    fn configure(&mut self, _dut: &DutConfig) {}
    /// Judges a trace.
    fn check(&self, trace: &Trace<'_>) -> Outcome;
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub message: String,
    /// The records that broke it.
    pub events: Vec<EventRef>,
}

impl Failure {
    pub fn new(message: impl Into<String>, events: Vec<EventRef>) -> Failure {
        Failure {
            message: message.into(),
            events,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if !self.events.is_empty() {
            let refs: Vec<String> = self.events.iter().map(|e| e.to_string()).collect();
            write!(f, " [events {}]", refs.join(", "))?;
        }
        Ok(())
    }
}

/// An oracle's judgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(Vec<Failure>),
    /// Nothing to judge, and why.
    Inconclusive(String),
    /// An outcome with a note for the reader: what was seen but not held
    /// against the DUT (a loss the broker caused), or what this check
    /// cannot see on this backend. The verdict keeps the inner status.
    Noted(Box<Outcome>, String),
}

impl Outcome {
    /// This outcome with `note` added (none when `note` is empty).
    pub fn noted(self, note: impl Into<String>) -> Outcome {
        let note = note.into();
        if note.is_empty() {
            return self;
        }
        match self {
            Outcome::Noted(inner, old) => Outcome::Noted(inner, format!("{old}; {note}")),
            other => Outcome::Noted(Box::new(other), note),
        }
    }

    /// `Pass` if `failures` is empty.
    pub fn from_failures(failures: Vec<Failure>) -> Outcome {
        if failures.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail(failures)
        }
    }
}

/// Status word of a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Inconclusive,
    /// The DUT cannot produce the events this oracle needs; not judged.
    Unsupported,
}

/// One oracle's verdict on one run (what `verdicts.json` lists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub oracle: String,
    pub params: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A read-only view of a trace with the helpers oracles share.
pub struct Trace<'a> {
    pub records: &'a [Record],
}

impl<'a> Trace<'a> {
    pub fn new(records: &'a [Record]) -> Trace<'a> {
        Trace { records }
    }

    /// The reference to record `i`.
    pub fn r(&self, i: usize) -> EventRef {
        EventRef {
            index: i,
            t_ms: self.records[i].t_ms,
        }
    }

    /// Records with their indexes.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &'a Record)> {
        self.records.iter().enumerate()
    }

    /// Events of one actor with their indexes.
    pub fn of(&self, actor: Actor) -> impl Iterator<Item = (usize, &'a Event)> {
        self.records
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.actor == actor)
            .map(|(i, r)| (i, &r.event))
    }

    /// When the run ended: `run_end`'s time, else the last record's.
    pub fn end_ms(&self) -> u64 {
        self.records
            .iter()
            .rev()
            .find(|r| matches!(r.event, Event::RunEnd))
            .or(self.records.last())
            .map(|r| r.t_ms)
            .unwrap_or(0)
    }

    /// The DUT's `up` / `down` notifications: (index, time, is_up).
    pub fn dut_updown(&self) -> Vec<(usize, u64, bool)> {
        self.of(Actor::Dut)
            .filter_map(|(i, e)| match e {
                Event::Up => Some((i, self.records[i].t_ms, true)),
                Event::Down => Some((i, self.records[i].t_ms, false)),
                _ => None,
            })
            .collect()
    }

    /// The last up/down notification at or before `t` (None: not yet up).
    pub fn dut_state_at(
        &self,
        updown: &[(usize, u64, bool)],
        t: u64,
    ) -> Option<(usize, u64, bool)> {
        updown.iter().rev().find(|(_, ti, _)| *ti <= t).copied()
    }

    /// Whether the DUT's session was lost after record `i`: a later
    /// `connected` with `session_present = false` (a clean session, or a
    /// broker that forgot it). Messages queued for it may then be gone.
    pub fn dut_session_lost_after(&self, i: usize) -> bool {
        self.records[i + 1..].iter().any(|x| {
            x.actor == Actor::Dut
                && matches!(
                    x.event,
                    Event::Connected {
                        session_present: false,
                        ..
                    }
                )
        })
    }

    /// Whether the DUT was up at `t`, or came up after it and by `until`.
    pub fn dut_up_after(&self, updown: &[(usize, u64, bool)], t: u64, until: u64) -> bool {
        self.dut_state_at(updown, t).is_some_and(|s| s.2)
            || updown
                .iter()
                .any(|(_, ti, up)| *up && *ti > t && *ti <= until)
    }

    /// Every disruption (a `fault` of a kind that disrupts, see
    /// `Fault::disrupts`): its start, its end (its `fault_end`'s time, or
    /// `u64::MAX` when it lasts to the end) and the index of that
    /// `fault_end`.
    pub fn disruptions(&self) -> Vec<(u64, u64, Option<usize>)> {
        let mut spans = Vec::new();
        for (i, e) in self.of(Actor::Faults) {
            let Event::Fault { kind, .. } = e else {
                continue;
            };
            if !crate::scenario::fault::Fault::disrupts(kind) {
                continue;
            }
            let end = self.records[i..].iter().enumerate().find(|(_, r)| {
                r.actor == Actor::Faults
                    && matches!(&r.event, Event::FaultEnd { kind: k } if k == kind)
            });
            spans.push(match end {
                Some((j, r)) => (self.records[i].t_ms, r.t_ms, Some(i + j)),
                None => (self.records[i].t_ms, u64::MAX, None),
            });
        }
        spans
    }

    /// Whether a disruption of `spans` other than the one the `fault_end`
    /// at index `end` closes overlaps the window from its time `from` to
    /// `to` (one that ended exactly at `from` does not).
    pub fn disrupted_besides(
        spans: &[(u64, u64, Option<usize>)],
        end: usize,
        from: u64,
        to: u64,
    ) -> bool {
        spans
            .iter()
            .any(|&(s, e, j)| j != Some(end) && s <= to && e >= from && !(e == from && s < from))
    }

    /// Whether the qos >= 1 publish to `topic` that the observer completed
    /// at record `i` reached the broker before any subscription of the DUT
    /// to it did: in the broker's packet log (when the trace has one), a
    /// SUBSCRIBE matching `topic` arrives after the last new PUBLISH on
    /// `topic` before `i`. The broker had nobody to route it to: the
    /// message fell in the DUT's subscribe gap (a clean session is
    /// subscribed only once its SUBSCRIBE arrives), which no client can
    /// close, and `subscribed` (stamped at the SUBACK) and
    /// `observer_publish` (stamped at the PUBACK) alone cannot show.
    pub fn published_before_subscribe(&self, i: usize, topic: &str) -> bool {
        let subscribes_to = |s: &str| {
            s.strip_prefix("SUBSCRIBE ")
                .and_then(|rest| rest.split_once(' '))
                .is_some_and(|(_, filters)| {
                    filters.split(',').any(|f| {
                        f.rsplit_once(':')
                            .is_some_and(|(f, _)| crate::scenario::types::filter_matches(f, topic))
                    })
                })
        };
        let Some(p) = self.records[..i]
            .iter()
            .rposition(|r| broker_in(r).and_then(publish_topic) == Some(topic))
        else {
            return false;
        };
        self.records[p + 1..i]
            .iter()
            .filter_map(broker_in)
            .any(subscribes_to)
    }

    /// Times of faults that reboot the DUT (`dut_reboot`, the power going
    /// off in `dut_power_cycle`).
    pub fn reboots(&self) -> Vec<u64> {
        self.of(Actor::Faults)
            .filter_map(|(i, e)| match e {
                Event::Fault { kind, .. } if crate::scenario::fault::Fault::reboots(kind) => {
                    Some(self.records[i].t_ms)
                }
                _ => None,
            })
            .collect()
    }
}

/// The summary of a packet the broker received.
fn broker_in(r: &Record) -> Option<&str> {
    match &r.event {
        Event::BrokerPacket {
            dir: Dir::In,
            summary,
            ..
        } => Some(summary.as_str()),
        _ => None,
    }
}

/// The topic of a new (not DUP) PUBLISH in the broker's packet log.
fn publish_topic(summary: &str) -> Option<&str> {
    let rest = summary.strip_prefix("PUBLISH ")?;
    if !rest.contains(" dup=0 ") {
        return None;
    }
    let (_, t) = rest.split_once(" topic=")?;
    Some(t.rsplit_once(" len=").map_or(t, |(t, _)| t))
}

/// Milliseconds as `12.340s`.
/// The DUT's connection attempts that open a session it chose to start,
/// not a reconnect: the first after its own clean DISCONNECT (seen on the
/// wire as `connection_lost {reason: disconnected_by_dut}`) or after the
/// application's `disconnect()`. A client that connects once per message
/// (`mosquitto_pub` in a loop, a battery sensor that wakes, publishes and
/// disconnects) is not a reconnect storm. Indices into `records`.
pub fn chosen_connects(records: &[Record]) -> std::collections::BTreeSet<usize> {
    let mut chosen = std::collections::BTreeSet::new();
    let mut by_choice = false;
    for (i, r) in records.iter().enumerate() {
        match (&r.actor, &r.event) {
            (Actor::Dut, Event::ConnectionLost { reason }) => {
                by_choice = reason == "disconnected_by_dut";
            }
            (Actor::App, Event::AppDisconnect) => by_choice = true,
            (Actor::Dut, Event::Connecting { .. }) => {
                if by_choice {
                    chosen.insert(i);
                }
                by_choice = false;
            }
            _ => {}
        }
    }
    chosen
}

pub fn secs(ms: u64) -> String {
    Dur::from_millis(ms).secs_string()
}

/// Reads a positive number of seconds (integer or decimal) into whole ms.
pub(crate) fn seconds_field(f: &mut Fields, key: &'static str) -> Result<u64, Diagnostic> {
    let s: f64 = f.req(key)?;
    if !(s > 0.0 && s < 1e9) {
        return Err(f.invalid(
            key,
            format!("must be a positive number of seconds, not {s}"),
        ));
    }
    Ok((s * 1000.0).round() as u64)
}

/// Reads a non-negative integer.
pub(crate) fn count_field(f: &mut Fields, key: &'static str) -> Result<u64, Diagnostic> {
    let n: i64 = f.req(key)?;
    u64::try_from(n).map_err(|_| f.invalid(key, format!("must be 0 or more, not {n}")))
}

/// `Pass` when at most `n` records were `found` (each with its text),
/// else one failure naming them all: `3 stray acks, more than the 1
/// allowed: ...`.
pub(crate) fn at_most(t: &Trace<'_>, n: u64, found: &[(usize, String)], what: &str) -> Outcome {
    if found.len() as u64 <= n {
        return Outcome::Pass;
    }
    let texts: Vec<&str> = found.iter().map(|(_, s)| s.as_str()).collect();
    Outcome::Fail(vec![Failure::new(
        format!(
            "{} {what}, more than the {n} allowed: {}",
            found.len(),
            texts.join("; ")
        ),
        found.iter().map(|&(i, _)| t.r(i)).collect(),
    )])
}

/// Reads an optional non-negative integer, `default` when absent.
pub(crate) fn opt_count_field(
    f: &mut Fields,
    key: &'static str,
    default: u64,
) -> Result<u64, Diagnostic> {
    match f.opt::<i64>(key)? {
        None => Ok(default),
        Some(n) => {
            u64::try_from(n).map_err(|_| f.invalid(key, format!("must be 0 or more, not {n}")))
        }
    }
}

/// `20s` for 20_000 ms, `2.5s` for 2_500.
#[allow(clippy::manual_is_multiple_of)] // is_multiple_of is newer than the MSRV
pub(crate) fn fmt_seconds(ms: u64) -> String {
    if ms % 1000 == 0 {
        format!("{}", ms / 1000)
    } else {
        format!("{}", ms as f64 / 1000.0)
    }
}

macro_rules! oracles {
    ($($ty:ident,)*) => {
        /// One oracle, of any kind, with its parameters.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Oracle {
            $($ty($ty),)*
        }

        /// Every oracle's name.
        pub const ORACLES: &[&str] = &[$($ty::NAME,)*];

        impl Oracle {
            /// Reads an oracle called `name`; `None` for an unknown name.
            pub fn parse(name: &str, f: &mut Fields) -> Option<Result<Oracle, Diagnostic>> {
                $(
                    if name == $ty::NAME {
                        let r = f
                            .expect_only(format!("oracle `{}`", $ty::NAME), $ty::FIELDS)
                            .and_then(|()| $ty::parse(f))
                            .map(Oracle::$ty);
                        return Some(r);
                    }
                )*
                None
            }

            pub fn name(&self) -> &'static str {
                match self { $(Oracle::$ty(_) => $ty::NAME,)* }
            }

            pub fn params(&self) -> String {
                match self { $(Oracle::$ty(o) => o.params(),)* }
            }

            pub fn requires(&self, s: &Scenario) -> Result<(), String> {
                match self { $(Oracle::$ty(o) => o.requires(s),)* }
            }

            pub fn configure(&mut self, dut: &DutConfig) {
                match self { $(Oracle::$ty(o) => o.configure(dut),)* }
            }

            pub fn check(&self, t: &Trace<'_>) -> Outcome {
                match self { $(Oracle::$ty(o) => o.check(t),)* }
            }

            pub fn needs(&self) -> &'static [Evidence] {
                match self { $(Oracle::$ty(o) => o.needs(),)* }
            }

            pub fn needs_why(&self) -> &'static str {
                match self { $(Oracle::$ty(o) => o.needs_why(),)* }
            }

            /// (name, fields, summary) of every oracle.
            pub fn catalogue() -> Vec<(&'static str, &'static [&'static str], &'static str)> {
                vec![$(($ty::NAME, $ty::FIELDS, $ty::SUMMARY),)*]
            }
        }
    };
}

oracles! {
    Qos1NoLoss,
    DuplicatesAtMost,
    RecoversWithin,
    DetectsOutageWithin,
    NeverStalls,
    WillPublished,
    WillNotPublished,
    ResubscribedAfterReconnect,
    Conformance,
    ReconnectAttemptsAtMost,
    ConnectReturnsWithin,
    DiscardsCounted,
    PublishCompletesWithin,
    NoReconnectAfterDisconnect,
    RetransmitsAtMost,
    BootSessionPresent,
    ExactlyOnce,
    AttemptsEndWithin,
    ConnectErrorMentions,
    WifiNotCycled,
    OfflineQueue,
    DisconnectReason,
    ReconnectSessionPresent,
    NoStrayAcks,
    FreshIdsAfterSessionLoss,
    PingCadence,
    RetransmitsPerMessageAtMost,
    BackoffFollowed,
    ReceivesWithin,
    NoBrokerViolations,
    LinkResyncsWithin,
    HostNeverBlocked,
}

/// An `[[expect]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct OracleEntry {
    pub oracle: Oracle,
    /// Where it is in its file.
    pub span: Range<usize>,
}

impl Oracle {
    /// Judges `records` and wraps the outcome as a [`Verdict`].
    pub fn verdict(&self, records: &[Record]) -> Verdict {
        self.verdict_with(records, Evidence::ALL, "")
    }

    /// [`Oracle::verdict`] for a DUT that produces only `produced` (`dut`
    /// names it in the note): unsupported, unjudged, if the oracle needs
    /// more.
    pub fn verdict_with(&self, records: &[Record], produced: &[Evidence], dut: &str) -> Verdict {
        let missing: Vec<&str> = self
            .needs()
            .iter()
            .filter(|e| !produced.contains(e))
            .map(|e| e.describe())
            .collect();
        if !missing.is_empty() {
            let why = match self.needs_why() {
                "" => String::new(),
                w => format!(": {w}"),
            };
            return Verdict {
                oracle: self.name().to_string(),
                params: self.params(),
                status: Status::Unsupported,
                failures: vec![],
                note: Some(format!(
                    "needs {}{why}, which {dut} cannot produce",
                    missing.join(" and ")
                )),
            };
        }
        let mut outcome = self.check(&Trace::new(records));
        let mut notes = Vec::new();
        while let Outcome::Noted(inner, note) = outcome {
            notes.push(note);
            outcome = *inner;
        }
        let extra = (!notes.is_empty()).then(|| notes.join("; "));
        let (status, failures, note) = match outcome {
            Outcome::Pass => (Status::Pass, vec![], extra),
            Outcome::Fail(f) => (Status::Fail, f, extra),
            Outcome::Inconclusive(why) => (
                Status::Inconclusive,
                vec![],
                Some(match extra {
                    Some(n) => format!("{why}; {n}"),
                    None => why,
                }),
            ),
            Outcome::Noted(..) => (Status::Inconclusive, vec![], extra),
        };
        Verdict {
            oracle: self.name().to_string(),
            params: self.params(),
            status,
            failures,
            note,
        }
    }
}

#[cfg(test)]
pub(crate) mod testkit {
    //! Hand-written traces for oracle tests.
    use crate::trace::{Actor, Event, Record};

    /// Builds a trace from (t_ms, actor, event) triples.
    pub fn trace(items: Vec<(u64, Actor, Event)>) -> Vec<Record> {
        items
            .into_iter()
            .map(|(t, a, e)| Record::new(t, a, e))
            .collect()
    }

    /// [`trace`] as a black-box DUT's run gives it: the DUT's and its
    /// application's records observed on the wire (`source = "wire"`).
    pub fn wire(items: Vec<(u64, Actor, Event)>) -> Vec<Record> {
        trace(items)
            .into_iter()
            .map(|r| match r.actor {
                Actor::Dut | Actor::App => r.from_source(crate::trace::Source::Wire),
                _ => r,
            })
            .collect()
    }

    pub fn s(x: &str) -> String {
        x.to_string()
    }

    /// Parses an oracle from a TOML `[[expect]]` body.
    pub fn oracle(body: &str) -> super::Oracle {
        let src = format!(
            "name = \"t\"\nduration = \"10m\"\n[workload]\nheartbeat = \"1s\"\ndisconnect_at = \"9m\"\nobserver = [{{ topic = \"c\", qos = 1, interval = \"1s\" }}]\npublish = [{{ topic = \"t\", qos = 1, interval = \"1s\" }}]\nsubscribe = [{{ topic = \"c\", qos = 1 }}]\n[dut]\nwill = {{ topic = \"w\", message = \"x\", retain = false, qos = 1 }}\nqueue_len = 2\n[[timeline]]\nat = \"1m\"\nkind = \"link_blackhole\"\nfor = \"1m\"\n[[expect]]\n{body}\n"
        );
        match crate::scenario::parse(&src) {
            Ok((s, _)) => s.expect[0].oracle.clone(),
            Err(e) => panic!("{e:?}"),
        }
    }

    /// The failure messages, or a panic if the outcome is not a failure.
    pub fn failures(o: &super::Oracle, records: &[Record]) -> Vec<super::Failure> {
        match o.check(&super::Trace::new(records)) {
            super::Outcome::Fail(f) => f,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    pub fn passes(o: &super::Oracle, records: &[Record]) {
        let out = o.check(&super::Trace::new(records));
        assert_eq!(out, super::Outcome::Pass);
    }

    pub use Actor::{App, Broker, Dut, Faults, Harness, Observer};

    pub fn run_end(t: u64) -> (u64, Actor, Event) {
        (t, Harness, Event::RunEnd)
    }
}
