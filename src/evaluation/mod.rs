//! Backtesting the early warning (issue 7): at rolling origins, the snapshot scored as of
//! the origin (in memory, nothing published) is compared with what happened in the cells
//! over the following horizon, beside reference forecasts computed in the same run:
//! persistence (civilian-harm events in the cell over the last 30 days), the cell's own
//! 12-month history, and a random ranking; and the calibrated probability (a logistic model
//! on the index components, [`crate::risk::calibration`]) fitted only on origins of a
//! tuning window.
//!
//! Metrics per horizon, evaluation window, year and model: ROC-AUC and average precision
//! (means over the origins that had an event), the share of the next-horizon civilian-harm
//! events (and of civilian deaths, and population-weighted) in the top 1 %, 5 % and 10 % of
//! cells (pooled over origins), a precision–recall curve at rank cut-offs, and for the
//! calibrated probability the Brier score, its skill against climatology and the
//! reliability diagram.

mod gap_capture;
mod lead;
pub mod metrics;
mod observe;
mod parts;
pub mod plot;
mod report;
mod rows_out;
mod shards;
mod tally;
mod training;

pub use gap_capture::{GapCapture, GAP_HORIZON_DAYS, GAP_NEAR_KM};
pub use lead::{LeadTimes, LEAD_WINDOW_DAYS, NEAR_KM, WATCH_WINDOW_DAYS};
pub use report::{calibration_line, markdown};
pub use rows_out::{RowsOut, SAMPLE_RATES};
pub use tally::ModelMetrics;
pub use training::{calibrate, CalibrationUsed};

use observe::Observer;
use parts::Plan;
pub use shards::{
    merge_backtest, merge_calibrate, run_backtest_shard, run_calibrate_shard, ShardOutcome,
};

use crate::config::Config;
use crate::model::progress::{Progress, Unit};
use crate::risk::calibration;
use crate::risk::ScoreError;
use crate::store::Store;
use serde::Serialize;

/// The forecasts compared.
pub const MODELS: [&str; 6] = [
    "index",
    "forecast",
    "persistence",
    "history",
    "history_10km",
    "random",
];
const FORECAST: usize = 1;
/// Top shares of cells for the recall metrics.
pub const TOP: [f64; 3] = [0.01, 0.05, 0.10];
/// Training rows a calibration keeps at most over all origins, per stratum: cells with some
/// threat (any of the five threat components above 0) and quiet cells. Cells without a
/// following event are sampled down to this within their stratum and origin and weighted
/// back up; every cell with an event is kept. (One rate for all cells kept a handful of the
/// few hundred hottest cell-origins that were not hit, each weighing 25, and the fit
/// over-predicted exactly where the probability matters.)
pub const TRAINING_ROWS: [usize; 2] = [400_000, 100_000];

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestOptions {
    /// First origin.
    pub from: i32,
    /// Last origin.
    pub to: i32,
    /// Days between origins.
    pub step: u32,
    /// Horizons, days.
    pub horizons: Vec<u32>,
    /// Origins up to this day form the tuning window: the calibration of each horizon is
    /// fitted on those whose horizon also ends by it, and evaluated on the later origins
    /// (the evaluation window). `None`: one window, `all`, and the store's calibration.
    pub tune_until: Option<i32>,
}

impl BacktestOptions {
    /// The window of origin `d`.
    pub fn window(&self, d: i32) -> &'static str {
        match self.tune_until {
            None => "all",
            Some(t) if d <= t => "tuning",
            Some(_) => "evaluation",
        }
    }
}

/// Errors of a backtest.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// Scoring failed.
    #[error(transparent)]
    Score(#[from] ScoreError),
    /// The options are invalid.
    #[error("invalid {parameter}: {reason}")]
    Options {
        /// Which.
        parameter: &'static str,
        /// Why.
        reason: String,
    },
    /// The judged rows (`--rows`) could not be written.
    #[error("{}: {reason}", path.display())]
    RowsOut {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
    /// No events are stored.
    #[error("no events are stored: ingest some first")]
    NoEvents,
    /// The calibration could not be fitted.
    #[error(transparent)]
    Calibration(#[from] calibration::CalibrationError),
    /// The store's work folder could not be read or written.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A part written by a worker of a sharded job is unreadable.
    #[error("{what}: {reason}")]
    Part {
        /// The part, as named to users.
        what: String,
        /// Why.
        reason: String,
    },
    /// `--merge`: some workers' parts are not in the store.
    #[error("not every worker has written its part yet (or they ran on another state of the store, or with another count of workers); missing: {}", missing.join(", "))]
    Incomplete {
        /// The parts missing.
        missing: Vec<String>,
    },
}

/// Runs the backtest, reporting progress over the origins; with `rows`, the judged
/// cell-origin rows are written there as well ([`RowsOut`]).
pub fn run(
    store: &Store,
    config: &Config,
    opts: &BacktestOptions,
    mut rows: Option<&mut RowsOut>,
) -> Result<Backtest, BacktestError> {
    let plan = Plan::new(opts, config)?;
    let mut obs = Observer::new(store, config, opts.from, opts.to, &opts.horizons)?;
    let bar = Progress::start("backtest", Unit::Days, plan.origins() as u64);
    plan.prepare(&mut obs);
    let mut used = plan.stored_calibrations(store);
    let mut first = plan.observe(&mut obs, &plan.first, &used, &bar, rows.as_deref_mut())?;
    let training = std::mem::take(&mut first.training);
    let mut parts = vec![first];
    if !plan.second.is_empty() {
        if plan.fits() {
            used = plan.fit(&training);
            plan.use_fit(&used, &mut obs);
        }
        drop(training);
        parts.push(plan.observe(&mut obs, &plan.second, &used, &bar, rows)?);
    }
    bar.finish();
    Ok(plan.finish(&obs.ev, &parts, used))
}

/// What a backtest gives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// Per horizon, window, year and model.
    pub metrics: Vec<ModelMetrics>,
    /// Lead times of the index's high-or-critical flags, per window.
    pub lead: Vec<LeadTimes>,
    /// Forward gap capture per window and year.
    pub gap_capture: Vec<GapCapture>,
    /// Per horizon: the calibration behind the `calibrated` model.
    pub calibrations: Vec<CalibrationUsed>,
}
