//! Files of the store: Parquet encoding and reading, and the atomic write every data file
//! and the manifest go through.

use super::{Result, StoreError};
use crate::model::digest::Hashed;
use polars::prelude::*;
use std::io::Write;
use std::path::Path;

/// Encodes a DataFrame as Parquet bytes (Snappy: fast to write, read by every Parquet tool;
/// statistics on).
pub fn encode_parquet(df: &mut DataFrame, path_for_errors: &Path) -> Result<Vec<u8>> {
    encode_parquet_reusing(df, path_for_errors, None)
}

/// [`encode_parquet`], taking the pages of columns unchanged since the last file encoded
/// with `cache` from it (the same bytes).
pub(super) fn encode_parquet_reusing(
    df: &mut DataFrame,
    path_for_errors: &Path,
    cache: Option<&mut super::encode::PageCache>,
) -> Result<Vec<u8>> {
    // Room for the whole file from the start: the encoded file is smaller than the frame in
    // memory, and pages never written are never touched. Growing by doubling instead copied
    // a snapshot's 18 MB several times over and faulted in every new block.
    let mut bytes = Vec::with_capacity(df.estimated_size() + (64 << 10));
    super::encode::parquet_reusing(df, &mut bytes, cache)
        .map(|_| ())
        .map_err(|source| StoreError::Parquet {
            path: path_for_errors.to_path_buf(),
            source,
        })?;
    Ok(bytes)
}

/// Reads a whole Parquet file.
pub fn read_parquet(path: &Path) -> Result<DataFrame> {
    let file = std::fs::File::open(path).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    ParquetReader::new(file)
        .finish()
        .map_err(|source| StoreError::Parquet {
            path: path.to_path_buf(),
            source,
        })
}

/// Some columns of a Parquet file.
pub fn read_parquet_columns(path: &Path, columns: &[&str]) -> Result<DataFrame> {
    let file = std::fs::File::open(path).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    ParquetReader::new(file)
        .with_columns(Some(columns.iter().map(|c| (*c).into()).collect()))
        .finish()
        .map_err(|source| StoreError::Parquet {
            path: path.to_path_buf(),
            source,
        })
}

/// Creates the folder `path` goes in, if missing.
pub fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        }),
        None => Ok(()),
    }
}

/// A temporary file name no other writer uses at the same time: two threads of one process
/// replacing the same file (two writers committing, each then replacing `manifest.json`)
/// must not share a temporary file, or one renames the other's away.
pub fn temporary_name(name: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(".{name}.{}.{n}.tmp", std::process::id())
}

/// Writes `bytes` to `path` atomically: temporary file in the same folder, fsync, rename,
/// fsync of the folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(temporary_name(&name));
    let result = (|| {
        write_synced(&tmp, bytes)?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            // Directory fsync is not supported everywhere; the rename is already atomic.
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Writes `bytes` atomically into the folder `dir` under the name `name(sha)`, where `sha`
/// is their SHA-256 (lower-case hex) as `hash` computes it: this thread hashes them while
/// another writes them to a temporary file, renamed once the name is known, so that the
/// two overlap (a daily range spent 19 ms a day hashing each snapshot before writing it).
/// `hint` names the temporary file. Returns the hash.
pub(super) fn write_atomic_named(
    dir: &Path,
    hint: &str,
    bytes: &[u8],
    hash: impl FnOnce(&[u8]) -> Hashed,
    name: impl FnOnce(&str) -> String,
) -> Result<Hashed> {
    std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let tmp = dir.join(temporary_name(hint));
    let (sha, written) = std::thread::scope(|scope| {
        let writing = scope.spawn(|| write_synced(&tmp, bytes));
        let sha = hash(bytes);
        let written = writing
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the writing thread panicked")));
        (sha, written)
    });
    let path = dir.join(name(&sha.hex));
    let result = written.and_then(|()| {
        std::fs::rename(&tmp, &path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            // Directory fsync is not supported everywhere; the rename is already atomic.
            let _ = d.sync_all();
        }
        Ok(())
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|source| StoreError::Io { path, source })?;
    Ok(sha)
}

/// Files from this size on are written past the page cache where the system allows it.
const DIRECT_FROM: usize = 1 << 20;

/// Writes `bytes` to a new file at `path` and syncs it. Large files are written with
/// `O_DIRECT` on Linux: copying a snapshot into the page cache and writing it back from
/// there cost more than encoding it (a year of daily snapshots of 150,000 cells is 6.5 GB),
/// while the device takes the same bytes from an aligned buffer several times faster. A
/// file system that refuses `O_DIRECT` (tmpfs, some network mounts) gets an ordinary write.
pub(super) fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    if bytes.len() >= DIRECT_FROM {
        match direct::write(path, bytes) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                tracing::debug!(path = %path.display(), "O_DIRECT refused; writing through the page cache");
            }
            Err(e) => return Err(e),
        }
    }
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(target_os = "linux")]
mod direct {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::Path;

    /// Alignment of buffer addresses, lengths and file offsets (covers 512-byte and
    /// 4 KiB logical blocks).
    const BLOCK: usize = 4096;
    /// Bytes copied into the aligned buffer and written per call.
    const PIECE: usize = 4 << 20;

    fn round_up(n: usize) -> usize {
        n.div_ceil(BLOCK) * BLOCK
    }

    /// Writes `bytes` in aligned pieces (the last one padded with zeros), cuts the file to
    /// its length and syncs it.
    pub(super) fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)?;
        let cap = PIECE.min(round_up(bytes.len()));
        let mut scratch = vec![0u8; cap + BLOCK];
        let start = scratch.as_ptr().align_offset(BLOCK).min(BLOCK);
        let buf = &mut scratch[start..start + cap];
        for piece in bytes.chunks(cap) {
            let padded = round_up(piece.len());
            buf[..piece.len()].copy_from_slice(piece);
            buf[piece.len()..padded].fill(0);
            f.write_all(&buf[..padded])?;
        }
        f.set_len(bytes.len() as u64)?;
        f.sync_all()
    }
}

/// Lower-case hexadecimal SHA-256 of a file's bytes, read in 1 MiB pieces (a file of any
/// size costs 1 MiB of memory).
pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes that differ at every position of a block, so that a piece written at the
    /// wrong offset or a padding left in the file would show.
    fn payload(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 4093) as u8).collect()
    }

    #[test]
    fn a_file_named_by_its_hash_is_written_whole_and_leaves_no_temporary() {
        let hash = |b: &[u8]| crate::model::digest::Sha256Resume::default().hash(b);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        for len in [10, DIRECT_FROM + 4097] {
            let bytes = payload(len);
            let sha = write_atomic_named(dir.path(), "x.parquet", &bytes, hash, |sha| {
                format!("x-{}.parquet", &sha[..16])
            })
            .unwrap_or_else(|e| panic!("{e}"))
            .hex;
            assert_eq!(sha, crate::model::digest::sha256_hex(&bytes));
            let path = dir.path().join(format!("x-{}.parquet", &sha[..16]));
            assert_eq!(std::fs::read(&path).ok(), Some(bytes));
        }
        // A name the rename cannot take: an error naming it, the temporary removed.
        let err = write_atomic_named(dir.path(), "y.parquet", b"y", hash, |_| "no/such/y".into())
            .map(|_| ())
            .unwrap_err();
        assert!(err.to_string().contains("no/such/y"), "{err}");
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        names.sort();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.iter().all(|n| n.starts_with("x-")), "{names:?}");
    }

    #[test]
    fn files_written_past_the_page_cache_read_back_exactly() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // Below the threshold, exactly one piece, pieces plus a ragged tail, whole blocks.
        for len in [
            1000,
            DIRECT_FROM - 1,
            DIRECT_FROM,
            4 << 20,
            (9 << 20) + 4095,
            (5 << 20) + 1,
            3 * 4096 * 100,
        ] {
            let path = dir.path().join(format!("f-{len}.bin"));
            let bytes = payload(len);
            write_atomic(&path, &bytes).unwrap_or_else(|e| panic!("{len}: {e}"));
            let back = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(back.len(), len);
            assert!(back == bytes, "{len} bytes differ after the write");
            // No temporary file left beside it.
            let left: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap_or_else(|e| panic!("{e}"))
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
                .collect();
            assert!(left.is_empty(), "{left:?}");
        }
    }

    #[test]
    fn a_rewritten_file_takes_the_new_length() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("f.bin");
        write_atomic(&path, &payload(6 << 20)).unwrap_or_else(|e| panic!("{e}"));
        let shorter = payload((2 << 20) + 17);
        write_atomic(&path, &shorter).unwrap_or_else(|e| panic!("{e}"));
        assert!(std::fs::read(&path).unwrap_or_else(|e| panic!("{e}")) == shorter);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_direct_write_itself_is_exact() {
        // `write_atomic` falls back to the page cache on a file system that refuses
        // O_DIRECT; this calls the direct path itself where it is accepted, so that a
        // fallback cannot hide a fault in it.
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("d.bin");
        let bytes = payload((4 << 20) + 4097);
        match direct::write(&path, &bytes) {
            Ok(()) => {
                assert!(std::fs::read(&path).unwrap_or_else(|e| panic!("{e}")) == bytes);
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                eprintln!("skipped: {} refuses O_DIRECT", dir.path().display());
            }
            Err(e) => panic!("{e}"),
        }
    }
}
