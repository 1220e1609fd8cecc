//! Faults the broker injects on command, one file per kind behind the one
//! [`Fault`] enum. Each kind's file holds all of it: how it parses itself
//! from control words and prints itself back in the same form, and what it
//! does, as an implementation of the small [`FaultHook`] trait (the points
//! where the broker core consults faults: when set, on CONNECT, on each
//! packet sent, ...). The core (`crate::core`) calls the hooks and never
//! branches on a fault kind.
//!
//! Adding a kind: a new file here (the struct, `parse`, `Display`, and
//! `impl FaultHook` with the hooks where it acts), and in this file one
//! line each in the `mod`/`pub use` lists, the [`Fault`] enum,
//! [`Fault::parse`], the slot, `Display` and [`Fault::hook`] /
//! `hook_mut` matches, plus [`FAULT_USAGE`]. A hook the trait does not
//! have yet is added to the trait (with a do-nothing default) and called
//! once from the core.
//!
//! A fault applies to a [`FaultTarget`]: every connection, or the
//! connections of one client id. Faults stay active until cleared, except
//! that counted ones (drop, delay, close-on, duplicate, reuse-pid) retire
//! when their count is used up (drop and delay also take `all`: every one
//! until cleared) and
//! forget-sessions, disconnect and flood act once when they are set.

mod close_after_bytes;
mod close_on;
mod delay_connack;
mod delay_packets;
mod disconnect;
mod drop_packets;
mod duplicate;
mod flood;
mod forget_sessions;
mod hang;
mod refuse;
mod reuse_pid;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use resilient_mqtt::codec::ConnectReturnCode;

use crate::core::Core;

pub use close_after_bytes::CloseAfterBytes;
pub use close_on::CloseOn;
pub use delay_connack::DelayConnack;
pub use delay_packets::DelayPackets;
pub use disconnect::Disconnect;
pub use drop_packets::{DropKind, DropPackets};
pub use duplicate::Duplicate;
pub use flood::Flood;
pub use forget_sessions::ForgetSessions;
pub use hang::Hang;
pub use refuse::Refuse;
pub use reuse_pid::ReusePid;

/// Who a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultTarget {
    All,
    Client(String),
}

impl FaultTarget {
    /// Whether a connection with this client id (None before CONNECT) is hit.
    pub fn matches(&self, client_id: Option<&str>) -> bool {
        match self {
            FaultTarget::All => true,
            FaultTarget::Client(id) => client_id == Some(id.as_str()),
        }
    }
}

impl fmt::Display for FaultTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultTarget::All => write!(f, "all"),
            FaultTarget::Client(id) => write!(f, "client {id}"),
        }
    }
}

/// One misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer CONNECT with this non-zero return code, then close.
    Refuse(Refuse),
    /// Hold CONNECT (and everything after it) this long before answering.
    DelayConnack(DelayConnack),
    /// Swallow the next N packets of one kind the broker would send.
    DropPackets(DropPackets),
    /// Send the next N packets of one kind later (TCP order kept).
    DelayPackets(DelayPackets),
    /// Close the connection right after sending the next N packets of one kind.
    CloseOn(CloseOn),
    /// Stop reading and answering; keep the socket open.
    Hang(Hang),
    /// Close the connection once the broker has sent N bytes on it.
    CloseAfterBytes(CloseAfterBytes),
    /// Send each of the next N PUBLISHes twice.
    Duplicate(Duplicate),
    /// Forget sessions at once (closing their connections).
    ForgetSessions(ForgetSessions),
    /// Send MQTT 5 clients DISCONNECT with a reason code and close, at once.
    Disconnect(Disconnect),
    /// Send a burst of QoS 2 PUBLISHes beyond the client's Receive Maximum,
    /// at once.
    Flood(Flood),
    /// Answer each of the next N QoS 2 PUBRECs with a new PUBLISH reusing
    /// its packet id, before the PUBREL.
    ReusePid(ReusePid),
}

/// What a fault does, at each point where the broker core consults the
/// faults that apply to a connection. Every hook defaults to doing
/// nothing; a kind implements the ones where it acts. For a connection,
/// one fault per slot applies (the client's own before one for all), and
/// hooks are asked in slot order.
pub(crate) trait FaultHook {
    /// When the fault is set: act at once on the target (forget-sessions,
    /// disconnect, flood) and say whether it stays in the table.
    fn on_set(&self, _core: &mut Core, _target: &FaultTarget, _now: Duration) -> Standing {
        Standing::Kept
    }

    /// Whether the connection is held: nothing read or sent, keepalive not
    /// judged (hang).
    fn holds(&self) -> bool {
        false
    }

    /// How long a CONNECT waits before it is answered (delay-connack).
    fn connack_delay(&self) -> Option<Duration> {
        None
    }

    /// The return code a CONNECT is refused with (refuse).
    fn refuses(&self) -> Option<ConnectReturnCode> {
        None
    }

    /// A packet of `kind` is about to be sent: what happens to it (drop,
    /// delay, close-on). Acting uses one of the fault's count.
    fn on_send(&mut self, _kind: DropKind) -> Option<OnSend> {
        None
    }

    /// A PUBLISH was sent: send it again (duplicate). Acting uses one of
    /// the fault's count.
    fn duplicates(&mut self) -> bool {
        false
    }

    /// A QoS 2 PUBREC arrived: send a new PUBLISH reusing its packet id
    /// before the PUBREL (reuse-pid). Acting uses one of the fault's count.
    fn reuses_pid(&mut self) -> bool {
        false
    }

    /// After how many bytes sent a connection is closed (close-after).
    fn byte_limit(&self) -> Option<u64> {
        None
    }

    /// Whether a counted fault has used its count up (it then retires).
    fn spent(&self) -> bool {
        false
    }
}

/// Whether a fault stays in the table once set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Active until cleared (or, if counted, spent).
    Kept,
    /// It acted when set; nothing remains.
    Done,
}

/// What one fault does to a packet about to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnSend {
    /// Swallow it.
    Drop,
    /// Send it this much later (what follows waits behind it).
    Delay(Duration),
    /// Send it, then close the connection.
    CloseAfter,
}

/// What all faults together do to a packet about to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendFate {
    /// Swallowed: no later fault is asked.
    Dropped,
    /// Sent, `delay` late if held, and then the connection stays or closes.
    Sent {
        delay: Option<Duration>,
        then: AfterSend,
    },
}

/// What happens after a packet is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterSend {
    Stay,
    Close,
}

/// Why control words are not a fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultParseError(pub String);

impl fmt::Display for FaultParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FaultParseError {}

/// The fault words the control channel accepts, for help and errors.
pub const FAULT_USAGE: &str = "refuse <1-5> | delay-connack <ms|Ns|Nms> | \
drop <KIND> <n|all> | delay <KIND> <ms|Ns|Nms> <n|all> | close-on <KIND> <n> | hang | \
close-after <bytes> | duplicate <n> | forget-sessions | disconnect [code] | flood [n] | reuse-pid [n] \
(KIND: publish|puback|pubrec|pubrel|pubcomp|suback|unsuback|pingresp)";

impl Fault {
    /// Parses `kind args...` (the words after the target).
    pub fn parse(words: &[&str]) -> Result<Fault, FaultParseError> {
        let Some((kind, args)) = words.split_first() else {
            return Err(FaultParseError(format!(
                "missing fault kind; expected one of: {FAULT_USAGE}"
            )));
        };
        match *kind {
            "refuse" => Refuse::parse(args).map(Fault::Refuse),
            "delay-connack" => DelayConnack::parse(args).map(Fault::DelayConnack),
            "drop" => DropPackets::parse(args).map(Fault::DropPackets),
            "delay" => DelayPackets::parse(args).map(Fault::DelayPackets),
            "close-on" => CloseOn::parse(args).map(Fault::CloseOn),
            "hang" => Hang::parse(args).map(Fault::Hang),
            "close-after" => CloseAfterBytes::parse(args).map(Fault::CloseAfterBytes),
            "duplicate" => Duplicate::parse(args).map(Fault::Duplicate),
            "forget-sessions" => ForgetSessions::parse(args).map(Fault::ForgetSessions),
            "disconnect" => Disconnect::parse(args).map(Fault::Disconnect),
            "flood" => Flood::parse(args).map(Fault::Flood),
            "reuse-pid" => ReusePid::parse(args).map(Fault::ReusePid),
            other => Err(FaultParseError(format!(
                "unknown fault kind `{}`; expected one of: {FAULT_USAGE}",
                other.escape_debug()
            ))),
        }
    }

    /// Which slot of the table the fault occupies: a new fault replaces the
    /// one in the same slot for the same target.
    fn slot(&self) -> Slot {
        match self {
            Fault::Refuse(_) => Slot::Refuse,
            Fault::DelayConnack(_) => Slot::DelayConnack,
            Fault::DropPackets(d) => Slot::Drop(d.kind),
            Fault::DelayPackets(d) => Slot::Delay(d.kind),
            Fault::CloseOn(c) => Slot::CloseOn(c.kind),
            Fault::Hang(_) => Slot::Hang,
            Fault::CloseAfterBytes(_) => Slot::CloseAfterBytes,
            Fault::Duplicate(_) => Slot::Duplicate,
            Fault::ForgetSessions(_) => Slot::ForgetSessions,
            Fault::Disconnect(_) => Slot::Disconnect,
            Fault::Flood(_) => Slot::Flood,
            Fault::ReusePid(_) => Slot::ReusePid,
        }
    }
}

impl Fault {
    /// The kind's behaviour.
    pub(crate) fn hook(&self) -> &dyn FaultHook {
        match self {
            Fault::Refuse(x) => x,
            Fault::DelayConnack(x) => x,
            Fault::DropPackets(x) => x,
            Fault::DelayPackets(x) => x,
            Fault::CloseOn(x) => x,
            Fault::Hang(x) => x,
            Fault::CloseAfterBytes(x) => x,
            Fault::Duplicate(x) => x,
            Fault::ForgetSessions(x) => x,
            Fault::Disconnect(x) => x,
            Fault::Flood(x) => x,
            Fault::ReusePid(x) => x,
        }
    }

    fn hook_mut(&mut self) -> &mut dyn FaultHook {
        match self {
            Fault::Refuse(x) => x,
            Fault::DelayConnack(x) => x,
            Fault::DropPackets(x) => x,
            Fault::DelayPackets(x) => x,
            Fault::CloseOn(x) => x,
            Fault::Hang(x) => x,
            Fault::CloseAfterBytes(x) => x,
            Fault::Duplicate(x) => x,
            Fault::ForgetSessions(x) => x,
            Fault::Disconnect(x) => x,
            Fault::Flood(x) => x,
            Fault::ReusePid(x) => x,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Refuse(x) => x.fmt(f),
            Fault::DelayConnack(x) => x.fmt(f),
            Fault::DropPackets(x) => x.fmt(f),
            Fault::DelayPackets(x) => x.fmt(f),
            Fault::CloseOn(x) => x.fmt(f),
            Fault::Hang(x) => x.fmt(f),
            Fault::CloseAfterBytes(x) => x.fmt(f),
            Fault::Duplicate(x) => x.fmt(f),
            Fault::ForgetSessions(x) => x.fmt(f),
            Fault::Disconnect(x) => x.fmt(f),
            Fault::Flood(x) => x.fmt(f),
            Fault::ReusePid(x) => x.fmt(f),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Refuse,
    DelayConnack,
    Drop(DropKind),
    Delay(DropKind),
    CloseOn(DropKind),
    Hang,
    CloseAfterBytes,
    Duplicate,
    ForgetSessions,
    Disconnect,
    Flood,
    ReusePid,
}

/// The active faults, in a deterministic order. Lookups prefer a fault for
/// the client id over one for all clients.
#[derive(Debug, Clone, Default)]
pub(crate) struct FaultTable {
    active: BTreeMap<(Slot, FaultTarget), Fault>,
}

impl FaultTable {
    pub(crate) fn set(&mut self, target: FaultTarget, fault: Fault) {
        self.active.insert((fault.slot(), target), fault);
    }

    pub(crate) fn clear(&mut self, target: Option<&FaultTarget>) {
        match target {
            None => self.active.clear(),
            Some(t) => self.active.retain(|(_, tt), _| tt != t),
        }
    }

    /// No fault is active (the common case: no lookups needed).
    pub(crate) fn is_empty(&self) -> bool {
        self.active.is_empty()
    }

    pub(crate) fn list(&self) -> Vec<(FaultTarget, Fault)> {
        self.active
            .iter()
            .map(|((_, t), f)| (t.clone(), f.clone()))
            .collect()
    }

    /// The entries that apply to `client`, in slot order: per slot the
    /// client's own, else the one for all.
    fn applicable(&self, client: Option<&str>) -> Vec<(Slot, FaultTarget)> {
        let mut keys: Vec<(Slot, FaultTarget)> = Vec::new();
        // Within a slot, `All` sorts before `Client(..)`: a client's own
        // entry replaces the one for all.
        for (slot, target) in self.active.keys() {
            if !target.matches(client) {
                continue;
            }
            if keys.last().is_some_and(|(s, _)| s == slot) {
                keys.pop();
            }
            keys.push((*slot, target.clone()));
        }
        keys
    }

    /// The first answer of a hook among the faults that apply.
    fn ask<T>(
        &self,
        client: Option<&str>,
        hook: impl Fn(&dyn FaultHook) -> Option<T>,
    ) -> Option<T> {
        self.applicable(client)
            .iter()
            .filter_map(|k| self.active.get(k))
            .find_map(|f| hook(f.hook()))
    }

    /// Asks a counted hook of one entry; retires the entry once spent.
    fn use_once<T>(
        &mut self,
        key: &(Slot, FaultTarget),
        hook: impl FnOnce(&mut dyn FaultHook) -> Option<T>,
    ) -> Option<T> {
        let f = self.active.get_mut(key)?;
        let answer = hook(f.hook_mut())?;
        if f.hook().spent() {
            self.active.remove(key);
        }
        Some(answer)
    }

    pub(crate) fn refuse_code(&self, client: Option<&str>) -> Option<ConnectReturnCode> {
        self.ask(client, |h| h.refuses())
    }

    pub(crate) fn connack_delay(&self, client: Option<&str>) -> Option<Duration> {
        self.ask(client, |h| h.connack_delay())
    }

    pub(crate) fn is_hung(&self, client: Option<&str>) -> bool {
        self.ask(client, |h| h.holds().then_some(())).is_some()
    }

    pub(crate) fn close_after(&self, client: Option<&str>) -> Option<u64> {
        self.ask(client, |h| h.byte_limit())
    }

    /// What the faults do to a packet of `kind` about to be sent: a drop
    /// ends the asking; a delay and a close-on both apply. Uses counts.
    pub(crate) fn on_send(&mut self, kind: DropKind, client: Option<&str>) -> SendFate {
        let mut delay = None;
        let mut then = AfterSend::Stay;
        for key in self.applicable(client) {
            match self.use_once(&key, |h| h.on_send(kind)) {
                Some(OnSend::Drop) => return SendFate::Dropped,
                Some(OnSend::Delay(d)) => delay = Some(d),
                Some(OnSend::CloseAfter) => then = AfterSend::Close,
                None => {}
            }
        }
        SendFate::Sent { delay, then }
    }

    /// Uses one reuse if a reuse-pid fault applies.
    pub(crate) fn take_reuse_pid(&mut self, client: Option<&str>) -> bool {
        self.applicable(client).iter().any(|key| {
            self.use_once(key, |h| h.reuses_pid().then_some(()))
                .is_some()
        })
    }

    /// Uses one duplication if a duplicate fault applies.
    pub(crate) fn take_duplicate(&mut self, client: Option<&str>) -> bool {
        self.applicable(client).iter().any(|key| {
            self.use_once(key, |h| h.duplicates().then_some(()))
                .is_some()
        })
    }
}

/// Parses a count argument (at least 1).
pub(crate) fn parse_count(what: &str, arg: Option<&&str>) -> Result<u32, FaultParseError> {
    let Some(arg) = arg else {
        return Err(FaultParseError(format!("{what}: missing count")));
    };
    match arg.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(FaultParseError(format!(
            "{what}: `{}` is not a count from 1 to {}",
            arg.escape_debug(),
            u32::MAX
        ))),
    }
}

/// Parses a count argument (at least 1) or `all` (`None`: every one, until
/// the fault is cleared).
pub(crate) fn parse_count_or_all(
    what: &str,
    arg: Option<&&str>,
) -> Result<Option<u32>, FaultParseError> {
    match arg {
        Some(a) if a.eq_ignore_ascii_case("all") => Ok(None),
        _ => parse_count(what, arg).map(Some),
    }
}

/// Uses one of a count (`None`: unlimited); false when it is spent.
pub(crate) fn take_one(count: &mut Option<u32>) -> bool {
    match count {
        None => true,
        Some(0) => false,
        Some(n) => {
            *n -= 1;
            true
        }
    }
}

/// A count as control words write it: `n` or `all`.
pub(crate) fn fmt_count(count: Option<u32>) -> String {
    count.map_or_else(|| "all".to_string(), |n| n.to_string())
}

/// Fails if words are left over.
pub(crate) fn no_more(what: &str, rest: &[&str]) -> Result<(), FaultParseError> {
    match rest.first() {
        None => Ok(()),
        Some(w) => Err(FaultParseError(format!(
            "{what}: unexpected `{}`",
            w.escape_debug()
        ))),
    }
}

/// Parses `250ms`, `2s` or a bare number of milliseconds.
pub(crate) fn parse_duration(arg: &str) -> Option<Duration> {
    if let Some(ms) = arg.strip_suffix("ms") {
        return ms.parse::<u64>().ok().map(Duration::from_millis);
    }
    if let Some(s) = arg.strip_suffix('s') {
        return s
            .parse::<u64>()
            .ok()
            .and_then(|s| s.checked_mul(1000))
            .map(Duration::from_millis);
    }
    arg.parse::<u64>().ok().map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SENT: SendFate = SendFate::Sent {
        delay: None,
        then: AfterSend::Stay,
    };

    #[test]
    fn a_drop_stops_the_asking_and_a_delay_and_close_on_combine() {
        let mut t = FaultTable::default();
        for w in ["drop puback 1", "delay puback 2s 1", "close-on puback 1"] {
            let words: Vec<&str> = w.split(' ').collect();
            t.set(FaultTarget::All, Fault::parse(&words).unwrap());
        }
        assert_eq!(t.on_send(DropKind::PubAck, None), SendFate::Dropped);
        assert_eq!(t.list().len(), 2, "the delay and close-on were not used");
        assert_eq!(
            t.on_send(DropKind::PubAck, None),
            SendFate::Sent {
                delay: Some(Duration::from_secs(2)),
                then: AfterSend::Close
            }
        );
        assert!(t.list().is_empty());
    }

    #[test]
    fn client_fault_wins_over_all() {
        let mut t = FaultTable::default();
        t.set(FaultTarget::All, Fault::parse(&["refuse", "3"]).unwrap());
        t.set(
            FaultTarget::Client("d".into()),
            Fault::parse(&["refuse", "5"]).unwrap(),
        );
        assert_eq!(
            t.refuse_code(Some("d")),
            Some(ConnectReturnCode::NotAuthorized)
        );
        assert_eq!(
            t.refuse_code(Some("e")),
            Some(ConnectReturnCode::ServerUnavailable)
        );
        t.clear(Some(&FaultTarget::All));
        assert_eq!(t.refuse_code(Some("e")), None);
    }

    #[test]
    fn counted_drops_retire() {
        let mut t = FaultTable::default();
        t.set(
            FaultTarget::All,
            Fault::parse(&["drop", "puback", "2"]).unwrap(),
        );
        assert_eq!(t.on_send(DropKind::PingResp, Some("x")), SENT);
        assert_eq!(t.on_send(DropKind::PubAck, Some("x")), SendFate::Dropped);
        assert_eq!(t.on_send(DropKind::PubAck, None), SendFate::Dropped);
        assert_eq!(t.on_send(DropKind::PubAck, Some("x")), SENT);
        assert!(t.list().is_empty());
    }

    #[test]
    fn counted_delays_and_closes_retire() {
        let mut t = FaultTable::default();
        t.set(
            FaultTarget::All,
            Fault::parse(&["delay", "pubcomp", "15s", "1"]).unwrap(),
        );
        t.set(
            FaultTarget::Client("d".into()),
            Fault::parse(&["close-on", "pubrec", "1"]).unwrap(),
        );
        assert_eq!(
            t.on_send(DropKind::PubComp, Some("d")),
            SendFate::Sent {
                delay: Some(Duration::from_secs(15)),
                then: AfterSend::Stay
            }
        );
        assert_eq!(t.on_send(DropKind::PubComp, Some("d")), SENT);
        assert_eq!(t.on_send(DropKind::PubRec, Some("e")), SENT);
        assert_eq!(
            t.on_send(DropKind::PubRec, Some("d")),
            SendFate::Sent {
                delay: None,
                then: AfterSend::Close
            }
        );
        assert_eq!(t.on_send(DropKind::PubRec, Some("d")), SENT);
        assert!(t.list().is_empty());
        let e = Fault::parse(&["delay", "pubcomp", "soon", "1"]).unwrap_err();
        assert!(e.0.contains("is not a delay"), "{e}");
        let e = Fault::parse(&["close-on", "pubrek", "1"]).unwrap_err();
        assert!(e.0.contains("pubrel"), "{e}");
    }

    #[test]
    fn parse_errors_are_clear() {
        let e = Fault::parse(&["explode"]).unwrap_err();
        assert!(e.0.starts_with("unknown fault kind `explode`"), "{e}");
        let e = Fault::parse(&["drop", "puback"]).unwrap_err();
        assert_eq!(e.0, "drop: missing count");
        let e = Fault::parse(&["refuse", "0"]).unwrap_err();
        assert!(e.0.contains("1 to 5"), "{e}");
        let e = Fault::parse(&["hang", "now"]).unwrap_err();
        assert_eq!(e.0, "hang: unexpected `now`");
        let e = Fault::parse(&["disconnect", "0x01"]).unwrap_err();
        assert!(e.0.contains("not a DISCONNECT reason code"), "{e}");
        let e = Fault::parse(&["flood", "0"]).unwrap_err();
        assert!(e.0.starts_with("flood:"), "{e}");
        assert_eq!(
            Fault::parse(&["disconnect"]).unwrap().to_string(),
            "disconnect 0x8B"
        );
        assert_eq!(
            Fault::parse(&["disconnect", "152"]).unwrap().to_string(),
            "disconnect 0x98"
        );
        assert_eq!(Fault::parse(&["flood"]).unwrap().to_string(), "flood");
    }

    fn any_fault() -> impl Strategy<Value = Fault> {
        prop_oneof![
            (1u8..=5).prop_map(|c| Fault::parse(&["refuse", &c.to_string()]).unwrap()),
            (0u64..100_000).prop_map(|ms| Fault::DelayConnack(DelayConnack {
                delay: Duration::from_millis(ms)
            })),
            (0usize..DropKind::ALL.len(), 1u32..1000).prop_map(|(k, n)| Fault::DropPackets(
                DropPackets {
                    kind: DropKind::ALL[k],
                    count: (n < 900).then_some(n)
                }
            )),
            (0usize..DropKind::ALL.len(), 0u64..100_000, 1u32..1000).prop_map(|(k, ms, n)| {
                Fault::DelayPackets(DelayPackets {
                    kind: DropKind::ALL[k],
                    delay: Duration::from_millis(ms),
                    count: (n < 900).then_some(n),
                })
            }),
            (0usize..DropKind::ALL.len(), 1u32..1000).prop_map(|(k, n)| Fault::CloseOn(CloseOn {
                kind: DropKind::ALL[k],
                count: n
            })),
            Just(Fault::Hang(Hang)),
            any::<u64>().prop_map(|b| Fault::CloseAfterBytes(CloseAfterBytes { bytes: b })),
            (1u32..1000).prop_map(|n| Fault::Duplicate(Duplicate { count: n })),
            Just(Fault::ForgetSessions(ForgetSessions)),
            (0usize..6).prop_map(|i| {
                let code = [0x8B, 0x98, 0x9C, 0x00, 0x80, 0x93][i];
                Fault::Disconnect(Disconnect {
                    reason: resilient_mqtt::codec::v5::ReasonCode::from_u8(code).unwrap(),
                })
            }),
            proptest::option::of(1u32..1000).prop_map(|count| Fault::Flood(Flood { count })),
            (1u32..1000).prop_map(|count| Fault::ReusePid(ReusePid { count })),
        ]
    }

    proptest! {
        #[test]
        fn display_parses_back(f in any_fault()) {
            let text = f.to_string();
            let words: Vec<&str> = text.split_whitespace().collect();
            prop_assert_eq!(Fault::parse(&words).unwrap(), f);
        }

        #[test]
        fn parse_never_panics(words in proptest::collection::vec(".{0,12}", 0..5)) {
            let w: Vec<&str> = words.iter().map(|s| s.as_str()).collect();
            let _ = Fault::parse(&w);
        }
    }
}
