//! The driver's transport inside the simulation: turmoil's TCP, which
//! mirrors tokio's `TcpStream`, so the driver runs unchanged.

use std::io;

use resilient_mqtt::client::{BoxFuture, Transport};

/// The broker's address in the simulated network.
pub const BROKER_ADDR: (&str, u16) = ("broker", 1883);

/// Connects to the simulated broker's `port` with turmoil's TCP.
#[derive(Debug, Clone, Copy)]
pub struct SimTcp {
    pub port: u16,
}

impl Default for SimTcp {
    fn default() -> Self {
        SimTcp {
            port: BROKER_ADDR.1,
        }
    }
}

impl Transport for SimTcp {
    type Stream = turmoil::net::TcpStream;

    fn connect(&self) -> BoxFuture<io::Result<Self::Stream>> {
        let port = self.port;
        Box::pin(async move { turmoil::net::TcpStream::connect((BROKER_ADDR.0, port)).await })
    }
}
