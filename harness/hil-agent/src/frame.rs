//! Framing: `@hil <json>*<crc32 hex>\n` lines inside a console byte stream.
//!
//! Why a checksum and not a length: serial links flip bytes as well as
//! drop them, and a length only catches drops; a CRC-32 catches both (and
//! a line cut short by a reset has no valid trailer at all). A trailing
//! checksum can also be computed while the line streams out, so a board
//! needs no buffer for the whole line (a leading length would need one),
//! and MicroPython has it built in (`binascii.crc32`).

use core::fmt;

use crate::{MARKER, MAX_LINE};

/// CRC-32/ISO-HDLC state (reflected 0xEDB88320, init and xorout all ones).
#[derive(Debug, Clone, Copy)]
pub struct Crc32(u32);

impl Default for Crc32 {
    fn default() -> Self {
        Crc32(0xFFFF_FFFF)
    }
}

impl Crc32 {
    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut c = self.0;
        for &b in bytes {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
        }
        self.0 = c;
    }

    /// The checksum of what was fed.
    pub fn finish(self) -> u32 {
        !self.0
    }
}

/// CRC-32 of `bytes` (equals zlib's `crc32` and MicroPython's `binascii.crc32`).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = Crc32::default();
    c.update(bytes);
    c.finish()
}

/// Writes one line: [`LineWriter::begin`], the JSON text through
/// `core::fmt::Write` (or [`LineWriter::raw`]), then [`LineWriter::finish`].
pub struct LineWriter<'a, W: embedded_io::Write> {
    out: &'a mut W,
    crc: Crc32,
    error: Option<W::Error>,
}

impl<'a, W: embedded_io::Write> LineWriter<'a, W> {
    /// Writes the marker.
    pub fn begin(out: &'a mut W) -> Result<Self, W::Error> {
        out.write_all(MARKER)?;
        Ok(LineWriter {
            out,
            crc: Crc32::default(),
            error: None,
        })
    }

    /// Writes JSON bytes (counted in the checksum).
    pub fn raw(&mut self, bytes: &[u8]) -> Result<(), W::Error> {
        self.crc.update(bytes);
        self.out.write_all(bytes)
    }

    /// Writes the checksum trailer and the newline.
    pub fn finish(self) -> Result<(), W::Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut t = [0u8; 10];
        t[0] = b'*';
        hex8(self.crc.finish(), &mut t[1..9]);
        t[9] = b'\n';
        self.out.write_all(&t)?;
        self.out.flush()
    }
}

impl<W: embedded_io::Write> fmt::Write for LineWriter<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.error.is_some() {
            return Err(fmt::Error);
        }
        match self.raw(s.as_bytes()) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.error = Some(e);
                Err(fmt::Error)
            }
        }
    }
}

fn hex8(v: u32, out: &mut [u8]) {
    const H: &[u8; 16] = b"0123456789abcdef";
    for (i, o) in out.iter_mut().enumerate().take(8) {
        *o = H[((v >> (28 - 4 * i)) & 0xF) as usize];
    }
}

/// A whole line in memory: `@hil <json>*<crc>\n` (for hosts and tests).
pub fn encode(json: &str) -> alloc::string::String {
    let mut t = [0u8; 8];
    hex8(crc32(json.as_bytes()), &mut t);
    alloc::format!(
        "@hil {json}*{}\n",
        core::str::from_utf8(&t).unwrap_or("00000000")
    )
}

/// Why a protocol line was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// A marker without a `*crc` trailer: the line was cut (reset, lost
    /// newline, another line started in the middle).
    Partial,
    /// The trailer does not match the JSON (corrupted bytes).
    BadChecksum,
    /// Checksum fine but not UTF-8 (the sender's bug).
    NotUtf8,
    /// Longer than [`MAX_LINE`]: dropped up to the next newline.
    Overlong,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FrameError::Partial => "partial line (no checksum trailer)",
            FrameError::BadChecksum => "checksum mismatch",
            FrameError::NotUtf8 => "not UTF-8",
            FrameError::Overlong => "overlong line",
        })
    }
}

/// What the decoder found in the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Item<'a> {
    /// Console output (not part of the protocol), as received.
    Console(&'a [u8]),
    /// A protocol line that passed the checksum: its JSON text.
    Line(&'a str),
    /// A protocol line that did not.
    Bad(FrameError),
}

/// Counts of everything the decoder saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub lines: u64,
    pub console_bytes: u64,
    pub partial: u64,
    pub bad_checksum: u64,
    pub not_utf8: u64,
    pub overlong: u64,
}

impl Stats {
    fn count(&mut self, item: &Item<'_>) {
        match item {
            Item::Console(b) => self.console_bytes += b.len() as u64,
            Item::Line(_) => self.lines += 1,
            Item::Bad(FrameError::Partial) => self.partial += 1,
            Item::Bad(FrameError::BadChecksum) => self.bad_checksum += 1,
            Item::Bad(FrameError::NotUtf8) => self.not_utf8 += 1,
            Item::Bad(FrameError::Overlong) => self.overlong += 1,
        }
    }
}

/// Checks one protocol candidate: `<json>*<8 hex>` (the marker removed,
/// the newline and an optional `\r` stripped).
pub fn check(body: &[u8]) -> Result<&str, FrameError> {
    if body.len() < 9 || body[body.len() - 9] != b'*' {
        return Err(FrameError::Partial);
    }
    let (json, trailer) = body.split_at(body.len() - 9);
    let want = parse_hex8(&trailer[1..]).ok_or(FrameError::Partial)?;
    if crc32(json) != want {
        return Err(FrameError::BadChecksum);
    }
    core::str::from_utf8(json).map_err(|_| FrameError::NotUtf8)
}

fn parse_hex8(t: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in t {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        v = (v << 4) | d as u32;
    }
    Some(v)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Splits a byte stream into [`Item`]s. Holds at most `N - 1` bytes of one
/// line (`N` at least 16; use [`MAX_LINE`] or more); never allocates, never
/// panics.
pub struct Decoder<const N: usize = MAX_LINE> {
    buf: [u8; N],
    len: usize,
    /// Dropping an overlong protocol line up to its newline.
    skipping: bool,
    stats: Stats,
}

impl<const N: usize> Default for Decoder<N> {
    fn default() -> Self {
        Decoder {
            buf: [0; N],
            len: 0,
            skipping: false,
            stats: Stats::default(),
        }
    }
}

impl<const N: usize> Decoder<N> {
    pub fn new() -> Self {
        Self::default()
    }

    /// What was seen so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Feeds received bytes; `f` gets every item they complete, in order.
    pub fn push(&mut self, bytes: &[u8], f: &mut dyn FnMut(Item<'_>)) {
        for &b in bytes {
            if self.skipping {
                if b == b'\n' {
                    self.skipping = false;
                }
                continue;
            }
            if b == b'\n' {
                self.end_line(f);
                continue;
            }
            if self.len >= N - 1 {
                self.overflow(f);
                if self.skipping {
                    continue;
                }
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
    }

    /// Ends the stream (port closed, board reset): what is buffered is
    /// reported (a protocol line there is partial).
    pub fn flush(&mut self, f: &mut dyn FnMut(Item<'_>)) {
        self.skipping = false;
        if self.len > 0 {
            let mut tmp = [0u8; N];
            let n = self.len;
            tmp[..n].copy_from_slice(&self.buf[..n]);
            self.len = 0;
            let mut rest: &[u8] = &tmp[..n];
            while let Some(i) = find(rest, MARKER) {
                if i > 0 {
                    self.emit(Item::Console(&rest[..i]), f);
                }
                rest = &rest[i + MARKER.len()..];
                let cut = find(rest, MARKER).unwrap_or(rest.len());
                rest = &rest[cut..];
                self.emit(Item::Bad(FrameError::Partial), f);
            }
            if !rest.is_empty() {
                self.emit(Item::Console(rest), f);
            }
        }
    }

    fn emit(&mut self, item: Item<'_>, f: &mut dyn FnMut(Item<'_>)) {
        self.stats.count(&item);
        f(item);
    }

    /// The buffer is full without a newline.
    fn overflow(&mut self, f: &mut dyn FnMut(Item<'_>)) {
        let n = self.len;
        match find(&self.buf[..n], MARKER) {
            None => {
                // Console output: pass it on, keeping a tail that could be
                // the start of a marker.
                let keep = MARKER.len() - 1;
                let mut tmp = [0u8; N];
                tmp[..n].copy_from_slice(&self.buf[..n]);
                self.emit(Item::Console(&tmp[..n - keep]), f);
                self.buf.copy_within(n - keep..n, 0);
                self.len = keep;
            }
            Some(i) => {
                let mut tmp = [0u8; N];
                tmp[..n].copy_from_slice(&self.buf[..n]);
                if i > 0 {
                    self.emit(Item::Console(&tmp[..i]), f);
                }
                self.emit(Item::Bad(FrameError::Overlong), f);
                self.len = 0;
                self.skipping = true;
            }
        }
    }

    fn end_line(&mut self, f: &mut dyn FnMut(Item<'_>)) {
        let n = self.len;
        self.len = 0;
        let mut tmp = [0u8; N];
        tmp[..n].copy_from_slice(&self.buf[..n]);
        let mut line: &[u8] = &tmp[..n];
        let Some(first) = find(line, MARKER) else {
            // Plain console line, newline included.
            let mut with_nl = [0u8; N];
            with_nl[..n].copy_from_slice(line);
            with_nl[n] = b'\n';
            self.emit(Item::Console(&with_nl[..=n]), f);
            return;
        };
        if first > 0 {
            self.emit(Item::Console(&line[..first]), f);
        }
        line = &line[first + MARKER.len()..];
        loop {
            // A second marker inside means this one was cut short.
            let (seg, next) = match find(line, MARKER) {
                Some(j) => (&line[..j], Some(&line[j + MARKER.len()..])),
                None => (line, None),
            };
            let seg = seg.strip_suffix(b"\r").unwrap_or(seg);
            let item = match check(seg) {
                Ok(json) => Item::Line(json),
                Err(e) => Item::Bad(e),
            };
            self.emit(item, f);
            match next {
                Some(rest) => line = rest,
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec::Vec;

    fn items(input: &[u8]) -> (Vec<String>, Stats) {
        let mut d: Decoder<64> = Decoder::new();
        let mut out = Vec::new();
        d.push(input, &mut |i| out.push(alloc::format!("{i:?}")));
        d.flush(&mut |i| out.push(alloc::format!("{i:?}")));
        (out, d.stats())
    }

    #[test]
    fn crc_matches_zlib() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn writer_output_decodes() {
        let mut out: Vec<u8> = Vec::new();
        let mut w = LineWriter::begin(&mut out).unwrap();
        fmt::Write::write_str(&mut w, r#"{"a":1}"#).unwrap();
        w.finish().unwrap();
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            encode(r#"{"a":1}"#)
        );
        let (items, stats) = items(&out);
        assert_eq!(items, ["Line(\"{\\\"a\\\":1}\")"]);
        assert_eq!(stats.lines, 1);
    }

    #[test]
    fn console_text_before_a_marker_is_kept_apart() {
        let mut input = b"boot: ok\nrst:0x1 ".to_vec();
        input.extend_from_slice(encode("{}").as_bytes());
        let (items, stats) = items(&input);
        assert_eq!(items.len(), 3, "{items:?}");
        assert!(items[2].starts_with("Line"));
        assert_eq!(stats.console_bytes, 9 + 8);
    }

    #[test]
    fn a_cut_line_followed_by_a_good_one_counts_one_partial() {
        let mut input = b"@hil {\"ms\":1,\"act".to_vec();
        input.extend_from_slice(encode("{}").as_bytes());
        let (_, stats) = items(&input);
        assert_eq!((stats.partial, stats.lines), (1, 1));
    }

    #[test]
    fn a_flipped_byte_fails_the_checksum() {
        let mut line = encode(r#"{"x":"abc"}"#).into_bytes();
        line[10] ^= 0x01;
        let (_, stats) = items(&line);
        assert_eq!((stats.bad_checksum, stats.lines), (1, 0));
    }

    #[test]
    fn an_overlong_line_is_dropped_up_to_its_newline() {
        let mut input = b"@hil ".to_vec();
        input.extend(core::iter::repeat_n(b'x', 200));
        input.push(b'\n');
        input.extend_from_slice(encode("{}").as_bytes());
        let (_, stats) = items(&input);
        assert_eq!((stats.overlong, stats.lines), (1, 1));
    }

    #[test]
    fn long_console_output_is_passed_on() {
        let input = [b'c'; 300];
        let (_, stats) = items(&input);
        assert_eq!(stats.console_bytes, 300);
        assert_eq!(stats.lines + stats.overlong + stats.partial, 0);
    }
}
