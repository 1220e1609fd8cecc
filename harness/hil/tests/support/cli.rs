//! `hil ARGS` in-process, as the tests run it: the real command-line
//! parser and `cli::execute_with`, with the backends a test chooses, and
//! what it printed and its exit code captured.

use clap::Parser;
use hil::backends::{BackendFactory, ParallelFactory};
use hil::cli::{self, Cli, Io};

/// What a command printed and its exit code.
pub struct Output {
    pub code: i32,
    pub out: String,
    pub err: String,
}

impl Output {
    /// `(code, stdout, stderr)`.
    pub fn parts(self) -> (i32, String, String) {
        (self.code, self.out, self.err)
    }
}

/// Runs `hil ARGS` with the backends `backends` makes, on worker threads
/// when `parallel` is given (as the `hil` binary does).
pub fn hil_with<S: AsRef<str>>(
    args: &[S],
    backends: BackendFactory<'_>,
    parallel: Option<ParallelFactory<'_>>,
) -> Output {
    let cli = Cli::try_parse_from(std::iter::once("hil").chain(args.iter().map(|a| a.as_ref())))
        .expect("valid arguments");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = cli::execute_with(
        cli,
        &mut Io {
            out: &mut out,
            err: &mut err,
        },
        backends,
        parallel,
    );
    Output {
        code,
        out: String::from_utf8(out).expect("stdout is UTF-8"),
        err: String::from_utf8(err).expect("stderr is UTF-8"),
    }
}

/// Runs `hil ARGS` with the real backends, one run at a time.
pub fn hil<S: AsRef<str>>(args: &[S]) -> Output {
    hil_with(args, &hil::backends::create, None)
}
