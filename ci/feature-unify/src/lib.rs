//! No code: this crate exists for its dependencies' features (see its
//! Cargo.toml), so that ci/test.sh's builds of the driver and the bridge
//! on their own reuse the workspace build's artifacts.
#![no_std]
