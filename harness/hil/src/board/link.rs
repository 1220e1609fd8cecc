//! How the harness reaches a board: one [`BoardLink`] trait over byte
//! transports, and its serial implementation ([`SerialLink`],
//! `serialport`), which also serves the virtual board's PTY. The probe-rs
//! transport (RTT) lives in the `hil-probe` crate, a [`BoardLink`] with the
//! `probe` feature (`board/probe.rs`).
//!
//! A link can vanish while the board resets (a USB CDC port re-enumerates,
//! the virtual board reopens its PTY): [`BoardLink::reopen`] waits for it
//! to come back, up to the profile's timeout; after that the run fails as
//! an infrastructure failure, apart from the DUT's own failures.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::profile::{LineStep, PortSelect};

/// A byte stream to a board.
pub trait BoardLink: Send {
    /// What it is, for messages (`/dev/ttyACM0`, `probe 303a:1001`).
    fn describe(&self) -> String;
    /// Reads what is there, waiting at most `timeout`; `Ok(0)` when
    /// nothing came. An error means the link is gone (reopen it).
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize>;
    /// Writes all of `bytes`.
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Plays a DTR/RTS reset sequence (serial only).
    fn line_reset(&mut self, steps: &[LineStep]) -> io::Result<()>;
    /// Closes and opens the link again, waiting up to `timeout` for it to
    /// exist again.
    fn reopen(&mut self, timeout: Duration) -> Result<(), String>;
    /// Resets the board through its debug probe (probe links only).
    fn probe_reset(&mut self) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this link has no probe to reset the board with",
        ))
    }
}

/// A serial port (or PTY) by path or by USB id.
pub struct SerialLink {
    select: PortSelect,
    baud: u32,
    /// The path it was opened at.
    path: PathBuf,
    port: Option<serialport::TTYPort>,
}

/// A serial port: its path, and its USB VID, PID and serial number.
pub type PortInfo = (String, Option<(u16, u16, Option<String>)>);

/// The serial ports the system reports.
pub fn list_ports() -> Vec<PortInfo> {
    serialport::available_ports()
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let usb = match p.port_type {
                serialport::SerialPortType::UsbPort(u) => Some((u.vid, u.pid, u.serial_number)),
                _ => None,
            };
            (p.port_name, usb)
        })
        .collect()
}

/// The path of the port `select` names, now.
pub fn find_port(select: &PortSelect) -> Result<PathBuf, String> {
    match select {
        PortSelect::Path(p) => Ok(p.clone()),
        PortSelect::Usb {
            vid,
            pid,
            serial_number,
        } => {
            let ports = list_ports();
            let found: Vec<_> = ports
                .iter()
                .filter(|(_, u)| {
                    u.as_ref().is_some_and(|(v, p, s)| {
                        v == vid
                            && p == pid
                            && serial_number
                                .as_ref()
                                .is_none_or(|want| s.as_ref() == Some(want))
                    })
                })
                .collect();
            let want = format!(
                "USB {vid:04x}:{pid:04x}{}",
                serial_number
                    .as_ref()
                    .map(|s| format!(" serial {s}"))
                    .unwrap_or_default()
            );
            match found.as_slice() {
                [(path, _)] => Ok(PathBuf::from(path)),
                [] => Err(format!(
                    "no serial port matches {want} ({} port(s) seen: {}); `hil boards` lists them",
                    ports.len(),
                    ports
                        .iter()
                        .map(|(p, _)| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                many => Err(format!(
                    "{} ports match {want} ({}): add serial_number to the profile",
                    many.len(),
                    many.iter()
                        .map(|(p, _)| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
    }
}

fn open(path: &Path, baud: u32) -> Result<serialport::TTYPort, String> {
    let mut port = serialport::new(path.to_string_lossy(), baud)
        .timeout(Duration::from_millis(50))
        .open_native()
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    // The virtual board keeps its own end open; a second opener is fine.
    let _ = port.set_exclusive(false);
    Ok(port)
}

impl SerialLink {
    /// Opens the port `select` names.
    pub fn open(select: PortSelect, baud: u32) -> Result<SerialLink, String> {
        let path = find_port(&select)?;
        let port = open(&path, baud)?;
        Ok(SerialLink {
            select,
            baud,
            path,
            port: Some(port),
        })
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the port is closed")
}

impl BoardLink for SerialLink {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let port = self.port.as_mut().ok_or_else(gone)?;
        serialport::SerialPort::set_timeout(port, timeout).map_err(io::Error::other)?;
        match port.read(buf) {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "end of stream",
            )),
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Ok(0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let port = self.port.as_mut().ok_or_else(gone)?;
        Write::write_all(port, bytes)?;
        // The bytes are the kernel's now. A board can act on them and
        // vanish before the drain returns (a console `reboot` line: the
        // PTY or USB port goes away at once), which makes the flush fail
        // although the write did its job; a port that is really gone is
        // found by the next read, which reopens it.
        let _ = port.flush();
        Ok(())
    }

    fn line_reset(&mut self, steps: &[LineStep]) -> io::Result<()> {
        use serialport::SerialPort;
        let port = self.port.as_mut().ok_or_else(gone)?;
        for s in steps {
            match *s {
                LineStep::Dtr(l) => port
                    .write_data_terminal_ready(l)
                    .map_err(io::Error::other)?,
                LineStep::Rts(l) => port.write_request_to_send(l).map_err(io::Error::other)?,
                LineStep::Wait(d) => std::thread::sleep(d.to_std()),
            }
        }
        Ok(())
    }

    fn reopen(&mut self, timeout: Duration) -> Result<(), String> {
        self.port = None;
        let deadline = Instant::now() + timeout;
        // A port that vanished needs a moment before it can come back.
        std::thread::sleep(Duration::from_millis(50));
        loop {
            match find_port(&self.select).and_then(|p| open(&p, self.baud).map(|port| (p, port))) {
                Ok((p, port)) => {
                    self.path = p;
                    self.port = Some(port);
                    return Ok(());
                }
                Err(e) if Instant::now() >= deadline => {
                    return Err(format!(
                        "the board's port did not come back within {:.1} s after a reset ({e})",
                        timeout.as_secs_f64()
                    ))
                }
                Err(_) => {}
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
