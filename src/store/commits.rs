//! Commits: the manifest as a sequence of immutable, numbered objects.
//!
//! Commit `n` is `manifests/{n:020}.json`, created only if absent — a hard link that
//! refuses to replace in a folder, `If-None-Match: *` in a bucket — so that of two writers
//! that both read commit `n - 1`, exactly one creates `n`; the other re-reads the latest
//! commit, applies its change to it again and tries `n + 1` (no lost update, no lock
//! server). After each commit the writer also replaces `manifest.json` with a copy: a
//! pointer that readers start from (one read) before they look for later commits (a `stat`
//! in a folder, one listing in a bucket), since a writer may die, or two race, between the
//! two writes. A store written before numbered commits has only `manifest.json` (serial 0).

use super::bucket::Bucket;
use super::files::write_atomic;
use super::{Manifest, Result, StoreError};
use std::path::Path;

/// The folder (key prefix) of the numbered manifests.
pub const MANIFESTS: &str = "manifests";
/// The copy of the latest manifest.
pub const POINTER: &str = "manifest.json";

/// The key of commit `serial`, relative to the store.
pub fn key(serial: u64) -> String {
    format!("{MANIFESTS}/{serial:020}.json")
}

/// The serial of a manifest key (`manifests/000…42.json` → 42).
pub fn serial_of(key: &str) -> Option<u64> {
    let name = key.strip_prefix(MANIFESTS)?.strip_prefix('/')?;
    let digits = name.strip_suffix(".json")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

fn parse(bytes: &[u8], what: &str) -> Result<Manifest> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Manifest {
        path: what.into(),
        message: e.to_string(),
    })
}

/// Serialises a manifest as stored.
pub fn encode(m: &Manifest, what: &str) -> Result<Vec<u8>> {
    let mut text = serde_json::to_vec_pretty(m).map_err(|e| StoreError::Manifest {
        path: what.into(),
        message: e.to_string(),
    })?;
    text.push(b'\n');
    Ok(text)
}

/// The latest committed manifest of the store in folder `root`, or of `bucket` when given
/// (`None`: nothing committed yet).
pub fn latest(root: &Path, bucket: Option<&Bucket>) -> Result<Option<Manifest>> {
    match bucket {
        None => latest_in_folder(root),
        Some(b) => latest_in_bucket(b),
    }
}

fn read_file(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn latest_in_folder(root: &Path) -> Result<Option<Manifest>> {
    let pointer = root.join(POINTER);
    let mut current = match read_file(&pointer)? {
        Some(bytes) => Some(parse(&bytes, &pointer.display().to_string())?),
        None => {
            // No pointer: the highest numbered manifest, if any.
            let highest = std::fs::read_dir(root.join(MANIFESTS))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| {
                    serial_of(&format!("{MANIFESTS}/{}", e.file_name().to_string_lossy()))
                })
                .max();
            match highest {
                Some(n) => {
                    let path = root.join(key(n));
                    read_file(&path)?
                        .map(|b| parse(&b, &path.display().to_string()))
                        .transpose()?
                }
                None => None,
            }
        }
    };
    // Commits after the pointer (a writer that died between the two writes).
    while let Some(m) = &current {
        let path = root.join(key(m.serial + 1));
        match read_file(&path)? {
            Some(bytes) => current = Some(parse(&bytes, &path.display().to_string())?),
            None => break,
        }
    }
    Ok(current)
}

fn latest_in_bucket(b: &Bucket) -> Result<Option<Manifest>> {
    let what = |k: &str| format!("{}/{k}", b.url());
    let pointer = b
        .get(POINTER)?
        .map(|bytes| parse(&bytes, &what(POINTER)))
        .transpose()?;
    let after = pointer.as_ref().map(|m| key(m.serial));
    let newest = b
        .list(&format!("{MANIFESTS}/"), after.as_deref())?
        .into_iter()
        .filter_map(|l| serial_of(&l.key))
        .max();
    match newest {
        Some(n) if pointer.as_ref().is_none_or(|m| n > m.serial) => {
            let k = key(n);
            match b.get(&k)? {
                Some(bytes) => Ok(Some(parse(&bytes, &what(&k))?)),
                // Listed, then gone: only the garbage collector deletes manifests, and never
                // the latest; read the pointer's.
                None => Ok(pointer),
            }
        }
        _ => Ok(pointer),
    }
}

/// Creates commit `m.serial` unless it exists: `true` when this call created it. Then
/// replaces the pointer (a failure there is only logged: readers find the commit anyway).
pub fn create(root: &Path, bucket: Option<&Bucket>, m: &Manifest) -> Result<bool> {
    let k = key(m.serial);
    match bucket {
        None => {
            let path = root.join(&k);
            let bytes = encode(m, &path.display().to_string())?;
            if !create_file(&path, &bytes)? {
                return Ok(false);
            }
            write_atomic(&root.join(POINTER), &bytes)?;
            Ok(true)
        }
        Some(b) => {
            let bytes = bytes::Bytes::from(encode(m, &format!("{}/{k}", b.url()))?);
            if !b.create(&k, bytes.clone())? {
                return Ok(false);
            }
            if let Err(e) = b.put(POINTER, bytes) {
                tracing::warn!(error = %e, serial = m.serial, "the manifest pointer was not replaced; readers find the commit by listing");
            }
            Ok(true)
        }
    }
}

/// Writes `bytes` to a new file at `path`, synced, unless a file is there: written under a
/// temporary name, then hard-linked to `path` (a link never replaces an existing file).
fn create_file(path: &Path, bytes: &[u8]) -> Result<bool> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let tmp = dir.join(super::files::temporary_name("commit"));
    super::files::write_synced(&tmp, bytes).map_err(io)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(source) => Err(io(source)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_serial_and_read_back() {
        assert_eq!(key(42), "manifests/00000000000000000042.json");
        assert!(key(9) < key(10) && key(99_999) < key(100_000));
        assert_eq!(serial_of(&key(7)), Some(7));
        for bad in [
            "manifests/42.json",
            "manifest.json",
            "manifests/0000000000000000004x.json",
        ] {
            assert_eq!(serial_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_commit_is_created_once() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join(key(1));
        assert!(matches!(create_file(&path, b"first"), Ok(true)));
        assert!(matches!(create_file(&path, b"second"), Ok(false)));
        assert_eq!(std::fs::read(&path).ok().as_deref(), Some(&b"first"[..]));
        let left: Vec<_> = std::fs::read_dir(dir.path().join(MANIFESTS))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 1, "no temporary file left: {left:?}");
    }
}
