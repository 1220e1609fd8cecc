//! [`FileStorage`]: the offline queue on a host file system. One file per
//! record, `<seq as 16 hex digits>.rec`, holding a magic, the record's
//! length, a CRC-32 and the record. A record is written to a `.tmp` file,
//! synced, and renamed into place, so a power cut leaves either the whole
//! record or none (a leftover `.tmp` is deleted at load). A file that does
//! not parse (truncated, bad checksum) is renamed to `.corrupt`, kept for
//! inspection, and named in the load error; the good records still load.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::QueueStorage;

const MAGIC: &[u8; 4] = b"RMQ1";
/// Magic, length (u32 BE), CRC-32 (u32 BE).
const HEADER: usize = 12;

/// Why a record file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRecordError {
    /// Shorter than the header or than its length says.
    Truncated { len: usize, expected: usize },
    /// Does not start with `RMQ1`.
    BadMagic,
    /// The checksum does not match the record.
    BadChecksum,
    /// Longer than its length says.
    TrailingBytes(usize),
}

impl fmt::Display for FileRecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileRecordError::Truncated { len, expected } => {
                write!(f, "truncated: {len} bytes, expected {expected}")
            }
            FileRecordError::BadMagic => f.write_str("not a record file (bad magic)"),
            FileRecordError::BadChecksum => f.write_str("checksum mismatch"),
            FileRecordError::TrailingBytes(n) => write!(f, "{n} bytes after the record"),
        }
    }
}

impl std::error::Error for FileRecordError {}

/// CRC-32 (IEEE 802.3, reflected), bit by bit: records are small.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

/// The bytes of a record file holding `record`.
pub fn record_file_bytes(record: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + record.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(record.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32(record).to_be_bytes());
    out.extend_from_slice(record);
    out
}

/// Reads a record file's bytes back to the record. Never panics.
pub fn parse_record_file(bytes: &[u8]) -> Result<&[u8], FileRecordError> {
    if bytes.len() < HEADER {
        return Err(FileRecordError::Truncated {
            len: bytes.len(),
            expected: HEADER,
        });
    }
    if &bytes[..4] != MAGIC {
        return Err(FileRecordError::BadMagic);
    }
    let len = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    let crc = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    let body = &bytes[HEADER..];
    if body.len() < len {
        return Err(FileRecordError::Truncated {
            len: bytes.len(),
            expected: HEADER.saturating_add(len),
        });
    }
    if body.len() > len {
        return Err(FileRecordError::TrailingBytes(body.len() - len));
    }
    if crc32(body) != crc {
        return Err(FileRecordError::BadChecksum);
    }
    Ok(body)
}

/// An error of [`FileStorage`]: what failed, on which path.
#[derive(Debug)]
pub enum FileStorageError {
    Io {
        op: &'static str,
        path: PathBuf,
        error: io::Error,
    },
    /// Load: these record files could not be read (renamed to
    /// `.corrupt`); every other record was loaded.
    Corrupt(Vec<(PathBuf, FileRecordError)>),
}

impl fmt::Display for FileStorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileStorageError::Io { op, path, error } => {
                write!(f, "{op} {}: {error}", path.display())
            }
            FileStorageError::Corrupt(files) => {
                write!(f, "{} corrupt record file(s) set aside:", files.len())?;
                for (p, e) in files {
                    write!(f, " {} ({e});", p.display())?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for FileStorageError {}

/// The offline queue's records in a directory (created if missing).
#[derive(Debug, Clone)]
pub struct FileStorage {
    dir: PathBuf,
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> FileStorageError + 'a {
    move |error| FileStorageError::Io {
        op,
        path: path.to_path_buf(),
        error,
    }
}

impl FileStorage {
    /// Uses `dir`, creating it if needed.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, FileStorageError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        Ok(FileStorage { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:016x}.rec"))
    }
}

/// The sequence number in a record file's name.
fn seq_of(name: &str) -> Option<u64> {
    let hex = name.strip_suffix(".rec")?;
    if hex.len() != 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

impl QueueStorage for FileStorage {
    type Error = FileStorageError;

    fn append(&mut self, seq: u64, record: &[u8]) -> Result<(), FileStorageError> {
        let path = self.path(seq);
        let tmp = path.with_extension("tmp");
        {
            let mut f = fs::File::create(&tmp).map_err(io_err("create", &tmp))?;
            f.write_all(&record_file_bytes(record))
                .map_err(io_err("write", &tmp))?;
            f.sync_all().map_err(io_err("sync", &tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io_err("rename", &tmp))?;
        // The rename is durable once the directory is synced (best effort:
        // not every platform can open a directory).
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn remove(&mut self, seq: u64) -> Result<(), FileStorageError> {
        let path = self.path(seq);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("remove", &path)(e)),
        }
    }

    fn load(&mut self, each: &mut dyn FnMut(u64, &[u8])) -> Result<(), FileStorageError> {
        let entries = fs::read_dir(&self.dir).map_err(io_err("read", &self.dir))?;
        let mut files: Vec<(u64, PathBuf)> = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err("read", &self.dir))?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".tmp") {
                // A write cut short before its rename: never committed.
                let _ = fs::remove_file(&path);
            } else if let Some(seq) = seq_of(&name) {
                files.push((seq, path));
            }
        }
        files.sort();
        let mut corrupt = Vec::new();
        for (seq, path) in files {
            let bytes = fs::read(&path).map_err(io_err("read", &path))?;
            match parse_record_file(&bytes) {
                Ok(record) => each(seq, record),
                Err(e) => {
                    let aside = path.with_extension("corrupt");
                    let _ = fs::rename(&path, &aside);
                    corrupt.push((aside, e));
                }
            }
        }
        if corrupt.is_empty() {
            Ok(())
        } else {
            Err(FileStorageError::Corrupt(corrupt))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn appended_records_load_in_order_and_removed_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = FileStorage::open(dir.path().join("q")).unwrap();
        s.append(2, b"two").unwrap();
        s.append(1, b"one").unwrap();
        s.append(3, b"three").unwrap();
        s.remove(2).unwrap();
        s.remove(99).unwrap();
        let mut got = Vec::new();
        // A fresh handle on the same directory: what a reboot sees.
        let mut again = FileStorage::open(dir.path().join("q")).unwrap();
        again
            .load(&mut |seq, r| got.push((seq, r.to_vec())))
            .unwrap();
        assert_eq!(got, vec![(1, b"one".to_vec()), (3, b"three".to_vec())]);
    }

    #[test]
    fn a_corrupt_file_is_a_clear_error_and_the_good_records_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = FileStorage::open(dir.path()).unwrap();
        s.append(1, b"one").unwrap();
        s.append(2, b"two").unwrap();
        s.append(3, b"three").unwrap();
        // Flip a bit of record 2; truncate record 3; leave a torn .tmp.
        let p2 = s.path(2);
        let mut b = fs::read(&p2).unwrap();
        let last = b.len() - 1;
        b[last] ^= 1;
        fs::write(&p2, b).unwrap();
        let p3 = s.path(3);
        let b = fs::read(&p3).unwrap();
        fs::write(&p3, &b[..b.len() - 2]).unwrap();
        fs::write(s.path(4).with_extension("tmp"), b"RMQ").unwrap();

        let mut got = Vec::new();
        let err = s
            .load(&mut |seq, r| got.push((seq, r.to_vec())))
            .unwrap_err();
        assert_eq!(got, vec![(1, b"one".to_vec())]);
        let text = err.to_string();
        assert!(
            text.starts_with("2 corrupt record file(s) set aside:"),
            "{text}"
        );
        assert!(
            text.contains("0000000000000002.corrupt (checksum mismatch)"),
            "{text}"
        );
        assert!(
            text.contains("0000000000000003.corrupt (truncated: 15 bytes, expected 17)"),
            "{text}"
        );
        assert!(!s.path(4).with_extension("tmp").exists());
        // Set aside: the next load is clean.
        let mut again = Vec::new();
        s.load(&mut |seq, _| again.push(seq)).unwrap();
        assert_eq!(again, vec![1]);
    }

    #[test]
    fn a_missing_directory_that_cannot_be_created_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        fs::write(&file, b"x").unwrap();
        let err = FileStorage::open(file.join("q")).unwrap_err();
        assert!(err.to_string().starts_with("create "), "{err}");
        assert!(err.to_string().contains("plain-file"), "{err}");
    }

    proptest! {
        /// The record file parser reads outside input: any bytes give a
        /// record or an error, never a panic.
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse_record_file(&bytes);
        }

        /// Every record round-trips.
        #[test]
        fn records_round_trip(record in proptest::collection::vec(any::<u8>(), 0..300)) {
            let bytes = record_file_bytes(&record);
            prop_assert_eq!(parse_record_file(&bytes), Ok(&record[..]));
        }

        /// Any change of one byte, and any truncation, is detected.
        #[test]
        fn damage_is_detected(
            record in proptest::collection::vec(any::<u8>(), 1..100),
            at in any::<prop::sample::Index>(),
            flip in 1u8..=255,
            cut in any::<prop::sample::Index>(),
        ) {
            let good = record_file_bytes(&record);
            let mut bad = good.clone();
            let i = at.index(bad.len());
            bad[i] ^= flip;
            prop_assert!(parse_record_file(&bad).is_err());
            let n = cut.index(good.len());
            prop_assert!(parse_record_file(&good[..n]).is_err());
        }
    }
}
