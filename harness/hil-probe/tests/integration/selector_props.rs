//! Probe selectors from profiles are outside input: any string parses or
//! gets a clear error (never a panic), and what parses prints back to
//! itself.

use hil_probe::ProbeSelector;
use proptest::prelude::*;

proptest! {
    #[test]
    fn any_string_parses_or_says_why(s in any::<String>()) {
        match s.parse::<ProbeSelector>() {
            Ok(sel) => {
                let again: ProbeSelector = sel.to_string().parse().unwrap();
                prop_assert_eq!(again, sel);
            }
            Err(e) => {
                let m = e.to_string();
                prop_assert!(m.starts_with("bad probe selector `"), "{}", m);
                prop_assert!(m.contains("VID:PID"), "{}", m);
            }
        }
    }

    #[test]
    fn selector_shaped_strings_parse_or_say_why(
        s in "[0-9a-fA-Fx:g -]{0,12}(:[ -~]{0,8})?"
    ) {
        if let Err(e) = s.parse::<ProbeSelector>() {
            prop_assert!(e.to_string().contains("VID:PID"));
        }
    }

    #[test]
    fn written_selectors_parse_to_their_parts(
        vid in any::<u16>(),
        pid in any::<u16>(),
        serial in proptest::option::of("[!-~][ -~]{0,20}"),
        upper in any::<bool>(),
        prefix in any::<bool>(),
    ) {
        let hex = |v: u16| {
            let h = if upper { format!("{v:X}") } else { format!("{v:x}") };
            if prefix { format!("0x{h}") } else { h }
        };
        let mut text = format!("{}:{}", hex(vid), hex(pid));
        if let Some(s) = &serial {
            text.push(':');
            text.push_str(s);
        }
        let sel = text.parse::<ProbeSelector>().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(sel.vid, vid);
        prop_assert_eq!(sel.pid, pid);
        prop_assert_eq!(sel.serial.as_deref(), serial.as_deref().map(str::trim_end));
    }
}
