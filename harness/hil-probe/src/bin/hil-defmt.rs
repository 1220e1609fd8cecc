//! `hil-defmt ELF`: decodes the defmt frames on stdin with the ELF's defmt
//! table and prints one line per frame (`[defmt] LEVEL message`) on stdout;
//! a firmware without defmt data gets its bytes back as raw text lines,
//! after one note. The `hil` harness starts it for a probe's log channel.

use std::io::{Read, Write};

use hil_probe::defmt::LogDecoder;

fn main() {
    let mut args = std::env::args_os().skip(1);
    let (Some(elf), None) = (args.next(), args.next()) else {
        eprintln!("usage: hil-defmt ELF  (defmt frames on stdin, decoded lines on stdout)");
        std::process::exit(2);
    };
    let elf = std::path::PathBuf::from(elf);
    if let Err(e) = hil_probe::Firmware::load(&elf) {
        eprintln!("hil-defmt: {e}");
        std::process::exit(2);
    }
    let data = match std::fs::read(&elf) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("hil-defmt: cannot read {}: {e}", elf.display());
            std::process::exit(2);
        }
    };
    let (mut dec, note) = LogDecoder::for_elf(&data);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some(n) = note {
        let _ = writeln!(out, "[hil-defmt] {}: {n}", elf.display());
        let _ = out.flush();
    }
    let mut stdin = std::io::stdin().lock();
    let mut buf = [0u8; 4096];
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for line in dec.push(&buf[..n]) {
            if writeln!(out, "{line}").is_err() {
                return;
            }
        }
        if out.flush().is_err() {
            return;
        }
    }
}
