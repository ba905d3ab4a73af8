//! Ingest: one reader per source format, each producing canonical rows plus the rows it
//! rejected; [`ingest_file`] validates the reject share, merges with what is stored and
//! publishes atomically.

pub mod acled;
pub mod areas;
pub mod climate;
pub mod csvsource;
pub mod geopko;
pub mod idp;
pub mod incidents;
pub mod population;
pub mod raster;
pub mod ucdp;

use crate::config::Config;
use crate::model::day::format_date;
use crate::model::digest::sha256_hex;
use crate::model::rows::{
    Area, AreaCell, Base, Category, ClimateValue, Event, IdpSite, PopulationCell, Table,
};
use crate::store::{IngestRecord, Store, StoreError};
use polars::prelude::{DataFrame, PolarsError};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// ACLED export CSV (current, 2019–2023 and UPPERCASE layouts).
    Acled,
    /// UCDP GED: CSV (49 columns; headerless files accepted) or GeoJSON.
    Ucdp,
    /// UCDP Candidate (monthly, preliminary): same layouts; superseded by GED where GED covers.
    UcdpCandidate,
    /// Geo-PKO deployment CSV: v2.x location maps, v1.x, or the v2.3 FrontMap aggregate.
    Geopko,
    /// `h3,population` CSV at any resolution, or a people-per-pixel GeoTIFF (WorldPop style).
    Population,
    /// Tidy climate CSV (`lat,lon,date,variable,value` or `h3,…`), a monthly GeoTIFF
    /// (CHIRPS style) or an SPEIbase series `spei_<lon>_<lat>.csv[.gz]`.
    Climate,
    /// Boundaries as GeoJSON (geoBoundaries or any GeoJSON with a name property).
    Areas,
    /// IDP site list CSV (columns named in `[ingest.idp]`).
    Idp,
    /// A mission's own incident log CSV (columns and categories in `[ingest.incidents]`).
    Incidents,
}

impl Kind {
    /// Every kind, for messages.
    pub const ALL: [Kind; 9] = [
        Kind::Acled,
        Kind::Ucdp,
        Kind::UcdpCandidate,
        Kind::Geopko,
        Kind::Population,
        Kind::Climate,
        Kind::Areas,
        Kind::Idp,
        Kind::Incidents,
    ];

    /// The kind's name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Acled => "acled",
            Kind::Ucdp => "ucdp",
            Kind::UcdpCandidate => "ucdp-candidate",
            Kind::Geopko => "geopko",
            Kind::Population => "population",
            Kind::Climate => "climate",
            Kind::Areas => "areas",
            Kind::Idp => "idp",
            Kind::Incidents => "incidents",
        }
    }

    /// The attribution that outputs carrying this source's data must show.
    pub fn attribution(self) -> &'static str {
        match self {
            Kind::Acled => "Armed Conflict Location & Event Data (ACLED), acleddata.com; not for redistribution",
            Kind::Ucdp => "UCDP Georeferenced Event Dataset, CC BY 4.0; Davies, Pettersson & Öberg (2023); Sundberg & Melander (2013)",
            Kind::UcdpCandidate => "UCDP Candidate Events Dataset, CC BY 4.0; Hegre et al. (2020)",
            Kind::Geopko => "Geo-PKO; Cil, Fjelde, Hultman & Nilsson (2020), Mapping blue helmets, JPR 57(2)",
            Kind::Population => "Population estimates as provided by the loaded file",
            Kind::Climate => "Climate series as provided by the loaded file",
            Kind::Areas => "Boundaries as provided by the loaded file (geoBoundaries: CC BY 3.0 IGO)",
            Kind::Idp => "IDP site list as provided by the loaded file (IOM DTM)",
            Kind::Incidents => "Mission incident log as provided by the loaded file",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = IngestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| IngestError::UnknownKind {
                kind: s.to_owned(),
                expected: Kind::ALL.map(Kind::as_str).join(", "),
            })
    }
}

/// Errors of the ingest layer. Row-level problems are [`Reject`]s, not errors.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not a kind Vigil reads.
    #[error("unknown ingest kind `{kind}`; expected one of: {expected}")]
    UnknownKind {
        /// What was given.
        kind: String,
        /// The kinds there are.
        expected: String,
    },
    /// The file has no header or no rows.
    #[error("{file}: the file is empty")]
    Empty {
        /// The file.
        file: String,
    },
    /// The header names a column twice (which one is meant would be a guess).
    #[error("{file}:1: the header names column `{column}` twice")]
    DuplicateColumn {
        /// The file.
        file: String,
        /// The column.
        column: String,
    },
    /// An input would produce more cells (or pixels) than the configured bound.
    #[error("{file}: refused, {what}; nothing was stored")]
    TooLarge {
        /// The file.
        file: String,
        /// What and how much, with the bound and the key that sets it.
        what: String,
    },
    /// A required column is absent from the header.
    #[error("{file}:1: missing required column `{column}`")]
    MissingColumn {
        /// The file.
        file: String,
        /// The column.
        column: String,
    },
    /// The CSV structure itself is broken where no row can be salvaged.
    #[error("{file}:{line}: {message}")]
    Csv {
        /// The file.
        file: String,
        /// Line number.
        line: u64,
        /// What the parser said.
        message: String,
    },
    /// A raster that cannot be used.
    #[error("{file}: {message}")]
    Raster {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// The file is not valid JSON/GeoJSON.
    #[error("{file}: {message}")]
    Json {
        /// The file.
        file: String,
        /// What the parser said (with line and column).
        message: String,
    },
    /// Too many rows were rejected: the file is refused whole and the store is unchanged.
    #[error("{file}: refused, {rejected} of {total} rows rejected ({share:.1} % > {max:.1} % allowed); nothing was stored. First: {first}. All rejects: {rejects_file}")]
    TooManyRejects {
        /// The file.
        file: String,
        /// Rejected rows.
        rejected: usize,
        /// Data rows read.
        total: usize,
        /// Rejected share, percent.
        share: f64,
        /// Allowed share, percent.
        max: f64,
        /// The first rejected row, with line, column and reason.
        first: String,
        /// Where every rejected row was written.
        rejects_file: String,
    },
    /// The file was read but holds no usable row.
    #[error("{file}: no row could be used ({rejected} rejected)")]
    NothingAccepted {
        /// The file.
        file: String,
        /// Rejected rows.
        rejected: usize,
    },
    /// Storing failed; the previous state is kept.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Building a table failed.
    #[error("building table {table}: {source}")]
    Table {
        /// The table.
        table: &'static str,
        /// What polars said.
        source: PolarsError,
    },
}

/// One rejected row.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// `line` for text files, `feature` for GeoJSON (1 = first feature).
    pub unit: &'static str,
    /// Line number in the file (1 = first line), or feature number.
    pub line: u64,
    /// The offending column ("" when the whole row is at fault).
    pub column: String,
    /// Short reason (used to count rejects by reason).
    pub reason: &'static str,
    /// The offending value or detail.
    pub detail: String,
    /// Rows this reject stands for: 1, or the lines a record swallowed when a quote was
    /// left open (each counts as a rejected row).
    pub lines: u64,
}

impl Reject {
    /// A rejection.
    pub fn new(line: u64, column: &str, reason: &'static str, detail: String) -> Self {
        Self {
            unit: "line",
            line,
            column: column.to_owned(),
            reason,
            detail,
            lines: 1,
        }
    }
}

impl Reject {
    /// A rejected GeoJSON feature (`n` counts from 1).
    pub fn feature(n: u64, column: &str, reason: &'static str, detail: String) -> Self {
        Self {
            unit: "feature",
            ..Self::new(n, column, reason, detail)
        }
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.unit, self.line)?;
        if !self.column.is_empty() {
            write!(f, ", column `{}`", self.column)?;
        }
        write!(f, ": {}", self.reason)?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
    }
}

/// What a reader produced from one file.
#[derive(Debug)]
pub struct Parsed<T> {
    /// Accepted rows.
    pub rows: Vec<T>,
    /// Rejected rows.
    pub rejects: Vec<Reject>,
    /// Data rows read (accepted + rejected).
    pub rows_read: usize,
}

impl<T> Parsed<T> {
    pub(crate) fn new() -> Self {
        Self {
            rows: Vec::new(),
            rejects: Vec::new(),
            rows_read: 0,
        }
    }

    pub(crate) fn push(&mut self, row: Result<T, Reject>) {
        self.rows_read += 1;
        match row {
            Ok(r) => self.rows.push(r),
            Err(e) => self.rejects.push(e),
        }
    }

    /// A rejected record that covers `lines` physical lines: when it covers more than one,
    /// every line counts as a rejected row (a quote left open swallows the lines after it,
    /// and those rows must not vanish from the counts).
    pub(crate) fn push_spanning(&mut self, mut reject: Reject, lines: u64) {
        if lines > 1 {
            let last = reject.line + lines - 1;
            if reject.reason == "wrong number of fields" || reject.reason == "field too long" {
                reject.reason = "unterminated quote";
                reject.detail = format!(
                    "a quoted field opened on line {} runs to line {last}, swallowing {} lines; {}",
                    reject.line,
                    lines - 1,
                    reject.detail
                );
            } else {
                reject.detail = format!(
                    "{} (the record runs over {lines} lines, to line {last})",
                    reject.detail
                );
            }
            reject.lines = lines;
        }
        self.rows_read += usize::try_from(lines).unwrap_or(usize::MAX);
        self.rejects.push(reject);
    }
}

impl<T> Parsed<Vec<T>> {
    /// Rows that each gave several values (a coarse H3 cell, an SPEI month) as one list.
    pub fn flatten(self) -> Parsed<T> {
        Parsed {
            rows: self.rows.into_iter().flatten().collect(),
            rejects: self.rejects,
            rows_read: self.rows_read,
        }
    }
}

/// Checks a WGS84 coordinate pair read from a row.
pub fn check_coordinates<C: csvsource::ColumnRef>(
    row: &csvsource::Row<'_>,
    lat_col: C,
    lon_col: C,
) -> Result<(f64, f64), Reject> {
    let lat = row.f64(lat_col)?;
    let lon = row.f64(lon_col)?;
    if !(-90.0..=90.0).contains(&lat) {
        return Err(row.reject(lat_col.name(), "latitude out of range", lat.to_string()));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(row.reject(lon_col.name(), "longitude out of range", lon.to_string()));
    }
    if lat == 0.0 && lon == 0.0 {
        return Err(row.reject(
            lat_col.name(),
            "coordinates 0,0 (placeholder)",
            String::new(),
        ));
    }
    Ok((lat, lon))
}

/// Per-file options of `vigil ingest`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestOptions {
    /// Areas: the level of every area in the file.
    pub level: Option<String>,
    /// Areas: the property holding the name.
    pub name_field: Option<String>,
    /// Climate rasters: the month the file holds (`YYYY-MM`); default: from the file name
    /// (`chirps-v2.0.2023.07.tif`).
    pub period: Option<String>,
    /// Climate rasters: the variable the file holds; default `precip_mm`.
    pub variable: Option<String>,
}

/// The bytes of an input file: memory-mapped when large (no copy of a 450 MB export),
/// read otherwise.
enum Input {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for Input {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Input::Mapped(m) => m,
            Input::Read(v) => v,
        }
    }
}

fn read_input(path: &Path) -> std::io::Result<Input> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.len() < (16 << 20) {
        return std::fs::read(path).map(Input::Read);
    }
    // The one unsafe block of the crate.
    // SAFETY: the map is only read, while this function's caller holds it; a file truncated
    // by another process meanwhile is the one way to fault, as with any mmap reader.
    #[allow(
        unsafe_code,
        reason = "memory-mapping a large input file is unsafe by nature"
    )]
    let mapped = unsafe { memmap2::Mmap::map(&file) };
    mapped.map(Input::Mapped)
}

/// Reads `path` as `kind`, validates, merges with the store and publishes.
pub fn ingest_file(
    store: &mut Store,
    config: &Config,
    kind: Kind,
    path: &Path,
    opts: &IngestOptions,
) -> Result<IngestRecord, IngestError> {
    let started = std::time::Instant::now();
    let file = path.display().to_string();
    let bytes = read_input(path).map_err(|source| IngestError::Io {
        file: file.clone(),
        source,
    })?;
    let bytes: &[u8] = &bytes;
    let res = crate::grid::resolution(config.grid.resolution).map_err(|e| IngestError::Csv {
        file: file.clone(),
        line: 0,
        message: e.to_string(),
    })?;
    let _span = tracing::info_span!("ingest", kind = %kind, file = %file).entered();
    let mut record = IngestRecord {
        kind: kind.as_str().to_owned(),
        file: file.clone(),
        attribution: kind.attribution().to_owned(),
        ..IngestRecord::default()
    };
    // The file's hash (for the manifest) is computed on another core while it is parsed.
    let limits = csvsource::Limits::of(config);
    let (sha, parsed) = std::thread::scope(|scope| {
        let hashing = scope.spawn(|| sha256_hex(bytes));
        let parsed = csvsource::with_limits(limits, || -> Result<Tables, IngestError> {
            Ok(match kind {
                Kind::Acled => {
                    let parsed = acled::read(&file, bytes, res)?;
                    events_tables(store, config, parsed, &mut record)?
                }
                Kind::Ucdp => {
                    let parsed = ucdp::read(&file, bytes, res, ucdp::GED)?;
                    events_tables(store, config, parsed, &mut record)?
                }
                Kind::UcdpCandidate => {
                    let parsed = ucdp::read(&file, bytes, res, ucdp::CANDIDATE)?;
                    events_tables(store, config, parsed, &mut record)?
                }
                Kind::Geopko => {
                    let parsed = geopko::read(&file, bytes, res)?;
                    bases_tables(store, config, parsed, &mut record)?
                }
                Kind::Population => {
                    let parsed = population::read(&file, bytes, res)?;
                    population_tables(store, parsed, &mut record)?
                }
                Kind::Climate => {
                    let parsed = climate::read(&file, bytes, res, opts)?;
                    climate_tables(store, parsed, &mut record)?
                }
                Kind::Idp => {
                    let parsed = idp::read(&file, bytes, res, &config.ingest.idp)?;
                    idp_tables(store, parsed, &mut record)?
                }
                Kind::Incidents => {
                    let parsed = incidents::read(&file, bytes, res, &config.ingest.incidents)?;
                    events_tables(store, config, parsed, &mut record)?
                }
                Kind::Areas => {
                    let area_opts = areas::AreaOptions {
                        level: opts.level.clone(),
                        name_field: opts.name_field.clone(),
                        max_cells: config.grid.max_cells,
                        max_field_bytes: config.ingest.max_field_bytes,
                    };
                    let parsed = areas::read(&file, bytes, res, &area_opts)?;
                    areas_tables(store, parsed, &mut record)?
                }
            })
        });
        (hashing.join().unwrap_or_else(|_| sha256_hex(bytes)), parsed)
    });
    let (tables, rejects) = parsed?;
    tracing::debug!(
        ms = started.elapsed().as_millis(),
        "parsed, merged and framed"
    );
    record.sha256 = sha.clone();
    record.rejected = rejects.iter().map(|r| r.lines as usize).sum();
    for r in &rejects {
        *record
            .rejects_by_reason
            .entry(r.reason.to_owned())
            .or_default() += r.lines as usize;
    }
    if !rejects.is_empty() {
        let rel = format!("rejects/{}-{}.csv", kind.as_str(), &sha[..16]);
        write_rejects(&store.root().join(&rel), &file, &rejects)?;
        record.rejects_file = Some(rel);
    }
    let share = if record.rows_read == 0 {
        0.0
    } else {
        record.rejected as f64 / record.rows_read as f64
    };
    if share > config.ingest.max_reject_share {
        return Err(IngestError::TooManyRejects {
            file,
            rejected: record.rejected,
            total: record.rows_read,
            share: share * 100.0,
            max: config.ingest.max_reject_share * 100.0,
            first: rejects.first().map(ToString::to_string).unwrap_or_default(),
            rejects_file: store
                .root()
                .join(record.rejects_file.clone().unwrap_or_default())
                .display()
                .to_string(),
        });
    }
    if record.accepted == 0 {
        return Err(IngestError::NothingAccepted {
            file,
            rejected: record.rejected,
        });
    }
    let t = std::time::Instant::now();
    store.publish(tables, Some(record.clone()))?;
    tracing::debug!(ms = t.elapsed().as_millis(), "publish");
    Ok(record)
}

type Tables = (Vec<(&'static str, DataFrame)>, Vec<Reject>);

fn frame<T: Table>(rows: &[T]) -> Result<(&'static str, DataFrame), IngestError> {
    T::to_frame(rows)
        .map(|df| (T::NAME, df))
        .map_err(|source| IngestError::Table {
            table: T::NAME,
            source,
        })
}

fn extent(record: &mut IngestRecord, points: impl Iterator<Item = (f64, f64)>) {
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    let mut any = false;
    for (lat, lon) in points {
        any = true;
        b = [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)];
    }
    record.bbox = any.then_some(b);
}

fn date_range(record: &mut IngestRecord, dates: impl Iterator<Item = i32>) {
    let (mut lo, mut hi) = (i32::MAX, i32::MIN);
    for d in dates {
        lo = lo.min(d);
        hi = hi.max(d);
    }
    record.date_range = (lo <= hi).then(|| [format_date(lo), format_date(hi)]);
}

fn events_tables(
    store: &Store,
    config: &Config,
    parsed: Parsed<Event>,
    record: &mut IngestRecord,
) -> Result<Tables, IngestError> {
    record.rows_read = parsed.rows_read;
    record.accepted = parsed.rows.len();
    extent(record, parsed.rows.iter().map(|e| (e.lat, e.lon)));
    date_range(record, parsed.rows.iter().map(|e| e.date_start));
    let t = std::time::Instant::now();
    let merged = merge_events(store.read::<Event>()?, parsed.rows);
    record.duplicates = merged.already_stored;
    record.duplicates_in_file = merged.in_file;
    record.accepted -= merged.in_file;
    let merged = merged.rows;
    let mut rows = merged;
    record.superseded = supersede_candidates(&mut rows);
    record.linked = link_cross_source(&mut rows, &config.ingest);
    tracing::debug!(ms = t.elapsed().as_millis(), "merge and link");
    let t = std::time::Instant::now();
    let table = frame(&rows)?;
    tracing::debug!(ms = t.elapsed().as_millis(), "frame");
    Ok((vec![table], parsed.rejects))
}

/// What [`merge_events`] made.
#[derive(Debug)]
pub struct Merged {
    /// The stored rows with the new ones merged in.
    pub rows: Vec<Event>,
    /// New rows whose key was stored before (replaced, or kept when older).
    pub already_stored: usize,
    /// New rows whose key an earlier row of the same file had.
    pub in_file: usize,
}

/// Merges newly read events into the stored ones by (`source`, `source_id`): an update of
/// an event replaces it (in place) unless its publication time is older. Counts new rows
/// whose key was stored and those whose key an earlier new row had.
pub fn merge_events(existing: Vec<Event>, new: Vec<Event>) -> Merged {
    if existing.is_empty() && all_keys_unique(&new) {
        return Merged {
            rows: new,
            already_stored: 0,
            in_file: 0,
        };
    }
    let stored = existing.len();
    let mut in_file = 0;
    let mut slots: Vec<Option<Event>> = existing.into_iter().chain(new).map(Some).collect();
    // Per key: where it first appears (its place in the table) and which row wins.
    let mut places: Vec<(usize, usize)> = Vec::with_capacity(slots.len());
    let mut duplicates = 0;
    {
        let mut seen: ahash::AHashMap<(&str, &str), usize> =
            ahash::AHashMap::with_capacity(slots.len());
        for (i, e) in slots.iter().enumerate() {
            let Some(e) = e else { continue };
            match seen.entry((e.source.as_str(), e.source_id.as_str())) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(places.len());
                    places.push((i, i));
                }
                std::collections::hash_map::Entry::Occupied(o) => {
                    let place = &mut places[*o.get()];
                    if place.0 >= stored || place.1 >= stored {
                        in_file += 1;
                    } else {
                        duplicates += 1;
                    }
                    let best = slots[place.1].as_ref().and_then(|x| x.published_at);
                    if best.unwrap_or(i64::MIN) <= e.published_at.unwrap_or(i64::MIN) {
                        place.1 = i;
                    }
                }
            }
        }
    }
    // `places` is in order of first appearance: stored rows keep their order, an update
    // takes the place of the row it replaces, and new rows follow in file order.
    let rows = places
        .into_iter()
        .filter_map(|(_, best)| slots[best].take())
        .collect();
    Merged {
        rows,
        already_stored: duplicates,
        in_file,
    }
}

fn all_keys_unique(rows: &[Event]) -> bool {
    let mut seen: ahash::AHashSet<(&str, &str)> = ahash::AHashSet::with_capacity(rows.len());
    rows.iter()
        .all(|e| seen.insert((e.source.as_str(), e.source_id.as_str())))
}

fn compatible(a: Category, b: Category) -> bool {
    let violent = |c| matches!(c, Category::ArmedClash | Category::RemoteViolence);
    a == b || (violent(a) && violent(b))
}

/// Links each UCDP event to the ACLED event describing the same incident (dates at most
/// `duplicate_window_days` apart, points at most `duplicate_km` apart, compatible
/// categories; the nearest, then the earliest id, each ACLED event used once) by setting its
/// `duplicate_of`. Links are recomputed from scratch on every ingest. Returns the number of
/// linked events.
pub fn link_cross_source(rows: &mut [Event], cfg: &crate::config::IngestConfig) -> usize {
    if !rows.iter().any(|e| e.source.starts_with("ucdp")) {
        rows.iter_mut().for_each(|e| e.duplicate_of = None);
        return 0;
    }
    // Candidates are bucketed by day and by a coarse cell (res 5, edge ≈ 8.5 km): the incident
    // of a UCDP event lies in its coarse cell's disk, whose radius grows with duplicate_km.
    let coarse = |cell: Option<u64>| {
        cell.and_then(|c| crate::grid::cell_from_u64(c).ok())
            .and_then(|c| c.parent(h3o::Resolution::Five))
    };
    let rings = crate::grid::rings_for_km(cfg.duplicate_km, h3o::Resolution::Five);
    let mut buckets: HashMap<(i32, h3o::CellIndex), Vec<usize>> = HashMap::new();
    for (i, e) in rows.iter_mut().enumerate() {
        e.duplicate_of = None;
        if e.source == "acled" {
            if let Some(c) = coarse(e.cell) {
                buckets.entry((e.date_start, c)).or_default().push(i);
            }
        }
    }
    let window = i32::try_from(cfg.duplicate_window_days).unwrap_or(i32::MAX / 4);
    let mut used = vec![false; rows.len()];
    let mut links = Vec::new();
    for (i, e) in rows.iter().enumerate() {
        let Some(home) = coarse(e.cell).filter(|_| e.source.starts_with("ucdp")) else {
            continue;
        };
        let area: Vec<h3o::CellIndex> = home.grid_disk(rings);
        let mut best: Option<(f64, usize)> = None;
        for day in e.date_start - window..=e.date_end + window {
            for c in &area {
                for &j in buckets.get(&(day, *c)).map_or(&[][..], Vec::as_slice) {
                    let a = &rows[j];
                    if used[j] || !compatible(a.category, e.category) {
                        continue;
                    }
                    let d = crate::grid::distance_km((a.lat, a.lon), (e.lat, e.lon));
                    let better = best.is_none_or(|(bd, bj)| d < bd || (d == bd && j < bj));
                    if d <= cfg.duplicate_km && better {
                        best = Some((d, j));
                    }
                }
            }
        }
        if let Some((_, j)) = best {
            used[j] = true;
            links.push((i, format!("{}:{}", rows[j].source, rows[j].source_id)));
        }
    }
    let n = links.len();
    for (i, target) in links {
        rows[i].duplicate_of = Some(target);
    }
    n
}

/// Drops UCDP Candidate events of the period a final GED release covers (up to the last
/// GED event date). Returns how many were dropped.
pub fn supersede_candidates(rows: &mut Vec<Event>) -> usize {
    let Some(ged_end) = rows
        .iter()
        .filter(|e| e.source == ucdp::GED)
        .map(|e| e.date_end)
        .max()
    else {
        return 0;
    };
    let before = rows.len();
    rows.retain(|e| !(e.source == ucdp::CANDIDATE && e.date_start <= ged_end));
    before - rows.len()
}

fn bases_tables(
    store: &Store,
    config: &Config,
    parsed: Parsed<geopko::RawBase>,
    record: &mut IngestRecord,
) -> Result<Tables, IngestError> {
    record.rows_read = parsed.rows_read;
    record.accepted = parsed.rows.len();
    extent(record, parsed.rows.iter().map(|b| (b.base.lat, b.base.lon)));
    date_range(record, parsed.rows.iter().map(|b| b.base.valid_from));
    let mut merged: BTreeMap<geopko::BaseKey, Base> = store
        .read::<Base>()?
        .into_iter()
        .map(|b| (geopko::key(&b), b))
        .collect();
    // Several rows of one map at one location are several units there: combine them.
    let mut incoming: BTreeMap<geopko::BaseKey, Base> = BTreeMap::new();
    for raw in parsed.rows {
        match incoming.entry(geopko::key(&raw.base)) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(raw.base);
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                record.combined += 1;
                geopko::combine(o.get_mut(), &raw.base);
            }
        }
    }
    for (key, base) in incoming {
        if merged.insert(key, base).is_some() {
            record.duplicates += 1;
        }
    }
    let mut rows: Vec<Base> = merged.into_values().collect();
    geopko::assign_validity(&mut rows, config.ingest.base_max_validity_days);
    Ok((vec![frame(&rows)?], parsed.rejects))
}

fn population_tables(
    store: &Store,
    parsed: Parsed<PopulationCell>,
    record: &mut IngestRecord,
) -> Result<Tables, IngestError> {
    record.rows_read = parsed.rows_read;
    let mut incoming: BTreeMap<u64, f64> = BTreeMap::new();
    for p in &parsed.rows {
        *incoming.entry(p.cell).or_default() += p.population;
    }
    record.accepted = parsed.rows.len();
    extent(
        record,
        incoming
            .keys()
            .filter_map(|c| crate::grid::cell_from_u64(*c).ok())
            .map(crate::grid::center),
    );
    let mut merged: BTreeMap<u64, f64> = store
        .read::<PopulationCell>()?
        .into_iter()
        .map(|p| (p.cell, p.population))
        .collect();
    for (cell, pop) in incoming {
        if merged.insert(cell, pop).is_some() {
            record.duplicates += 1;
        }
    }
    let rows: Vec<PopulationCell> = merged
        .into_iter()
        .map(|(cell, population)| PopulationCell { cell, population })
        .collect();
    Ok((vec![frame(&rows)?], parsed.rejects))
}

fn climate_tables(
    store: &Store,
    parsed: Parsed<ClimateValue>,
    record: &mut IngestRecord,
) -> Result<Tables, IngestError> {
    record.rows_read = parsed.rows_read;
    record.accepted = parsed.rows.len();
    date_range(record, parsed.rows.iter().map(|c| c.period));
    let key = |c: &ClimateValue| (c.cell, c.period, c.variable.clone());
    let mut merged: BTreeMap<(u64, i32, String), ClimateValue> = store
        .read::<ClimateValue>()?
        .into_iter()
        .map(|c| (key(&c), c))
        .collect();
    // Several points of one file in the same cell are averaged.
    let mut sums: BTreeMap<(u64, i32, String), (f64, usize)> = BTreeMap::new();
    for c in &parsed.rows {
        let e = sums.entry(key(c)).or_default();
        e.0 += c.value;
        e.1 += 1;
    }
    for ((cell, period, variable), (sum, n)) in sums {
        let k = (cell, period, variable.clone());
        let v = ClimateValue {
            cell,
            period,
            variable,
            value: sum / n as f64,
        };
        if merged.insert(k, v).is_some() {
            record.duplicates += 1;
        }
    }
    let rows: Vec<ClimateValue> = merged.into_values().collect();
    Ok((vec![frame(&rows)?], parsed.rejects))
}

fn idp_tables(
    store: &Store,
    parsed: Parsed<IdpSite>,
    record: &mut IngestRecord,
) -> Result<Tables, IngestError> {
    record.rows_read = parsed.rows_read;
    record.accepted = parsed.rows.len();
    extent(record, parsed.rows.iter().map(|s| (s.lat, s.lon)));
    date_range(record, parsed.rows.iter().filter_map(|s| s.date));
    let key = |s: &IdpSite| (s.site.clone(), s.date);
    let mut merged: BTreeMap<(String, Option<i32>), IdpSite> = store
        .read::<IdpSite>()?
        .into_iter()
        .map(|s| (key(&s), s))
        .collect();
    for site in parsed.rows {
        if merged.insert(key(&site), site).is_some() {
            record.duplicates += 1;
        }
    }
    let rows: Vec<IdpSite> = merged.into_values().collect();
    Ok((vec![frame(&rows)?], parsed.rejects))
}

fn areas_tables(
    store: &Store,
    parsed: areas::ParsedAreas,
    record: &mut IngestRecord,
) -> Result<Tables, IngestError> {
    record.rows_read = parsed.features;
    record.accepted = parsed.areas.len();
    for w in &parsed.warnings {
        tracing::warn!("{w}");
    }
    record.warnings.extend(parsed.warnings.iter().cloned());
    let replaced: std::collections::HashSet<String> =
        parsed.areas.iter().map(|a| a.area_id.clone()).collect();
    let mut areas: Vec<Area> = store
        .read::<Area>()?
        .into_iter()
        .filter(|a| !replaced.contains(&a.area_id))
        .collect();
    record.duplicates = replaced.len() + areas.len()
        - areas
            .iter()
            .map(|a| a.area_id.clone())
            .chain(replaced.iter().cloned())
            .collect::<std::collections::HashSet<_>>()
            .len();
    let mut cells: Vec<AreaCell> = store
        .read::<AreaCell>()?
        .into_iter()
        .filter(|c| !replaced.contains(&c.area_id))
        .collect();
    areas.extend(parsed.areas);
    cells.extend(parsed.cells);
    areas.sort_by(|a, b| (&a.level, &a.area_id).cmp(&(&b.level, &b.area_id)));
    // A cell belongs to at most one area per level: the first by area id keeps it.
    cells.sort_by(|a, b| (&a.level, a.cell, &a.area_id).cmp(&(&b.level, b.cell, &b.area_id)));
    cells.dedup_by(|b, a| a.level == b.level && a.cell == b.cell);
    let points: Vec<(f64, f64)> = cells
        .iter()
        .filter_map(|c| crate::grid::cell_from_u64(c.cell).ok())
        .map(crate::grid::center)
        .collect();
    extent(record, points.into_iter());
    Ok((vec![frame(&areas)?, frame(&cells)?], parsed.rejects))
}

fn write_rejects(path: &Path, file: &str, rejects: &[Reject]) -> Result<(), IngestError> {
    let io = |source| {
        IngestError::Store(StoreError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut rows = vec![[
        "file".to_owned(),
        "unit".to_owned(),
        "line".to_owned(),
        "column".to_owned(),
        "reason".to_owned(),
        "detail".to_owned(),
    ]];
    rows.extend(rejects.iter().map(|r| {
        [
            file.to_owned(),
            r.unit.to_owned(),
            r.line.to_string(),
            r.column.clone(),
            r.reason.to_owned(),
            r.detail.clone(),
        ]
    }));
    for r in rows {
        w.write_record(&r)
            .map_err(|e| io(std::io::Error::other(e.to_string())))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| io(std::io::Error::other(e.to_string())))?;
    crate::store::write_atomic(path, &bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const RES: h3o::Resolution = h3o::Resolution::Seven;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn arbitrary_bytes_never_panic_a_reader(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = acled::read("f", &bytes, RES);
            let _ = ucdp::read("f", &bytes, RES, ucdp::GED);
            let _ = geopko::read("f", &bytes, RES);
            let _ = population::read("f", &bytes, RES);
            let _ = climate::read("f", &bytes, RES, &IngestOptions::default());
            let _ = areas::read("f", &bytes, RES, &areas::AreaOptions::default());
            let _ = idp::read("f", &bytes, RES, &Default::default());
            let _ = incidents::read("f", &bytes, RES, &Default::default());
        }

        #[test]
        fn arbitrary_bytes_behind_a_tiff_header_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut tiff = b"II*\0".to_vec();
            tiff.extend(bytes);
            let _ = population::read("f.tif", &tiff, RES);
            let _ = climate::read("f_2020.01.tif", &tiff, RES, &IngestOptions::default());
            let mut gz = vec![0x1f, 0x8b];
            gz.extend(&tiff[4..]);
            let _ = climate::read("spei_1_1.csv.gz", &gz, RES, &IngestOptions::default());
        }

        #[test]
        fn arbitrary_rows_never_panic_and_every_row_is_accounted_for(
            rows in proptest::collection::vec(proptest::collection::vec("[-0-9a-zA-Z ./:\"]{0,12}", 6), 0..20)
        ) {
            let mut text = String::from("event_id_cnty,event_date,event_type,latitude,longitude,fatalities\n");
            for r in &rows {
                text.push_str(&r.join(","));
                text.push('\n');
            }
            if let Ok(p) = acled::read("f", text.as_bytes(), RES) {
                let rejected: u64 = p.rejects.iter().map(|r| r.lines).sum();
                prop_assert_eq!(p.rows.len() + rejected as usize, p.rows_read);
                for e in &p.rows {
                    prop_assert!((-90.0..=90.0).contains(&e.lat) && (-180.0..=180.0).contains(&e.lon));
                }
            }
        }
    }

    fn ev(source: &str, id: &str, day: i32, published: Option<i64>, fatalities: i64) -> Event {
        Event {
            published_at: published,
            civilian_fatalities: Some(fatalities),
            ..Event::at(
                source,
                id,
                day,
                (6.5, 21.0),
                Some(0x872a1072bffffff),
                crate::model::rows::Category::CivilianHarm,
                fatalities,
            )
        }
    }

    #[test]
    fn a_newer_version_of_an_event_replaces_the_older_one() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut store = Store::open_writer(dir.path(), 7, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let publish = |store: &mut Store, rows: Vec<Event>| {
            let parsed = Parsed {
                rows_read: rows.len(),
                rows,
                rejects: vec![],
            };
            let mut record = IngestRecord::default();
            let (tables, _) = events_tables(store, &Config::default(), parsed, &mut record)
                .unwrap_or_else(|e| panic!("{e}"));
            store
                .publish(tables, None)
                .unwrap_or_else(|e| panic!("{e}"));
            record
        };
        publish(&mut store, vec![ev("acled", "A1", 100, Some(1_000), 1)]);
        let r = publish(&mut store, vec![ev("acled", "A1", 100, Some(2_000), 5)]);
        assert_eq!(r.duplicates, 1);
        publish(&mut store, vec![ev("acled", "A1", 100, Some(1_500), 9)]);
        let rows: Vec<Event> = store.read().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].fatalities, 5,
            "the newest upload wins, an older one does not"
        );
    }

    #[test]
    fn final_ged_supersedes_candidate_events_of_its_period() {
        let mut rows = vec![
            ev(ucdp::CANDIDATE, "c1", 100, None, 1),
            ev(ucdp::CANDIDATE, "c2", 300, None, 1),
            ev(ucdp::GED, "g1", 200, None, 1),
            ev("acled", "a1", 50, None, 1),
        ];
        assert_eq!(supersede_candidates(&mut rows), 1);
        let ids: Vec<&str> = rows.iter().map(|e| e.source_id.as_str()).collect();
        assert_eq!(ids, ["c2", "g1", "a1"]);
    }

    #[test]
    fn acled_and_ucdp_reports_of_one_incident_are_linked() {
        let cfg = crate::config::IngestConfig::default();
        let mut near = ev(ucdp::GED, "g1", 101, None, 4);
        near.lat += 0.02; // ≈2.2 km
        let mut far = ev(ucdp::GED, "g2", 100, None, 4);
        far.lat += 0.1; // ≈11 km
        let mut clash = ev(ucdp::GED, "g3", 100, None, 4);
        clash.category = Category::ArmedClash;
        let mut rows = vec![ev("acled", "a1", 100, Some(1), 3), near, far, clash];
        assert_eq!(link_cross_source(&mut rows, &cfg), 1);
        assert_eq!(rows[1].duplicate_of.as_deref(), Some("acled:a1"));
        assert_eq!(rows[2].duplicate_of, None, "too far");
        assert_eq!(
            rows[3].duplicate_of, None,
            "incompatible category, and a1 is taken"
        );
        assert_eq!(
            rows[0].duplicate_of, None,
            "ACLED is the record that counts"
        );
    }

    #[test]
    fn overlapping_areas_of_one_level_never_share_a_cell() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(dir.path(), 7).unwrap_or_else(|e| panic!("{e}"));
        let cell = |a: &str, level: &str, c: u64| AreaCell {
            area_id: a.into(),
            level: level.into(),
            cell: c,
        };
        let area = |id: &str, level: &str| Area {
            area_id: id.into(),
            name: id.into(),
            level: level.into(),
            parent: None,
            geometry: "null".into(),
        };
        let parsed = areas::ParsedAreas {
            areas: vec![
                area("B", "sector"),
                area("A", "sector"),
                area("M", "mission"),
            ],
            cells: vec![
                cell("B", "sector", 1),
                cell("B", "sector", 2),
                cell("A", "sector", 2),
                cell("M", "mission", 2),
            ],
            rejects: vec![],
            features: 3,
            warnings: Vec::new(),
        };
        let mut record = IngestRecord::default();
        let (tables, _) =
            areas_tables(&store, parsed, &mut record).unwrap_or_else(|e| panic!("{e}"));
        let cells = AreaCell::from_frame(&tables[1].1).unwrap_or_else(|e| panic!("{e}"));
        let sector2: Vec<&AreaCell> = cells
            .iter()
            .filter(|c| c.level == "sector" && c.cell == 2)
            .collect();
        assert_eq!(sector2.len(), 1);
        assert_eq!(
            sector2[0].area_id, "A",
            "the first area by id keeps a contested cell"
        );
        assert_eq!(
            cells.iter().filter(|c| c.cell == 2).count(),
            2,
            "one per level"
        );
    }
}
