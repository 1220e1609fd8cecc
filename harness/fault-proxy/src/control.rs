//! The control port: one command per line, one reply per command ending
//! with a line `ok` or `error: ...`. Parsing never panics.
//!
//! ```text
//! add [up|down|both] KIND ARGS... [after D] [for D]    -> id=N / ok
//! remove ID       clear       rules       log [N]       stats
//! help            quit
//! ```

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::fault::KINDS;
use crate::proxy::{add_rule, clear_rules, log_tail, remove_rule, rules_of, Proxy, Shared};
use crate::rule::RuleSpec;

/// Longest accepted line.
pub const MAX_LINE: usize = 4096;

/// One command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Add(RuleSpec),
    Remove(u64),
    Clear,
    Rules,
    Log(usize),
    Stats,
    Help,
    Quit,
}

/// Parses one line.
pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let none = |c: Command| {
        if rest.is_empty() {
            Ok(c)
        } else {
            Err(format!("`{word}` takes no arguments"))
        }
    };
    match word {
        "add" => RuleSpec::parse(rest).map(Command::Add),
        "remove" => rest
            .parse()
            .map(Command::Remove)
            .map_err(|_| format!("`remove` needs a rule id (see `rules`), got `{rest}`")),
        "clear" => none(Command::Clear),
        "rules" => none(Command::Rules),
        "stats" => none(Command::Stats),
        "help" => none(Command::Help),
        "quit" => none(Command::Quit),
        "log" if rest.is_empty() => Ok(Command::Log(20)),
        "log" => rest
            .parse()
            .map(Command::Log)
            .map_err(|_| format!("`log` takes a line count, got `{rest}`")),
        "" => Err("empty line; try `help`".into()),
        other => Err(format!(
            "unknown command `{other}`; commands: add, remove, clear, rules, log, stats, help, quit"
        )),
    }
}

/// Runs one command; the reply lines (the last is `ok` or `error: ...`).
pub(crate) fn execute(shared: &Shared, line: &str) -> (Vec<String>, bool) {
    let cmd = match parse(line) {
        Ok(c) => c,
        Err(e) => return (vec![format!("error: {e}")], false),
    };
    let mut out = Vec::new();
    match cmd {
        Command::Add(spec) => out.push(format!("id={}", add_rule(shared, spec))),
        Command::Remove(id) => {
            if !remove_rule(shared, id) {
                return (vec![format!("error: no rule #{id}")], false);
            }
        }
        Command::Clear => clear_rules(shared),
        Command::Rules => out.extend(rules_of(shared).iter().map(|r| r.to_string())),
        Command::Log(n) => out.extend(log_tail(shared, n)),
        Command::Stats => {
            let s = shared.stats.lock().map(|s| s.clone()).unwrap_or_default();
            out.push(format!(
                "accepted={} refused={} upstream_failed={} resets={} bytes_up={} bytes_down={}",
                s.accepted, s.refused, s.upstream_failed, s.resets, s.bytes_up, s.bytes_down
            ));
        }
        Command::Help => {
            out.push("add [up|down|both] KIND ARGS... [after D] [for D]".into());
            out.extend(KINDS.iter().map(|(_, u)| format!("  {u}")));
            out.push("remove ID | clear | rules | log [N] | stats | help | quit".into());
        }
        Command::Quit => return (vec!["ok".into()], true),
    }
    out.push("ok".into());
    (out, false)
}

/// Serves the control port for `proxy` on `listener` until the proxy is
/// dropped (the task is aborted with it by the caller).
pub async fn serve(proxy: &Proxy, listener: TcpListener) {
    let shared = proxy.shared();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared: Arc<Shared> = shared.clone();
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let mut r = BufReader::new(r);
            let mut line = String::new();
            loop {
                line.clear();
                match (&mut r).take(MAX_LINE as u64).read_line(&mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let (reply, quit) = if line.ends_with('\n') || line.len() < MAX_LINE {
                    execute(&shared, &line)
                } else {
                    (
                        vec![format!("error: line longer than {MAX_LINE} bytes")],
                        true,
                    )
                };
                let mut text = reply.join("\n");
                text.push('\n');
                if w.write_all(text.as_bytes()).await.is_err() || quit {
                    return;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_and_errors_explain() {
        assert!(matches!(parse("add drop puback 2"), Ok(Command::Add(_))));
        assert_eq!(parse("remove 3"), Ok(Command::Remove(3)));
        assert_eq!(parse("log"), Ok(Command::Log(20)));
        assert!(parse("remove x").unwrap_err().contains("rule id"));
        assert!(parse("frob").unwrap_err().contains("unknown command"));
        assert!(parse("clear now").unwrap_err().contains("no arguments"));
        assert!(parse("").is_err());
    }
}
