//! The virtual board: see `hil::board::virtual_board`.

/// Counts live heap bytes for the board's `heap` reports.
#[global_allocator]
static ALLOC: hil::board::virtual_board::CountingAlloc = hil::board::virtual_board::CountingAlloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(hil::board::virtual_board::main(&args));
}
