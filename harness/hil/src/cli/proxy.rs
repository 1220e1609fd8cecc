//! `hil proxy --upstream HOST:PORT [--listen ADDR] [--control ADDR]
//! [--seed N] [--fault RULE]... [--log FILE]`: the MQTT-aware fault proxy
//! (crate `fault-proxy`) in the foreground, between a real device and any
//! broker, printing its timestamped log until Ctrl-C. Faults are added at
//! start with `--fault` and at any time on the control port
//! (`add drop puback 1`, `rules`, `remove 1`, `log 50`, `help`).

use super::{Io, EXIT_INFRA, EXIT_OK};

pub use fault_proxy::cli::ProxyArgs;

pub fn execute(args: ProxyArgs, io: &mut Io<'_>) -> i32 {
    match fault_proxy::cli::run(args, io.out) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            EXIT_INFRA
        }
    }
}
