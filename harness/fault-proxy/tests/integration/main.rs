//! The fault proxy's integration tests in one binary (a module per file).

mod blackhole_order;
mod framing_props;
mod mosquitto_roundtrip;
mod wire_tap;
