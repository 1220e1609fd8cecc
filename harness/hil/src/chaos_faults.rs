//! The scenario's broker faults that the chaos broker injects, as
//! chaos-broker faults: one mapping, used by the simulator (where the
//! broker is always the chaos broker) and by real-time runs with
//! `--broker chaos` (other live brokers cannot inject them).

use chaos_broker::fault::{
    CloseAfterBytes, CloseOn, DelayConnack, DelayPackets, Disconnect, DropKind, DropPackets,
    Duplicate, Flood, ForgetSessions, ReusePid,
};
use chaos_broker::Fault;
use resilient_mqtt::codec::v5::{PacketType as V5PacketType, ReasonCode};

use crate::duration::Dur;
use crate::scenario::fault::{Action, Packet};

/// What to do to the chaos broker for one action, for the DUT's client id.
pub enum ChaosAction {
    /// Set a fault that stays (until spent or cleared); a restarted broker
    /// gets it back with what is left of its count.
    Set(Fault),
    /// Set a fault that acts once, when set (nothing remains).
    Once(Fault),
    /// Clear the faults this picks.
    Clear(Box<dyn Fn(&Fault) -> bool + Send>),
}

/// The chaos broker's name for a scenario's packet type.
pub fn drop_kind(packet: Packet) -> DropKind {
    match packet {
        Packet::Publish => DropKind::Publish,
        Packet::Puback => DropKind::PubAck,
        Packet::Pingresp => DropKind::PingResp,
        Packet::Suback => DropKind::SubAck,
        Packet::Pubrec => DropKind::PubRec,
        Packet::Pubrel => DropKind::PubRel,
        Packet::Pubcomp => DropKind::PubComp,
    }
}

/// `action` as a chaos-broker fault, its durations multiplied by `scale`
/// (a live run's time scale; 1 in the simulator). `None`: not a chaos
/// broker fault. `Err`: a value the broker cannot take.
pub fn chaos_action(action: &Action, scale: f64) -> Option<Result<ChaosAction, String>> {
    let dur =
        |d: Dur| std::time::Duration::from_millis((d.as_millis() as f64 * scale).round() as u64);
    let clear = |p: fn(&Fault, DropKind) -> bool, packet: Packet| {
        let kind = drop_kind(packet);
        ChaosAction::Clear(Box::new(move |f| p(f, kind)))
    };
    Some(Ok(match *action {
        Action::BrokerDrop { packet, count } => ChaosAction::Set(Fault::DropPackets(DropPackets {
            kind: drop_kind(packet),
            count,
        })),
        Action::BrokerDropEnd(packet) => clear(
            |f, k| matches!(f, Fault::DropPackets(d) if d.kind == k),
            packet,
        ),
        Action::BrokerDelay {
            packet,
            delay,
            count,
        } => ChaosAction::Set(Fault::DelayPackets(DelayPackets {
            kind: drop_kind(packet),
            delay: dur(delay),
            count,
        })),
        Action::BrokerDelayEnd(packet) => clear(
            |f, k| matches!(f, Fault::DelayPackets(d) if d.kind == k),
            packet,
        ),
        Action::BrokerCloseAfter { packet, count } => ChaosAction::Set(Fault::CloseOn(CloseOn {
            kind: drop_kind(packet),
            count,
        })),
        Action::BrokerDisconnect { reason } => {
            let Some(reason) = ReasonCode::for_packet(reason, V5PacketType::Disconnect) else {
                return Some(Err(format!(
                    "{reason:#04x} is not a DISCONNECT reason code"
                )));
            };
            ChaosAction::Once(Fault::Disconnect(Disconnect { reason }))
        }
        Action::BrokerFlood { count } => ChaosAction::Once(Fault::Flood(Flood { count })),
        Action::BrokerDuplicate { count } => {
            ChaosAction::Set(Fault::Duplicate(Duplicate { count }))
        }
        Action::BrokerForgetSessions => ChaosAction::Once(Fault::ForgetSessions(ForgetSessions)),
        Action::BrokerCloseAfterBytes { bytes } => {
            ChaosAction::Set(Fault::CloseAfterBytes(CloseAfterBytes { bytes }))
        }
        Action::BrokerCloseAfterBytesEnd => {
            ChaosAction::Clear(Box::new(|f| matches!(f, Fault::CloseAfterBytes(_))))
        }
        Action::BrokerDelayConnack { delay } => {
            ChaosAction::Set(Fault::DelayConnack(DelayConnack { delay: dur(delay) }))
        }
        Action::BrokerDelayConnackEnd => {
            ChaosAction::Clear(Box::new(|f| matches!(f, Fault::DelayConnack(_))))
        }
        Action::BrokerReusePid { count } => ChaosAction::Set(Fault::ReusePid(ReusePid { count })),
        _ => return None,
    }))
}
