//! Starts a real mosquitto for a test on a free port and kills it on drop.
//!
//! mosquitto has no ephemeral port: we bind 127.0.0.1:0, read the port,
//! drop the listener and write `listener PORT 127.0.0.1`; if another process
//! took the port meanwhile mosquitto exits with "Address already in use" and
//! we retry with a new one. Ready when stderr says "Opening ipv4 listen
//! socket on port". `user root` keeps it from switching users, and
//! `allow_anonymous true` is needed because any `listener` line turns it off.
//! Persistence stays off unless the extra configuration says otherwise.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long mosquitto may take to open its port.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
const ATTEMPTS: usize = 10;

pub struct Mosquitto {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl Mosquitto {
    /// A mosquitto with the default test configuration.
    pub fn start() -> Mosquitto {
        Mosquitto::start_with("")
    }

    /// A mosquitto with extra configuration lines.
    pub fn start_with(extra_config: &str) -> Mosquitto {
        // Debian installs it in /usr/sbin, which a non-root PATH may lack.
        let binary = std::env::var("MOSQUITTO").unwrap_or_else(|_| {
            if std::path::Path::new("/usr/sbin/mosquitto").exists() {
                "/usr/sbin/mosquitto".into()
            } else {
                "mosquitto".into()
            }
        });
        if let Err(e) = Command::new(&binary)
            .arg("-h")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            panic!(
                "mosquitto is needed by this test and could not be run ({binary}: {e}). \
                 Install it with `apt-get install -y mosquitto` (the README's test command does), \
                 or point $MOSQUITTO at the binary."
            );
        }
        let mut last_error = String::new();
        for attempt in 0..ATTEMPTS {
            let port = free_port();
            let dir = std::env::temp_dir().join(format!(
                "chaos-broker-mosquitto-{}-{port}-{attempt}",
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).expect("temp dir for mosquitto");
            let conf = dir.join("mosquitto.conf");
            std::fs::write(
                &conf,
                format!(
                    "listener {port} 127.0.0.1\nallow_anonymous true\nuser root\npersistence false\n{extra_config}\n"
                ),
            )
            .expect("write mosquitto config");
            let mut child = Command::new(&binary)
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
            let stderr = child.stderr.take().expect("piped stderr");
            let (tx, rx) = mpsc::channel::<String>();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        // Nobody listens any more; keep draining so the pipe never blocks.
                        continue;
                    }
                }
            });
            let deadline = Instant::now() + READY_TIMEOUT;
            let mut log = Vec::new();
            let outcome = loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left.min(Duration::from_millis(50))) {
                    Ok(line) => {
                        let ready = line.contains("Opening ipv4 listen socket on port");
                        log.push(line);
                        if ready {
                            break Ok(());
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if let Ok(Some(status)) = child.try_wait() {
                            break Err(format!("exited with {status}"));
                        }
                        if Instant::now() >= deadline {
                            break Err("not ready in time".to_string());
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        let status = child.wait().ok();
                        break Err(format!("exited with {status:?}"));
                    }
                }
            };
            match outcome {
                Ok(()) => {
                    // The line is printed just before listen(): wait until a
                    // connection is accepted.
                    let addr = SocketAddr::from(([127, 0, 0, 1], port));
                    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200))
                        .is_err()
                    {
                        if Instant::now() >= deadline {
                            panic!("mosquitto said it listens on {port} but refuses connections");
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    return Mosquitto { child, port, dir };
                }
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    // Collect what it said before dying.
                    while let Ok(line) = rx.try_recv() {
                        log.push(line);
                    }
                    let _ = std::fs::remove_dir_all(&dir);
                    last_error = format!("{why}; stderr:\n{}", log.join("\n"));
                    if log.iter().any(|l| l.contains("Address already in use")) {
                        continue;
                    }
                    panic!("mosquitto did not start: {last_error}");
                }
            }
        }
        panic!("mosquitto did not start after {ATTEMPTS} attempts: {last_error}");
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}
