//! The trace: the contract between a backend (the simulated world, a live
//! broker, a board) and everything downstream of it (oracles, transcripts,
//! reports).
//!
//! A trace is a sequence of [`Record`]s, one JSON object per line
//! (JSON Lines), written as it happens by a [`sink::JsonlWriter`] that
//! flushes every line, so a killed run still leaves a readable file (the
//! [`reader`] tolerates a cut-off last line). Each record is
//!
//! ```json
//! {"t_ms":12340,"actor":"dut","event":"connected","session_present":false,"keepalive_s":60}
//! ```
//!
//! `t_ms` is simulated time (or wall time since the run started on live
//! backends) and never goes backwards; `actor` says who emitted it
//! ([`Actor`]); `event` and the remaining fields are one [`Event`]. The
//! meaning of every event, and who must emit it when, is documented on the
//! variants below; oracles rely on exactly that.
//!
//! Message identities: every payload the workload publishes starts with a
//! unique id ([`payload`]), and events about application messages carry it
//! as `msg`, so an oracle can follow one message from the DUT's application
//! to the observer and back.

pub mod payload;
pub mod reader;
pub mod sink;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::duration::Dur;

/// Who emitted an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The driver under test (`resilient-mqtt`, or a board's driver).
    Dut,
    /// The DUT's application: the scenario's workload running on the DUT.
    App,
    /// The broker (its view of clients and packets).
    Broker,
    /// The observer client(s) on the other side of the broker.
    Observer,
    /// The fault executor (the scenario's timeline).
    Faults,
    /// The harness itself (start and end of the run).
    Harness,
}

impl Actor {
    /// The name as written in traces and transcripts.
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Dut => "dut",
            Actor::App => "app",
            Actor::Broker => "broker",
            Actor::Observer => "observer",
            Actor::Faults => "faults",
            Actor::Harness => "harness",
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the harness knows of an event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Reported by the actor itself (our driver and application, a
    /// board's agent, the broker, the observer, the harness): the default,
    /// not written in the trace.
    #[default]
    Reported,
    /// Observed on the wire by the fault proxy in front of a black-box DUT
    /// (`crate::blackbox::wire`): what its packets and connections showed,
    /// not what it said.
    Wire,
}

impl Source {
    /// Whether this is the default (not written).
    pub fn is_reported(&self) -> bool {
        *self == Source::Reported
    }

    /// `actor` as transcripts show it: `dut`, or `dut@wire`.
    pub fn who(self, actor: Actor) -> String {
        match self {
            Source::Reported => actor.as_str().to_string(),
            Source::Wire => format!("{}@wire", actor.as_str()),
        }
    }
}

/// Direction of a packet in the broker's packet log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dir {
    /// Received by the broker.
    In,
    /// Sent by the broker.
    Out,
}

/// One thing that happened. Field names are part of the file format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    // ---- DUT driver (actor `dut`) ----
    /// The DUT's WiFi link came up (link layer; before any broker traffic).
    WifiUp,
    /// The DUT's WiFi link went down (signal lost or taken down by the driver).
    WifiDown,
    /// The driver starts a connection attempt to the broker (TCP + CONNECT).
    /// `attempt` counts from 1 since the last successful connection.
    Connecting { attempt: u32 },
    /// CONNACK accepted. `keepalive_s` is the keepalive in force for this
    /// connection (0 = off).
    Connected {
        session_present: bool,
        keepalive_s: u16,
    },
    /// The CONNACK said "session present" after a CONNECT the DUT had
    /// abandoned (D5): the driver reports the next `connected` with
    /// `session_present = false` (its subscriptions are not known to be
    /// kept) while the broker holds a session, whose in-flight messages
    /// it resends with their ids.
    SessionUncertain,
    /// A connection attempt failed (refused CONNACK, TCP error, timeout).
    ConnectFailed { reason: String },
    /// An established connection ended (reset, timeout, ping unanswered...).
    ConnectionLost { reason: String },
    /// A PUBLISH left the DUT. `pid` is absent for QoS 0. A resend carries the
    /// same pid with `dup = true`.
    PublishSent {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pid: Option<u16>,
        qos: u8,
        dup: bool,
        topic: String,
        msg: String,
    },
    /// A PUBACK (or PUBCOMP for QoS 2) completed the publish with this pid.
    Puback { pid: u16 },
    /// QoS 2 (P5): PUBREL sent for the publish with this pid. The first
    /// (`resend = false`) answers its PUBREC: the broker has the message.
    /// `resend = true`: sent again (no PUBCOMP within the reply timeout, a
    /// resumed session, or a repeated PUBREC).
    PubrelSent { pid: u16, resend: bool },
    /// QoS 2 (P5): an incoming PUBLISH with DUP set reused a pid still
    /// awaiting PUBREL (the broker's resend); acknowledged again, not
    /// delivered again. Without DUP it is a `broker_violation`.
    Qos2Duplicate { pid: u16 },
    /// The broker broke the protocol and the driver flagged it
    /// (`resilient_mqtt::session::Event::BrokerViolation`). `violation`
    /// names it (`qos2_id_reused`: a new QoS 2 PUBLISH, DUP = 0, on `pid`
    /// while the message last received on that id awaits its PUBREL;
    /// acknowledged and not delivered); `msg` and `topic` are what the
    /// offending PUBLISH carried, so an oracle can tell which message the
    /// broker lost; `detail` is the driver's one-line description.
    BrokerViolation {
        violation: String,
        pid: u16,
        topic: String,
        msg: String,
        detail: String,
    },
    /// B1: an ack (PUBACK, PUBREC, PUBCOMP) for a packet id not in flight,
    /// e.g. the second PUBACK when the original and its DUP resend were both
    /// acknowledged; ignored, the connection stays up.
    StrayAck { pid: u16 },
    /// The driver is about to resend the unacknowledged publish `pid`
    /// (followed by its `publish_sent` with `dup = true`).
    Retransmit { pid: u16 },
    /// PINGREQ sent.
    PingSent,
    /// PINGRESP received.
    Pingresp,
    /// An incoming PUBLISH was handed to the application.
    Message {
        topic: String,
        qos: u8,
        retain: bool,
        dup: bool,
        msg: String,
    },
    /// The incoming queue (event interface, `queue_len > 0`) overflowed and
    /// dropped its oldest message `msg`; `total` is the driver's discard
    /// counter after this drop (S3).
    Discarded { msg: String, total: u64 },
    /// P5 beyond (`dut.offline_queue`): the driver holds the application's
    /// publish `msg` in its offline queue (not connected, or the in-flight
    /// window is full); `held` counts every publish it holds now, this one
    /// included.
    Queued { msg: String, held: usize },
    /// The full offline queue dropped its oldest publish `msg`
    /// (`overflow = "drop_oldest"`); `total` counts drops since boot.
    QueueDropped { msg: String, total: u64 },
    /// The full offline queue refused the new publish `msg`
    /// (`overflow = "reject"`: `publish()` returned an error); `total`
    /// counts refusals since boot.
    QueueRejected { msg: String, total: u64 },
    /// At boot, publish `msg`, persisted before a reboot under storage
    /// sequence number `seq`, was put back in the queue (`persist = true`);
    /// it is sent after the connection as a new message.
    QueueRestored { msg: String, seq: u64 },
    /// The driver could not store, remove or load queued publishes.
    StorageFailed { reason: String },
    /// SUBACK received for this subscription (the granted qos).
    Subscribed { topic: String, qos: u8 },
    /// The driver's *up* notification (D5): connected and ready.
    Up,
    /// The driver's *down* notification (D4): an outage was detected.
    Down,

    // ---- Serial MQTT bridge (`[bridge]`, issue 20; actor `dut`: the
    // bridge host's core on the MCU, while the gateway's driver reports the
    // events above) ----
    /// The bridge host's serial link to its gateway is up (the version
    /// handshake of the first frame done).
    GatewayUp,
    /// The bridge host lost its gateway (no answer within the link's
    /// timeouts, or the gateway rebooted).
    GatewayDown,
    /// The MQTT side as the gateway reports it to the host: up (connected
    /// to the broker).
    BridgeUp { session_present: bool },
    /// The MQTT side as the gateway reports it to the host: down.
    BridgeDown,
    /// After damaged frames the bridge host decoded a good frame again:
    /// `bad_frames` damaged frames (CRC or framing errors) since the last
    /// good one.
    SerialResync { bad_frames: u32 },
    /// The gateway's per-host queue (held while the broker is unreachable)
    /// as it reported it to the host.
    GatewayQueue { queued: u32, capacity: u32 },

    // ---- DUT application (actor `app`) ----
    /// The application calls `connect()` (K1) at boot (or again, per
    /// `workload.connect_retry`).
    AppConnectStart,
    /// `connect()` returned: `ok`, or the error it returned.
    AppConnectDone {
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The application calls `publish()` for message `msg`.
    AppPublishStart { msg: String, topic: String, qos: u8 },
    /// That `publish()` call returned (for QoS 1: a PUBACK arrived).
    AppPublishDone { msg: String },
    /// That `publish()` call returned an error (`reason`: the error's
    /// text): the driver gave the message up, e.g. refused or dropped by a
    /// full offline queue, or `disconnect()` ended the session. The
    /// message may never arrive, and the application knows it.
    AppPublishFailed {
        msg: String,
        qos: u8,
        reason: String,
    },
    /// The application calls `disconnect()` (O3).
    AppDisconnect,
    /// `[bridge]`: a call of the bridge host's API (`op`: publish,
    /// subscribe, unsubscribe) returned to the application after `ms`
    /// (accepted, or refused because the host's outbox is full).
    HostCall { op: String, ms: u64 },
    /// The application's heartbeat task ran (it runs every
    /// `workload.heartbeat`; gaps show a blocked executor).
    Heartbeat,

    // ---- Broker (actor `broker`) ----
    /// The broker accepted a CONNECT from `client_id`.
    ClientConnected {
        client_id: String,
        clean: bool,
        session_present: bool,
    },
    /// The broker dropped or lost the client's connection.
    ClientDisconnected { client_id: String, reason: String },
    /// The broker published a client's will to `topic`.
    WillPublished { topic: String },
    /// One MQTT packet in the broker's log, e.g. `PUBLISH pid=3 qos=1 dup`,
    /// at the time it arrived or left the broker. A packet out that a
    /// broker fault delayed (`broker_delay`), or that waited behind one,
    /// also carries `queued_ms`: when the broker queued it (the record's
    /// `t_ms` is when it left).
    BrokerPacket {
        dir: Dir,
        client_id: String,
        summary: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queued_ms: Option<u64>,
    },

    // ---- Observers (actor `observer`) ----
    /// The observer received message `msg`.
    Delivered {
        topic: String,
        msg: String,
        qos: u8,
        retain: bool,
        dup: bool,
    },
    /// The observer published message `msg` (towards the DUT's
    /// subscriptions), and the broker accepted it (PUBACK for qos > 0).
    ObserverPublish { topic: String, msg: String, qos: u8 },

    // ---- Fault executor (actor `faults`) ----
    /// A timeline entry was applied. `kind` is the fault kind as written in
    /// the scenario; `detail` its parameters (`for=90s link=dut`).
    Fault { kind: String, detail: String },
    /// The disruption started by a fault of `kind` is over (its `for`
    /// elapsed, or the matching restore was applied, see
    /// `scenario::schedule`).
    FaultEnd { kind: String },
    /// This backend cannot apply the optional fault `kind`; it was skipped.
    Unsupported { kind: String, backend: String },
    /// A lab hook of the DUT's profile ran (`crate::lab`): `hook` is its
    /// `[lab]` key, `command` as written (no secrets: `${NAME}` stays),
    /// `status` `exit 0`, `exit 1`, `timed out after 10s`...
    LabHook {
        hook: String,
        command: String,
        status: String,
    },

    // ---- Harness (actor `harness`) ----
    /// First record of every trace.
    RunStart {
        scenario: String,
        seed: u64,
        backend: String,
    },
    /// Last record of a complete trace (absent when the run was killed).
    RunEnd,
}

impl Event {
    /// The event's name as written in the `event` field.
    pub fn name(&self) -> &'static str {
        match self {
            Event::WifiUp => "wifi_up",
            Event::WifiDown => "wifi_down",
            Event::Connecting { .. } => "connecting",
            Event::Connected { .. } => "connected",
            Event::ConnectFailed { .. } => "connect_failed",
            Event::SessionUncertain => "session_uncertain",
            Event::ConnectionLost { .. } => "connection_lost",
            Event::PublishSent { .. } => "publish_sent",
            Event::Puback { .. } => "puback",
            Event::PubrelSent { .. } => "pubrel_sent",
            Event::Qos2Duplicate { .. } => "qos2_duplicate",
            Event::BrokerViolation { .. } => "broker_violation",
            Event::StrayAck { .. } => "stray_ack",
            Event::Retransmit { .. } => "retransmit",
            Event::PingSent => "ping_sent",
            Event::Pingresp => "pingresp",
            Event::Message { .. } => "message",
            Event::Discarded { .. } => "discarded",
            Event::Queued { .. } => "queued",
            Event::QueueDropped { .. } => "queue_dropped",
            Event::QueueRejected { .. } => "queue_rejected",
            Event::QueueRestored { .. } => "queue_restored",
            Event::StorageFailed { .. } => "storage_failed",
            Event::Subscribed { .. } => "subscribed",
            Event::Up => "up",
            Event::Down => "down",
            Event::GatewayUp => "gateway_up",
            Event::GatewayDown => "gateway_down",
            Event::BridgeUp { .. } => "bridge_up",
            Event::BridgeDown => "bridge_down",
            Event::SerialResync { .. } => "serial_resync",
            Event::GatewayQueue { .. } => "gateway_queue",
            Event::HostCall { .. } => "host_call",
            Event::AppConnectStart => "app_connect_start",
            Event::AppConnectDone { .. } => "app_connect_done",
            Event::AppPublishStart { .. } => "app_publish_start",
            Event::AppPublishDone { .. } => "app_publish_done",
            Event::AppPublishFailed { .. } => "app_publish_failed",
            Event::AppDisconnect => "app_disconnect",
            Event::Heartbeat => "heartbeat",
            Event::ClientConnected { .. } => "client_connected",
            Event::ClientDisconnected { .. } => "client_disconnected",
            Event::WillPublished { .. } => "will_published",
            Event::BrokerPacket { .. } => "broker_packet",
            Event::Delivered { .. } => "delivered",
            Event::ObserverPublish { .. } => "observer_publish",
            Event::Fault { .. } => "fault",
            Event::FaultEnd { .. } => "fault_end",
            Event::Unsupported { .. } => "unsupported",
            Event::LabHook { .. } => "lab_hook",
            Event::RunStart { .. } => "run_start",
            Event::RunEnd => "run_end",
        }
    }
}

/// One line of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Milliseconds since the run started (simulated time in the simulator).
    pub t_ms: u64,
    pub actor: Actor,
    /// `"wire"` when observed by the fault proxy, absent when reported.
    #[serde(default, skip_serializing_if = "Source::is_reported")]
    pub source: Source,
    #[serde(flatten)]
    pub event: Event,
}

impl Record {
    /// A record at `t_ms`.
    pub fn new(t_ms: u64, actor: Actor, event: Event) -> Record {
        Record {
            t_ms,
            actor,
            source: Source::Reported,
            event,
        }
    }

    /// The same record, from `source`.
    pub fn from_source(mut self, source: Source) -> Record {
        self.source = source;
        self
    }

    /// The actor as transcripts and reports show it: `dut`, or `dut@wire`
    /// when the record was observed on the wire.
    pub fn who(&self) -> String {
        self.source.who(self.actor)
    }

    /// The time as a [`Dur`].
    pub fn at(&self) -> Dur {
        Dur::from_millis(self.t_ms)
    }

    /// One JSON line (without the newline).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("a trace record always serializes")
    }
}

/// A reference to one record of a trace, by position and time, as oracles
/// name the events that broke them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventRef {
    /// 0-based position in the trace (= line number - 1 in `trace.jsonl`).
    pub index: usize,
    pub t_ms: u64,
}

impl fmt::Display for EventRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} at {}",
            self.index,
            Dur::from_millis(self.t_ms).secs_string()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_flat_json_objects_with_the_event_tag() {
        let r = Record::new(
            12_340,
            Actor::Dut,
            Event::Connected {
                session_present: false,
                keepalive_s: 60,
            },
        );
        let line = r.to_json_line();
        assert_eq!(
            line,
            r#"{"t_ms":12340,"actor":"dut","event":"connected","session_present":false,"keepalive_s":60}"#
        );
        let back: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.event.name(), "connected");
    }

    #[test]
    fn wire_records_say_so_and_reported_ones_do_not() {
        let r = Record::new(5, Actor::Dut, Event::PingSent).from_source(Source::Wire);
        let line = r.to_json_line();
        assert_eq!(
            line,
            r#"{"t_ms":5,"actor":"dut","source":"wire","event":"ping_sent"}"#
        );
        assert_eq!(serde_json::from_str::<Record>(&line).unwrap(), r);
        assert_eq!(r.who(), "dut@wire");
        let plain = Record::new(5, Actor::Dut, Event::PingSent);
        assert!(!plain.to_json_line().contains("source"));
        assert_eq!(plain.who(), "dut");
    }

    #[test]
    fn qos0_publish_has_no_pid_field() {
        let r = Record::new(
            1,
            Actor::Dut,
            Event::PublishSent {
                pid: None,
                qos: 0,
                dup: false,
                topic: "t".into(),
                msg: "dut-0:1".into(),
            },
        );
        let line = r.to_json_line();
        assert!(!line.contains("pid"), "{line}");
        assert_eq!(serde_json::from_str::<Record>(&line).unwrap(), r);
    }
}
