//! What can go wrong between the harness and a board behind a probe, each
//! as a message a person can act on: which probe was looked for and how to
//! list probes, which file is not a firmware image, which RTT channel is
//! missing.

use std::fmt;
use std::path::PathBuf;

use crate::selector::{looked_for, ProbeSelector, SelectorError};

/// A probe seen on the USB bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeInfo {
    /// probe-rs's name for it.
    pub identifier: String,
    pub vid: u16,
    pub pid: u16,
    pub serial: Option<String>,
}

impl fmt::Display for ProbeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:04x}", self.vid, self.pid)?;
        if let Some(s) = &self.serial {
            write!(f, ":{s}")?;
        }
        write!(f, " {}", self.identifier)
    }
}

/// An error of the probe transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeError {
    /// The profile's selector does not parse.
    Selector(SelectorError),
    /// No probe matched: what was looked for, and what was seen.
    NoProbe {
        selector: Option<ProbeSelector>,
        seen: Vec<ProbeInfo>,
    },
    /// Several probes match and no serial number chooses one.
    ManyProbes {
        selector: Option<ProbeSelector>,
        seen: Vec<ProbeInfo>,
    },
    /// The probe is there but could not be opened (permissions, in use).
    Open { probe: String, message: String },
    /// The probe is open but the chip did not answer.
    Attach { chip: String, message: String },
    /// The firmware file is missing or is not an ELF image.
    Firmware { path: PathBuf, message: String },
    /// Writing the flash failed.
    Flash { path: PathBuf, message: String },
    /// RTT: no control block, or a channel is missing.
    Rtt(String),
    /// The probe or the core stopped answering (it may come back after a
    /// reset).
    Link(String),
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |seen: &[ProbeInfo]| {
            if seen.is_empty() {
                "no probe is connected".to_string()
            } else {
                format!(
                    "{} connected: {}",
                    seen.len(),
                    seen.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }
        };
        match self {
            ProbeError::Selector(e) => e.fmt(f),
            ProbeError::NoProbe { selector, seen } => {
                write!(
                    f,
                    "no debug probe found: looked for {} with probe-rs; {}. List probes with `probe-rs list` or `hil boards` \
                     (on Linux, a probe you cannot open needs a udev rule",
                    looked_for(selector.as_ref()),
                    list(seen),
                )?;
                if selector.is_some() {
                    write!(f, "; probe-rs supports {}", crate::selector::SUPPORTED)?;
                }
                f.write_str(")")
            }
            ProbeError::ManyProbes { selector, seen } => write!(
                f,
                "several probes match {}: {}; choose one in the profile with `probe = \"VID:PID:SERIAL\"` (`probe-rs list` shows the serial numbers)",
                looked_for(selector.as_ref()),
                list(seen)
            ),
            ProbeError::Open { probe, message } => write!(
                f,
                "cannot open the probe {probe}: {message} (is another program using it? on Linux, does a udev rule give you access?)"
            ),
            ProbeError::Attach { chip, message } => write!(
                f,
                "the probe is open but cannot attach to the chip `{chip}`: {message} (is the chip name right? `probe-rs chip list` has them; is the board powered?)"
            ),
            ProbeError::Firmware { path, message } => {
                write!(f, "firmware {}: {message}", path.display())
            }
            ProbeError::Flash { path, message } => {
                write!(f, "flashing {} failed: {message}", path.display())
            }
            ProbeError::Rtt(m) => write!(f, "RTT: {m}"),
            ProbeError::Link(m) => write!(f, "the probe link failed: {m}"),
        }
    }
}

impl std::error::Error for ProbeError {}

impl From<SelectorError> for ProbeError {
    fn from(e: SelectorError) -> Self {
        ProbeError::Selector(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_probe_names_what_was_looked_for_and_how_to_list() {
        let any = ProbeError::NoProbe {
            selector: None,
            seen: vec![],
        }
        .to_string();
        for want in [
            "any probe",
            "CMSIS-DAP",
            "ST-Link",
            "J-Link",
            "ESP USB-JTAG (303a:1001)",
            "FTDI",
            "probe-rs list",
            "hil boards",
            "no probe is connected",
        ] {
            assert!(any.contains(want), "{want} missing: {any}");
        }
        let one = ProbeError::NoProbe {
            selector: Some("303a:1001:AA".parse().unwrap()),
            seen: vec![ProbeInfo {
                identifier: "ST-Link V2".into(),
                vid: 0x0483,
                pid: 0x3748,
                serial: Some("X".into()),
            }],
        }
        .to_string();
        assert!(
            one.contains("the probe 303a:1001:AA (ESP USB-JTAG)"),
            "{one}"
        );
        assert!(one.contains("1 connected: 0483:3748:X ST-Link V2"), "{one}");
    }
}
