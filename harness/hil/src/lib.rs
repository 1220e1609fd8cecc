//! The harness: scenario model, trace, oracles and the `hil` command.
