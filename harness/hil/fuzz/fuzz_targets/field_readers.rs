//! Any bytes given to `hil import`'s readers (format detection, then the
//! trace / agent log, mosquitto log, pcap or pcapng reader, then every
//! inference rule and the scenario writer) give a result or an error,
//! never a panic. The first byte picks the reader directly (to reach each
//! one without its magic number), the rest is the file.
#![no_main]

use hil::field::input;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let _ = match which % 4 {
        0 => input::read("fuzz", rest),
        1 => input::mosquitto::read("fuzz", rest),
        2 => input::pcap::read("fuzz", rest),
        _ => input::trace::read("fuzz", rest),
    };
    if which % 8 == 7 {
        let _ = hil::field::import(&[("fuzz".to_string(), rest.to_vec())], &Default::default());
    }
});
