//! The gateway side as a process: opens a serial device (the UART wired to
//! the host, or a PTY) and connects to the broker for the host with
//! `resilient-mqtt`. Prints its settings, and why it stopped, on stderr.
//!
//! ```text
//! cargo run -p resilient-mqtt-bridge --bin bridge-gateway -- \
//!     --port /dev/ttyS1 --baud 115200 --broker 127.0.0.1:1883 [--queue 16]
//! ```
//!
//! Without `--broker`: `$HIL_BROKER_HOST:$HIL_BROKER_PORT` when both are
//! set (the harness's DUT environment), else 127.0.0.1:1883.

use std::process::ExitCode;

use resilient_mqtt::client::ClientBuilder;
use resilient_mqtt::session::Config;
use resilient_mqtt_bridge::{gateway, serial, GatewayConfig};

fn parse(args: &[String]) -> Result<(String, u32, String, u16, u16), String> {
    let (mut port, mut baud, mut broker, mut queue) = (
        String::new(),
        115_200u32,
        // The harness's DUT environment (HIL_BROKER_HOST, HIL_BROKER_PORT)
        // when it starts this as a device.
        match (
            std::env::var("HIL_BROKER_HOST"),
            std::env::var("HIL_BROKER_PORT"),
        ) {
            (Ok(h), Ok(p)) => format!("{h}:{p}"),
            _ => String::from("127.0.0.1:1883"),
        },
        16u16,
    );
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--port" => port = value()?,
            "--baud" => {
                baud = value()?
                    .parse()
                    .map_err(|_| "--baud: not a number".to_string())?
            }
            "--broker" => broker = value()?,
            "--queue" => {
                queue = value()?
                    .parse()
                    .map_err(|_| "--queue: not a number".to_string())?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if port.is_empty() {
        return Err("--port PATH is required".into());
    }
    let (host, p) = broker.rsplit_once(':').ok_or("--broker HOST:PORT")?;
    let p: u16 = p
        .parse()
        .map_err(|_| format!("--broker: bad port in {broker}"))?;
    Ok((port, baud, host.to_string(), p, queue))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (port, baud, server, broker_port, queue) = match parse(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bridge-gateway: {e}");
            return ExitCode::from(2);
        }
    };
    let uart = match serial::open(&port, baud) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("bridge-gateway: {e}");
            return ExitCode::from(3);
        }
    };
    let base = Config {
        server,
        port: broker_port,
        ..Config::default()
    };
    let nonce = std::process::id()
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
    let mut cfg = GatewayConfig::new(nonce);
    cfg.queue_capacity = queue;
    eprintln!(
        "bridge-gateway: serial {port} at {baud} baud, broker {}:{broker_port}",
        base.server
    );
    match gateway::run(uart, cfg, move |id| ClientBuilder::new(id.apply(&base))).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bridge-gateway: serial port: {e}");
            ExitCode::from(3)
        }
    }
}
