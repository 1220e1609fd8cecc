//! The virtual board: see `hil::board::virtual_board`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(hil::board::virtual_board::main(&args));
}
