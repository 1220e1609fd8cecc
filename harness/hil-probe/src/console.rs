//! One byte stream out of several RTT channels: the agent's channel (up 0)
//! passes through as it comes, and lines from the log channels (defmt
//! decoded, or raw text) are put in only between two agent lines, so a log
//! line never splits an agent line. Everything that is not an agent line
//! ends up in the run's console log, as serial output would.

use std::collections::VecDeque;

/// Log lines held while the agent is in the middle of a line, at most.
const MAX_WAITING: usize = 256;
/// A raw log line longer than this is cut.
pub const MAX_LINE: usize = 1024;

/// The merged stream [`crate::ProbeLink`] reads from.
#[derive(Debug, Default)]
pub struct Console {
    out: VecDeque<u8>,
    /// The agent channel's last byte was a newline (or nothing came yet).
    mid_line: bool,
    waiting: VecDeque<String>,
    /// Log lines dropped because the agent never finished its line.
    pub dropped: u64,
}

impl Console {
    pub fn new() -> Console {
        Console::default()
    }

    /// Bytes from the agent's channel.
    pub fn push_agent(&mut self, mut bytes: &[u8]) {
        while !self.waiting.is_empty() && self.mid_line {
            match bytes.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.out.extend(&bytes[..=i]);
                    self.mid_line = false;
                    bytes = &bytes[i + 1..];
                    self.flush_waiting();
                }
                None => break,
            }
        }
        if let Some(&last) = bytes.last() {
            self.out.extend(bytes);
            self.mid_line = last != b'\n';
        }
    }

    /// One line from a log channel (without its newline).
    pub fn push_log(&mut self, line: &str) {
        self.waiting.push_back(line.to_string());
        if self.waiting.len() > MAX_WAITING {
            self.waiting.pop_front();
            self.dropped += 1;
        }
        if !self.mid_line {
            self.flush_waiting();
        }
    }

    fn flush_waiting(&mut self) {
        while let Some(l) = self.waiting.pop_front() {
            self.out.extend(l.as_bytes());
            self.out.push_back(b'\n');
        }
    }

    /// The agent's stream ended (a reset): a partial line is ended here so
    /// the next boot's first line stands on its own.
    pub fn break_line(&mut self) {
        if self.mid_line {
            self.out.push_back(b'\n');
            self.mid_line = false;
            self.flush_waiting();
        }
    }

    /// Moves what is ready into `buf`; the count moved.
    pub fn take(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.out.len());
        for (d, s) in buf.iter_mut().zip(self.out.drain(..n)) {
            *d = s;
        }
        n
    }

    /// Bytes ready to read.
    pub fn ready(&self) -> usize {
        self.out.len()
    }
}

/// Splits a raw text channel into lines (lossy UTF-8, `\r` dropped, cut
/// at [`MAX_LINE`] bytes).
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        for &b in bytes {
            match b {
                b'\n' => lines.push(self.finish()),
                b'\r' => {}
                _ => {
                    self.partial.push(b);
                    if self.partial.len() >= MAX_LINE {
                        lines.push(self.finish());
                    }
                }
            }
        }
        lines
    }

    fn finish(&mut self) -> String {
        let l = String::from_utf8_lossy(&self.partial).into_owned();
        self.partial.clear();
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(c: &mut Console) -> String {
        let mut buf = vec![0; 4096];
        let n = c.take(&mut buf);
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn a_log_line_waits_for_the_end_of_an_agent_line() {
        let mut c = Console::new();
        c.push_agent(b"@hil {\"ev");
        c.push_log("[defmt] INFO boot");
        c.push_log("[defmt] WARN low");
        assert_eq!(all(&mut c), "@hil {\"ev");
        c.push_agent(b"ent\":1}\n@hil {");
        assert_eq!(
            all(&mut c),
            "ent\":1}\n[defmt] INFO boot\n[defmt] WARN low\n@hil {"
        );
        c.push_agent(b"}\n");
        c.push_log("[log] x");
        assert_eq!(all(&mut c), "}\n[log] x\n");
    }

    #[test]
    fn a_reset_ends_a_partial_line() {
        let mut c = Console::new();
        c.push_agent(b"@hil {\"ev");
        c.push_log("[log] waiting");
        c.break_line();
        c.push_agent(b"@hil {}\n");
        assert_eq!(all(&mut c), "@hil {\"ev\n[log] waiting\n@hil {}\n");
        c.break_line();
        assert_eq!(all(&mut c), "");
    }

    #[test]
    fn take_hands_out_in_pieces() {
        let mut c = Console::new();
        c.push_agent(b"abcdef\n");
        let mut b = [0u8; 4];
        assert_eq!(c.take(&mut b), 4);
        assert_eq!(&b, b"abcd");
        assert_eq!(c.ready(), 3);
        assert_eq!(c.take(&mut b), 3);
        assert_eq!(c.take(&mut b), 0);
    }

    #[test]
    fn an_agent_that_never_ends_its_line_drops_old_log_lines() {
        let mut c = Console::new();
        c.push_agent(b"no newline");
        for i in 0..(MAX_WAITING + 5) {
            c.push_log(&format!("l{i}"));
        }
        assert_eq!(c.dropped, 5);
        c.push_agent(b"\n");
        let s = all(&mut c);
        assert!(s.starts_with("no newline\nl5\n"), "{s}");
    }

    #[test]
    fn raw_lines_are_split_cut_and_lossy() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"a\r\nb"), vec!["a"]);
        assert_eq!(s.push(b"c\n\xff\n"), vec!["bc", "\u{fffd}"]);
        let long = vec![b'x'; MAX_LINE + 3];
        let l = s.push(&long);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].len(), MAX_LINE);
        assert_eq!(s.push(b"\n"), vec!["xxx"]);
    }
}
