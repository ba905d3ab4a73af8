//! Garbage collection: removing what no reader can need any more.

use super::{Result, Store, StoreError};

impl Store {
    /// Removes what no reader can need any more: temporary files of writers that died
    /// (this writer holds the lock, so no other writer is running), data files that no
    /// manifest ever named (a writer killed before its commit), and retired files whose
    /// grace period has passed. With `dry_run`, only reports.
    pub fn gc(&mut self, grace: std::time::Duration, dry_run: bool) -> Result<GcReport> {
        self.require_writer()?;
        let now = unix_now();
        let mut report = GcReport::default();
        let live: std::collections::HashSet<String> = self
            .manifest
            .live_files()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let mut expired = Vec::new();
        for dir in ["", "snapshots", "rejects"] {
            let folder = self.root.join(dir);
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let rel = if dir.is_empty() {
                    name.clone()
                } else {
                    format!("{dir}/{name}")
                };
                if !entry.file_type().is_ok_and(|t| t.is_file()) {
                    continue;
                }
                let temporary = name.starts_with('.') && name.ends_with(".tmp");
                let data =
                    name.ends_with(".parquet") || (dir == "rejects" && name.ends_with(".csv"));
                if !(temporary || data) || live.contains(&rel) {
                    continue;
                }
                let meta = entry.metadata().ok();
                let len = meta.as_ref().map_or(0, |m| m.len());
                let kind = if temporary {
                    GcKind::Temporary
                } else {
                    match self.manifest.retired.get(&rel) {
                        Some(since) if now < since.saturating_add(grace.as_secs()) => {
                            report.kept.push(rel);
                            continue;
                        }
                        Some(_) => GcKind::Retired,
                        // A refused file's rejects are its report: kept for the grace period.
                        None if dir == "rejects" && age(meta.as_ref(), now) < grace.as_secs() => {
                            report.kept.push(rel);
                            continue;
                        }
                        None => GcKind::Orphan,
                    }
                };
                report.removed.push((rel.clone(), kind, len));
                if kind == GcKind::Retired {
                    expired.push(rel.clone());
                }
                if !dry_run {
                    if let Err(source) = std::fs::remove_file(entry.path()) {
                        if source.kind() != std::io::ErrorKind::NotFound {
                            return Err(StoreError::Io {
                                path: entry.path(),
                                source,
                            });
                        }
                    }
                }
            }
        }
        // Retired entries whose file is gone (or was just removed) leave the manifest.
        let stale: Vec<String> = self
            .manifest
            .retired
            .keys()
            .filter(|f| expired.contains(f) || !self.root.join(f.as_str()).exists())
            .cloned()
            .collect();
        if !dry_run && !stale.is_empty() {
            let mut next = self.manifest.clone();
            for f in &stale {
                next.retired.remove(f);
            }
            self.commit(next)?;
        }
        Ok(report)
    }
}

/// What a garbage collection removed (or, dry, would remove).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GcReport {
    /// Removed files, relative to the store, with why and their size in bytes.
    pub removed: Vec<(String, GcKind, u64)>,
    /// Retired files kept because their grace period has not passed.
    pub kept: Vec<String>,
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
