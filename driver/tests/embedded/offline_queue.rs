//! P5 beyond on the embedded (no_std) shell: a runner with a persisted
//! offline queue in a `QueueStorage` over a map (a flash sector's stand-in), on the
//! host against a real mosquitto. Publishes made while the broker is down
//! are stored; the session is closed (power lost: nothing acknowledged);
//! a new runner on the same storage restores them and publishes them in
//! order after it connects, and the storage empties.

//!
//! The same test runs with the allocation-free session
//! (`--no-default-features --features embedded-tokio`, in ci/test.sh).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use crate::support::{text, Observer};
use mosquitto_rig::{Mosquitto, Options};
use resilient_mqtt::codec::QoS;
use resilient_mqtt::embedded::host::{TcpConnector, TokioClock, TokioDelay};
use resilient_mqtt::embedded::raw::NoopRawMutex;
use resilient_mqtt::embedded::{Client, Runner, Shared};
use resilient_mqtt::session::{Config, OfflineQueue, Overflow};
use resilient_mqtt::storage::QueueStorage;
use tokio::time::timeout;

/// A flash sector's stand-in: records by sequence number.
#[derive(Default)]
struct Flash {
    records: BTreeMap<u64, Vec<u8>>,
}

impl Flash {
    fn len(&self) -> usize {
        self.records.len()
    }
    fn seqs(&self) -> Vec<u64> {
        self.records.keys().copied().collect()
    }
}

impl QueueStorage for Flash {
    type Error = Infallible;
    fn append(&mut self, seq: u64, record: &[u8]) -> Result<(), Infallible> {
        self.records.insert(seq, record.to_vec());
        Ok(())
    }
    fn remove(&mut self, seq: u64) -> Result<(), Infallible> {
        self.records.remove(&seq);
        Ok(())
    }
    fn load(&mut self, each: &mut dyn FnMut(u64, &[u8])) -> Result<(), Infallible> {
        for (seq, r) in &self.records {
            each(*seq, r);
        }
        Ok(())
    }
}

fn config(port: u16) -> Config {
    Config {
        client_id: text("emb-oq"),
        server: text("127.0.0.1"),
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
    let mut flash = Flash::default();

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
    let mut observer = Observer::start("emb-oq-observer", port, "emboq/#").await;

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
            let payload = observer
                .next(Duration::from_secs(10))
                .await
                .expect("a message within 10 s");
            got.push(payload);
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
    assert_eq!(flash.len(), 0, "acknowledged: {:?}", flash.seqs());
}
