//! Bytes from the broker: the receive buffer (bounded without `alloc`),
//! cut into packets, and MQTT 3.1.1's dispatch of each packet to the
//! concern that handles it (MQTT 5's is in [`super::v5`]).

use super::inflight::{AckKind, OpAck};
use super::state::Conn;
use super::store::{caps, text_fmt, Owned};
use super::v5::{Step, Wire};
use super::{Instant, Session};
use crate::codec::{self, Decoded, Packet, PubAck, PubComp, PubRec, PubRel};

impl Session {
    /// Bytes read from the transport.
    pub fn handle_bytes(&mut self, now: Instant, mut bytes: &[u8]) {
        let live = |s: &Self| matches!(s.conn, Conn::Up(_) | Conn::AwaitConnAck { .. });
        while live(self) && !bytes.is_empty() {
            // With alloc everything fits at once; without, the receive
            // buffer takes what fits and the rest follows once the packets
            // in it are handled.
            let room = if cfg!(feature = "alloc") {
                bytes.len()
            } else {
                caps::RX.saturating_sub(self.rx.len())
            };
            let (chunk, rest) = bytes.split_at(room.min(bytes.len()));
            if chunk.is_empty() {
                // Only without alloc: a packet larger than the buffer
                // (decode stops such a packet at its header; this is the
                // backstop).
                self.protocol_error(
                    now,
                    text_fmt(format_args!(
                        "packet larger than this build's {}-byte receive buffer",
                        caps::RX
                    )),
                );
                break;
            }
            bytes = rest;
            if self.rx.try_extend(chunk).is_err() {
                break;
            }
            self.handle_rx(now);
        }
        self.flush(now);
    }

    /// Handles every whole packet in the receive buffer.
    pub(super) fn handle_rx(&mut self, now: Instant) {
        let live = |s: &Self| matches!(s.conn, Conn::Up(_) | Conn::AwaitConnAck { .. });
        let mut consumed = 0;
        let rx = core::mem::take(&mut self.rx);
        while live(self) {
            let step = match self.wire {
                #[cfg(feature = "alloc")]
                Wire::V5(_) => self.v5_step(now, &rx[consumed..]),
                Wire::V311 => self.v311_step(now, &rx[consumed..]),
            };
            match step {
                Step::Incomplete => break,
                Step::Consumed(len) => consumed += len,
                Step::Failed => {
                    consumed = rx.len();
                    break;
                }
            }
        }
        if live(self) {
            self.rx = rx;
            self.rx.consume(consumed);
        }
    }

    /// The largest incoming packet accepted: `max_packet_size`, and
    /// without alloc no more than the receive buffer holds.
    pub(super) fn max_incoming(&self) -> usize {
        if cfg!(feature = "alloc") {
            self.config.max_packet_size
        } else {
            self.config.max_packet_size.min(caps::RX)
        }
    }

    /// Decodes and handles one MQTT 3.1.1 packet from the front of `buf`.
    pub(super) fn v311_step(&mut self, now: Instant, buf: &[u8]) -> Step {
        match codec::decode(buf, self.max_incoming()) {
            Ok(Decoded::Incomplete { .. }) => Step::Incomplete,
            Ok(Decoded::Packet { packet, len }) => {
                self.handle_packet(now, packet);
                Step::Consumed(len)
            }
            Err(e) => {
                self.protocol_error(now, text_fmt(format_args!("{e}")));
                Step::Failed
            }
        }
    }

    pub(super) fn handle_packet(&mut self, now: Instant, packet: Packet<'_>) {
        if self.awaiting_connack() {
            match packet {
                Packet::ConnAck(ack) => self.handle_connack(now, ack),
                other => self.protocol_error(
                    now,
                    text_fmt(format_args!(
                        "{} before CONNACK",
                        other.packet_type().name()
                    )),
                ),
            }
            return;
        }
        if !self.note_rx(now, matches!(packet, Packet::PingResp)) {
            return;
        }
        match packet {
            Packet::PingResp => self.on_pingresp(),
            Packet::Publish(p) => {
                self.receive(now, p.qospid, p.dup, p.retain, p.topic, p.payload, None)
            }
            Packet::PubAck(PubAck(pid)) => self.handle_ack(now, pid, AckKind::Puback, Ok(None)),
            Packet::PubRec(PubRec(pid)) => self.handle_pubrec(now, pid),
            Packet::PubComp(PubComp(pid)) => self.handle_ack(now, pid, AckKind::Pubcomp, Ok(None)),
            Packet::PubRel(PubRel(pid)) => self.on_pubrel(pid),
            Packet::SubAck(ack) => {
                let code = ack.codes.iter().next();
                self.handle_op_ack(ack.pid, OpAck::Subscribe311(code));
            }
            Packet::UnsubAck(codec::UnsubAck(pid)) => {
                self.handle_op_ack(pid, OpAck::Unsubscribe(Ok(None)))
            }
            other => {
                self.protocol_error(
                    now,
                    text_fmt(format_args!(
                        "unexpected {} from broker",
                        other.packet_type().name()
                    )),
                );
            }
        }
    }
}
