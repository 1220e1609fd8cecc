//! The MicroPython raw REPL over any [`BoardLink`], framed as `mpremote`
//! frames it: how the harness copies the MicroPython agent
//! (`fixtures/agents/micropython/hil_agent.py`) onto a board and starts it.
//!
//! - enter: `\r` Ctrl-C Ctrl-C (interrupt whatever runs), `\r` Ctrl-A, then
//!   wait for `raw REPL; CTRL-B to exit\r\n>` (Ctrl-C + Ctrl-A again about
//!   once a second, for a board still booting);
//! - execute: the code, Ctrl-D; the board answers `OK`, the code's stdout
//!   up to `\x04`, its stderr (a traceback) up to `\x04`, then `>`
//!   ([`parse_response`]);
//! - put a file: `f=open(NAME,'wb')` then `w(b'...')` with 256 bytes of the
//!   file at a time, then `f.close()`, one execution each, as
//!   `mpremote fs put` does; skipped when the board already has a file of
//!   the same size and CRC-32 ([`install_and_start`]);
//! - start the agent: its start code, Ctrl-D, `OK`, and the link is the
//!   agent's from then on (whatever followed `OK` is handed back);
//! - leave: Ctrl-B ([`RawRepl::exit`]).
//!
//! Errors say what was expected and show what was received
//! ([`ReplError`]): no prompt within the timeout, a traceback from the
//! board (its stderr, verbatim), bytes that are not the framing, a link that
//! failed. The code sent is never shown: the agent's start code carries the
//! WiFi credentials.

use std::fmt;
use std::time::{Duration, Instant};

use super::link::BoardLink;

/// What the board prints when it enters the raw REPL.
pub const PROMPT: &[u8] = b"raw REPL; CTRL-B to exit\r\n>";

/// File bytes per `w(...)` call (as `mpremote fs put`).
pub const CHUNK: usize = 256;

/// Bytes of code written to the link at once, with a pause after each (a
/// board's UART buffer is small; `mpremote` does the same).
const WRITE_PIECE: usize = 256;
const WRITE_PAUSE: Duration = Duration::from_millis(10);

/// At most this much of what was received is shown in an error.
const SHOW: usize = 400;

/// Why a raw-REPL step failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplError {
    /// `expected` did not come within `after`.
    Timeout {
        expected: String,
        received: Vec<u8>,
        after: Duration,
    },
    /// The code of `step` raised on the board: its stderr, verbatim.
    Traceback {
        step: String,
        traceback: String,
        stdout: String,
    },
    /// Bytes that are not the raw-REPL framing.
    Unexpected { expected: String, received: Vec<u8> },
    /// The link failed (the port vanished).
    Link(String),
}

/// `bytes` as text: printable ASCII as is, the rest escaped; the last
/// [`SHOW`] bytes when longer.
pub fn show(bytes: &[u8]) -> String {
    let (skipped, tail) = if bytes.len() > SHOW {
        (bytes.len() - SHOW, &bytes[bytes.len() - SHOW..])
    } else {
        (0, bytes)
    };
    let mut s = String::new();
    if skipped > 0 {
        s.push_str(&format!("[{skipped} bytes before] "));
    }
    for &b in tail {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.is_empty() {
        s.push_str("nothing");
    }
    s
}

impl fmt::Display for ReplError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplError::Timeout {
                expected,
                received,
                after,
            } => write!(
                f,
                "raw REPL: no {expected} within {:.1} s (received: {}); is MicroPython running on the board, at this baud rate, and no other program (mpremote, a terminal) holding the port?",
                after.as_secs_f64(),
                show(received)
            ),
            ReplError::Traceback {
                step,
                traceback,
                stdout,
            } => {
                write!(f, "raw REPL: {step} failed on the board:\n{}", traceback.trim_end())?;
                if !stdout.is_empty() {
                    write!(f, "\n(its output: {})", show(stdout.as_bytes()))?;
                }
                Ok(())
            }
            ReplError::Unexpected { expected, received } => write!(
                f,
                "raw REPL: expected {expected}, received: {}",
                show(received)
            ),
            ReplError::Link(e) => write!(f, "raw REPL: the link failed: {e}"),
        }
    }
}

impl std::error::Error for ReplError {}

/// The board's answer to one execution, as far as it has arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Not complete yet.
    Incomplete,
    /// `OK`, stdout, `\x04`, stderr, `\x04`, `>`: the first `used` bytes.
    Complete {
        stdout: Vec<u8>,
        stderr: Vec<u8>,
        used: usize,
    },
    /// Not the framing: `at` is where it went wrong.
    Unexpected { at: usize },
}

/// Parses what the board sent after the code's Ctrl-D. Never panics.
pub fn parse_response(buf: &[u8]) -> Response {
    let ok = b"OK";
    let n = buf.len().min(2);
    if buf[..n] != ok[..n] {
        let at = buf.iter().zip(ok).take_while(|(a, b)| a == b).count();
        return Response::Unexpected { at };
    }
    if buf.len() < 2 {
        return Response::Incomplete;
    }
    let rest = &buf[2..];
    let Some(e1) = rest.iter().position(|&b| b == 0x04) else {
        return Response::Incomplete;
    };
    let after = &rest[e1 + 1..];
    let Some(e2) = after.iter().position(|&b| b == 0x04) else {
        return Response::Incomplete;
    };
    match after.get(e2 + 1) {
        None => Response::Incomplete,
        Some(b'>') => Response::Complete {
            stdout: rest[..e1].to_vec(),
            stderr: after[..e2].to_vec(),
            used: 2 + e1 + 1 + e2 + 2,
        },
        Some(_) => Response::Unexpected {
            at: 2 + e1 + 1 + e2 + 1,
        },
    }
}

/// `bytes` as a MicroPython bytes literal (`b'...'`).
pub fn py_bytes(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 3);
    s.push_str("b'");
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'\'' => s.push_str("\\'"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('\'');
    s
}

/// `text` as a MicroPython string literal (`'...'`, non-ASCII escaped).
pub fn py_str(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 2);
    s.push('\'');
    for c in text.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '\'' => s.push_str("\\'"),
            ' '..='~' => s.push(c),
            c if (c as u32) < 0x100 => s.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => s.push_str(&format!("\\u{:04x}", c as u32)),
            c => s.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    s.push('\'');
    s
}

/// What a reader decided about the bytes so far: `None` = read on.
type Verdict<T> = Option<Result<T, ReplError>>;

/// A board in the raw REPL.
pub struct RawRepl<'a> {
    link: &'a mut dyn BoardLink,
    timeout: Duration,
    /// Received and not used yet.
    pending: Vec<u8>,
}

impl<'a> RawRepl<'a> {
    /// Interrupts what runs and enters the raw REPL, waiting up to
    /// `timeout` for its prompt (and each later answer up to `timeout`).
    pub fn enter(link: &'a mut dyn BoardLink, timeout: Duration) -> Result<Self, ReplError> {
        let mut r = RawRepl {
            link,
            timeout,
            pending: Vec::new(),
        };
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            r.write(b"\r\x03\x03")?;
            std::thread::sleep(Duration::from_millis(50));
            // What was printed before (a program's output, the friendly
            // REPL's banner) is not ours.
            r.drain(Duration::from_millis(50), deadline, &mut seen)?;
            r.write(b"\r\x01")?;
            let again = (Instant::now() + Duration::from_millis(1000)).min(deadline);
            match r.read_until(PROMPT, again) {
                Ok(got) => {
                    r.pending = got;
                    return Ok(r);
                }
                Err(ReplError::Timeout { received, .. }) => {
                    seen.extend_from_slice(&received);
                    if Instant::now() >= deadline {
                        return Err(ReplError::Timeout {
                            expected: "raw REPL prompt `raw REPL; CTRL-B to exit\\r\\n>` after Ctrl-C, Ctrl-A".into(),
                            received: seen,
                            after: timeout,
                        });
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), ReplError> {
        self.link
            .write_all(bytes)
            .map_err(|e| ReplError::Link(format!("{}: {e}", self.link.describe())))
    }

    /// Reads into `into` until nothing came for `quiet` (or `until`).
    fn drain(
        &mut self,
        quiet: Duration,
        until: Instant,
        into: &mut Vec<u8>,
    ) -> Result<(), ReplError> {
        let mut buf = [0u8; 1024];
        while Instant::now() < until {
            match self.link.read(&mut buf, quiet) {
                Ok(0) => return Ok(()),
                Ok(n) => into.extend_from_slice(&buf[..n]),
                Err(e) => return Err(ReplError::Link(format!("{}: {e}", self.link.describe()))),
            }
        }
        Ok(())
    }

    /// Reads until `check` decides on what was received (`Some`), or
    /// `deadline`: then a timeout waiting for `expected`.
    fn wait<T>(
        &mut self,
        deadline: Instant,
        expected: &dyn Fn() -> String,
        check: &mut dyn FnMut(&mut Self, &[u8]) -> Verdict<T>,
    ) -> Result<T, ReplError> {
        let mut got = std::mem::take(&mut self.pending);
        let mut buf = [0u8; 1024];
        let started = Instant::now();
        loop {
            if let Some(r) = check(self, &got) {
                return r;
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ReplError::Timeout {
                    expected: expected(),
                    received: got,
                    after: now - started,
                });
            }
            match self
                .link
                .read(&mut buf, (deadline - now).min(Duration::from_millis(50)))
            {
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => return Err(ReplError::Link(format!("{}: {e}", self.link.describe()))),
            }
        }
    }

    /// Reads until `needle` was received; the bytes after it are returned.
    fn read_until(&mut self, needle: &[u8], deadline: Instant) -> Result<Vec<u8>, ReplError> {
        self.wait(
            deadline,
            &|| format!("`{}`", show(needle)),
            &mut |_, got| {
                got.windows(needle.len())
                    .position(|w| w == needle)
                    .map(|i| Ok(got[i + needle.len()..].to_vec()))
            },
        )
    }

    /// Sends `code` and its Ctrl-D, in pieces.
    fn send_code(&mut self, code: &str) -> Result<(), ReplError> {
        for piece in code.as_bytes().chunks(WRITE_PIECE) {
            self.write(piece)?;
            std::thread::sleep(WRITE_PAUSE);
        }
        self.write(b"\x04")
    }

    /// Reads `OK`; the bytes after it.
    fn read_ok(&mut self, step: &str) -> Result<Vec<u8>, ReplError> {
        let expected = || format!("`OK` after the code of {step}");
        let deadline = Instant::now() + self.timeout;
        self.wait(deadline, &expected, &mut |_, got| {
            if got.starts_with(b"OK") {
                return Some(Ok(got[2..].to_vec()));
            }
            matches!(parse_response(got), Response::Unexpected { .. }).then(|| {
                Err(ReplError::Unexpected {
                    expected: expected(),
                    received: got.to_vec(),
                })
            })
        })
    }

    /// Executes `code` (`step` names it in errors); its stdout.
    pub fn exec(&mut self, step: &str, code: &str) -> Result<String, ReplError> {
        self.send_code(code)?;
        let deadline = Instant::now() + self.timeout;
        let expected = || format!("the end of the answer to {step} (`\\x04`, `\\x04`, `>`)");
        self.wait(
            deadline,
            &expected,
            &mut |repl, got| match parse_response(got) {
                Response::Incomplete => None,
                Response::Unexpected { .. } => Some(Err(ReplError::Unexpected {
                    expected: format!(
                        "`OK`, output, `\\x04`, errors, `\\x04`, `>` after the code of {step}"
                    ),
                    received: got.to_vec(),
                })),
                Response::Complete {
                    stdout,
                    stderr,
                    used,
                } => {
                    repl.pending = got[used..].to_vec();
                    let stdout = String::from_utf8_lossy(&stdout).into_owned();
                    Some(if stderr.is_empty() {
                        Ok(stdout)
                    } else {
                        Err(ReplError::Traceback {
                            step: step.into(),
                            traceback: String::from_utf8_lossy(&stderr).into_owned(),
                            stdout,
                        })
                    })
                }
            },
        )
    }

    /// Writes `data` to the board's file `name`, [`CHUNK`] bytes per call.
    /// The number of executions it took.
    pub fn put_file(&mut self, name: &str, data: &[u8]) -> Result<usize, ReplError> {
        let step = format!("opening {name} for writing");
        self.exec(&step, &format!("f=open({},'wb')\nw=f.write", py_str(name)))?;
        let mut calls = 1;
        for (i, chunk) in data.chunks(CHUNK).enumerate() {
            let step = format!("writing bytes {}.. of {name}", i * CHUNK);
            self.exec(&step, &format!("w({})", py_bytes(chunk)))?;
            calls += 1;
        }
        self.exec(&format!("closing {name}"), "f.close()")?;
        Ok(calls + 1)
    }

    /// The size and CRC-32 of the board's file `name`, if it has one
    /// (`None` too when the board has no `binascii.crc32`).
    pub fn file_crc(&mut self, name: &str) -> Result<Option<(u64, u32)>, ReplError> {
        let code = format!(
            "try:\n import binascii\n f=open({},'rb')\n n=0\n c=0\n while 1:\n  b=f.read(256)\n  if not b:break\n  n+=len(b)\n  c=binascii.crc32(b,c)\n f.close()\n print(n,c&0xffffffff)\nexcept Exception:\n print('none')",
            py_str(name)
        );
        let out = self.exec(&format!("checking {name}"), &code)?;
        let mut words = out.split_whitespace();
        Ok(match (words.next(), words.next()) {
            (Some(n), Some(c)) => n.parse().ok().zip(c.parse().ok()),
            _ => None,
        })
    }

    /// Executes `code` that does not return (the agent): after its `OK`,
    /// the link is the code's. What followed `OK` is returned.
    pub fn start(mut self, step: &str, code: &str) -> Result<Vec<u8>, ReplError> {
        self.send_code(code)?;
        self.read_ok(step)
    }

    /// Leaves the raw REPL (Ctrl-B) for the friendly REPL.
    pub fn exit(mut self) -> Result<(), ReplError> {
        self.write(b"\r\x02")
    }
}

/// How the agent got onto the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The board already had this file (same size and CRC-32).
    pub skipped: bool,
    /// Raw-REPL executions it took.
    pub execs: usize,
    /// Bytes of script it had (written unless `skipped`).
    pub bytes: u64,
    pub elapsed: Duration,
    /// What the board sent after the start code's `OK` (the agent's first
    /// output).
    pub after_ok: Vec<u8>,
}

/// Writes `data` to the board's file `remote` unless it has that file
/// already (size and CRC-32): whether it was there, and the executions.
fn ensure_file(
    repl: &mut RawRepl<'_>,
    remote: &str,
    data: &[u8],
) -> Result<(bool, usize), ReplError> {
    let want = (data.len() as u64, hil_agent::frame::crc32(data));
    if repl.file_crc(remote)? == Some(want) {
        Ok((true, 1))
    } else {
        Ok((false, 1 + repl.put_file(remote, data)?))
    }
}

/// Enters the raw REPL, writes `data` to the board's file `remote` unless
/// it has that file already (size and CRC-32), and leaves the raw REPL.
pub fn install(
    link: &mut dyn BoardLink,
    remote: &str,
    data: &[u8],
    timeout: Duration,
) -> Result<Installed, ReplError> {
    let t0 = Instant::now();
    let mut repl = RawRepl::enter(link, timeout)?;
    let (skipped, execs) = ensure_file(&mut repl, remote, data)?;
    repl.exit()?;
    Ok(Installed {
        skipped,
        execs,
        bytes: data.len() as u64,
        elapsed: t0.elapsed(),
        after_ok: Vec::new(),
    })
}

/// Enters the raw REPL, writes `script` (`(remote name, bytes)`) to the
/// board unless it has that file already, and starts it with `start` (code
/// that does not return). `script: None` only starts it (the file is on the
/// board already).
pub fn install_and_start(
    link: &mut dyn BoardLink,
    script: Option<(&str, &[u8])>,
    start: &str,
    timeout: Duration,
) -> Result<Installed, ReplError> {
    let t0 = Instant::now();
    let mut repl = RawRepl::enter(link, timeout)?;
    let (skipped, execs) = match script {
        Some((remote, data)) => ensure_file(&mut repl, remote, data)?,
        None => (true, 0),
    };
    let step = format!("starting {}", script.map_or("the agent", |s| s.0));
    let after_ok = repl.start(&step, start)?;
    Ok(Installed {
        skipped,
        execs: execs + 1,
        bytes: script.map_or(0, |s| s.1.len() as u64),
        elapsed: t0.elapsed(),
        after_ok,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_whole_answer_is_split_into_output_and_errors() {
        assert_eq!(
            parse_response(b"OKhi\r\n\x04\x04>rest"),
            Response::Complete {
                stdout: b"hi\r\n".to_vec(),
                stderr: vec![],
                used: 9
            }
        );
        assert_eq!(
            parse_response(b"OK\x04Traceback\x04>"),
            Response::Complete {
                stdout: vec![],
                stderr: b"Traceback".to_vec(),
                used: 14
            }
        );
        assert_eq!(parse_response(b""), Response::Incomplete);
        assert_eq!(parse_response(b"O"), Response::Incomplete);
        assert_eq!(parse_response(b"OK\x04\x04"), Response::Incomplete);
        assert_eq!(parse_response(b"Ox"), Response::Unexpected { at: 1 });
        assert_eq!(parse_response(b"raw"), Response::Unexpected { at: 0 });
        assert_eq!(
            parse_response(b"OK\x04\x04x"),
            Response::Unexpected { at: 4 }
        );
    }

    #[test]
    fn literals_escape_what_python_needs() {
        assert_eq!(py_bytes(b"a'\\\n\x00\xff"), r"b'a\'\\\x0a\x00\xff'");
        assert_eq!(py_str("it's é"), r"'it\'s \xe9'");
        assert_eq!(py_str("€"), r"'\u20ac'");
        assert_eq!(show(b"ok\r\n\x04"), r"ok\r\n\x04");
        assert_eq!(show(b""), "nothing");
        assert!(show(&[b'x'; 1000]).starts_with("[600 bytes before] xxx"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn the_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            match parse_response(&bytes) {
                Response::Complete { used, .. } => prop_assert!(used <= bytes.len()),
                Response::Unexpected { at } => prop_assert!(at <= bytes.len()),
                Response::Incomplete => {}
            }
        }

        #[test]
        fn framed_answers_parse_back(
            out in proptest::collection::vec(any::<u8>().prop_filter("no EOT", |b| *b != 4), 0..40),
            err in proptest::collection::vec(any::<u8>().prop_filter("no EOT", |b| *b != 4), 0..40),
            tail in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let mut whole = b"OK".to_vec();
            whole.extend_from_slice(&out);
            whole.push(4);
            whole.extend_from_slice(&err);
            whole.extend_from_slice(b"\x04>");
            let used = whole.len();
            for cut in 0..used {
                prop_assert_eq!(parse_response(&whole[..cut]), Response::Incomplete);
            }
            whole.extend_from_slice(&tail);
            prop_assert_eq!(
                parse_response(&whole),
                Response::Complete { stdout: out, stderr: err, used }
            );
        }

        #[test]
        fn bytes_literals_are_printable_ascii(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let s = py_bytes(&bytes);
            prop_assert!(s.bytes().all(|b| (0x20..0x7f).contains(&b)));
        }
    }
}
