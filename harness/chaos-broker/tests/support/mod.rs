//! Shared test support: a raw MQTT client, and a mosquitto launcher for the
//! differential tests and the benchmark.
#![allow(dead_code)]

pub mod client;
