//! The on-disk store: one folder of Parquet tables and snapshots plus `manifest.json`.
//!
//! Every write is atomic: data files get content-addressed names (`events-1a2b3c4d.parquet`),
//! are written to a temporary file, fsynced and renamed; the manifest is replaced last, the
//! same way, and only then are superseded files removed. A crash at any point leaves the
//! previous manifest pointing at files that still exist.

use crate::tables::Table;
use crate::util::sha256_hex;
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
    pub normalisation: Option<crate::score::Normalisation>,
    /// The climate variable and month behind the climate-stress component, if any.
    #[serde(default)]
    pub climate: Option<String>,
    /// Bases whose reach was reduced for the rainy season on the date (`location (mission)`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reduced_bases: Vec<String>,
    /// The calibration behind the snapshot's `probability` column, if one was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<crate::score::Calibration>,
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
    pub normalisation: Option<crate::score::Normalisation>,
    /// Calibration fixed by `vigil calibrate`; absent: snapshots carry no probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<crate::score::Calibration>,
}

/// A store folder.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    manifest: Manifest,
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
        })
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
    pub fn events_between(&self, from: i32, to: i32) -> Result<Vec<crate::tables::Event>> {
        use crate::tables::Table;
        let Some(path) = self.table_path(crate::tables::Event::NAME) else {
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
        crate::tables::Event::from_frame(&df).map_err(bad)
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
    pub fn set_normalisation(&mut self, norm: Option<crate::score::Normalisation>) -> Result<()> {
        let mut next = self.manifest.clone();
        next.normalisation = norm;
        self.commit(next)
    }

    /// Records the calibration later snapshots apply (`None`: no probability).
    pub fn set_calibration(&mut self, cal: Option<crate::score::Calibration>) -> Result<()> {
        let mut next = self.manifest.clone();
        next.calibration = cal;
        self.commit(next)
    }

    /// Writes the manifest atomically, then removes files no manifest refers to any more.
    fn commit(&mut self, next: Manifest) -> Result<()> {
        let path = self.root.join(MANIFEST);
        let mut text = serde_json::to_vec_pretty(&next).map_err(|e| StoreError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        text.push(b'\n');
        write_atomic(&path, &text)?;
        let live: std::collections::HashSet<&str> = next
            .tables
            .values()
            .map(|t| t.file.as_str())
            .chain(next.snapshots.values().map(|s| s.file.as_str()))
            .collect();
        let stale: Vec<String> = self
            .manifest
            .tables
            .values()
            .map(|t| t.file.clone())
            .chain(self.manifest.snapshots.values().map(|s| s.file.clone()))
            .filter(|f| !live.contains(f.as_str()))
            .collect();
        for f in stale {
            // Best effort: a leftover file is harmless, the manifest no longer names it.
            if let Err(e) = std::fs::remove_file(self.root.join(&f)) {
                tracing::warn!(file = %f, error = %e, "could not remove superseded file");
            }
        }
        self.manifest = next;
        Ok(())
    }
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
    use crate::tables::PopulationCell;

    #[test]
    fn publish_replaces_files_and_keeps_manifest_consistent() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut store = Store::open(dir.path(), 7).unwrap_or_else(|e| panic!("{e}"));
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
        assert_eq!(parquet_files, 1, "the superseded version is removed");
    }

    #[test]
    fn an_interrupted_publish_leaves_the_previous_state() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut store = Store::open(dir.path(), 7).unwrap_or_else(|e| panic!("{e}"));
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
        let mut store = Store::open(dir.path(), 7).unwrap_or_else(|e| panic!("{e}"));
        store
            .publish(vec![], None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            Store::open(dir.path(), 8),
            Err(StoreError::ResolutionMismatch { .. })
        ));
    }
}
