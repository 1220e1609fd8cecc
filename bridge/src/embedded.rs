//! The host's async shell for firmware (feature `embedded`, `no_std`, no
//! allocator): pumps a [`Host`] over any `embedded-io-async` UART with a
//! [`Clock`] for time and deadlines.
//!
//! ```ignore
//! let mut shell = Shell::new(uart, clock, Host::new(HostConfig::new("sensor-1", nonce)?));
//! let token = shell.host().publish(shell.now(), "sensors/t", b"21.5", QoS::AtLeastOnce, false)?;
//! loop {
//!     shell.step().await?;                       // one wait: UART input or the next deadline
//!     while let Some(ev) = shell.host().poll_event() { /* PublishDone { token }, Message {..} */ }
//! }
//! ```
//!
//! A read is abandoned when a deadline comes first; UART drivers that
//! buffer received bytes in an interrupt (as embassy's and most HALs'
//! buffered UARTs do) lose nothing by that.

use core::future::{poll_fn, Future};
use core::pin::pin;
use core::task::Poll;

use embedded_io_async::{Read, Write};

use crate::host::Host;
use crate::Instant;

/// Time for the shell: now, and a wait until a point in time.
pub trait Clock {
    fn now(&self) -> Instant;
    fn sleep_until(&mut self, t: Instant) -> impl Future<Output = ()>;
}

/// The host core, its UART and its clock.
pub struct Shell<U, C> {
    uart: U,
    clock: C,
    host: Host,
    rx: [u8; 64],
    tx: [u8; 128],
}

impl<U: Read + Write, C: Clock> Shell<U, C> {
    pub fn new(uart: U, clock: C, host: Host) -> Self {
        Shell {
            uart,
            clock,
            host,
            rx: [0; 64],
            tx: [0; 128],
        }
    }

    /// The core: publish, subscribe, poll events.
    pub fn host(&mut self) -> &mut Host {
        &mut self.host
    }

    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Writes what the host has to send, then waits for UART input or the
    /// host's next deadline, whichever comes first, and hands it over.
    pub async fn step(&mut self) -> Result<(), U::Error> {
        loop {
            let n = self.host.poll_transmit(self.clock.now(), &mut self.tx);
            if n == 0 {
                break;
            }
            self.uart.write_all(&self.tx[..n]).await?;
        }
        self.uart.flush().await?;
        let deadline = self.host.poll_timeout();
        let got = {
            let read = pin!(self.uart.read(&mut self.rx));
            let mut read = read;
            match deadline {
                None => Some(read.await),
                Some(t) => {
                    let mut sleep = pin!(self.clock.sleep_until(t));
                    poll_fn(|cx| {
                        if let Poll::Ready(r) = read.as_mut().poll(cx) {
                            return Poll::Ready(Some(r));
                        }
                        if sleep.as_mut().poll(cx).is_ready() {
                            return Poll::Ready(None);
                        }
                        Poll::Pending
                    })
                    .await
                }
            }
        };
        let now = self.clock.now();
        match got {
            Some(r) => {
                let n = r?;
                self.host.handle_input(now, &self.rx[..n]);
            }
            None => self.host.handle_timeout(now),
        }
        Ok(())
    }
}
