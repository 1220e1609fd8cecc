//! Shared test support: a raw MQTT client, a mosquitto launcher, and our
//! broker served on a real TCP port, for the differential tests and the
//! benchmark.
#![allow(dead_code)]

pub mod client;
pub mod mosquitto;

use std::net::SocketAddr;

use chaos_broker::{Broker, BrokerConfig};
use tokio::net::{TcpListener, TcpStream};

/// Our broker on 127.0.0.1, any free port; serves until the runtime ends.
pub async fn serve_ours(config: BrokerConfig) -> (SocketAddr, Broker) {
    let broker = Broker::new(config).expect("valid config");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let b = broker.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let b = b.clone();
            tokio::spawn(async move { b.serve_connection(stream).await });
        }
    });
    (addr, broker)
}

/// A raw client on a fresh TCP connection.
pub async fn tcp_client(addr: SocketAddr) -> client::Client<TcpStream> {
    let s = TcpStream::connect(addr).await.expect("connect to broker");
    let _ = s.set_nodelay(true);
    client::Client::new(s)
}
