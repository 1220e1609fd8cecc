//! The embedded (no_std) shell on the host, against a real mosquitto on a
//! free port: tokio TCP through `FromTokio` as its `embedded-io-async`
//! socket, tokio's clock and delay. The runner and the application run in
//! one task (as on an embassy executor), sharing a `Shared<NoopRawMutex>`.
//!
//! - connect, subscribe, publish QoS 0 and QoS 1 and receive both back;
//!   requests the shell's buffers cannot hold are refused, not truncated;
//! - the broker is killed and restarted: the shell sees the outage, a QoS 1
//!   publish made during it waits, completes after the restart, and reaches
//!   a persistent observer (not lost).

//!
//! The same tests run with the allocation-free session
//! (`--no-default-features --features embedded-tokio`, in ci/test.sh).

use std::time::Duration;

use crate::support::Observer;
use mosquitto_rig::Options;
use resilient_mqtt::codec::QoS;
use resilient_mqtt::embedded::host::{TcpConnector, TokioClock, TokioDelay};
use resilient_mqtt::embedded::raw::NoopRawMutex;
use resilient_mqtt::embedded::{Client, Error, Runner, Shared};
use resilient_mqtt::session::{Config, RequestError};
use tokio::time::timeout;

type EmbeddedClient<'a> = Client<'a, NoopRawMutex>;

use crate::support::{config, start};

/// Runs `app` against an embedded client for `config` until it returns;
/// the app must end the session (disconnect/close) so that `run` returns.
async fn with_embedded<F, Fut>(config: Config, app: F)
where
    F: FnOnce(EmbeddedClient<'static>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    // Leaked for a 'static handle: one small allocation per test.
    let shared: &'static Shared<NoopRawMutex> = Box::leak(Box::new(Shared::new()));
    let mut rx = [0u8; 1024];
    let mut runner = Runner::new(
        config,
        TcpConnector,
        TokioClock::new(),
        TokioDelay,
        shared,
        &mut rx,
    )
    .expect("config");
    let client = Client::new(shared);
    let both = async { tokio::join!(runner.run(), app(client)) };
    timeout(Duration::from_secs(60), both)
        .await
        .expect("the test finishes within 60 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_connect_publish_qos0_qos1_subscribe_receive() {
    let broker = start(Options::default());
    with_embedded(config(&broker, "emb-pubsub"), |c| async move {
        c.connect_quick().await.expect("connect");
        assert!(c.is_connected());
        assert_eq!(
            c.subscribe("emb/#", QoS::AtLeastOnce).await.unwrap(),
            QoS::AtLeastOnce
        );
        c.publish("emb/0", b"zero", false, QoS::AtMostOnce)
            .await
            .unwrap();
        c.publish("emb/1", b"one", false, QoS::AtLeastOnce)
            .await
            .unwrap();
        let a = timeout(Duration::from_secs(5), c.receive()).await.unwrap();
        let b = timeout(Duration::from_secs(5), c.receive()).await.unwrap();
        assert_eq!(
            (a.topic.as_str(), a.payload.as_slice(), a.qos),
            ("emb/0", &b"zero"[..], QoS::AtMostOnce)
        );
        assert_eq!(
            (b.topic.as_str(), b.payload.as_slice(), b.qos),
            ("emb/1", &b"one"[..], QoS::AtLeastOnce)
        );
        // Bounded buffers: refused with a clear error, never truncated.
        let big = [0u8; 257];
        assert_eq!(
            c.publish("emb/big", &big, false, QoS::AtMostOnce).await,
            Err(Error::BufferTooSmall)
        );
        let long_topic = "t/".repeat(40);
        assert_eq!(
            c.subscribe(&long_topic, QoS::AtMostOnce).await,
            Err(Error::BufferTooSmall)
        );
        assert_eq!(
            c.publish("bad/#", b"x", false, QoS::AtMostOnce).await,
            Err(Error::Request(RequestError::InvalidTopic))
        );
        c.unsubscribe("emb/#").await.unwrap();
        assert_eq!(c.stats().connections, 1);
        assert_eq!(c.dropped_messages(), 0);
        c.disconnect().await;
        assert!(!c.is_connected());
        assert_eq!(
            c.publish("emb/late", b"x", false, QoS::AtMostOnce).await,
            Err(Error::Stopped)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_recovers_from_broker_kill_and_restart_without_losing_qos1() {
    let mut broker = start(Options {
        persistence: true,
        ..Options::default()
    });
    let mut observer = Observer::start("emb-observer", broker.port(), "emb-stream/#").await;
    let broker = &mut broker;
    with_embedded(config(broker, "emb-dut"), |c| async move {
        c.connect_quick().await.expect("connect");
        for i in 0..3u8 {
            c.publish("emb-stream/a", &[i], false, QoS::AtLeastOnce)
                .await
                .unwrap();
        }
        // Let mosquitto autosave the observer's session (autosave_interval 1).
        tokio::time::sleep(Duration::from_millis(1500)).await;
        tokio::task::block_in_place(|| broker.kill());
        // B2: the closed socket is seen at once.
        let seen_down = timeout(Duration::from_secs(2), async {
            while c.is_connected() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(seen_down.is_ok(), "the outage is seen within 2 s");

        let during = c.publish("emb-stream/a", b"during", false, QoS::AtLeastOnce);
        tokio::pin!(during);
        assert!(
            timeout(Duration::from_secs(2), &mut during).await.is_err(),
            "a QoS 1 publish cannot complete while the broker is down"
        );
        tokio::task::block_in_place(|| broker.restart()).unwrap();
        timeout(Duration::from_secs(15), &mut during)
            .await
            .expect("completes after the outage")
            .expect("published");
        assert!(c.is_connected());
        let stats = c.stats();
        assert!(stats.connections >= 2, "reconnected: {stats:?}");
        assert!(stats.outages >= 1, "{stats:?}");
        c.disconnect().await;
    })
    .await;

    let mut seen = Vec::new();
    while let Some(payload) = observer.next(Duration::from_secs(10)).await {
        let last = payload == b"during";
        seen.push(payload);
        if last {
            break;
        }
    }
    assert!(
        seen.iter().any(|p| p == b"during"),
        "the publish made during the outage was delivered: {seen:?}"
    );
}
