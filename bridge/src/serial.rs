//! Serial ports for the tokio shells (feature `serial`): open a device
//! path (a UART adapter, a PTY) at a baud rate as an async stream, and a
//! [`Cable`]: two PTYs joined by a relay that can be paced to a baud rate
//! (a PTY moves bytes as fast as the CPU, whatever baud its termios says)
//! and pulled out, for tests, benchmarks and two-process demos.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// Opens `path` raw (8N1, no flow control) at `baud`, as an async stream:
/// two threads move bytes between the port and the stream. Needs a tokio
/// runtime. The stream ends when the port fails (a USB adapter pulled).
pub fn open(path: &str, baud: u32) -> io::Result<DuplexStream> {
    let port = serialport::new(path, baud)
        .timeout(Duration::from_millis(50))
        .open_native()
        .map_err(|e| io::Error::other(format!("cannot open serial port {path}: {e}")))?;
    Ok(attach(port))
}

/// The async stream over an open port (see [`open`]). The threads end when
/// the stream is dropped or the port fails.
pub fn attach(port: TTYPort) -> DuplexStream {
    let rt = tokio::runtime::Handle::current();
    let (user, ours) = tokio::io::duplex(16 * 1024);
    let (mut from_user, mut to_user) = tokio::io::split(ours);
    let closed = Arc::new(AtomicBool::new(false));
    let reader = port.try_clone_native().ok();
    let mut writer = port;
    let rt2 = rt.clone();
    let closed2 = closed.clone();
    thread::spawn(move || {
        let Some(mut reader) = reader else {
            return;
        };
        let mut buf = [0u8; 1024];
        while !closed.load(Ordering::SeqCst) {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if rt.block_on(to_user.write_all(&buf[..n])).is_err() {
                        break;
                    }
                }
                // Nothing came within the timeout: look at `closed` again.
                Err(e)
                    if e.kind() == io::ErrorKind::TimedOut
                        || e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        // The port failed: the user's reads see the end of the stream.
        drop(to_user);
    });
    thread::spawn(move || {
        let mut buf = [0u8; 1024];
        loop {
            let n = match rt2.block_on(from_user.read(&mut buf)) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if writer.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        // The user dropped the stream (or the port failed): stop reading.
        closed2.store(true, Ordering::SeqCst);
    });
    user
}

/// Two PTYs joined by a relay: what one end writes to [`Cable::host_path`]
/// comes out of [`Cable::gateway_path`] and back, at most at `baud`
/// (10 bits a byte: 8N1) when pacing is on. [`Cable::pull`] drops every
/// byte until [`Cable::plug`].
pub struct Cable {
    host_path: String,
    gateway_path: String,
    connected: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    bytes: Arc<AtomicU64>,
    threads: Vec<thread::JoinHandle<()>>,
    // The slaves stay open here (never read) so that a process closing
    // its end does not make the masters fail.
    _slaves: (TTYPort, TTYPort),
}

impl Cable {
    /// A cable paced at `baud` (`None`: as fast as the PTYs go).
    pub fn new(baud: Option<u32>) -> io::Result<Cable> {
        let pty = || -> io::Result<(TTYPort, TTYPort)> {
            let (m, s) =
                TTYPort::pair().map_err(|e| io::Error::other(format!("cannot open a PTY: {e}")))?;
            // Clones are close-on-exec: child processes do not inherit them.
            let clone = |p: &TTYPort| p.try_clone_native().map_err(io::Error::other);
            Ok((clone(&m)?, clone(&s)?))
        };
        let (ma, sa) = pty()?;
        let (mb, sb) = pty()?;
        let name = |s: &TTYPort| {
            s.name()
                .ok_or_else(|| io::Error::other("PTY without a name"))
        };
        let (host_path, gateway_path) = (name(&sa)?, name(&sb)?);
        let connected = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let bytes = Arc::new(AtomicU64::new(0));
        let mut threads = Vec::new();
        for (from, to) in [
            (
                ma.try_clone_native().map_err(io::Error::other)?,
                mb.try_clone_native().map_err(io::Error::other)?,
            ),
            (mb, ma),
        ] {
            let (connected, stop, bytes) = (connected.clone(), stop.clone(), bytes.clone());
            threads.push(thread::spawn(move || {
                relay(from, to, baud, &connected, &stop, &bytes)
            }));
        }
        Ok(Cable {
            host_path,
            gateway_path,
            connected,
            stop,
            bytes,
            threads,
            _slaves: (sa, sb),
        })
    }

    /// The device path for the host's end.
    pub fn host_path(&self) -> &str {
        &self.host_path
    }

    /// The device path for the gateway's end.
    pub fn gateway_path(&self) -> &str {
        &self.gateway_path
    }

    /// Pulls the cable: bytes are dropped both ways.
    pub fn pull(&self) {
        self.connected.store(false, Ordering::SeqCst);
    }

    /// Plugs it back in.
    pub fn plug(&self) {
        self.connected.store(true, Ordering::SeqCst);
    }

    /// Bytes carried so far (both ways).
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

impl Drop for Cable {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn relay(
    mut from: TTYPort,
    mut to: TTYPort,
    baud: Option<u32>,
    connected: &AtomicBool,
    stop: &AtomicBool,
    bytes: &AtomicU64,
) {
    let _ = from.set_timeout(Duration::from_millis(20));
    let _ = to.set_timeout(Duration::from_millis(200));
    let mut buf = [0u8; 64];
    // When the line is next free (pacing).
    let mut free_at = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let n = match from.read(&mut buf) {
            Ok(n) => n,
            Err(e)
                if e.kind() == io::ErrorKind::TimedOut
                    || e.kind() == io::ErrorKind::Interrupted =>
            {
                continue
            }
            // EIO while no process has the other end open: wait for one.
            Err(_) => {
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if !connected.load(Ordering::SeqCst) {
            continue;
        }
        if let Some(baud) = baud {
            let now = Instant::now();
            free_at = free_at.max(now)
                + Duration::from_nanos(n as u64 * 10 * 1_000_000_000 / baud as u64);
            if free_at > now {
                thread::sleep(free_at - now);
            }
        }
        if to.write_all(&buf[..n]).is_ok() {
            bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
    }
}
