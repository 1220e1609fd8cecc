//! The probe transport itself (feature `probe-rs`): find a probe by
//! selector, attach to the chip, flash an ELF with progress, reset
//! (running, or halted), and carry the agent protocol over RTT: up
//! channel 0 and down channel 0 are the agent's byte stream, a second up
//! channel (named `defmt`, else number 1) is the firmware's log, decoded
//! with the ELF's defmt table by `hil-defmt` when the ELF has one and shown
//! as raw text otherwise. Both end up in the one stream
//! [`ProbeLink::read`] returns ([`Console`]).
//!
//! After a reset the firmware sets up its RTT control block again: the
//! link clears the old block's id (when it knows where it is) and attaches
//! again as soon as the firmware has written a new one; until then reads
//! return nothing and writes wait in a buffer.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use probe_rs::flashing::{self, DownloadOptions, FlashProgress, Format, FormatKind, ProgressEvent};
use probe_rs::probe::list::Lister;
use probe_rs::rtt::{Rtt, ScanRegion};
use probe_rs::{MemoryInterface, Permissions, Session};

use crate::console::{Console, LineSplitter};
use crate::defmt_pipe::{self, DefmtPipe};
use crate::error::{ProbeError, ProbeInfo};
use crate::firmware::Firmware;
use crate::selector::ProbeSelector;

/// The probes connected now (none, and no error, when there are none).
pub fn list_probes() -> Vec<ProbeInfo> {
    Lister::new().list_all().iter().map(info).collect()
}

fn info(p: &probe_rs::probe::DebugProbeInfo) -> ProbeInfo {
    ProbeInfo {
        identifier: p.identifier.clone(),
        vid: p.vendor_id,
        pid: p.product_id,
        serial: p.serial_number.clone(),
    }
}

fn core0(session: &mut Session) -> Result<probe_rs::Core<'_>, ProbeError> {
    session.core(0).map_err(|e| ProbeError::Link(e.to_string()))
}

/// How to attach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Attach {
    /// Attach to the running chip.
    #[default]
    Normal,
    /// Hold the chip in reset while attaching (a chip whose firmware
    /// disables the debug pins, or sleeps).
    UnderReset,
}

/// One step of flashing, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlashStep {
    /// `erase`, `program`, `verify` or `fill`.
    pub operation: &'static str,
    pub done: u64,
    pub total: Option<u64>,
    pub finished: bool,
}

/// Bytes written to the down channel but not yet taken by the firmware, at
/// most.
const MAX_PENDING_WRITE: usize = 64 * 1024;
/// How often a missing RTT control block is looked for.
const ATTACH_EVERY: Duration = Duration::from_millis(100);

/// A board behind a debug probe.
pub struct ProbeLink {
    selector: Option<ProbeSelector>,
    chip: String,
    attach: Attach,
    session: Option<Session>,
    rtt: Option<Rtt>,
    /// Where the control block is (from the ELF, or the last attach).
    rtt_address: Option<u64>,
    next_attach: Instant,
    /// The log channel's index once RTT is attached.
    log_channel: Option<usize>,
    firmware: Option<Firmware>,
    defmt: Option<DefmtPipe>,
    raw_log: LineSplitter,
    console: Console,
    pending_write: Vec<u8>,
    /// A control block without the agent's channels was reported.
    rtt_problem: bool,
}

impl ProbeLink {
    /// Opens the probe `selector` names (or the only one attached) and
    /// attaches to `chip` (a probe-rs chip name, e.g. `esp32c3`).
    pub fn open(
        selector: Option<ProbeSelector>,
        chip: &str,
        attach: Attach,
    ) -> Result<ProbeLink, ProbeError> {
        if chip.trim().is_empty() {
            return Err(ProbeError::Attach {
                chip: chip.into(),
                message: "the profile names no chip (`chip = \"esp32c3\"`)".into(),
            });
        }
        let session = open_session(selector.as_ref(), chip, attach)?;
        Ok(ProbeLink {
            selector,
            chip: chip.to_string(),
            attach,
            session: Some(session),
            rtt: None,
            rtt_address: None,
            next_attach: Instant::now(),
            log_channel: None,
            firmware: None,
            defmt: None,
            raw_log: LineSplitter::default(),
            console: Console::new(),
            pending_write: Vec::new(),
            rtt_problem: false,
        })
    }

    /// What it is, for messages.
    pub fn describe(&self) -> String {
        format!(
            "probe {} ({})",
            self.selector
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_else(|| "any".into()),
            self.chip
        )
    }

    fn session(&mut self) -> Result<&mut Session, ProbeError> {
        self.session
            .as_mut()
            .ok_or_else(|| ProbeError::Link("the probe is closed".into()))
    }

    /// Uses `fw` for the RTT address and the log channel's decoding
    /// (without flashing it).
    pub fn use_firmware(&mut self, fw: &Firmware) {
        self.rtt_address = fw.rtt_address.or(self.rtt_address);
        self.defmt = None;
        if let Some(note) = fw.defmt_note() {
            self.console.push_log(&format!("[hil-probe] {note}"));
        } else {
            match defmt_pipe::find_binary() {
                None => self.console.push_log(&format!(
                    "[hil-probe] the firmware logs with defmt but `hil-defmt` is not found: {}; its log channel is not shown",
                    defmt_pipe::BUILD_HINT
                )),
                Some(bin) => match DefmtPipe::spawn(&bin, &fw.path) {
                    Ok(p) => self.defmt = Some(p),
                    Err(e) => self
                        .console
                        .push_log(&format!("[hil-probe] no defmt decoding: {e}")),
                },
            }
        }
        self.firmware = Some(fw.clone());
    }

    /// Flashes `fw` (in the chip's default image format: ESP-IDF for the
    /// ESP32 family), reporting progress, then resets the chip and runs it.
    pub fn flash(
        &mut self,
        fw: &Firmware,
        mut progress: impl FnMut(&FlashStep),
    ) -> Result<(), ProbeError> {
        let path: PathBuf = fw.path.clone();
        let ferr = |message: String| ProbeError::Flash {
            path: path.clone(),
            message,
        };
        // The file is checked again: it may have changed since it was loaded.
        Firmware::load(&fw.path)?;
        let session = self.session()?;
        let kind =
            FormatKind::from_optional(session.target().default_format.as_deref()).map_err(ferr)?;
        let mut totals = std::collections::BTreeMap::new();
        let mut options = DownloadOptions::default();
        options.progress = FlashProgress::new(|e| {
            let name = |op: flashing::ProgressOperation| match op {
                flashing::ProgressOperation::Fill => "fill",
                flashing::ProgressOperation::Erase => "erase",
                flashing::ProgressOperation::Program => "program",
                flashing::ProgressOperation::Verify => "verify",
            };
            match e {
                ProgressEvent::AddProgressBar { operation, total } => {
                    totals.insert(name(operation), (0u64, total));
                }
                ProgressEvent::Progress {
                    operation, size, ..
                } => {
                    let t = totals.entry(name(operation)).or_insert((0, None));
                    t.0 += size;
                    progress(&FlashStep {
                        operation: name(operation),
                        done: t.0,
                        total: t.1,
                        finished: false,
                    });
                }
                ProgressEvent::Finished(operation) => {
                    let t = totals.get(name(operation)).copied().unwrap_or((0, None));
                    progress(&FlashStep {
                        operation: name(operation),
                        done: t.0,
                        total: t.1,
                        finished: true,
                    });
                }
                _ => {}
            }
        });
        options.verify = false;
        flashing::download_file_with_options(session, &fw.path, Format::from(kind), options)
            .map_err(|e| ferr(e.to_string()))?;
        self.use_firmware(fw);
        self.reset()
    }

    /// Resets the chip and lets it run.
    pub fn reset(&mut self) -> Result<(), ProbeError> {
        self.reset_and_halt()?;
        self.run()
    }

    /// Resets the chip and holds it halted at its first instruction (the
    /// old RTT control block's id is cleared meanwhile).
    pub fn reset_and_halt(&mut self) -> Result<(), ProbeError> {
        let addr = self.rtt.as_ref().map(Rtt::ptr).or(self.rtt_address);
        let session = self.session()?;
        let mut core = core0(session)?;
        core.reset_and_halt(Duration::from_millis(500))
            .map_err(|e| ProbeError::Link(format!("reset: {e}")))?;
        if let Some(a) = addr {
            // A stale block from the last boot would be attached to at once.
            let _ = core.write_8(a, &[0u8; 16]);
        }
        drop(core);
        self.after_reset(addr);
        Ok(())
    }

    /// Lets a halted chip run.
    pub fn run(&mut self) -> Result<(), ProbeError> {
        let session = self.session()?;
        let mut core = core0(session)?;
        core.run()
            .map_err(|e| ProbeError::Link(format!("run: {e}")))
    }

    fn after_reset(&mut self, addr: Option<u64>) {
        self.rtt = None;
        self.rtt_address = addr;
        self.log_channel = None;
        self.next_attach = Instant::now();
        self.console.break_line();
        if let Some(fw) = self.firmware.clone() {
            // A fresh decoder: the last boot's partial frame is gone.
            if self.defmt.is_some() {
                self.use_firmware(&fw);
            }
        }
    }

    /// Closes the probe and opens it again, waiting up to `timeout` for it
    /// to come back (a USB-JTAG probe on the chip re-enumerates when the
    /// chip resets).
    pub fn reopen(&mut self, timeout: Duration) -> Result<(), ProbeError> {
        self.session = None;
        let addr = self.rtt.as_ref().map(Rtt::ptr).or(self.rtt_address);
        self.after_reset(addr);
        let deadline = Instant::now() + timeout;
        loop {
            match open_session(self.selector.as_ref(), &self.chip, self.attach) {
                Ok(s) => {
                    self.session = Some(s);
                    return Ok(());
                }
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Looks for the RTT control block (at most every 100 ms).
    fn try_attach(&mut self) -> Result<(), ProbeError> {
        if self.rtt.is_some() || Instant::now() < self.next_attach {
            return Ok(());
        }
        self.next_attach = Instant::now() + ATTACH_EVERY;
        let region = match self.rtt_address {
            Some(a) => ScanRegion::Exact(a),
            None => ScanRegion::Ram,
        };
        let session = self.session()?;
        let mut core = core0(session)?;
        match Rtt::attach_region(&mut core, &region) {
            Ok(mut rtt) => {
                if rtt.up_channels().is_empty() || rtt.down_channels().is_empty() {
                    // Said once in the console log; the run then fails for
                    // want of a `hello`.
                    drop(core);
                    let m = ProbeError::Rtt(format!(
                        "the firmware's RTT control block has {} up and {} down channels: the agent needs up channel 0 and down channel 0",
                        rtt.up_channels().len(),
                        rtt.down_channels().len()
                    ));
                    if !self.rtt_problem {
                        self.rtt_problem = true;
                        self.console.push_log(&format!("[hil-probe] {m}"));
                    }
                    return Ok(());
                }
                let log = rtt
                    .up_channels()
                    .iter()
                    .position(|c| c.name() == Some("defmt"))
                    .or((rtt.up_channels().len() > 1).then_some(1))
                    .filter(|&i| i != 0);
                drop(core);
                self.rtt_address = Some(rtt.ptr());
                self.log_channel = log;
                self.rtt = Some(rtt);
                Ok(())
            }
            // Not set up yet (the firmware is starting): try again later.
            Err(_) => Ok(()),
        }
    }

    /// Moves what the channels have into the console; writes what waits.
    fn poll(&mut self) -> Result<(), ProbeError> {
        self.try_attach()?;
        let log_channel = self.log_channel;
        let (Some(session), Some(rtt)) = (self.session.as_mut(), self.rtt.as_mut()) else {
            return Ok(());
        };
        let mut core = core0(session)?;
        let mut buf = [0u8; 1024];
        if let Some(up) = rtt.up_channel(0) {
            let n = up
                .read(&mut core, &mut buf)
                .map_err(|e| ProbeError::Link(e.to_string()))?;
            self.console.push_agent(&buf[..n]);
        }
        if let Some(up) = log_channel.and_then(|i| rtt.up_channel(i)) {
            let n = up
                .read(&mut core, &mut buf)
                .map_err(|e| ProbeError::Link(e.to_string()))?;
            if n > 0 {
                match &mut self.defmt {
                    Some(p) => {
                        if let Err(e) = p.push(&buf[..n]) {
                            self.defmt = None;
                            self.console.push_log(&format!("[hil-probe] {e}"));
                        }
                    }
                    None if self.firmware.as_ref().is_some_and(|f| f.has_defmt) => {}
                    None => {
                        for l in self.raw_log.push(&buf[..n]) {
                            self.console.push_log(&format!("[log] {l}"));
                        }
                    }
                }
            }
        }
        if !self.pending_write.is_empty() {
            if let Some(down) = rtt.down_channel(0) {
                let n = down
                    .write(&mut core, &self.pending_write)
                    .map_err(|e| ProbeError::Link(e.to_string()))?;
                self.pending_write.drain(..n);
            }
        }
        drop(core);
        if let Some(p) = &mut self.defmt {
            for l in p.lines() {
                self.console.push_log(&l);
            }
        }
        Ok(())
    }

    /// Reads what the agent channel (and the log lines between its lines)
    /// has, waiting at most `timeout`; `Ok(0)` when nothing came.
    pub fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, ProbeError> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.console.ready() > 0 {
                return Ok(self.console.take(buf));
            }
            self.poll()?;
            if self.console.ready() > 0 {
                return Ok(self.console.take(buf));
            }
            if Instant::now() >= deadline {
                return Ok(0);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Writes to down channel 0 (held until the firmware has set up RTT
    /// and takes the bytes).
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), ProbeError> {
        if self.pending_write.len() + bytes.len() > MAX_PENDING_WRITE {
            return Err(ProbeError::Rtt(format!(
                "the firmware does not read RTT down channel 0 ({} bytes waiting)",
                self.pending_write.len()
            )));
        }
        self.pending_write.extend_from_slice(bytes);
        self.poll()
    }
}

fn open_session(
    selector: Option<&ProbeSelector>,
    chip: &str,
    attach: Attach,
) -> Result<Session, ProbeError> {
    let all = Lister::new().list_all();
    let seen: Vec<ProbeInfo> = all.iter().map(info).collect();
    let matching: Vec<_> = all
        .iter()
        .filter(|p| {
            selector
                .is_none_or(|s| s.matches(p.vendor_id, p.product_id, p.serial_number.as_deref()))
        })
        .collect();
    let info = match matching.as_slice() {
        [one] => *one,
        [] => {
            return Err(ProbeError::NoProbe {
                selector: selector.cloned(),
                seen,
            })
        }
        _ => {
            return Err(ProbeError::ManyProbes {
                selector: selector.cloned(),
                seen,
            })
        }
    };
    let name = format!(
        "{:04x}:{:04x} {}",
        info.vendor_id, info.product_id, info.identifier
    );
    let probe = info.open().map_err(|e| ProbeError::Open {
        probe: name,
        message: e.to_string(),
    })?;
    let r = match attach {
        Attach::Normal => probe.attach(chip, Permissions::default()),
        Attach::UnderReset => probe.attach_under_reset(chip, Permissions::default()),
    };
    r.map_err(|e| ProbeError::Attach {
        chip: chip.into(),
        message: e.to_string(),
    })
}

/// Flashes `path` onto the board behind the probe: the file is checked
/// first (a missing or non-ELF file fails before any probe is looked for),
/// then the probe is opened, the chip flashed, reset and left running.
pub fn flash_file(
    selector: Option<ProbeSelector>,
    chip: &str,
    path: &std::path::Path,
    progress: impl FnMut(&FlashStep),
) -> Result<ProbeLink, ProbeError> {
    let fw = Firmware::load(path)?;
    let mut link = ProbeLink::open(selector, chip, Attach::Normal)?;
    link.flash(&fw, progress)?;
    Ok(link)
}
