//! A real mosquitto for tests and live runs: started on a free loopback
//! port with a config written for it, and stopped when dropped.
//!
//! The facts this relies on are in `shared/ENVIRONMENT.md`: mosquitto has
//! no ephemeral port (we pick one and retry if it was taken), it must run
//! as `user root` to write its persistence file, any `listener` line needs
//! `allow_anonymous` set explicitly, and SIGKILL loses state not yet
//! autosaved (hence `autosave_interval 1` with persistence on).

use std::fmt;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How to configure the broker.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep sessions and retained messages on disk (survives restarts;
    /// autosaved every second so a SIGKILL loses at most a second).
    pub persistence: bool,
    /// Users and passwords; when not empty, anonymous clients are refused.
    pub users: Vec<(String, String)>,
    /// Extra config lines, appended as given.
    pub extra: Vec<String>,
    /// Linux: the broker gets SIGKILL when the thread that started (or
    /// restarted) it ends, so a harness killed by Ctrl-C or SIGKILL leaves
    /// no broker behind. Start it from a thread that lives as long as the
    /// broker should (not a short-lived `spawn_blocking` thread).
    pub die_with_parent: bool,
}

/// Why the broker could not be started or controlled.
#[derive(Debug)]
pub enum RigError {
    /// The mosquitto binary is not installed.
    NotInstalled,
    /// It started but did not become ready; its log is attached.
    NotReady {
        log: String,
    },
    Io(std::io::Error),
}

impl fmt::Display for RigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RigError::NotInstalled => write!(
                f,
                "mosquitto is not installed: `apt-get install -y mosquitto mosquitto-clients` \
                 (the README's test command, ci/test.sh, installs it)"
            ),
            RigError::NotReady { log } => {
                write!(f, "mosquitto did not become ready; its log:\n{log}")
            }
            RigError::Io(e) => write!(f, "mosquitto: {e}"),
        }
    }
}

impl std::error::Error for RigError {}

impl From<std::io::Error> for RigError {
    fn from(e: std::io::Error) -> Self {
        RigError::Io(e)
    }
}

/// The path of the mosquitto binary: `$MOSQUITTO`, `/usr/sbin/mosquitto`,
/// or `mosquitto` on the PATH.
pub fn binary() -> Result<PathBuf, RigError> {
    if let Some(p) = std::env::var_os("MOSQUITTO") {
        return Ok(PathBuf::from(p));
    }
    let candidates = [
        "/usr/sbin/mosquitto",
        "/usr/local/sbin/mosquitto",
        "/usr/bin/mosquitto",
    ];
    if let Some(p) = candidates.iter().map(Path::new).find(|p| p.exists()) {
        return Ok(p.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("mosquitto"))
        .find(|p| p.exists())
        .ok_or(RigError::NotInstalled)
}

/// A running mosquitto. Dropping it kills the process.
pub struct Mosquitto {
    child: Option<Child>,
    die_with_parent: bool,
    port: u16,
    dir: tempfile::TempDir,
    log: Arc<Mutex<String>>,
}

impl fmt::Debug for Mosquitto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mosquitto")
            .field("port", &self.port)
            .field("pid", &self.pid())
            .finish()
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Mosquitto {
    /// Starts a broker on a free port and waits until it listens.
    pub fn start(options: Options) -> Result<Mosquitto, RigError> {
        let dir = tempfile::tempdir()?;
        let log: Arc<Mutex<String>> = Arc::default();
        let mut last = None;
        // A port found free can be taken before mosquitto binds it: retry.
        for _ in 0..10 {
            let port = free_port()?;
            write_config(dir.path(), port, &options)?;
            match spawn_ready(dir.path(), port, &log, options.die_with_parent) {
                Ok(child) => {
                    return Ok(Mosquitto {
                        child: Some(child),
                        die_with_parent: options.die_with_parent,
                        port,
                        dir,
                        log,
                    })
                }
                Err(e @ RigError::NotInstalled) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(RigError::NotReady { log: String::new() }))
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits up to `within` for `needle` to appear in the log (its lines
    /// are read by a thread of ours, so they can trail what the broker
    /// did by a moment on a loaded machine); whether it did.
    pub fn wait_for_log(&self, needle: &str, within: std::time::Duration) -> bool {
        self.wait_for_log_where(within, |log| log.contains(needle))
    }

    /// Waits up to `within` for the log to satisfy `done`; whether it did.
    pub fn wait_for_log_where(
        &self,
        within: std::time::Duration,
        done: impl Fn(&str) -> bool,
    ) -> bool {
        let until = std::time::Instant::now() + within;
        loop {
            if done(&self.log()) {
                return true;
            }
            if std::time::Instant::now() >= until {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// The directory holding its config and persistence file.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn signal(&self, sig: i32) -> bool {
        match self.pid() {
            // SAFETY: kill(2) takes two integers and touches no memory of ours.
            Some(pid) => unsafe { libc::kill(pid as i32, sig) == 0 },
            None => false,
        }
    }

    /// SIGKILL: a crash; state since the last autosave is lost.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM: a clean stop; persistent state is saved.
    pub fn stop(&mut self) {
        if self.signal(libc::SIGTERM) {
            if let Some(mut c) = self.child.take() {
                let deadline = Instant::now() + Duration::from_secs(5);
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = c.try_wait() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }

    /// Starts it again on the same port with the same files.
    pub fn restart(&mut self) -> Result<(), RigError> {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match spawn_ready(self.dir.path(), self.port, &self.log, self.die_with_parent) {
                Ok(child) => {
                    self.child = Some(child);
                    return Ok(());
                }
                // The old socket may linger a moment.
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Deletes the persistence file (for a restart without persistence).
    pub fn forget_state(&self) {
        let _ = std::fs::remove_file(self.dir.path().join("mosquitto.db"));
    }

    /// SIGSTOP: a hung broker; sockets stay open, nothing is answered.
    pub fn pause(&self) -> bool {
        self.signal(libc::SIGSTOP)
    }

    /// SIGCONT after `pause`.
    pub fn resume(&self) -> bool {
        self.signal(libc::SIGCONT)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.resume();
        self.kill();
    }
}

/// Spawns mosquitto with the config in `dir` and waits for its ready line.
fn spawn_ready(
    dir: &Path,
    port: u16,
    log: &Arc<Mutex<String>>,
    die_with_parent: bool,
) -> Result<Child, RigError> {
    let mut command = Command::new(binary()?);
    #[cfg(target_os = "linux")]
    if die_with_parent {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl(2) is async-signal-safe and touches no memory of
        // ours; it runs in the child between fork and exec.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = die_with_parent;
    let mut child = command
        .arg("-c")
        .arg(dir.join("mosquitto.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| std::io::Error::other("no stderr pipe"))?;
    let (ready_tx, ready_rx) = mpsc::channel();
    let sink = log.clone();
    let ready_line = format!("listen socket on port {port}");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let ready = line.contains(&ready_line);
            if let Ok(mut l) = sink.lock() {
                l.push_str(&line);
                l.push('\n');
            }
            if ready {
                let _ = ready_tx.send(());
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if ready_rx.recv_timeout(Duration::from_millis(20)).is_ok() {
            // The ready line comes before the bind: check that it accepts
            // connections and survived (another process may hold the port).
            while Instant::now() < deadline {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    std::thread::sleep(Duration::from_millis(30));
                    if let Ok(None) = child.try_wait() {
                        return Ok(child);
                    }
                    break;
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            break;
        }
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(RigError::NotReady {
        log: log.lock().map(|l| l.clone()).unwrap_or_default(),
    })
}

fn write_config(dir: &Path, port: u16, o: &Options) -> Result<(), RigError> {
    let mut conf = format!(
        "listener {port} 127.0.0.1\nuser root\nlog_dest stderr\nlog_type all\nconnection_messages true\n"
    );
    if o.persistence {
        conf.push_str(&format!(
            "persistence true\npersistence_location {}/\nautosave_interval 1\nautosave_on_changes true\n",
            dir.display()
        ));
    } else {
        conf.push_str("persistence false\n");
    }
    if o.users.is_empty() {
        conf.push_str("allow_anonymous true\n");
    } else {
        let file = dir.join("passwd");
        write_password_file(&file, &o.users)?;
        conf.push_str(&format!(
            "allow_anonymous false\npassword_file {}\n",
            file.display()
        ));
    }
    for line in &o.extra {
        conf.push_str(line);
        conf.push('\n');
    }
    std::fs::write(dir.join("mosquitto.conf"), conf)?;
    Ok(())
}

/// Writes a mosquitto password file holding `users` (hashed by
/// `mosquitto_passwd`; the plain passwords are never written).
pub fn write_password_file(file: &Path, users: &[(String, String)]) -> Result<(), RigError> {
    std::fs::write(file, "")?;
    for (user, pass) in users {
        let status = Command::new(passwd_binary())
            .arg("-b")
            .arg(file)
            .arg(user)
            .arg(pass)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !status.success() {
            return Err(RigError::Io(std::io::Error::other(
                "mosquitto_passwd failed",
            )));
        }
    }
    Ok(())
}

fn passwd_binary() -> PathBuf {
    ["/usr/bin/mosquitto_passwd", "/usr/sbin/mosquitto_passwd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("mosquitto_passwd"))
}
