//! A small, panic-free reader of MQTT 3.1.1 / 5 packets in a TCP byte
//! stream, for packet captures. It only extracts what the inference rules
//! need (type, flags, packet id, topic, CONNECT settings, CONNACK code);
//! the driver's codec is not used because a capture holds both directions
//! and any client's packets, including malformed ones, which are reported
//! rather than decoded.

use crate::field::evidence::PacketKind;

/// One packet read from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub kind: PacketKind,
    pub dup: bool,
    pub qos: u8,
    pub pid: Option<u16>,
    pub topic: Option<String>,
    /// CONNECT: client id, keepalive, clean flag, will topic.
    pub connect: Option<Connect>,
    /// CONNACK: (session present, return code).
    pub connack: Option<(bool, u8)>,
    /// SUBSCRIBE: (filter, qos) pairs.
    pub subscriptions: Vec<(String, u8)>,
}

/// The settings a CONNECT carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    pub client_id: String,
    pub keepalive_s: u16,
    pub clean: bool,
    pub will_topic: Option<String>,
    /// 4 = MQTT 3.1.1, 5 = MQTT 5.
    pub level: u8,
}

/// Why a stream cannot be read further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// More bytes are needed.
    Incomplete,
    /// Not MQTT (bad type or length).
    Invalid(&'static str),
}

struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    fn u8(&mut self) -> Option<u8> {
        let v = *self.b.get(self.i)?;
        self.i += 1;
        Some(v)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(((self.u8()? as u16) << 8) | self.u8()? as u16)
    }
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.i..self.i.checked_add(n)?)?;
        self.i += n;
        Some(s)
    }
    fn string(&mut self) -> Option<String> {
        let n = self.u16()? as usize;
        Some(String::from_utf8_lossy(self.bytes(n)?).into_owned())
    }
    /// MQTT 5 properties: a variable-byte length, skipped.
    fn skip_properties(&mut self) -> Option<()> {
        let (n, used) = varint(&self.b[self.i.min(self.b.len())..]).ok()?;
        self.i += used;
        self.bytes(n)?;
        Some(())
    }
}

/// The remaining length: (value, bytes used).
fn varint(b: &[u8]) -> Result<(usize, usize), Error> {
    let mut v = 0usize;
    for i in 0..4 {
        let Some(&byte) = b.get(i) else {
            return Err(Error::Incomplete);
        };
        v |= ((byte & 0x7f) as usize) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((v, i + 1));
        }
    }
    Err(Error::Invalid("remaining length longer than 4 bytes"))
}

/// Reads one packet from the start of `buf`: the packet and the bytes it
/// took. `level` is the stream's protocol level once its CONNECT was seen
/// (5 adds properties).
pub fn read_packet(buf: &[u8], level: u8) -> Result<(Packet, usize), Error> {
    let Some(&first) = buf.first() else {
        return Err(Error::Incomplete);
    };
    let t = first >> 4;
    if t == 0 || t == 15 {
        return Err(Error::Invalid("packet type 0 or 15"));
    }
    let (len, used) = varint(&buf[1..])?;
    let total = 1 + used + len;
    if buf.len() < total {
        return Err(Error::Incomplete);
    }
    let body = &buf[1 + used..total];
    let kind = PacketKind::from_type(t);
    let flags = first & 0x0f;
    let mut p = Packet {
        kind,
        dup: false,
        qos: 0,
        pid: None,
        topic: None,
        connect: None,
        connack: None,
        subscriptions: Vec::new(),
    };
    let mut c = Cur { b: body, i: 0 };
    match kind {
        PacketKind::Connect => {
            let proto = c.string().ok_or(Error::Invalid("short CONNECT"))?;
            if proto != "MQTT" && proto != "MQIsdp" {
                return Err(Error::Invalid("CONNECT without the MQTT protocol name"));
            }
            let level = c.u8().ok_or(Error::Invalid("short CONNECT"))?;
            let fl = c.u8().ok_or(Error::Invalid("short CONNECT"))?;
            let keepalive_s = c.u16().ok_or(Error::Invalid("short CONNECT"))?;
            if level == 5 {
                c.skip_properties()
                    .ok_or(Error::Invalid("bad CONNECT properties"))?;
            }
            let client_id = c.string().ok_or(Error::Invalid("short CONNECT"))?;
            let mut will_topic = None;
            if fl & 0x04 != 0 {
                if level == 5 {
                    c.skip_properties()
                        .ok_or(Error::Invalid("bad will properties"))?;
                }
                will_topic = Some(c.string().ok_or(Error::Invalid("short CONNECT will"))?);
            }
            p.connect = Some(Connect {
                client_id,
                keepalive_s,
                clean: fl & 0x02 != 0,
                will_topic,
                level,
            });
        }
        PacketKind::Connack => {
            let f = c.u8().ok_or(Error::Invalid("short CONNACK"))?;
            let code = c.u8().ok_or(Error::Invalid("short CONNACK"))?;
            p.connack = Some((f & 1 == 1, code));
        }
        PacketKind::Publish => {
            p.dup = flags & 0x08 != 0;
            p.qos = (flags >> 1) & 0x03;
            if p.qos == 3 {
                return Err(Error::Invalid("PUBLISH with qos 3"));
            }
            p.topic = Some(c.string().ok_or(Error::Invalid("short PUBLISH"))?);
            if p.qos > 0 {
                p.pid = Some(c.u16().ok_or(Error::Invalid("short PUBLISH"))?);
            }
        }
        PacketKind::Puback
        | PacketKind::Pubrec
        | PacketKind::Pubrel
        | PacketKind::Pubcomp
        | PacketKind::Unsuback
        | PacketKind::Suback
        | PacketKind::Unsubscribe => {
            p.pid = Some(c.u16().ok_or(Error::Invalid("packet id missing"))?);
        }
        PacketKind::Subscribe => {
            p.pid = Some(c.u16().ok_or(Error::Invalid("packet id missing"))?);
            if level == 5 {
                c.skip_properties()
                    .ok_or(Error::Invalid("bad SUBSCRIBE properties"))?;
            }
            while c.i < body.len() {
                let Some(f) = c.string() else { break };
                let q = c.u8().unwrap_or(0) & 0x03;
                p.subscriptions.push((f, q));
            }
        }
        _ => {}
    }
    Ok((p, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_connect_publish_and_acks() {
        // CONNECT: MQTT 4, clean + will, keepalive 60, id "d", will topic "w".
        let connect = [
            0x10, 18, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x06, 0, 60, 0, 1, b'd', 0, 1, b'w', 0, 0,
        ];
        assert_eq!(read_packet(&connect[..19], 0), Err(Error::Incomplete));
        let (p, n) = read_packet(&connect, 0).unwrap();
        assert_eq!(n, 20);
        let c = p.connect.unwrap();
        assert_eq!(
            (c.client_id.as_str(), c.keepalive_s, c.clean),
            ("d", 60, true)
        );
        assert_eq!(c.will_topic.as_deref(), Some("w"));
        let publish = [0x3a, 7, 0, 2, b'a', b'b', 0, 5, b'x'];
        let (p, _) = read_packet(&publish, 4).unwrap();
        assert_eq!(
            (p.kind, p.dup, p.qos, p.pid),
            (PacketKind::Publish, true, 1, Some(5))
        );
        assert_eq!(read_packet(&[0x40, 2, 0], 4), Err(Error::Incomplete));
        assert!(matches!(read_packet(&[0xf0, 0], 4), Err(Error::Invalid(_))));
    }
}
