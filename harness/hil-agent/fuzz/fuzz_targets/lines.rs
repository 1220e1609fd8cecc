//! Any bytes from a serial port, in any chunking: the decoder and the
//! message parser never panic, and every accepted line re-encodes to a
//! line that decodes to itself.
#![no_main]

use hil_agent::frame::{encode, Decoder, Item};
use hil_agent::msg::{Command, Inbound};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| *b as usize) % (data.len() + 1);
    let mut d: Decoder = Decoder::new();
    let mut lines = Vec::new();
    let mut on = |i: Item<'_>| {
        if let Item::Line(l) = i {
            lines.push(l.to_string());
        }
    };
    d.push(&data[..split], &mut on);
    d.push(&data[split..], &mut on);
    d.flush(&mut on);
    for l in lines {
        let _ = Inbound::parse(&l);
        let _ = Command::parse(&l);
        let mut again: Decoder = Decoder::new();
        let mut back = Vec::new();
        again.push(encode(&l).as_bytes(), &mut |i| {
            if let Item::Line(x) = i {
                back.push(x.to_string())
            }
        });
        assert_eq!(back, vec![l]);
    }
});
