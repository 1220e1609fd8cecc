//! P5 beyond: the bounded, persisted offline queue with the tokio client,
//! a `FileStorage` and a real mosquitto. Publishes made while the link is
//! down fill the queue (drop oldest beyond its bound), the device loses
//! power (the driver task is aborted), and a new client on the same
//! storage directory publishes what was held, in order, after it connects.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mosquitto_rig::{Mosquitto, Options};
use resilient_mqtt::client::{ClientBuilder, Notification, WatchLink};
use resilient_mqtt::codec::QoS;
use resilient_mqtt::session::{Config, Event, OfflineQueue, Overflow, RequestError};
use resilient_mqtt::storage::FileStorage;
use tokio::time::timeout;

fn rec_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".rec"))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_qos1_survives_a_power_loss_and_goes_out_in_order() {
    let broker = Mosquitto::start(Options::default()).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let base = Config {
        server: "127.0.0.1".into(),
        port: broker.port(),
        response_time: Duration::from_secs(2),
        link_integrity: Duration::from_millis(100),
        ..Config::default()
    };
    let observer = ClientBuilder::new(Config {
        client_id: "oq-observer".into(),
        queue_len: 100,
        ..base.clone()
    })
    .spawn()
    .unwrap();
    observer.connect_quick().await.unwrap();
    observer.subscribe("oq/#", QoS::AtLeastOnce).await.unwrap();

    let dut_config = Config {
        client_id: "oq-dut".into(),
        offline_queue: Some(OfflineQueue {
            max_messages: 5,
            max_bytes: 1024,
            overflow: Overflow::DropOldest,
            persist: true,
        }),
        ..base.clone()
    };
    let link = WatchLink::new(true);
    let (dut, driver) = ClientBuilder::new(dut_config.clone())
        .link(link.clone())
        .storage(FileStorage::open(dir.path()).unwrap())
        .build()
        .unwrap();
    let power = tokio::spawn(driver.run());
    dut.connect_quick().await.unwrap();
    dut.publish("oq/t", b"live", false, QoS::AtLeastOnce)
        .await
        .unwrap();
    assert_eq!(rec_files(dir.path()), 0, "acknowledged: not kept");

    let mut notes = dut.notifications();
    link.set_available(false);
    let down = timeout(Duration::from_secs(2), notes.recv()).await.unwrap();
    assert!(matches!(down, Ok(Notification::Down { .. })), "{down:?}");
    // One at a time (each call is its own task, spaced so the driver gets
    // them in this order): m0 is the oldest.
    let mut calls = Vec::new();
    for i in 0..8 {
        let dut = dut.clone();
        calls.push(tokio::spawn(async move {
            dut.publish("oq/t", format!("m{i}").as_bytes(), false, QoS::AtLeastOnce)
                .await
        }));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Until the driver has taken all eight (a loaded machine may take a
    // while; a fixed sleep made this flaky under CI load).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while dut.stats().queue_dropped < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(dut.stats().queue_dropped, 3);
    assert_eq!(rec_files(dir.path()), 5, "the 5 newest are stored");
    // The three oldest calls failed with Dropped; the rest still wait.
    let mut dropped = 0;
    for c in &calls {
        if c.is_finished() {
            dropped += 1;
        }
    }
    assert_eq!(dropped, 3);
    power.abort(); // power lost: no DISCONNECT, nothing cleaned up
    let _ = power.await;
    for c in calls {
        let r = c.await.unwrap();
        assert!(
            matches!(
                r,
                Err(resilient_mqtt::client::ClientError::Request(
                    RequestError::Dropped
                )) | Err(resilient_mqtt::client::ClientError::DriverGone)
            ),
            "{r:?}"
        );
    }
    assert_eq!(rec_files(dir.path()), 5, "a power loss keeps them");

    // Boot again on the same storage, with the link back.
    let restored = Arc::new(Mutex::new(Vec::new()));
    let seen = restored.clone();
    let dut = ClientBuilder::new(dut_config)
        .storage(FileStorage::open(dir.path()).unwrap())
        .on_event(move |e| {
            if let Event::PublishRestored { payload, .. } = e {
                seen.lock().unwrap().push(payload.clone());
            }
        })
        .spawn()
        .unwrap();
    dut.connect_quick().await.unwrap();
    let mut got = Vec::new();
    while got.len() < 6 {
        let m = timeout(Duration::from_secs(5), observer.next_message())
            .await
            .expect("a message within 5 s")
            .unwrap();
        got.push(String::from_utf8(m.payload).unwrap());
    }
    assert_eq!(got, ["live", "m3", "m4", "m5", "m6", "m7"]);
    assert_eq!(restored.lock().unwrap().len(), 5);
    // Acknowledged after the reboot: storage empties.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while rec_files(dir.path()) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rec_files(dir.path()), 0);
}
