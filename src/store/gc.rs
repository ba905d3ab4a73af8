//! Garbage collection: removing what no reader can need any more.

use super::{Result, Store, StoreError};

/// A file of the store the collector looks at.
struct Found {
    /// Relative to the store.
    rel: String,
    len: u64,
    /// Seconds since it was last modified.
    age: u64,
}

impl Store {
    /// Removes what no reader can need any more: temporary files of writers that died
    /// (in a folder, this writer holds the lock, so no other writer is running), data files
    /// that no manifest ever named (a writer killed before its commit — in a bucket, where
    /// another writer may be between its upload and its commit, only once older than the
    /// grace period), retired files whose grace period has passed, and manifests older than
    /// the latest by more than the grace period. With `dry_run`, only reports.
    pub fn gc(&mut self, grace: std::time::Duration, dry_run: bool) -> Result<GcReport> {
        self.require_writer()?;
        let now = unix_now();
        let grace_s = grace.as_secs();
        let mut report = GcReport::default();
        let live: std::collections::HashSet<String> = self
            .manifest
            .live_files()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let (files, manifests) = self.found(now)?;
        let present: std::collections::HashSet<&str> =
            files.iter().map(|f| f.rel.as_str()).collect();
        let mut expired = Vec::new();
        let mut doomed = Vec::new();
        for f in &files {
            let (dir, name) = f.rel.rsplit_once('/').unwrap_or(("", &f.rel));
            let temporary = name.starts_with('.') && name.ends_with(".tmp");
            let data = name.ends_with(".parquet") || (dir == "rejects" && name.ends_with(".csv"));
            if !(temporary || data) || live.contains(&f.rel) {
                continue;
            }
            let kind = if temporary {
                GcKind::Temporary
            } else {
                match self.manifest.retired.get(&f.rel) {
                    Some(since) if now < since.saturating_add(grace_s) => {
                        report.kept.push(f.rel.clone());
                        continue;
                    }
                    Some(_) => GcKind::Retired,
                    // A refused file's rejects are its report: kept for the grace period; so
                    // is an unnamed file in a bucket (another writer's, not committed yet).
                    None if (dir == "rejects" || self.bucket.is_some()) && f.age < grace_s => {
                        report.kept.push(f.rel.clone());
                        continue;
                    }
                    None => GcKind::Orphan,
                }
            };
            report.removed.push((f.rel.clone(), kind, f.len));
            if kind == GcKind::Retired {
                expired.push(f.rel.clone());
            }
            doomed.push(f.rel.clone());
        }
        // Manifests before the latest, once no reader can still be starting from them.
        let old_manifests: Vec<String> = manifests
            .iter()
            .filter(|m| {
                super::commits::serial_of(&m.rel).is_some_and(|n| n < self.manifest.serial)
                    && m.age >= grace_s
            })
            .map(|m| m.rel.clone())
            .collect();
        report.manifests = old_manifests.len();
        if !dry_run {
            for rel in doomed.iter().chain(&old_manifests) {
                self.remove(rel)?;
            }
        }
        // Retired entries whose file is gone (or was just removed) leave the manifest.
        let stale: Vec<String> = self
            .manifest
            .retired
            .keys()
            .filter(|f| expired.contains(f) || !present.contains(f.as_str()))
            .cloned()
            .collect();
        if !dry_run && !stale.is_empty() {
            self.commit_with(|next| {
                let before = next.retired.len();
                for f in &stale {
                    next.retired.remove(f);
                }
                next.retired.len() != before
            })?;
        }
        Ok(report)
    }

    /// The files of the store's data folders, and its numbered manifests.
    fn found(&self, now: u64) -> Result<(Vec<Found>, Vec<Found>)> {
        let mut files = Vec::new();
        let mut manifests = Vec::new();
        match &self.bucket {
            Some(b) => {
                for l in b.list("", None)? {
                    let f = Found {
                        age: now.saturating_sub(l.modified),
                        len: l.size,
                        rel: l.key,
                    };
                    let dir = f.rel.rsplit_once('/').map_or("", |(d, _)| d);
                    match dir {
                        super::commits::MANIFESTS => manifests.push(f),
                        "" | "snapshots" | "rejects" => files.push(f),
                        _ => {}
                    }
                }
            }
            None => {
                for dir in ["", "snapshots", "rejects", super::commits::MANIFESTS] {
                    let Ok(entries) = std::fs::read_dir(self.root.join(dir)) else {
                        continue;
                    };
                    for entry in entries.flatten() {
                        if !entry.file_type().is_ok_and(|t| t.is_file()) {
                            continue;
                        }
                        let name = entry.file_name().to_string_lossy().into_owned();
                        let meta = entry.metadata().ok();
                        let f = Found {
                            rel: if dir.is_empty() {
                                name
                            } else {
                                format!("{dir}/{name}")
                            },
                            len: meta.as_ref().map_or(0, |m| m.len()),
                            age: age(meta.as_ref(), now),
                        };
                        if dir == super::commits::MANIFESTS {
                            manifests.push(f);
                        } else {
                            files.push(f);
                        }
                    }
                }
            }
        }
        Ok((files, manifests))
    }

    /// Deletes one stored file (in a bucket, and its cached copy).
    fn remove(&self, rel: &str) -> Result<()> {
        if let Some(b) = &self.bucket {
            b.delete(rel)?;
        }
        let path = self.root.join(rel);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }
}

/// What a garbage collection removed (or, dry, would remove).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GcReport {
    /// Removed files, relative to the store, with why and their size in bytes.
    pub removed: Vec<(String, GcKind, u64)>,
    /// Retired files kept because their grace period has not passed.
    pub kept: Vec<String>,
    /// Manifests before the latest removed (older than the grace period).
    pub manifests: usize,
}

/// Why the garbage collector removes a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcKind {
    /// A temporary file of a writer that died before renaming it.
    Temporary,
    /// A data file no manifest ever named (its writer died before committing).
    Orphan,
    /// A file an earlier manifest named, retired longer ago than the grace period.
    Retired,
}

impl GcKind {
    /// A word for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            GcKind::Temporary => "temporary",
            GcKind::Orphan => "orphan",
            GcKind::Retired => "retired",
        }
    }
}

/// Seconds since a file was last modified (0 when unknown).
fn age(meta: Option<&std::fs::Metadata>, now: u64) -> u64 {
    meta.and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |t| now.saturating_sub(t.as_secs()))
}

pub(super) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use crate::model::rows::PopulationCell;

    #[test]
    fn gc_removes_leftovers_of_a_dead_writer_but_nothing_live() {
        let (dir, mut store, publish) = crate::store::test_writer();
        publish(&mut store, 10.0);
        std::fs::create_dir_all(dir.path().join("snapshots")).unwrap_or_else(|e| panic!("{e}"));
        for f in [
            ".manifest.json.4242.tmp",
            "events-00000000deadbeef.parquet",
            "snapshots/.2024-01-01-x.parquet.4242.tmp",
            "snapshots/2024-01-01-00000000deadbeef.parquet",
        ] {
            std::fs::write(dir.path().join(f), b"partial").unwrap_or_else(|e| panic!("{e}"));
        }
        let dry = store
            .gc(std::time::Duration::from_secs(600), true)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dry.removed.len(), 4, "{dry:?}");
        assert!(dir.path().join("events-00000000deadbeef.parquet").exists());
        store
            .gc(std::time::Duration::from_secs(600), false)
            .unwrap_or_else(|e| panic!("{e}"));
        for f in [
            ".manifest.json.4242.tmp",
            "events-00000000deadbeef.parquet",
            "snapshots/.2024-01-01-x.parquet.4242.tmp",
            "snapshots/2024-01-01-00000000deadbeef.parquet",
        ] {
            assert!(!dir.path().join(f).exists(), "{f} left");
        }
        let rows: Vec<PopulationCell> = store.read().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.len(), 1, "the live table stays");
    }
}
