//! The store: Parquet tables and snapshots plus numbered manifests, in a local folder or in
//! a bucket of an object store (read and written through a local cache folder).
//!
//! Every write is atomic: data files get content-addressed names (`events-1a2b3c4d.parquet`),
//! are written whole (a temporary file, fsynced and renamed; one PUT in a bucket) before the
//! commit that names them; a commit creates the next numbered manifest only if no other
//! writer created it first ([`commits`]), and only then are superseded files retired. A
//! crash at any point leaves the previous manifest pointing at files that still exist.

mod bucket;
mod commits;
mod encode;
mod error;
mod files;
mod float_pages;
mod gc;
mod location;
pub mod lock;
mod manifest;
mod short_text_dictionary;
pub mod snapshot;

pub use error::StoreError;
pub use files::{encode_parquet, read_parquet, read_parquet_columns, sha256_file, write_atomic};
use gc::unix_now;
pub use gc::{GcKind, GcReport};
pub use location::{default_cache_root, Location, BUCKET_SCHEMES};
pub use manifest::{IngestRecord, Manifest, SnapshotInfo, TableInfo};

use crate::model::digest::sha256_hex;
use crate::model::rows::Table;
use bucket::Bucket;

/// The folder of batch jobs' work files ([`Store::put_work`]).
pub const WORK: &str = "work";
use polars::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How a store is opened for writing.
#[derive(Debug, Clone)]
enum Writer {
    /// A folder: the writer lock, held until the store is dropped.
    Locked {
        /// Released when the last clone of the store is dropped.
        _lock: std::sync::Arc<crate::store::lock::WriterLock>,
    },
    /// A bucket: no lock; commits are conditional creates, retried on conflict.
    Conditional,
}

/// Options of an object store (`aws_region`, `aws_endpoint_url`…: `store.object_options`),
/// over the environment's.
pub type ObjectOptions = BTreeMap<String, String>;

/// A store: read by anyone at any time; written only through [`Store::open_writer`] (a
/// folder's writer lock) or [`Store::open_writer_at`].
#[derive(Debug, Clone)]
pub struct Store {
    /// The folder, or the bucket's cache folder.
    root: PathBuf,
    bucket: Option<Bucket>,
    manifest: Manifest,
    writer: Option<Writer>,
    /// The last published snapshot's encoded columns (a range's next day reuses those
    /// that did not change).
    snapshot_pages: encode::PageCache,
    /// The last snapshot written and its hash's states, so that the next one's hash
    /// resumes after the bytes they share.
    snapshot_hashes: crate::model::digest::Sha256Resume,
}

/// How many times a writer re-reads and re-applies its change when other writers keep
/// committing first.
const COMMIT_ATTEMPTS: u32 = 200;

impl Store {
    /// Opens (creating when absent) the store folder `root` for the given base resolution.
    pub fn open(root: &Path, resolution: u8) -> Result<Self> {
        Self::open_in(root, None, resolution)
    }

    /// Opens the store at `location` for reading.
    pub fn open_at(location: &Location, options: &ObjectOptions, resolution: u8) -> Result<Self> {
        match location {
            Location::Folder(root) => Self::open(root, resolution),
            Location::Bucket { url, cache } => {
                let bucket = Bucket::connect(url, options)?;
                Self::open_in(cache, Some(bucket), resolution)
            }
        }
    }

    fn open_in(root: &Path, bucket: Option<Bucket>, resolution: u8) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(|source| StoreError::Io {
            path: root.to_path_buf(),
            source,
        })?;
        let manifest =
            commits::latest(root, bucket.as_ref())?.unwrap_or_else(|| Manifest::empty(resolution));
        if manifest.resolution != resolution {
            return Err(StoreError::ResolutionMismatch {
                path: bucket
                    .as_ref()
                    .map_or_else(|| root.to_path_buf(), |b| PathBuf::from(b.url())),
                store: manifest.resolution,
                config: resolution,
            });
        }
        Ok(Self {
            root: root.to_path_buf(),
            bucket,
            manifest,
            writer: None,
            snapshot_pages: encode::PageCache::default(),
            snapshot_hashes: crate::model::digest::Sha256Resume::default(),
        })
    }

    /// Opens the store folder `root` for writing: takes the writer lock first (waiting as
    /// `opts` says), then reads the manifest under it, so that every change is merged into
    /// the latest committed state and no other writer commits until this store is dropped.
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
        store.writer = Some(Writer::Locked {
            _lock: std::sync::Arc::new(lock),
        });
        Ok(store)
    }

    /// Opens the store at `location` for writing: a folder as [`Store::open_writer`]; a
    /// bucket without a lock, its commits conditional (another writer's commit first means
    /// re-reading it and applying this writer's change again).
    pub fn open_writer_at(
        location: &Location,
        options: &ObjectOptions,
        resolution: u8,
        opts: &crate::store::lock::LockOptions,
    ) -> Result<Self> {
        match location {
            Location::Folder(root) => Self::open_writer(root, resolution, opts),
            Location::Bucket { .. } => {
                let mut store = Self::open_at(location, options, resolution)?;
                store.writer = Some(Writer::Conditional);
                Ok(store)
            }
        }
    }

    /// Whether this store was opened for writing.
    pub fn is_writer(&self) -> bool {
        self.writer.is_some()
    }

    fn require_writer(&self) -> Result<()> {
        if self.writer.is_some() {
            Ok(())
        } else {
            Err(StoreError::ReadOnly {
                path: self.root.clone(),
            })
        }
    }

    /// The store folder (for a bucket, its local cache folder).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The store as named to users: the folder, or the bucket's URL.
    pub fn name(&self) -> String {
        self.bucket
            .as_ref()
            .map_or_else(|| self.root.display().to_string(), |b| b.url().to_owned())
    }

    /// The current manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The local path of the stored file `rel` (relative to the store): in a folder, its
    /// path; in a bucket, its copy in the cache, fetched first when absent (stored files
    /// never change: their names carry their digest).
    pub fn local_file(&self, rel: &str) -> Result<PathBuf> {
        let path = self.root.join(rel);
        let Some(bucket) = &self.bucket else {
            return Ok(path);
        };
        if path.is_file() {
            return Ok(path);
        }
        match bucket.get(rel)? {
            Some(bytes) => {
                files::create_parent(&path)?;
                write_atomic(&path, &bytes)?;
                Ok(path)
            }
            None => Err(StoreError::Io {
                path: PathBuf::from(format!("{}/{rel}", bucket.url())),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such object in the bucket",
                ),
            }),
        }
    }

    /// Writes the data file `rel` (in the folder; in a bucket, and in its cache).
    fn put_file(&self, rel: &str, bytes: Vec<u8>) -> Result<()> {
        let path = self.root.join(rel);
        files::create_parent(&path)?;
        write_atomic(&path, &bytes)?;
        if let Some(bucket) = &self.bucket {
            bucket.put(rel, bytes.into())?;
        }
        Ok(())
    }

    /// Writes `work/{rel}`, a work file of a batch job (the partial results of one shard of
    /// a backtest or calibration): outside every manifest, so neither committed nor removed
    /// by the garbage collector, and written by readers too (each shard writes names of its
    /// own; the content of a name never changes). Atomic: a reader sees all of it or none.
    pub fn put_work(&self, rel: &str, bytes: Vec<u8>) -> Result<()> {
        let key = format!("{WORK}/{rel}");
        match &self.bucket {
            Some(bucket) => bucket.put(&key, bytes.into()),
            None => {
                let path = self.root.join(&key);
                files::create_parent(&path)?;
                write_atomic(&path, &bytes)
            }
        }
    }

    /// Reads `work/{rel}` (see [`Store::put_work`]); `None` when it is not there yet.
    pub fn get_work(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        let key = format!("{WORK}/{rel}");
        match &self.bucket {
            Some(bucket) => Ok(bucket.get(&key)?.map(|b| b.to_vec())),
            None => {
                let path = self.root.join(&key);
                match std::fs::read(&path) {
                    Ok(b) => Ok(Some(b)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(source) => Err(StoreError::Io { path, source }),
                }
            }
        }
    }

    /// Where [`Store::put_work`] writes `rel`, as named to users.
    pub fn work_name(&self, rel: &str) -> String {
        format!("{}/{WORK}/{rel}", self.name().trim_end_matches('/'))
    }

    /// Shares a file written into [`Store::root`] under `rel` (a rejects report) with the
    /// bucket, before a commit names it; nothing to do for a folder.
    pub fn upload(&self, rel: &str) -> Result<()> {
        let Some(bucket) = &self.bucket else {
            return Ok(());
        };
        let path = self.root.join(rel);
        let bytes = std::fs::read(&path).map_err(|source| StoreError::Io { path, source })?;
        bucket.put(rel, bytes.into())
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

    /// Local path of a published table (fetched into the cache of a bucket), when it exists.
    pub fn table_path(&self, name: &str) -> Result<Option<PathBuf>> {
        self.manifest
            .tables
            .get(name)
            .map(|t| self.local_file(&t.file))
            .transpose()
    }

    /// Reads a table as a DataFrame (`None` when never published).
    pub fn read_frame(&self, name: &str) -> Result<Option<DataFrame>> {
        match self.table_path(name)? {
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
        let Some(path) = self.table_path(crate::model::rows::Event::NAME)? else {
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
        let Some(path) = self.table_path(T::NAME)? else {
            return Ok(Vec::new());
        };
        let df = read_parquet(&path)?;
        T::from_frame(&df).map_err(|source| StoreError::Parquet { path, source })
    }

    /// Publishes new versions of some tables and an ingest record in one atomic step.
    pub fn publish(
        &mut self,
        tables: Vec<(&'static str, DataFrame)>,
        record: Option<IngestRecord>,
    ) -> Result<()> {
        self.require_writer()?;
        let mut infos = Vec::with_capacity(tables.len());
        for (name, mut df) in tables {
            let bytes = encode_parquet(&mut df, &self.root.join(name))?;
            let sha = sha256_hex(&bytes);
            let file = format!("{name}-{}.parquet", &sha[..16]);
            // Content-addressed: an existing file of that name already holds these bytes.
            if self.manifest.tables.get(name).map(|t| &t.sha256) != Some(&sha) {
                self.put_file(&file, bytes)?;
            }
            infos.push((
                name,
                TableInfo {
                    file,
                    rows: df.height(),
                    sha256: sha,
                },
            ));
        }
        self.commit_with(|next| {
            let before = next.tables.clone();
            for (name, info) in &infos {
                next.tables.insert((*name).to_owned(), info.clone());
            }
            let known = record.as_ref().is_some_and(|r| {
                next.ingests
                    .iter()
                    .any(|e| e.kind == r.kind && e.sha256 == r.sha256)
            });
            if known && next.tables == before {
                // The same file again, and nothing changed: the store stays byte for byte
                // as it was.
                return false;
            }
            if let Some(record) = &record {
                // Re-ingesting an identical file replaces its record in place.
                match next
                    .ingests
                    .iter_mut()
                    .find(|r| r.kind == record.kind && r.sha256 == record.sha256)
                {
                    Some(existing) => *existing = record.clone(),
                    None => next.ingests.push(record.clone()),
                }
            }
            true
        })
    }

    /// Publishes the snapshot of `date` (replacing an earlier one of the same date).
    pub fn publish_snapshot(
        &mut self,
        date: &str,
        mut df: DataFrame,
        mut info: SnapshotInfo,
    ) -> Result<SnapshotInfo> {
        self.require_writer()?;
        let t = std::time::Instant::now();
        let bytes = files::encode_parquet_reusing(
            &mut df,
            &self.root.join("snapshots").join(date),
            Some(&mut self.snapshot_pages),
        )?;
        let encoded = t.elapsed();
        // Named by the hash of its bytes, hashed while they are written.
        let name = |sha: &str| format!("{date}-{}.parquet", &sha[..16.min(sha.len())]);
        let resume = &self.snapshot_hashes;
        let hashed = files::write_atomic_named(
            &self.root.join("snapshots"),
            &format!("{date}.parquet"),
            &bytes,
            |b| resume.hash(b),
            name,
        )?;
        let sha = hashed.hex.clone();
        tracing::debug!(
            encode_ms = encoded.as_millis() as u64,
            hash_and_write_ms = (t.elapsed() - encoded).as_millis() as u64,
            bytes = bytes.len(),
            "snapshot encoded and written"
        );
        info.file = format!("snapshots/{}", name(&sha));
        info.sha256 = sha;
        match &self.bucket {
            Some(bucket) => bucket.put(&info.file, bytes.into())?,
            None => self.snapshot_hashes.keep(bytes, hashed),
        }
        self.commit_with(|next| {
            next.snapshots.insert(date.to_owned(), info.clone());
            true
        })?;
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
                path: PathBuf::from(self.name()),
            })?;
        Ok((read_parquet(&self.local_file(&info.file)?)?, info.clone()))
    }

    /// Records the normalisation later snapshots use (`None`: back to the defaults).
    pub fn set_normalisation(
        &mut self,
        norm: Option<crate::model::params::Normalisation>,
    ) -> Result<()> {
        self.commit_with(|next| {
            next.normalisation = norm.clone();
            true
        })
    }

    /// Records the calibration later snapshots apply (`None`: no probability).
    pub fn set_calibration(
        &mut self,
        cal: Option<crate::model::params::Calibration>,
    ) -> Result<()> {
        self.commit_with(|next| {
            next.calibration = cal.clone();
            true
        })
    }

    /// Records the alert log (episodes and outbox) in one commit.
    pub fn set_alerts(&mut self, log: crate::model::episode::AlertLog) -> Result<()> {
        self.commit_with(|next| {
            next.alerts = log.clone();
            true
        })
    }

    /// Commits a change: applies `change` to the latest manifest (it answers whether there
    /// is anything to commit) and creates the next numbered manifest. When another writer
    /// created that number first, re-reads the latest manifest and applies the change to it
    /// again. Files the new manifest no longer names are not deleted (a reader may hold the
    /// previous manifest): they are recorded as retired, and [`Store::gc`] removes them
    /// after the grace period.
    fn commit_with(&mut self, mut change: impl FnMut(&mut Manifest) -> bool) -> Result<()> {
        self.require_writer()?;
        for attempt in 0..COMMIT_ATTEMPTS {
            let base = &self.manifest;
            let mut next = base.clone();
            if !change(&mut next) {
                return Ok(());
            }
            retire(base, &mut next, unix_now());
            next.serial = base.serial + 1;
            if commits::create(&self.root, self.bucket.as_ref(), &next)? {
                self.manifest = next;
                return Ok(());
            }
            tracing::info!(
                serial = next.serial,
                attempt,
                "another writer committed first; applying this change to its manifest"
            );
            // A short pause that differs between writers, so that two do not keep colliding.
            let spread = u64::from(std::process::id() % 7) + u64::from(attempt.min(20));
            std::thread::sleep(std::time::Duration::from_millis(5 * spread));
            let latest = commits::latest(&self.root, self.bucket.as_ref())?;
            match latest {
                Some(m) if m.serial >= next.serial && m.resolution == self.manifest.resolution => {
                    self.manifest = m;
                }
                _ => {
                    return Err(StoreError::Manifest {
                        path: PathBuf::from(self.name()),
                        message: format!(
                            "commit {} exists but the latest manifest read is older",
                            next.serial
                        ),
                    })
                }
            }
        }
        Err(StoreError::Contended {
            store: self.name(),
            attempts: COMMIT_ATTEMPTS,
        })
    }
}

/// Moves the files `base` named and `next` does not to `next.retired` (since `now`), and
/// takes files named again out of it.
fn retire(base: &Manifest, next: &mut Manifest, now: u64) {
    let live = next.live_files();
    let gone: Vec<String> = base
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

    /// A store on `root` that commits as a bucket writer does (no lock: conditional creates,
    /// re-applied on conflict).
    fn conditional(root: &Path) -> Store {
        let mut s = Store::open(root, 7).unwrap_or_else(|e| panic!("{e}"));
        s.writer = Some(Writer::Conditional);
        s
    }

    fn ingest(kind: &str, n: usize) -> IngestRecord {
        IngestRecord {
            kind: kind.to_owned(),
            sha256: format!("{n:064}"),
            ..Default::default()
        }
    }

    #[test]
    fn two_writers_committing_at_once_lose_nothing() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().to_path_buf();
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let root = root.clone();
                std::thread::spawn(move || {
                    let mut store = conditional(&root);
                    for i in 0..20 {
                        let r = ingest(&format!("writer{w}"), i);
                        store
                            .commit_with(|m| {
                                m.ingests.push(r.clone());
                                true
                            })
                            .unwrap_or_else(|e| panic!("{e}"));
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap_or_else(|_| panic!("a writer panicked"));
        }
        let m = Store::open(&root, 7)
            .unwrap_or_else(|e| panic!("{e}"))
            .manifest;
        assert_eq!(m.serial, 40, "one commit per change");
        assert_eq!(m.ingests.len(), 40, "no lost update");
        for w in 0..2 {
            let mine: Vec<String> = m
                .ingests
                .iter()
                .filter(|r| r.kind == format!("writer{w}"))
                .map(|r| r.sha256.clone())
                .collect();
            let expected: Vec<String> = (0..20).map(|i| format!("{i:064}")).collect();
            assert_eq!(mine, expected, "writer {w}'s changes, in its order");
        }
        for n in 1..=40 {
            assert!(root.join(commits::key(n)).is_file(), "commit {n}");
        }
    }

    #[test]
    fn readers_find_commits_the_pointer_missed_and_old_stores_open() {
        let (dir, mut store, publish) = test_writer();
        publish(&mut store, 10.0);
        let first = std::fs::read(dir.path().join(commits::POINTER)).unwrap_or_default();
        publish(&mut store, 20.0);
        // A writer that died between its commit and the pointer: the pointer is one behind.
        std::fs::write(dir.path().join(commits::POINTER), &first).unwrap_or_else(|e| panic!("{e}"));
        let reopened = Store::open(dir.path(), 7).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reopened.manifest.serial, 2);
        let rows: Vec<crate::model::rows::PopulationCell> =
            reopened.read().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows[0].population, 20.0);
        // A store written before numbered commits: only manifest.json, without a serial.
        let legacy = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut old: serde_json::Value = serde_json::from_slice(&first).unwrap_or_default();
        if let Some(o) = old.as_object_mut() {
            o.remove("serial");
        }
        std::fs::write(
            legacy.path().join(commits::POINTER),
            serde_json::to_vec(&old).unwrap_or_default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut store = Store::open_writer(legacy.path(), 7, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.manifest.serial, 0);
        assert_eq!(store.manifest.tables.len(), 1, "the old manifest is read");
        store
            .set_normalisation(None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(legacy.path().join(commits::key(1)).is_file());
    }

    #[test]
    fn gc_removes_old_manifests_but_never_the_latest() {
        let (dir, mut store, publish) = test_writer();
        for pop in [1.0, 2.0, 3.0] {
            publish(&mut store, pop);
        }
        let kept = store
            .gc(std::time::Duration::from_secs(600), false)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(kept.manifests, 0, "younger than the grace period");
        let before = store.manifest.serial;
        let report = store
            .gc(std::time::Duration::ZERO, false)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(report.manifests >= 2, "{report:?}");
        let latest = store.manifest.serial;
        assert!(dir.path().join(commits::key(latest)).is_file());
        assert!(
            dir.path().join(commits::key(before)).is_file(),
            "the latest when gc ran"
        );
        for n in 1..before {
            assert!(!dir.path().join(commits::key(n)).exists(), "commit {n}");
        }
        let reopened = Store::open(dir.path(), 7).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reopened.manifest, store.manifest);
    }
}
