//! Choosing a backend, in one place: the command line's backend options
//! ([`BackendArgs`]: `--backend`, `--broker`, `--dut`, `--board`, `--no-upload`)
//! are parsed once into a [`BackendSpec`], and [`create`] makes the backend
//! it names. Every command that runs scenarios (`run`, `fuzz`,
//! `reproduce`, `shrink`; `qualify` is `--board` only) takes a spec, so
//! each runs on every backend.
//!
//! This is the one module that depends on every backend (`sim`, `live`,
//! `board`); `crate::backend` (the trait) depends on none of them.

use std::fmt;

use clap::Args;

use crate::backend::{Backend, BackendError, BackendKind};
use crate::blackbox::DutArg;
use crate::realtime::BrokerKind;

/// Which backend runs the scenarios, with what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendSpec {
    /// The deterministic simulator.
    Sim,
    /// Real time against `broker`, with `dut` under test (our driver
    /// in-process, or a black-box process: `crate::blackbox`).
    Live { broker: BrokerKind, dut: DutArg },
    /// A board: `profile` as the command line named it (a file, or a name
    /// in fixtures/boards/); `upload`: MicroPython agents are checked and
    /// written before the run (else `--no-upload`); `wait_place`: with
    /// `labgrid:PLACE`, how long to wait while someone else holds it.
    Board {
        profile: String,
        upload: bool,
        wait_place: Option<crate::duration::Dur>,
    },
}

impl BackendSpec {
    pub fn kind(&self) -> BackendKind {
        match self {
            BackendSpec::Sim => BackendKind::Sim,
            BackendSpec::Live { .. } => BackendKind::Live,
            BackendSpec::Board { .. } => BackendKind::Board,
        }
    }

    /// The default spec of `kind` where it has one (the live backend's
    /// default broker is a mosquitto process; a board needs a profile).
    pub fn default_for(kind: BackendKind) -> Result<BackendSpec, String> {
        BackendArgs {
            backend: kind,
            ..BackendArgs::default()
        }
        .spec()
    }

    /// The options that choose this backend again (`--backend live
    /// --broker chaos`); empty for the simulator.
    pub fn to_args(&self) -> String {
        match self {
            BackendSpec::Sim => String::new(),
            BackendSpec::Live { broker, dut } => {
                let mut a = match broker {
                    BrokerKind::Mosquitto => " --backend live".to_string(),
                    b => format!(" --backend live{}", b.args()),
                };
                if *dut != DutArg::Driver {
                    a.push_str(&format!(
                        " --dut {}",
                        crate::backend::shell_word(&dut.to_arg())
                    ));
                }
                a
            }
            BackendSpec::Board {
                profile, upload, ..
            } => format!(
                " --backend board --board {}{}",
                crate::backend::shell_word(profile),
                if *upload { "" } else { " --no-upload" }
            ),
        }
    }
}

impl fmt::Display for BackendSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendSpec::Sim => write!(f, "sim"),
            BackendSpec::Live {
                broker,
                dut: DutArg::Driver,
            } => write!(f, "live/{}", broker.name()),
            BackendSpec::Live { broker, dut } => {
                write!(f, "live/{}/dut={}", broker.name(), dut.label())
            }
            BackendSpec::Board { profile, .. } => write!(f, "board/{profile}"),
        }
    }
}

/// The backend options every command that runs scenarios shares.
#[derive(Debug, Clone, Args)]
pub struct BackendArgs {
    /// Where the scenario runs.
    #[arg(long, value_enum, default_value = "sim")]
    pub backend: BackendKind,
    /// With `--backend live`: the broker it starts, `mosquitto` (default),
    /// `chaos`, `container` or `container:IMAGE`; or one it did not build:
    /// `tcp://HOST:PORT`, `tls://HOST:PORT`, `exec:'CMD {port}'`, or a
    /// broker profile (a file, or a name in fixtures/brokers/).
    #[arg(long, value_parser = crate::realtime::parse_broker)]
    pub broker: Option<BrokerKind>,
    /// With `--broker tcp://` or `tls://`: a command for a broker fault the
    /// harness cannot do to a broker it did not start, `KIND='COMMAND'`
    /// with KIND `start` (once, before the run), `crash`, `restart` (gets
    /// HIL_BROKER_PERSIST=1 or 0), `hang`, `resume`. Repeatable.
    #[arg(long = "broker-cmd", value_parser = crate::realtime::parse_broker_cmd)]
    pub broker_cmd: Vec<(crate::realtime::CmdKind, String)>,
    /// With a broker the harness does not configure: the observer's user
    /// name (else it connects anonymously).
    #[arg(long)]
    pub broker_user: Option<String>,
    /// The environment variable holding `--broker-user`'s password (the
    /// password is never printed or written).
    #[arg(long)]
    pub broker_password_env: Option<String>,
    /// With `--broker tls://`: the CA certificate (PEM) the broker's
    /// certificate is checked against (else the system's roots).
    #[arg(long)]
    pub broker_ca: Option<std::path::PathBuf>,
    /// The device under test: `driver` (default: our driver in-process),
    /// or with `--backend live` a black-box process seen from the wire,
    /// `exec:'CMD ARGS'` or a DUT profile (a file, or a name in
    /// fixtures/duts/).
    #[arg(long, value_parser = crate::blackbox::parse_dut)]
    pub dut: Option<DutArg>,
    /// With `--backend board`: the board profile (a file, or a name in
    /// fixtures/boards/).
    #[arg(long)]
    pub board: Option<String>,
    /// With `--backend board` and a MicroPython profile: the agent script
    /// is on the board already; start it without checking or writing it.
    #[arg(long)]
    pub no_upload: bool,
    /// With `--board labgrid:PLACE`: wait this long (e.g. 10m) while
    /// someone else holds the place, instead of failing at once.
    #[arg(long)]
    pub wait_place: Option<crate::duration::Dur>,
}

impl Default for BackendArgs {
    fn default() -> Self {
        BackendArgs {
            backend: BackendKind::Sim,
            broker: None,
            broker_cmd: Vec::new(),
            broker_user: None,
            broker_password_env: None,
            broker_ca: None,
            dut: None,
            board: None,
            no_upload: false,
            wait_place: None,
        }
    }
}

impl BackendArgs {
    /// The options as given, for a command line to print (`--backend`
    /// unless the simulator; `--broker`, `--board`, `--no-upload` when
    /// given).
    pub fn to_args(&self) -> String {
        let mut a = String::new();
        if self.backend != BackendKind::Sim {
            a.push_str(&format!(" --backend {}", self.backend.as_str()));
        }
        if let Some(b) = &self.broker {
            a.push_str(&format!(
                " --broker {}",
                crate::backend::shell_word(&b.to_arg())
            ));
        }
        if let Ok(o) = self.external_opts() {
            a.push_str(&o.to_args());
        }
        if let Some(d) = &self.dut {
            a.push_str(&format!(
                " --dut {}",
                crate::backend::shell_word(&d.to_arg())
            ));
        }
        if let Some(p) = &self.board {
            a.push_str(&format!(" --board {}", crate::backend::shell_word(p)));
        }
        if self.no_upload {
            a.push_str(" --no-upload");
        }
        a
    }

    /// `--broker-cmd`, `--broker-user`, `--broker-password-env`,
    /// `--broker-ca` together (a kind given twice is an error).
    fn external_opts(&self) -> Result<crate::realtime::ExternalOpts, String> {
        let mut o = crate::realtime::ExternalOpts {
            user: self.broker_user.clone(),
            password_env: self.broker_password_env.clone(),
            ca: self.broker_ca.clone(),
            ..Default::default()
        };
        for (k, c) in &self.broker_cmd {
            if o.cmds.insert(*k, c.clone()).is_some() {
                return Err(format!("--broker-cmd {}= is given twice", k.as_str()));
            }
        }
        Ok(o)
    }

    /// The spec these options name, or why they do not fit together.
    pub fn spec(&self) -> Result<BackendSpec, String> {
        let kind = self.backend;
        let opts = self.external_opts()?;
        if !opts.is_empty() && self.broker.is_none() {
            return Err(
                "--broker-cmd, --broker-user, --broker-password-env and --broker-ca need --broker tcp://HOST:PORT, tls://HOST:PORT, exec:'COMMAND {port}' or a broker profile"
                    .into(),
            );
        }
        if let (Some(b), false) = (&self.broker, kind == BackendKind::Live) {
            return Err(format!(
                "--broker {} needs --backend live (not {})",
                b.name(),
                kind.as_str()
            ));
        }
        match &self.dut {
            Some(d) if *d != DutArg::Driver && kind != BackendKind::Live => {
                return Err(format!(
                "--dut {d} needs --backend live (not {}); the simulator and boards run our driver",
                kind.as_str()
            ))
            }
            _ => {}
        }
        if kind != BackendKind::Board {
            if let Some(p) = &self.board {
                return Err(format!(
                    "--board {p} needs --backend board (not {})",
                    kind.as_str()
                ));
            }
            if self.no_upload {
                return Err(format!(
                    "--no-upload needs --backend board (not {})",
                    kind.as_str()
                ));
            }
        }
        if self.wait_place.is_some()
            && !self
                .board
                .as_deref()
                .is_some_and(|b| b.starts_with(crate::board::labgrid::PREFIX))
        {
            return Err("--wait-place needs --backend board --board labgrid:PLACE".into());
        }
        Ok(match kind {
            BackendKind::Sim => BackendSpec::Sim,
            BackendKind::Live => BackendSpec::Live {
                broker: self
                    .broker
                    .clone()
                    .unwrap_or(BrokerKind::Mosquitto)
                    .with_opts(opts)?,
                dut: self.dut.clone().unwrap_or_default(),
            },
            BackendKind::Board => BackendSpec::Board {
                profile: self.board.clone().ok_or_else(|| {
                    "--backend board needs --board PROFILE (a file, or a name in fixtures/boards/)"
                        .to_string()
                })?,
                upload: !self.no_upload,
                wait_place: self.wait_place,
            },
        })
    }
}

/// Makes the backend a spec names; `hil` uses [`create`], tests pass their
/// own.
pub type BackendFactory<'a> = &'a dyn Fn(&BackendSpec) -> Result<Box<dyn Backend>, BackendError>;

/// Makes one backend per worker thread, for backends that can run on many
/// at once; `hil` uses [`parallel`].
pub type ParallelFactory<'a> =
    &'a (dyn Fn(&BackendSpec) -> Result<Box<dyn Backend + Send>, BackendError> + Sync);

/// The backend `spec` names, in this build.
pub fn create(spec: &BackendSpec) -> Result<Box<dyn Backend>, BackendError> {
    match spec {
        BackendSpec::Sim => Ok(Box::new(crate::sim::SimBackend::new())),
        BackendSpec::Live { broker, dut } => Ok(Box::new(
            crate::live::LiveBackend::new(broker.clone())
                .with_dut(dut.clone())
                .map_err(BackendError::Infrastructure)?,
        )),
        BackendSpec::Board {
            profile,
            upload,
            wait_place,
        } => Ok(Box::new(crate::board::backend_waiting(
            profile,
            *upload,
            *wait_place,
        )?)),
    }
}

/// The built-in backends, one per worker: only the simulator runs many
/// scenarios at once (real-time runs share a broker port, a board is one).
pub fn parallel(spec: &BackendSpec) -> Result<Box<dyn Backend + Send>, BackendError> {
    match spec {
        BackendSpec::Sim => Ok(Box::new(crate::sim::SimBackend::new())),
        other => Err(BackendError::Infrastructure(format!(
            "the {} backend runs one scenario at a time",
            other.kind().as_str()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(backend: BackendKind) -> BackendArgs {
        BackendArgs {
            backend,
            ..BackendArgs::default()
        }
    }

    #[test]
    fn options_that_do_not_fit_the_backend_are_refused() {
        let mut a = args(BackendKind::Sim);
        a.broker = Some(BrokerKind::Chaos);
        assert_eq!(
            a.spec().unwrap_err(),
            "--broker chaos needs --backend live (not sim)"
        );
        let mut a = args(BackendKind::Live);
        a.board = Some("virtual".into());
        assert!(a
            .spec()
            .unwrap_err()
            .contains("--board virtual needs --backend board"));
        assert!(args(BackendKind::Board)
            .spec()
            .unwrap_err()
            .contains("needs --board PROFILE"));
        let mut a = args(BackendKind::Sim);
        a.no_upload = true;
        assert!(a.spec().unwrap_err().contains("--no-upload needs"));
        let mut a = args(BackendKind::Board);
        a.board = Some("virtual".into());
        a.wait_place = Some(crate::duration::Dur::from_secs(60));
        assert!(a
            .spec()
            .unwrap_err()
            .contains("--wait-place needs --backend board --board labgrid:PLACE"));
        a.board = Some("labgrid:bench1".into());
        assert_eq!(
            a.spec(),
            Ok(BackendSpec::Board {
                profile: "labgrid:bench1".into(),
                upload: true,
                wait_place: Some(crate::duration::Dur::from_secs(60)),
            })
        );
        let mut a = args(BackendKind::Sim);
        a.dut = Some(DutArg::Profile("paho".into()));
        assert!(a
            .spec()
            .unwrap_err()
            .starts_with("--dut paho needs --backend live (not sim)"));
        a.dut = Some(DutArg::Driver);
        assert_eq!(a.spec(), Ok(BackendSpec::Sim));
    }

    #[test]
    fn a_broker_we_do_not_start_is_named_again_with_its_options() {
        let mut a = args(BackendKind::Live);
        a.broker = Some("tcp://127.0.0.1:1883".parse().unwrap());
        a.broker_cmd = vec![
            (
                crate::realtime::CmdKind::Restart,
                "sh ctl.sh restart".into(),
            ),
            (crate::realtime::CmdKind::Crash, "kill -9 $(cat pid)".into()),
        ];
        a.broker_user = Some("qa".into());
        a.broker_password_env = Some("PW".into());
        let spec = a.spec().unwrap();
        let expected = " --backend live --broker tcp://127.0.0.1:1883 --broker-cmd 'crash=kill -9 $(cat pid)' --broker-cmd 'restart=sh ctl.sh restart' --broker-user qa --broker-password-env PW";
        assert_eq!(spec.to_args(), expected);
        assert_eq!(a.to_args(), expected);
        assert_eq!(spec.to_string(), "live/tcp://127.0.0.1:1883");
        let exec = BackendSpec::Live {
            broker: "exec:amqtt -c {dir}/a.yaml {port}".parse().unwrap(),
            dut: DutArg::Driver,
        };
        assert_eq!(
            exec.to_args(),
            " --backend live --broker 'exec:amqtt -c {dir}/a.yaml {port}'"
        );
        assert_eq!(exec.to_string(), "live/exec");
    }

    #[test]
    fn a_spec_names_itself_again() {
        assert_eq!(args(BackendKind::Sim).spec(), Ok(BackendSpec::Sim));
        assert_eq!(
            BackendSpec::default_for(BackendKind::Live),
            Ok(BackendSpec::Live {
                broker: BrokerKind::Mosquitto,
                dut: DutArg::Driver,
            })
        );
        assert_eq!(BackendSpec::Sim.to_args(), "");
        let live = BackendSpec::Live {
            broker: BrokerKind::Chaos,
            dut: DutArg::Driver,
        };
        assert_eq!(live.to_args(), " --backend live --broker chaos");
        assert_eq!(live.to_string(), "live/chaos");
        let exec = BackendSpec::Live {
            broker: BrokerKind::Mosquitto,
            dut: DutArg::Exec("python3 app.py".into()),
        };
        assert_eq!(
            exec.to_args(),
            " --backend live --dut 'exec:python3 app.py'"
        );
        assert_eq!(exec.to_string(), "live/mosquitto/dut=exec");
        let board = BackendSpec::Board {
            profile: "my board.toml".into(),
            upload: false,
            wait_place: None,
        };
        assert_eq!(
            board.to_args(),
            " --backend board --board 'my board.toml' --no-upload"
        );
    }
}
