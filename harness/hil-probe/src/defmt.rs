//! defmt log frames from an RTT channel, decoded with the firmware's ELF
//! (`defmt-decoder`) into text lines for the console log; a firmware
//! without defmt data gets its log channel as raw text lines instead, and
//! says so once.
//!
//! Only in the `defmt` feature: the `hil` harness runs this as the
//! `hil-defmt` process ([`crate::defmt_pipe`]) rather than linking it (see
//! the crate's Cargo.toml for why).

use defmt_decoder::{DecodeError, Encoding, Table};

use crate::console::LineSplitter;
use crate::firmware::NO_DEFMT;

/// A log channel's decoder.
pub enum LogDecoder {
    Defmt(DefmtDecoder),
    Raw(LineSplitter),
}

impl LogDecoder {
    /// The decoder for a firmware's log channel, and a note for the
    /// console when it is not defmt.
    pub fn for_elf(elf: &[u8]) -> (LogDecoder, Option<String>) {
        match DefmtDecoder::new(elf) {
            Ok(Some(d)) => (LogDecoder::Defmt(d), None),
            Ok(None) => (LogDecoder::Raw(LineSplitter::default()), Some(NO_DEFMT.into())),
            Err(e) => (
                LogDecoder::Raw(LineSplitter::default()),
                Some(format!("the ELF's defmt data cannot be read ({e}): log channels are shown as raw text lines")),
            ),
        }
    }

    /// Decoded lines out of channel bytes.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        match self {
            LogDecoder::Defmt(d) => d.push(bytes),
            LogDecoder::Raw(s) => s.push(bytes),
        }
    }
}

/// defmt frames to lines.
pub struct DefmtDecoder {
    table: Table,
    pending: Vec<u8>,
    /// Frames that did not decode (skipped with rzcobs; raw encoding
    /// cannot resynchronise, so the rest of the stream is dropped).
    pub malformed: u64,
    /// A raw-encoded stream lost sync: nothing more decodes.
    broken: bool,
}

impl DefmtDecoder {
    /// `None` when the ELF has no defmt data; an error when it has some
    /// that does not read (another defmt version, a broken table).
    pub fn new(elf: &[u8]) -> Result<Option<DefmtDecoder>, String> {
        match Table::parse(elf) {
            Ok(Some(table)) => Ok(Some(DefmtDecoder {
                table,
                pending: Vec::new(),
                malformed: 0,
                broken: false,
            })),
            Ok(None) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn line(frame: &defmt_decoder::Frame<'_>) -> String {
        let mut l = String::from("[defmt]");
        if let Some(ts) = frame.display_timestamp() {
            l.push_str(&format!(" {ts}"));
        }
        if let Some(level) = frame.level() {
            l.push_str(&format!(" {}", format!("{level:?}").to_uppercase()));
        }
        l.push_str(&format!(" {}", frame.display_message()));
        l
    }

    /// Feeds channel bytes; the lines of the frames now complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        if self.broken {
            return lines;
        }
        self.pending.extend_from_slice(bytes);
        match self.table.encoding() {
            Encoding::Rzcobs => {
                // Frames end with a zero byte: decode the complete ones.
                let Some(end) = self.pending.iter().rposition(|&b| b == 0) else {
                    return lines;
                };
                let chunk: Vec<u8> = self.pending.drain(..=end).collect();
                let mut dec = self.table.new_stream_decoder();
                dec.received(&chunk);
                loop {
                    match dec.decode() {
                        Ok(frame) => lines.push(Self::line(&frame)),
                        Err(DecodeError::UnexpectedEof) => break,
                        Err(DecodeError::Malformed) => self.malformed += 1,
                    }
                }
            }
            _ => loop {
                if self.pending.is_empty() {
                    break;
                }
                match self.table.decode(&self.pending) {
                    Ok((frame, n)) => {
                        lines.push(Self::line(&frame));
                        self.pending.drain(..n);
                    }
                    Err(DecodeError::UnexpectedEof) => break,
                    Err(DecodeError::Malformed) => {
                        self.malformed += 1;
                        self.pending.clear();
                        self.broken = true;
                        lines.push(
                            "[defmt] a malformed frame: the raw encoding cannot resynchronise, the rest of this boot's defmt output is lost"
                                .into(),
                        );
                        break;
                    }
                }
            },
        }
        lines
    }
}
