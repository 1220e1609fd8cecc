//! A raw MQTT test client over any stream (duplex or TCP): sends packets
//! built with the driver's codec, and reads what the broker answers as
//! packet summaries (the broker's own packet-log format), so scripted
//! exchanges can be compared line by line between brokers.
#![allow(dead_code)]

use std::time::Duration;

use chaos_broker::log::summarize;
use resilient_mqtt::codec::{
    decode, Connect, Decoded, List, Packet, Pid, PubAck, PubComp, PubRec, PubRel, Publish, QoS,
    QosPid, Subscribe, SubscribeTopic, Unsubscribe, Will,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How long a test waits for a packet that should come.
pub const WAIT: Duration = Duration::from_secs(5);

/// One packet received: its summary and, for PUBLISH, its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    pub summary: String,
    pub payload: Vec<u8>,
}

/// What a read produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Packet(Got),
    Closed,
    Timeout,
    Malformed(String),
}

pub struct Client<S> {
    stream: S,
    buf: Vec<u8>,
    closed: bool,
}

pub fn pid(n: u16) -> Pid {
    Pid::new(n).expect("non-zero pid")
}

pub fn qos(n: u8) -> QoS {
    QoS::from_u8(n).expect("qos 0..=2")
}

/// A CONNECT with the usual fields.
pub fn connect<'a>(client_id: &'a str, clean: bool, keep_alive: u16) -> Connect<'a> {
    Connect {
        client_id,
        keep_alive,
        clean_session: clean,
        will: None,
        username: None,
        password: None,
    }
}

pub fn will<'a>(topic: &'a str, message: &'a [u8], q: u8, retain: bool) -> Will<'a> {
    Will {
        topic,
        message,
        qos: qos(q),
        retain,
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    pub fn new(stream: S) -> Self {
        Client {
            stream,
            buf: Vec::new(),
            closed: false,
        }
    }

    pub async fn send(&mut self, p: Packet<'_>) {
        let mut out = Vec::new();
        p.encode_to_vec(&mut out).expect("encodable test packet");
        self.send_raw(&out).await;
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        // The broker may have closed already; the read side will tell.
        let _ = self.stream.write_all(bytes).await;
        let _ = self.stream.flush().await;
    }

    pub async fn close(mut self) {
        let _ = self.stream.shutdown().await;
    }

    /// The next packet, close, or timeout after `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Event {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match decode(&self.buf, usize::MAX) {
                Ok(Decoded::Packet { packet, len }) => {
                    let payload = match &packet {
                        Packet::Publish(p) => p.payload.to_vec(),
                        _ => Vec::new(),
                    };
                    let got = Got {
                        summary: summarize(&packet),
                        payload,
                    };
                    self.buf.drain(..len);
                    return Event::Packet(got);
                }
                Ok(Decoded::Incomplete { .. }) => {}
                Err(e) => return Event::Malformed(e.to_string()),
            }
            if self.closed {
                return Event::Closed;
            }
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Err(_) => return Event::Timeout,
                Ok(Ok(0)) | Ok(Err(_)) => {
                    self.closed = true;
                    if self.buf.is_empty() {
                        return Event::Closed;
                    }
                }
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// The next packet's summary; panics with what came instead.
    pub async fn recv(&mut self) -> String {
        self.recv_got().await.summary
    }

    pub async fn recv_got(&mut self) -> Got {
        match self.next_within(WAIT).await {
            Event::Packet(g) => g,
            other => panic!("expected a packet, got {other:?}"),
        }
    }

    /// Asserts the next packet's summary.
    pub async fn expect(&mut self, summary: &str) {
        let got = self.recv().await;
        assert_eq!(got, summary);
    }

    /// Asserts the broker closes the connection (after any packets listed).
    pub async fn expect_closed(&mut self) {
        match self.next_within(WAIT).await {
            Event::Closed => {}
            other => panic!("expected the broker to close, got {other:?}"),
        }
    }

    /// Asserts nothing arrives for `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        match self.next_within(wait).await {
            Event::Timeout => {}
            other => panic!("expected silence, got {other:?}"),
        }
    }

    // ----- packet helpers ------------------------------------------------

    pub async fn connect(&mut self, c: Connect<'_>) -> String {
        self.send(Packet::Connect(c)).await;
        self.recv().await
    }

    pub async fn subscribe(&mut self, id: u16, filters: &[(&str, u8)]) {
        let topics: Vec<SubscribeTopic> = filters
            .iter()
            .map(|(f, q)| SubscribeTopic {
                filter: f,
                qos: qos(*q),
            })
            .collect();
        self.send(Packet::Subscribe(Subscribe {
            pid: pid(id),
            topics: List::new(&topics),
        }))
        .await;
    }

    pub async fn unsubscribe(&mut self, id: u16, filters: &[&str]) {
        self.send(Packet::Unsubscribe(Unsubscribe {
            pid: pid(id),
            topics: List::new(filters),
        }))
        .await;
    }

    /// PUBLISH with qos 0 (id ignored) or 1/2 with the given id.
    pub async fn publish(&mut self, topic: &str, payload: &[u8], q: u8, id: u16, retain: bool) {
        self.publish_dup(topic, payload, q, id, retain, false).await;
    }

    pub async fn publish_dup(
        &mut self,
        topic: &str,
        payload: &[u8],
        q: u8,
        id: u16,
        retain: bool,
        dup: bool,
    ) {
        let qospid = match q {
            0 => QosPid::AtMostOnce,
            1 => QosPid::AtLeastOnce(pid(id)),
            _ => QosPid::ExactlyOnce(pid(id)),
        };
        self.send(Packet::Publish(Publish {
            dup,
            qospid,
            retain,
            topic,
            payload,
        }))
        .await;
    }

    pub async fn puback(&mut self, id: u16) {
        self.send(Packet::PubAck(PubAck(pid(id)))).await;
    }

    pub async fn pubrec(&mut self, id: u16) {
        self.send(Packet::PubRec(PubRec(pid(id)))).await;
    }

    pub async fn pubrel(&mut self, id: u16) {
        self.send(Packet::PubRel(PubRel(pid(id)))).await;
    }

    pub async fn pubcomp(&mut self, id: u16) {
        self.send(Packet::PubComp(PubComp(pid(id)))).await;
    }

    pub async fn ping(&mut self) {
        self.send(Packet::PingReq).await;
    }

    pub async fn disconnect(&mut self) {
        self.send(Packet::Disconnect).await;
    }
}
