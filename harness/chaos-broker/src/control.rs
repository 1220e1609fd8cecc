//! The control channel's language: one command per line, parsed into a
//! [`Command`] (input from outside: never panics, errors say what was
//! expected) and executed against a [`Broker`] into reply lines that end with
//! `ok` or `error: ...`.
//!
//! ```text
//! fault all drop puback 3          fault client dev1 refuse 5
//! fault all delay-connack 2s       fault client dev1 hang
//! fault all close-after 100        fault all duplicate 2
//! fault all forget-sessions        faults
//! clear                            clear client dev1
//! log 20    events 20    stats    sessions    help    quit
//! ```

use std::fmt;

use crate::broker::Broker;
use crate::fault::{Fault, FaultTarget, FAULT_USAGE};
use crate::log::Direction;

/// The longest line the control port reads.
pub const MAX_LINE: usize = 4096;

/// What `log` and `events` show without a count.
pub const DEFAULT_TAIL: usize = 20;

/// One control command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `fault <all | client ID> <fault...>`
    Fault { target: FaultTarget, fault: Fault },
    /// `clear` (everything), `clear all`, `clear client ID`
    Clear(Option<FaultTarget>),
    /// `faults`: the active faults.
    Faults,
    /// `log [N]`: the last N packet-log entries.
    Log(usize),
    /// `events [N]`: the last N events, as JSON.
    Events(usize),
    /// `stats`
    Stats,
    /// `sessions`
    Sessions,
    /// `help`
    Help,
    /// `quit`: close this control connection.
    Quit,
}

/// Why a line is not a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlError(pub String);

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ControlError {}

/// The help text, one line per entry. The fault words come from the fault
/// catalogue ([`FAULT_USAGE`], which every fault kind is listed in), so a
/// new kind appears here without a change to this file.
pub fn help() -> Vec<String> {
    let mut lines = vec![
        "fault all <fault>            apply a fault to every connection".to_string(),
        "fault client <id> <fault>    apply a fault to one client id".to_string(),
        "  <fault> is one of:".to_string(),
    ];
    let (kinds, packets) = FAULT_USAGE
        .split_once(" (KIND: ")
        .unwrap_or((FAULT_USAGE, ""));
    lines.extend(kinds.split(" | ").map(|k| format!("    {}", k.trim())));
    if !packets.is_empty() {
        lines.push(format!("  KIND: {}", packets.trim_end_matches(')')));
    }
    lines.extend(
        [
            "clear [all | client <id>]    clear every fault, or those of one target",
            "faults                       list active faults",
            "log [n]                      last n packet-log entries (default 20)",
            "events [n]                   last n broker events as JSON (default 20)",
            "stats                        counters",
            "sessions                     client ids with a session",
            "help                         this text",
            "quit                         close this control connection",
        ]
        .map(String::from),
    );
    lines
}

impl Command {
    /// Parses one line (surrounding whitespace ignored).
    pub fn parse(line: &str) -> Result<Command, ControlError> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((cmd, args)) = words.split_first() else {
            return Err(ControlError("empty command; try `help`".into()));
        };
        match *cmd {
            "fault" => {
                let (target, rest) = parse_target(args)?;
                let fault = Fault::parse(rest).map_err(|e| ControlError(e.0))?;
                Ok(Command::Fault { target, fault })
            }
            "clear" => {
                if args.is_empty() {
                    return Ok(Command::Clear(None));
                }
                let (target, rest) = parse_target(args)?;
                no_more("clear", rest)?;
                Ok(Command::Clear(Some(target)))
            }
            "faults" => no_more("faults", args).map(|_| Command::Faults),
            "log" => parse_tail("log", args).map(Command::Log),
            "events" => parse_tail("events", args).map(Command::Events),
            "stats" => no_more("stats", args).map(|_| Command::Stats),
            "sessions" => no_more("sessions", args).map(|_| Command::Sessions),
            "help" => no_more("help", args).map(|_| Command::Help),
            "quit" => no_more("quit", args).map(|_| Command::Quit),
            other => Err(ControlError(format!(
                "unknown command `{}`; expected fault, clear, faults, log, events, stats, sessions, help or quit",
                other.escape_debug()
            ))),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Fault { target, fault } => write!(f, "fault {target} {fault}"),
            Command::Clear(None) => write!(f, "clear"),
            Command::Clear(Some(t)) => write!(f, "clear {t}"),
            Command::Faults => write!(f, "faults"),
            Command::Log(n) => write!(f, "log {n}"),
            Command::Events(n) => write!(f, "events {n}"),
            Command::Stats => write!(f, "stats"),
            Command::Sessions => write!(f, "sessions"),
            Command::Help => write!(f, "help"),
            Command::Quit => write!(f, "quit"),
        }
    }
}

fn parse_target<'a, 'b>(args: &'b [&'a str]) -> Result<(FaultTarget, &'b [&'a str]), ControlError> {
    match args {
        ["all", rest @ ..] => Ok((FaultTarget::All, rest)),
        ["client", id, rest @ ..] => Ok((FaultTarget::Client(id.to_string()), rest)),
        ["client"] => Err(ControlError("missing client id after `client`".into())),
        [] => Err(ControlError(
            "missing target; expected `all` or `client <id>`".into(),
        )),
        [other, ..] => Err(ControlError(format!(
            "unknown target `{}`; expected `all` or `client <id>` (faults: {FAULT_USAGE})",
            other.escape_debug()
        ))),
    }
}

fn parse_tail(what: &str, args: &[&str]) -> Result<usize, ControlError> {
    match args {
        [] => Ok(DEFAULT_TAIL),
        [n] => n
            .parse::<usize>()
            .map_err(|_| ControlError(format!("{what}: `{}` is not a count", n.escape_debug()))),
        [_, extra, ..] => Err(ControlError(format!(
            "{what}: unexpected `{}`",
            extra.escape_debug()
        ))),
    }
}

fn no_more(what: &str, args: &[&str]) -> Result<(), ControlError> {
    match args.first() {
        None => Ok(()),
        Some(w) => Err(ControlError(format!(
            "{what}: unexpected `{}`",
            w.escape_debug()
        ))),
    }
}

/// The answer to one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Data lines, then `ok` or `error: ...` as the last line.
    pub lines: Vec<String>,
    /// The control connection should close after the reply.
    pub close: bool,
}

/// Parses and executes one line.
pub fn handle_line(broker: &Broker, line: &str) -> Reply {
    match Command::parse(line) {
        Ok(cmd) => execute(broker, &cmd),
        Err(e) => Reply {
            lines: vec![format!("error: {e}")],
            close: false,
        },
    }
}

/// Executes a command.
pub fn execute(broker: &Broker, cmd: &Command) -> Reply {
    let mut lines = Vec::new();
    let mut close = false;
    match cmd {
        Command::Fault { target, fault } => broker.set_fault(target.clone(), fault.clone()),
        Command::Clear(None) => broker.clear_faults(),
        Command::Clear(Some(t)) => broker.clear_faults_for(t),
        Command::Faults => {
            for (t, f) in broker.faults() {
                lines.push(format!("{t} {f}"));
            }
        }
        Command::Log(n) => {
            let log = broker.packet_log();
            for e in &log[log.len().saturating_sub(*n)..] {
                lines.push(format!(
                    "{:.3} {} conn={} client={} {}",
                    e.at.as_secs_f64(),
                    match e.direction {
                        Direction::In => "in ",
                        Direction::Out => "out",
                    },
                    e.conn,
                    e.client_id.as_deref().unwrap_or("-"),
                    e.summary
                ));
            }
        }
        Command::Events(n) => {
            let events = broker.events();
            for e in &events[events.len().saturating_sub(*n)..] {
                lines.push(
                    serde_json::to_string(e).unwrap_or_else(|e| format!("unprintable event: {e}")),
                );
            }
        }
        Command::Stats => {
            let s = broker.stats();
            let value = serde_json::to_value(&s).unwrap_or_default();
            if let Some(map) = value.as_object() {
                for (k, v) in map {
                    lines.push(format!("{k} {v}"));
                }
            }
        }
        Command::Sessions => {
            for (id, online) in broker.sessions() {
                lines.push(format!(
                    "{id} {}",
                    if online { "online" } else { "offline" }
                ));
            }
        }
        Command::Help => lines.extend(help()),
        Command::Quit => close = true,
    }
    lines.push("ok".into());
    Reply { lines, close }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn help_is_the_fault_catalogue() {
        // Locked: a change to the help (a new fault kind) shows as a diff.
        insta::assert_snapshot!(help().join("\n"));
        // Every fault entry names a kind the parser knows, and every kind
        // the parser knows (issue 23 found five missing) is listed.
        let entries: Vec<String> = help()
            .iter()
            .filter_map(|l| l.strip_prefix("    ").map(str::to_string))
            .collect();
        for e in &entries {
            let kind = e.split_whitespace().next().unwrap_or_default();
            if let Err(err) = Fault::parse(&[kind]) {
                assert!(
                    !err.to_string().contains("unknown fault kind"),
                    "{e}: {err}"
                );
            }
        }
        for kind in [
            "refuse",
            "delay-connack",
            "drop",
            "delay",
            "close-on",
            "hang",
            "close-after",
            "duplicate",
            "forget-sessions",
            "disconnect",
            "flood",
        ] {
            assert!(
                entries
                    .iter()
                    .any(|e| e.split_whitespace().next() == Some(kind)),
                "`{kind}` missing from help"
            );
        }
        assert!(help().iter().any(|l| l.contains("pubrel")), "drop pubrel");
    }

    #[test]
    fn parses_the_examples() {
        assert_eq!(
            Command::parse("fault all drop puback 3")
                .unwrap()
                .to_string(),
            "fault all drop puback 3"
        );
        assert_eq!(
            Command::parse("  fault client dev1 refuse 5 ")
                .unwrap()
                .to_string(),
            "fault client dev1 refuse 5"
        );
        assert_eq!(Command::parse("clear").unwrap(), Command::Clear(None));
        assert_eq!(Command::parse("log").unwrap(), Command::Log(DEFAULT_TAIL));
        assert_eq!(
            Command::parse("fault all delay-connack 2s")
                .unwrap()
                .to_string(),
            "fault all delay-connack 2000ms"
        );
    }

    #[test]
    fn errors_say_what_was_expected() {
        let e = |l: &str| Command::parse(l).unwrap_err().0;
        assert_eq!(e(""), "empty command; try `help`");
        assert!(e("launch").starts_with("unknown command `launch`; expected fault"));
        assert!(e("fault everyone hang").starts_with("unknown target `everyone`"));
        assert_eq!(e("fault client"), "missing client id after `client`");
        assert_eq!(
            e("fault all"),
            format!("missing fault kind; expected one of: {FAULT_USAGE}")
        );
        assert_eq!(
            e("fault all drop puback x"),
            "drop: `x` is not a count from 1 to 4294967295"
        );
        assert_eq!(e("log many"), "log: `many` is not a count");
        assert_eq!(e("stats now"), "stats: unexpected `now`");
        assert_eq!(
            e("fault all refuse 9"),
            "refuse: `9` is not a CONNACK return code from 1 to 5"
        );
    }

    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("fault".to_string()),
            Just("all".to_string()),
            Just("client".to_string()),
            Just("drop".to_string()),
            Just("puback".to_string()),
            Just("refuse".to_string()),
            Just("clear".to_string()),
            Just("log".to_string()),
            "[0-9]{1,12}",
            "[a-z-]{1,8}",
            ".{0,6}",
        ]
    }

    proptest! {
        #[test]
        fn any_line_parses_or_errors_without_panic(line in ".{0,80}") {
            match Command::parse(&line) {
                Ok(cmd) => {
                    // Whatever parses prints back to a line meaning the same.
                    prop_assert_eq!(Command::parse(&cmd.to_string()).unwrap(), cmd);
                }
                Err(e) => prop_assert!(!e.0.is_empty()),
            }
        }

        #[test]
        fn word_soup_parses_or_errors_without_panic(words in proptest::collection::vec(word(), 0..6)) {
            let line = words.join(" ");
            match Command::parse(&line) {
                Ok(cmd) => prop_assert_eq!(Command::parse(&cmd.to_string()).unwrap(), cmd),
                Err(e) => prop_assert!(!e.0.is_empty()),
            }
        }
    }
}
