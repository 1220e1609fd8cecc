//! `--broker container[:IMAGE]`: the live run's broker in a container,
//! started through testcontainers, with the broker faults mapped onto the
//! container's life cycle:
//!
//! | fault | container |
//! |---|---|
//! | `broker_crash` | `docker stop -t 0` (SIGKILL; the container is kept) |
//! | `broker_restart {persist = true}` | start the same container again (its data volume and file system kept) |
//! | `broker_restart {persist = false}` | remove it and create a fresh one (data volume emptied) on the same host port |
//! | `broker_hang` / end | `docker pause` / `docker unpause` |
//!
//! Mosquitto images (any image whose name ends in `mosquitto`, the default
//! `eclipse-mosquitto:2` among them) get a config written by the harness
//! (`/mosquitto/config/mosquitto.conf`: listener 1883, persistence in
//! `/mosquitto/data` autosaved every second, the scenario's logins), both
//! directories bind-mounted from a temporary directory. Any other broker
//! image (EMQX, HiveMQ CE, VerneMQ...) runs with its own configuration;
//! [`ContainerSpec`] says which port it listens on inside the container,
//! what to mount and which environment to give it (`hil run --broker
//! container:IMAGE --container-port P --container-mount HOST:PATH
//! --container-env K=V --container-data PATH`).
//!
//! Readiness is checked the same way for every image: an MQTT CONNECT on
//! the mapped port answered by a CONNACK (Docker's port forwarder accepts
//! TCP before the broker listens, so a TCP connect proves nothing).
//!
//! Nothing is left behind: the container is removed at the end of the run,
//! on failure and on panic (drop); on a second Ctrl-C
//! ([`remove_all_now`]); and a container whose harness process died
//! (SIGKILL) is removed by the next container run (each carries the label
//! `hil.owner=<pid>`).
//!
//! Our machines have no image registry: `ci/mosquitto-image.sh` builds
//! `eclipse-mosquitto:2` locally from the host's mosquitto.

use std::collections::BTreeSet;
#[cfg(feature = "containers")]
use std::io::{Read, Write};
#[cfg(feature = "containers")]
use std::net::{SocketAddr, TcpListener, TcpStream};
#[cfg(feature = "containers")]
use std::path::{Path, PathBuf};
use std::sync::Mutex;
#[cfg(feature = "containers")]
use std::time::{Duration, Instant};

#[cfg(feature = "containers")]
use testcontainers::bollard::query_parameters::{ListContainersOptions, RemoveContainerOptions};
#[cfg(feature = "containers")]
use testcontainers::core::{ContainerPort, Mount};
#[cfg(feature = "containers")]
use testcontainers::runners::AsyncRunner;
#[cfg(feature = "containers")]
use testcontainers::{ContainerAsync, GenericImage, ImageExt};
#[cfg(feature = "containers")]
use tokio::runtime::Handle;

/// The label that names the harness process owning a container.
#[cfg(feature = "containers")]
const OWNER_LABEL: &str = "hil.owner";

/// How long a container broker may take to answer its first CONNECT.
#[cfg(feature = "containers")]
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Containers this process started and has not removed yet.
static LIVE: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// What container to run as the broker, and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// `NAME[:TAG]`, as Docker names it (`eclipse-mosquitto:2`).
    pub image: String,
    /// The MQTT port inside the container (1883).
    pub port: u16,
    /// Extra bind mounts, `(host path, container path)`.
    pub mounts: Vec<(String, String)>,
    /// Environment variables for the container.
    pub env: Vec<(String, String)>,
    /// Where the broker keeps its state inside the container: a harness
    /// directory is bind-mounted there and emptied by `broker_restart
    /// {persist = false}`. Mosquitto images: `/mosquitto/data`.
    pub data: Option<String>,
}

impl ContainerSpec {
    /// The default image's spec.
    pub const DEFAULT_IMAGE: &'static str = "eclipse-mosquitto:2";

    /// `image` with the defaults: port 1883, no extra mounts or env.
    pub fn new(image: &str) -> ContainerSpec {
        let mut spec = ContainerSpec {
            image: image.to_string(),
            port: 1883,
            mounts: Vec::new(),
            env: Vec::new(),
            data: None,
        };
        if spec.is_mosquitto() {
            spec.data = Some("/mosquitto/data".into());
        }
        spec
    }

    /// Whether the harness writes the broker's config (a mosquitto image).
    pub fn is_mosquitto(&self) -> bool {
        let (name, _) = split_image(&self.image);
        name.rsplit('/')
            .next()
            .unwrap_or(name)
            .ends_with("mosquitto")
    }
}

/// `NAME[:TAG]` split into name and tag (`latest` when absent); a `:` in a
/// registry host (`host:5000/name`) is not a tag.
fn split_image(image: &str) -> (&str, &str) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (image, "latest"),
    }
}

/// Parses `HOST:CONTAINER` (`--container-mount`).
pub fn parse_mount(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((h, c)) if !h.is_empty() && c.starts_with('/') => Ok((h.to_string(), c.to_string())),
        _ => Err(format!(
            "`{s}`: expected HOST_PATH:CONTAINER_PATH, the container path absolute (./emqx.conf:/opt/emqx/etc/emqx.conf)"
        )),
    }
}

/// Parses `KEY=VALUE` (`--container-env`).
pub fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !k.contains(char::is_whitespace) => {
            Ok((k.to_string(), v.to_string()))
        }
        _ => Err(format!("`{s}`: expected KEY=VALUE")),
    }
}

/// Whether a Docker engine answers within 5 s, or why not (a message for
/// the user). Runs on a runtime of its own: call it from outside any
/// runtime.
#[cfg(feature = "containers")]
pub fn engine_available() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    rt.block_on(async {
        let check = async {
            let docker = testcontainers::core::client::docker_client_instance()
                .await
                .map_err(|e| format!("no Docker engine reachable: {e}"))?;
            docker
                .ping()
                .await
                .map(|_| ())
                .map_err(|e| format!("the Docker engine does not answer: {e}"))
        };
        tokio::time::timeout(Duration::from_secs(5), check)
            .await
            .unwrap_or_else(|_| Err("the Docker engine did not answer within 5 s".into()))
    })
}

/// A broker in a container, on a fixed host port for the whole run.
#[cfg(feature = "containers")]
pub struct ContainerBroker {
    spec: ContainerSpec,
    rt: Handle,
    host_port: u16,
    /// Config and data directories bind-mounted into a mosquitto image.
    dir: tempfile::TempDir,
    users: Vec<(String, String)>,
    container: Option<ContainerAsync<GenericImage>>,
}

#[cfg(feature = "containers")]
impl ContainerBroker {
    /// Starts `spec` with `users` (mosquitto images: the password file)
    /// and waits until it answers MQTT.
    pub fn start(
        spec: ContainerSpec,
        users: Vec<(String, String)>,
        rt: &Handle,
    ) -> Result<ContainerBroker, String> {
        engine_available().map_err(|e| {
            format!(
                "--broker container:{}: {e} (start Docker, or use --broker mosquitto)",
                spec.image
            )
        })?;
        reap_orphans(rt);
        let dir = tempfile::Builder::new()
            .prefix("hil-container-")
            .tempdir()
            .map_err(|e| format!("cannot create a directory for the container: {e}"))?;
        let host_port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| format!("no free port: {e}"))?;
        let mut b = ContainerBroker {
            spec,
            rt: rt.clone(),
            host_port,
            dir,
            users,
            container: None,
        };
        if b.spec.data.is_some() {
            let data = b.data_dir();
            std::fs::create_dir_all(&data)
                .and_then(|()| open_up(&data))
                .map_err(|e| format!("cannot create the data directory: {e}"))?;
        }
        if b.spec.is_mosquitto() {
            b.write_mosquitto_config()?;
        }
        b.create()?;
        Ok(b)
    }

    /// `127.0.0.1:PORT`, the same across restarts.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.host_port)
    }

    fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn write_mosquitto_config(&self) -> Result<(), String> {
        let io = |e: std::io::Error| format!("cannot write the container's config: {e}");
        let dir = self.config_dir();
        std::fs::create_dir_all(&dir).map_err(io)?;
        open_up(&dir).map_err(io)?;
        let mut conf = String::from(
            "listener 1883\nuser root\nlog_dest stderr\nlog_type all\nconnection_messages true\n\
             persistence true\npersistence_location /mosquitto/data/\nautosave_interval 1\nautosave_on_changes true\n",
        );
        if self.users.is_empty() {
            conf.push_str("allow_anonymous true\n");
        } else {
            let file = self.config_dir().join("passwd");
            mosquitto_rig::write_password_file(&file, &self.users)
                .map_err(|e| format!("cannot write the password file: {e}"))?;
            open_up(&file).map_err(io)?;
            conf.push_str("allow_anonymous false\npassword_file /mosquitto/config/passwd\n");
        }
        let file = self.config_dir().join("mosquitto.conf");
        std::fs::write(&file, conf).map_err(io)?;
        open_up(&file).map_err(io)
    }

    /// Creates and starts a new container, then waits for MQTT.
    fn create(&mut self) -> Result<(), String> {
        let (name, tag) = split_image(&self.spec.image);
        let mut req = GenericImage::new(name, tag)
            .with_mapped_port(self.host_port, ContainerPort::Tcp(self.spec.port))
            .with_label(OWNER_LABEL, std::process::id().to_string());
        if self.spec.is_mosquitto() {
            req = req.with_mount(Mount::bind_mount(
                self.config_dir().display().to_string(),
                "/mosquitto/config",
            ));
        }
        if let Some(data) = &self.spec.data {
            req = req.with_mount(Mount::bind_mount(
                self.data_dir().display().to_string(),
                data.clone(),
            ));
        }
        for (h, c) in &self.spec.mounts {
            let host = std::fs::canonicalize(h)
                .map_err(|e| format!("container option mount={h}:{c}: {e}"))?;
            req = req.with_mount(Mount::bind_mount(host.display().to_string(), c.clone()));
        }
        for (k, v) in &self.spec.env {
            req = req.with_env_var(k.clone(), v.clone());
        }
        let image = self.spec.image.clone();
        let container = self.rt.block_on(req.start()).map_err(|e| {
            let hint = if self.spec.image == ContainerSpec::DEFAULT_IMAGE {
                " (no registry here? `ci/mosquitto-image.sh` builds eclipse-mosquitto:2 from the host's mosquitto)"
            } else {
                ""
            };
            format!("cannot start a container of {image}: {e}{hint}")
        })?;
        register(container.id());
        self.container = Some(container);
        self.wait_ready()
    }

    /// Waits until a CONNECT on the mapped port gets a CONNACK.
    fn wait_ready(&self) -> Result<(), String> {
        let addr: SocketAddr = self.addr().parse().map_err(|e| format!("{e}"))?;
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last = String::from("no answer");
        while Instant::now() < deadline {
            match mqtt_probe(addr) {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "the {} container did not answer an MQTT CONNECT on {addr} within {}s ({last}); is --container-port right?",
            self.spec.image,
            READY_TIMEOUT.as_secs()
        ))
    }

    /// `broker_crash`: SIGKILL at once; the container is kept.
    pub fn crash(&mut self) {
        if let Some(c) = &self.container {
            let _ = self.rt.block_on(c.stop_with_timeout(Some(0)));
        }
    }

    /// `broker_restart`: the same container again (`persist`), or a fresh
    /// one with its data emptied.
    pub fn restart(&mut self, persist: bool) -> Result<(), String> {
        self.crash();
        if persist {
            let c = self
                .container
                .as_ref()
                .ok_or("the broker container is gone")?;
            self.rt
                .block_on(c.start())
                .map_err(|e| format!("cannot start the container again: {e}"))?;
            return self.wait_ready();
        }
        self.remove();
        if self.spec.data.is_some() {
            let data = self.data_dir();
            let _ = std::fs::remove_dir_all(&data);
            std::fs::create_dir_all(&data)
                .and_then(|()| open_up(&data))
                .map_err(|e| format!("cannot empty the data directory: {e}"))?;
        }
        self.create()
    }

    /// `broker_hang`: the container is frozen; sockets stay open.
    pub fn hang(&mut self) -> Result<(), String> {
        let c = self
            .container
            .as_ref()
            .ok_or("the broker container is gone")?;
        self.rt
            .block_on(c.pause())
            .map_err(|e| format!("docker pause failed: {e}"))
    }

    /// The end of `broker_hang`.
    pub fn resume(&mut self) -> Result<(), String> {
        let c = self
            .container
            .as_ref()
            .ok_or("the broker container is gone")?;
        self.rt
            .block_on(c.unpause())
            .map_err(|e| format!("docker unpause failed: {e}"))
    }

    /// Removes the container (end of run).
    pub fn remove(&mut self) {
        if let Some(c) = self.container.take() {
            let id = c.id().to_string();
            if std::env::var_os("HIL_CONTAINER_LOGS").is_some() {
                // Debugging a broker image: its log, before it is gone.
                let _ = std::process::Command::new("docker")
                    .args(["logs", &id])
                    .status();
            }
            // A paused container cannot be stopped: unpause first.
            let _ = self.rt.block_on(c.unpause());
            if self.rt.block_on(c.rm()).is_ok() {
                unregister(&id);
            }
        }
    }
}

#[cfg(feature = "containers")]
impl Drop for ContainerBroker {
    fn drop(&mut self) {
        self.remove();
    }
}

/// World-writable, so a broker running as another user in the container
/// can use the bind mount.
#[cfg(feature = "containers")]
fn open_up(p: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if p.is_dir() { 0o777 } else { 0o666 };
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
}

/// One MQTT CONNECT (clean, anonymous) and its CONNACK; any return code
/// counts: the broker is up.
#[cfg(feature = "containers")]
fn mqtt_probe(addr: SocketAddr) -> Result<(), String> {
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    // CONNECT: "MQTT" level 4, clean session, keepalive 10 s, id "hil-ready".
    let id = b"hil-ready";
    let mut pkt = vec![0x10, (10 + 2 + id.len()) as u8];
    pkt.extend_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 10]);
    pkt.extend_from_slice(&[0, id.len() as u8]);
    pkt.extend_from_slice(id);
    s.write_all(&pkt).map_err(|e| e.to_string())?;
    let mut ack = [0u8; 4];
    s.read_exact(&mut ack).map_err(|e| e.to_string())?;
    let _ = s.write_all(&[0xe0, 0]);
    if ack[0] == 0x20 && ack[1] == 2 {
        Ok(())
    } else {
        Err(format!("not a CONNACK: {ack:02x?}"))
    }
}

#[cfg(feature = "containers")]
fn register(id: &str) {
    if let Ok(mut l) = LIVE.lock() {
        l.insert(id.to_string());
    }
}

#[cfg(feature = "containers")]
fn unregister(id: &str) {
    if let Ok(mut l) = LIVE.lock() {
        l.remove(id);
    }
}

/// Removes every container this process still has, with the docker CLI
/// (called from the second Ctrl-C, where no runtime can be relied on).
pub fn remove_all_now() {
    let ids: Vec<String> = LIVE
        .lock()
        .map(|l| l.iter().cloned().collect())
        .unwrap_or_default();
    if ids.is_empty() {
        return;
    }
    let _ = std::process::Command::new("docker")
        .args(["rm", "-f"])
        .args(&ids)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

/// Removes containers left by harness processes that no longer run (one
/// killed with SIGKILL cannot clean up after itself).
#[cfg(feature = "containers")]
fn reap_orphans(rt: &Handle) {
    rt.block_on(async {
        let Ok(docker) = testcontainers::core::client::docker_client_instance().await else {
            return;
        };
        // (A query to the engine; the order of this map reaches nothing.)
        let filters =
            std::collections::HashMap::from([("label".to_string(), vec![OWNER_LABEL.to_string()])]);
        let options = ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        let Ok(list) = docker.list_containers(Some(options)).await else {
            return;
        };
        for c in list {
            let owner = c
                .labels
                .as_ref()
                .and_then(|l| l.get(OWNER_LABEL))
                .and_then(|p| p.parse::<u32>().ok());
            let orphan = owner.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
            if let (true, Some(id)) = (orphan, c.id) {
                let _ = docker
                    .remove_container(
                        &id,
                        Some(RemoveContainerOptions {
                            force: true,
                            v: true,
                            ..Default::default()
                        }),
                    )
                    .await;
            }
        }
    });
}

/// Without the `containers` feature: what a container run answers. The
/// spec and its parsing above stay, so `--broker container:...` parses and
/// replays the same in every build.
#[cfg(not(feature = "containers"))]
const NOT_BUILT: &str = "this hil was built without container support (cargo feature \
    `containers`, which pulls in testcontainers): rebuild with `cargo build -p hil \
    --features containers`, or use --broker mosquitto";

/// Without the `containers` feature there is no engine to ask.
#[cfg(not(feature = "containers"))]
pub fn engine_available() -> Result<(), String> {
    Err(NOT_BUILT.into())
}

/// Without the `containers` feature no container broker can exist: this
/// type has no value, and [`ContainerBroker::start`] says how to get one.
#[cfg(not(feature = "containers"))]
pub struct ContainerBroker {
    never: std::convert::Infallible,
}

#[cfg(not(feature = "containers"))]
impl ContainerBroker {
    /// Always the error that names the missing feature.
    pub fn start(
        spec: ContainerSpec,
        _users: Vec<(String, String)>,
        _rt: &tokio::runtime::Handle,
    ) -> Result<ContainerBroker, String> {
        Err(format!("--broker container:{}: {NOT_BUILT}", spec.image))
    }
    pub fn addr(&self) -> String {
        match self.never {}
    }
    pub fn crash(&mut self) {
        match self.never {}
    }
    pub fn restart(&mut self, _persist: bool) -> Result<(), String> {
        match self.never {}
    }
    pub fn hang(&mut self) -> Result<(), String> {
        match self.never {}
    }
    pub fn resume(&mut self) -> Result<(), String> {
        match self.never {}
    }
    pub fn remove(&mut self) {
        match self.never {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_split_into_name_and_tag() {
        assert_eq!(
            split_image("eclipse-mosquitto:2"),
            ("eclipse-mosquitto", "2")
        );
        assert_eq!(split_image("emqx/emqx"), ("emqx/emqx", "latest"));
        assert_eq!(
            split_image("reg.local:5000/hivemq/hivemq-ce"),
            ("reg.local:5000/hivemq/hivemq-ce", "latest")
        );
        assert_eq!(
            split_image("reg.local:5000/vernemq:1.13"),
            ("reg.local:5000/vernemq", "1.13")
        );
    }

    #[test]
    fn mosquitto_images_are_recognised() {
        assert!(ContainerSpec::new("eclipse-mosquitto:2").is_mosquitto());
        assert!(ContainerSpec::new("local/mosquitto").is_mosquitto());
        assert!(!ContainerSpec::new("emqx/emqx:5").is_mosquitto());
        assert!(!ContainerSpec::new("mosquitto-exporter:1").is_mosquitto());
        // Their state directory is the harness's, emptied on a clean restart.
        assert_eq!(
            ContainerSpec::new("eclipse-mosquitto:2").data.as_deref(),
            Some("/mosquitto/data")
        );
        assert_eq!(ContainerSpec::new("emqx/emqx:5").data, None);
    }

    #[test]
    fn mount_and_env_flags_are_checked() {
        assert_eq!(
            parse_mount("./emqx.conf:/opt/emqx/etc/emqx.conf").unwrap(),
            ("./emqx.conf".into(), "/opt/emqx/etc/emqx.conf".into())
        );
        assert!(parse_mount("relative:inside")
            .unwrap_err()
            .contains("HOST_PATH"));
        assert!(parse_mount("nocolon").is_err());
        assert_eq!(parse_env("A=b=c").unwrap(), ("A".into(), "b=c".into()));
        assert!(parse_env("=x").is_err());
        assert!(parse_env("noequals").is_err());
    }
}
