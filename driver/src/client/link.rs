//! The link layer (WiFi on a board): its state as a watch channel, so the
//! client sees a loss at once (D2), and the means to bring it up or down.
//! Wired hosts use [`AlwaysUp`]; tests and the simulator use [`WatchLink`].

use std::io;
use std::sync::Arc;

use tokio::sync::watch;

use super::BoxFuture;
use crate::session::WifiCredentials;

/// A network link the client depends on.
pub trait Link: Send + Sync + 'static {
    /// The link state; `true` = up. The client watches it for changes.
    fn state(&self) -> watch::Receiver<bool>;

    /// Brings the link up (associate with the access point). Returns when
    /// it is up, or with an error; the client bounds it by `link_timeout`.
    fn bring_up(&self, credentials: Option<&WifiCredentials>) -> BoxFuture<io::Result<()>>;

    /// Takes the link down (O4 `close()`).
    fn take_down(&self) -> BoxFuture<()>;
}

/// A link that is always up: Ethernet, loopback, a desktop.
#[derive(Debug, Clone)]
pub struct AlwaysUp {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for AlwaysUp {
    fn default() -> Self {
        AlwaysUp {
            tx: Arc::new(watch::channel(true).0),
        }
    }
}

impl Link for AlwaysUp {
    fn state(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }
    fn bring_up(&self, _: Option<&WifiCredentials>) -> BoxFuture<io::Result<()>> {
        Box::pin(async { Ok(()) })
    }
    fn take_down(&self) -> BoxFuture<()> {
        Box::pin(async {})
    }
}

/// A link whose availability is controlled from outside: the WiFi of a
/// simulated or test device. `set_available(false)` is an access point
/// going away (the link drops at once); `set_available(true)` lets the
/// next `bring_up` succeed (and brings the link up at once, as a station
/// that reassociates by itself would).
#[derive(Debug, Clone)]
pub struct WatchLink {
    inner: Arc<WatchInner>,
}

#[derive(Debug)]
struct WatchInner {
    state: watch::Sender<bool>,
    available: watch::Sender<bool>,
}

impl WatchLink {
    /// A link that starts up (`true`) or down.
    pub fn new(up: bool) -> Self {
        WatchLink {
            inner: Arc::new(WatchInner {
                state: watch::channel(up).0,
                available: watch::channel(up).0,
            }),
        }
    }

    /// Whether the access point is there.
    pub fn set_available(&self, available: bool) {
        self.inner.available.send_replace(available);
        self.inner.state.send_replace(available);
    }

    /// Whether the link is up now.
    pub fn is_up(&self) -> bool {
        *self.inner.state.borrow()
    }
}

impl Link for WatchLink {
    fn state(&self) -> watch::Receiver<bool> {
        self.inner.state.subscribe()
    }

    fn bring_up(&self, _: Option<&WifiCredentials>) -> BoxFuture<io::Result<()>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            let mut available = inner.available.subscribe();
            // Waits until the access point is there; the caller's timeout
            // bounds the wait.
            available
                .wait_for(|a| *a)
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::NotConnected, "link controller gone"))?;
            inner.state.send_replace(true);
            Ok(())
        })
    }

    fn take_down(&self) -> BoxFuture<()> {
        let inner = self.inner.clone();
        Box::pin(async move {
            inner.state.send_replace(false);
        })
    }
}
