//! Framing of the serial link: COBS-stuffed frames between `0x00`
//! delimiters, each with a four-byte header and a CRC-16.
//!
//! A frame on the wire is `0x00 | COBS(kind seq ack win body.. crc_hi crc_lo) | 0x00`
//! (CRC-16/GENIBUS over header and body).
//! The leading delimiter ends any garbage that came before, so a lost or
//! flipped byte costs at most the frame it hit: the [`Decoder`] drops it
//! (bad COBS, bad CRC, too long) and is back in step at the next `0x00`.
//! Nothing here allocates or panics on any input.

use crate::caps::{MAX_BODY, MAX_ENCODED, MAX_RAW};

/// What a frame is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Handshake: version, role and boot nonces (the first frame each way).
    Hello = 1,
    /// One application message, with a sequence number.
    Data = 2,
    /// Acknowledgement and window only.
    Ack = 3,
    /// "I have no session with you": the peer starts a new handshake.
    Reset = 4,
    /// Keepalive: the peer answers with an [`Kind::Ack`].
    Ping = 5,
    /// A frame was missing: resend from `ack` now (fast retransmit).
    Nak = 6,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Hello,
            2 => Kind::Data,
            3 => Kind::Ack,
            4 => Kind::Reset,
            5 => Kind::Ping,
            6 => Kind::Nak,
            _ => return None,
        })
    }
}

/// The header every frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    /// Sequence number of a [`Kind::Data`] frame (0 otherwise).
    pub seq: u8,
    /// The next sequence number the sender expects (cumulative ack).
    pub ack: u8,
    /// How many more data frames past `ack` the sender can take.
    pub win: u8,
}

/// Why bytes between two delimiters were not a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// More bytes than the largest frame before a delimiter.
    TooLong,
    /// The COBS stuffing is broken (a byte was lost or changed).
    Cobs,
    /// Fewer bytes than a header and a CRC.
    TooShort,
    /// The CRC does not match.
    Crc,
    /// An unknown frame kind (with a good CRC: a newer peer).
    UnknownKind(u8),
    /// Encoding: the body is longer than [`MAX_BODY`] or the output buffer
    /// is too small.
    NoRoom,
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FrameError::TooLong => f.write_str("frame longer than the largest frame"),
            FrameError::Cobs => f.write_str("broken COBS stuffing"),
            FrameError::TooShort => f.write_str("frame shorter than header and CRC"),
            FrameError::Crc => f.write_str("CRC mismatch"),
            FrameError::UnknownKind(k) => write!(f, "unknown frame kind {k}"),
            FrameError::NoRoom => f.write_str("frame does not fit"),
        }
    }
}

/// CRC-16/GENIBUS (poly 0x1021, init 0xFFFF, final XOR 0xFFFF), bitwise:
/// no table, so nothing to keep in a microcontroller's flash.
///
/// The final XOR matters: without it (CRC-16/CCITT-FALSE) a frame with a
/// `0x00` appended after its CRC still checks, and that is exactly what a
/// trailing delimiter flipped to `0x01` decodes to.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc ^ 0xFFFF
}

/// COBS-encodes `input` into `out` (no delimiter); returns the length.
pub fn cobs_encode(input: &[u8], out: &mut [u8]) -> Result<usize, FrameError> {
    if out.len() < input.len() + input.len() / 254 + 1 {
        return Err(FrameError::NoRoom);
    }
    let mut code_at = 0;
    let mut o = 1;
    let mut code: u8 = 1;
    for &b in input {
        if b == 0 {
            out[code_at] = code;
            code_at = o;
            o += 1;
            code = 1;
        } else {
            out[o] = b;
            o += 1;
            code += 1;
            if code == 0xFF {
                out[code_at] = code;
                code_at = o;
                o += 1;
                code = 1;
            }
        }
    }
    out[code_at] = code;
    Ok(o)
}

/// COBS-decodes `buf[..len]` in place; returns the decoded length.
pub fn cobs_decode_in_place(buf: &mut [u8], len: usize) -> Result<usize, FrameError> {
    let mut i = 0;
    let mut o = 0;
    while i < len {
        let code = buf[i] as usize;
        if code == 0 || i + code > len {
            return Err(FrameError::Cobs);
        }
        i += 1;
        for _ in 1..code {
            buf[o] = buf[i];
            o += 1;
            i += 1;
        }
        if code != 0xFF && i < len {
            buf[o] = 0;
            o += 1;
        }
    }
    Ok(o)
}

/// Encodes one frame, both delimiters included, into `out`; returns the
/// number of bytes written (at most [`MAX_ENCODED`]).
pub fn encode(header: &Header, body: &[u8], out: &mut [u8]) -> Result<usize, FrameError> {
    if body.len() > MAX_BODY {
        return Err(FrameError::NoRoom);
    }
    let mut raw = [0u8; MAX_RAW];
    raw[0] = header.kind as u8;
    raw[1] = header.seq;
    raw[2] = header.ack;
    raw[3] = header.win;
    raw[4..4 + body.len()].copy_from_slice(body);
    let n = 4 + body.len();
    let crc = crc16(&raw[..n]);
    raw[n..n + 2].copy_from_slice(&crc.to_be_bytes());
    let raw = &raw[..n + 2];
    if out.len() < 2 {
        return Err(FrameError::NoRoom);
    }
    out[0] = 0;
    let last = out.len() - 1;
    let m = cobs_encode(raw, &mut out[1..last])?;
    out[1 + m] = 0;
    Ok(m + 2)
}

/// A decoded frame, borrowing its body from the decoder.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub header: Header,
    pub body: &'a [u8],
}

/// Counters of what the decoder saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecoderStats {
    /// Good frames.
    pub frames: u64,
    /// Stretches between delimiters that were not frames.
    pub bad: u64,
    /// Bytes thrown away with them.
    pub bytes_dropped: u64,
}

/// A streaming frame decoder: push bytes as they come; a frame comes out
/// at each delimiter. Fixed buffer of [`MAX_ENCODED`] bytes.
pub struct Decoder {
    buf: [u8; MAX_ENCODED],
    len: usize,
    overflow: bool,
    stats: DecoderStats,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    pub const fn new() -> Decoder {
        Decoder {
            buf: [0; MAX_ENCODED],
            len: 0,
            overflow: false,
            stats: DecoderStats {
                frames: 0,
                bad: 0,
                bytes_dropped: 0,
            },
        }
    }

    pub fn stats(&self) -> DecoderStats {
        self.stats
    }

    /// Takes one byte; at a delimiter returns what the bytes before it were
    /// (nothing for an empty stretch).
    pub fn push(&mut self, byte: u8) -> Option<Result<Frame<'_>, FrameError>> {
        if byte != 0 {
            if self.len < self.buf.len() {
                self.buf[self.len] = byte;
                self.len += 1;
            } else {
                self.overflow = true;
                self.stats.bytes_dropped += 1;
            }
            return None;
        }
        let len = core::mem::replace(&mut self.len, 0);
        if core::mem::replace(&mut self.overflow, false) {
            self.stats.bad += 1;
            self.stats.bytes_dropped += len as u64;
            return Some(Err(FrameError::TooLong));
        }
        if len == 0 {
            return None;
        }
        match Self::check(&mut self.buf, len) {
            Ok((header, n)) => {
                self.stats.frames += 1;
                Some(Ok(Frame {
                    header,
                    body: &self.buf[4..n],
                }))
            }
            Err(e) => {
                self.stats.bad += 1;
                self.stats.bytes_dropped += len as u64;
                Some(Err(e))
            }
        }
    }

    /// Un-stuffs and checks `buf[..len]`: the header and the end of the body.
    fn check(buf: &mut [u8], len: usize) -> Result<(Header, usize), FrameError> {
        let n = cobs_decode_in_place(buf, len)?;
        if n < 6 {
            return Err(FrameError::TooShort);
        }
        let body_end = n - 2;
        let crc = u16::from_be_bytes([buf[body_end], buf[body_end + 1]]);
        if crc16(&buf[..body_end]) != crc {
            return Err(FrameError::Crc);
        }
        let kind = Kind::from_u8(buf[0]).ok_or(FrameError::UnknownKind(buf[0]))?;
        Ok((
            Header {
                kind,
                seq: buf[1],
                ack: buf[2],
                win: buf[3],
            },
            body_end,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(kind: Kind, seq: u8) -> Header {
        Header {
            kind,
            seq,
            ack: 7,
            win: 3,
        }
    }

    fn decode_all(bytes: &[u8]) -> (heapless::Vec<(Header, heapless::Vec<u8, MAX_BODY>), 8>, u64) {
        let mut d = Decoder::new();
        let mut out = heapless::Vec::new();
        for &b in bytes {
            if let Some(Ok(f)) = d.push(b) {
                let _ = out.push((f.header, heapless::Vec::from_slice(f.body).unwrap()));
            }
        }
        (out, d.stats().bad)
    }

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc16(b"123456789"), 0xD64E);
    }

    /// The trailing delimiter flipped to `0x01` appends a zero byte to the
    /// decoded frame: the CRC must reject that (CRC-16/CCITT-FALSE, with
    /// no final XOR, would not).
    #[test]
    fn a_trailing_delimiter_flipped_to_one_is_rejected() {
        for body in [&b"1833"[..], b"", b"x", &[0u8; 40]] {
            let mut out = [0u8; 128];
            let n = encode(&h(Kind::Data, 1), body, &mut out).unwrap();
            let mut wire = [0u8; 256];
            wire[..n].copy_from_slice(&out[..n]);
            wire[n - 1] = 0x01;
            let m = encode(&h(Kind::Ack, 2), b"", &mut wire[n..]).unwrap();
            let (frames, bad) = decode_all(&wire[..n + m]);
            assert_eq!(bad, 1, "{body:?}");
            assert_eq!(frames.len(), 1);
            assert_eq!(frames[0].0, h(Kind::Ack, 2));
        }
    }

    #[test]
    fn roundtrip_with_zeros_and_long_runs() {
        let mut body = [0u8; MAX_BODY];
        for (i, b) in body.iter_mut().enumerate() {
            *b = if i % 300 == 0 { 0 } else { (i % 251) as u8 + 1 };
        }
        let mut out = [0u8; MAX_ENCODED];
        let n = encode(&h(Kind::Data, 5), &body, &mut out).unwrap();
        assert!(n <= MAX_ENCODED);
        assert_eq!(out[0], 0);
        assert_eq!(out[n - 1], 0);
        assert!(!out[1..n - 1].contains(&0));
        let (frames, bad) = decode_all(&out[..n]);
        assert_eq!(bad, 0);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].0, h(Kind::Data, 5));
        assert_eq!(&frames[0].1[..], &body[..]);
    }

    #[test]
    fn a_flipped_byte_loses_one_frame_and_the_next_one_decodes() {
        let mut wire = [0u8; 3 * 64];
        let mut n = 0;
        for seq in 0..3 {
            n += encode(&h(Kind::Data, seq), b"hello world", &mut wire[n..]).unwrap();
        }
        let per = n / 3;
        wire[per + 5] ^= 0x40;
        let (frames, bad) = decode_all(&wire[..n]);
        assert_eq!(bad, 1);
        let seqs: heapless::Vec<u8, 8> = frames.iter().map(|f| f.0.seq).collect();
        assert_eq!(&seqs[..], &[0, 2]);
    }

    #[test]
    fn a_lost_byte_loses_one_frame_and_the_next_one_decodes() {
        let mut wire = [0u8; 3 * 64];
        let mut n = 0;
        for seq in 0..3 {
            n += encode(&h(Kind::Data, seq), b"hello world", &mut wire[n..]).unwrap();
        }
        let per = n / 3;
        let mut cut = [0u8; 3 * 64];
        cut[..per + 4].copy_from_slice(&wire[..per + 4]);
        cut[per + 4..n - 1].copy_from_slice(&wire[per + 5..n]);
        let (frames, _) = decode_all(&cut[..n - 1]);
        let seqs: heapless::Vec<u8, 8> = frames.iter().map(|f| f.0.seq).collect();
        assert_eq!(&seqs[..], &[0, 2]);
    }

    #[test]
    fn garbage_longer_than_a_frame_is_dropped_then_decoding_resumes() {
        let mut d = Decoder::new();
        for _ in 0..(MAX_ENCODED * 3) {
            assert!(d.push(0x55).is_none());
        }
        assert_eq!(d.push(0), Some(Err(FrameError::TooLong)));
        let mut out = [0u8; 64];
        let n = encode(&h(Kind::Ping, 0), b"", &mut out).unwrap();
        let mut got = None;
        for &b in &out[..n] {
            if let Some(r) = d.push(b) {
                got = Some(r.map(|f| f.header));
            }
        }
        assert_eq!(got, Some(Ok(h(Kind::Ping, 0))));
    }

    #[test]
    fn unknown_kind_with_good_crc_is_named() {
        let mut raw = [9u8, 0, 0, 0, 0, 0];
        let crc = crc16(&raw[..4]);
        raw[4..].copy_from_slice(&crc.to_be_bytes());
        let mut out = [0u8; 16];
        let m = cobs_encode(&raw, &mut out).unwrap();
        let mut d = Decoder::new();
        for &b in &out[..m] {
            assert!(d.push(b).is_none());
        }
        assert_eq!(d.push(0), Some(Err(FrameError::UnknownKind(9))));
    }

    #[test]
    fn too_small_output_is_an_error() {
        let mut out = [0u8; 8];
        assert_eq!(
            encode(&h(Kind::Data, 0), b"0123456789", &mut out),
            Err(FrameError::NoRoom)
        );
        let big = [1u8; MAX_BODY + 1];
        let mut out = [0u8; MAX_ENCODED + 8];
        assert_eq!(
            encode(&h(Kind::Data, 0), &big, &mut out),
            Err(FrameError::NoRoom)
        );
    }
}
