//! What hil's integration tests share: one copy, included by each test
//! binary (`tests/pure`, `tests/live`, `tests/boards`, `tests/live_cleanup.rs`).
#![allow(dead_code)]

pub mod cli;
pub mod proc;

/// Runs the scenario `text` on the simulator with `seed` and returns its
/// trace records (panics on a parse or run error).
pub fn sim_records(text: &str, seed: u64) -> Vec<hil::trace::Record> {
    use hil::backend::Backend;
    let (scenario, _) = hil::scenario::parse(text).unwrap_or_else(|e| panic!("{e:?}"));
    let mut sink = hil::trace::sink::VecSink::default();
    hil::sim::SimBackend::new()
        .run(&scenario, seed, &mut sink)
        .unwrap_or_else(|e| panic!("{e}"));
    sink.records
}

/// A headless chromium on this machine (`chromium`, `chromium-browser`,
/// `google-chrome`), if one is installed.
pub fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// Opens the page `html` in headless `browser` (a 1200x800 window) and
/// returns the screenshot's PNG bytes, checked to be a PNG; a copy goes to
/// `$HIL_SCREENSHOT` when set.
pub fn screenshot(browser: &str, html: &std::path::Path, png: &std::path::Path) -> Vec<u8> {
    let status = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            &format!("--screenshot={}", png.display()),
            "--window-size=1200,800",
            &format!("file://{}", html.display()),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{browser} failed: {status}");
    let bytes = std::fs::read(png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    if let Ok(keep) = std::env::var("HIL_SCREENSHOT") {
        std::fs::copy(png, keep).unwrap();
    }
    bytes
}

/// Runs black-box DUTs (processes, boards' own firmware) at each
/// scenario's `live_time_scale` instead of real time, for this test
/// process and the processes it starts: the suite's runs stay short. Their
/// timing verdicts are then not fair to such a device (its timers are not
/// scaled), which the tests that call this account for.
#[allow(dead_code)] // not every test binary runs black-box DUTs
pub fn black_boxes_at_scenario_speed() {
    std::env::set_var(hil::realtime::TIME_SCALE_ENV, "scenario");
}
