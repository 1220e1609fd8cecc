//! `hil`: see `hil --help` and harness/hil/README.md.

use clap::Parser;

fn main() {
    let cli = hil::cli::Cli::parse();
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    let mut io = hil::cli::Io {
        out: &mut out,
        err: &mut err,
    };
    let code = hil::cli::execute_with(
        cli,
        &mut io,
        &hil::backends::create,
        Some(&hil::backends::parallel),
    );
    std::process::exit(code);
}
