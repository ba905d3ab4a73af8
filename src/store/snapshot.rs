//! A snapshot loaded from the store: one row per H3 cell of the grid for one as-of day.
//! `risk` writes them; `server` and `output` read them.

use crate::model::cell::{records, CellRecord};
use crate::model::rows::Table;
use crate::store::{SnapshotInfo, Store, StoreError};
use std::collections::HashMap;

/// A loaded snapshot, indexed by cell.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Manifest metadata (version = `info.sha256`).
    pub info: SnapshotInfo,
    /// Rows, sorted by cell.
    pub cells: Vec<CellRecord>,
    /// Row of each cell.
    pub index: HashMap<u64, usize>,
    /// Attributions of the sources whose data the snapshot carries.
    pub attribution: Vec<String>,
}

/// The columns coverage summaries read.
pub const SUMMARY_COLUMNS: [&str; 16] = [
    "cell",
    "population",
    "displaced",
    "events",
    "civilian_fatalities_30d",
    "civilian_fatalities_90d",
    "tier",
    "risk",
    "hazard",
    "exposure",
    "covered",
    "gap",
    "under_covered",
    "gap_severity",
    "mission",
    "area",
];

/// Reads only `columns` of the snapshot of `date` (the others take the values of
/// [`CellRecord::quiet`]): for analyses that need a few columns of many snapshots.
pub fn load_columns(
    store: &Store,
    date: &str,
    columns: &[&str],
) -> Result<Vec<CellRecord>, StoreError> {
    let info = store
        .manifest()
        .snapshots
        .get(date)
        .ok_or_else(|| StoreError::NoSnapshot {
            what: format!("for {date}"),
            path: store.name().into(),
        })?;
    let path = store.local_file(&info.file)?;
    let df = crate::store::read_parquet_columns(&path, columns)?;
    records(&df, false).map_err(|source| StoreError::Parquet { path, source })
}

impl Snapshot {
    /// The snapshot's as-of day (its date was a valid `YYYY-MM-DD` key of the manifest).
    pub fn day(&self) -> i32 {
        crate::model::day::parse_iso_date(&self.date).unwrap_or(i32::MIN)
    }

    /// Loads the snapshot of `date`, or the latest when `None`.
    pub fn load(store: &Store, date: Option<&str>) -> Result<Snapshot, StoreError> {
        let date = match date {
            Some(d) => d.to_owned(),
            None => store
                .latest_snapshot()
                .ok_or_else(|| StoreError::NoSnapshot {
                    what: "at all".into(),
                    path: store.name().into(),
                })?
                .to_owned(),
        };
        let (df, info) = store.read_snapshot(&date)?;
        let cells = CellRecord::from_frame(&df).map_err(|source| StoreError::Parquet {
            path: store.root().join(&info.file),
            source,
        })?;
        let index = cells.iter().enumerate().map(|(i, c)| (c.cell, i)).collect();
        let attribution = store.attributions();
        Ok(Snapshot {
            date,
            info,
            cells,
            index,
            attribution,
        })
    }
}
