//! `hil import FILE... [-o OUT]`: reads field evidence (our traces and
//! board agent logs, mosquitto logs, pcap / pcapng captures; the format
//! is recognised from the content) and writes a scenario with the
//! inferred fault timeline, each entry commented with its evidence and
//! rule (see [`crate::field`]). Without `-o` the scenario goes to stdout.
//!
//! Exit codes: 0 written; 2 a file cannot be read (the error names the
//! file and the first offending line or packet) or holds no MQTT client;
//! 3 the output cannot be written.

use std::path::PathBuf;

use clap::Args;

use super::{Io, EXIT_INFRA, EXIT_OK, EXIT_USAGE};
use crate::field::failure::FailureSpec;
use crate::field::{self, ImportOptions};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Evidence files: traces / agent logs (JSON Lines, `@hil ` prefix
    /// allowed), mosquitto logs, pcap or pcapng captures.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Write the scenario here (default: stdout).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// The scenario's name (default: `field-` and the first file's name).
    #[arg(long)]
    pub name: Option<String>,
    /// The device's MQTT client id (default: the client that published most).
    #[arg(long)]
    pub dut: Option<String>,
    /// The failure the case is about, `ORACLE` or `ORACLE:KIND` (KIND: the
    /// first two words of the oracle's failure message), when the evidence
    /// does not show it; written into the scenario for `hil reproduce`.
    #[arg(long, value_parser = FailureSpec::parse)]
    pub failure: Option<FailureSpec>,
    /// The broker's TCP port, for captures that miss the connections' SYNs.
    #[arg(long)]
    pub broker_port: Option<u16>,
}

pub fn execute(args: &ImportArgs, io: &mut Io<'_>) -> i32 {
    let mut files = Vec::new();
    for f in &args.files {
        match std::fs::read(f) {
            Ok(b) => files.push((f.display().to_string(), b)),
            Err(e) => {
                let _ = writeln!(io.err, "error: {}: cannot read: {e}", f.display());
                return EXIT_USAGE;
            }
        }
    }
    let opts = ImportOptions {
        name: args.name.clone(),
        dut: args.dut.clone(),
        failure: args.failure.clone(),
        broker_port: args.broker_port,
    };
    let imported = match field::import(&files, &opts) {
        Ok(i) => i,
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            return match e {
                field::ImportError::Invalid { .. } => EXIT_INFRA,
                _ => EXIT_USAGE,
            };
        }
    };
    for s in &imported.evidence.inputs {
        let _ = writeln!(
            io.err,
            "read {} ({}): {} {}, {} not understood, {} observations",
            s.file,
            s.format,
            s.units,
            if s.format.starts_with("pcap") {
                "packets"
            } else {
                "lines"
            },
            s.unknown,
            s.observations
        );
    }
    let _ = writeln!(io.err, "device under test: {}", imported.dut);
    for e in &imported.scenario.timeline {
        let _ = writeln!(
            io.err,
            "  {:>9}  {} {}",
            e.at.to_string(),
            e.fault.kind(),
            e.fault.detail()
        );
    }
    if let Some(f) = &imported.failure {
        let _ = writeln!(io.err, "failure: {f}");
    }
    match &args.out {
        None => {
            let _ = io.out.write_all(imported.text.as_bytes());
        }
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                if let Err(e) = std::fs::create_dir_all(dir) {
                    let _ = writeln!(io.err, "error: cannot create {}: {e}", dir.display());
                    return EXIT_INFRA;
                }
            }
            if let Err(e) = std::fs::write(path, &imported.text) {
                let _ = writeln!(io.err, "error: cannot write {}: {e}", path.display());
                return EXIT_INFRA;
            }
            let _ = writeln!(io.out, "wrote {}", path.display());
            let _ = writeln!(
                io.out,
                "next: hil reproduce {} --seeds 1..100",
                path.display()
            );
        }
    }
    EXIT_OK
}
