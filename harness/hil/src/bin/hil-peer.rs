//! `hil-peer`: our driver (resilient-mqtt) as a plain host process, the
//! same kind of device as the third-party clients in `fixtures/duts/`, so
//! that `hil compare` judges all of them from the wire alike
//! (`--dut driver-process`, fixtures/duts/driver.toml).
//!
//! It connects with the driver's default configuration (keepalive 60 s,
//! response time 10 s, its own reconnect backoff; in wall time, like every
//! other black-box DUT) and publishes a QoS 1 sequence number (1, 2, 3...)
//! to `peers/<client id>/seq` at the scenario's workload, which the harness
//! gives every black-box DUT: every `HIL_PUBLISH_INTERVAL` seconds (else
//! once a second, or `--interval`), and with `HIL_PUBLISH_WAIT=1` (`--wait`)
//! each publish completes (its PUBACK) before the interval starts, as the
//! scenario's own application does; else on schedule, without waiting
//! (each publish is its own task, so an outage does not stop the count).
//! Broker and client id come from `HIL_BROKER_HOST`, `HIL_BROKER_PORT` and
//! `HIL_CLIENT_ID` (the harness sets them), or from `--host`, `--port` and
//! `--id`. Up/down notifications and publish
//! results go to stdout (`console.log` in the run directory).

use std::process::ExitCode;
use std::time::Duration;

use resilient_mqtt::client::{ClientBuilder, Notification};
use resilient_mqtt::codec::QoS;
use resilient_mqtt::session::Config;

/// Where to connect, and as whom.
#[derive(Debug, PartialEq)]
struct Args {
    host: String,
    port: u16,
    id: String,
    interval: Duration,
    /// Each publish completes before the interval starts.
    wait: bool,
}

/// A positive number of seconds, or why not.
fn seconds(v: &str) -> Result<Duration, String> {
    v.parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{v}: not a positive number of seconds"))
}

fn parse(args: &[String], env: impl Fn(&str) -> Option<String>) -> Result<Args, String> {
    let mut a = Args {
        host: env("HIL_BROKER_HOST").unwrap_or_else(|| "127.0.0.1".into()),
        port: 1883,
        id: env("HIL_CLIENT_ID").unwrap_or_else(|| "hil-peer".into()),
        interval: Duration::from_secs(1),
        wait: env("HIL_PUBLISH_WAIT").as_deref() == Some("1"),
    };
    if let Some(v) = env("HIL_PUBLISH_INTERVAL") {
        a.interval = seconds(&v).map_err(|e| format!("HIL_PUBLISH_INTERVAL={e}"))?;
    }
    let mut port = env("HIL_BROKER_PORT");
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--host" => a.host = value()?,
            "--port" => port = Some(value()?),
            "--id" => a.id = value()?,
            "--wait" => a.wait = true,
            "--interval" => {
                a.interval = seconds(&value()?).map_err(|e| format!("--interval {e}"))?
            }
            other => {
                return Err(format!(
                    "unknown argument `{other}` (usage: hil-peer [--host H] [--port P] [--id ID] [--interval SECONDS] [--wait])"
                ))
            }
        }
    }
    if let Some(p) = port {
        a.port = p
            .parse()
            .map_err(|_| format!("port `{p}`: not a TCP port number"))?;
    }
    Ok(a)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&argv, |k| std::env::var(k).ok()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("hil-peer: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hil-peer: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hil-peer: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let config = Config {
        client_id: args.id.as_str().into(),
        server: args.host.as_str().into(),
        port: args.port,
        ..Config::default()
    };
    let client = ClientBuilder::new(config)
        .spawn()
        .map_err(|e| format!("bad configuration: {e}"))?;
    let mut notes = client.notifications();
    tokio::spawn(async move {
        while let Ok(n) = notes.recv().await {
            match n {
                Notification::Up { session_present } => {
                    println!("up: session_present={session_present}")
                }
                Notification::Down { reason } => println!("down: {reason:?}"),
            }
        }
    });
    // K1: the first connect reports its errors; later outages are the
    // driver's to handle.
    while let Err(e) = client.connect_quick().await {
        println!("first connect failed: {e}; again in 1 s");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let topic = format!("peers/{}/seq", args.id);
    let mut tick = tokio::time::interval(args.interval);
    let mut seq: u64 = 0;
    loop {
        if args.wait {
            if seq > 0 {
                tokio::time::sleep(args.interval).await;
            }
        } else {
            tick.tick().await;
        }
        seq += 1;
        let (c, t) = (client.clone(), topic.clone());
        let publish = async move {
            match c
                .publish(&t, seq.to_string().as_bytes(), false, QoS::AtLeastOnce)
                .await
            {
                Ok(()) => println!("publish {seq}: acked"),
                Err(e) => println!("publish {seq}: failed: {e}"),
            }
        };
        if args.wait {
            publish.await;
        } else {
            tokio::spawn(publish);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        match k {
            "HIL_BROKER_HOST" => Some("10.0.0.1".into()),
            "HIL_BROKER_PORT" => Some("4242".into()),
            "HIL_CLIENT_ID" => Some("dut-x".into()),
            _ => None,
        }
    }

    #[test]
    fn the_harness_environment_is_read_and_flags_win() {
        let a = parse(&[], env).unwrap();
        assert_eq!(
            (a.host.as_str(), a.port, a.id.as_str()),
            ("10.0.0.1", 4242, "dut-x")
        );
        let argv: Vec<String> = ["--port", "1884", "--interval", "0.5"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let a = parse(&argv, env).unwrap();
        assert_eq!((a.port, a.interval), (1884, Duration::from_millis(500)));
    }

    #[test]
    fn bad_arguments_are_clear_errors() {
        let argv = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(parse(&argv(&["--port", "x"]), |_| None)
            .unwrap_err()
            .contains("not a TCP port"));
        assert!(parse(&argv(&["--port"]), |_| None)
            .unwrap_err()
            .contains("needs a value"));
        assert!(parse(&argv(&["--interval", "-1"]), |_| None)
            .unwrap_err()
            .contains("positive"));
        assert!(
            parse(&[], |k| (k == "HIL_PUBLISH_INTERVAL").then(|| "0".into()))
                .unwrap_err()
                .contains("HIL_PUBLISH_INTERVAL=0: not a positive")
        );
        let workload = |k: &str| match k {
            "HIL_PUBLISH_INTERVAL" => Some("5".to_string()),
            "HIL_PUBLISH_WAIT" => Some("1".to_string()),
            _ => None,
        };
        let a = parse(&[], workload).unwrap();
        assert_eq!((a.interval, a.wait), (Duration::from_secs(5), true));
        assert!(!parse(&[], |_| None).unwrap().wait);
        assert!(parse(&argv(&["--wait"]), |_| None).unwrap().wait);
        assert!(parse(&argv(&["--bogus"]), |_| None)
            .unwrap_err()
            .contains("unknown argument"));
    }
}
