//! P5 beyond: where the offline queue keeps QoS >= 1 publishes across a
//! reboot. The session core never does I/O: it emits
//! [`StoreOp`](crate::session::StoreOp)s and takes loaded records back with
//! [`Session::restore`](crate::session::Session::restore). A shell hands
//! those to a [`QueueStorage`]: three record operations on opaque byte
//! strings keyed by a growing sequence number, small enough for a flash
//! sector or a key-value store on a board.
//!
//! - [`MemoryStorage`] (`alloc`): a map in RAM, for tests and the simulator
//!   (shared through `Arc<Mutex<_>>` it survives a simulated reboot).
//! - [`FileStorage`] (`std`): one file per record in a directory, written
//!   atomically, checksummed.

#[cfg(feature = "std")]
mod file;

#[cfg(any(feature = "alloc", test))]
use alloc::{collections::BTreeMap, vec::Vec};
#[cfg(any(feature = "alloc", test))]
use core::convert::Infallible;
use core::fmt;

#[cfg(feature = "std")]
pub use file::{
    parse_record_file, record_file_bytes, FileRecordError, FileStorage, FileStorageError,
};

use crate::session::store::{self, Many, Seq, Text};
use crate::session::{RestoreError, Session, StoreOp};

/// Storage for the offline queue's records.
pub trait QueueStorage {
    type Error: fmt::Display;

    /// Keeps `record` under `seq`; durable when it returns `Ok`.
    fn append(&mut self, seq: u64, record: &[u8]) -> Result<(), Self::Error>;

    /// Forgets the record under `seq` (no error if there is none).
    fn remove(&mut self, seq: u64) -> Result<(), Self::Error>;

    /// Calls `each` for every readable record, in `seq` order. If some
    /// records could not be read, they are skipped, the readable ones are
    /// still delivered, and the error afterwards says which and why.
    fn load(&mut self, each: &mut dyn FnMut(u64, &[u8])) -> Result<(), Self::Error>;

    /// Carries out one operation from [`Session::poll_store`].
    fn apply(&mut self, op: &StoreOp) -> Result<(), Self::Error> {
        match op {
            StoreOp::Append { seq, record } => self.append(*seq, record),
            StoreOp::Remove { seq } => self.remove(*seq),
        }
    }
}

/// Any [`QueueStorage`] as a trait object, its errors as text: what a
/// shell keeps (the embedded runner holds a `&mut dyn DynQueueStorage`).
pub trait DynQueueStorage {
    fn apply_op(&mut self, op: &StoreOp) -> Result<(), Text>;
}

impl<S: QueueStorage + ?Sized> DynQueueStorage for S {
    fn apply_op(&mut self, op: &StoreOp) -> Result<(), Text> {
        self.apply(op)
            .map_err(|e| store::text_fmt(format_args!("{e}")))
    }
}

/// The problems [`restore_into`] reports (without alloc, the first eight).
pub type Problems = Many<Text, 8>;

/// Loads every record of `storage` into `session` (before `connect`).
/// Returns how many were restored and the problems met: a storage error
/// (the readable records are restored anyway) and records the session
/// refused (unreadable, or over the bound); each problem is also reported
/// to the session as [`Event::StorageFailed`](crate::session::Event).
pub fn restore_into<S: QueueStorage + ?Sized>(
    storage: &mut S,
    session: &mut Session,
) -> (usize, Problems) {
    let mut problems = Problems::new();
    let mut note = |p: Text| {
        let _ = problems.try_push(p);
    };
    // Restored as they are read (no copy of the records); the unreadable
    // ones are removed afterwards, when the storage is free again.
    let mut unreadable: Many<u64, { store::caps::OUTBOX }> = Many::new();
    let mut restored = 0;
    let mut refused: Many<Text, 8> = Many::new();
    let loaded = storage.load(&mut |seq, record| match session.restore(seq, record) {
        Ok(_) => restored += 1,
        Err(e) => {
            let _ = refused.try_push(store::text_fmt(format_args!(
                "offline queue record {seq}: {e}"
            )));
            if let RestoreError::Record(_) = e {
                // Unreadable: it can never be sent; do not load it again.
                let _ = unreadable.try_push(seq);
            }
        }
    });
    if let Err(e) = loaded {
        note(store::text_fmt(format_args!(
            "loading the offline queue: {e}"
        )));
    }
    for p in refused {
        note(p);
    }
    for seq in unreadable {
        if let Err(e) = storage.remove(seq) {
            note(store::text_fmt(format_args!("removing record {seq}: {e}")));
        }
    }
    for p in &problems {
        session.handle_storage_error(p);
    }
    (restored, problems)
}

/// Records in RAM (tests, the simulator's "flash").
#[cfg(any(feature = "alloc", test))]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryStorage {
    records: BTreeMap<u64, Vec<u8>>,
}

#[cfg(any(feature = "alloc", test))]
impl MemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records are stored.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The stored sequence numbers, in order.
    pub fn seqs(&self) -> Vec<u64> {
        self.records.keys().copied().collect()
    }
}

#[cfg(any(feature = "alloc", test))]
impl QueueStorage for MemoryStorage {
    type Error = Infallible;

    fn append(&mut self, seq: u64, record: &[u8]) -> Result<(), Infallible> {
        self.records.insert(seq, record.to_vec());
        Ok(())
    }

    fn remove(&mut self, seq: u64) -> Result<(), Infallible> {
        self.records.remove(&seq);
        Ok(())
    }

    fn load(&mut self, each: &mut dyn FnMut(u64, &[u8])) -> Result<(), Infallible> {
        for (seq, r) in &self.records {
            each(*seq, r);
        }
        Ok(())
    }
}

/// A storage shared between owners (e.g. kept by a simulator across the
/// reboots of the device that uses it).
#[cfg(feature = "std")]
impl<S: QueueStorage> QueueStorage for std::sync::Arc<std::sync::Mutex<S>> {
    type Error = S::Error;

    fn append(&mut self, seq: u64, record: &[u8]) -> Result<(), S::Error> {
        self.lock()
            .unwrap_or_else(|e| e.into_inner())
            .append(seq, record)
    }

    fn remove(&mut self, seq: u64) -> Result<(), S::Error> {
        self.lock().unwrap_or_else(|e| e.into_inner()).remove(seq)
    }

    fn load(&mut self, each: &mut dyn FnMut(u64, &[u8])) -> Result<(), S::Error> {
        self.lock().unwrap_or_else(|e| e.into_inner()).load(each)
    }
}
