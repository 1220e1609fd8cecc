//! The host side as a process: opens a serial device (a UART adapter or a
//! PTY), and publishes QoS 1 sequence numbers once a second to
//! `peers/<id>/seq` through the gateway, like the harness's other device
//! applications. Prints one line per event on stdout:
//! `done <n>`, `failed <n> <error>`, `gateway_up`, `gateway_down`, `up`,
//! `down`, `queue <queued>/<capacity>`, `message <topic> <payload>`.
//!
//! ```text
//! cargo run -p resilient-mqtt-bridge --bin bridge-host -- \
//!     --port /dev/ttyUSB0 --baud 115200 --id sensor-1 [--count N] [--interval-ms 1000] [--nonce N]
//! ```

use std::process::ExitCode;
use std::time::Duration;

use resilient_mqtt_bridge::tokio::{run_host, Notification};
use resilient_mqtt_bridge::{serial, HostConfig, QoS};

struct Args {
    port: String,
    baud: u32,
    id: String,
    count: Option<u64>,
    interval: Duration,
    nonce: u32,
    subscribe: Option<String>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        port: String::new(),
        baud: 115_200,
        // The harness's DUT environment, when it starts this as a device.
        id: std::env::var("HIL_CLIENT_ID").unwrap_or_else(|_| "bridge-host".into()),
        count: None,
        interval: Duration::from_secs(1),
        nonce: std::process::id()
            ^ (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())),
        subscribe: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let num = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--port" => a.port = value()?,
            "--baud" => a.baud = num(value()?)? as u32,
            "--id" => a.id = value()?,
            "--count" => a.count = Some(num(value()?)?),
            "--interval-ms" => a.interval = Duration::from_millis(num(value()?)?),
            "--nonce" => a.nonce = num(value()?)? as u32,
            "--subscribe" => a.subscribe = Some(value()?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.port.is_empty() {
        return Err("--port PATH is required".into());
    }
    Ok(a)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a = match parse(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bridge-host: {e}");
            return ExitCode::from(2);
        }
    };
    let uart = match serial::open(&a.port, a.baud) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("bridge-host: {e}");
            return ExitCode::from(3);
        }
    };
    let cfg = match HostConfig::new(&a.id, a.nonce) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bridge-host: client id: {e}");
            return ExitCode::from(2);
        }
    };
    let (host, task) = run_host(uart, cfg);
    let task = tokio::spawn(task);
    let mut notes = host.notifications();
    tokio::spawn(async move {
        while let Ok(n) = notes.recv().await {
            match n {
                Notification::GatewayUp => println!("gateway_up"),
                Notification::GatewayDown => println!("gateway_down"),
                Notification::Up { session_present } => {
                    println!("up session_present={session_present}")
                }
                Notification::Down => println!("down"),
                Notification::QueueState { queued, capacity } => {
                    println!("queue {queued}/{capacity}")
                }
                Notification::VersionMismatch { gateway } => println!("version_mismatch {gateway}"),
            }
        }
    });
    if let Some(filter) = &a.subscribe {
        let h = host.clone();
        let filter = filter.clone();
        tokio::spawn(async move {
            match h.subscribe(&filter, QoS::AtLeastOnce).await {
                Ok(q) => println!("subscribed {filter} {}", q as u8),
                Err(e) => println!("subscribe_failed {filter} {e}"),
            }
            while let Some(m) = h.next_message().await {
                println!(
                    "message {} {}",
                    m.topic,
                    String::from_utf8_lossy(&m.payload)
                );
            }
        });
    }
    let topic = format!("peers/{}/seq", a.id);
    let mut pending = tokio::task::JoinSet::new();
    let mut n = 0u64;
    let mut tick = tokio::time::interval(a.interval);
    loop {
        if a.count.is_some_and(|c| n >= c) {
            break;
        }
        tick.tick().await;
        let h = host.clone();
        let topic = topic.clone();
        let seq = n;
        pending.spawn(async move {
            match h
                .publish(&topic, seq.to_string().as_bytes(), QoS::AtLeastOnce, false)
                .await
            {
                Ok(()) => println!("done {seq}"),
                Err(e) => println!("failed {seq} {e}"),
            }
        });
        n += 1;
    }
    while pending.join_next().await.is_some() {}
    drop(host);
    task.abort();
    ExitCode::SUCCESS
}
