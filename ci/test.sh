#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need when
# it is missing (mosquitto, chromium and pip from apt, cargo-nextest,
# paho-mqtt from PyPI for the black-box DUT fixture, amqtt from PyPI for
# the broker fixture), checks
# formatting and lints, builds the driver's no_std variants, and runs every
# workspace test with cargo-nextest (each test in its own process), the doc
# tests, and the driver's tests again without an allocator. This is the
# README's test command and what .ci/run calls.
#
# Shape (a cold 2-core machine spends most of its time compiling):
# - clippy lints while the code is built for the tests, not in a second
#   pass: every cargo command below runs with clippy-driver as the
#   workspace's compiler wrapper (RUSTC_WORKSPACE_WRAPPER, as `cargo clippy`
#   itself sets it, with -D warnings), so each workspace crate is compiled
#   once, linted on the way, and the dependencies are never checked
#   separately (a `cargo clippy` pass cost ~7 minutes of a cold run);
# - every target (--all-targets: tests, benches, examples, bins) is built
#   first, so lint and compile errors stop the run before anything runs;
# - the live tests, which mostly wait on real brokers and the wall clock,
#   then start in the background at normal priority while everything else
#   (the other tests, the no_std and allocation-free builds) runs beside
#   them at a lower priority, so that neither starves the live tests'
#   timing.
# Each step prints the seconds elapsed since the start.
#
# The live suite's container tests use the machine's Docker engine (they
# print a SKIP line without one) and build their mosquitto image locally
# with ci/mosquitto-image.sh (no registry needed).
#
# hil-probe with probe-rs built in (a cold build of several minutes) runs
# only when harness/hil-probe or the probe-rs version changed since the
# last run that passed it (ci/hil-probe.tested), or with HIL_PROBE_TESTS=1;
# HIL_PROBE_TESTS=0 skips it. The nightly workflow always runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { echo "== [${SECONDS}s] $*"; }

need_apt=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
command -v mosquitto_passwd >/dev/null 2>&1 || need_apt+=(mosquitto-clients)
# mosquitto_pub: the device of the lab-hook tests (tests/live/live_lab.rs).
command -v mosquitto_pub >/dev/null 2>&1 || need_apt+=(mosquitto-clients)
# The report page is opened headless and screenshotted by a test.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# pip, for paho-mqtt below.
python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
# ser2net exports the virtual board's PTY over TCP (raw and RFC 2217) for
# the remote-serial and labgrid board tests.
command -v ser2net >/dev/null 2>&1 || [ -x /usr/sbin/ser2net ] || need_apt+=(ser2net)
# `hil compare`'s MQTT.js DUT (fixtures/duts/mqttjs): Node and Debian's node-mqtt.
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
[ -e /usr/share/nodejs/mqtt ] || need_apt+=(node-mqtt)
if [ ${#need_apt[@]} -gt 0 ]; then
  step "installing ${need_apt[*]} (apt)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# The system service is not needed: tests start their own brokers.
if command -v systemctl >/dev/null 2>&1; then systemctl stop mosquitto >/dev/null 2>&1 || true; fi
if ! cargo nextest --version >/dev/null 2>&1; then
  step "installing cargo-nextest (cargo install)"
  cargo install cargo-nextest --locked
fi
# The black-box DUT fixture (fixtures/duts/paho, run by the live tests):
# paho-mqtt 2.x (Debian's python3-paho-mqtt is 1.x, without the callback
# API version 2 the app uses), from PyPI.
if ! python3 -c 'import paho.mqtt.client as m; m.CallbackAPIVersion' >/dev/null 2>&1; then
  step "installing paho-mqtt (pip)"
  python3 -m pip install -q 'paho-mqtt>=2,<3' 2>/dev/null \
    || python3 -m pip install -q --break-system-packages 'paho-mqtt>=2,<3'
fi
# labgrid (coordinator, exporter, labgrid-client) for the `--board
# labgrid:PLACE` tests, from PyPI (a few seconds with wheels cached; the
# test prints a SKIP line only when it cannot be installed).
if ! command -v labgrid-client >/dev/null 2>&1; then
  step "installing labgrid (pip)"
  python3 -m pip install -q labgrid 2>/dev/null \
    || python3 -m pip install -q --break-system-packages labgrid \
    || echo "warning: labgrid could not be installed: the labgrid board tests will SKIP"
fi
# The broker we never built (fixtures/brokers/amqtt.toml, run by
# tests/live/live_brokers.rs as `--broker exec:`): amqtt from PyPI.
if ! command -v amqtt >/dev/null 2>&1; then
  step "installing amqtt (pip)"
  python3 -m pip install -q 'amqtt>=0.12,<0.13' 2>/dev/null \
    || python3 -m pip install -q --break-system-packages 'amqtt>=0.12,<0.13'
fi

# Features the workspace's tests need beyond the default build: the
# container broker (testcontainers) is off by default in hil.
FEATURES=(--features hil/containers)
# The live tests: real brokers and the wall clock; with them the board
# tests (the virtual board over PTYs, ser2net, labgrid), which also mostly
# wait on the wall clock (~350 s of the other tests' time, at 2 threads
# the longest step after the build).
LIVE='binary(live) | binary(live_cleanup) | binary(boards)'

step "cargo fmt --check"
cargo fmt --all -- --check

# clippy for every workspace crate every command below compiles (see above).
RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)"
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

# Lint and compile errors stop here, before anything runs.
step "building every target of the workspace, linted by clippy (-D warnings)"
cargo test --workspace --all-targets "${FEATURES[@]}" --no-run

live_log="$(mktemp)"
step "the live tests start in the background (log: $live_log)"
# They mostly sleep: six at a time. A live test that fails is run once
# more and, if it then passes, reported FLAKY (.config/nextest.toml).
cargo nextest run --workspace "${FEATURES[@]}" --profile ci-live -E "$LIVE" \
  --test-threads 6 >"$live_log" 2>&1 &
live_pid=$!
stop_live() { kill "$live_pid" 2>/dev/null || true; }
trap stop_live EXIT

step "the other tests (cargo nextest, niced)"
nice -n 10 cargo nextest run --workspace "${FEATURES[@]}" --profile ci -E "not ($LIVE)"

step "doc tests"
nice -n 10 cargo test --workspace "${FEATURES[@]}" --doc

step "no_std builds (linted): codec and session with alloc, without (no allocator), the embedded shell"
# The package builds below reuse the workspace build's dependencies only
# where their features agree (ci/feature-unify, a dev-dependency of the
# driver and the bridge, sees to it); say so when it is out of date.
stale="$(ci/feature-unify/check.sh)" || stale="(check.sh failed)"
[ -z "$stale" ] || printf 'warning: ci/feature-unify is out of date; these builds compile again:\n%s\n' "$stale"
nice -n 10 cargo build -p resilient-mqtt --no-default-features --features alloc
nice -n 10 cargo build -p resilient-mqtt --no-default-features
nice -n 10 cargo build -p resilient-mqtt --no-default-features --features embedded
# The serial bridge (bridge/): protocol and host core without std or an
# allocator, the firmware shell, and that shell's test against a gateway
# and mosquitto (its other tests run with the workspace above).
nice -n 10 cargo build -p resilient-mqtt-bridge --no-default-features
nice -n 10 cargo build -p resilient-mqtt-bridge --no-default-features --features embedded
nice -n 10 cargo nextest run -p resilient-mqtt-bridge --features embedded --test embedded
nice -n 10 cargo nextest run -p resilient-mqtt-bridge --no-default-features --lib

# The allocation-free session (no `alloc` feature): the session's unit
# tests, the embedded shell against mosquitto and in the simulator, the
# persisted offline queue, and the memory check (zero heap) again.
step "the driver without an allocator (every target built and linted, then the tests)"
nice -n 10 cargo test -p resilient-mqtt --no-default-features --features embedded-tokio --all-targets --no-run
nice -n 10 cargo nextest run -p resilient-mqtt --no-default-features --features embedded-tokio
# Capacities are set at build time (RESILIENT_MQTT_*): the capacity tests
# again with smaller ones.
RESILIENT_MQTT_TEXT=32 RESILIENT_MQTT_PAYLOAD=64 RESILIENT_MQTT_OUTBOX=4 \
  RESILIENT_MQTT_QUEUE=2 RESILIENT_MQTT_QOS2_IN=4 \
  nice -n 10 cargo nextest run -p resilient-mqtt --no-default-features --lib \
  -E 'test(/^session::tests::bounded/) | test(/^session::store/)'

# probe-rs and defmt-decoder are off by default (a clean build of them costs
# minutes, and defmt-decoder's serde_json feature must stay out of hil).
# (hil-probe's own code is linted with them too.)
probe_state="$(git rev-parse HEAD:harness/hil-probe 2>/dev/null || echo none) $(grep -A1 '^name = "probe-rs"$' Cargo.lock | tail -1)"
git diff --quiet HEAD -- harness/hil-probe 2>/dev/null || probe_state="$probe_state (uncommitted changes)"
case "${HIL_PROBE_TESTS:-auto}" in
  1) run_probe=1 ;;
  0) run_probe=0 ;;
  *) if [ "$probe_state" = "$(cat ci/hil-probe.tested 2>/dev/null)" ]; then run_probe=0; else run_probe=1; fi ;;
esac
if [ "$run_probe" = 1 ]; then
  step "hil-probe with probe-rs and defmt (harness/hil-probe changed since ci/hil-probe.tested)"
  nice -n 10 cargo test -p hil-probe --all-features --all-targets --no-run
  nice -n 10 cargo nextest run -p hil-probe --all-features
  case "$probe_state" in *uncommitted*) ;; *) echo "$probe_state" > ci/hil-probe.tested ;; esac
else
  step "hil-probe with probe-rs: unchanged since ci/hil-probe.tested, skipped (HIL_PROBE_TESTS=1 runs it)"
fi

step "waiting for the live tests"
if wait "$live_pid"; then
  trap - EXIT
  cat "$live_log"
else
  trap - EXIT
  cat "$live_log"
  echo "== the live tests failed"
  exit 1
fi
step "done"
