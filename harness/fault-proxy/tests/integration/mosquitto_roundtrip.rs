//! Real round trips: the driver -> the proxy -> a real mosquitto started on
//! a free port. The proxy drops a PUBACK (the driver resends with DUP and
//! completes), rewrites a CONNACK (the connect is refused), blackholes a
//! link, and answers its control port.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fault_proxy::{Proxy, ProxyConfig};
use mosquitto_rig::{Mosquitto, Options};
use resilient_mqtt::client::ClientBuilder;
use resilient_mqtt::codec::QoS;
use resilient_mqtt::session::{Config, Event};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

async fn proxy_to(broker: &Mosquitto) -> Proxy {
    Proxy::start(ProxyConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: broker.addr(),
        seed: 1,
        rules: vec![],
        log_file: None,
    })
    .await
    .expect("proxy starts")
}

fn config(proxy: &Proxy, id: &str) -> Config {
    Config {
        client_id: id.into(),
        server: "127.0.0.1".into(),
        port: proxy.addr().port(),
        response_time: Duration::from_millis(700),
        link_integrity: Duration::ZERO,
        ..Config::default()
    }
}

fn recorded() -> (Arc<Mutex<Vec<Event>>>, impl FnMut(&Event) + Send + 'static) {
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let e = events.clone();
    (events, move |ev: &Event| e.lock().unwrap().push(ev.clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_puback_is_resent_with_dup_and_completes() {
    let broker = Mosquitto::start(Options::default()).expect("mosquitto starts");
    let proxy = proxy_to(&broker).await;
    let (events, hook) = recorded();
    let client = ClientBuilder::new(config(&proxy, "dut-drop"))
        .on_event(hook)
        .spawn()
        .unwrap();
    client.connect().await.expect("connects through the proxy");
    proxy.add_line("drop puback 1").unwrap();
    tokio::time::timeout(
        Duration::from_secs(10),
        client.publish("t/x", b"dut-0:1", false, QoS::AtLeastOnce),
    )
    .await
    .expect("publish completes after the resend")
    .expect("publish ok");
    let ev = events.lock().unwrap().clone();
    let sends: Vec<bool> = ev
        .iter()
        .filter_map(|e| match e {
            Event::PublishSent { dup, .. } => Some(*dup),
            _ => None,
        })
        .collect();
    assert_eq!(sends, vec![false, true], "{ev:?}");
    assert!(ev.iter().any(|e| matches!(e, Event::Retransmit { .. })));
    let log = proxy.log_tail(100).join("\n");
    assert!(log.contains("dropped PUBACK (rule #1)"), "{log}");
    assert_eq!(proxy.rules()[0].budget, Some(0));
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_connack_refuses_and_a_blackhole_silences() {
    let broker = Mosquitto::start(Options::default()).expect("mosquitto starts");
    let proxy = proxy_to(&broker).await;
    let rule = proxy.add_line("connack-code 5").unwrap();
    let client = ClientBuilder::new(config(&proxy, "dut-refused"))
        .spawn()
        .unwrap();
    let err = client
        .connect()
        .await
        .expect_err("refused by the rewritten CONNACK");
    assert!(
        err.to_string().to_lowercase().contains("not authori"),
        "{err}"
    );
    client.close().await;
    assert!(proxy.remove(rule));

    // Blackhole: the connection stays open, the CONNECT never arrives.
    proxy.add_line("blackhole for 3s").unwrap();
    let (events, hook) = recorded();
    let client = ClientBuilder::new(config(&proxy, "dut-hole"))
        .on_event(hook)
        .spawn()
        .unwrap();
    let r = tokio::time::timeout(Duration::from_millis(1500), client.connect()).await;
    assert!(!matches!(r, Ok(Ok(()))), "connected through a blackhole");
    // The sockets stay open: even those the client gave up on, whose FIN
    // vanished into the blackhole (tests/integration/blackhole_fin.rs)...
    assert!(
        proxy.open_connections() >= 1,
        "a blackhole keeps its sockets"
    );
    client.close().await;
    drop(events);
    // ... until the blackhole ends and the held FINs go through.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while proxy.open_connections() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        proxy.open_connections(),
        0,
        "connections left after the blackhole"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_port_adds_lists_and_logs() {
    let broker = Mosquitto::start(Options::default()).expect("mosquitto starts");
    let proxy = Arc::new(proxy_to(&broker).await);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let p = proxy.clone();
    let serve = tokio::spawn(async move { fault_proxy::control::serve(&p, listener).await });
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    let mut ask = async |cmd: &str| -> Vec<String> {
        w.write_all(format!("{cmd}\n").as_bytes()).await.unwrap();
        let mut out = Vec::new();
        while let Some(l) = lines.next_line().await.unwrap() {
            let end = l == "ok" || l.starts_with("error:");
            out.push(l);
            if end {
                break;
            }
        }
        out
    };
    assert_eq!(
        ask("add down drop pingresp 2 for 10s").await,
        vec!["id=1", "ok"]
    );
    let rules = ask("rules").await;
    assert!(
        rules[0].starts_with("#1 down drop pingresp 2 from"),
        "{rules:?}"
    );
    assert_eq!(ask("remove 9").await, vec!["error: no rule #9"]);
    assert_eq!(ask("explode").await.len(), 1);
    let log = ask("log 5").await.join("\n");
    assert!(log.contains("rule added: #1 down drop pingresp 2"), "{log}");
    serve.abort();
}
