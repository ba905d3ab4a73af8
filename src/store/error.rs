//! The errors of the store layer.

use polars::prelude::PolarsError;
use std::path::PathBuf;

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
    /// A `--store` that is neither a folder nor a URL of a known object store.
    #[error("--store {store}: {reason}")]
    Location {
        /// The argument.
        store: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A request to the object store failed.
    #[error("{url}: {message}")]
    Bucket {
        /// The bucket URL (and key).
        url: String,
        /// What the object store said.
        message: String,
    },
    /// Other writers kept committing first.
    #[error("store {store}: other writers committed first {attempts} times in a row; try again")]
    Contended {
        /// The store.
        store: String,
        /// Attempts made.
        attempts: u32,
    },
}
