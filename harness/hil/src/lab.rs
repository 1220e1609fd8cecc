//! Lab control for real benches: shell commands a board or DUT profile
//! names (its `[lab]` table) to cut and restore the device's power (a USB
//! hub port, a PDU outlet) and its WiFi (the access point), and how the
//! harness runs them.
//!
//! ```toml
//! [lab]
//! power_off = "uhubctl -a off -p 2"
//! power_on = { command = "uhubctl -a on -p 2", timeout = "20s" }
//! wifi_down = "ssh ap hostapd_cli disable"
//! wifi_up = "ssh ap hostapd_cli enable"
//! # dut_reboot as power_off, 1 s, power_on (DUT profiles; boards say
//! # `[reset] method = "power"`)
//! reboot = "power"
//! ```
//!
//! A hook runs with `sh -c` in the profile's folder, in its own process
//! group, with a timeout (default [`DEFAULT_TIMEOUT`]; the whole group is
//! killed when it runs out). `{client_id}` is replaced with the scenario's
//! DUT client id. `${NAME}` references are left to the shell, which
//! expands them from the harness's environment: tokens stay out of the
//! profile, and the harness logs the command as written and writes
//! `${NAME}` in place of any value of a referenced variable that the
//! command prints. A reference to an unset variable is an error before
//! anything runs.
//!
//! Every run is appended to `lab.log` (the run directory): the hook's
//! name, the command as written, exit status, duration, then its output.
//! A hook that fails (exit status other than 0, a timeout, a shell that
//! cannot start) is an infrastructure failure of the run (exit 3), never a
//! failure of the device; its message names the hook and `lab.log`.

use std::fmt;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::diag::Diagnostic;
use crate::duration::Dur;

/// How long a hook may run unless its profile says otherwise.
pub const DEFAULT_TIMEOUT: Dur = Dur::from_secs(10);

/// How long the device stays off when `dut_reboot` is done with the power
/// hooks (`reboot = "power"`, `[reset] method = "power"`).
pub const REBOOT_OFF_FOR: Duration = Duration::from_secs(1);

/// The name of the file hook runs are appended to, in the run directory.
pub const LOG_FILE: &str = "lab.log";

/// Which hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HookName {
    PowerOff,
    PowerOn,
    WifiDown,
    WifiUp,
}

impl HookName {
    pub const ALL: [HookName; 4] = [
        HookName::PowerOff,
        HookName::PowerOn,
        HookName::WifiDown,
        HookName::WifiUp,
    ];

    /// The key in `[lab]`.
    pub fn as_str(self) -> &'static str {
        match self {
            HookName::PowerOff => "power_off",
            HookName::PowerOn => "power_on",
            HookName::WifiDown => "wifi_down",
            HookName::WifiUp => "wifi_up",
        }
    }
}

impl fmt::Display for HookName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One hook: a shell command and how long it may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabHook {
    /// As written (placeholders and `${NAME}` references not replaced).
    pub command: String,
    pub timeout: Dur,
}

/// A profile's `[lab]` table, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabHooks {
    pub power_off: Option<LabHook>,
    pub power_on: Option<LabHook>,
    pub wifi_down: Option<LabHook>,
    pub wifi_up: Option<LabHook>,
    /// `reboot = "power"`: `dut_reboot` is power_off, a pause, power_on.
    pub reboot_by_power: bool,
    /// Where the hooks run (the profile's folder).
    pub dir: PathBuf,
}

impl LabHooks {
    pub fn get(&self, name: HookName) -> Option<&LabHook> {
        match name {
            HookName::PowerOff => self.power_off.as_ref(),
            HookName::PowerOn => self.power_on.as_ref(),
            HookName::WifiDown => self.wifi_down.as_ref(),
            HookName::WifiUp => self.wifi_up.as_ref(),
        }
    }

    /// True when both power hooks are given (checked: one needs the other).
    pub fn has_power(&self) -> bool {
        self.power_off.is_some() && self.power_on.is_some()
    }

    /// True when both WiFi hooks are given.
    pub fn has_wifi(&self) -> bool {
        self.wifi_down.is_some() && self.wifi_up.is_some()
    }

    pub fn is_empty(&self) -> bool {
        HookName::ALL.iter().all(|h| self.get(*h).is_none())
    }
}

/// The `[lab]` table as written (profiles embed it with
/// `#[serde(default)] lab: Option<Spanned<RawLab>>`).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLab {
    #[serde(default)]
    power_off: Option<Spanned<RawHook>>,
    #[serde(default)]
    power_on: Option<Spanned<RawHook>>,
    #[serde(default)]
    wifi_down: Option<Spanned<RawHook>>,
    #[serde(default)]
    wifi_up: Option<Spanned<RawHook>>,
    #[serde(default)]
    reboot: Option<Spanned<String>>,
}

/// A hook as written: `"CMD"` or `{ command = "CMD", timeout = "10s" }`.
struct RawHook {
    command: Spanned<String>,
    timeout: Option<Spanned<String>>,
}

impl<'de> Deserialize<'de> for RawHook {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawHook, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawHook;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a command (\"uhubctl -a off -p 2\") or { command = \"...\", timeout = \"10s\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawHook, E> {
                Ok(RawHook {
                    // The span is filled in by the outer `Spanned`.
                    command: Spanned::new(0..0, v.to_string()),
                    timeout: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RawHook, A::Error> {
                let (mut command, mut timeout) = (None, None);
                while let Some(k) = m.next_key::<String>()? {
                    match k.as_str() {
                        "command" if command.is_none() => command = Some(m.next_value()?),
                        "timeout" if timeout.is_none() => timeout = Some(m.next_value()?),
                        "command" | "timeout" => {
                            return Err(de::Error::custom(format!("duplicate key `{k}`")))
                        }
                        other => {
                            return Err(de::Error::unknown_field(other, &["command", "timeout"]))
                        }
                    }
                }
                Ok(RawHook {
                    command: command.ok_or_else(|| de::Error::missing_field("command"))?,
                    timeout,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// Checks a `[lab]` table; errors go to `errors` (with the byte spans of
/// the profile's text), `dir` is where the hooks will run.
/// `reboot_key`: whether `reboot` is allowed here (DUT profiles; boards
/// say `[reset] method = "power"`).
pub fn check(
    raw: Option<&Spanned<RawLab>>,
    dir: &Path,
    reboot_key: bool,
    errors: &mut Vec<Diagnostic>,
) -> LabHooks {
    let mut hooks = LabHooks {
        dir: dir.to_path_buf(),
        ..LabHooks::default()
    };
    let Some(raw) = raw else {
        return hooks;
    };
    let table = raw.get_ref();
    let mut one = |h: &Option<Spanned<RawHook>>| -> Option<LabHook> {
        let h = h.as_ref()?;
        let whole = h.span();
        let r = h.get_ref();
        let cspan = if r.command.span() == (0..0) {
            whole.clone()
        } else {
            r.command.span()
        };
        let command = r.command.get_ref();
        if command.trim().is_empty() {
            errors.push(
                Diagnostic::error("the command is empty", Some(cspan))
                    .with_help("e.g. power_off = \"uhubctl -a off -p 2\""),
            );
            return None;
        }
        if let Err((m, _)) = env_refs(command) {
            // Inside a basic string an offset may not map 1:1 (escapes):
            // point at the command.
            errors.push(
                Diagnostic::error(m, Some(cspan))
                    .with_help("write environment references as ${NAME} (letters, digits, _)"),
            );
            return None;
        }
        let timeout = match &r.timeout {
            None => DEFAULT_TIMEOUT,
            Some(t) => match t.get_ref().parse::<Dur>() {
                Ok(d) if !d.is_zero() => d,
                Ok(_) => {
                    errors.push(Diagnostic::error(
                        "the timeout must be greater than zero",
                        Some(t.span()),
                    ));
                    return None;
                }
                Err(e) => {
                    errors.push(
                        Diagnostic::error(format!("bad timeout: {e}"), Some(t.span()))
                            .with_help("a duration such as \"10s\" or \"500ms\""),
                    );
                    return None;
                }
            },
        };
        Some(LabHook {
            command: command.clone(),
            timeout,
        })
    };
    hooks.power_off = one(&table.power_off);
    hooks.power_on = one(&table.power_on);
    hooks.wifi_down = one(&table.wifi_down);
    hooks.wifi_up = one(&table.wifi_up);
    for (a, b, sa, sb) in [
        ("power_off", "power_on", &table.power_off, &table.power_on),
        ("wifi_down", "wifi_up", &table.wifi_down, &table.wifi_up),
    ] {
        let lone = match (sa, sb) {
            (Some(s), None) => Some((a, b, s.span())),
            (None, Some(s)) => Some((b, a, s.span())),
            _ => None,
        };
        if let Some((have, missing, span)) = lone {
            errors.push(
                Diagnostic::error(
                    format!("`{have}` without `{missing}`: the harness could not undo it"),
                    Some(span),
                )
                .with_help(format!("give both `{a}` and `{b}`")),
            );
        }
    }
    if let Some(r) = &table.reboot {
        match r.get_ref().as_str() {
            _ if !reboot_key => errors.push(
                Diagnostic::error("`reboot` is for DUT profiles", Some(r.span())).with_help(
                    "a board reboots with its power hooks when [reset] method = \"power\"",
                ),
            ),
            "power" if table.power_off.is_some() && table.power_on.is_some() => {
                hooks.reboot_by_power = true
            }
            "power" => errors.push(
                Diagnostic::error(
                    "`reboot = \"power\"` needs `power_off` and `power_on`",
                    Some(r.span()),
                )
                .with_help("name the commands that cut and restore the device's power"),
            ),
            "restart" => {}
            other => errors.push(
                Diagnostic::error(format!("unknown reboot `{other}`"), Some(r.span())).with_help(
                    "expected \"power\" (power_off, 1 s, power_on) or \"restart\" (the default)",
                ),
            ),
        }
    }
    hooks
}

/// The `${NAME}` references in `command`, in order; or why one is
/// malformed (and its byte offset).
pub fn env_refs(command: &str) -> Result<Vec<String>, (String, usize)> {
    let mut out = Vec::new();
    let mut rest = command;
    let mut base = 0;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            return Err((
                format!("`${{` at byte {} is not closed with `}}`", base + i),
                base + i,
            ));
        };
        let name = &after[..end];
        let ok = !name.is_empty()
            && !name.as_bytes()[0].is_ascii_digit()
            && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
        if !ok {
            return Err((
                format!("`${{{name}}}` is not an environment variable reference"),
                base + i,
            ));
        }
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
        base += i + 2 + end + 1;
        rest = &after[end + 1..];
    }
    Ok(out)
}

/// What one hook run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookRun {
    pub hook: HookName,
    /// As written.
    pub command: String,
    /// `exit 0`, `exit 1`, `killed by signal 9`, `timed out after 2s`,
    /// `not started: ...`.
    pub status: String,
    pub ok: bool,
    pub duration: Duration,
}

impl HookRun {
    /// For a failed run: the infrastructure failure's message, naming the
    /// hook and `lab.log`.
    pub fn error(&self) -> Option<String> {
        (!self.ok).then(|| {
            format!(
                "lab hook `{}` (`{}`) failed: {} (its output is in {LOG_FILE} in the run directory)",
                self.hook, self.command, self.status
            )
        })
    }
}

/// Runs a profile's hooks and keeps `lab.log`.
#[derive(Debug, Clone, Default)]
pub struct LabRunner {
    pub hooks: LabHooks,
    log: Arc<Mutex<Vec<u8>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl LabRunner {
    pub fn new(hooks: LabHooks) -> LabRunner {
        LabRunner {
            hooks,
            log: Arc::default(),
        }
    }

    /// True when the profile has this hook.
    pub fn has(&self, name: HookName) -> bool {
        self.hooks.get(name).is_some()
    }

    /// Runs hook `name` (`None` when the profile has none);
    /// `client_id` replaces `{client_id}`. [`HookRun::error`] says whether
    /// it failed.
    pub fn run(&self, name: HookName, client_id: &str) -> Option<HookRun> {
        let hook = self.hooks.get(name)?;
        Some(run_hook(name, hook, &self.hooks.dir, client_id, &self.log))
    }

    /// Runs hook `name` in a real-time run and records it in the trace (a
    /// `lab_hook` event of the fault executor, failed or not): whether
    /// the profile has it, or the run's infrastructure failure.
    pub fn run_traced(
        &self,
        name: HookName,
        world: &crate::realtime::RealWorld,
    ) -> Result<bool, String> {
        let Some(run) = self.run(name, &world.dut_client_id) else {
            return Ok(false);
        };
        world.emit(
            crate::trace::Actor::Faults,
            crate::trace::Event::LabHook {
                hook: name.to_string(),
                command: run.command.clone(),
                status: run.status.clone(),
            },
        );
        match run.error() {
            Some(e) => Err(e),
            None => Ok(true),
        }
    }

    /// `lab.log` so far (empty when nothing ran).
    pub fn log(&self) -> Vec<u8> {
        lock(&self.log).clone()
    }

    /// `lab.log` as a run artifact, if any hook ran.
    pub fn artifact(&self) -> Option<crate::backend::Artifact> {
        let log = self.log();
        (!log.is_empty()).then(|| crate::backend::Artifact::new(LOG_FILE, log))
    }
}

/// Replaces every value of the `${NAME}` variables `names` in `text` with
/// `${NAME}` (values shorter than 4 bytes are left: they would hide
/// ordinary text and cannot be tokens worth hiding).
fn redact(text: &str, names: &[String]) -> String {
    let mut out = text.to_string();
    for n in names {
        if let Ok(v) = std::env::var(n) {
            if v.len() >= 4 {
                out = out.replace(&v, &format!("${{{n}}}"));
            }
        }
    }
    out
}

fn run_hook(
    name: HookName,
    hook: &LabHook,
    dir: &Path,
    client_id: &str,
    log: &Mutex<Vec<u8>>,
) -> HookRun {
    let started = Instant::now();
    let names = env_refs(&hook.command).unwrap_or_default();
    let (status, ok, output) = match names.iter().find(|n| std::env::var_os(n).is_none()) {
        Some(missing) => (
            format!("not started: the environment variable {missing} is not set"),
            false,
            Vec::new(),
        ),
        None => execute(
            &hook.command.replace("{client_id}", client_id),
            dir,
            hook.timeout.to_std(),
        ),
    };
    let run = HookRun {
        hook: name,
        command: hook.command.clone(),
        status,
        ok,
        duration: started.elapsed(),
    };
    let mut entry = format!(
        "=== {} `{}`: {} in {} ms\n",
        run.hook,
        run.command,
        run.status,
        run.duration.as_millis()
    );
    let out = redact(&String::from_utf8_lossy(&output), &names);
    entry.push_str(&out);
    if !out.is_empty() && !out.ends_with('\n') {
        entry.push('\n');
    }
    lock(log).extend_from_slice(entry.as_bytes());
    run
}

/// Runs `cmd` with `sh -c` in `dir`, in its own process group, killing the
/// group at `timeout`: (status, ok, stdout then stderr).
fn execute(cmd: &str, dir: &Path, timeout: Duration) -> (String, bool, Vec<u8>) {
    let child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return (format!("not started: {e}"), false, Vec::new()),
    };
    // Read both pipes while it runs, so a chatty command cannot block.
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut r| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            let _ = tx.send(buf);
        });
        rx
    })
    .collect();
    let deadline = Instant::now() + timeout;
    let (status, ok) = loop {
        match child.try_wait() {
            Ok(Some(st)) => {
                let text = match st.code() {
                    Some(c) => format!("exit {c}"),
                    None => format!("ended by a signal ({st})"),
                };
                break (text, st.success());
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                kill_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                break (
                    format!(
                        "timed out after {}",
                        Dur::from_millis(timeout.as_millis() as u64)
                    ),
                    false,
                );
            }
            Err(e) => {
                kill_group(child.id());
                let _ = child.wait();
                break (format!("cannot wait for it: {e}"), false);
            }
        }
    };
    // What the group wrote; a descendant that left the group and keeps a
    // pipe open is not waited for long.
    let mut output = Vec::new();
    for rx in readers {
        if let Ok(b) = rx.recv_timeout(Duration::from_secs(1)) {
            output.extend_from_slice(&b);
        }
    }
    (status, ok, output)
}

/// SIGKILL to process group `pgid`.
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        #[serde(default)]
        lab: Option<Spanned<RawLab>>,
    }

    /// (hooks, rendered errors) for a `[lab]` document.
    fn read(src: &str) -> Result<LabHooks, String> {
        let doc: Doc = toml::from_str(src).map_err(|e| {
            crate::diag::render(
                "p.toml",
                src,
                &Diagnostic::error(e.message().to_string(), e.span()),
            )
        })?;
        let mut errors = Vec::new();
        let h = check(doc.lab.as_ref(), Path::new("."), true, &mut errors);
        if errors.is_empty() {
            Ok(h)
        } else {
            Err(errors
                .iter()
                .map(|d| crate::diag::render("p.toml", src, d))
                .collect())
        }
    }

    #[test]
    fn both_forms_read() {
        let h = read("[lab]\npower_off = \"uhubctl -a off -p 2\"\npower_on = { command = \"uhubctl -a on -p 2\", timeout = \"20s\" }\nreboot = \"power\"\n").unwrap();
        assert_eq!(
            h.power_off,
            Some(LabHook {
                command: "uhubctl -a off -p 2".into(),
                timeout: DEFAULT_TIMEOUT
            })
        );
        assert_eq!(h.power_on.unwrap().timeout, Dur::from_secs(20));
        assert!(h.reboot_by_power);
        assert!(h.wifi_down.is_none());
        assert!(read("").unwrap().is_empty());
    }

    #[test]
    fn errors_name_line_and_column() {
        let e =
            read("[lab]\npower_off = \"a\"\npower_on = { command = \"b\", timeout = \"soon\" }\n")
                .unwrap_err();
        assert!(
            e.contains("p.toml:3:39") && e.contains("bad timeout"),
            "{e}"
        );
        let e = read("[lab]\nwifi_down = \"a\"\n").unwrap_err();
        assert!(
            e.contains("p.toml:2:13") && e.contains("`wifi_down` without `wifi_up`"),
            "{e}"
        );
        let e = read("[lab]\npower_off = \"curl ${TOK\"\npower_on = \"x\"\n").unwrap_err();
        assert!(e.contains("p.toml:2:13") && e.contains("not closed"), "{e}");
        let e = read("[lab]\npower_off = { cmd = \"x\" }\n").unwrap_err();
        assert!(
            e.contains("p.toml:2") && e.contains("unknown field `cmd`"),
            "{e}"
        );
        let e = read("[lab]\npower_off = 3\n").unwrap_err();
        assert!(e.contains("p.toml:2:13") && e.contains("a command"), "{e}");
        let e = read("[lab]\nreboot = \"power\"\n").unwrap_err();
        assert!(
            e.contains("p.toml:2:10") && e.contains("needs `power_off`"),
            "{e}"
        );
        let e = read("[lab]\npower_off = \" \"\npower_on = \"x\"\n").unwrap_err();
        assert!(e.contains("p.toml:2:13") && e.contains("empty"), "{e}");
        let e = read("[lab]\npower = \"x\"\n").unwrap_err();
        assert!(
            e.contains("p.toml:2:1") && e.contains("unknown field `power`"),
            "{e}"
        );
    }

    #[test]
    fn env_references() {
        assert_eq!(
            env_refs("curl -H \"X: ${PDU_TOKEN}\" ${HOST}/${PDU_TOKEN}").unwrap(),
            vec!["PDU_TOKEN".to_string(), "HOST".to_string()]
        );
        assert!(env_refs("echo $HOME {client_id}").unwrap().is_empty());
        assert!(env_refs("${1X}").is_err());
        assert!(env_refs("${}").is_err());
    }

    fn hooks_with(name: HookName, command: &str, timeout: Dur, dir: &Path) -> LabRunner {
        let mut h = LabHooks {
            dir: dir.to_path_buf(),
            ..LabHooks::default()
        };
        let hook = Some(LabHook {
            command: command.into(),
            timeout,
        });
        match name {
            HookName::PowerOff => h.power_off = hook,
            HookName::PowerOn => h.power_on = hook,
            HookName::WifiDown => h.wifi_down = hook,
            HookName::WifiUp => h.wifi_up = hook,
        }
        LabRunner::new(h)
    }

    #[test]
    fn a_hook_runs_and_is_logged() {
        let dir = tempfile::tempdir().unwrap();
        let r = hooks_with(
            HookName::PowerOff,
            "echo off {client_id} >> calls; echo said; echo warned >&2",
            DEFAULT_TIMEOUT,
            dir.path(),
        );
        let run = r.run(HookName::PowerOff, "dut-7").unwrap();
        assert!(run.ok && run.error().is_none());
        assert_eq!(run.status, "exit 0");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("calls")).unwrap(),
            "off dut-7\n"
        );
        let log = String::from_utf8(r.log()).unwrap();
        assert!(
            log.starts_with("=== power_off `echo off {client_id} >> calls; echo said; echo warned >&2`: exit 0 in "),
            "{log}"
        );
        assert!(log.contains("said\nwarned\n"), "{log}");
        assert!(r.run(HookName::PowerOn, "x").is_none());
    }

    #[test]
    fn failing_and_hanging_hooks_are_errors_naming_the_hook() {
        let dir = tempfile::tempdir().unwrap();
        let r = hooks_with(
            HookName::WifiDown,
            "echo nope >&2; exit 1",
            DEFAULT_TIMEOUT,
            dir.path(),
        );
        let e = r.run(HookName::WifiDown, "x").unwrap().error().unwrap();
        assert!(
            e.contains("lab hook `wifi_down`") && e.contains("exit 1") && e.contains("lab.log"),
            "{e}"
        );
        assert!(String::from_utf8(r.log()).unwrap().contains("nope"));
        // The whole group goes at the timeout: the background sleep too.
        let t = Instant::now();
        let r = hooks_with(
            HookName::PowerOn,
            "sleep 30 & echo $! > bg; sleep 30",
            Dur::from_millis(300),
            dir.path(),
        );
        let e = r.run(HookName::PowerOn, "x").unwrap().error().unwrap();
        assert!(e.contains("timed out after 300ms"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(5));
        let bg = std::fs::read_to_string(dir.path().join("bg")).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        // Gone, or a zombie waiting for its new parent to reap it.
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", bg.trim())).unwrap_or_default();
        let alive = !stat.is_empty() && !stat.contains(") Z ");
        assert!(!alive, "the background sleep {bg} survived");
    }

    #[test]
    fn secrets_stay_out_of_the_log() {
        let dir = tempfile::tempdir().unwrap();
        std::env::set_var("HIL_LAB_TEST_TOKEN", "s3cr3t-t0ken");
        let r = hooks_with(
            HookName::PowerOff,
            "echo \"calling with ${HIL_LAB_TEST_TOKEN}\"; echo ${HIL_LAB_TEST_TOKEN} > got",
            DEFAULT_TIMEOUT,
            dir.path(),
        );
        assert!(r.run(HookName::PowerOff, "x").unwrap().ok);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("got")).unwrap(),
            "s3cr3t-t0ken\n"
        );
        let log = String::from_utf8(r.log()).unwrap();
        assert!(!log.contains("s3cr3t"), "{log}");
        assert!(log.contains("calling with ${HIL_LAB_TEST_TOKEN}"), "{log}");
        let r = hooks_with(
            HookName::PowerOff,
            "echo ${HIL_LAB_TEST_UNSET_VAR}",
            DEFAULT_TIMEOUT,
            dir.path(),
        );
        let e = r.run(HookName::PowerOff, "x").unwrap().error().unwrap();
        assert!(e.contains("HIL_LAB_TEST_UNSET_VAR is not set"), "{e}");
    }

    proptest! {
        /// Any `[lab]` text gives hooks or diagnostics, never a panic;
        /// every diagnostic's place is inside the text.
        #[test]
        fn the_parser_never_panics(body in "[a-z_ =\"{}$/,0-9\n]{0,100}") {
            let src = format!("[lab]\n{body}");
            if let Ok(doc) = toml::from_str::<Doc>(&src) {
                let mut errors = Vec::new();
                check(doc.lab.as_ref(), Path::new("."), true, &mut errors);
                for d in errors {
                    if let Some(s) = d.span {
                        prop_assert!(s.end <= src.len());
                    }
                }
            }
        }

        /// Written hooks read back as written.
        #[test]
        fn written_hooks_read_back(
            off in "[a-z][a-z0-9 ./-]{0,20}",
            on in "[a-z][a-z0-9 ./-]{0,20}",
            ms in proptest::option::of(1u64..100_000),
        ) {
            let on_src = match ms {
                Some(ms) => format!("{{ command = \"{on}\", timeout = \"{ms}ms\" }}"),
                None => format!("\"{on}\""),
            };
            let src = format!("[lab]\npower_off = \"{off}\"\npower_on = {on_src}\n");
            let h = read(&src).map_err(TestCaseError::fail)?;
            prop_assert_eq!(h.power_off.unwrap().command, off);
            let p = h.power_on.unwrap();
            prop_assert_eq!(p.command, on);
            prop_assert_eq!(p.timeout, ms.map_or(DEFAULT_TIMEOUT, Dur::from_millis));
        }
    }
}
