//! The firmware image a probe flashes: an ELF file, checked before any
//! probe is looked for (a missing file or a `.bin` is a clear error, not a
//! probe-rs failure halfway through), and what the harness needs from it:
//! the RTT control block's address (`_SEGGER_RTT`, so RTT attaches without
//! scanning RAM) and whether it carries defmt data (a `.defmt` section).

use std::path::{Path, PathBuf};

use object::{Object, ObjectSection, ObjectSymbol};

use crate::error::ProbeError;

/// What a probe-less build says about a firmware without defmt data.
pub const NO_DEFMT: &str =
    "no defmt data (the ELF has no .defmt section): log channels are shown as raw text lines";

/// A checked firmware image.
#[derive(Debug, Clone)]
pub struct Firmware {
    pub path: PathBuf,
    /// The address of `_SEGGER_RTT`, when the firmware has one.
    pub rtt_address: Option<u64>,
    /// The ELF has a `.defmt` section (defmt log frames can be decoded).
    pub has_defmt: bool,
    /// The file's length and modification time: the same image is
    /// flashed once per process.
    pub stamp: (u64, Option<std::time::SystemTime>),
}

impl Firmware {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Firmware, ProbeError> {
        let err = |message: String| ProbeError::Firmware {
            path: path.to_path_buf(),
            message,
        };
        let meta = std::fs::metadata(path).map_err(|e| {
            err(if e.kind() == std::io::ErrorKind::NotFound {
                "does not exist: build the firmware first (a relative `firmware` in a profile is taken from the profile's folder)".into()
            } else {
                format!("cannot be read: {e}")
            })
        })?;
        if meta.is_dir() {
            return Err(err("is a directory, not an ELF file".into()));
        }
        let data = std::fs::read(path).map_err(|e| err(format!("cannot be read: {e}")))?;
        Firmware::parse(path, &data).map(|(rtt_address, has_defmt)| Firmware {
            path: path.to_path_buf(),
            rtt_address,
            has_defmt,
            stamp: (meta.len(), meta.modified().ok()),
        })
    }

    /// `(_SEGGER_RTT address, has .defmt)` of ELF bytes.
    pub fn parse(path: &Path, data: &[u8]) -> Result<(Option<u64>, bool), ProbeError> {
        let err = |message: String| ProbeError::Firmware {
            path: path.to_path_buf(),
            message,
        };
        if !data.starts_with(b"\x7fELF") {
            let head: Vec<String> = data.iter().take(4).map(|b| format!("{b:02x}")).collect();
            return Err(err(format!(
                "is not an ELF file ({} bytes, starting {}): probe-rs flashes the ELF the linker wrote \
                 (target/<target>/release/<app>), not a .bin or .hex",
                data.len(),
                if head.is_empty() {
                    "with nothing".to_string()
                } else {
                    head.join(" ")
                }
            )));
        }
        let elf = object::File::parse(data)
            .map_err(|e| err(format!("is not a readable ELF file: {e}")))?;
        let has_defmt = elf.sections().any(|s| {
            s.name()
                .is_ok_and(|n| n == ".defmt" || n.starts_with(".defmt."))
        });
        let rtt_address = elf
            .symbols()
            .find(|s| s.name() == Ok("_SEGGER_RTT"))
            .map(|s| s.address());
        Ok((rtt_address, has_defmt))
    }

    /// Why log channels are not decoded, if they are not.
    pub fn defmt_note(&self) -> Option<&'static str> {
        (!self.has_defmt).then_some(NO_DEFMT)
    }
}
