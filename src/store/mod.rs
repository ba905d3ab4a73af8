//! The on-disk store: one folder of Parquet tables and snapshots plus `manifest.json`.
//!
//! Every write is atomic: data files get content-addressed names (`events-1a2b3c4d.parquet`),
//! are written to a temporary file, fsynced and renamed; the manifest is replaced last, the
//! same way, and only then are superseded files removed. A crash at any point leaves the
//! previous manifest pointing at files that still exist.

pub mod lock;
pub mod snapshot;

use crate::model::digest::sha256_hex;
use crate::model::rows::Table;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Errors of the store layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A Parquet file could not be encoded or decoded.
    #[error("{path}: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What polars said.
        source: PolarsError,
    },
    /// The manifest is unreadable.
    #[error("{path}: invalid manifest: {message}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// The parse error.
        message: String,
    },
    /// The store was built at another H3 resolution than the configuration asks for.
    #[error("store {path} holds resolution {store} but the configuration asks for {config}; use another --store or set grid.resolution = {store}")]
    ResolutionMismatch {
        /// The store folder.
        path: PathBuf,
        /// Resolution of the store.
        store: u8,
        /// Resolution of the configuration.
        config: u8,
    },
    /// Another writer holds the store's lock.
    #[error("store {path} is locked by {holder}{waited}; try again later, or pass --lock-timeout to wait longer")]
    Locked {
        /// The store folder.
        path: PathBuf,
        /// Who holds the lock (pid, command, since when), as it recorded itself.
        holder: String,
        /// How long this writer waited (empty with --no-wait).
        waited: String,
    },
    /// A write was attempted through a store opened for reading.
    #[error(
        "store {path} was opened for reading; writes need Store::open_writer (the writer lock)"
    )]
    ReadOnly {
        /// The store folder.
        path: PathBuf,
    },
    /// No snapshot for the requested date, or none at all.
    #[error("no snapshot {what} in store {path}; run `vigil score` first")]
    NoSnapshot {
        /// Which snapshot.
        what: String,
        /// The store folder.
        path: PathBuf,
    },
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One published table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableInfo {
    /// File name inside the store.
    pub file: String,
    /// Row count.
    pub rows: usize,
    /// SHA-256 of the file.
    pub sha256: String,
}

/// One ingest of one file, as reported to the user and kept in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct IngestRecord {
    /// Ingest kind (`acled`, `ucdp`…).
    pub kind: String,
    /// The file as given on the command line.
    pub file: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// Data rows read.
    pub rows_read: usize,
    /// Rows accepted.
    pub accepted: usize,
    /// Rows rejected.
    pub rejected: usize,
    /// Rejected rows by reason.
    pub rejects_by_reason: BTreeMap<String, usize>,
    /// Accepted rows whose key was already stored (replaced or unchanged).
    pub duplicates: usize,
    /// UCDP Candidate events dropped because a final GED release covers their period.
    #[serde(default)]
    pub superseded: usize,
    /// Events (of all sources in the store) linked as another source's record of an incident.
    #[serde(default)]
    pub linked: usize,
    /// Rows combined with another row of the same file and key (Geo-PKO: several units at
    /// one location on one map).
    #[serde(default)]
    pub combined: usize,
    /// First and last date of the accepted rows, when dated.
    pub date_range: Option<[String; 2]>,
    /// `[min_lon, min_lat, max_lon, max_lat]` of the accepted rows, when located.
    pub bbox: Option<[f64; 4]>,
    /// Attribution required by the source's licence.
    pub attribution: String,
    /// Where the rejected rows were written, relative to the store.
    pub rejects_file: Option<String>,
    /// Rows of the file whose key an earlier row of the same file already had (the later
    /// row wins); `rows_read = accepted + rejected + duplicates_in_file`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duplicates_in_file: usize,
    /// Things accepted but worth a look (an invalid polygon, an area with no cell), each
    /// naming the feature or row.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One published snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SnapshotInfo {
    /// File name inside the store.
    pub file: String,
    /// SHA-256 of the file: the snapshot's version.
    pub sha256: String,
    /// Cells in the grid.
    pub cells: usize,
    /// Cells per tier, low to critical.
    pub tiers: [usize; 5],
    /// Coverage-gap cells.
    pub gaps: usize,
    /// True when no population data were loaded and exposure was neutral.
    pub exposure_neutral: bool,
    /// The reference levels the snapshot was scored with.
    #[serde(default)]
    pub normalisation: Option<crate::model::params::Normalisation>,
    /// The climate variable and month behind the climate-stress component, if any.
    #[serde(default)]
    pub climate: Option<String>,
    /// Bases whose reach was reduced for the rainy season on the date (`location (mission)`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reduced_bases: Vec<String>,
    /// The calibration behind the snapshot's `probability` column, if one was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<crate::model::params::Calibration>,
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Layout version of the store.
    pub format: u32,
    /// Base H3 resolution of every table.
    pub resolution: u8,
    /// Published tables by name.
    pub tables: BTreeMap<String, TableInfo>,
    /// Ingests, in order; re-ingesting an identical file replaces its record.
    pub ingests: Vec<IngestRecord>,
    /// Snapshots by `YYYY-MM-DD`.
    pub snapshots: BTreeMap<String, SnapshotInfo>,
    /// Reference levels fixed by `vigil normalise`; absent: the configuration's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalisation: Option<crate::model::params::Normalisation>,
    /// Calibration fixed by `vigil calibrate`; absent: snapshots carry no probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<crate::model::params::Calibration>,
    /// Files an earlier manifest named and this one does not, with the time (Unix seconds)
    /// they left: a reader that read the earlier manifest may still be reading them, so
    /// they are deleted only by the garbage collector, after the grace period.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub retired: BTreeMap<String, u64>,
}

impl Manifest {
    /// Every file this manifest names (tables, snapshots, rejects), relative to the store.
    pub fn live_files(&self) -> std::collections::HashSet<&str> {
        self.tables
            .values()
            .map(|t| t.file.as_str())
            .chain(self.snapshots.values().map(|s| s.file.as_str()))
            .chain(
                self.ingests
                    .iter()
                    .filter_map(|r| r.rejects_file.as_deref()),
            )
            .collect()
    }
}

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
        use crate::model::rows::Table;
        let Some(path) = self.table_path(crate::model::rows::Event::NAME) else {
            return Ok(Vec::new());
        };
        let bad = |source| StoreError::Parquet {
            path: path.clone(),
            source,
        };
        let day = col("date_end").cast(DataType::Int32);
        let df = LazyFrame::scan_parquet(
            PlRefPath::try_from_path(&path).map_err(bad)?,
            ScanArgsParquet::default(),
        )
        .map_err(bad)?
        .filter(day.clone().gt_eq(lit(from)).and(day.lt_eq(lit(to))))
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

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Encodes a DataFrame as Parquet bytes (Snappy: fast to write, read by every Parquet tool;
/// statistics on).
pub fn encode_parquet(df: &mut DataFrame, path_for_errors: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes)
        .with_compression(ParquetCompression::Snappy)
        .finish(df)
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
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rows::PopulationCell;

    #[test]
    fn publish_replaces_files_and_keeps_manifest_consistent() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut store = Store::open_writer(dir.path(), 7, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        for pop in [10.0, 20.0] {
            let rows = vec![PopulationCell {
                cell: 0x872a1072bffffff,
                population: pop,
            }];
            let df = PopulationCell::to_frame(&rows).unwrap_or_else(|e| panic!("{e}"));
            store
                .publish(vec![("population", df)], None)
                .unwrap_or_else(|e| panic!("{e}"));
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
    fn gc_removes_leftovers_of_a_dead_writer_but_nothing_live() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut store = Store::open_writer(dir.path(), 7, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let rows = vec![PopulationCell {
            cell: 0x872a1072bffffff,
            population: 10.0,
        }];
        let df = PopulationCell::to_frame(&rows).unwrap_or_else(|e| panic!("{e}"));
        store
            .publish(vec![("population", df)], None)
            .unwrap_or_else(|e| panic!("{e}"));
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
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut store = Store::open_writer(dir.path(), 7, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let rows = vec![PopulationCell {
            cell: 0x872a1072bffffff,
            population: 10.0,
        }];
        let df = PopulationCell::to_frame(&rows).unwrap_or_else(|e| panic!("{e}"));
        store
            .publish(vec![("population", df)], None)
            .unwrap_or_else(|e| panic!("{e}"));
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
