#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need when
# it is missing (mosquitto from apt), then checks formatting and lints, the
# no_std builds of the driver, and runs every workspace test including doc
# tests, then the driver's tests again without an allocator. This is the
# README's test command and what .ci/run calls.
# The live suite's container tests use the machine's Docker engine (they
# print a SKIP line without one) and build their mosquitto image locally
# with ci/mosquitto-image.sh (no registry needed).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
command -v mosquitto_passwd >/dev/null 2>&1 || need_apt+=(mosquitto-clients)
# The report page is opened headless and screenshotted by a test.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== [${SECONDS}s] installing ${need_apt[*]} (apt)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# The system service is not needed: tests start their own brokers.
if command -v systemctl >/dev/null 2>&1; then systemctl stop mosquitto >/dev/null 2>&1 || true; fi

echo "== [${SECONDS}s] cargo fmt --check"
cargo fmt --all -- --check

echo "== [${SECONDS}s] cargo clippy (all targets, -D warnings; with and without alloc)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p resilient-mqtt --no-default-features --features embedded-tokio --all-targets -- -D warnings

echo "== [${SECONDS}s] no_std builds: codec and session with alloc, and without (no allocator)"
cargo build -p resilient-mqtt --no-default-features --features alloc
cargo build -p resilient-mqtt --no-default-features

echo "== [${SECONDS}s] no_std build of the embedded shell (no alloc crate linked)"
cargo build -p resilient-mqtt --no-default-features --features embedded

# The workspace's tests are built first (compile errors stop here). The
# live suite then spends ~7 minutes waiting on real brokers and the wall
# clock: it runs in the background while the rest is built and run at a
# lower priority, so that neither the CPU-bound tests (the simulator) nor
# the compiler starve its timing.
echo "== [${SECONDS}s] building the workspace's tests"
cargo test --workspace --no-run

live_log="$(mktemp)"
echo "== [${SECONDS}s] the live suite starts in the background (log: $live_log)"
# (--workspace: the binary built above, with the workspace's features)
cargo test --workspace --test live_scenarios >"$live_log" 2>&1 &
live_pid=$!
stop_live() { kill "$live_pid" 2>/dev/null || true; }
trap stop_live EXIT

echo "== [${SECONDS}s] cargo test (workspace, including doc tests; the live suite aside)"
nice -n 10 cargo test --workspace -- --skip every_live_tagged_scenario_passes_its_oracles

# The allocation-free session (no `alloc` feature): the session's unit
# tests, the embedded shell against mosquitto and in the simulator, the
# persisted offline queue, and the memory check (zero heap) again.
echo "== [${SECONDS}s] the driver without an allocator"
nice -n 10 cargo test -p resilient-mqtt --no-default-features --features embedded-tokio
# Capacities are set at build time (RESILIENT_MQTT_*): the capacity tests
# again with smaller ones.
RESILIENT_MQTT_TEXT=32 RESILIENT_MQTT_PAYLOAD=64 RESILIENT_MQTT_OUTBOX=4 \
  RESILIENT_MQTT_QUEUE=2 RESILIENT_MQTT_QOS2_IN=4 \
  nice -n 10 cargo test -p resilient-mqtt --no-default-features --lib -- session::tests::bounded session::store

# probe-rs and defmt-decoder are off by default (a clean build of them costs
# minutes, and defmt-decoder's serde_json feature must stay out of hil):
# hil-probe's tests with them (no probe attached, defmt on ELF files the
# tests write) are built and run here.
echo "== [${SECONDS}s] hil-probe with probe-rs and defmt"
nice -n 10 cargo test -p hil-probe --all-features

echo "== [${SECONDS}s] waiting for the live suite"
if wait "$live_pid"; then
  trap - EXIT
  cat "$live_log"
else
  trap - EXIT
  cat "$live_log"
  echo "== the live suite failed"
  exit 1
fi
echo "== [${SECONDS}s] done"
