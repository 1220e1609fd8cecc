//! hil-probe's integration tests in one binary (a module per file); the
//! probe-rs and defmt ones are compiled only with those features.

#[path = "../support/mod.rs"]
mod support;

mod defmt;
mod firmware;
mod no_probe;
mod selector_props;
