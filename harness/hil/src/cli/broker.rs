//! `hil broker`: the chaos broker (`chaos_broker::standalone`) on real TCP,
//! for real devices and live runs, until Ctrl-C.

use super::{Io, EXIT_INFRA, EXIT_OK};

/// Serves until Ctrl-C on a tokio runtime.
pub fn execute(args: chaos_broker::standalone::BrokerArgs, io: &mut Io<'_>) -> i32 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(io.err, "error: cannot start the async runtime: {e}");
            return EXIT_INFRA;
        }
    };
    match rt.block_on(chaos_broker::standalone::run(args)) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            let _ = writeln!(io.err, "error: {e}");
            EXIT_INFRA
        }
    }
}
