//! DUT profiles (`fixtures/duts/*.toml`): a device under test the harness
//! did not build and knows only from the wire. A profile names the command
//! that runs it, how its payloads carry a message id (`seq`, see
//! [`super::seq`]), and what else to do on `wifi_down` / `wifi_up` besides
//! the fault proxy's link cut (a signal to the process, or a command).
//!
//! ```toml
//! name = "paho"
//! description = "Python paho-mqtt with its own reconnect loop"
//! # Run with `sh -c` in this file's folder. {host}, {port} (the DUT's
//! # fault proxy) and {client_id} are replaced; the same values are in
//! # HIL_BROKER_HOST, HIL_BROKER_PORT and HIL_CLIENT_ID.
//! command = "python3 paho/app.py"
//! seq = { topic = "peers/+/seq", decimal = true }
//! [wifi]
//! down_signal = "STOP"          # optional, also down_command / up_command
//! up_signal = "CONT"
//! [lab]                         # optional: the bench (see `crate::lab`)
//! power_off = "uhubctl -a off -p 2"
//! power_on = "uhubctl -a on -p 2"
//! ```
//!
//! A bad profile is an error naming the file, line and column and what was
//! expected ([`ProfileError`], rendered like scenario errors).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::seq::{SeqFrom, SeqRule};
use crate::diag::{self, Diagnostic};
use crate::scenario::types::check_topic_filter;

/// A checked DUT profile.
#[derive(Debug, Clone, PartialEq)]
pub struct DutProfile {
    pub name: String,
    pub description: String,
    /// The shell command (placeholders not yet replaced).
    pub command: String,
    /// Where the command runs: the profile's folder.
    pub dir: PathBuf,
    /// How its payloads carry a message id; `None`: they do not, and the
    /// QoS oracles are unsupported for it.
    pub seq: Option<SeqRule>,
    pub wifi_down: Vec<Hook>,
    pub wifi_up: Vec<Hook>,
    /// The bench's power and WiFi hooks (`[lab]`, see `crate::lab`).
    pub lab: crate::lab::LabHooks,
}

/// Something done to the DUT on a fault, besides the proxy's part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hook {
    /// A signal to the DUT's process group (`STOP`, `CONT`, `USR1`...).
    Signal(String),
    /// A shell command (run in the profile's folder, checked for exit 0).
    Command(String),
}

/// The signals a hook may send (names as `kill -s` takes them).
pub const SIGNALS: &[&str] = &[
    "STOP", "CONT", "USR1", "USR2", "HUP", "INT", "TERM", "TSTP", "ALRM",
];

/// Where profiles live.
pub const PROFILE_DIR: &str = "fixtures/duts";

/// A profile that could not be read, with the file's text for rendering.
#[derive(Debug, Clone)]
pub struct ProfileError {
    pub path: PathBuf,
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display().to_string();
        for d in &self.diagnostics {
            f.write_str(&diag::render(&path, &self.source, d))?;
        }
        Ok(())
    }
}

impl std::error::Error for ProfileError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    command: Spanned<String>,
    #[serde(default)]
    seq: Option<Spanned<RawSeq>>,
    #[serde(default)]
    wifi: RawWifi,
    #[serde(default)]
    lab: Option<Spanned<crate::lab::RawLab>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSeq {
    topic: Spanned<String>,
    #[serde(default)]
    json: Option<Spanned<String>>,
    #[serde(default)]
    regex: Option<Spanned<String>>,
    #[serde(default)]
    decimal: Option<Spanned<bool>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWifi {
    #[serde(default)]
    down_signal: Option<Spanned<String>>,
    #[serde(default)]
    up_signal: Option<Spanned<String>>,
    #[serde(default)]
    down_command: Option<Spanned<String>>,
    #[serde(default)]
    up_command: Option<Spanned<String>>,
}

/// Reads and checks a profile: a path, or a name looked up in
/// `fixtures/duts/NAME.toml` (from the current directory up).
pub fn load(name_or_path: &str) -> Result<DutProfile, ProfileError> {
    let path = crate::board::profile::resolve_in(PROFILE_DIR, name_or_path);
    let source = std::fs::read_to_string(&path).map_err(|e| ProfileError {
        path: path.clone(),
        source: String::new(),
        diagnostics: vec![
            Diagnostic::error(format!("cannot read the DUT profile: {e}"), None).with_help(
                format!(
                    "give `driver`, `exec:'COMMAND'`, a DUT profile file, or the name of one in {PROFILE_DIR}/"
                ),
            ),
        ],
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    parse(&source, &dir).map_err(|diagnostics| ProfileError {
        path,
        source,
        diagnostics,
    })
}

/// Parses and checks profile text (`dir`: its folder); every error found.
pub fn parse(src: &str, dir: &Path) -> Result<DutProfile, Vec<Diagnostic>> {
    let raw: Raw = toml::from_str(src).map_err(|e| {
        let message = e.message().trim_end().replace('\n', "; ");
        vec![Diagnostic::error(message, e.span())
            .with_help("see fixtures/duts/README.md for the DUT profile format")]
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
    if raw.command.get_ref().trim().is_empty() {
        errors.push(
            Diagnostic::error("the command is empty", Some(raw.command.span())).with_help(
                "e.g. command = \"python3 paho/app.py\" (run with sh -c in the profile's folder)",
            ),
        );
    }
    let seq = raw.seq.as_ref().and_then(|s| match seq_rule(s) {
        Ok(r) => Some(r),
        Err(d) => {
            errors.push(d);
            None
        }
    });
    let mut hooks = |signal: &Option<Spanned<String>>, command: &Option<Spanned<String>>| {
        let mut out = Vec::new();
        if let Some(s) = signal {
            let name = s.get_ref().trim_start_matches("SIG");
            if SIGNALS.contains(&name) {
                out.push(Hook::Signal(name.to_string()));
            } else {
                errors.push(
                    Diagnostic::error(format!("unknown signal `{}`", s.get_ref()), Some(s.span()))
                        .with_help(format!("one of: {}", SIGNALS.join(", "))),
                );
            }
        }
        if let Some(c) = command {
            if c.get_ref().trim().is_empty() {
                errors.push(Diagnostic::error("the command is empty", Some(c.span())));
            } else {
                out.push(Hook::Command(c.get_ref().clone()));
            }
        }
        out
    };
    let wifi_down = hooks(&raw.wifi.down_signal, &raw.wifi.down_command);
    let wifi_up = hooks(&raw.wifi.up_signal, &raw.wifi.up_command);
    let lab = crate::lab::check(raw.lab.as_ref(), dir, true, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(DutProfile {
        name,
        description: raw.description,
        command: raw.command.into_inner(),
        dir: dir.to_path_buf(),
        seq,
        wifi_down,
        wifi_up,
        lab,
    })
}

/// A profile's `seq = {...}`, checked (DUT profiles, board profiles with
/// `agent = "none"`).
pub(crate) fn seq_rule(s: &Spanned<RawSeq>) -> Result<SeqRule, Diagnostic> {
    let r = s.get_ref();
    let topic = r.topic.get_ref();
    check_topic_filter(topic).map_err(|m| Diagnostic::error(m, Some(r.topic.span())))?;
    let forms = usize::from(r.json.is_some())
        + usize::from(r.regex.is_some())
        + usize::from(r.decimal.is_some());
    if forms != 1 {
        return Err(Diagnostic::error(
            "`seq` needs exactly one of `json`, `regex` and `decimal`",
            Some(s.span()),
        )
        .with_help(
            "seq = { topic = \"dev/+/telemetry\", json = \"/seq\" }, or regex = \"n=(\\\\d+)\", or decimal = true",
        ));
    }
    if let Some(p) = &r.json {
        if !p.get_ref().starts_with('/') {
            return Err(Diagnostic::error(
                format!("`{}` is not a JSON pointer", p.get_ref()),
                Some(p.span()),
            )
            .with_help("a JSON pointer starts with `/`, e.g. \"/seq\" or \"/meta/n\""));
        }
        return Ok(SeqRule {
            topic: topic.clone(),
            from: SeqFrom::Json(p.get_ref().clone()),
        });
    }
    if let Some(re) = &r.regex {
        return SeqRule::regex(topic, re.get_ref())
            .map_err(|m| Diagnostic::error(m, Some(re.span())));
    }
    match &r.decimal {
        Some(d) if *d.get_ref() => Ok(SeqRule {
            topic: topic.clone(),
            from: SeqFrom::Decimal,
        }),
        Some(d) => Err(Diagnostic::error(
            "`decimal = false` says nothing; use `json` or `regex` instead",
            Some(d.span()),
        )),
        None => unreachable!("one form is present"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn err(src: &str) -> String {
        let d = parse(src, Path::new(".")).unwrap_err();
        ProfileError {
            path: "d.toml".into(),
            source: src.into(),
            diagnostics: d,
        }
        .to_string()
    }

    #[test]
    fn a_full_profile() {
        let p = parse(
            "name = \"paho\"\ncommand = \"python3 app.py {host} {port}\"\nseq = { topic = \"dev/+/telemetry\", json = \"/seq\" }\n[wifi]\ndown_signal = \"SIGSTOP\"\nup_signal = \"CONT\"\nup_command = \"true\"\n",
            Path::new("fixtures/duts"),
        )
        .unwrap();
        assert_eq!(p.name, "paho");
        assert_eq!(p.dir, Path::new("fixtures/duts"));
        assert_eq!(
            p.seq,
            Some(SeqRule {
                topic: "dev/+/telemetry".into(),
                from: SeqFrom::Json("/seq".into())
            })
        );
        assert_eq!(p.wifi_down, vec![Hook::Signal("STOP".into())]);
        assert_eq!(
            p.wifi_up,
            vec![Hook::Signal("CONT".into()), Hook::Command("true".into())]
        );
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = err("name = \"x\"\ncommand = \"a\"\nseq = { topic = \"a/#/b\", decimal = true }\n");
        assert!(
            e.contains("d.toml:3:17") && e.contains("`#` must be the whole last level"),
            "{e}"
        );
        let e = err("name = \"x\"\ncommand = \"a\"\nseq = { topic = \"t\", regex = \"\\\\d+\" }\n");
        assert!(
            e.contains("d.toml:3:30") && e.contains("exactly one capture group"),
            "{e}"
        );
        let e = err("name = \"x\"\ncommand = \"a\"\nseq = { topic = \"t\", json = \"/a\", decimal = true }\n");
        assert!(
            e.contains("d.toml:3:7") && e.contains("exactly one of"),
            "{e}"
        );
        let e = err("name = \"x\"\ncommand = \"a\"\nseq = { topic = \"t\", json = \"seq\" }\n");
        assert!(
            e.contains("d.toml:3:29") && e.contains("not a JSON pointer"),
            "{e}"
        );
        let e = err("name = \"x\"\ncommand = \"a\"\n[wifi]\ndown_signal = \"KILLALL\"\n");
        assert!(
            e.contains("d.toml:4:15") && e.contains("unknown signal `KILLALL`"),
            "{e}"
        );
        let e = err("name = \"x y\"\ncommand = \" \"\n");
        assert!(
            e.contains("d.toml:1:8") && e.contains("invalid profile name"),
            "{e}"
        );
        assert!(
            e.contains("d.toml:2:11") && e.contains("the command is empty"),
            "{e}"
        );
        let e = err("name = \"x\"\ncommand = \"a\"\nagent = \"none\"\n");
        assert!(
            e.contains("d.toml:3:1") && e.contains("unknown field `agent`"),
            "{e}"
        );
    }

    #[test]
    fn the_shipped_profiles_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/duts");
        let mut n = 0;
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "toml") {
                let p = load(f.to_str().unwrap()).unwrap_or_else(|e| panic!("{e}"));
                assert!(p.seq.is_some(), "{} declares no seq", p.name);
                n += 1;
            }
        }
        assert!(n >= 1, "{n} profiles");
    }

    proptest! {
        /// Any text gives a profile or diagnostics, never a panic; every
        /// diagnostic with a place points inside the text.
        #[test]
        fn the_parser_never_panics(src in "[a-z_ =\"{}\\[\\]/+#()\\\\0-9,\n]{0,120}") {
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
            command in "[a-z][a-z0-9 ./{}-]{0,20}",
            levels in proptest::collection::vec("[a-z0-9]{1,5}|\\+", 1..4),
            form in 0usize..3,
            signal in proptest::option::of(proptest::sample::select(SIGNALS)),
        ) {
            let topic = levels.join("/");
            let (seq_src, from) = match form {
                0 => ("json = \"/seq\"".to_string(), SeqFrom::Json("/seq".into())),
                1 => ("regex = \"n=(\\\\d+)\"".to_string(), SeqFrom::Regex(regex::Regex::new(r"n=(\d+)").unwrap())),
                _ => ("decimal = true".to_string(), SeqFrom::Decimal),
            };
            let mut src = format!("name = \"{name}\"\ncommand = \"{command}\"\nseq = {{ topic = \"{topic}\", {seq_src} }}\n");
            if let Some(s) = signal {
                src.push_str(&format!("[wifi]\ndown_signal = \"{s}\"\n"));
            }
            let p = parse(&src, Path::new("d")).map_err(|e| TestCaseError::fail(format!("{e:?}\n{src}")))?;
            prop_assert_eq!(p.name, name);
            prop_assert_eq!(p.command, command);
            prop_assert_eq!(p.seq, Some(SeqRule { topic, from }));
            prop_assert_eq!(p.wifi_down, signal.map(|s| Hook::Signal(s.to_string())).into_iter().collect::<Vec<_>>());
        }
    }
}
