//! Field failures: turn what a failed device left behind (our traces and
//! board agent logs, mosquitto logs, packet captures) into a scenario that
//! reproduces it, then find a seed that does and the smallest scenario
//! that still fails.
//!
//! ```text
//! files --input::read--> Evidence --rules::infer--> faults  \
//!                                 --workload::observe------> scenario text (render)
//! scenario --reproduce (seed range, all cores)--> first seed failing like the evidence
//! scenario + seed --shrink (delta debugging, then shorter)--> minimal scenario
//! ```
//!
//! - [`evidence`]: the observation model all readers produce;
//! - [`input`]: one reader per format;
//! - [`rules`]: one inference rule per file;
//! - [`workload`]: the device's settings and traffic;
//! - [`render`]: the scenario file, every inferred entry with a comment
//!   naming its evidence (file, line or packet) and rule;
//! - [`failure`]: the failure a case is about (oracle + message kind);
//! - [`reproduce`], [`shrink`]: `hil reproduce`, `hil shrink`.

pub mod evidence;
pub mod failure;
pub mod input;
pub mod render;
pub mod reproduce;
pub mod rules;
pub mod shrink;
pub mod workload;

use std::fmt;

use self::evidence::Evidence;
use self::failure::FailureSpec;
use self::input::InputError;
use self::rules::Inferred;
use crate::scenario::Scenario;

/// What `hil import` was asked.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The scenario's name (default: `field-` + the first file's stem).
    pub name: Option<String>,
    /// The device's client id (default: the client that published most).
    pub dut: Option<String>,
    /// The failure the case is about, when the evidence does not show it.
    pub failure: Option<FailureSpec>,
    /// The broker's TCP port in captures whose SYNs are missing.
    pub broker_port: Option<u16>,
}

/// An imported case.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The scenario file's text.
    pub text: String,
    pub scenario: Scenario,
    pub evidence: Evidence,
    pub dut: String,
    /// Every inferred fault, in evidence time.
    pub inferred: Vec<Inferred>,
    /// Evidence time (ms) of scenario time 0.
    pub origin_ms: u64,
    pub failure: Option<FailureSpec>,
}

/// Why an import failed.
#[derive(Debug, Clone)]
pub enum ImportError {
    /// A file could not be read.
    Input(InputError),
    /// The files hold no MQTT client at all.
    NoDevice(String),
    /// A trace recorded a fault this build cannot write as a scenario
    /// fault (the message names the line).
    Recorded(String),
    /// The scenario written does not check (a bug: reported with its text).
    Invalid { text: String, errors: String },
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Input(e) => write!(f, "{e}"),
            ImportError::NoDevice(m) | ImportError::Recorded(m) => f.write_str(m),
            ImportError::Invalid { text, errors } => write!(
                f,
                "the imported scenario does not check (please report this):\n{errors}\n{text}"
            ),
        }
    }
}

impl std::error::Error for ImportError {}

/// Reads the files into one body of evidence.
pub fn read_evidence(
    files: &[(String, Vec<u8>)],
    broker_port: Option<u16>,
) -> Result<Evidence, InputError> {
    let mut ev = Evidence::default();
    for (name, bytes) in files {
        let (summary, events) = match input::detect(bytes) {
            Some(input::Format::Pcap | input::Format::PcapNg) => {
                input::pcap::read_with(name, bytes, broker_port)?
            }
            _ => input::read(name, bytes)?,
        };
        ev.add(summary, events);
    }
    Ok(ev)
}

/// Imports evidence files (name, bytes) into a scenario.
pub fn import(files: &[(String, Vec<u8>)], opts: &ImportOptions) -> Result<Imported, ImportError> {
    let ev = read_evidence(files, opts.broker_port).map_err(ImportError::Input)?;
    let dut = match &opts.dut {
        Some(d) => {
            if !ev.clients().contains(d) {
                return Err(ImportError::NoDevice(format!(
                    "client `{d}` does not appear in the evidence; clients seen: {}",
                    list_or_none(&ev.clients())
                )));
            }
            d.clone()
        }
        None => rules::guess_dut(&ev).ok_or_else(|| {
            ImportError::NoDevice(format!(
                "no MQTT client in {}: nothing to import (for captures of another port, pass --broker-port)",
                files.iter().map(|f| f.0.as_str()).collect::<Vec<_>>().join(", ")
            ))
        })?,
    };
    let inferred = rules::infer(&ev, &dut).map_err(ImportError::Recorded)?;
    let observed = workload::observe(&ev, &dut);
    let name = opts.name.clone().unwrap_or_else(|| {
        let stem = files
            .first()
            .map(|f| {
                let base = f.0.rsplit('/').next().unwrap_or(&f.0);
                base.split('.').next().unwrap_or(base).to_string()
            })
            .unwrap_or_default();
        sanitize_name(&format!("field-{stem}"))
    });
    let failure = opts
        .failure
        .clone()
        .or_else(|| render::evidenced_failure(&inferred));
    let r = render::render(&render::Input {
        name: &name,
        evidence: &ev,
        dut: &dut,
        inferred: &inferred,
        observed: &observed,
        failure: failure.as_ref(),
    });
    match crate::scenario::parse(&r.text) {
        Ok((scenario, _)) => Ok(Imported {
            text: r.text,
            scenario,
            evidence: ev,
            dut,
            inferred,
            origin_ms: r.origin_ms,
            failure,
        }),
        Err(d) => {
            let errors = d
                .iter()
                .map(|d| crate::diag::render("<imported>", &r.text, d))
                .collect();
            Err(ImportError::Invalid {
                text: r.text,
                errors,
            })
        }
    }
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// A valid scenario name from any text.
pub fn sanitize_name(s: &str) -> String {
    let mut n: String = s
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    n.truncate(90);
    if n.is_empty() || !n.as_bytes()[0].is_ascii_alphanumeric() {
        n.insert_str(0, "field");
    }
    n
}
