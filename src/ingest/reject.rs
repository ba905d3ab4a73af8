//! Rejected rows: what a reader could not accept, how it is counted and the CSV it is
//! written to beside the store.

use super::{csvsource, IngestError};
use crate::store::StoreError;
use std::fmt;
use std::path::Path;

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

pub(super) fn write_rejects(
    path: &Path,
    file: &str,
    rejects: &[Reject],
) -> Result<(), IngestError> {
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
