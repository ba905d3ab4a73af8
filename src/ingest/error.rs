//! The errors of the ingest layer.

use crate::store::StoreError;
use polars::prelude::PolarsError;

/// Errors of the ingest layer. Row-level problems are [`super::Reject`]s, not errors.
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
    /// The store's grid resolution is not an H3 resolution (`[grid] resolution`).
    #[error("grid: {0}")]
    Grid(#[from] crate::grid::GridError),
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
