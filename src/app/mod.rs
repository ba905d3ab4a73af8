//! The use cases of Vigil, one file each, as the `vigil` binary runs them: each takes a
//! [`Context`] (where the store and configuration are) and the request's values, and
//! returns a typed result; printing is the binary's (`src/cli/`).

mod coverage;
mod evaluation;
mod ingest;
mod score;
mod serve;
mod store;
mod update;

pub use coverage::{
    coverage, outside_reach, plan, responsiveness, scenario, CoverageRequest, PlanReport,
    PlanRequest, ResponsivenessReport,
};
pub use evaluation::{
    backtest, backtest_merge, backtest_shard, calibrate, calibrate_merge, calibrate_shard,
    BacktestRequest, ROWS_FILE,
};
pub use ingest::{bench_store, ingest, load_sample, load_sample_weeks, sample, Demo};
pub use score::{explain, normalise, score, score_range};
pub use serve::{healthcheck, serve, token, Token};
pub use store::{export, gc};
pub use update::{
    redeliver, subscribes, update, EpisodeChange, IngestedFile, RedeliverReport, RefusedFile,
    UpdateReport, UpdateStatus,
};

use crate::config::{Config, ConfigError};
use crate::ingest::IngestError;
use crate::model::day::parse_iso_date;
use crate::output::export::ExportError;
use crate::risk::ScoreError;
use crate::server::ServeError;
use crate::store::lock::LockOptions;
use crate::store::{Location, Store, StoreError};
use crate::synthetic::sample::SampleError;
use std::path::PathBuf;

/// Any error a command can end with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Ingest.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// Store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Scoring.
    #[error(transparent)]
    Score(#[from] ScoreError),
    /// Export.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// Server.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// Sample generation.
    #[error(transparent)]
    Sample(#[from] SampleError),
    /// Backtest.
    #[error(transparent)]
    Backtest(#[from] crate::evaluation::BacktestError),
    /// Coverage analyses.
    #[error(transparent)]
    Coverage(#[from] crate::coverage::CoverageError),
    /// A scenario.
    #[error(transparent)]
    Scenario(#[from] crate::analysis::scenario::ScenarioError),
    /// A report could not be written.
    #[error(transparent)]
    Report(#[from] crate::analysis::report::ReportError),
    /// Synthetic benchmark store.
    #[error(transparent)]
    Synthetic(#[from] crate::synthetic::SyntheticError),
    /// A command-line value is invalid.
    #[error("invalid {parameter} `{value}`: {reason}")]
    Argument {
        /// The flag or argument.
        parameter: &'static str,
        /// What was given.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// An environment variable is invalid.
    #[error("{variable}: {reason}")]
    Environment {
        /// The variable.
        variable: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// An alert message could not be delivered or recorded.
    #[error(transparent)]
    Delivery(#[from] crate::delivery::DeliveryError),
    /// A report file could not be written.
    #[error("cannot write {path}: {source}")]
    ReportFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The server's health check failed.
    #[error("unhealthy: {0}")]
    Unhealthy(String),
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// The system's randomness could not be read (a new token).
    #[error("cannot read the system's randomness (/dev/urandom): {0}")]
    Randomness(std::io::Error),
}

/// Where the store and configuration are, and how a writer waits for the store's lock.
#[derive(Debug, Clone)]
pub struct Context {
    /// Store folder; for a store in a bucket, its local cache folder.
    pub store: PathBuf,
    /// The bucket URL of a store in an object store (`s3://bucket/prefix`); `None`: the
    /// folder is the store.
    pub bucket: Option<String>,
    /// Configuration file, if any.
    pub config: Option<PathBuf>,
    /// How a writing command waits for another writer (`--lock-timeout`, `--no-wait`).
    pub lock: LockOptions,
}

impl Context {
    /// A context with the default lock behaviour (wait up to 10 minutes).
    pub fn new(store: impl Into<PathBuf>, config: Option<PathBuf>) -> Self {
        Self {
            store: store.into(),
            bucket: None,
            config,
            lock: LockOptions::default(),
        }
    }

    /// A context for the store at `location` (a folder, or a bucket and its cache folder).
    pub fn at(location: &Location, config: Option<PathBuf>) -> Self {
        Self {
            store: location.local_dir().to_path_buf(),
            bucket: location.bucket().map(str::to_owned),
            config,
            lock: LockOptions::default(),
        }
    }

    /// Where the store is.
    pub fn location(&self) -> Location {
        match &self.bucket {
            Some(url) => Location::Bucket {
                url: url.clone(),
                cache: self.store.clone(),
            },
            None => Location::Folder(self.store.clone()),
        }
    }

    /// The store opened for writing: a folder under its writer lock, a bucket with
    /// conditional commits.
    fn open_writer(&self, config: &Config) -> Result<Store, Error> {
        Ok(Store::open_writer_at(
            &self.location(),
            &config.store.object_options,
            config.grid.resolution,
            &self.lock,
        )?)
    }

    /// The configuration and the store opened for reading (no lock).
    fn load(&self) -> Result<(Config, Store), Error> {
        let config = Config::load(self.config.as_deref())?;
        let store = Store::open_at(
            &self.location(),
            &config.store.object_options,
            config.grid.resolution,
        )?;
        Ok((config, store))
    }

    /// Runs a writing command: takes the store's writer lock, reads the manifest under it,
    /// runs `f`, then collects what no reader needs any more (the lock is released when
    /// the store is dropped).
    fn write<T>(
        &self,
        f: impl FnOnce(&Config, &mut Store) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let config = Config::load(self.config.as_deref())?;
        let mut store = self.open_writer(&config)?;
        let out = f(&config, &mut store)?;
        collect_garbage(&mut store, &config);
        Ok(out)
    }
}

/// The garbage collection at the end of every writer: failures are logged, never fatal
/// (the data are committed).
fn collect_garbage(store: &mut Store, config: &Config) {
    let grace = std::time::Duration::from_secs(config.store.gc_grace_secs);
    match store.gc(grace, false) {
        Ok(r) if !r.removed.is_empty() => {
            tracing::info!(
                removed = r.removed.len(),
                kept = r.kept.len(),
                "garbage collected"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "garbage collection failed; `vigil gc` retries"),
    }
}

/// A date argument, checked.
fn date_arg(parameter: &'static str, value: &str) -> Result<i32, Error> {
    parse_iso_date(value).ok_or_else(|| Error::Argument {
        parameter,
        value: value.to_owned(),
        reason: "expected a calendar date YYYY-MM-DD",
    })
}
