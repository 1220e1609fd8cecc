//! The SVG timeline of one run, drawn from its trace alone.
//!
//! Bands (one row each): the DUT's link (`wifi_up` / `wifi_down`), its
//! connection (`connecting`, `connected`, `disconnected` after
//! `connection_lost` / `connect_failed` / `down`), and the faults
//! (`fault` .. `fault_end`, one row per fault kind; a fault that starts and
//! ends at once is drawn as a narrow bar). Marks (a tick per event, one row
//! each): publish (`publish_sent` without DUP), ack (`puback`), retransmit
//! (`retransmit`), delivered (the observer's `delivered`).
//!
//! Every element carries a `class` naming what it is (`band link down`,
//! `fault broker_drop`, `mark retransmit`) and a `<title>` tooltip, so the
//! page is readable by people and checkable by tests. The output depends
//! only on the records: same trace, same bytes.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::duration::Dur;
use crate::scenario::fault::Fault;
use crate::trace::{Actor, Event, Record, Source};

/// A state held over a time span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub from_ms: u64,
    pub to_ms: u64,
    pub state: &'static str,
}

/// A fault over a time span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpan {
    pub from_ms: u64,
    pub to_ms: u64,
    pub kind: String,
    pub detail: String,
}

/// What a mark is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MarkKind {
    Publish,
    Ack,
    Retransmit,
    Delivered,
}

impl MarkKind {
    pub const ALL: [MarkKind; 4] = [
        MarkKind::Publish,
        MarkKind::Ack,
        MarkKind::Retransmit,
        MarkKind::Delivered,
    ];

    pub fn class(self) -> &'static str {
        match self {
            MarkKind::Publish => "publish",
            MarkKind::Ack => "ack",
            MarkKind::Retransmit => "retransmit",
            MarkKind::Delivered => "delivered",
        }
    }
}

/// One event drawn as a tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub t_ms: u64,
    pub kind: MarkKind,
    pub label: String,
}

/// What the plot shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Timeline {
    pub end_ms: u64,
    pub link: Vec<Span>,
    pub connection: Vec<Span>,
    pub faults: Vec<FaultSpan>,
    pub marks: Vec<Mark>,
    /// The DUT's events were observed on the wire (`source = "wire"`, a
    /// black-box DUT), not reported by it: the plot says so.
    pub wire: bool,
}

fn push_state(spans: &mut Vec<Span>, t: u64, state: &'static str) {
    if let Some(last) = spans.last_mut() {
        if last.state == state {
            return;
        }
        last.to_ms = t;
    }
    spans.push(Span {
        from_ms: t,
        to_ms: t,
        state,
    });
}

fn close(spans: &mut Vec<Span>, end: u64) {
    if let Some(last) = spans.last_mut() {
        last.to_ms = end.max(last.from_ms);
    }
    spans.retain(|s| s.to_ms > s.from_ms);
}

impl Timeline {
    /// Reads the bands and marks from a trace; `end_ms` is the run's end
    /// (the last record's time when `None`).
    pub fn from_records(records: &[Record], end_ms: Option<u64>) -> Timeline {
        let last = records.iter().map(|r| r.t_ms).max().unwrap_or(0);
        let end = end_ms.unwrap_or(last).max(last);
        let mut t = Timeline {
            end_ms: end,
            ..Timeline::default()
        };
        push_state(&mut t.link, 0, "down");
        push_state(&mut t.connection, 0, "disconnected");
        let mut open: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for r in records {
            let at = r.t_ms;
            if r.actor == Actor::Dut && r.source == Source::Wire {
                t.wire = true;
            }
            match (&r.actor, &r.event) {
                (Actor::Dut, Event::WifiUp) => push_state(&mut t.link, at, "up"),
                (Actor::Dut, Event::WifiDown) => push_state(&mut t.link, at, "down"),
                (Actor::Dut, Event::Connecting { .. }) => {
                    push_state(&mut t.connection, at, "connecting")
                }
                (Actor::Dut, Event::Connected { .. }) => {
                    push_state(&mut t.connection, at, "connected")
                }
                (
                    Actor::Dut,
                    Event::ConnectionLost { .. } | Event::ConnectFailed { .. } | Event::Down,
                ) => push_state(&mut t.connection, at, "disconnected"),
                (Actor::Dut, Event::PublishSent { dup, msg, pid, .. }) if !dup => {
                    t.marks.push(Mark {
                        t_ms: at,
                        kind: MarkKind::Publish,
                        label: match pid {
                            Some(p) => format!("publish {msg} pid={p}"),
                            None => format!("publish {msg}"),
                        },
                    })
                }
                (Actor::Dut, Event::Puback { pid }) => t.marks.push(Mark {
                    t_ms: at,
                    kind: MarkKind::Ack,
                    label: format!("puback pid={pid}"),
                }),
                (Actor::Dut, Event::Retransmit { pid }) => t.marks.push(Mark {
                    t_ms: at,
                    kind: MarkKind::Retransmit,
                    label: format!("retransmit pid={pid}"),
                }),
                (Actor::Observer, Event::Delivered { msg, dup, .. }) => t.marks.push(Mark {
                    t_ms: at,
                    kind: MarkKind::Delivered,
                    label: if *dup {
                        format!("delivered {msg} (dup)")
                    } else {
                        format!("delivered {msg}")
                    },
                }),
                (_, Event::Fault { kind, detail }) => {
                    open.entry(kind.clone()).or_default().push(t.faults.len());
                    t.faults.push(FaultSpan {
                        from_ms: at,
                        to_ms: end,
                        kind: kind.clone(),
                        detail: detail.clone(),
                    });
                }
                (_, Event::FaultEnd { kind }) => {
                    if let Some(i) = open.get_mut(kind).and_then(|v| v.pop()) {
                        t.faults[i].to_ms = at;
                    }
                }
                _ => {}
            }
        }
        // Faults that end another one (the catalogue says which) are
        // instants, not spans to the end.
        for (kind, left) in &open {
            if Fault::ends_fault(kind) {
                for &i in left {
                    t.faults[i].to_ms = t.faults[i].from_ms;
                }
            }
        }
        close(&mut t.link, end);
        close(&mut t.connection, end);
        t
    }
}

/// Escapes text for XML content and attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 96.0;
const RIGHT: f64 = 12.0;
const ROW: f64 = 20.0;
const GAP: f64 = 4.0;
const TOP: f64 = 22.0;

fn secs(ms: u64) -> String {
    Dur::from_millis(ms).secs_string()
}

/// A step between axis ticks that gives at most ~10 ticks.
fn tick_step(end_ms: u64) -> u64 {
    const STEPS: [u64; 14] = [
        100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000,
        600_000, 1_800_000,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| end_ms / s <= 10)
        .unwrap_or(3_600_000)
}

fn tick_label(ms: u64) -> String {
    if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", ms as f64 / 1000.0)
    }
}

/// Draws the timeline.
pub fn render(t: &Timeline) -> String {
    let plot = WIDTH - LEFT - RIGHT;
    let end = t.end_ms.max(1);
    let x = |ms: u64| LEFT + plot * (ms.min(end) as f64) / end as f64;
    let fault_kinds: Vec<&str> = {
        let mut k: Vec<&str> = Vec::new();
        for f in &t.faults {
            if !k.contains(&f.kind.as_str()) {
                k.push(&f.kind);
            }
        }
        k
    };
    let rows = 2 + fault_kinds.len().max(1) + MarkKind::ALL.len() + usize::from(t.wire);
    let height = TOP + rows as f64 * (ROW + GAP) + 8.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="timeline">"#
    );
    // Axis and grid.
    let step = tick_step(end);
    let mut tick = 0;
    while tick <= end {
        let tx = x(tick);
        let _ = writeln!(
            s,
            r#"<line class="grid" x1="{tx:.1}" y1="{y1}" x2="{tx:.1}" y2="{y2:.1}"/><text class="tick" x="{tx:.1}" y="14" text-anchor="middle">{lab}</text>"#,
            y1 = TOP - 4.0,
            y2 = height - 6.0,
            lab = tick_label(tick)
        );
        tick += step;
    }
    let mut row = 0usize;
    let y = |row: &mut usize| {
        let v = TOP + *row as f64 * (ROW + GAP);
        *row += 1;
        v
    };
    let label = |s: &mut String, yy: f64, text: &str| {
        let _ = writeln!(
            s,
            r#"<text class="lane" x="{x}" y="{ty:.1}" text-anchor="end">{t}</text>"#,
            x = LEFT - 8.0,
            ty = yy + ROW * 0.7,
            t = esc(text)
        );
    };
    for (name, spans) in [("link", &t.link), ("connection", &t.connection)] {
        let yy = y(&mut row);
        label(&mut s, yy, name);
        for sp in spans {
            let (x0, x1) = (x(sp.from_ms), x(sp.to_ms));
            let _ = writeln!(
                s,
                r#"<rect class="band {name} {st}" x="{x0:.1}" y="{yy:.1}" width="{w:.1}" height="{ROW}"><title>{name} {st} {a} – {b}</title></rect>"#,
                st = sp.state,
                w = (x1 - x0).max(0.5),
                a = secs(sp.from_ms),
                b = secs(sp.to_ms)
            );
        }
    }
    if fault_kinds.is_empty() {
        let yy = y(&mut row);
        label(&mut s, yy, "faults");
        let _ = writeln!(
            s,
            r#"<text class="none" x="{x0:.1}" y="{ty:.1}">no faults</text>"#,
            x0 = LEFT + 4.0,
            ty = yy + ROW * 0.7
        );
    }
    for kind in &fault_kinds {
        let yy = y(&mut row);
        label(&mut s, yy, kind);
        for f in t.faults.iter().filter(|f| f.kind == *kind) {
            let (x0, x1) = (x(f.from_ms), x(f.to_ms));
            let w = (x1 - x0).max(3.0);
            let text_x = if x0 + w + 160.0 < WIDTH {
                x0 + w + 3.0
            } else {
                (x0 - 3.0).max(LEFT)
            };
            let anchor = if x0 + w + 160.0 < WIDTH {
                "start"
            } else {
                "end"
            };
            let _ = writeln!(
                s,
                r#"<rect class="fault {k}" x="{x0:.1}" y="{yy:.1}" width="{w:.1}" height="{ROW}"><title>{k} {d} {a} – {b}</title></rect><text class="fault-label" x="{text_x:.1}" y="{ty:.1}" text-anchor="{anchor}">{d}</text>"#,
                k = esc(kind),
                d = esc(&f.detail),
                a = secs(f.from_ms),
                b = secs(f.to_ms),
                ty = yy + ROW * 0.7
            );
        }
    }
    for kind in MarkKind::ALL {
        let yy = y(&mut row);
        let n = t.marks.iter().filter(|m| m.kind == kind).count();
        label(&mut s, yy, &format!("{} ({n})", kind.class()));
        for m in t.marks.iter().filter(|m| m.kind == kind) {
            let mx = x(m.t_ms);
            let _ = writeln!(
                s,
                r#"<line class="mark {c}" x1="{mx:.1}" y1="{y0:.1}" x2="{mx:.1}" y2="{y1:.1}"><title>{l} at {a}</title></line>"#,
                c = kind.class(),
                y0 = yy + 2.0,
                y1 = yy + ROW - 2.0,
                l = esc(&m.label),
                a = secs(m.t_ms)
            );
        }
    }
    if t.wire {
        let yy = y(&mut row);
        label(&mut s, yy, "source");
        let _ = writeln!(
            s,
            r#"<text class="none wire" x="{x0:.1}" y="{ty:.1}">the DUT's link, connection, publish, ack and retransmit marks were observed on the wire by the fault proxy (a black-box DUT), not reported by it</text>"#,
            x0 = LEFT + 4.0,
            ty = yy + ROW * 0.7
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Dir;

    fn rec(t: u64, actor: Actor, event: Event) -> Record {
        Record::new(t, actor, event)
    }

    fn sample() -> Vec<Record> {
        vec![
            rec(0, Actor::Dut, Event::WifiUp),
            rec(100, Actor::Dut, Event::Connecting { attempt: 1 }),
            rec(
                140,
                Actor::Dut,
                Event::Connected {
                    session_present: false,
                    keepalive_s: 60,
                },
            ),
            rec(
                1000,
                Actor::Dut,
                Event::PublishSent {
                    pid: Some(1),
                    qos: 1,
                    dup: false,
                    topic: "t".into(),
                    msg: "dut-0:1".into(),
                },
            ),
            rec(
                1000,
                Actor::Faults,
                Event::Fault {
                    kind: "broker_drop".into(),
                    detail: "packet=puback count=1".into(),
                },
            ),
            rec(
                1000,
                Actor::Faults,
                Event::FaultEnd {
                    kind: "broker_drop".into(),
                },
            ),
            rec(
                1020,
                Actor::Observer,
                Event::Delivered {
                    topic: "t".into(),
                    msg: "dut-0:1".into(),
                    qos: 1,
                    retain: false,
                    dup: false,
                },
            ),
            rec(
                1500,
                Actor::Broker,
                Event::BrokerPacket {
                    dir: Dir::In,
                    client_id: "c".into(),
                    summary: "x".into(),
                    queued_ms: None,
                },
            ),
            rec(3000, Actor::Dut, Event::Retransmit { pid: 1 }),
            rec(3040, Actor::Dut, Event::Puback { pid: 1 }),
            rec(
                4000,
                Actor::Faults,
                Event::Fault {
                    kind: "wifi_down".into(),
                    detail: "for=2s".into(),
                },
            ),
            rec(4000, Actor::Dut, Event::WifiDown),
            rec(
                4001,
                Actor::Dut,
                Event::ConnectionLost {
                    reason: "wifi".into(),
                },
            ),
            rec(
                6000,
                Actor::Faults,
                Event::FaultEnd {
                    kind: "wifi_down".into(),
                },
            ),
            rec(6000, Actor::Dut, Event::WifiUp),
        ]
    }

    #[test]
    fn bands_follow_the_trace() {
        let t = Timeline::from_records(&sample(), Some(8000));
        let states: Vec<_> = t
            .link
            .iter()
            .map(|s| (s.from_ms, s.to_ms, s.state))
            .collect();
        assert_eq!(
            states,
            vec![(0, 4000, "up"), (4000, 6000, "down"), (6000, 8000, "up")]
        );
        let conn: Vec<_> = t.connection.iter().map(|s| (s.from_ms, s.state)).collect();
        assert_eq!(
            conn,
            vec![
                (0, "disconnected"),
                (100, "connecting"),
                (140, "connected"),
                (4001, "disconnected")
            ]
        );
        let faults: Vec<_> = t
            .faults
            .iter()
            .map(|f| (f.kind.as_str(), f.from_ms, f.to_ms))
            .collect();
        assert_eq!(
            faults,
            vec![("broker_drop", 1000, 1000), ("wifi_down", 4000, 6000)]
        );
        let marks: Vec<_> = t.marks.iter().map(|m| (m.t_ms, m.kind)).collect();
        assert_eq!(
            marks,
            vec![
                (1000, MarkKind::Publish),
                (1020, MarkKind::Delivered),
                (3000, MarkKind::Retransmit),
                (3040, MarkKind::Ack)
            ]
        );
    }

    #[test]
    fn an_unended_fault_runs_to_the_end() {
        let recs = vec![rec(
            10,
            Actor::Faults,
            Event::Fault {
                kind: "link_blackhole".into(),
                detail: "<a&b>".into(),
            },
        )];
        let mut recs = recs;
        recs.push(rec(
            20,
            Actor::Faults,
            Event::Fault {
                kind: "link_restore".into(),
                detail: String::new(),
            },
        ));
        let t = Timeline::from_records(&recs, Some(500));
        assert_eq!(t.faults[0].to_ms, 500);
        assert_eq!((t.faults[1].from_ms, t.faults[1].to_ms), (20, 20));
        let svg = render(&t);
        assert!(svg.contains("&lt;a&amp;b&gt;"), "{svg}");
        assert!(!svg.contains("<a&b>"));
    }

    #[test]
    fn the_svg_of_a_known_trace() {
        let svg = render(&Timeline::from_records(&sample(), Some(8000)));
        insta::assert_snapshot!(svg);
    }

    #[test]
    fn ticks_stay_few() {
        for end in [1, 999, 1_000, 40_000, 600_000, 3_600_000, 86_400_000] {
            let step = tick_step(end);
            assert!(end / step <= 24, "{end}: {step}");
        }
    }

    #[test]
    fn a_wire_trace_says_its_dut_events_were_observed() {
        let recs: Vec<Record> = sample()
            .into_iter()
            .map(|r| match r.actor {
                Actor::Dut => r.from_source(Source::Wire),
                _ => r,
            })
            .collect();
        let t = Timeline::from_records(&recs, Some(8000));
        assert!(t.wire);
        let svg = render(&t);
        assert!(
            svg.contains(">source</text>")
                && svg.contains("observed on the wire by the fault proxy"),
            "{svg}"
        );
        assert!(!render(&Timeline::from_records(&sample(), Some(8000)))
            .contains("observed on the wire"));
    }
}
