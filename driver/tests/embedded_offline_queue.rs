//! P5 beyond on the embedded (no_std) shell: a runner with a persisted
//! offline queue in a `MemoryStorage` (a flash sector's stand-in), on the
//! host against a real mosquitto. Publishes made while the broker is down
//! are stored; the session is closed (power lost: nothing acknowledged);
//! a new runner on the same storage restores them and publishes them in
//! order after it connects, and the storage empties.

use std::time::Duration;

use mosquitto_rig::{Mosquitto, Options};
use resilient_mqtt::client::ClientBuilder;
use resilient_mqtt::codec::QoS;
use resilient_mqtt::embedded::host::{TcpConnector, TokioClock, TokioDelay};
use resilient_mqtt::embedded::raw::NoopRawMutex;
use resilient_mqtt::embedded::{Client, Runner, Shared};
use resilient_mqtt::session::{Config, OfflineQueue, Overflow};
use resilient_mqtt::storage::MemoryStorage;
use tokio::time::timeout;

fn config(port: u16) -> Config {
    Config {
        client_id: "emb-oq".into(),
        server: "127.0.0.1".into(),
        port,
        response_time: Duration::from_secs(2),
        offline_queue: Some(OfflineQueue {
            max_messages: 3,
            max_bytes: 1024,
            overflow: Overflow::DropOldest,
            persist: true,
        }),
        ..Config::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_runner_persists_and_restores_the_offline_queue() {
    let mut broker = Mosquitto::start(Options::default()).unwrap_or_else(|e| panic!("{e}"));
    let port = broker.port();
    let mut flash = MemoryStorage::new();

    // First boot: connect, then the broker goes away; 5 publishes into a
    // queue of 3 (drop oldest); then power is lost (close: nothing sent).
    {
        let shared: &'static Shared<NoopRawMutex> = Box::leak(Box::new(Shared::new()));
        let mut rx = [0u8; 1024];
        let mut runner = Runner::new(
            config(port),
            TcpConnector,
            TokioClock::new(),
            TokioDelay,
            shared,
            &mut rx,
        )
        .unwrap();
        assert_eq!(runner.storage(&mut flash), 0);
        let c = Client::new(shared);
        let broker = &mut broker;
        let app = async {
            c.connect_quick().await.unwrap();
            tokio::task::block_in_place(|| broker.kill());
            // Each publish waits for the end of the outage: start them
            // without waiting, one after the other.
            let pending = async {
                let calls = (0..5u8).map(|i| {
                    let c = &c;
                    async move {
                        let _ = c
                            .publish("emboq/t", &[b'm', b'0' + i], false, QoS::AtLeastOnce)
                            .await;
                    }
                });
                futures_util::future::join_all(calls).await;
            };
            let settle = async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                c.close().await;
            };
            tokio::join!(pending, settle);
        };
        timeout(Duration::from_secs(30), async {
            tokio::join!(runner.run(), app)
        })
        .await
        .expect("first boot ends within 30 s");
        assert_eq!(runner.session().stats().queue_dropped, 2);
    }
    assert_eq!(
        flash.len(),
        3,
        "the 3 newest are stored: {:?}",
        flash.seqs()
    );

    // Second boot, broker back.
    tokio::task::block_in_place(|| broker.restart()).unwrap();
    // The observer subscribes to the restarted broker before the boot.
    let observer = ClientBuilder::new(Config {
        client_id: "emb-oq-observer".into(),
        server: "127.0.0.1".into(),
        port,
        queue_len: 100,
        clean_init: false,
        clean: false,
        ..Config::default()
    })
    .spawn()
    .unwrap();
    observer.connect_quick().await.unwrap();
    observer
        .subscribe("emboq/#", QoS::AtLeastOnce)
        .await
        .unwrap();

    let shared: &'static Shared<NoopRawMutex> = Box::leak(Box::new(Shared::new()));
    let mut rx = [0u8; 1024];
    let mut runner = Runner::new(
        config(port),
        TcpConnector,
        TokioClock::new(),
        TokioDelay,
        shared,
        &mut rx,
    )
    .unwrap();
    assert_eq!(runner.storage(&mut flash), 3);
    let c = Client::new(shared);
    let app = async {
        c.connect_quick().await.unwrap();
        let mut got = Vec::new();
        while got.len() < 3 {
            let m = timeout(Duration::from_secs(10), observer.next_message())
                .await
                .expect("a message within 10 s")
                .unwrap();
            got.push(m.payload);
        }
        assert_eq!(got, vec![b"m2".to_vec(), b"m3".to_vec(), b"m4".to_vec()]);
        // Let the PUBACKs in, then end.
        tokio::time::sleep(Duration::from_millis(300)).await;
        c.disconnect().await;
    };
    timeout(Duration::from_secs(30), async {
        tokio::join!(runner.run(), app)
    })
    .await
    .expect("second boot ends within 30 s");
    drop(runner);
    assert!(flash.is_empty(), "acknowledged: {:?}", flash.seqs());
}
