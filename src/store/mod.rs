//! The on-disk store: one folder of Parquet tables and snapshots plus `manifest.json`.
//!
//! Every write is atomic: data files get content-addressed names (`events-1a2b3c4d.parquet`),
//! are written to a temporary file, fsynced and renamed; the manifest is replaced last, the
//! same way, and only then are superseded files removed. A crash at any point leaves the
//! previous manifest pointing at files that still exist.

mod encode;
mod error;
mod files;
mod gc;
pub mod lock;
mod manifest;
pub mod snapshot;

pub use error::StoreError;
pub use files::{encode_parquet, read_parquet, read_parquet_columns, sha256_file, write_atomic};
use gc::unix_now;
pub use gc::{GcKind, GcReport};
pub use manifest::{IngestRecord, Manifest, SnapshotInfo, TableInfo};

use crate::model::digest::sha256_hex;
use crate::model::rows::Table;
use polars::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A store folder: read by anyone at any time; written only through [`Store::open_writer`],
/// which holds the store's writer lock.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    manifest: Manifest,
    lock: Option<std::sync::Arc<crate::store::lock::WriterLock>>,
}

const MANIFEST: &str = "manifest.json";

impl Store {
    /// Opens (creating when absent) the store at `root` for the given base resolution.
    pub fn open(root: &Path, resolution: u8) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(|source| StoreError::Io {
            path: root.to_path_buf(),
            source,
        })?;
        let path = root.join(MANIFEST);
        let manifest = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Manifest {
                path: path.clone(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Manifest {
                format: 1,
                resolution,
                tables: BTreeMap::new(),
                ingests: Vec::new(),
                snapshots: BTreeMap::new(),
                normalisation: None,
                calibration: None,
                retired: BTreeMap::new(),
                alerts: Default::default(),
            },
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        if manifest.resolution != resolution {
            return Err(StoreError::ResolutionMismatch {
                path: root.to_path_buf(),
                store: manifest.resolution,
                config: resolution,
            });
        }
        Ok(Self {
            root: root.to_path_buf(),
            manifest,
            lock: None,
        })
    }

    /// Opens the store for writing: takes the writer lock first (waiting as `opts` says),
    /// then reads the manifest under it, so that every change is merged into the latest
    /// committed state and no other writer commits until this store is dropped.
    pub fn open_writer(
        root: &Path,
        resolution: u8,
        opts: &crate::store::lock::LockOptions,
    ) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(|source| StoreError::Io {
            path: root.to_path_buf(),
            source,
        })?;
        let lock = crate::store::lock::WriterLock::acquire(root, opts)?;
        let mut store = Self::open(root, resolution)?;
        store.lock = Some(std::sync::Arc::new(lock));
        Ok(store)
    }

    /// Whether this store holds the writer lock.
    pub fn is_writer(&self) -> bool {
        self.lock.is_some()
    }

    fn require_writer(&self) -> Result<()> {
        if self.lock.is_some() {
            Ok(())
        } else {
            Err(StoreError::ReadOnly {
                path: self.root.clone(),
            })
        }
    }

    /// The store folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The current manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The attributions of the sources ingested, sorted, once each (for every output that
    /// carries their data).
    pub fn attributions(&self) -> Vec<String> {
        let mut a: Vec<String> = self
            .manifest
            .ingests
            .iter()
            .map(|r| r.attribution.clone())
            .collect();
        a.sort();
        a.dedup();
        a
    }

    /// Path of a published table, when it exists.
    pub fn table_path(&self, name: &str) -> Option<PathBuf> {
        self.manifest
            .tables
            .get(name)
            .map(|t| self.root.join(&t.file))
    }

    /// Reads a table as a DataFrame (`None` when never published).
    pub fn read_frame(&self, name: &str) -> Result<Option<DataFrame>> {
        match self.table_path(name) {
            Some(path) => read_parquet(&path).map(Some),
            None => Ok(None),
        }
    }

    /// The stored events whose last day is within `from..=to` (polars filters while
    /// scanning, so a large table is not read whole).
    pub fn events_between(&self, from: i32, to: i32) -> Result<Vec<crate::model::rows::Event>> {
        let end = col("date_end").cast(DataType::Int32);
        self.events_where(end.clone().gt_eq(lit(from)).and(end.lt_eq(lit(to))))
    }

    /// The stored events whose own dates (`date_start..=date_end`) intersect `from..=to`.
    pub fn events_overlapping(&self, from: i32, to: i32) -> Result<Vec<crate::model::rows::Event>> {
        let end = col("date_end").cast(DataType::Int32);
        let start = col("date_start").cast(DataType::Int32);
        self.events_where(end.gt_eq(lit(from)).and(start.lt_eq(lit(to))))
    }

    fn events_where(&self, keep: Expr) -> Result<Vec<crate::model::rows::Event>> {
        use crate::model::rows::Table;
        let Some(path) = self.table_path(crate::model::rows::Event::NAME) else {
            return Ok(Vec::new());
        };
        let bad = |source| StoreError::Parquet {
            path: path.clone(),
            source,
        };
        let df = LazyFrame::scan_parquet(
            PlRefPath::try_from_path(&path).map_err(bad)?,
            ScanArgsParquet::default(),
        )
        .map_err(bad)?
        .filter(keep)
        .collect()
        .map_err(bad)?;
        crate::model::rows::Event::from_frame(&df).map_err(bad)
    }

    /// Reads a table as rows (empty when never published).
    pub fn read<T: Table>(&self) -> Result<Vec<T>> {
        let Some(df) = self.read_frame(T::NAME)? else {
            return Ok(Vec::new());
        };
        let path = self.table_path(T::NAME).unwrap_or_default();
        T::from_frame(&df).map_err(|source| StoreError::Parquet { path, source })
    }

    /// Publishes new versions of some tables and an ingest record in one atomic step.
    pub fn publish(
        &mut self,
        tables: Vec<(&'static str, DataFrame)>,
        record: Option<IngestRecord>,
    ) -> Result<()> {
        self.require_writer()?;
        let mut next = self.manifest.clone();
        for (name, mut df) in tables {
            let bytes = encode_parquet(&mut df, &self.root.join(name))?;
            let sha = sha256_hex(&bytes);
            let file = format!("{name}-{}.parquet", &sha[..16]);
            // Content-addressed: an existing file of that name already holds these bytes.
            if self.manifest.tables.get(name).map(|t| &t.sha256) != Some(&sha) {
                write_atomic(&self.root.join(&file), &bytes)?;
            }
            next.tables.insert(
                name.to_owned(),
                TableInfo {
                    file,
                    rows: df.height(),
                    sha256: sha,
                },
            );
        }
        let known = record.as_ref().is_some_and(|r| {
            self.manifest
                .ingests
                .iter()
                .any(|e| e.kind == r.kind && e.sha256 == r.sha256)
        });
        if known && next.tables == self.manifest.tables {
            // The same file again, and nothing changed: the store stays byte for byte as it was.
            return Ok(());
        }
        if let Some(record) = record {
            // Re-ingesting an identical file replaces its record in place.
            match next
                .ingests
                .iter_mut()
                .find(|r| r.kind == record.kind && r.sha256 == record.sha256)
            {
                Some(existing) => *existing = record,
                None => next.ingests.push(record),
            }
        }
        self.commit(next)
    }

    /// Publishes the snapshot of `date` (replacing an earlier one of the same date).
    pub fn publish_snapshot(
        &mut self,
        date: &str,
        mut df: DataFrame,
        mut info: SnapshotInfo,
    ) -> Result<SnapshotInfo> {
        self.require_writer()?;
        let dir = self.root.join("snapshots");
        std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
            path: dir.clone(),
            source,
        })?;
        let t = std::time::Instant::now();
        let bytes = encode_parquet(&mut df, &dir.join(date))?;
        let encoded = t.elapsed();
        let sha = sha256_hex(&bytes);
        tracing::debug!(
            encode_ms = encoded.as_millis() as u64,
            sha_ms = (t.elapsed() - encoded).as_millis() as u64,
            bytes = bytes.len(),
            "snapshot encoded"
        );
        info.file = format!("snapshots/{date}-{}.parquet", &sha[..16]);
        info.sha256 = sha;
        write_atomic(&self.root.join(&info.file), &bytes)?;
        let mut next = self.manifest.clone();
        next.snapshots.insert(date.to_owned(), info.clone());
        self.commit(next)?;
        Ok(info)
    }

    /// Date of the latest snapshot.
    pub fn latest_snapshot(&self) -> Option<&str> {
        self.manifest
            .snapshots
            .keys()
            .next_back()
            .map(String::as_str)
    }

    /// The snapshot of `date` as a DataFrame, with its metadata.
    pub fn read_snapshot(&self, date: &str) -> Result<(DataFrame, SnapshotInfo)> {
        let info = self
            .manifest
            .snapshots
            .get(date)
            .ok_or_else(|| StoreError::NoSnapshot {
                what: format!("for {date}"),
                path: self.root.clone(),
            })?;
        Ok((read_parquet(&self.root.join(&info.file))?, info.clone()))
    }

    /// Records the normalisation later snapshots use (`None`: back to the defaults).
    pub fn set_normalisation(
        &mut self,
        norm: Option<crate::model::params::Normalisation>,
    ) -> Result<()> {
        self.require_writer()?;
        let mut next = self.manifest.clone();
        next.normalisation = norm;
        self.commit(next)
    }

    /// Records the calibration later snapshots apply (`None`: no probability).
    pub fn set_calibration(
        &mut self,
        cal: Option<crate::model::params::Calibration>,
    ) -> Result<()> {
        let mut next = self.manifest.clone();
        next.calibration = cal;
        self.commit(next)
    }

    /// Records the alert log (episodes and outbox) in one commit.
    pub fn set_alerts(&mut self, log: crate::model::episode::AlertLog) -> Result<()> {
        self.require_writer()?;
        let mut next = self.manifest.clone();
        next.alerts = log;
        self.commit(next)
    }

    /// Writes the manifest atomically. Files the new manifest no longer names are not
    /// deleted (a reader may hold the previous manifest): they are recorded as retired, and
    /// [`Store::gc`] removes them after the grace period.
    fn commit(&mut self, mut next: Manifest) -> Result<()> {
        self.require_writer()?;
        let path = self.root.join(MANIFEST);
        let now = unix_now();
        {
            let live = next.live_files();
            let gone: Vec<String> = self
                .manifest
                .live_files()
                .into_iter()
                .filter(|f| !live.contains(f))
                .map(str::to_owned)
                .collect();
            let revived: Vec<String> = next
                .retired
                .keys()
                .filter(|f| live.contains(f.as_str()))
                .cloned()
                .collect();
            for f in revived {
                next.retired.remove(&f);
            }
            for f in gone {
                next.retired.entry(f).or_insert(now);
            }
        }
        let mut text = serde_json::to_vec_pretty(&next).map_err(|e| StoreError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        text.push(b'\n');
        write_atomic(&path, &text)?;
        self.manifest = next;
        Ok(())
    }
}

/// A writer on a new store in a temporary folder, and a helper that publishes one
/// population row (tests of the store's files).
#[cfg(test)]
pub(crate) fn test_writer() -> (tempfile::TempDir, Store, impl Fn(&mut Store, f64)) {
    use crate::model::rows::PopulationCell;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store =
        Store::open_writer(dir.path(), 7, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let publish = |store: &mut Store, population: f64| {
        let rows = [PopulationCell {
            cell: 0x872a1072bffffff,
            population,
        }];
        let df = PopulationCell::to_frame(&rows).unwrap_or_else(|e| panic!("{e}"));
        store
            .publish(vec![("population", df)], None)
            .unwrap_or_else(|e| panic!("{e}"));
    };
    (dir, store, publish)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rows::PopulationCell;

    #[test]
    fn publish_replaces_files_and_keeps_manifest_consistent() {
        let (dir, mut store, publish) = test_writer();
        for pop in [10.0, 20.0] {
            publish(&mut store, pop);
        }
        let reopened = Store::open(dir.path(), 7).unwrap_or_else(|e| panic!("{e}"));
        let rows: Vec<PopulationCell> = reopened.read().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows[0].population, 20.0);
        let parquet_files = std::fs::read_dir(dir.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".parquet"))
            .count();
        assert_eq!(
            parquet_files, 2,
            "the superseded version is kept for readers"
        );
        assert_eq!(
            reopened.manifest().retired.len(),
            1,
            "and recorded as retired"
        );
        let kept = store
            .gc(std::time::Duration::from_secs(600), false)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(kept.removed.is_empty() && kept.kept.len() == 1, "{kept:?}");
        let gone = store
            .gc(std::time::Duration::ZERO, false)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(gone.removed.len(), 1, "{gone:?}");
        let parquet_files = std::fs::read_dir(dir.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".parquet"))
            .count();
        assert_eq!(
            parquet_files, 1,
            "the retired version is collected after its grace"
        );
        assert!(store.manifest().retired.is_empty());
    }
    #[test]
    fn a_store_opened_for_reading_cannot_commit() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut store = Store::open(dir.path(), 7).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            store.publish(vec![], None),
            Err(StoreError::ReadOnly { .. })
        ));
    }

    #[test]
    fn an_interrupted_publish_leaves_the_previous_state() {
        let (dir, mut store, publish) = test_writer();
        publish(&mut store, 10.0);
        // A crash mid-publish leaves a new data file and a half-written temporary manifest.
        let mut next = PopulationCell::to_frame(&[PopulationCell {
            cell: 0x872a1072bffffff,
            population: 99.0,
        }])
        .unwrap_or_else(|e| panic!("{e}"));
        let bytes = encode_parquet(&mut next, dir.path()).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.path().join("population-ffffffffffffffff.parquet"),
            bytes,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.path().join(".manifest.json.999.tmp"),
            b"{\"format\": 1, \"tab",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let reopened = Store::open(dir.path(), 7).unwrap_or_else(|e| panic!("{e}"));
        let rows: Vec<PopulationCell> = reopened.read().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows[0].population, 10.0, "the previous state is served");
    }

    #[test]
    fn resolution_mismatch_is_an_error() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut store = Store::open_writer(dir.path(), 7, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .publish(vec![], None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            Store::open(dir.path(), 8),
            Err(StoreError::ResolutionMismatch { .. })
        ));
    }
}
