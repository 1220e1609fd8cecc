//! A FIN sent into a blackhole vanishes like the data: the far side's
//! connection stays half-open while the blackhole lasts (the point of a
//! half-open link scenario), and the FIN arrives once it ends, as TCP's
//! retransmission of it would. Plain TCP on both ends: no broker needed.

use std::time::Duration;

use fault_proxy::{Proxy, ProxyConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fin_into_a_blackhole_is_held_until_it_ends() {
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = Proxy::start(ProxyConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: upstream.local_addr().unwrap().to_string(),
        seed: 1,
        rules: vec![],
        log_file: None,
    })
    .await
    .expect("proxy starts");
    let mut client = TcpStream::connect(proxy.addr()).await.unwrap();
    let (mut server, _) = timeout(Duration::from_secs(5), upstream.accept())
        .await
        .expect("the proxy connects upstream")
        .unwrap();

    let hole = proxy.add_line("up blackhole").unwrap();
    client.shutdown().await.unwrap();
    let mut buf = [0u8; 16];
    let r = timeout(Duration::from_millis(800), server.read(&mut buf)).await;
    assert!(
        r.is_err(),
        "the server saw {r:?} through a blackhole: the link is not half-open"
    );

    assert!(proxy.remove(hole));
    let r = timeout(Duration::from_secs(5), server.read(&mut buf))
        .await
        .expect("the FIN arrives once the blackhole ends");
    assert_eq!(r.unwrap(), 0, "EOF");
}
