//! Board profiles (`fixtures/boards/*.toml`): which board, how to reach it
//! (transport and selector), how to reset it, which agent it runs, and
//! how it reaches the harness host (so its traffic goes through the fault
//! proxy), and the bench's power and WiFi hooks (`[lab]`, `crate::lab`).
//! WiFi credentials appear by environment-variable name only.
//!
//! A bad profile is an error naming the file, line and column and what was
//! expected ([`ProfileError`], rendered like scenario errors).
//!
//! A board with its own firmware (`agent = "none"`) speaks no agent
//! protocol: the profile names the broker address its firmware is built
//! for (`[network] firmware_broker`, where the fault proxy then listens),
//! how its payloads carry a message id (`seq`, as in DUT profiles:
//! [`crate::blackbox::seq`]), and optionally its serial console (or
//! `[transport] kind = "none"`) and a reset (`dtr_rts`, `console`, `probe`
//! or `none`).

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::blackbox::profile::{seq_rule, RawSeq};
use crate::blackbox::seq::SeqRule;
use crate::diag::{self, Diagnostic};
use crate::duration::Dur;

/// A checked profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    pub chip: String,
    pub agent: AgentKind,
    /// The firmware image (ELF for probe-rs, the agent script for
    /// MicroPython), relative paths taken from the profile's folder.
    pub firmware: Option<PathBuf>,
    pub transport: Transport,
    pub reset: Reset,
    /// How long the port (or probe) may be gone during a reset before the
    /// run fails as an infrastructure failure.
    pub reopen_timeout: Dur,
    /// How long to wait for the board's `hello`.
    pub hello_timeout: Dur,
    /// The host as the board reaches the harness (the broker address the
    /// board is configured with is `broker_host:<proxy port>`).
    pub broker_host: String,
    /// Where the DUT's fault proxy listens (`0.0.0.0:1884` for a board on
    /// the LAN; port 0 = any free port).
    pub proxy_listen: SocketAddr,
    /// Environment variables holding the WiFi SSID and password (never the
    /// values).
    pub wifi_ssid_env: Option<String>,
    pub wifi_password_env: Option<String>,
    /// The bench's power and WiFi hooks (`[lab]`, see `crate::lab`).
    pub lab: crate::lab::LabHooks,
    /// `agent = "none"`: the broker address the board's firmware is built
    /// for (the DUT's fault proxy listens there; port 0 only for the
    /// virtual board, whose firmware is "built" with the port the proxy
    /// got when the harness starts it).
    pub firmware_broker: Option<SocketAddr>,
    /// `agent = "none"`: how its payloads carry a message id; `None`: the
    /// QoS oracles are unsupported for it.
    pub seq: Option<SeqRule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentKind {
    /// Firmware linking the `hil-agent` crate.
    Rust,
    /// `fixtures/agents/micropython/hil_agent.py` with `mqtt_as`.
    Micropython,
    /// The board's own firmware, unchanged: no agent protocol; its side of
    /// the trace comes from the fault proxy's wire view.
    None,
}

/// How the harness reaches the board.
#[derive(Debug, Clone, PartialEq)]
pub enum Transport {
    /// A serial port (USB CDC, USB-UART bridge).
    Serial { select: PortSelect, baud: u32 },
    /// A debug probe (probe-rs: flash, reset, RTT); crate `hil-probe`.
    Probe { probe: Option<String> },
    /// The virtual board (`hil-vboard`) on a PTY the harness starts.
    Virtual { baud: u32 },
    /// A serial port on another machine, exported over TCP by ser2net
    /// (or a labgrid exporter): `HOST:PORT`, raw or RFC 2217
    /// (`board/remote_serial.rs`).
    Remote {
        addr: String,
        mode: super::remote_serial::Mode,
        baud: u32,
    },
    /// No link at all (`agent = "none"` only): no console, no reset but
    /// none.
    None,
}

/// Which serial port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSelect {
    Path(PathBuf),
    Usb {
        vid: u16,
        pid: u16,
        serial_number: Option<String>,
    },
}

/// How a reset is done.
#[derive(Debug, Clone, PartialEq)]
pub enum Reset {
    /// The agent's `reboot` command.
    Agent,
    /// A DTR/RTS sequence on the serial port.
    DtrRts(Vec<LineStep>),
    /// The probe's reset.
    Probe,
    /// A line written to the board's console (`reboot`, MicroPython's
    /// Ctrl-D...), for firmware that resets itself on a console command.
    Console(String),
    /// The board cannot be reset: `dut_reboot` is unsupported.
    None,
    /// `[lab] power_off`, 1 s, `power_on` (needs both hooks).
    Power,
}

/// One step of a DTR/RTS sequence: set lines, or wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineStep {
    Dtr(bool),
    Rts(bool),
    Wait(Dur),
}

/// A file that is not a valid profile.
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
    chip: String,
    agent: Spanned<AgentKind>,
    #[serde(default)]
    firmware: Option<Spanned<String>>,
    #[serde(default)]
    seq: Option<Spanned<RawSeq>>,
    transport: Spanned<RawTransport>,
    #[serde(default)]
    reset: Option<Spanned<RawReset>>,
    #[serde(default)]
    network: RawNetwork,
    #[serde(default)]
    wifi: RawWifi,
    #[serde(default)]
    lab: Option<Spanned<crate::lab::RawLab>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransport {
    kind: Spanned<String>,
    #[serde(default)]
    port: Option<String>,
    #[serde(default)]
    usb: Option<Spanned<String>>,
    #[serde(default)]
    serial_number: Option<String>,
    #[serde(default)]
    baud: Option<Spanned<u32>>,
    #[serde(default)]
    probe: Option<Spanned<String>>,
    #[serde(default)]
    url: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReset {
    method: Spanned<String>,
    #[serde(default)]
    sequence: Vec<Spanned<String>>,
    #[serde(default)]
    timeout: Option<Dur>,
    #[serde(default)]
    hello_timeout: Option<Dur>,
    #[serde(default)]
    line: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    #[serde(default)]
    broker_host: Option<String>,
    #[serde(default)]
    proxy_listen: Option<Spanned<String>>,
    #[serde(default)]
    firmware_broker: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWifi {
    #[serde(default)]
    ssid_env: Option<Spanned<String>>,
    #[serde(default)]
    password_env: Option<Spanned<String>>,
}

/// Where profiles live.
pub const PROFILE_DIR: &str = "fixtures/boards";

/// Reads and checks a profile: a path, or a name looked up in
/// `fixtures/boards/NAME.toml` (from the current directory up).
pub fn load(name_or_path: &str) -> Result<(PathBuf, Profile), ProfileError> {
    let path = resolve(name_or_path);
    let source = std::fs::read_to_string(&path).map_err(|e| ProfileError {
        path: path.clone(),
        source: String::new(),
        diagnostics: vec![
            Diagnostic::error(format!("cannot read the board profile: {e}"), None).with_help(
                format!("give a profile file, or the name of one in {PROFILE_DIR}/"),
            ),
        ],
    })?;
    match parse(&source, path.parent().unwrap_or(Path::new("."))) {
        Ok(p) => Ok((path, p)),
        Err(diagnostics) => Err(ProfileError {
            path,
            source,
            diagnostics,
        }),
    }
}

fn resolve(name_or_path: &str) -> PathBuf {
    resolve_in(PROFILE_DIR, name_or_path)
}

/// A profile's path: `name_or_path` itself if it has an extension or a
/// `/`, else `PROFILE_DIR/NAME.toml` in the current directory or the
/// nearest parent that has it (board profiles, DUT profiles).
pub(crate) fn resolve_in(profile_dir: &str, name_or_path: &str) -> PathBuf {
    let p = PathBuf::from(name_or_path);
    if p.extension().is_some() || name_or_path.contains('/') {
        return p;
    }
    let mut dir = std::env::current_dir().unwrap_or_default();
    loop {
        let c = dir.join(profile_dir).join(format!("{name_or_path}.toml"));
        if c.exists() {
            return c;
        }
        if !dir.pop() {
            return PathBuf::from(profile_dir).join(format!("{name_or_path}.toml"));
        }
    }
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.as_bytes()[0].is_ascii_digit()
        && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Parses DTR/RTS steps: `dtr=0`, `rts=1`, `wait=100ms`.
fn line_step(s: &str) -> Result<LineStep, String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))?;
    let level = |v: &str| match v {
        "0" | "low" | "false" => Ok(false),
        "1" | "high" | "true" => Ok(true),
        _ => Err(format!("`{v}` is not 0 or 1")),
    };
    match k.trim() {
        "dtr" => Ok(LineStep::Dtr(level(v.trim())?)),
        "rts" => Ok(LineStep::Rts(level(v.trim())?)),
        "wait" => v.trim().parse::<Dur>().map(LineStep::Wait),
        other => Err(format!("unknown line `{other}`")),
    }
}

/// Parses and checks profile text; every error found.
pub fn parse(src: &str, base: &Path) -> Result<Profile, Vec<Diagnostic>> {
    let raw: Raw = toml::from_str(src).map_err(|e| {
        let message = e.message().trim_end().replace('\n', "; ");
        let help = if message.contains("password") || message.contains("ssid`") {
            "WiFi credentials are given by environment-variable name only: [wifi] ssid_env = \"VAR\", password_env = \"VAR\""
        } else {
            "see fixtures/boards/README.md for the profile format"
        };
        vec![Diagnostic::error(message, e.span()).with_help(help)]
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
    let t = raw.transport.get_ref();
    let baud = match &t.baud {
        Some(b) if *b.get_ref() == 0 => {
            errors.push(
                Diagnostic::error("the baud rate must be positive", Some(b.span()))
                    .with_help("e.g. baud = 115200"),
            );
            0
        }
        Some(b) => *b.get_ref(),
        None => 115_200,
    };
    let transport = match t.kind.get_ref().as_str() {
        "serial" => {
            let select = match (&t.port, &t.usb) {
                (Some(p), None) => Some(PortSelect::Path(PathBuf::from(p))),
                (None, Some(u)) => match parse_usb(u.get_ref()) {
                    Ok((vid, pid)) => Some(PortSelect::Usb {
                        vid,
                        pid,
                        serial_number: t.serial_number.clone(),
                    }),
                    Err(m) => {
                        errors.push(
                            Diagnostic::error(m, Some(u.span()))
                                .with_help("usb = \"VID:PID\" in hex, e.g. \"303a:1001\""),
                        );
                        None
                    }
                },
                _ => {
                    errors.push(
                        Diagnostic::error(
                            "a serial transport needs exactly one of `port` and `usb`",
                            Some(raw.transport.span()),
                        )
                        .with_help("port = \"/dev/ttyACM0\", or usb = \"303a:1001\" (and optionally serial_number = \"...\")"),
                    );
                    None
                }
            };
            select.map(|select| Transport::Serial { select, baud })
        }
        "probe" => match &t.probe {
            Some(p) => match p.get_ref().parse::<hil_probe::ProbeSelector>() {
                Ok(_) => Some(Transport::Probe {
                    probe: Some(p.get_ref().clone()),
                }),
                Err(e) => {
                    errors.push(Diagnostic::error(e.to_string(), Some(p.span())));
                    None
                }
            },
            None => Some(Transport::Probe { probe: None }),
        },
        "virtual" => Some(Transport::Virtual { baud }),
        kind @ ("rfc2217" | "tcp") => remote_transport(kind, t, &raw.transport, baud, &mut errors),
        "none" => Some(Transport::None),
        other => {
            errors.push(
                Diagnostic::error(
                    format!("unknown transport kind `{other}`"),
                    Some(t.kind.span()),
                )
                .with_help("expected one of: serial, probe, virtual, rfc2217, tcp, none"),
            );
            None
        }
    };
    let agent = *raw.agent.get_ref();
    let default_reset = if agent == AgentKind::None {
        Reset::None
    } else {
        Reset::Agent
    };
    let (mut reset, mut reopen_timeout, mut hello_timeout) =
        (default_reset, Dur::from_secs(10), Dur::from_secs(10));
    if let Some(r) = &raw.reset {
        let r_ref = r.get_ref();
        reopen_timeout = r_ref.timeout.unwrap_or(reopen_timeout);
        hello_timeout = r_ref.hello_timeout.unwrap_or(hello_timeout);
        reset = match r_ref.method.get_ref().as_str() {
            "agent" => {
                if agent == AgentKind::None {
                    errors.push(
                        Diagnostic::error(
                            "reset method `agent` needs an agent, and this board runs its own firmware (agent = \"none\")",
                            Some(r_ref.method.span()),
                        )
                        .with_help("use method = \"dtr_rts\", \"console\", \"probe\" or \"none\""),
                    );
                }
                Reset::Agent
            }
            "console" => {
                if !matches!(
                    transport,
                    Some(Transport::Serial { .. } | Transport::Virtual { .. }) | None
                ) {
                    errors.push(
                        Diagnostic::error(
                            "reset method `console` needs a console (transport kind `serial` or `virtual`)",
                            Some(r_ref.method.span()),
                        )
                        .with_help("a board without a console cannot be reset by the harness: method = \"none\""),
                    );
                }
                match &r_ref.line {
                    Some(l) if !l.get_ref().trim().is_empty() => {
                        Reset::Console(l.get_ref().clone())
                    }
                    Some(l) => {
                        errors.push(
                            Diagnostic::error("the reset line is empty", Some(l.span()))
                                .with_help("e.g. line = \"reboot\""),
                        );
                        Reset::None
                    }
                    None => {
                        errors.push(
                            Diagnostic::error("`console` needs the `line` that resets the board", Some(r.span()))
                                .with_help("e.g. line = \"reboot\" (written with a newline), or line = \"\\u0004\" (MicroPython's Ctrl-D)"),
                        );
                        Reset::None
                    }
                }
            }
            "none" => Reset::None,
            "power" => Reset::Power,
            "probe" => {
                if !matches!(transport, Some(Transport::Probe { .. }) | None) {
                    errors.push(
                        Diagnostic::error(
                            "reset method `probe` needs transport kind `probe`",
                            Some(r_ref.method.span()),
                        )
                        .with_help("use method = \"dtr_rts\" or \"agent\" on a serial port"),
                    );
                }
                Reset::Probe
            }
            "dtr_rts" => {
                if let Some(Transport::Remote {
                    mode: super::remote_serial::Mode::Raw,
                    ..
                }) = transport
                {
                    errors.push(
                        Diagnostic::error(
                            "reset method `dtr_rts` cannot work over transport kind `tcp` (ser2net's raw mode has no DTR/RTS lines)",
                            Some(r_ref.method.span()),
                        )
                        .with_help("export the port with ser2net's telnet(rfc2217) accepter and use kind = \"rfc2217\", or reset with method = \"agent\""),
                    );
                } else if !matches!(
                    transport,
                    Some(Transport::Serial { .. }) | Some(Transport::Remote { .. }) | None
                ) {
                    errors.push(
                        Diagnostic::error(
                            "reset method `dtr_rts` needs transport kind `serial`",
                            Some(r_ref.method.span()),
                        )
                        .with_help(
                            "a PTY or a probe has no DTR/RTS lines: use \"agent\" or \"probe\"",
                        ),
                    );
                }
                let mut steps = Vec::new();
                for s in &r_ref.sequence {
                    match line_step(s.get_ref()) {
                        Ok(st) => steps.push(st),
                        Err(m) => errors.push(
                            Diagnostic::error(format!("bad reset step: {m}"), Some(s.span()))
                                .with_help("steps are \"dtr=0|1\", \"rts=0|1\" or \"wait=100ms\""),
                        ),
                    }
                }
                if r_ref.sequence.is_empty() {
                    errors.push(
                        Diagnostic::error("`dtr_rts` needs a `sequence`", Some(r.span()))
                            .with_help("e.g. sequence = [\"dtr=0\", \"rts=1\", \"wait=100ms\", \"rts=0\"] (ESP32 auto-reset)"),
                    );
                }
                Reset::DtrRts(steps)
            }
            other => {
                errors.push(
                    Diagnostic::error(
                        format!("unknown reset method `{other}`"),
                        Some(r_ref.method.span()),
                    )
                    .with_help("expected one of: agent, dtr_rts, console, probe, power, none"),
                );
                Reset::None
            }
        };
    }
    let proxy_listen = match &raw.network.proxy_listen {
        None => "127.0.0.1:0".parse().expect("a literal address"),
        Some(s) => match s.get_ref().parse::<SocketAddr>() {
            Ok(a) => a,
            Err(_) => {
                errors.push(
                    Diagnostic::error(
                        format!("`{}` is not an IP address and port", s.get_ref()),
                        Some(s.span()),
                    )
                    .with_help("e.g. proxy_listen = \"0.0.0.0:1884\""),
                );
                "127.0.0.1:0".parse().expect("a literal address")
            }
        },
    };
    let (firmware_broker, proxy_listen) =
        own_firmware(&raw, agent, transport.as_ref(), proxy_listen, &mut errors);
    let seq = match (&raw.seq, agent) {
        (None, _) => None,
        (Some(s), AgentKind::None) => seq_rule(s).map_err(|d| errors.push(d)).ok(),
        (Some(s), _) => {
            errors.push(
                Diagnostic::error(
                    "`seq` is for a board with its own firmware (agent = \"none\"); an agent reports its application's events itself",
                    Some(s.span()),
                )
                .with_help("remove `seq`, or set agent = \"none\""),
            );
            None
        }
    };
    for v in [&raw.wifi.ssid_env, &raw.wifi.password_env]
        .into_iter()
        .flatten()
    {
        if !is_env_name(v.get_ref()) {
            errors.push(
                Diagnostic::error(
                    format!("`{}` is not an environment variable name", v.get_ref()),
                    Some(v.span()),
                )
                .with_help("give the NAME of the variable holding the value (A-Z, 0-9, _), never the value itself"),
            );
        }
    }
    let lab = crate::lab::check(raw.lab.as_ref(), base, false, &mut errors);
    if let (Reset::Power, Some(r)) = (&reset, &raw.reset) {
        if !lab.has_power() {
            errors.push(
                Diagnostic::error(
                    "reset method `power` needs [lab] power_off and power_on",
                    Some(r.get_ref().method.span()),
                )
                .with_help(
                    "[lab]\npower_off = \"uhubctl -a off -p 2\"\npower_on = \"uhubctl -a on -p 2\"",
                ),
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Profile {
        name,
        chip: raw.chip,
        agent,
        firmware: raw.firmware.map(|f| base.join(f.into_inner())),
        transport: transport.expect("checked above"),
        reset,
        reopen_timeout,
        hello_timeout,
        broker_host: raw
            .network
            .broker_host
            .unwrap_or_else(|| "127.0.0.1".into()),
        proxy_listen,
        wifi_ssid_env: raw.wifi.ssid_env.map(Spanned::into_inner),
        wifi_password_env: raw.wifi.password_env.map(Spanned::into_inner),
        lab,
        firmware_broker,
        seq,
    })
}

/// `agent = "none"`: the firmware's broker address (required, and only
/// there), and where the proxy listens: `proxy_listen` if given (its port
/// must be the firmware's), else the firmware's address. A board without
/// any transport must run its own firmware.
fn own_firmware(
    raw: &Raw,
    agent: AgentKind,
    transport: Option<&Transport>,
    proxy_listen: SocketAddr,
    errors: &mut Vec<Diagnostic>,
) -> (Option<SocketAddr>, SocketAddr) {
    if matches!(transport, Some(Transport::None)) && agent != AgentKind::None {
        errors.push(
            Diagnostic::error(
                "transport kind `none` leaves no way to talk to an agent",
                Some(raw.transport.get_ref().kind.span()),
            )
            .with_help("only a board with its own firmware (agent = \"none\") runs without a link"),
        );
    }
    let fb = match (&raw.network.firmware_broker, agent) {
        (None, AgentKind::None) => {
            errors.push(
                Diagnostic::error(
                    "a board with its own firmware (agent = \"none\") needs the broker address its firmware is built for",
                    Some(raw.agent.span()),
                )
                .with_help("[network] firmware_broker = \"192.168.1.10:1883\" (the fault proxy listens there)"),
            );
            return (None, proxy_listen);
        }
        (None, _) => return (None, proxy_listen),
        (Some(s), AgentKind::None) => s,
        (Some(s), _) => {
            errors.push(
                Diagnostic::error(
                    "`firmware_broker` is for a board with its own firmware (agent = \"none\"); an agent is told the broker when it is configured",
                    Some(s.span()),
                )
                .with_help("use broker_host and proxy_listen, or set agent = \"none\""),
            );
            return (None, proxy_listen);
        }
    };
    let Ok(addr) = fb.get_ref().parse::<SocketAddr>() else {
        errors.push(
            Diagnostic::error(
                format!("`{}` is not an IP address and port", fb.get_ref()),
                Some(fb.span()),
            )
            .with_help("the address the firmware connects to, e.g. firmware_broker = \"192.168.1.10:1883\""),
        );
        return (None, proxy_listen);
    };
    if addr.port() == 0 && !matches!(transport, Some(Transport::Virtual { .. }) | None) {
        errors.push(
            Diagnostic::error(
                "port 0 cannot be built into a firmware",
                Some(fb.span()),
            )
            .with_help("give the port the firmware connects to (only the virtual board takes any free port)"),
        );
    }
    let listen = match &raw.network.proxy_listen {
        None => addr,
        Some(p) => {
            if proxy_listen.port() != addr.port() {
                errors.push(
                    Diagnostic::error(
                        format!(
                            "the proxy must listen on the firmware's port {}, not {}",
                            addr.port(),
                            proxy_listen.port()
                        ),
                        Some(p.span()),
                    )
                    .with_help("e.g. proxy_listen = \"0.0.0.0:PORT\" with firmware_broker's port, or leave proxy_listen out"),
                );
            }
            proxy_listen
        }
    };
    (Some(addr), listen)
}

/// `kind = "rfc2217"` (`url = "rfc2217://HOST:PORT"`) or `kind = "tcp"`
/// (`url = "tcp://HOST:PORT"`, ser2net's raw mode).
fn remote_transport(
    kind: &str,
    t: &RawTransport,
    whole: &Spanned<RawTransport>,
    baud: u32,
    errors: &mut Vec<Diagnostic>,
) -> Option<Transport> {
    use super::remote_serial::Mode;
    let mode = if kind == "tcp" {
        Mode::Raw
    } else {
        Mode::Rfc2217
    };
    let example = format!("url = \"{kind}://HOST:PORT\", e.g. \"{kind}://bench-3.lab:4001\"");
    let Some(url) = &t.url else {
        errors.push(
            Diagnostic::error(
                format!("transport kind `{kind}` needs a `url`"),
                Some(whole.span()),
            )
            .with_help(example),
        );
        return None;
    };
    match parse_remote_url(kind, url.get_ref()) {
        Ok(addr) => Some(Transport::Remote { addr, mode, baud }),
        Err(m) => {
            errors.push(Diagnostic::error(m, Some(url.span())).with_help(example));
            None
        }
    }
}

/// `SCHEME://HOST:PORT` to `HOST:PORT`.
pub(crate) fn parse_remote_url(scheme: &str, url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix(scheme)
        .and_then(|r| r.strip_prefix("://"))
        .ok_or_else(|| format!("`{url}` does not start with `{scheme}://`"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("`{url}` has no port (`{scheme}://HOST:PORT`)"))?;
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-._[]:".contains(&c));
    if !host_ok {
        return Err(format!("`{host}` in `{url}` is not a host name or address"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(format!("{host}:{p}")),
        _ => Err(format!("`{port}` in `{url}` is not a TCP port (1-65535)")),
    }
}

fn parse_usb(s: &str) -> Result<(u16, u16), String> {
    let (v, p) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}` is not VID:PID"))?;
    let h = |x: &str| {
        u16::from_str_radix(x, 16).map_err(|_| format!("`{x}` in `{s}` is not a 16-bit hex number"))
    };
    Ok((h(v)?, h(p)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> String {
        let d = parse(src, Path::new(".")).unwrap_err();
        let e = ProfileError {
            path: "b.toml".into(),
            source: src.into(),
            diagnostics: d,
        };
        e.to_string()
    }

    #[test]
    fn a_serial_profile_by_usb_id() {
        let p = parse(
            r#"name = "c3"
chip = "esp32c3"
agent = "rust"
[transport]
kind = "serial"
usb = "303a:1001"
serial_number = "F4:12"
baud = 921600
[reset]
method = "dtr_rts"
sequence = ["dtr=0", "rts=1", "wait=100ms", "rts=0"]
timeout = "8s"
[network]
broker_host = "192.168.1.10"
proxy_listen = "0.0.0.0:1884"
[wifi]
ssid_env = "HIL_WIFI_SSID"
password_env = "HIL_WIFI_PASSWORD"
"#,
            Path::new("."),
        )
        .unwrap();
        assert_eq!(
            p.transport,
            Transport::Serial {
                select: PortSelect::Usb {
                    vid: 0x303a,
                    pid: 0x1001,
                    serial_number: Some("F4:12".into())
                },
                baud: 921_600
            }
        );
        assert_eq!(
            p.reset,
            Reset::DtrRts(vec![
                LineStep::Dtr(false),
                LineStep::Rts(true),
                LineStep::Wait(Dur::from_millis(100)),
                LineStep::Rts(false)
            ])
        );
        assert_eq!(p.reopen_timeout, Dur::from_secs(8));
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = err("name = \"x\"\nagent = \"rust\"\n[transport]\nkind = \"seriall\"\n");
        assert!(e.contains("b.toml:4:8"), "{e}");
        assert!(e.contains("unknown transport kind `seriall`"), "{e}");
        assert!(e.contains("serial, probe, virtual"), "{e}");
    }

    #[test]
    fn a_bad_probe_selector_is_an_error_at_its_line() {
        let e = err("name = \"x\"\nagent = \"rust\"\n[transport]\nkind = \"probe\"\nprobe = \"303a-1001\"\n");
        assert!(e.contains("b.toml:5:9"), "{e}");
        assert!(e.contains("bad probe selector `303a-1001`"), "{e}");
        let e = err(
            "name = \"x\"\nagent = \"rust\"\n[transport]\nkind = \"probe\"\nprobe = \"303a:zz\"\n",
        );
        assert!(e.contains("b.toml:5:9"), "{e}");
    }

    #[test]
    fn a_wifi_password_value_is_refused() {
        let e = err("name = \"x\"\nagent = \"rust\"\n[transport]\nkind = \"virtual\"\n[wifi]\npassword = \"hunter2\"\n");
        assert!(e.contains("b.toml:6:1"), "{e}");
        assert!(e.contains("environment-variable name only"), "{e}");
        let e = err("name = \"x\"\nagent = \"rust\"\n[transport]\nkind = \"virtual\"\n[wifi]\npassword_env = \"my pass\"\n");
        assert!(
            e.contains("b.toml:6:16") && e.contains("not an environment variable name"),
            "{e}"
        );
    }

    #[test]
    fn serial_needs_a_selector_and_dtr_rts_needs_serial() {
        let e = err("name = \"x\"\nagent = \"rust\"\n[transport]\nkind = \"serial\"\n");
        assert!(e.contains("exactly one of `port` and `usb`"), "{e}");
        let e = err("name = \"x\"\nagent = \"rust\"\n[transport]\nkind = \"virtual\"\n[reset]\nmethod = \"dtr_rts\"\nsequence = [\"dtr=2\"]\n");
        assert!(e.contains("needs transport kind `serial`"), "{e}");
        assert!(
            e.contains("b.toml:7:13") && e.contains("`2` is not 0 or 1"),
            "{e}"
        );
        let e =
            err("name = \"x\"\nagent = \"rust\"\n[transport]\nkind = \"serial\"\nusb = \"zz:1\"\n");
        assert!(
            e.contains("b.toml:5:7") && e.contains("not a 16-bit hex"),
            "{e}"
        );
    }

    const OWN: &str = "name = \"fw\"\nagent = \"none\"\n";

    #[test]
    fn a_board_with_its_own_firmware() {
        let p = parse(
            &format!("{OWN}seq = {{ topic = \"peers/+/seq\", decimal = true }}\n[transport]\nkind = \"serial\"\nport = \"/dev/ttyUSB0\"\n[reset]\nmethod = \"console\"\nline = \"reboot\"\n[network]\nfirmware_broker = \"192.168.1.10:1883\"\nproxy_listen = \"0.0.0.0:1883\"\n"),
            Path::new("."),
        )
        .unwrap();
        assert_eq!(p.agent, AgentKind::None);
        assert_eq!(p.reset, Reset::Console("reboot".into()));
        assert_eq!(
            p.firmware_broker,
            Some("192.168.1.10:1883".parse().unwrap())
        );
        assert_eq!(p.proxy_listen, "0.0.0.0:1883".parse().unwrap());
        assert!(p.seq.is_some());
        // No console, no reset; the proxy listens where the firmware goes.
        let p = parse(
            &format!("{OWN}[transport]\nkind = \"none\"\n[network]\nfirmware_broker = \"10.0.0.2:1883\"\n"),
            Path::new("."),
        )
        .unwrap();
        assert_eq!((p.transport, p.reset), (Transport::None, Reset::None));
        assert_eq!(p.proxy_listen, "10.0.0.2:1883".parse().unwrap());
        assert_eq!(p.seq, None);
    }

    #[test]
    fn inconsistent_own_firmware_profiles_are_errors_at_their_place() {
        let net = "[network]\nfirmware_broker = \"10.0.0.2:1883\"\n";
        // An agent reset without an agent.
        let e = err(&format!(
            "{OWN}[transport]\nkind = \"virtual\"\n[reset]\nmethod = \"agent\"\n{net}"
        ));
        assert!(
            e.contains("b.toml:6:10") && e.contains("reset method `agent` needs an agent"),
            "{e}"
        );
        // No firmware broker.
        let e = err(&format!("{OWN}[transport]\nkind = \"none\"\n"));
        assert!(
            e.contains("b.toml:2:9")
                && e.contains("needs the broker address its firmware is built for"),
            "{e}"
        );
        // A firmware broker, or a seq, with an agent.
        let e = err(&format!("name = \"x\"\nagent = \"rust\"\nseq = {{ topic = \"t\", decimal = true }}\n[transport]\nkind = \"virtual\"\n{net}"));
        assert!(
            e.contains("b.toml:3:7") && e.contains("`seq` is for a board with its own firmware"),
            "{e}"
        );
        assert!(
            e.contains("b.toml:7:19") && e.contains("`firmware_broker` is for a board"),
            "{e}"
        );
        // No link for an agent; a console reset without a console.
        let e = err("name = \"x\"\nagent = \"rust\"\n[transport]\nkind = \"none\"\n");
        assert!(
            e.contains("b.toml:4:8") && e.contains("no way to talk to an agent"),
            "{e}"
        );
        let e = err(&format!("{OWN}[transport]\nkind = \"none\"\n[reset]\nmethod = \"console\"\nline = \"reboot\"\n{net}"));
        assert!(
            e.contains("b.toml:6:10") && e.contains("needs a console"),
            "{e}"
        );
        let e = err(&format!(
            "{OWN}[transport]\nkind = \"virtual\"\n[reset]\nmethod = \"console\"\n{net}"
        ));
        assert!(e.contains("needs the `line` that resets the board"), "{e}");
        // Port 0 on a real board; a proxy on another port; a bad address.
        let e = err(&format!(
            "{OWN}[transport]\nkind = \"none\"\n[network]\nfirmware_broker = \"10.0.0.2:0\"\n"
        ));
        assert!(
            e.contains("b.toml:6:19") && e.contains("port 0 cannot be built into a firmware"),
            "{e}"
        );
        let e = err(&format!(
            "{OWN}[transport]\nkind = \"none\"\n{net}proxy_listen = \"0.0.0.0:1884\"\n"
        ));
        assert!(
            e.contains("b.toml:7:16") && e.contains("firmware's port 1883, not 1884"),
            "{e}"
        );
        let e = err(&format!(
            "{OWN}[transport]\nkind = \"none\"\n[network]\nfirmware_broker = \"broker.lan\"\n"
        ));
        assert!(
            e.contains("b.toml:6:19") && e.contains("not an IP address and port"),
            "{e}"
        );
        // A bad seq rule is reported as in DUT profiles.
        let e = err(&format!("{OWN}seq = {{ topic = \"a/#/b\", decimal = true }}\n[transport]\nkind = \"none\"\n{net}"));
        assert!(e.contains("b.toml:3:17"), "{e}");
    }

    #[test]
    fn remote_serial_profiles_and_their_errors() {
        let p = parse(
            "name = \"r\"\nagent = \"rust\"\n[transport]\nkind = \"rfc2217\"\nurl = \"rfc2217://bench-3.lab:4001\"\nbaud = 9600\n[reset]\nmethod = \"dtr_rts\"\nsequence = [\"dtr=0\"]\n",
            Path::new("."),
        )
        .unwrap();
        assert_eq!(
            p.transport,
            Transport::Remote {
                addr: "bench-3.lab:4001".into(),
                mode: super::super::remote_serial::Mode::Rfc2217,
                baud: 9600
            }
        );
        // Raw mode refuses a DTR/RTS reset, at the method's line.
        let e = err("name = \"r\"\nagent = \"rust\"\n[transport]\nkind = \"tcp\"\nurl = \"tcp://127.0.0.1:4001\"\n[reset]\nmethod = \"dtr_rts\"\nsequence = [\"dtr=0\"]\n");
        assert!(e.contains("b.toml:7:10"), "{e}");
        assert!(e.contains("cannot work over transport kind `tcp`"), "{e}");
        let e = err("name = \"r\"\nagent = \"rust\"\n[transport]\nkind = \"rfc2217\"\nurl = \"tcp://h:1\"\n");
        assert!(
            e.contains("b.toml:5:7") && e.contains("does not start with `rfc2217://`"),
            "{e}"
        );
        let e = err("name = \"r\"\nagent = \"rust\"\n[transport]\nkind = \"tcp\"\nurl = \"tcp://h:99999\"\n");
        assert!(e.contains("not a TCP port"), "{e}");
        let e = err("name = \"r\"\nagent = \"rust\"\n[transport]\nkind = \"tcp\"\n");
        assert!(e.contains("needs a `url`"), "{e}");
    }

    proptest::proptest! {
        /// Any URL text gives an address or an error, never a panic.
        #[test]
        fn any_remote_url_parses_or_is_refused(url in ".{0,40}") {
            if let Ok(a) = parse_remote_url("rfc2217", &url) {
                proptest::prop_assert!(a.contains(':'));
            }
        }
    }

    #[test]
    fn the_shipped_profiles_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/boards");
        let mut n = 0;
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "toml") {
                load(f.to_str().unwrap()).unwrap_or_else(|e| panic!("{e}"));
                n += 1;
            }
        }
        assert!(n >= 3, "{n} profiles");
    }

    use proptest::prelude::*;

    proptest! {
        /// Any text gives a profile or diagnostics, never a panic; every
        /// diagnostic with a place points inside the text.
        #[test]
        fn the_parser_never_panics(src in "[a-z_ =\"{}\\[\\]/+#.:0-9,\n]{0,160}") {
            for src in [src.clone(), format!("{OWN}{src}")] {
                if let Err(ds) = parse(&src, Path::new(".")) {
                    for d in ds {
                        if let Some(s) = d.span {
                            prop_assert!(s.end <= src.len());
                        }
                    }
                }
            }
        }

        /// A written own-firmware profile reads back as what was written,
        /// and the proxy listens on the firmware's port.
        #[test]
        fn own_firmware_profiles_read_back(
            ip in proptest::array::uniform4(0u8..=255),
            port in 1u16..,
            kind in 0usize..3,
            reset in 0usize..3,
            seq in proptest::option::of("[a-z0-9]{1,5}"),
        ) {
            let addr = SocketAddr::from((ip, port));
            let (transport_src, transport) = match kind {
                0 => ("kind = \"none\"".to_string(), Transport::None),
                1 => ("kind = \"virtual\"".to_string(), Transport::Virtual { baud: 115_200 }),
                _ => ("kind = \"serial\"\nport = \"/dev/ttyUSB0\"".to_string(), Transport::Serial { select: PortSelect::Path("/dev/ttyUSB0".into()), baud: 115_200 }),
            };
            let (reset_src, want_reset) = match (reset, kind) {
                (1, 1 | 2) => ("[reset]\nmethod = \"console\"\nline = \"reboot\"\n", Reset::Console("reboot".into())),
                (2, 2) => ("[reset]\nmethod = \"dtr_rts\"\nsequence = [\"rts=1\", \"rts=0\"]\n", Reset::DtrRts(vec![LineStep::Rts(true), LineStep::Rts(false)])),
                _ => ("", Reset::None),
            };
            let seq_src = seq.as_ref().map(|t| format!("seq = {{ topic = \"{t}/+\", decimal = true }}\n")).unwrap_or_default();
            let src = format!("{OWN}{seq_src}[transport]\n{transport_src}\n{reset_src}[network]\nfirmware_broker = \"{addr}\"\n");
            let p = parse(&src, Path::new(".")).map_err(|e| TestCaseError::fail(format!("{e:?}\n{src}")))?;
            prop_assert_eq!(p.transport, transport);
            prop_assert_eq!(p.reset, want_reset);
            prop_assert_eq!(p.firmware_broker, Some(addr));
            prop_assert_eq!(p.proxy_listen, addr);
            prop_assert_eq!(p.seq.map(|s| s.topic), seq.map(|t| format!("{t}/+")));
        }
    }
}
