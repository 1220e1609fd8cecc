//! The memory budgets of `benches/memory.rs` checked in `cargo test`: the
//! session's size, the embedded shell's buffers, the `run()` future and the
//! heap a session holds with 16 QoS 1 publishes in flight.

#[path = "../benches/memory.rs"]
mod memory;

#[test]
fn memory_within_budget() {
    let figures = memory::measure();
    let over = memory::report(&figures);
    assert!(over.is_empty(), "memory budget exceeded: {over:#?}");
}
