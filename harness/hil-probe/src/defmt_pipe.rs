//! The defmt decoder as a separate process (`hil-defmt ELF`: channel bytes
//! on stdin, one decoded line per frame on stdout), which is how the `hil`
//! harness decodes defmt without linking `defmt-decoder` (see the crate's
//! Cargo.toml). Lines are collected by a thread and picked up without
//! blocking.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};

/// What to build when `hil-defmt` is missing.
pub const BUILD_HINT: &str =
    "build it with `cargo build -p hil-probe --features defmt --bin hil-defmt` (it is looked for in $HIL_DEFMT, next to this program, and on the PATH)";

/// Where `hil-defmt` is: `$HIL_DEFMT`, next to this executable (or one
/// folder up, for test binaries in `target/*/deps`), else the PATH.
pub fn find_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HIL_DEFMT") {
        return Some(PathBuf::from(p));
    }
    if let Some(mut dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        for _ in 0..2 {
            let c = dir.join("hil-defmt");
            if c.is_file() {
                return Some(c);
            }
            dir.pop();
        }
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("hil-defmt"))
            .find(|c| c.is_file())
    })
}

/// A running `hil-defmt`.
pub struct DefmtPipe {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl DefmtPipe {
    /// Starts `bin` on `elf`.
    pub fn spawn(bin: &Path, elf: &Path) -> Result<DefmtPipe, String> {
        let mut child = Command::new(bin)
            .arg(elf)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdin = child.stdin.take();
        let (tx, rx) = mpsc::channel();
        for out in [
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::Builder::new()
                .name("hil-defmt-lines".into())
                .spawn(move || {
                    for line in BufReader::new(out).lines() {
                        let Ok(line) = line else { break };
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| format!("cannot start a thread: {e}"))?;
        }
        Ok(DefmtPipe {
            child,
            stdin,
            lines: rx,
        })
    }

    /// Hands channel bytes to the decoder.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("hil-defmt's input is closed")?;
        stdin
            .write_all(bytes)
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("hil-defmt stopped: {e}"))
    }

    /// The lines decoded so far.
    pub fn lines(&mut self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// Closes its input and waits for the last lines (at most `timeout`).
    pub fn finish(mut self, timeout: std::time::Duration) -> Vec<String> {
        self.stdin = None;
        let deadline = std::time::Instant::now() + timeout;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => out.push(l),
                Err(_) => break,
            }
        }
        out
    }
}

impl Drop for DefmtPipe {
    fn drop(&mut self) {
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
