//! Which probe to use: `VID:PID[:SERIAL]` as written in a board profile
//! (`[transport] probe = "303a:1001"`), the same form as probe-rs's
//! `--probe`, and the probe kinds probe-rs drives, by USB id, so that
//! messages and `hil boards` can name them.

use std::fmt;
use std::str::FromStr;

/// A probe by USB vendor and product id, and optionally its serial number
/// (which may itself contain colons: ESP USB-JTAG serials are MAC
/// addresses).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProbeSelector {
    pub vid: u16,
    pub pid: u16,
    pub serial: Option<String>,
}

/// What a selector string got wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError {
    pub input: String,
    pub problem: String,
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad probe selector `{}`: {}; expected VID:PID or VID:PID:SERIAL with hex ids, e.g. `303a:1001` (`probe-rs list` shows them)",
            self.input.escape_debug(),
            self.problem
        )
    }
}

impl std::error::Error for SelectorError {}

fn hex_id(s: &str, what: &str) -> Result<u16, String> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if digits.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "`{}` is not a USB {what} (1 to 4 hex digits)",
            s.escape_debug()
        ));
    }
    u16::from_str_radix(digits, 16).map_err(|e| format!("the {what}: {e}"))
}

impl FromStr for ProbeSelector {
    type Err = SelectorError;

    fn from_str(input: &str) -> Result<Self, SelectorError> {
        let err = |problem: String| SelectorError {
            input: input.to_string(),
            problem,
        };
        let s = input.trim();
        if s.is_empty() {
            return Err(err("it is empty".into()));
        }
        let mut parts = s.splitn(3, ':');
        let vid = parts.next().unwrap_or_default();
        let Some(pid) = parts.next() else {
            return Err(err("there is no `:` between vendor and product id".into()));
        };
        let serial = parts.next();
        if pid.contains('-') {
            return Err(err(
                "a USB interface number (`PID-N`) is not supported here".into(),
            ));
        }
        let vid = hex_id(vid, "vendor id").map_err(err)?;
        let pid = hex_id(pid, "product id").map_err(err)?;
        let serial = match serial {
            None => None,
            Some("") => return Err(err("the serial number after the second `:` is empty".into())),
            Some(s) if s.chars().any(char::is_control) => {
                return Err(err("the serial number has control characters".into()))
            }
            Some(s) => Some(s.to_string()),
        };
        Ok(ProbeSelector { vid, pid, serial })
    }
}

impl fmt::Display for ProbeSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:04x}", self.vid, self.pid)?;
        if let Some(s) = &self.serial {
            write!(f, ":{s}")?;
        }
        Ok(())
    }
}

impl ProbeSelector {
    /// Whether a probe with these ids matches.
    pub fn matches(&self, vid: u16, pid: u16, serial: Option<&str>) -> bool {
        self.vid == vid
            && self.pid == pid
            && self
                .serial
                .as_deref()
                .is_none_or(|want| serial == Some(want))
    }
}

/// The probe kinds probe-rs drives, as messages name them.
pub const SUPPORTED: &str =
    "CMSIS-DAP, ST-Link, J-Link, ESP USB-JTAG (303a:1001), FTDI (0403:6010/6011/6014), WCH-Link";

/// The kind of probe a USB id belongs to, when it is a well-known one
/// (CMSIS-DAP probes are recognised by their product string, not their id,
/// so they are "CMSIS-DAP?" here unless the id is a known one).
pub fn kind_of(vid: u16, pid: u16) -> Option<&'static str> {
    Some(match (vid, pid) {
        (0x303a, 0x1001) => "ESP USB-JTAG",
        (0x0483, 0x3748 | 0x374b | 0x374d | 0x374e | 0x374f | 0x3752 | 0x3753 | 0x3754) => {
            "ST-Link"
        }
        (0x1366, _) => "J-Link",
        (0x0403, 0x6010 | 0x6011 | 0x6014) => "FTDI",
        (0x1a86, 0x8010 | 0x8012) => "WCH-Link",
        (0x0d28, 0x0204) | (0x2e8a, 0x000c) | (0xc251, 0xf001 | 0xf002) => "CMSIS-DAP",
        _ => return None,
    })
}

/// What was looked for, for the "no probe" message.
pub fn looked_for(selector: Option<&ProbeSelector>) -> String {
    match selector {
        Some(s) => format!(
            "the probe {s}{}",
            kind_of(s.vid, s.pid)
                .map(|k| format!(" ({k})"))
                .unwrap_or_default()
        ),
        None => format!("any probe ({SUPPORTED})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_a_profile_uses() {
        let s: ProbeSelector = "303a:1001".parse().unwrap();
        assert_eq!((s.vid, s.pid, s.serial), (0x303a, 0x1001, None));
        let s: ProbeSelector = "0x0483:374B:066DFF".parse().unwrap();
        assert_eq!((s.vid, s.pid), (0x0483, 0x374b));
        assert_eq!(s.serial.as_deref(), Some("066DFF"));
        // An ESP serial number is a MAC address, colons and all.
        let s: ProbeSelector = "303a:1001:DC:DA:0C:D3:FE:D8".parse().unwrap();
        assert_eq!(s.serial.as_deref(), Some("DC:DA:0C:D3:FE:D8"));
        assert_eq!(s.to_string(), "303a:1001:DC:DA:0C:D3:FE:D8");
    }

    #[test]
    fn bad_selectors_say_what_is_wrong() {
        for (input, want) in [
            ("", "it is empty"),
            ("303a", "no `:`"),
            ("303g:1001", "`303g` is not a USB vendor id"),
            ("303a:10011", "`10011` is not a USB product id"),
            (":1001", "the vendor id is empty"),
            ("303a:", "the product id is empty"),
            ("303a:1001:", "serial number after the second `:` is empty"),
            ("303a:1001-2", "interface"),
        ] {
            let e = input.parse::<ProbeSelector>().unwrap_err().to_string();
            assert!(e.contains(want), "{input:?}: {e}");
            assert!(e.contains("VID:PID"), "{e}");
        }
    }

    #[test]
    fn a_selector_matches_by_id_and_serial() {
        let any: ProbeSelector = "303a:1001".parse().unwrap();
        assert!(any.matches(0x303a, 0x1001, Some("x")));
        assert!(any.matches(0x303a, 0x1001, None));
        assert!(!any.matches(0x303a, 0x1002, None));
        let one: ProbeSelector = "303a:1001:x".parse().unwrap();
        assert!(one.matches(0x303a, 0x1001, Some("x")));
        assert!(!one.matches(0x303a, 0x1001, Some("y")));
        assert!(!one.matches(0x303a, 0x1001, None));
    }

    #[test]
    fn known_kinds_are_named() {
        assert_eq!(kind_of(0x303a, 0x1001), Some("ESP USB-JTAG"));
        assert_eq!(kind_of(0x1366, 0x0105), Some("J-Link"));
        assert_eq!(kind_of(0x1234, 0x5678), None);
        assert!(looked_for(None).starts_with("any probe (CMSIS-DAP, ST-Link, J-Link"));
        assert_eq!(
            looked_for(Some(&"303a:1001".parse().unwrap())),
            "the probe 303a:1001 (ESP USB-JTAG)"
        );
    }
}
