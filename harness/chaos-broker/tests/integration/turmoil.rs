//! The broker inside turmoil: served over turmoil's TCP on a simulated host,
//! timed by the simulated clock (keepalive and will), restarted from a
//! snapshot across a host crash and bounce, and reproducible: the same seed
//! gives the same packet log, times included.

use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use crate::support::client::{connect, will, Client, Event};
use chaos_broker::{Broker, BrokerConfig, BrokerEvent, BrokerState};

type Slot<T> = Arc<Mutex<Option<T>>>;

fn sim(seed: u64) -> turmoil::Sim<'static> {
    turmoil::Builder::new()
        .rng_seed(seed)
        .epoch(UNIX_EPOCH)
        .simulation_duration(Duration::from_secs(120))
        .min_message_latency(Duration::from_millis(5))
        .max_message_latency(Duration::from_millis(20))
        .build()
}

/// Registers the broker host: it starts from the snapshot in `restore` if
/// any, and leaves a handle to itself in `handle`.
fn broker_host(sim: &mut turmoil::Sim<'static>, handle: Slot<Broker>, restore: Slot<BrokerState>) {
    sim.host("broker", move || {
        let handle = handle.clone();
        let restore = restore.clone();
        async move {
            let broker = match restore.lock().unwrap().take() {
                Some(state) => Broker::from_snapshot(state),
                None => Broker::new(BrokerConfig::default())?,
            };
            *handle.lock().unwrap() = Some(broker.clone());
            let listener = turmoil::net::TcpListener::bind(("0.0.0.0", 1883)).await?;
            loop {
                let (stream, _) = listener.accept().await?;
                let b = broker.clone();
                tokio::spawn(async move { b.serve_connection(stream).await });
            }
        }
    });
}

async fn dial() -> Client<turmoil::net::TcpStream> {
    Client::new(
        turmoil::net::TcpStream::connect(("broker", 1883))
            .await
            .expect("connect to the broker host"),
    )
}

#[test]
fn keepalive_and_will_in_simulated_time() {
    let handle: Slot<Broker> = Slot::default();
    let mut sim = sim(1);
    broker_host(&mut sim, handle.clone(), Slot::default());
    sim.client("watcher", async {
        let mut w = dial().await;
        w.connect(connect("watcher", true, 0)).await;
        w.subscribe(1, &[("will/#", 0)]).await;
        w.expect("SUBACK pid=1 codes=0").await;
        let start = tokio::time::Instant::now();
        match w.next_within(Duration::from_secs(20)).await {
            Event::Packet(g) => {
                assert_eq!(
                    g.summary,
                    "PUBLISH qos=0 dup=0 retain=0 topic=will/dev len=4"
                )
            }
            other => panic!("expected the will, got {other:?}"),
        }
        let waited = start.elapsed();
        // The device connected ~1 s in with keepalive 4: silent 6 s later.
        assert!(
            waited >= Duration::from_secs(6) && waited < Duration::from_secs(8),
            "{waited:?}"
        );
        Ok(())
    });
    sim.client("device", async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut d = dial().await;
        let mut con = connect("dev", true, 4);
        con.will = Some(will("will/dev", b"lost", 0, false));
        assert_eq!(d.connect(con).await, "CONNACK sp=0 rc=0");
        // Go silent with the socket open.
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(())
    });
    sim.run().unwrap();
    let b = handle.lock().unwrap().clone().unwrap();
    assert!(b.events().iter().any(|e| matches!(
        &e.event,
        BrokerEvent::WillPublished { client_id, .. } if client_id == "dev"
    )));
}

/// One run of a small scenario; returns the broker's packet log.
fn scenario(seed: u64) -> Vec<String> {
    let handle: Slot<Broker> = Slot::default();
    let restore: Slot<BrokerState> = Slot::default();
    let mut sim = sim(seed);
    broker_host(&mut sim, handle.clone(), restore.clone());
    sim.client("setup", async {
        let mut s = dial().await;
        assert_eq!(
            s.connect(connect("sub", false, 30)).await,
            "CONNACK sp=0 rc=0"
        );
        s.subscribe(1, &[("data/#", 1)]).await;
        s.expect("SUBACK pid=1 codes=1").await;
        s.disconnect().await;
        s.expect_closed().await;
        let mut p = dial().await;
        p.connect(connect("pub", true, 30)).await;
        for i in 1..=3u16 {
            p.publish(&format!("data/{i}"), b"v", 1, i, false).await;
            p.expect(&format!("PUBACK pid={i}")).await;
        }
        p.publish("data/ret", b"kept", 0, 0, true).await;
        p.disconnect().await;
        p.expect_closed().await;
        Ok(())
    });
    sim.run().unwrap();

    // The simulator keeps the state over a crash and bounce of the host.
    let before = handle.lock().unwrap().take().unwrap();
    let mut log: Vec<String> = before
        .packet_log()
        .iter()
        .map(|e| {
            format!(
                "{:?} {:?} {:?} {}",
                e.at, e.direction, e.client_id, e.summary
            )
        })
        .collect();
    *restore.lock().unwrap() = Some(before.snapshot());
    sim.crash("broker");
    sim.bounce("broker");

    sim.client("resume", async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut s = dial().await;
        assert_eq!(
            s.connect(connect("sub", false, 30)).await,
            "CONNACK sp=1 rc=0"
        );
        for i in 1..=3u16 {
            s.expect(&format!(
                "PUBLISH pid={i} qos=1 dup=0 retain=0 topic=data/{i} len=1"
            ))
            .await;
            s.puback(i).await;
        }
        s.subscribe(2, &[("data/ret", 0)]).await;
        s.expect("SUBACK pid=2 codes=0").await;
        s.expect("PUBLISH qos=0 dup=0 retain=1 topic=data/ret len=4")
            .await;
        Ok(())
    });
    sim.run().unwrap();
    let after = handle.lock().unwrap().take().unwrap();
    log.extend(after.packet_log().iter().map(|e| {
        format!(
            "{:?} {:?} {:?} {}",
            e.at, e.direction, e.client_id, e.summary
        )
    }));
    log
}

#[test]
fn snapshot_survives_a_host_bounce_and_runs_repeat() {
    let a = scenario(42);
    let b = scenario(42);
    assert!(a.len() > 20, "{a:?}");
    assert_eq!(a, b, "same seed, same packet log");
}
