//! The virtual board's own firmware (`hil-vboard --no-agent`): a device
//! built without the harness's agent, for the board backend's
//! `agent = "none"` path (`fixtures/boards/virtual-noagent.toml`). It runs
//! `resilient-mqtt` with one fixed application: a QoS 1 sequence number
//! (1, 2, 3...) once a second (the first a second after it connected) to `peers/<client id>/seq`, the whole payload
//! a decimal number, to the broker address it was "built" for (`--broker`,
//! given when the harness starts it). Its serial console (the PTY, or
//! stdout) carries human-readable lines only (`mqtt up`, `published 12`),
//! never the agent protocol; the line `reboot` on it resets the board.
//!
//! Its driver settings are fixed, as a firmware's would be, and tuned for
//! runs at `live_time_scale = 0.2`: a ping after 250 ms of quiet, 1.5 s
//! for any reply, reconnects after 250 ms to 1 s. The reply time sits
//! between the qualification scenarios' faults, with about half a second
//! of margin each way, so that what the board does is not a race against
//! the fault's timing: a 1 s WiFi flap (`qual-wifi-flap`: held bytes
//! arrive about 1 s after they were sent) never times out a reply; a 3 s
//! outage (`qual-wifi-outage`) is declared by 1.75 s and a new connection
//! is open well before it ends; a round trip of up to 1 s
//! (`qual-latency-spike`) is not an outage. (With 1 s for a reply and a
//! ping after 500 ms, a flap's outcome depended on whether the fault's end
//! came a few milliseconds late: one CI run in several reconnected.)

use std::sync::mpsc::Sender;
use std::time::Duration;

use resilient_mqtt::client::{ClientBuilder, TcpTransport};
use resilient_mqtt::codec::QoS;
use resilient_mqtt::session::{Backoff, Config, Event};

/// What the firmware was built with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firmware {
    /// `HOST:PORT` it connects to.
    pub broker: String,
    pub client_id: String,
    /// Between the end of one publish and the next.
    pub interval: Duration,
}

impl Firmware {
    /// The topic its sequence numbers go to.
    pub fn topic(&self) -> String {
        format!("peers/{}/seq", self.client_id)
    }

    /// The driver configuration built into it.
    pub fn config(&self) -> Config {
        Config {
            client_id: self.client_id.clone(),
            keepalive: Duration::from_secs(5),
            ping_interval: Duration::from_millis(250),
            response_time: Duration::from_millis(1500),
            backoff: Backoff {
                initial: Duration::from_millis(250),
                max: Duration::from_secs(1),
                ..Backoff::default()
            },
            ..Config::default()
        }
    }
}

/// Runs the firmware's application until its runtime is dropped; console
/// lines go to `console`.
pub async fn run(fw: Firmware, console: Sender<String>) {
    let say = console.clone();
    let built = ClientBuilder::new(fw.config())
        .transport(TcpTransport::new(fw.broker.clone()))
        .on_event(move |e| match e {
            Event::Up { session_present } => {
                let _ = say.send(format!("mqtt up (session present: {session_present})"));
            }
            Event::Down { reason } => {
                let _ = say.send(format!("mqtt down: {reason:?}"));
            }
            _ => {}
        })
        .spawn();
    let client = match built {
        Ok(c) => c,
        Err(e) => {
            let _ = console.send(format!("bad driver configuration: {e:?}"));
            return;
        }
    };
    while let Err(e) = client.connect_quick().await {
        let _ = console.send(format!("connect failed: {e}"));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let topic = fw.topic();
    let mut n: u64 = 0;
    loop {
        // A reading every interval, the first one interval after the
        // connection is up.
        tokio::time::sleep(fw.interval).await;
        n += 1;
        let payload = n.to_string();
        let line = match client
            .publish(&topic, payload.as_bytes(), false, QoS::AtLeastOnce)
            .await
        {
            Ok(()) => format!("published {n}"),
            Err(e) => format!("publish {n} failed: {e}"),
        };
        let _ = console.send(line);
    }
}
