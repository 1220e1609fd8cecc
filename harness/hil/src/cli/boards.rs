//! `hil boards [--profiles DIR]`: the serial ports connected now (with
//! their USB ids) and the board profiles that match them; probes too in a
//! build with the `probe` feature (`hil-probe`), otherwise it says how.
//! `hil boards --labgrid`: the labgrid places and who holds them.

use std::path::PathBuf;

use clap::Args;

use super::{Io, EXIT_OK, EXIT_USAGE};
use crate::board::link::list_ports;
use crate::board::profile::{self, PortSelect, Transport};

#[derive(Debug, Args)]
pub struct BoardsArgs {
    /// Where the board profiles are.
    #[arg(long, default_value = profile::PROFILE_DIR)]
    pub profiles: PathBuf,
    /// List the labgrid places (coordinator from LG_COORDINATOR) and who
    /// holds them, instead of the local ports.
    #[arg(long)]
    pub labgrid: bool,
}

/// `hil boards --labgrid`: the places and who holds them.
fn labgrid(io: &mut Io<'_>) -> i32 {
    match crate::board::labgrid::places() {
        Ok(places) => {
            let _ = writeln!(io.out, "labgrid places: {}", places.len());
            for p in places {
                let tags: Vec<String> = p.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let _ = writeln!(
                    io.out,
                    "  {:<20} {}{}  (hil qualify --board labgrid:{})",
                    p.name,
                    p.acquired
                        .map(|h| format!("held by {h}"))
                        .unwrap_or_else(|| "free".into()),
                    if tags.is_empty() {
                        String::new()
                    } else {
                        format!("  tags {}", tags.join(","))
                    },
                    p.name
                );
            }
            EXIT_OK
        }
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            super::EXIT_INFRA
        }
    }
}

pub fn execute(args: &BoardsArgs, io: &mut Io<'_>) -> i32 {
    if args.labgrid {
        return labgrid(io);
    }
    let ports = list_ports();
    let mut profiles = Vec::new();
    let mut bad = false;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&args.profiles)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "toml"))
    {
        match profile::load(&f.to_string_lossy()) {
            Ok((_, p)) => profiles.push(p),
            Err(e) => {
                bad = true;
                let _ = write!(io.err, "{e}");
            }
        }
    }
    let _ = writeln!(io.out, "serial ports: {}", ports.len());
    for (path, usb) in &ports {
        let id = usb.as_ref().map(|(v, p, s)| {
            format!(
                " usb {v:04x}:{p:04x}{}",
                s.as_ref()
                    .map(|s| format!(" serial {s}"))
                    .unwrap_or_default()
            )
        });
        let matching: Vec<&str> = profiles
            .iter()
            .filter(|pr| match &pr.transport {
                Transport::Serial {
                    select: PortSelect::Path(p),
                    ..
                } => p.to_string_lossy() == *path,
                Transport::Serial {
                    select:
                        PortSelect::Usb {
                            vid,
                            pid,
                            serial_number,
                        },
                    ..
                } => usb.as_ref().is_some_and(|(v, p, s)| {
                    v == vid
                        && p == pid
                        && serial_number.as_ref().is_none_or(|w| s.as_ref() == Some(w))
                }),
                _ => false,
            })
            .map(|p| p.name.as_str())
            .collect();
        let _ = writeln!(
            io.out,
            "  {path}{}{}",
            id.unwrap_or_default(),
            if matching.is_empty() {
                String::new()
            } else {
                format!("  -> profile {}", matching.join(", "))
            }
        );
    }
    #[cfg(feature = "probe")]
    for line in crate::board::probe::list(&profiles) {
        let _ = writeln!(io.out, "{line}");
    }
    #[cfg(not(feature = "probe"))]
    let _ = writeln!(io.out, "probes: {}", crate::board::probe_unavailable());
    let _ = writeln!(io.out, "profiles in {}:", args.profiles.display());
    for p in &profiles {
        let how = match &p.transport {
            Transport::Serial {
                select: PortSelect::Path(x),
                ..
            } => x.display().to_string(),
            Transport::Serial {
                select: PortSelect::Usb { vid, pid, .. },
                ..
            } => format!("usb {vid:04x}:{pid:04x}"),
            Transport::Probe { .. } => "probe".into(),
            Transport::Virtual { .. } => "virtual (always available)".into(),
            Transport::Remote { addr, mode, .. } => match mode {
                crate::board::remote_serial::Mode::Raw => format!("tcp://{addr} (remote, raw)"),
                crate::board::remote_serial::Mode::Rfc2217 => format!("rfc2217://{addr} (remote)"),
            },
            Transport::None => "no link (its own firmware, seen from the wire)".into(),
        };
        let _ = writeln!(
            io.out,
            "  {} ({}, {:?} agent): {how}",
            p.name, p.chip, p.agent
        );
    }
    if bad {
        EXIT_USAGE
    } else {
        EXIT_OK
    }
}
