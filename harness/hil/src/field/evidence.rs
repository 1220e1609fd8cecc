//! The evidence model every input reader produces and every inference rule
//! reads: a time-ordered list of [`Obs`]ervations, each pointing back at the
//! line or packet it came from ([`Source`]), so an inferred fault can name
//! its evidence.
//!
//! Readers keep times absolute when their input has them (pcap timestamps,
//! mosquitto's Unix-time prefix) so several files of one incident line up;
//! our own traces are relative (`t_ms` since the run started).

use std::fmt;

/// Where one observation came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Source {
    /// The file as the user named it.
    pub file: String,
    pub loc: Loc,
}

/// A line (logs, traces) or a packet (captures), both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Loc {
    Line(usize),
    Packet(usize),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.loc {
            Loc::Line(n) => write!(f, "{} line {n}", self.file),
            Loc::Packet(n) => write!(f, "{} packet {n}", self.file),
        }
    }
}

/// Which way an MQTT packet went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dir {
    /// From the client to the broker.
    ToBroker,
    /// From the broker to the client.
    ToClient,
}

/// The MQTT packet types the rules care about (others are `Other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PacketKind {
    Connect,
    Connack,
    Publish,
    Puback,
    Pubrec,
    Pubrel,
    Pubcomp,
    Subscribe,
    Suback,
    Unsubscribe,
    Unsuback,
    Pingreq,
    Pingresp,
    Disconnect,
    Other,
}

impl PacketKind {
    /// From the fixed header's type nibble (1-14).
    pub fn from_type(t: u8) -> PacketKind {
        match t {
            1 => PacketKind::Connect,
            2 => PacketKind::Connack,
            3 => PacketKind::Publish,
            4 => PacketKind::Puback,
            5 => PacketKind::Pubrec,
            6 => PacketKind::Pubrel,
            7 => PacketKind::Pubcomp,
            8 => PacketKind::Subscribe,
            9 => PacketKind::Suback,
            10 => PacketKind::Unsubscribe,
            11 => PacketKind::Unsuback,
            12 => PacketKind::Pingreq,
            13 => PacketKind::Pingresp,
            14 => PacketKind::Disconnect,
            _ => PacketKind::Other,
        }
    }

    /// The upper-case name (`PUBACK`).
    pub fn name(self) -> &'static str {
        match self {
            PacketKind::Connect => "CONNECT",
            PacketKind::Connack => "CONNACK",
            PacketKind::Publish => "PUBLISH",
            PacketKind::Puback => "PUBACK",
            PacketKind::Pubrec => "PUBREC",
            PacketKind::Pubrel => "PUBREL",
            PacketKind::Pubcomp => "PUBCOMP",
            PacketKind::Subscribe => "SUBSCRIBE",
            PacketKind::Suback => "SUBACK",
            PacketKind::Unsubscribe => "UNSUBSCRIBE",
            PacketKind::Unsuback => "UNSUBACK",
            PacketKind::Pingreq => "PINGREQ",
            PacketKind::Pingresp => "PINGRESP",
            PacketKind::Disconnect => "DISCONNECT",
            PacketKind::Other => "OTHER",
        }
    }
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EndHow {
    /// The client sent DISCONNECT.
    ClientDisconnect,
    /// A FIN from the client side.
    FinFromClient,
    /// A FIN from the broker side.
    FinFromBroker,
    /// A reset (either side).
    Reset,
    /// The client gave up waiting for a response (ping or ack timeout).
    ClientTimeout,
    /// The broker gave up on the client's keepalive.
    KeepaliveTimeout,
    /// A socket error (mosquitto's "Socket error on client").
    SocketError,
    /// A newer connection with the same client id took over.
    Takeover,
    /// The capture or log ended with the connection open, or the reason is
    /// not known.
    Unknown,
}

/// What was observed.
#[derive(Debug, Clone, PartialEq)]
pub enum Obs {
    /// An MQTT packet. `pid` for packets that carry one; `qos`, `dup` and
    /// `topic` for PUBLISH; for CONNECT `keepalive_s` / `clean` / `will_topic`.
    Packet {
        dir: Dir,
        kind: PacketKind,
        pid: Option<u16>,
        qos: u8,
        dup: bool,
        topic: Option<String>,
    },
    /// The settings a CONNECT carried (also emitted with its `Packet`).
    ConnectSettings {
        keepalive_s: Option<u16>,
        clean: Option<bool>,
        will_topic: Option<String>,
    },
    /// CONNACK with its return code and session-present flag.
    Connack { code: u8, session_present: bool },
    /// A new TCP connection (SYN seen) or a new client connection (log).
    Open,
    /// A connection ended.
    End { how: EndHow },
    /// A connection attempt was refused (RST to a SYN).
    Refused,
    /// A TCP segment sent again (same sequence range seen before).
    Retransmission { dir: Dir },
    /// The broker published the client's will.
    WillPublished,
    /// The broker process started (log) .
    BrokerStart,
    /// The broker process stopped (log).
    BrokerStop,
    /// A client subscribed to `topic` at `qos`.
    Subscribed { topic: String, qos: u8 },
    /// The device itself logged its link (WiFi) going down or up.
    Link { up: bool },
    /// A trace of ours recorded a fault being applied (`fault{kind, detail}`).
    RecordedFault { kind: String, detail: String },
}

/// One observation.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Milliseconds: absolute (Unix time) or relative, per input.
    pub t_ms: u64,
    /// The MQTT client id, when known.
    pub client: Option<String>,
    /// A connection number within one input (captures: per TCP stream;
    /// logs: per CONNECT of a client); `None` when unknown.
    pub conn: Option<u32>,
    pub obs: Obs,
    pub src: Source,
}

/// What one input contributed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSummary {
    pub file: String,
    /// `trace`, `mosquitto log`, `pcap`, `pcapng`.
    pub format: &'static str,
    /// Lines or packets read.
    pub units: usize,
    /// Lines or packets not understood (counted, not fatal).
    pub unknown: usize,
    /// Observations produced.
    pub observations: usize,
}

/// Everything read from the inputs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    /// Sorted by time (stable: file order within one millisecond).
    pub events: Vec<Event>,
    pub inputs: Vec<InputSummary>,
}

impl Evidence {
    /// Adds one input's observations and keeps the list sorted.
    pub fn add(&mut self, summary: InputSummary, events: Vec<Event>) {
        self.inputs.push(summary);
        self.events.extend(events);
        self.events.sort_by_key(|e| e.t_ms);
    }

    /// Client ids seen, in order of first appearance.
    pub fn clients(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for e in &self.events {
            if let Some(c) = &e.client {
                if !v.contains(c) {
                    v.push(c.clone());
                }
            }
        }
        v
    }

    /// The events of one client.
    pub fn of<'a>(&'a self, client: &'a str) -> impl Iterator<Item = &'a Event> + 'a {
        self.events
            .iter()
            .filter(move |e| e.client.as_deref() == Some(client))
    }
}
