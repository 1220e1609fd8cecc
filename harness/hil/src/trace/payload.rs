//! The payload format of workload messages, which lets oracles tell messages
//! apart.
//!
//! Every message the workload publishes (the DUT's application, or an
//! observer) has a unique id `"<source>-<stream>:<seq>"`:
//!
//! - `source` is `dut` for the DUT application's publishes and `obs` for the
//!   observer's;
//! - `stream` is the 0-based index of the `[[workload.publish]]` /
//!   `[[workload.observer]]` entry in the scenario file;
//! - `seq` counts that stream's messages from 1.
//!
//! The payload is the id, then one space, then `.` padding up to the
//! stream's `payload_size` bytes (a payload is never shorter than its id plus
//! the space: ids are not truncated). [`identity`] gets the id back from a
//! payload; payloads that do not have this form (e.g. a will message) have
//! no identity.

/// The id of message `seq` of `stream` from `source` (`dut` or `obs`).
pub fn msg_id(source: &str, stream: usize, seq: u64) -> String {
    format!("{source}-{stream}:{seq}")
}

/// The payload for message `id`, padded with `.` to `size` bytes.
pub fn make(id: &str, size: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(size.max(id.len() + 1));
    p.extend_from_slice(id.as_bytes());
    p.push(b' ');
    while p.len() < size {
        p.push(b'.');
    }
    p
}

/// The message id at the start of `payload`, if it has the workload form.
pub fn identity(payload: &[u8]) -> Option<String> {
    let end = payload.iter().position(|&b| b == b' ')?;
    let id = std::str::from_utf8(&payload[..end]).ok()?;
    let (head, seq) = id.rsplit_once(':')?;
    let (source, stream) = head.split_once('-')?;
    let ok = !source.is_empty()
        && source.bytes().all(|b| b.is_ascii_lowercase())
        && !stream.is_empty()
        && stream.bytes().all(|b| b.is_ascii_digit())
        && !seq.is_empty()
        && seq.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn payloads_are_padded_ids() {
        let id = msg_id("dut", 0, 17);
        assert_eq!(id, "dut-0:17");
        assert_eq!(make(&id, 12), b"dut-0:17 ...".to_vec());
        assert_eq!(make(&id, 2), b"dut-0:17 ".to_vec());
        assert_eq!(identity(&make(&id, 64)).as_deref(), Some("dut-0:17"));
        assert_eq!(identity(b"offline"), None);
        assert_eq!(identity(b"x-y:1 "), None);
    }

    proptest! {
        #[test]
        fn identity_round_trips(stream in 0usize..100, seq in 1u64..1_000_000, size in 0usize..300, obs in any::<bool>()) {
            let id = msg_id(if obs { "obs" } else { "dut" }, stream, seq);
            let p = make(&id, size);
            prop_assert!(p.len() >= size);
            prop_assert_eq!(identity(&p), Some(id));
        }

        #[test]
        fn identity_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = identity(&bytes);
        }
    }
}
