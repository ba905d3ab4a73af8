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
pub mod plot;
mod report;
mod tally;
mod training;

pub use gap_capture::{GapCapture, GAP_HORIZON_DAYS, GAP_NEAR_KM};
pub use lead::{LeadTimes, LEAD_WINDOW_DAYS, NEAR_KM, WATCH_WINDOW_DAYS};
pub use report::{calibration_line, markdown};
pub use tally::ModelMetrics;
pub use training::{calibrate, CalibrationUsed};

use lead::lead_times;
use observe::Observer;
use tally::accumulate;
use training::{add_training, fit_in_run, stored_calibration};

use crate::config::Config;
use crate::model::day::{format_date, ymd_from_days};
use crate::model::params::Calibration;
use crate::model::progress::{Progress, Unit};
use crate::risk::calibration::{self, TrainingSet};
use crate::risk::{self, ScoreError};
use crate::store::Store;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

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
    /// No events are stored.
    #[error("no events are stored: ingest some first")]
    NoEvents,
    /// The calibration could not be fitted.
    #[error(transparent)]
    Calibration(#[from] calibration::CalibrationError),
}

/// Runs the backtest, reporting progress over the origins.
pub fn run(
    store: &Store,
    config: &Config,
    opts: &BacktestOptions,
) -> Result<Backtest, BacktestError> {
    if opts.horizons.is_empty() || opts.horizons.contains(&0) {
        return Err(BacktestError::Options {
            parameter: "--horizon",
            reason: "give at least one horizon of 1 day or more".into(),
        });
    }
    let origins = risk::days(opts.from, opts.to, opts.step)?;
    if let Some(t) = opts.tune_until {
        if t < opts.from || t >= opts.to {
            return Err(BacktestError::Options {
                parameter: "--tune-until",
                reason: format!(
                    "{} must fall between --from {} and --to {} so that both windows have origins",
                    format_date(t),
                    format_date(opts.from),
                    format_date(opts.to)
                ),
            });
        }
    }
    let mut obs = Observer::new(store, config, opts.from, opts.to, &opts.horizons)?;
    let bar = Progress::start("backtest", Unit::Days, origins.len() as u64);
    let mut acc = BTreeMap::new();
    // Per horizon: the calibration in use, and with --tune-until its training rows.
    let mut used: Vec<CalibrationUsed> = opts
        .horizons
        .iter()
        .map(|h| stored_calibration(store, opts, *h))
        .collect();
    let mut cals: Vec<Option<Calibration>> = used.iter().map(|u| u.calibration.clone()).collect();
    let training_origins: Vec<Vec<i32>> = opts
        .horizons
        .iter()
        .map(|h| match opts.tune_until {
            Some(t) => origins
                .iter()
                .copied()
                .filter(|d| d + *h as i32 <= t)
                .collect(),
            None => Vec::new(),
        })
        .collect();
    let mut training: Vec<TrainingSet> = opts
        .horizons
        .iter()
        .map(|_| TrainingSet::default())
        .collect();
    let mut fitted = false;
    // With a tuning window, the engine's watch (and the gaps it adds) come from the model
    // fitted on it, from the first evaluation origin on; never from a stored one.
    if opts.tune_until.is_some() {
        obs.engine.set_calibration(None);
    }
    let gap_horizon = opts
        .horizons
        .iter()
        .position(|h| *h as i32 == GAP_HORIZON_DAYS)
        .unwrap_or(0);
    // The high-or-critical cells and the watched cells of each origin, for the lead times.
    let mut flags: Vec<(i32, HashSet<u64>)> = Vec::new();
    let mut watch: Vec<(i32, HashSet<u64>)> = Vec::new();
    let mut grid: HashSet<u64> = HashSet::new();
    let mut last_grid: Vec<u64> = Vec::new();
    let mut gaps = BTreeMap::new();
    let res = crate::grid::resolution(config.grid.resolution).map_err(ScoreError::from)?;
    for &d in &origins {
        if opts.tune_until.is_some_and(|t| d > t) && !fitted {
            fitted = true;
            for (k, h) in opts.horizons.iter().enumerate() {
                used[k] = fit_in_run(&training[k], *h, &training_origins[k], opts.step);
                cals[k] = used[k].calibration.clone();
                training[k] = TrainingSet::default();
            }
            obs.engine.set_calibration(cals[gap_horizon].clone());
        }
        let o = obs.at(d)?;
        for (k, days) in training_origins.iter().enumerate() {
            if days.contains(&d) {
                add_training(&mut training[k], &o, k, d, days.len());
            }
        }
        accumulate(&mut acc, opts, d, &o, &cals);
        let year = ymd_from_days(d).0;
        for key in [(opts.window(d), None), (opts.window(d), Some(year))] {
            gap_capture::add_origin(gaps.entry(key).or_default(), &obs.ev, &o.rows, d, res);
        }
        flags.push((
            d,
            o.rows
                .iter()
                .filter(|r| r.tier.is_high())
                .map(|r| r.cell)
                .collect(),
        ));
        watch.push((
            d,
            o.rows.iter().filter(|r| r.watch).map(|r| r.cell).collect(),
        ));
        let cells: Vec<u64> = o.rows.iter().map(|r| r.cell).collect();
        if cells != last_grid {
            grid.extend(cells.iter().copied());
            last_grid = cells;
        }
        bar.step(&format_date(d));
    }
    bar.finish();
    if opts.tune_until.is_some() && !fitted {
        for u in &mut used {
            u.note = Some(
                "no origin falls after --tune-until: nothing to evaluate the calibration on".into(),
            );
        }
    }
    let windows: Vec<&'static str> = match opts.tune_until {
        None => vec!["all"],
        Some(_) => vec!["tuning", "evaluation"],
    };
    let mut lead = Vec::new();
    for w in windows {
        // Origins are in date order, so each window's flags are one run of them.
        let in_window = |(d, _): &(i32, HashSet<u64>)| opts.window(*d) == w;
        let (Some(a), Some(b)) = (
            flags.iter().position(in_window),
            flags.iter().rposition(in_window),
        ) else {
            continue;
        };
        let kinds = [
            ("high tier", &flags[a..=b], LEAD_WINDOW_DAYS, 0.0),
            ("high tier", &flags[a..=b], WATCH_WINDOW_DAYS, NEAR_KM),
            ("watch", &watch[a..=b], WATCH_WINDOW_DAYS, 0.0),
            ("watch", &watch[a..=b], WATCH_WINDOW_DAYS, NEAR_KM),
        ];
        for (name, f, days, near) in kinds {
            if name == "watch" && f.iter().all(|(_, s)| s.is_empty()) {
                continue;
            }
            let (first, last) = (&f[0], &f[f.len() - 1]);
            let (y0, y1) = (ymd_from_days(first.0 + 1).0, ymd_from_days(last.0 + days).0);
            for year in std::iter::once(None).chain((y0..=y1).map(Some)) {
                lead.push(lead_times(
                    &obs.ev,
                    (name, f),
                    &grid,
                    (w, year),
                    (days, near),
                    res,
                ));
            }
        }
    }
    Ok(Backtest {
        metrics: acc
            .iter()
            .map(|((h, w, y, m), a)| ModelMetrics::of(*h, w, *y, MODELS[*m], a))
            .collect(),
        lead,
        gap_capture: gap_capture::captures(&gaps),
        calibrations: used,
    })
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
