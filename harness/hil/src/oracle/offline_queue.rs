//! `offline_queue{max, reboot, grace}`: the DUT's bounded offline queue
//! (P5 beyond, `dut.offline_queue`) held what it accepted, no more, and
//! delivered it in order. From the trace alone:
//!
//! - **Bound**: the application's publishes the DUT holds (shown by a
//!   `queued`, `publish_sent` or `queue_restored`, and not dropped or
//!   completed: a `puback` for QoS >= 1, sent for QoS 0) never number more
//!   than `max` at the end of any instant, and every `queued` event
//!   reports `held <= max`.
//! - **Overflow**: each `queue_dropped` names the oldest held publish the
//!   broker had not accepted yet (QoS 2 past PUBREC excepted); a dropped
//!   publish is never delivered unless it was sent before it was dropped;
//!   a `queue_rejected` publish is never sent or delivered.
//! - **Delivery**: every accepted QoS >= 1 publish that was not dropped or
//!   refused reaches the observer, and the first deliveries of one stream
//!   come in the order the application published.
//! - **Reboot** (`dut_reboot`): with `reboot = "keeps"` (the default;
//!   `persist = true`) every QoS >= 1 publish held at the reboot is
//!   `queue_restored` at the next boot and then delivered as above. With
//!   `reboot = "loses"` (`persist = false`) the publishes held at the
//!   reboot are the expected loss: they are not judged for delivery, and
//!   there must be at least one (or the scenario shows nothing). QoS 0
//!   publishes held at a reboot are lost either way (P2).
//!
//! Publishes started within `grace` (default 2 s) of the end are not judged
//! for delivery.

use std::collections::{BTreeMap, BTreeSet};

use super::{secs, Failure, OracleSpec, Outcome, Trace};
use crate::diag::Diagnostic;
use crate::duration::Dur;
use crate::scenario::fields::Fields;
use crate::scenario::Scenario;
use crate::trace::{Actor, Event};

/// Failures of one kind reported one by one; the rest are counted.
const CAP: usize = 10;

#[derive(Debug, Clone, PartialEq)]
pub struct OfflineQueue {
    pub max: u64,
    /// True: `reboot = "keeps"`; false: `"loses"`.
    pub keeps: bool,
    pub grace: Dur,
}

impl OracleSpec for OfflineQueue {
    const NAME: &'static str = "offline_queue";
    const FIELDS: &'static [&'static str] = &["max", "reboot", "grace"];
    const SUMMARY: &'static str =
        "the offline queue holds at most `max`, drops/refuses exactly what it reports, delivers the rest in order (across reboots if `reboot = \"keeps\"`)";

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let max = super::count_field(f, "max")?;
        if max == 0 {
            return Err(f.invalid("max", "must be 1 or more"));
        }
        let keeps = match f.opt::<String>("reboot")?.as_deref() {
            None | Some("keeps") => true,
            Some("loses") => false,
            Some(other) => {
                return Err(f.invalid(
                    "reboot",
                    format!("expected \"keeps\" or \"loses\", not \"{other}\""),
                ))
            }
        };
        Ok(OfflineQueue {
            max,
            keeps,
            grace: f.opt("grace")?.unwrap_or(Dur::from_secs(2)),
        })
    }

    fn params(&self) -> String {
        format!(
            "max={} reboot={} grace={}",
            self.max,
            if self.keeps { "keeps" } else { "loses" },
            self.grace
        )
    }

    fn requires(&self, s: &Scenario) -> Result<(), String> {
        let Some(q) = &s.dut.offline_queue else {
            return Err("needs `dut.offline_queue`".into());
        };
        if s.workload.publish.is_empty() {
            return Err("needs a [[workload.publish]] stream".into());
        }
        let reboots = s
            .timeline
            .iter()
            .any(|e| crate::scenario::fault::Fault::reboots(e.fault.kind()));
        if !self.keeps && !reboots {
            return Err("reboot = \"loses\" needs a dut_reboot in the timeline".into());
        }
        if !self.keeps && q.persist {
            return Err("reboot = \"loses\" is for `dut.offline_queue.persist = false`".into());
        }
        if self.keeps && reboots && !q.persist {
            return Err("a dut_reboot with reboot = \"keeps\" needs `dut.offline_queue.persist = true` (or say reboot = \"loses\")".into());
        }
        Ok(())
    }

    fn needs_why(&self) -> &'static str {
        "the driver's offline-queue events (`queued`, `queue_dropped`, `queue_rejected`, `queue_restored`)"
    }

    fn check(&self, t: &Trace<'_>) -> Outcome {
        Checker::new(self, t).run()
    }
}

/// One application publish, from its `app_publish_start`.
struct Msg {
    start: usize,
    qos: u8,
    /// The driver showed it had it (`queued`, `publish_sent`, `queue_restored`).
    seen_by_dut: bool,
    /// A `publish_sent` for it so far.
    sent: bool,
    /// PUBREC came (QoS 2): the broker has it; never dropped.
    released: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Fate {
    /// Accepted; to be delivered.
    Judged,
    Rejected(usize),
    /// Dropped at record .0; .1 = it had been sent before.
    Dropped(usize, bool),
    /// Held at a reboot with `reboot = "loses"`, or QoS 0 at a reboot, or
    /// never reached the driver before a reboot.
    Lost(usize),
}

struct Checker<'a, 'o> {
    o: &'o OfflineQueue,
    t: &'o Trace<'a>,
    msgs: BTreeMap<&'a str, Msg>,
    fate: BTreeMap<&'a str, Fate>,
    /// Acceptance order.
    order: Vec<&'a str>,
    /// Held now, oldest first.
    held: Vec<&'a str>,
    pid_msg: BTreeMap<u16, &'a str>,
    /// Held QoS >= 1 publishes at the last reboot, not yet restored.
    to_restore: BTreeMap<&'a str, usize>,
    delivered: BTreeMap<&'a str, usize>,
    failures: Vec<Failure>,
    lost_at_reboot: usize,
    /// Bound broken: (first failure's index in `failures`, instants over
    /// the bound, most held) for the trace's count and the DUT's reports.
    over: Option<(usize, u64, usize)>,
    over_reported: Option<(usize, u64, usize)>,
    /// Drops that were not of the oldest held publish.
    wrong_victims: Vec<(String, Vec<usize>)>,
}

impl<'a, 'o> Checker<'a, 'o> {
    fn new(o: &'o OfflineQueue, t: &'o Trace<'a>) -> Self {
        Checker {
            o,
            t,
            msgs: BTreeMap::new(),
            fate: BTreeMap::new(),
            order: Vec::new(),
            held: Vec::new(),
            pid_msg: BTreeMap::new(),
            to_restore: BTreeMap::new(),
            delivered: BTreeMap::new(),
            failures: Vec::new(),
            lost_at_reboot: 0,
            over: None,
            over_reported: None,
            wrong_victims: Vec::new(),
        }
    }

    fn fail(&mut self, message: String, events: Vec<usize>) {
        let refs = events.into_iter().map(|i| self.t.r(i)).collect();
        self.failures.push(Failure::new(message, refs));
    }

    fn unhold(&mut self, msg: &str) {
        self.held.retain(|m| *m != msg);
    }

    /// Publishes held at the last reboot that the next boot did not
    /// restore (checked when the driver first tries to connect, and at
    /// the end): reported, and not judged again for delivery.
    fn missed_restores(&mut self, at: usize) {
        let mut missed: Vec<(&'a str, usize)> =
            std::mem::take(&mut self.to_restore).into_iter().collect();
        missed.sort_by_key(|(m, _)| self.msgs.get(m).map_or(0, |x| x.start));
        let mut items = Vec::new();
        for (msg, reboot) in missed {
            self.unhold(msg);
            self.fate.insert(msg, Fate::Lost(reboot));
            items.push((
                format!(
                    "{msg} was held at the reboot at {} but never restored",
                    secs(self.t.records[reboot].t_ms)
                ),
                vec![reboot, at],
            ));
        }
        self.fail_capped(items, "held at a reboot were never restored");
    }

    /// Reports the first [`CAP`] failures of one kind one by one, then
    /// how many more there were.
    fn fail_capped(&mut self, items: Vec<(String, Vec<usize>)>, what: &str) {
        let n = items.len();
        for (message, events) in items.into_iter().take(CAP) {
            self.fail(message, events);
        }
        if n > CAP {
            self.fail(format!("and {} more publishes {what}", n - CAP), vec![]);
        }
    }

    fn run(mut self) -> Outcome {
        let t = self.t;
        let records = t.records;
        let mut i = 0;
        let mut queue_events = 0usize;
        while i < records.len() {
            // One instant at a time: the application's call and the
            // driver's answer to it share a time.
            let now = records[i].t_ms;
            while i < records.len() && records[i].t_ms == now {
                queue_events += self.record(i) as usize;
                i += 1;
            }
            // Held and accepted: the DUT has shown it has it (on a live
            // backend the application's call and the driver's answer may
            // be a millisecond apart).
            let accepted: Vec<&'a str> = self
                .held
                .iter()
                .filter(|m| self.msgs.get(**m).is_some_and(|x| x.seen_by_dut))
                .copied()
                .collect();
            let n = accepted.len();
            if n as u64 > self.o.max {
                match &mut self.over {
                    Some((_, times, most)) => {
                        *times += 1;
                        *most = (*most).max(n);
                    }
                    None => {
                        let oldest = accepted[0];
                        let start = self.msgs[oldest].start;
                        self.over = Some((self.failures.len(), 1, n));
                        self.fail(
                            format!(
                                "{n} publishes held at {}, more than max {} (oldest {oldest})",
                                secs(now),
                                self.o.max
                            ),
                            vec![start, i - 1],
                        );
                    }
                }
            }
        }
        for (over, what) in [(self.over, "held"), (self.over_reported, "reported held")] {
            if let Some((at, times, most)) = over {
                if times > 1 {
                    self.failures[at].message +=
                        &format!("; {what} over the bound at {times} instants, at most {most}");
                }
            }
        }
        let wrong = std::mem::take(&mut self.wrong_victims);
        self.fail_capped(wrong, "were dropped out of turn");
        self.missed_restores(records.len().saturating_sub(1));
        if queue_events == 0 {
            return Outcome::Inconclusive(
                "nothing was queued: the DUT never held a publish while not connected".into(),
            );
        }
        self.judge_delivery();
        if !self.o.keeps && self.lost_at_reboot == 0 && !t.reboots().is_empty() {
            self.fail(
                "reboot = \"loses\", but no queued QoS >= 1 publish was held at a reboot".into(),
                vec![],
            );
        }
        Outcome::from_failures(self.failures)
    }

    /// Takes one record; true if it is an offline queue event.
    fn record(&mut self, i: usize) -> bool {
        let records: &'a [crate::trace::Record] = self.t.records;
        let r = &records[i];
        match (&r.actor, &r.event) {
            (Actor::App, Event::AppPublishStart { msg, qos, .. }) => {
                self.msgs.insert(
                    msg,
                    Msg {
                        start: i,
                        qos: *qos,
                        seen_by_dut: false,
                        sent: false,
                        released: false,
                    },
                );
                self.fate.insert(msg, Fate::Judged);
                self.order.push(msg);
                self.held.push(msg);
            }
            (Actor::Dut, Event::Queued { msg, held }) => {
                if let Some(m) = self.msgs.get_mut(msg.as_str()) {
                    m.seen_by_dut = true;
                }
                if *held as u64 > self.o.max {
                    match &mut self.over_reported {
                        Some((_, times, most)) => {
                            *times += 1;
                            *most = (*most).max(*held);
                        }
                        None => {
                            self.over_reported = Some((self.failures.len(), 1, *held));
                            self.fail(
                                format!(
                                    "the DUT reports {held} publishes held, more than max {}",
                                    self.o.max
                                ),
                                vec![i],
                            );
                        }
                    }
                }
                return true;
            }
            (Actor::Dut, Event::QueueRejected { msg, .. }) => {
                self.unhold(msg);
                if self.msgs.get(msg.as_str()).is_some_and(|m| m.sent) {
                    self.fail(
                        format!("{msg} was refused by the queue after it was sent"),
                        vec![i],
                    );
                }
                self.fate.insert(msg, Fate::Rejected(i));
                return true;
            }
            (Actor::Dut, Event::QueueDropped { msg, .. }) => {
                let oldest = self
                    .held
                    .iter()
                    .find(|m| self.msgs.get(**m).is_none_or(|x| !x.released))
                    .copied();
                if oldest != Some(msg.as_str()) {
                    self.wrong_victims.push((
                        format!(
                            "{msg} was dropped, but the oldest held publish was {}",
                            oldest.unwrap_or("none")
                        ),
                        vec![i],
                    ));
                }
                self.unhold(msg);
                let sent = self.msgs.get(msg.as_str()).is_some_and(|m| m.sent);
                self.fate.insert(msg, Fate::Dropped(i, sent));
                return true;
            }
            (Actor::Dut, Event::QueueRestored { msg, .. }) => {
                if self.to_restore.remove(msg.as_str()).is_none() {
                    self.fail(
                        format!("{msg} was restored, but it was not held at a reboot"),
                        vec![i],
                    );
                } else if let Some(m) = self.msgs.get_mut(msg.as_str()) {
                    m.seen_by_dut = true;
                }
                return true;
            }
            (Actor::Dut, Event::PublishSent { pid, qos, msg, .. }) => {
                if let Some(m) = self.msgs.get_mut(msg.as_str()) {
                    m.seen_by_dut = true;
                    m.sent = true;
                }
                if let Some(Fate::Rejected(ri)) = self.fate.get(msg.as_str()).copied() {
                    self.fail(
                        format!("{msg} was refused by the queue but sent"),
                        vec![ri, i],
                    );
                }
                match pid {
                    Some(pid) if *qos > 0 => {
                        self.pid_msg.insert(*pid, msg);
                    }
                    _ => self.unhold(msg),
                }
            }
            (Actor::Dut, Event::Connecting { .. }) if !self.to_restore.is_empty() => {
                self.missed_restores(i);
            }
            (Actor::Dut, Event::PubrelSent { pid, .. }) => {
                if let Some(msg) = self.pid_msg.get(pid) {
                    if let Some(m) = self.msgs.get_mut(*msg) {
                        m.released = true;
                    }
                }
            }
            (Actor::Dut, Event::Puback { pid }) => {
                if let Some(msg) = self.pid_msg.remove(pid) {
                    self.unhold(msg);
                }
            }
            (Actor::Faults, Event::Fault { kind, .. })
                if crate::scenario::fault::Fault::reboots(kind) =>
            {
                self.missed_restores(i);
                self.pid_msg.clear();
                for msg in std::mem::take(&mut self.held) {
                    let m = &self.msgs[msg];
                    if !m.seen_by_dut || m.qos == 0 {
                        // Never reached the driver, or QoS 0 (P2).
                        self.fate.insert(msg, Fate::Lost(i));
                    } else if self.o.keeps {
                        self.to_restore.insert(msg, i);
                        self.held.push(msg);
                    } else {
                        self.lost_at_reboot += 1;
                        self.fate.insert(msg, Fate::Lost(i));
                    }
                }
            }
            (Actor::Observer, Event::Delivered { msg, .. }) => {
                self.delivered.entry(msg).or_insert(i);
                match self.fate.get(msg.as_str()).copied() {
                    Some(Fate::Rejected(ri)) => self.fail(
                        format!("{msg} was refused by the queue but delivered"),
                        vec![ri, i],
                    ),
                    Some(Fate::Dropped(di, false)) => self.fail(
                        format!("{msg} was dropped before it was sent, but delivered"),
                        vec![di, i],
                    ),
                    _ => {}
                }
            }
            _ => {}
        }
        false
    }

    fn judge_delivery(&mut self) {
        let cutoff = self.t.end_ms().saturating_sub(self.o.grace.as_millis());
        // Last first-delivery per stream, for the order check.
        let mut last: BTreeMap<&str, (&str, usize)> = BTreeMap::new();
        let mut missing = Vec::new();
        let mut misordered = Vec::new();
        let judged: BTreeSet<&str> = self
            .fate
            .iter()
            .filter(|(_, f)| **f == Fate::Judged)
            .map(|(m, _)| *m)
            .collect();
        for msg in &self.order {
            let m = &self.msgs[msg];
            if m.qos == 0 || !judged.contains(msg) {
                continue;
            }
            let stream = msg.rsplit_once(':').map_or(*msg, |(s, _)| s);
            match self.delivered.get(msg) {
                Some(&d) => {
                    if let Some(&(prev, pd)) = last.get(stream) {
                        if d < pd {
                            misordered.push((format!("{msg} was delivered before {prev}, which was published earlier"), vec![pd, d]));
                        }
                    }
                    if last.get(stream).is_none_or(|&(_, pd)| d > pd) {
                        last.insert(stream, (*msg, d));
                    }
                }
                None if self.t.records[m.start].t_ms <= cutoff => {
                    missing.push((
                        format!("{msg} (qos {}) was accepted but never delivered", m.qos),
                        vec![m.start],
                    ));
                }
                None => {}
            }
        }
        self.fail_capped(missing, "were accepted but never delivered");
        self.fail_capped(misordered, "were delivered out of order");
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::trace::Event::*;
    use crate::trace::{Actor, Event, Record};

    /// The oracle from an `[[expect]]` body, in a scenario it can judge
    /// (an offline queue, a reboot; persisted unless `reboot = "loses"`).
    fn oracle(body: &str) -> super::super::Oracle {
        let persist = !body.contains("loses");
        let src = format!(
            "name = \"t\"\nduration = \"10m\"\n[workload]\npublish = [{{ topic = \"t\", qos = 1, interval = \"1s\" }}]\n[dut]\noffline_queue = {{ max_messages = 2, persist = {persist} }}\n[[timeline]]\nat = \"1m\"\nkind = \"dut_reboot\"\n[[expect]]\n{body}\n"
        );
        match crate::scenario::parse(&src) {
            Ok((s, _)) => s.expect[0].oracle.clone(),
            Err(e) => panic!("{e:?}"),
        }
    }

    fn start(t: u64, n: u32) -> (u64, Actor, Event) {
        (
            t,
            App,
            AppPublishStart {
                msg: format!("dut-0:{n}"),
                topic: s("t"),
                qos: 1,
            },
        )
    }

    fn queued(t: u64, n: u32, held: usize) -> (u64, Actor, Event) {
        (
            t,
            Dut,
            Queued {
                msg: format!("dut-0:{n}"),
                held,
            },
        )
    }

    fn dropped(t: u64, n: u32, total: u64) -> (u64, Actor, Event) {
        (
            t,
            Dut,
            QueueDropped {
                msg: format!("dut-0:{n}"),
                total,
            },
        )
    }

    fn sent(t: u64, n: u32, pid: u16) -> (u64, Actor, Event) {
        (
            t,
            Dut,
            PublishSent {
                pid: Some(pid),
                qos: 1,
                dup: false,
                topic: s("t"),
                msg: format!("dut-0:{n}"),
            },
        )
    }

    fn acked(t: u64, pid: u16) -> (u64, Actor, Event) {
        (t, Dut, Puback { pid })
    }

    fn delivered(t: u64, n: u32) -> (u64, Actor, Event) {
        (
            t,
            Observer,
            Delivered {
                topic: s("t"),
                msg: format!("dut-0:{n}"),
                qos: 1,
                retain: false,
                dup: false,
            },
        )
    }

    fn reboot(t: u64) -> (u64, Actor, Event) {
        (
            t,
            Faults,
            Fault {
                kind: s("dut_reboot"),
                detail: s(""),
            },
        )
    }

    fn restored(t: u64, n: u32) -> (u64, Actor, Event) {
        (
            t,
            Dut,
            QueueRestored {
                msg: format!("dut-0:{n}"),
                seq: n as u64,
            },
        )
    }

    /// An outage with 4 publishes and a queue of 2 under drop-oldest: 1
    /// and 2 dropped, 3 and 4 delivered in order.
    fn drop_oldest_run() -> Vec<Record> {
        trace(vec![
            start(1000, 1),
            queued(1000, 1, 1),
            start(2000, 2),
            queued(2000, 2, 2),
            start(3000, 3),
            dropped(3000, 1, 1),
            queued(3000, 3, 2),
            start(4000, 4),
            dropped(4000, 2, 2),
            queued(4000, 4, 2),
            sent(9000, 3, 1),
            sent(9000, 4, 2),
            delivered(9005, 3),
            delivered(9006, 4),
            acked(9010, 1),
            acked(9010, 2),
            run_end(20_000),
        ])
    }

    #[test]
    fn passes_drop_oldest_with_the_newest_delivered_in_order() {
        passes(
            &oracle("oracle = \"offline_queue\"\nmax = 2"),
            &drop_oldest_run(),
        );
    }

    #[test]
    fn names_a_queue_beyond_its_bound() {
        // The bound removed: nothing dropped, 4 held.
        let mut t = drop_oldest_run();
        t.retain(|r| !matches!(r.event, QueueDropped { .. }));
        let f = failures(&oracle("oracle = \"offline_queue\"\nmax = 2"), &t);
        assert_eq!(
            f[0].message,
            "3 publishes held at 3.000s, more than max 2 (oldest dut-0:1); held over the bound at 5 instants, at most 4"
        );
        assert_eq!(f[0].events[0].index, 0);
        // ... and the oldest were never delivered.
        assert!(f
            .iter()
            .any(|x| x.message == "dut-0:1 (qos 1) was accepted but never delivered"));
    }

    #[test]
    fn names_a_wrong_victim_a_dropped_delivery_and_disorder() {
        let t = trace(vec![
            start(1000, 1),
            queued(1000, 1, 1),
            start(2000, 2),
            queued(2000, 2, 2),
            start(3000, 3),
            dropped(3000, 2, 1),
            queued(3000, 3, 2),
            sent(9000, 1, 1),
            sent(9000, 3, 2),
            delivered(9005, 3),
            delivered(9006, 1),
            delivered(9007, 2),
            run_end(20_000),
        ]);
        let f = failures(&oracle("oracle = \"offline_queue\"\nmax = 2"), &t);
        let msgs: Vec<&str> = f.iter().map(|x| x.message.as_str()).collect();
        assert_eq!(
            msgs,
            vec![
                "dut-0:2 was dropped before it was sent, but delivered",
                "dut-0:2 was dropped, but the oldest held publish was dut-0:1",
                "dut-0:3 was delivered before dut-0:1, which was published earlier",
            ]
        );
        assert_eq!(f[0].events[1].index, 11);
        assert_eq!(f[1].events[0].index, 5);
    }

    fn reboot_run(restore: bool) -> Vec<Record> {
        let mut v = vec![
            start(1000, 1),
            queued(1000, 1, 1),
            start(2000, 2),
            queued(2000, 2, 2),
            reboot(3000),
        ];
        if restore {
            v.push(restored(3001, 1));
            v.push(restored(3001, 2));
        }
        v.extend([
            start(4000, 3),
            queued(4000, 3, if restore { 3 } else { 1 }),
            sent(9000, 1, 1),
            sent(9000, 2, 2),
            sent(9000, 3, 3),
            delivered(9005, 1),
            delivered(9005, 2),
            delivered(9006, 3),
            run_end(20_000),
        ]);
        if !restore {
            v.retain(|r| !matches!(&r.2, PublishSent { msg, .. } | Delivered { msg, .. } if msg != "dut-0:3"));
        }
        v.sort_by_key(|r| r.0);
        trace(v)
    }

    #[test]
    fn reboot_keeps_passes_when_restored_and_fails_when_lost() {
        let o = oracle("oracle = \"offline_queue\"\nmax = 3");
        passes(&o, &reboot_run(true));
        let f = failures(&o, &reboot_run(false));
        let msgs: Vec<&str> = f.iter().map(|x| x.message.as_str()).collect();
        assert_eq!(
            msgs,
            vec![
                "dut-0:1 was held at the reboot at 3.000s but never restored",
                "dut-0:2 was held at the reboot at 3.000s but never restored",
            ]
        );
        // Named at the end of the trace (no connection attempt after it).
        assert_eq!(f[0].events[0].index, 4);
    }

    #[test]
    fn reboot_loses_expects_the_loss() {
        let o = oracle("oracle = \"offline_queue\"\nmax = 3\nreboot = \"loses\"");
        passes(&o, &reboot_run(false));
        let f = failures(&o, &reboot_run(true));
        assert_eq!(
            f[0].message,
            "dut-0:1 was restored, but it was not held at a reboot"
        );
    }

    #[test]
    fn nothing_queued_is_inconclusive() {
        let t = trace(vec![
            start(1000, 1),
            sent(1000, 1, 1),
            acked(1001, 1),
            run_end(5000),
        ]);
        let o = oracle("oracle = \"offline_queue\"\nmax = 2");
        assert!(matches!(
            o.check(&super::super::Trace::new(&t)),
            super::super::Outcome::Inconclusive(_)
        ));
    }
}
