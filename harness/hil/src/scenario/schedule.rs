//! The timeline compiled into the exact steps a backend executes.
//!
//! [`Schedule::build`] expands every timeline entry into primitive
//! [`Action`]s at absolute times, orders them, and replays them against a
//! model of the world's state (WiFi up or down, each link blackholed or
//! held, the broker running, down or hung, refusing or not) to reject
//! timelines that make no sense: a `wifi_up` while the WiFi is up, a
//! `broker_restart` of a running broker, overlapping flaps, a `for` that
//! runs past the end of the run. Only the first such problem is reported
//! (later ones are often its consequence).
//!
//! It also decides the trace contract for faults: each [`Step`] lists the
//! events the executor emits (actor `faults`) just before applying its
//! action:
//!
//! - the first step of an entry emits `fault{kind, detail}`;
//! - the step where a disruption ends emits `fault_end{kind}` with the kind
//!   that started it: the last step of a self-ending fault (`for`, a flap,
//!   `broker_drop` and `dut_reboot` at once), or a restoring fault
//!   (`wifi_up` ends `wifi_down`, `link_restore` ends `link_blackhole`,
//!   `link_release` ends `link_hold`, `broker_restart` ends `broker_crash`
//!   or `broker_power_loss`).
//!
//! Order: by time; at one time, steps that continue or end earlier entries
//! come before new entries; then file order.
//!
//! Tolerances (`at = "60s ± 2s"`, see `scenario::at`): the checked
//! schedule holds the nominal times; [`Schedule::for_seed`] moves each
//! entry's steps together by the offset the seed draws for that entry and
//! orders them again. So that no seed can make a timeline invalid, the
//! check also rejects an entry whose window lets one of its steps cross, or
//! meet, a step of another entry acting on the same thing (the WiFi, one
//! link's blackhole, hold or latency, the broker's life, its refusal, its
//! TLS): such steps keep their written order on every seed. Steps on
//! different things may swap; that is the point.
//!
//! A backend that cannot apply an action of an `optional` entry emits
//! `unsupported{kind, backend}` once, instead of that entry's events, and
//! skips the entry's remaining steps. For an entry that is not optional it
//! fails the run as an infrastructure error.

use std::collections::BTreeMap;

use super::at::{shift, At, Slot};
use super::fault::{Action, FaultEntry, Packet};
use super::network::Link;
use crate::duration::Dur;
use crate::trace::Event;

/// One thing to do at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub at: Dur,
    /// How far a seed may move this step (its entry's tolerance); zero in
    /// a schedule made for one seed ([`Schedule::for_seed`]).
    pub tolerance: Dur,
    /// Index of the timeline entry this step belongs to.
    pub entry: usize,
    /// That entry's fault kind.
    pub kind: &'static str,
    /// That entry's `optional` flag.
    pub optional: bool,
    pub action: Action,
    /// Events to emit (actor `faults`) before applying the action.
    pub announce: Vec<Event>,
}

/// The whole timeline as steps.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schedule {
    pub steps: Vec<Step>,
}

/// A timeline problem: the entry it is about, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError {
    pub entry: usize,
    pub message: String,
}

#[derive(Clone, Copy)]
struct Owner {
    entry: usize,
    kind: &'static str,
    at: Dur,
    self_ending: bool,
}

#[derive(Clone, Copy)]
enum Broker {
    Running,
    Down(Owner),
    Hung(Owner),
}

struct State {
    wifi_down: Option<Owner>,
    blackhole: [Option<Owner>; 2],
    hold: [Option<Owner>; 2],
    latency: [Option<Owner>; 2],
    broker: Broker,
    refusing: Option<Owner>,
    /// `broker_drop` / `broker_delay` windows (`for`) in force, by (delay?,
    /// packet): another fault on those packets would replace it.
    packet_windows: BTreeMap<(bool, Packet), Owner>,
    /// A `dut_power_cycle` has the DUT's power off.
    dut_off: Option<Owner>,
}

fn li(link: Link) -> usize {
    match link {
        Link::Dut => 0,
        Link::Observer => 1,
    }
}

fn since(o: &Owner) -> String {
    format!("the {} at {}", o.kind, o.at)
}

impl Schedule {
    /// Compiles `timeline` for a run of `duration` with seed `seed` (which
    /// draws the random parts of kinds that have them, e.g. an irregular
    /// `wifi_flap`).
    pub fn build(
        timeline: &[FaultEntry],
        duration: Dur,
        seed: u64,
    ) -> Result<Schedule, ScheduleError> {
        struct Raw {
            at: Dur,
            phase: u8,
            entry: usize,
            seq: usize,
            action: Action,
            first: bool,
            ends: bool,
        }
        let mut raw = Vec::new();
        for (i, e) in timeline.iter().enumerate() {
            let when = At {
                at: e.at,
                tolerance: e.tolerance,
            };
            if when.latest() >= duration {
                return Err(ScheduleError {
                    entry: i,
                    message: format!("at {when} is not before the end of the run ({duration})"),
                });
            }
            if e.tolerance > e.at {
                return Err(ScheduleError {
                    entry: i,
                    message: format!(
                        "at {when} could fall before the start of the run: the tolerance must be at most {}",
                        e.at
                    ),
                });
            }
            let x = e.fault.expand_seeded(seed, i as u64);
            let mut ends_marked = false;
            for (seq, (offset, action)) in x.actions.iter().enumerate() {
                let at = Dur::from_millis(e.at.as_millis().saturating_add(offset.as_millis()));
                let latest =
                    Dur::from_millis(at.as_millis().saturating_add(e.tolerance.as_millis()));
                if latest > duration {
                    let until = if e.tolerance.is_zero() {
                        at.to_string()
                    } else {
                        format!("{latest} (with its tolerance)")
                    };
                    return Err(ScheduleError {
                        entry: i,
                        message: format!(
                            "this {} lasts until {until}, after the end of the run ({duration})",
                            e.fault.kind()
                        ),
                    });
                }
                // The end is marked on the last action at the end offset.
                let ends = !ends_marked
                    && x.ends_at == Some(*offset)
                    && !x.actions[seq + 1..].iter().any(|(o, _)| o == offset);
                ends_marked |= ends;
                raw.push(Raw {
                    at,
                    phase: u8::from(offset.is_zero()),
                    entry: i,
                    seq,
                    action: *action,
                    first: seq == 0,
                    ends,
                });
            }
        }
        raw.sort_by_key(|r| (r.at, r.phase, r.entry, r.seq));

        let mut st = State {
            wifi_down: None,
            blackhole: [None; 2],
            hold: [None; 2],
            latency: [None; 2],
            broker: Broker::Running,
            refusing: None,
            packet_windows: BTreeMap::new(),
            dut_off: None,
        };
        let mut steps = Vec::with_capacity(raw.len());
        for r in raw {
            let entry = &timeline[r.entry];
            let kind = entry.fault.kind();
            let self_ending = entry.fault.ends_after().is_some();
            let me = Owner {
                entry: r.entry,
                kind,
                at: entry.at,
                self_ending,
            };
            let err = |message: String| ScheduleError {
                entry: r.entry,
                message,
            };
            let mut announce = Vec::new();
            if r.first {
                announce.push(Event::Fault {
                    kind: kind.to_string(),
                    detail: entry.fault.detail(),
                });
            }
            // A restore that is its own entry ends the fault that it restores.
            let restores = |owner: Option<Owner>,
                            what: &str,
                            restorer: &str|
             -> Result<Option<Owner>, ScheduleError> {
                match owner {
                    None => Err(err(format!("{restorer} without a prior {what}"))),
                    Some(o) if o.entry == r.entry => Ok(Some(o)),
                    Some(o) if o.self_ending => Err(err(format!(
                        "{} already ends by itself; remove this {restorer} or its `for`",
                        since(&o)
                    ))),
                    Some(o) => Ok(Some(o)),
                }
            };
            let mut ended: Option<Owner> = None;
            match r.action {
                Action::WifiDown => {
                    if let Some(o) = st.wifi_down {
                        return Err(err(format!("the WiFi is already down ({} has it down)", since(&o))));
                    }
                    st.wifi_down = Some(me);
                }
                Action::WifiUp => {
                    ended = restores(st.wifi_down, "wifi_down", "wifi_up")?;
                    st.wifi_down = None;
                }
                // A wifi_associating keeps the WiFi as its own from its
                // down until IP works.
                Action::WifiUpNoIp { .. } => {}
                Action::IpUp => st.wifi_down = None,
                Action::Blackhole(l) => {
                    if let Some(o) = st.blackhole[li(l)] {
                        return Err(err(format!("link {l} is already blackholed by {}", since(&o))));
                    }
                    st.blackhole[li(l)] = Some(me);
                }
                Action::Restore(l) => {
                    ended = restores(st.blackhole[li(l)], &format!("link_blackhole on link {l}"), "link_restore")?;
                    st.blackhole[li(l)] = None;
                }
                Action::Hold(l) => {
                    if let Some(o) = st.hold[li(l)] {
                        return Err(err(format!("link {l} is already held by {}", since(&o))));
                    }
                    st.hold[li(l)] = Some(me);
                }
                Action::Release(l) => {
                    ended = restores(st.hold[li(l)], &format!("link_hold on link {l}"), "link_release")?;
                    st.hold[li(l)] = None;
                }
                Action::SetLatency { link, .. } => {
                    if let Some(o) = st.latency[li(link)] {
                        return Err(err(format!(
                            "{} still sets link {link}'s latency (its `for` has not ended)",
                            since(&o)
                        )));
                    }
                    if self_ending {
                        st.latency[li(link)] = Some(me);
                    }
                }
                Action::ResetLatency(link) => st.latency[li(link)] = None,
                Action::BrokerCrash | Action::BrokerPowerLoss => match st.broker {
                    Broker::Running => st.broker = Broker::Down(me),
                    Broker::Down(o) => return Err(err(format!("the broker is already down ({})", since(&o)))),
                    Broker::Hung(o) => return Err(err(format!("the broker is hung by {} until its `for` ends", since(&o)))),
                },
                Action::BrokerRestart { .. } => match st.broker {
                    Broker::Down(o) => {
                        ended = Some(o);
                        st.broker = Broker::Running;
                    }
                    _ => {
                        return Err(err(
                            "broker_restart of a running broker: it needs a broker_crash or broker_power_loss before it"
                                .to_string(),
                        ))
                    }
                },
                Action::BrokerHang => match st.broker {
                    Broker::Running => st.broker = Broker::Hung(me),
                    Broker::Down(o) => return Err(err(format!("the broker is down ({})", since(&o)))),
                    Broker::Hung(o) => return Err(err(format!("the broker is already hung by {}", since(&o)))),
                },
                Action::BrokerResume => st.broker = Broker::Running,
                Action::BrokerRefuse { .. } => {
                    if let Some(o) = st.refusing {
                        return Err(err(format!("the broker is already refusing connections ({})", since(&o))));
                    }
                    st.refusing = Some(me);
                }
                Action::BrokerAccept => st.refusing = None,
                Action::BrokerDrop { packet, .. } | Action::BrokerDelay { packet, .. } => {
                    let key = (matches!(r.action, Action::BrokerDelay { .. }), packet);
                    if let Some(o) = st.packet_windows.get(&key) {
                        return Err(err(format!(
                            "{} still acts on {packet} packets (its `for` has not ended); a second {kind} of them would replace it",
                            since(o)
                        )));
                    }
                    if entry.fault.ends_after().is_some_and(|d| !d.is_zero()) {
                        st.packet_windows.insert(key, me);
                    }
                }
                Action::BrokerDropEnd(packet) => {
                    st.packet_windows.remove(&(false, packet));
                }
                Action::BrokerDelayEnd(packet) => {
                    st.packet_windows.remove(&(true, packet));
                }
                Action::BrokerCloseAfter { .. }
                | Action::LinkReset(_)
                | Action::SetExtraLatency { .. }
                | Action::ResetExtraLatency { .. }
                | Action::BrokerDuplicate { .. }
                | Action::BrokerForgetSessions
                | Action::BrokerCloseAfterBytes { .. }
                | Action::BrokerCloseAfterBytesEnd
                | Action::BrokerDelayConnack { .. }
                | Action::BrokerDelayConnackEnd
                | Action::BrokerReusePid { .. }
                | Action::BrokerDisconnect { .. }
                | Action::BrokerFlood { .. }
                | Action::TlsStall
                | Action::TlsUnstall
                | Action::TlsCert(_) => {}
                Action::DutReboot | Action::DutPowerOff => {
                    if let Some(o) = st.dut_off {
                        return Err(err(format!("the DUT's power is off ({})", since(&o))));
                    }
                    if r.action == Action::DutPowerOff {
                        st.dut_off = Some(me);
                    }
                }
                Action::DutPowerOn => st.dut_off = None,
                Action::SerialCut
                | Action::SerialRestore
                | Action::SerialNoise { .. }
                | Action::SerialDrop { .. }
                | Action::GatewayReboot => {}
            }
            if r.ends {
                announce.push(Event::FaultEnd {
                    kind: kind.to_string(),
                });
            } else if let Some(o) = ended {
                if o.entry != r.entry {
                    announce.push(Event::FaultEnd {
                        kind: o.kind.to_string(),
                    });
                }
            }
            steps.push(Step {
                at: r.at,
                tolerance: entry.tolerance,
                entry: r.entry,
                kind,
                optional: entry.optional,
                action: r.action,
                announce,
            });
        }
        check_windows(timeline, &steps)?;
        Ok(Schedule { steps })
    }

    /// The schedule `seed` runs: every entry's steps moved together by the
    /// offset the seed draws within the entry's tolerance, in time order
    /// (ties keep the written order). Exact entries stay where they are.
    /// The result has no tolerances left.
    pub fn for_seed(&self, seed: u64) -> Schedule {
        let mut steps: Vec<Step> = self
            .steps
            .iter()
            .map(|s| {
                let when = At {
                    at: s.at,
                    tolerance: s.tolerance,
                };
                let offset = when.offset_ms(seed, Slot::Timeline(s.entry));
                Step {
                    at: Dur::from_millis(shift(s.at, offset)),
                    tolerance: Dur::ZERO,
                    ..s.clone()
                }
            })
            .collect();
        // Stable: steps at one time keep the checked order.
        steps.sort_by_key(|s| s.at);
        Schedule { steps }
    }

    /// The `fault_end` times: when each disruption ends, with its kind.
    pub fn ends(&self) -> impl Iterator<Item = (Dur, &str)> {
        self.steps.iter().flat_map(|s| {
            s.announce.iter().filter_map(move |e| match e {
                Event::FaultEnd { kind } => Some((s.at, kind.as_str())),
                _ => None,
            })
        })
    }
}

/// What a step acts on, for the tolerance check: steps on one thing must
/// keep their order (`None`: it acts on nothing another entry's order
/// depends on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Thing {
    Wifi,
    Blackhole(Link),
    Hold(Link),
    Latency(Link),
    Broker,
    Refusal,
    Tls,
    /// A `broker_drop`/`broker_delay` window on one packet type.
    Packets(Packet),
    CloseAfterBytes,
    DelayConnack,
    /// `[bridge]`: the serial line (cut, noise, byte loss).
    Serial,
}

fn thing(a: &Action) -> Option<Thing> {
    Some(match a {
        Action::WifiDown | Action::WifiUp | Action::WifiUpNoIp { .. } | Action::IpUp => Thing::Wifi,
        Action::Blackhole(l) | Action::Restore(l) => Thing::Blackhole(*l),
        Action::Hold(l) | Action::Release(l) => Thing::Hold(*l),
        Action::SetLatency { link, .. } | Action::ResetLatency(link) => Thing::Latency(*link),
        Action::SetExtraLatency { .. } | Action::ResetExtraLatency { .. } => {
            Thing::Latency(Link::Dut)
        }
        Action::BrokerDrop { packet, .. }
        | Action::BrokerDropEnd(packet)
        | Action::BrokerDelay { packet, .. }
        | Action::BrokerDelayEnd(packet) => Thing::Packets(*packet),
        Action::BrokerCloseAfterBytes { .. } | Action::BrokerCloseAfterBytesEnd => {
            Thing::CloseAfterBytes
        }
        Action::BrokerDelayConnack { .. } | Action::BrokerDelayConnackEnd => Thing::DelayConnack,
        Action::BrokerCrash
        | Action::BrokerPowerLoss
        | Action::BrokerRestart { .. }
        | Action::BrokerHang
        | Action::BrokerResume => Thing::Broker,
        Action::BrokerRefuse { .. } | Action::BrokerAccept => Thing::Refusal,
        Action::TlsStall | Action::TlsUnstall | Action::TlsCert(_) => Thing::Tls,
        Action::BrokerCloseAfter { .. }
        | Action::BrokerDisconnect { .. }
        | Action::BrokerFlood { .. }
        | Action::LinkReset(_)
        | Action::BrokerDuplicate { .. }
        | Action::BrokerForgetSessions
        | Action::BrokerReusePid { .. }
        | Action::DutReboot
        | Action::GatewayReboot
        | Action::DutPowerOff
        | Action::DutPowerOn => return None,
        Action::SerialCut
        | Action::SerialRestore
        | Action::SerialNoise { .. }
        | Action::SerialDrop { .. } => Thing::Serial,
    })
}

/// Rejects tolerances that would let steps of two entries on one thing
/// swap or meet (see the module documentation). `steps` are in checked
/// order.
fn check_windows(timeline: &[FaultEntry], steps: &[Step]) -> Result<(), ScheduleError> {
    let widest = steps.iter().map(|s| s.tolerance).max().unwrap_or(Dur::ZERO);
    if widest.is_zero() {
        return Ok(());
    }
    for (j, b) in steps.iter().enumerate() {
        let Some(tb) = thing(&b.action) else { continue };
        for a in steps[..j].iter().rev() {
            let gap = b.at.as_millis() - a.at.as_millis();
            if gap > widest.as_millis() + b.tolerance.as_millis() {
                break;
            }
            let slack = a.tolerance.as_millis() + b.tolerance.as_millis();
            if a.entry == b.entry || slack == 0 || gap > slack || thing(&a.action) != Some(tb) {
                continue;
            }
            let (ea, eb) = (&timeline[a.entry], &timeline[b.entry]);
            let when = |e: &FaultEntry| At {
                at: e.at,
                tolerance: e.tolerance,
            };
            return Err(ScheduleError {
                entry: b.entry,
                message: format!(
                    "with the tolerances, this {} (at {}) could come before or together with the {} of the {} at {} ({} apart, tolerances add up to {}); move them further apart or narrow the tolerances",
                    b.kind,
                    when(eb),
                    step_name(&a.action),
                    a.kind,
                    when(ea),
                    Dur::from_millis(gap),
                    Dur::from_millis(slack),
                ),
            });
        }
    }
    Ok(())
}

/// A step's action as a short noun for messages.
fn step_name(a: &Action) -> &'static str {
    match a {
        Action::WifiUp | Action::Restore(_) | Action::Release(_) | Action::ResetLatency(_) => "end",
        Action::BrokerResume | Action::BrokerAccept | Action::TlsUnstall => "end",
        Action::IpUp
        | Action::BrokerDropEnd(_)
        | Action::BrokerDelayEnd(_)
        | Action::ResetExtraLatency { .. }
        | Action::BrokerCloseAfterBytesEnd
        | Action::BrokerDelayConnackEnd => "end",
        _ => "start",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::fault::Action::*;

    fn steps(timeline: &str) -> Vec<(u64, Action, Vec<String>)> {
        let src = format!("name = \"s\"\nduration = \"10m\"\n{timeline}");
        let (s, _) = crate::scenario::parse(&src).unwrap_or_else(|e| panic!("{e:?}"));
        s.schedule
            .steps
            .iter()
            .map(|st| {
                let ann = st
                    .announce
                    .iter()
                    .map(|e| match e {
                        Event::Fault { kind, detail } => {
                            format!("fault {kind} {detail}").trim_end().to_string()
                        }
                        Event::FaultEnd { kind } => format!("end {kind}"),
                        other => format!("{other:?}"),
                    })
                    .collect();
                (st.at.as_millis(), st.action, ann)
            })
            .collect()
    }

    #[test]
    fn self_ending_and_paired_faults_announce_their_ends() {
        let got = steps(
            "[[timeline]]\nat = \"1m\"\nkind = \"broker_crash\"\n\
             [[timeline]]\nat = \"10s\"\nkind = \"wifi_down\"\nfor = \"20s\"\n\
             [[timeline]]\nat = \"90s\"\nkind = \"broker_restart\"\npersist = true\n\
             [[timeline]]\nat = \"2m\"\nkind = \"dut_reboot\"\n",
        );
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                (10_000, WifiDown, s(&["fault wifi_down for=20s"])),
                (30_000, WifiUp, s(&["end wifi_down"])),
                (60_000, BrokerCrash, s(&["fault broker_crash"])),
                (
                    90_000,
                    BrokerRestart { persist: true },
                    s(&["fault broker_restart persist=true", "end broker_crash"])
                ),
                (
                    120_000,
                    DutReboot,
                    s(&["fault dut_reboot", "end dut_reboot"])
                ),
            ]
        );
    }

    #[test]
    fn a_flap_expands_into_downs_and_ups_and_ends_up() {
        let got = steps("[[timeline]]\nat = \"1m\"\nkind = \"wifi_flap\"\nperiod = \"10s\"\nduty = 0.3\nfor = \"25s\"\n");
        let times: Vec<(u64, Action)> = got.iter().map(|(t, a, _)| (*t, *a)).collect();
        assert_eq!(
            times,
            vec![
                (60_000, WifiDown),
                (63_000, WifiUp),
                (70_000, WifiDown),
                (73_000, WifiUp),
                (80_000, WifiDown),
                (83_000, WifiUp),
            ]
        );
        assert_eq!(
            got[0].2,
            vec!["fault wifi_flap period=10s duty=0.3 for=25s".to_string()]
        );
        assert_eq!(got[5].2, vec!["end wifi_flap".to_string()]);
    }

    #[test]
    fn at_one_time_endings_come_before_new_faults() {
        // Listed in the "wrong" order in the file: still valid.
        let got = steps(
            "[[timeline]]\nat = \"30s\"\nkind = \"wifi_down\"\n\
             [[timeline]]\nat = \"10s\"\nkind = \"wifi_down\"\nfor = \"20s\"\n",
        );
        let acts: Vec<Action> = got.iter().map(|g| g.1).collect();
        assert_eq!(acts, vec![WifiDown, WifiUp, WifiDown]);
    }

    fn errors_of(timeline: &str) -> String {
        let src = format!("name = \"s\"\nduration = \"10m\"\n{timeline}");
        match crate::scenario::parse(&src) {
            Ok(_) => panic!("expected an error for {timeline}"),
            Err(d) => d.iter().map(|d| d.message.clone()).collect(),
        }
    }

    fn schedule(timeline: &str) -> Schedule {
        let src = format!("name = \"s\"\nduration = \"10m\"\n{timeline}");
        crate::scenario::parse(&src)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .0
            .schedule
    }

    #[test]
    fn a_tolerance_moves_each_entry_as_a_whole_and_exact_entries_not_at_all() {
        let s = schedule(
            "[[timeline]]\nat = \"60s ± 2s\"\nkind = \"wifi_down\"\nfor = \"20s\"\n\
             [[timeline]]\nat = \"65s\"\nkind = \"broker_drop\"\npacket = \"puback\"\n",
        );
        assert_eq!(s.steps[0].tolerance, Dur::from_secs(2));
        let mut starts = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let x = s.for_seed(seed);
            let down = x.steps.iter().find(|st| st.action == WifiDown).unwrap().at;
            let up = x.steps.iter().find(|st| st.action == WifiUp).unwrap().at;
            let drop = x.steps.iter().find(|st| st.entry == 1).unwrap().at;
            assert!((58_000..=62_000).contains(&down.as_millis()), "{down}");
            assert_eq!(up.as_millis() - down.as_millis(), 20_000);
            assert_eq!(drop, Dur::from_secs(65));
            assert!(x.steps.iter().all(|st| st.tolerance.is_zero()));
            assert!(x.steps.windows(2).all(|w| w[0].at <= w[1].at));
            assert_eq!(x, s.for_seed(seed), "one seed, one schedule");
            starts.insert(down);
        }
        assert!(starts.len() > 100, "{}", starts.len());
    }

    #[test]
    fn entries_on_different_things_may_swap() {
        let s = schedule(
            "[[timeline]]\nat = \"60s ± 2s\"\nkind = \"wifi_down\"\nfor = \"20s\"\n\
             [[timeline]]\nat = \"60s500ms\"\nkind = \"broker_drop\"\npacket = \"puback\"\n",
        );
        let firsts: std::collections::BTreeSet<usize> = (0..50)
            .map(|seed| s.for_seed(seed).steps[0].entry)
            .collect();
        assert_eq!(firsts.len(), 2, "both orders occur");
    }

    #[test]
    fn windows_that_could_reorder_one_thing_are_errors() {
        let e = errors_of(
            "[[timeline]]\nat = \"10s\"\nkind = \"wifi_down\"\nfor = \"20s\"\n\
             [[timeline]]\nat = \"31s ± 2s\"\nkind = \"wifi_down\"\nfor = \"5s\"\n",
        );
        assert!(
            e.contains("this wifi_down (at 31s ± 2s) could come before or together with the end of the wifi_down at 10s (1s apart, tolerances add up to 2s)"),
            "{e}"
        );
        // Far enough apart: fine.
        schedule(
            "[[timeline]]\nat = \"10s\"\nkind = \"wifi_down\"\nfor = \"20s\"\n\
             [[timeline]]\nat = \"33s ± 2s\"\nkind = \"wifi_down\"\nfor = \"5s\"\n",
        );
        let e = errors_of(
            "[[timeline]]\nat = \"10s ± 3s\"\nkind = \"broker_crash\"\n\
             [[timeline]]\nat = \"12s ± 3s\"\nkind = \"broker_restart\"\npersist = true\n",
        );
        assert!(e.contains("this broker_restart (at 12s ± 3s) could come before or together with the start of the broker_crash at 10s ± 3s"), "{e}");
    }

    #[test]
    fn a_window_must_fit_in_the_run() {
        let e = errors_of("[[timeline]]\nat = \"1s ± 2s\"\nkind = \"broker_crash\"\n");
        assert!(e.contains("at 1s ± 2s could fall before the start of the run: the tolerance must be at most 1s"), "{e}");
        let e = errors_of("[[timeline]]\nat = \"9m59s ± 2s\"\nkind = \"broker_crash\"\n");
        assert!(
            e.contains("at 9m59s ± 2s is not before the end of the run (10m)"),
            "{e}"
        );
        let e = errors_of("[[timeline]]\nat = \"9m ± 30s\"\nkind = \"wifi_down\"\nfor = \"45s\"\n");
        assert!(e.contains("this wifi_down lasts until 10m15s (with its tolerance), after the end of the run (10m)"), "{e}");
        let e = errors_of("[[timeline]]\nat = \"9m ± 3\"\nkind = \"wifi_down\"\n");
        assert!(e.contains("invalid time `9m ± 3`: tolerance `3`: a number needs a unit; expected a duration, optionally with a tolerance"), "{e}");
    }
}
