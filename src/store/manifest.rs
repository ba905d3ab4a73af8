//! The manifest: what a store holds (tables, snapshots, ingests, fitted parameters), the
//! one file a commit replaces.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// The commit's number: `manifests/{serial:020}.json` (0: a store written before
    /// numbered commits, or none yet).
    #[serde(default)]
    pub serial: u64,
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
    /// Alert episodes, the last day they are computed for and the messages not yet
    /// delivered (`vigil update`).
    #[serde(
        default,
        skip_serializing_if = "crate::model::episode::AlertLog::is_empty"
    )]
    pub alerts: crate::model::episode::AlertLog,
}

impl Manifest {
    /// The manifest of a store with nothing committed.
    pub fn empty(resolution: u8) -> Self {
        Manifest {
            format: 1,
            serial: 0,
            resolution,
            tables: BTreeMap::new(),
            ingests: Vec::new(),
            snapshots: BTreeMap::new(),
            normalisation: None,
            calibration: None,
            retired: BTreeMap::new(),
            alerts: Default::default(),
        }
    }

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
