//! The probe transport in the board backend (cargo feature `probe`): the
//! `hil-probe` crate's [`ProbeLink`] (probe-rs: flash, reset, RTT) as a
//! [`BoardLink`], opened from a profile with `[transport] kind = "probe"`.
//! Opening a link flashes the profile's firmware the first time this
//! process sees that image (the same path, size and modification time are
//! flashed once), otherwise resets the board, so every run starts from a
//! fresh boot. Without the feature, a probe profile stops with
//! [`super::probe_unavailable`].

use std::collections::BTreeSet;
use std::io;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use hil_probe::{Attach, Firmware, FlashStep, ProbeLink, ProbeSelector};

use super::link::BoardLink;
use super::profile::{LineStep, Profile, Transport};

fn to_io(e: hil_probe::ProbeError) -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, e.to_string())
}

impl BoardLink for ProbeLink {
    fn describe(&self) -> String {
        ProbeLink::describe(self)
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        ProbeLink::read(self, buf, timeout).map_err(to_io)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        ProbeLink::write_all(self, bytes).map_err(to_io)
    }

    fn line_reset(&mut self, _steps: &[LineStep]) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "a probe has no DTR/RTS lines: use reset method \"probe\"",
        ))
    }

    fn reopen(&mut self, timeout: Duration) -> Result<(), String> {
        ProbeLink::reopen(self, timeout).map_err(|e| e.to_string())
    }

    fn probe_reset(&mut self) -> io::Result<()> {
        self.reset().map_err(to_io)
    }
}

/// The images this process has flashed: (path, length, modified).
type Flashed = BTreeSet<(std::path::PathBuf, u64, Option<SystemTime>)>;
static FLASHED: Mutex<Flashed> = Mutex::new(BTreeSet::new());

/// The profile's probe selector, checked.
pub fn selector(profile: &Profile) -> Result<Option<ProbeSelector>, String> {
    match &profile.transport {
        Transport::Probe { probe: Some(s) } => s
            .parse()
            .map(Some)
            .map_err(|e| format!("board profile `{}`: {e}", profile.name)),
        _ => Ok(None),
    }
}

/// Opens the probe a profile names, flashes or resets the board.
pub fn open(profile: &Profile) -> Result<Box<dyn BoardLink>, String> {
    let selector = selector(profile)?;
    let mut link =
        ProbeLink::open(selector, &profile.chip, Attach::Normal).map_err(|e| e.to_string())?;
    match &profile.firmware {
        Some(path) => {
            let fw = Firmware::load(path).map_err(|e| e.to_string())?;
            let key = (fw.path.clone(), fw.stamp.0, fw.stamp.1);
            let fresh = !FLASHED
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&key);
            if fresh {
                eprintln!("board/{}: flashing {}", profile.name, path.display());
                link.flash(&fw, |s: &FlashStep| {
                    if s.finished {
                        eprintln!(
                            "board/{}: {} done ({} bytes)",
                            profile.name, s.operation, s.done
                        );
                    }
                })
                .map_err(|e| e.to_string())?;
                FLASHED
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key);
            } else {
                link.use_firmware(&fw);
                link.reset().map_err(|e| e.to_string())?;
            }
        }
        None => link.reset().map_err(|e| e.to_string())?,
    }
    Ok(Box::new(link))
}

/// `hil boards`' probe lines: the probes connected and the profiles that
/// match them.
pub fn list(profiles: &[Profile]) -> Vec<String> {
    let probes = hil_probe::list_probes();
    let mut lines = vec![format!(
        "probes: {} (probe-rs; `probe-rs list` shows the same)",
        probes.len()
    )];
    for p in &probes {
        let matching: Vec<&str> = profiles
            .iter()
            .filter(|pr| match selector(pr) {
                Ok(Some(s)) => s.matches(p.vid, p.pid, p.serial.as_deref()),
                Ok(None) => matches!(pr.transport, Transport::Probe { .. }),
                Err(_) => false,
            })
            .map(|pr| pr.name.as_str())
            .collect();
        lines.push(format!(
            "  {p}{}{}",
            hil_probe::selector::kind_of(p.vid, p.pid)
                .map(|k| format!(" ({k})"))
                .unwrap_or_default(),
            if matching.is_empty() {
                String::new()
            } else {
                format!("  -> profile {}", matching.join(", "))
            }
        ));
    }
    lines
}
