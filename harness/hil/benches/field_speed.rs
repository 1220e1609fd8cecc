//! `hil import` and `hil shrink` speed (`cargo bench -p hil --bench field_speed`):
//!
//! - import: a synthetic capture of about 40 MB, the broker-side capture
//!   of the `broker-restart` field case (fixtures/field/) repeated with
//!   shifted times and ports (distinct connections, one hour and more of
//!   traffic), read by the pcap reader alone and by the whole import
//!   (reader, rules, scenario); MB/s of pcap;
//! - shrink: the one-hour bench scenario (`benches/scenarios/
//!   hour-fault-every-5m.toml`, 14 faults) with `duplicates_at_most n = 0`
//!   added, which its lost PUBACK breaks, shrunk with seed 1; runs/s
//!   (`FIELD_BENCH_RUNS`, default 40, caps the runs).
//!
//! Prints numbers; no statistics framework (one machine, one run each).

use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, Instant};

use hil::field::{import, input, shrink, ImportOptions};
use hil::sim::SimBackend;
use pcap_file::pcap::{PcapPacket, PcapReader, PcapWriter};

fn synthetic_capture(target_bytes: usize) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/field");
    let src = std::fs::read(dir.join("broker-restart.broker.pcap")).expect("fixture");
    let mut r = PcapReader::new(Cursor::new(&src)).expect("pcap");
    let header = r.header();
    let mut packets: Vec<(Duration, Vec<u8>)> = Vec::new();
    while let Some(p) = r.next_packet() {
        let p = p.expect("packet");
        packets.push((p.timestamp, p.data.into_owned()));
    }
    let span = packets.last().unwrap().0 - packets[0].0 + Duration::from_secs(1);
    let mut w = PcapWriter::with_header(Vec::with_capacity(target_bytes + 100_000), header)
        .expect("writer");
    let mut round = 0u32;
    let mut written = 0;
    while written < target_bytes {
        for (t, data) in &packets {
            let mut d = data.clone();
            // Shift both TCP ports (Ethernet 14 + IPv4 20 bytes) so that
            // every round is a new set of connections.
            if d.len() >= 38 {
                for off in [34usize, 36] {
                    let port = u16::from_be_bytes([d[off], d[off + 1]]);
                    let shifted = if port < 32768 {
                        port
                    } else {
                        32768 + (port - 32768 + round as u16 * 7) % 28000
                    };
                    d[off..off + 2].copy_from_slice(&shifted.to_be_bytes());
                }
            }
            let ts = *t + span * round;
            w.write_packet(&PcapPacket::new(ts, d.len() as u32, &d))
                .expect("write");
            written += d.len() + 16;
        }
        round += 1;
    }
    w.into_writer()
}

fn main() {
    let pcap = synthetic_capture(40 << 20);
    let mb = pcap.len() as f64 / (1 << 20) as f64;
    let t = Instant::now();
    let (s, ev) = input::pcap::read("bench.pcap", &pcap).expect("reads");
    let read_s = t.elapsed().as_secs_f64();
    println!(
        "import: pcap reader     {mb:.1} MB, {} packets, {} observations in {read_s:.2} s: {:.1} MB/s",
        s.units,
        ev.len(),
        mb / read_s
    );
    let t = Instant::now();
    let files = vec![("bench.pcap".to_string(), pcap)];
    let imported = import(
        &files,
        &ImportOptions {
            dut: Some("dut-brc".into()),
            ..Default::default()
        },
    )
    .expect("imports");
    let all_s = t.elapsed().as_secs_f64();
    println!(
        "import: whole hil import {mb:.1} MB -> {} timeline entries in {all_s:.2} s: {:.1} MB/s",
        imported.scenario.timeline.len(),
        mb / all_s
    );

    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/scenarios/hour-fault-every-5m.toml");
    let text = std::fs::read_to_string(&path).expect("bench scenario")
        + "\n[[expect]]\noracle = \"duplicates_at_most\"\nn = 0\n";
    let max_runs: usize = std::env::var("FIELD_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let sim = SimBackend::new();
    let failure = hil::field::failure::FailureSpec::parse("duplicates_at_most").unwrap();
    let s = shrink::shrink(
        &text,
        "hour-fault-every-5m.toml",
        1,
        Some(failure),
        &sim,
        max_runs,
    )
    .expect("shrinks");
    let secs = s.elapsed.as_secs_f64();
    println!(
        "shrink: 1 h scenario, {} faults -> {}, duration -> {}, {} runs in {secs:.1} s: {:.2} runs/s{}",
        14,
        s.scenario.timeline.len(),
        s.scenario.duration,
        s.runs,
        s.runs as f64 / secs,
        if s.budget_exhausted { " (budget used up)" } else { "" }
    );
}
