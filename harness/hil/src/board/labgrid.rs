//! Boards in a labgrid farm: `--board labgrid:PLACE`. Through
//! `labgrid-client` (the coordinator from `LG_COORDINATOR`, as labgrid
//! users already set it) the harness acquires the place, reads its
//! `NetworkSerialPort` (host, port, speed, protocol) and its power
//! resource from `labgrid-client env`, runs on it as on any remote serial
//! board (`board/remote_serial.rs`), and releases the place on every exit
//! path: when the [`Lease`] is dropped (normal end, failure, panic
//! unwinding, the first Ctrl-C), and from the Ctrl-C handler on the second
//! Ctrl-C ([`release_all_now`]).
//!
//! A place held by someone else is an error naming the holder, or, with
//! `--wait-place DURATION`, a wait for it. A place's power resource
//! (`NetworkPowerPort`, ...) becomes the profile's `[lab]` power hooks
//! (`labgrid-client -p PLACE power off|on`): `dut_reboot` and
//! `dut_power_cycle` work as on any bench with a switchable outlet. A
//! place tagged `hil_profile=NAME` takes the board profile NAME (agent,
//! reset timeouts, network) with its transport replaced by the place's
//! serial port.

use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::profile::{self, AgentKind, Profile, Reset, Transport};
use super::remote_serial::Mode;
use crate::duration::Dur;

/// The prefix of `--board labgrid:PLACE`.
pub const PREFIX: &str = "labgrid:";

/// The client program (`HIL_LABGRID_CLIENT` overrides it).
fn client() -> Command {
    Command::new(client_program())
}

fn client_program() -> String {
    std::env::var("HIL_LABGRID_CLIENT").unwrap_or_else(|_| "labgrid-client".into())
}

fn coordinator() -> String {
    std::env::var("LG_COORDINATOR").unwrap_or_else(|_| "127.0.0.1:20408 (labgrid's default)".into())
}

/// Runs `labgrid-client ARGS`: its stdout, or an error with its stderr.
pub fn run_client(args: &[&str]) -> Result<String, String> {
    let out: Output = client().args(args).output().map_err(|e| {
        format!("cannot run labgrid-client ({e}): install labgrid (pip install labgrid)")
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string();
        Err(format!(
            "`labgrid-client {}` failed (coordinator {}): {last}",
            args.join(" "),
            coordinator()
        ))
    }
}

/// One place as `labgrid-client -v places` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlaceInfo {
    pub name: String,
    /// `user/host` holding it.
    pub acquired: Option<String>,
    pub tags: Vec<(String, String)>,
}

/// Parses `labgrid-client -v places` (and `show`) output.
pub fn parse_places(text: &str) -> Vec<PlaceInfo> {
    let mut out: Vec<PlaceInfo> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Place '") {
            if let Some(name) = rest.strip_suffix("':") {
                out.push(PlaceInfo {
                    name: name.to_string(),
                    ..PlaceInfo::default()
                });
            }
            continue;
        }
        let Some(p) = out.last_mut() else { continue };
        let t = line.trim();
        if let Some(a) = t.strip_prefix("acquired: ") {
            p.acquired = (a != "None" && !a.is_empty()).then(|| a.to_string());
        } else if let Some(tags) = t.strip_prefix("tags: ") {
            p.tags = tags
                .split(',')
                .filter_map(|kv| kv.trim().split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        }
    }
    out
}

/// The places and who holds them (`hil boards --labgrid`).
pub fn places() -> Result<Vec<PlaceInfo>, String> {
    run_client(&["-v", "places"]).map(|t| parse_places(&t))
}

/// What a place offers the harness.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlaceResources {
    /// `host:port`, the protocol and speed of its `NetworkSerialPort`.
    pub serial: Option<(String, Mode, u32)>,
    /// It has a power resource (`labgrid-client power` works).
    pub power: bool,
}

/// Parses `labgrid-client -p PLACE env` (a labgrid environment YAML).
pub fn parse_env(place: &str, yaml: &str) -> Result<PlaceResources, String> {
    let doc: serde_yaml::Value = serde_yaml::from_str(yaml)
        .map_err(|e| format!("cannot read `labgrid-client env` output: {e}"))?;
    let targets = &doc["targets"];
    let target = targets
        .get(place)
        .or_else(|| targets.as_mapping().and_then(|m| m.values().next()))
        .ok_or_else(|| format!("`labgrid-client env` names no target for place `{place}`"))?;
    let mut r = PlaceResources::default();
    for res in target["resources"].as_sequence().into_iter().flatten() {
        let Some(map) = res.as_mapping() else {
            continue;
        };
        for (cls, params) in map {
            let cls = cls.as_str().unwrap_or("");
            if cls == "NetworkSerialPort" && r.serial.is_none() {
                let host = params["host"].as_str().unwrap_or("").to_string();
                let port = params["port"].as_u64().unwrap_or(0);
                if host.is_empty() || port == 0 || port > 65_535 {
                    return Err(format!(
                        "place `{place}`'s NetworkSerialPort has no host and port ({params:?})"
                    ));
                }
                let mode = match params["protocol"].as_str().unwrap_or("rfc2217") {
                    "rfc2217" => Mode::Rfc2217,
                    "raw" => Mode::Raw,
                    other => {
                        return Err(format!(
                            "place `{place}`'s NetworkSerialPort speaks `{other}`: the harness speaks rfc2217 and raw"
                        ))
                    }
                };
                let speed = params["speed"]
                    .as_u64()
                    .unwrap_or(115_200)
                    .clamp(1, u32::MAX as u64);
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host
                };
                r.serial = Some((format!("{host}:{port}"), mode, speed as u32));
            } else if cls.ends_with("PowerPort") || cls == "PDUDaemonPort" {
                r.power = true;
            }
        }
    }
    Ok(r)
}

/// Places acquired by this process, for the second Ctrl-C.
static HELD: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn release(place: &str) {
    let _ = run_client(&["-p", place, "release"]);
}

/// Releases every place this process holds, now (the Ctrl-C handler's
/// second press, which exits without unwinding).
pub fn release_all_now() {
    let held = std::mem::take(&mut *HELD.lock().unwrap_or_else(|e| e.into_inner()));
    for p in held {
        release(&p);
    }
}

/// An acquired place: released when dropped.
#[derive(Debug)]
pub struct Lease {
    pub place: String,
    pub resources: PlaceResources,
    pub info: PlaceInfo,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = held.iter().position(|p| *p == self.place) {
            held.remove(i);
            drop(held);
            release(&self.place);
        }
    }
}

fn show(place: &str) -> Result<PlaceInfo, String> {
    let text = run_client(&["-p", place, "show"])?;
    parse_places(&text)
        .into_iter()
        .next()
        .ok_or_else(|| format!("`labgrid-client -p {place} show` describes no place"))
}

/// Acquires `place`, waiting up to `wait` while someone else holds it;
/// then reads its resources.
pub fn acquire(place: &str, wait: Option<Dur>) -> Result<Lease, String> {
    let deadline = wait.map(|w| Instant::now() + w.to_std());
    let mut said = false;
    loop {
        // Registered first: a Ctrl-C during the acquire still releases.
        HELD.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(place.to_string());
        match run_client(&["-p", place, "acquire"]) {
            Ok(_) => {
                // Dropped (released) if reading the place fails.
                let mut lease = Lease {
                    place: place.to_string(),
                    resources: PlaceResources::default(),
                    info: PlaceInfo::default(),
                };
                lease.info = show(place)?;
                let env = run_client(&["-p", place, "env"])?;
                lease.resources = parse_env(place, &env)?;
                return Ok(lease);
            }
            Err(e) => {
                // Not ours: nothing to release.
                HELD.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .retain(|p| p != place);
                let holder = show(place).ok().and_then(|i| i.acquired);
                let waiting = deadline.is_some_and(|d| Instant::now() < d);
                let Some(holder) = holder else {
                    if waiting {
                        // Released between our acquire and `show`: again.
                        std::thread::sleep(Duration::from_millis(200));
                        continue;
                    }
                    return Err(format!("cannot acquire labgrid place `{place}`: {e}"));
                };
                match deadline {
                    Some(d) if Instant::now() < d => {
                        if !said {
                            eprintln!("labgrid place `{place}` is held by {holder}: waiting for it");
                            said = true;
                        }
                        std::thread::sleep(Duration::from_secs(2));
                    }
                    Some(_) => {
                        return Err(format!(
                            "labgrid place `{place}` is still held by {holder} after --wait-place {}",
                            wait.expect("a deadline has a wait")
                        ))
                    }
                    None => {
                        return Err(format!(
                            "labgrid place `{place}` is held by {holder}: ask them to release it (labgrid-client -p {place} release), or wait for it with --wait-place 10m"
                        ))
                    }
                }
            }
        }
    }
}

/// The board profile for an acquired place: its `hil_profile` tag's
/// profile (or defaults), with the place's serial port as transport and
/// its power resource as the reset.
pub fn profile_for(lease: &Lease) -> Result<Profile, String> {
    let place = &lease.place;
    let (addr, mode, baud) = lease.resources.serial.clone().ok_or_else(|| {
        format!("labgrid place `{place}` has no NetworkSerialPort: the harness reaches boards through one (add-match an exporter's NetworkSerialPort)")
    })?;
    let base = lease
        .info
        .tags
        .iter()
        .find(|(k, _)| k == "hil_profile")
        .map(|(_, v)| v.clone());
    let mut p = match base {
        Some(name) => profile::load(&name).map(|(_, p)| p).map_err(|e| {
            format!("labgrid place `{place}` names board profile `{name}` (tag hil_profile):\n{e}")
        })?,
        None => Profile {
            name: String::new(),
            chip: "labgrid".into(),
            agent: AgentKind::Rust,
            firmware: None,
            transport: Transport::Virtual { baud },
            reset: Reset::Agent,
            reopen_timeout: Dur::from_secs(10),
            hello_timeout: Dur::from_secs(10),
            broker_host: "127.0.0.1".into(),
            proxy_listen: "127.0.0.1:0".parse().expect("a literal address"),
            wifi_ssid_env: None,
            wifi_password_env: None,
            lab: Default::default(),
            firmware_broker: None,
            seq: None,
        },
    };
    p.name = place
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    p.transport = Transport::Remote { addr, mode, baud };
    if lease.resources.power {
        place_power(&mut p, place);
    }
    Ok(p)
}

/// A place's power resource as the profile's `[lab]` power hooks
/// (`labgrid-client -p PLACE power off|on`, unless the profile names its
/// own), and as its reset when it has none better than the agent's
/// `reboot`: `dut_reboot` and `dut_power_cycle` then go through the same
/// path as on any bench with a switchable outlet (the link thread stops
/// expecting the board, the hook runs and is logged in `lab.log`, the
/// port is reopened and the board's `hello` awaited).
fn place_power(p: &mut Profile, place: &str) {
    if !p.lab.has_power() {
        let client = client_program();
        let hook = |state: &str| crate::lab::LabHook {
            command: format!(
                "{} -p {} power {state}",
                crate::backend::shell_word(&client),
                crate::backend::shell_word(place)
            ),
            timeout: POWER_TIMEOUT,
        };
        p.lab.power_off = Some(hook("off"));
        p.lab.power_on = Some(hook("on"));
        if p.lab.dir.as_os_str().is_empty() {
            p.lab.dir = std::path::PathBuf::from(".");
        }
    }
    if matches!(p.reset, Reset::Agent | Reset::None) {
        p.reset = Reset::Power;
    }
}

/// How long one `labgrid-client power` call may take (a PDU over HTTP,
/// the coordinator in another building).
const POWER_TIMEOUT: Dur = Dur::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn places_and_holders_are_read() {
        let text = "Place 'bench1':\n  tags: hil_profile=virtual, room=2\n  matches:\n    exp1/bench/*\n  acquired: vm/root\n  acquired resources:\nPlace 'bench2':\n  matches:\n  acquired: None\n";
        let p = parse_places(text);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].name, "bench1");
        assert_eq!(p[0].acquired.as_deref(), Some("vm/root"));
        assert_eq!(
            p[0].tags,
            vec![
                ("hil_profile".into(), "virtual".into()),
                ("room".into(), "2".into())
            ]
        );
        assert_eq!(p[1].acquired, None);
    }

    #[test]
    fn a_places_power_port_is_its_power_hooks_and_reset() {
        let lease = |power: bool, tags: Vec<(String, String)>| Lease {
            place: "bench 1".into(),
            resources: PlaceResources {
                serial: Some(("127.0.0.1:4001".into(), Mode::Rfc2217, 115200)),
                power,
            },
            info: PlaceInfo {
                name: "bench 1".into(),
                acquired: None,
                tags,
            },
        };
        let p = profile_for(&lease(true, vec![])).unwrap();
        assert_eq!(p.reset, Reset::Power);
        assert!(p.lab.has_power());
        assert_eq!(
            p.lab.power_off.as_ref().unwrap().command,
            "labgrid-client -p 'bench 1' power off"
        );
        assert_eq!(
            p.lab.power_on.as_ref().unwrap().command,
            "labgrid-client -p 'bench 1' power on"
        );
        // Without a power resource: the agent's reboot, no power hooks
        // (`dut_power_cycle` is then unsupported).
        let p = profile_for(&lease(false, vec![])).unwrap();
        assert_eq!(p.reset, Reset::Agent);
        assert!(!p.lab.has_power());
        // A profile's own reset line (DTR/RTS) stays its reset.
        let esp = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/boards/esp32-micropython.toml"
        );
        let p = profile_for(&lease(true, vec![("hil_profile".into(), esp.into())])).unwrap();
        assert!(matches!(p.reset, Reset::DtrRts(_)), "{:?}", p.reset);
        assert!(p.lab.has_power());
    }

    #[test]
    fn a_place_env_gives_its_serial_port_and_power() {
        let env = "targets:\n  bench1:\n    resources:\n    - NetworkPowerPort:\n        host: http://127.0.0.1:4999/outlet/{index}/{value}\n        model: simplerest\n        index: 0\n    - NetworkSerialPort:\n        speed: 9600\n        host: 127.0.0.1\n        protocol: raw\n        port: 4001\n";
        let r = parse_env("bench1", env).unwrap();
        assert_eq!(r.serial, Some(("127.0.0.1:4001".into(), Mode::Raw, 9600)));
        assert!(r.power);
        let e = parse_env("b", "targets:\n  b:\n    resources:\n    - NetworkSerialPort:\n        host: h\n        port: 1\n        protocol: ssh\n").unwrap_err();
        assert!(e.contains("speaks `ssh`"), "{e}");
        assert!(parse_env("b", "targets: [").is_err());
    }

    proptest! {
        /// Whatever labgrid-client prints, reading it gives a result or
        /// an error, never a panic.
        #[test]
        fn any_client_output_is_read_without_panic(text in "(Place '|  acquired: |  tags: |targets:|\\n|[a-z=,:/ \\-\\[\\]{}']){0,30}") {
            let _ = parse_places(&text);
            let _ = parse_env("p", &text);
        }
    }
}
