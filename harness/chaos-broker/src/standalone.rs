//! The chaos broker on real TCP (`hil broker --port P [--persist]`): an MQTT
//! listener real devices can point at, and a line-based TCP control port
//! that switches faults while it runs (see [`crate::control`] for the
//! language). With `--persist` the broker state is loaded from a JSON file
//! at start and saved there on Ctrl-C.

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::broker::Broker;
use crate::config::{BrokerConfig, ConfigError};
use crate::control::{handle_line, MAX_LINE};
use crate::state::BrokerState;

/// Command-line arguments of `hil broker`.
#[derive(Debug, Clone, clap::Args)]
pub struct BrokerArgs {
    /// MQTT port to listen on (0: any free port).
    #[arg(long, default_value_t = 1883)]
    pub port: u16,
    /// Address to bind both ports to.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Control port (line commands such as `fault all drop puback 3`);
    /// default: the MQTT port + 1 (any free port when --port is 0).
    #[arg(long)]
    pub control_port: Option<u16>,
    /// Load the broker state from --state-file at start, save it on Ctrl-C.
    #[arg(long)]
    pub persist: bool,
    /// Where --persist keeps the state (JSON).
    #[arg(long, default_value = "chaos-broker-state.json")]
    pub state_file: PathBuf,
    /// Require these credentials: a file of `user:password` lines
    /// (wrong or missing credentials get CONNACK 5).
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Seed for generated client ids.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The largest packet accepted from a client, in bytes (14 up to
    /// 268435460), advertised to MQTT 5 clients in CONNACK; a larger one
    /// gets DISCONNECT 0x95 (MQTT 5) and the connection is closed. Default:
    /// the protocol's maximum, not advertised (as mosquitto).
    #[arg(long)]
    pub max_packet_size: Option<usize>,
}

/// Why the standalone broker could not start or stop cleanly.
#[derive(Debug)]
pub enum StandaloneError {
    /// A port could not be bound.
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// --port 65535 leaves no default control port.
    NoControlPort,
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The state file is not a broker state.
    ParseState {
        path: PathBuf,
        error: String,
    },
    WriteState {
        path: PathBuf,
        source: std::io::Error,
    },
    Config(ConfigError),
    /// Waiting for Ctrl-C failed.
    Signal(std::io::Error),
}

impl fmt::Display for StandaloneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StandaloneError::Bind { what, addr, source } => {
                write!(f, "cannot listen for {what} on {addr}: {source}")
            }
            StandaloneError::NoControlPort => write!(
                f,
                "--port 65535 leaves no default control port; give --control-port"
            ),
            StandaloneError::ReadFile { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            StandaloneError::ParseState { path, error } => {
                write!(
                    f,
                    "{} is not a chaos-broker state file: {error}",
                    path.display()
                )
            }
            StandaloneError::WriteState { path, source } => {
                write!(
                    f,
                    "cannot save the broker state to {}: {source}",
                    path.display()
                )
            }
            StandaloneError::Config(e) => write!(f, "{e}"),
            StandaloneError::Signal(e) => write!(f, "cannot wait for Ctrl-C: {e}"),
        }
    }
}

impl std::error::Error for StandaloneError {}

/// A bound standalone broker, not yet serving.
pub struct Standalone {
    broker: Broker,
    mqtt: TcpListener,
    control: TcpListener,
    args: BrokerArgs,
}

impl Standalone {
    /// Loads the state (with --persist), builds the broker, binds both ports.
    pub async fn bind(args: BrokerArgs) -> Result<Standalone, StandaloneError> {
        let mut config = BrokerConfig {
            seed: args.seed,
            max_packet_size: args
                .max_packet_size
                .unwrap_or(BrokerConfig::default().max_packet_size),
            ..BrokerConfig::default()
        };
        if let Some(path) = &args.password_file {
            let text =
                std::fs::read_to_string(path).map_err(|source| StandaloneError::ReadFile {
                    path: path.clone(),
                    source,
                })?;
            config.users = Some(BrokerConfig::parse_users(&text).map_err(StandaloneError::Config)?);
        }
        let state = if args.persist {
            load_state(&args.state_file)?
        } else {
            BrokerState::default()
        };
        let broker =
            Broker::from_snapshot_with_config(config, state).map_err(StandaloneError::Config)?;
        let mqtt_addr = SocketAddr::new(args.bind, args.port);
        let mqtt = TcpListener::bind(mqtt_addr)
            .await
            .map_err(|source| StandaloneError::Bind {
                what: "MQTT",
                addr: mqtt_addr,
                source,
            })?;
        let control_port = match (args.control_port, args.port) {
            (Some(p), _) => p,
            (None, 0) => 0,
            (None, p) => p.checked_add(1).ok_or(StandaloneError::NoControlPort)?,
        };
        let control_addr = SocketAddr::new(args.bind, control_port);
        let control =
            TcpListener::bind(control_addr)
                .await
                .map_err(|source| StandaloneError::Bind {
                    what: "control commands",
                    addr: control_addr,
                    source,
                })?;
        Ok(Standalone {
            broker,
            mqtt,
            control,
            args,
        })
    }

    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    pub fn mqtt_addr(&self) -> std::io::Result<SocketAddr> {
        self.mqtt.local_addr()
    }

    pub fn control_addr(&self) -> std::io::Result<SocketAddr> {
        self.control.local_addr()
    }

    /// Serves until `shutdown` completes, then saves the state (--persist).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), StandaloneError> {
        let Standalone {
            broker,
            mqtt,
            control,
            args,
        } = self;
        let b = broker.clone();
        let mqtt_task = tokio::spawn(async move {
            loop {
                match mqtt.accept().await {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        let b = b.clone();
                        tokio::spawn(async move {
                            b.serve_connection(stream).await;
                        });
                    }
                    Err(e) => eprintln!("chaos-broker: accept failed: {e}"),
                }
            }
        });
        let b = broker.clone();
        let control_task = tokio::spawn(async move {
            loop {
                if let Ok((stream, _)) = control.accept().await {
                    let b = b.clone();
                    tokio::spawn(serve_control(b, stream));
                }
            }
        });
        shutdown.await;
        mqtt_task.abort();
        control_task.abort();
        if args.persist {
            save_state(&args.state_file, &broker.snapshot())?;
        }
        Ok(())
    }
}

/// Serves `hil broker` until Ctrl-C.
pub async fn run(args: BrokerArgs) -> Result<(), StandaloneError> {
    let s = Standalone::bind(args.clone()).await?;
    let mqtt = s.mqtt_addr().map_err(StandaloneError::Signal)?;
    let control = s.control_addr().map_err(StandaloneError::Signal)?;
    eprintln!(
        "chaos broker: MQTT on {mqtt}, control on {control} (try `echo help | nc {} {}`)",
        control.ip(),
        control.port()
    );
    if args.persist {
        eprintln!("chaos broker: state kept in {}", args.state_file.display());
    }
    let (tx, rx) = tokio::sync::oneshot::channel::<std::io::Result<()>>();
    tokio::spawn(async move {
        let _ = tx.send(tokio::signal::ctrl_c().await);
    });
    let mut signal_error = None;
    s.run_until(async {
        if let Ok(Err(e)) = rx.await {
            signal_error = Some(e);
        }
    })
    .await?;
    match signal_error {
        Some(e) => Err(StandaloneError::Signal(e)),
        None => Ok(()),
    }
}

/// One control connection: a line in, reply lines out.
async fn serve_control(broker: Broker, stream: TcpStream) {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let mut line = Vec::new();
    loop {
        line.clear();
        let mut limited = (&mut rd).take(MAX_LINE as u64 + 1);
        match limited.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let reply = if line.len() > MAX_LINE && !line.ends_with(b"\n") {
            // Skip the rest of an over-long line.
            let mut sink = Vec::new();
            if rd.read_until(b'\n', &mut sink).await.is_err() {
                return;
            }
            crate::control::Reply {
                lines: vec![format!("error: line longer than {MAX_LINE} bytes")],
                close: false,
            }
        } else {
            match std::str::from_utf8(&line) {
                Ok(text) => handle_line(&broker, text.trim_end_matches(['\r', '\n'])),
                Err(_) => crate::control::Reply {
                    lines: vec!["error: line is not UTF-8".into()],
                    close: false,
                },
            }
        };
        let mut out = reply.lines.join("\n");
        out.push('\n');
        if wr.write_all(out.as_bytes()).await.is_err() || reply.close {
            return;
        }
    }
}

use tokio::io::AsyncReadExt as _;

fn load_state(path: &PathBuf) -> Result<BrokerState, StandaloneError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| StandaloneError::ParseState {
            path: path.clone(),
            error: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BrokerState::default()),
        Err(source) => Err(StandaloneError::ReadFile {
            path: path.clone(),
            source,
        }),
    }
}

fn save_state(path: &PathBuf, state: &BrokerState) -> Result<(), StandaloneError> {
    let json = serde_json::to_string_pretty(state).map_err(|e| StandaloneError::WriteState {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    // Write beside, then rename: a crash mid-write keeps the old file.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|source| StandaloneError::WriteState {
            path: path.clone(),
            source,
        })
}
