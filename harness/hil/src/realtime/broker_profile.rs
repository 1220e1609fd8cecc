//! Broker profiles (`fixtures/brokers/*.toml`): a broker the harness did
//! not build, run as a process on a port the harness picks (`--broker
//! NAME` or `--broker path/to/profile.toml`; the same as `--broker
//! exec:'CMD'` with a name, a ready check and what the broker can do).
//!
//! ```toml
//! name = "amqtt"
//! description = "amqtt 0.12 (Python, MQTT 3.1.1, sessions in memory)"
//! # Run with `sh -c` in this file's folder, in its own process group.
//! # {port} (the port the harness picked) and {dir} (an empty scratch
//! # directory for this run) are replaced; the same values are in
//! # HIL_BROKER_PORT and HIL_BROKER_DIR.
//! command = "exec amqtt -c {dir}/amqtt.yaml"
//! [ready]
//! timeout_s = 20          # until the port accepts TCP (default 20)
//! log = "bind to"         # optional: also wait for this text in its output
//! [supports]
//! persistence = false     # broker_restart { persist = true } is unsupported
//! mqtt5 = false           # `mqtt = 5` scenarios are unsupported
//! ```
//!
//! A bad profile is an error naming the file, line and column and what was
//! expected ([`BrokerProfileError`], rendered like scenario errors).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::diag::Diagnostic;

/// Where broker profiles live.
pub const PROFILE_DIR: &str = "fixtures/brokers";

/// A checked broker profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerProfile {
    pub name: String,
    pub description: String,
    /// The shell command (placeholders not yet replaced).
    pub command: String,
    /// Where the command runs: the profile's folder.
    pub dir: PathBuf,
    /// How long the broker may take to accept TCP on its port.
    pub ready_timeout: Duration,
    /// Text its output shows once it is ready (besides the port answering).
    pub ready_log: Option<String>,
    /// What the broker can do (what it cannot is `unsupported`).
    pub supports: Supports,
}

/// What a broker can do, as its profile declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Supports {
    /// Sessions and queued messages survive a restart (from files in
    /// `{dir}`, which a restart without persistence empties).
    pub persistence: bool,
    /// MQTT 5 clients.
    pub mqtt5: bool,
}

impl Default for Supports {
    /// An `exec:` broker without a profile: persistence as far as it keeps
    /// its state in `{dir}`; MQTT 3.1.1 only.
    fn default() -> Self {
        Supports {
            persistence: true,
            mqtt5: false,
        }
    }
}

/// The default time a broker gets to accept TCP.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A profile that could not be read, with the file's text for rendering
/// (the DUT profiles' error: the same fields, rendered the same way).
pub use crate::blackbox::profile::ProfileError as BrokerProfileError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    command: Spanned<String>,
    #[serde(default)]
    ready: RawReady,
    #[serde(default)]
    supports: RawSupports,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawReady {
    #[serde(default)]
    timeout_s: Option<Spanned<f64>>,
    #[serde(default)]
    log: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSupports {
    #[serde(default)]
    persistence: Option<bool>,
    #[serde(default)]
    mqtt5: Option<bool>,
}

/// Whether `name_or_path` names a profile file that exists (a path, or
/// `fixtures/brokers/NAME.toml` from the current directory up).
pub fn exists(name_or_path: &str) -> bool {
    crate::board::profile::resolve_in(PROFILE_DIR, name_or_path).is_file()
}

/// Reads and checks a profile: a path, or a name looked up in
/// `fixtures/brokers/NAME.toml` (from the current directory up).
pub fn load(name_or_path: &str) -> Result<BrokerProfile, BrokerProfileError> {
    let path = crate::board::profile::resolve_in(PROFILE_DIR, name_or_path);
    let source = std::fs::read_to_string(&path).map_err(|e| BrokerProfileError {
        path: path.clone(),
        source: String::new(),
        diagnostics: vec![Diagnostic::error(
            format!("cannot read the broker profile: {e}"),
            None,
        )
        .with_help(format!(
            "give mosquitto, chaos, container[:IMAGE], tcp://HOST:PORT, tls://HOST:PORT, exec:'COMMAND {{port}}', a broker profile file, or the name of one in {PROFILE_DIR}/"
        ))],
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    parse(&source, &dir).map_err(|diagnostics| BrokerProfileError {
        path,
        source,
        diagnostics,
    })
}

/// Parses and checks profile text (`dir`: its folder); every error found.
pub fn parse(src: &str, dir: &Path) -> Result<BrokerProfile, Vec<Diagnostic>> {
    let raw: Raw = toml::from_str(src).map_err(|e| {
        let message = e.message().trim_end().replace('\n', "; ");
        vec![Diagnostic::error(message, e.span())
            .with_help("see fixtures/README.md (fixtures/brokers/) for the broker profile format")]
    })?;
    let mut errors = Vec::new();
    let name = raw.name.get_ref().clone();
    if name.is_empty()
        || !name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_".contains(&c))
    {
        errors.push(
            Diagnostic::error(
                format!("invalid profile name `{name}`"),
                Some(raw.name.span()),
            )
            .with_help("letters, digits, `-` and `_`"),
        );
    }
    let command = raw.command.get_ref();
    if command.trim().is_empty() {
        errors.push(
            Diagnostic::error("the command is empty", Some(raw.command.span())).with_help(
                "e.g. command = \"exec amqtt -c {dir}/amqtt.yaml\" (run with sh -c in the profile's folder)",
            ),
        );
    } else if !command.contains("{port}") {
        errors.push(
            Diagnostic::error(
                "the command does not use {port}",
                Some(raw.command.span()),
            )
            .with_help("the harness picks the port; the broker must listen on {port} (or $HIL_BROKER_PORT, written as {port} somewhere in the command)"),
        );
    }
    let ready_timeout = match &raw.ready.timeout_s {
        None => READY_TIMEOUT,
        Some(t) if t.get_ref().is_finite() && (0.1..=600.0).contains(t.get_ref()) => {
            Duration::from_secs_f64(*t.get_ref())
        }
        Some(t) => {
            errors.push(
                Diagnostic::error(
                    format!("`timeout_s = {}` is out of range", t.get_ref()),
                    Some(t.span()),
                )
                .with_help("seconds, 0.1 to 600"),
            );
            READY_TIMEOUT
        }
    };
    let ready_log = match &raw.ready.log {
        Some(l) if l.get_ref().is_empty() => {
            errors.push(Diagnostic::error(
                "`log` is empty (leave it out to wait for the port only)",
                Some(l.span()),
            ));
            None
        }
        other => other.as_ref().map(|l| l.get_ref().clone()),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let d = Supports::default();
    Ok(BrokerProfile {
        name,
        description: raw.description,
        command: raw.command.into_inner(),
        dir: dir.to_path_buf(),
        ready_timeout,
        ready_log,
        supports: Supports {
            persistence: raw.supports.persistence.unwrap_or(d.persistence),
            mqtt5: raw.supports.mqtt5.unwrap_or(d.mqtt5),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn err(src: &str) -> String {
        let d = parse(src, Path::new(".")).unwrap_err();
        BrokerProfileError {
            path: "b.toml".into(),
            source: src.into(),
            diagnostics: d,
        }
        .to_string()
    }

    #[test]
    fn a_full_profile() {
        let p = parse(
            "name = \"amqtt\"\ncommand = \"amqtt -c {dir}/c.yaml {port}\"\n[ready]\ntimeout_s = 5\nlog = \"bind to\"\n[supports]\npersistence = false\n",
            Path::new("fixtures/brokers"),
        )
        .unwrap();
        assert_eq!(p.name, "amqtt");
        assert_eq!(p.dir, Path::new("fixtures/brokers"));
        assert_eq!(p.ready_timeout, Duration::from_secs(5));
        assert_eq!(p.ready_log.as_deref(), Some("bind to"));
        assert_eq!(
            p.supports,
            Supports {
                persistence: false,
                mqtt5: false
            }
        );
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = err("name = \"x\"\ncommand = \"amqtt\"\n");
        assert!(
            e.contains("b.toml:2:11") && e.contains("does not use {port}"),
            "{e}"
        );
        let e = err("name = \"x\"\ncommand = \"a {port}\"\n[ready]\ntimeout_s = -1\n");
        assert!(
            e.contains("b.toml:4:13") && e.contains("out of range"),
            "{e}"
        );
        let e = err("name = \"x\"\ncommand = \"a {port}\"\n[supports]\nretain = true\n");
        assert!(
            e.contains("b.toml:4:1") && e.contains("unknown field `retain`"),
            "{e}"
        );
        let e = err("name = \"x y\"\ncommand = \" \"\n");
        assert!(
            e.contains("b.toml:1:8") && e.contains("invalid profile name"),
            "{e}"
        );
        assert!(
            e.contains("b.toml:2:11") && e.contains("the command is empty"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_profile_says_what_a_broker_can_be() {
        let e = load("no-such-broker").unwrap_err().to_string();
        assert!(
            e.contains("cannot read the broker profile") && e.contains("tcp://HOST:PORT"),
            "{e}"
        );
    }

    #[test]
    fn the_shipped_profiles_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/brokers");
        let mut n = 0;
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "toml") {
                load(f.to_str().unwrap()).unwrap_or_else(|e| panic!("{e}"));
                n += 1;
            }
        }
        assert!(n >= 1, "{n} profiles");
    }

    proptest! {
        /// Any text gives a profile or diagnostics, never a panic; every
        /// diagnostic with a place points inside the text.
        #[test]
        fn the_parser_never_panics(src in "[a-z_ =\"{}\\[\\]/.0-9,\n-]{0,120}") {
            if let Err(ds) = parse(&src, Path::new(".")) {
                for d in ds {
                    if let Some(s) = d.span {
                        prop_assert!(s.end <= src.len());
                    }
                }
            }
        }

        /// A written profile reads back as what was written.
        #[test]
        fn written_profiles_read_back(
            name in "[a-z][a-z0-9_-]{0,10}",
            command in "[a-z][a-z0-9 ./-]{0,20}",
            timeout in proptest::option::of(1u32..600),
            log in proptest::option::of("[a-z][a-z0-9 .]{0,10}"),
            persistence in proptest::option::of(any::<bool>()),
            mqtt5 in proptest::option::of(any::<bool>()),
        ) {
            let command = format!("{command} {{port}}");
            let mut src = format!("name = \"{name}\"\ncommand = \"{command}\"\n[ready]\n");
            if let Some(t) = timeout {
                src.push_str(&format!("timeout_s = {t}\n"));
            }
            if let Some(l) = &log {
                src.push_str(&format!("log = \"{l}\"\n"));
            }
            src.push_str("[supports]\n");
            if let Some(p) = persistence {
                src.push_str(&format!("persistence = {p}\n"));
            }
            if let Some(m) = mqtt5 {
                src.push_str(&format!("mqtt5 = {m}\n"));
            }
            let p = parse(&src, Path::new("d")).map_err(|e| TestCaseError::fail(format!("{e:?}\n{src}")))?;
            prop_assert_eq!(p.name, name);
            prop_assert_eq!(p.command, command);
            prop_assert_eq!(p.ready_timeout, timeout.map_or(READY_TIMEOUT, |t| Duration::from_secs(t.into())));
            prop_assert_eq!(p.ready_log, log);
            prop_assert_eq!(p.supports.persistence, persistence.unwrap_or(true));
            prop_assert_eq!(p.supports.mqtt5, mqtt5.unwrap_or(false));
        }
    }
}
