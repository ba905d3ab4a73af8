//! A backtest in parts: its origins in two phases (the tuning window, whose rows fit the
//! calibration, and the origins after it, judged with that fit), what scoring a run of
//! origins gives (each origin's contributions to the sums, its gap capture and flagged
//! cells, the training rows), and the results put together from the parts in origin
//! order. One process runs every part in turn ([`super::run`]); the shards of an indexed
//! job run one block of each phase each ([`super::shards`]); both put the parts together
//! here, in the same order, so that the results are the same to the bit.

use super::gap_capture::{self, GapAcc, GAP_HORIZON_DAYS};
use super::lead::{lead_times, LEAD_WINDOW_DAYS, NEAR_KM, WATCH_WINDOW_DAYS};
use super::observe::Observer;
use super::rows_out::RowsOut;
use super::tally::{fold, tally_origin, Contribution};
use super::training::{add_training, fit_in_run, stored_calibration, CalibrationUsed};
use super::{Backtest, BacktestError, BacktestOptions, ModelMetrics, MODELS};
use crate::config::Config;
use crate::model::day::{format_date, ymd_from_days};
use crate::model::params::Calibration;
use crate::model::progress::Progress;
use crate::risk::calibration::TrainingSet;
use crate::risk::{self, EventSet, ScoreError};
use crate::store::Store;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// The origins of a backtest, in two phases.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub(super) opts: BacktestOptions,
    /// Origins up to `--tune-until` (all of them without it).
    pub(super) first: Vec<i32>,
    /// Origins after `--tune-until`: scored once the first phase's rows are fitted.
    pub(super) second: Vec<i32>,
    /// Per horizon, the first-phase origins whose horizon ends inside the tuning window.
    training_origins: Vec<Vec<i32>>,
    /// The horizon whose calibration the engine's watch (and the gaps it adds) uses.
    gap_horizon: usize,
    res: h3o::Resolution,
}

/// What one origin gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct OriginPart {
    pub(super) day: i32,
    contributions: Vec<Contribution>,
    gap: GapAcc,
    /// High-or-critical cells, ascending.
    high: Vec<u64>,
    /// Watched cells, ascending.
    watch: Vec<u64>,
}

/// What a run of origins gave.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Part {
    pub(super) origins: Vec<OriginPart>,
    /// Every cell of the origins' grids, ascending.
    pub(super) grid: Vec<u64>,
    /// Per horizon, the calibration's training rows of these origins, in origin order
    /// (stored apart from the rest: see [`super::shards`]).
    #[serde(skip)]
    pub(super) training: Vec<TrainingSet>,
}

impl Plan {
    /// Checks the options and lays out the origins.
    pub(super) fn new(opts: &BacktestOptions, config: &Config) -> Result<Self, BacktestError> {
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
        let (first, second): (Vec<i32>, Vec<i32>) = origins
            .iter()
            .partition(|d| opts.tune_until.is_none_or(|t| **d <= t));
        let training_origins = opts
            .horizons
            .iter()
            .map(|h| match opts.tune_until {
                Some(t) => first
                    .iter()
                    .copied()
                    .filter(|d| d + *h as i32 <= t)
                    .collect(),
                None => Vec::new(),
            })
            .collect();
        Ok(Plan {
            opts: opts.clone(),
            first,
            second,
            training_origins,
            gap_horizon: opts
                .horizons
                .iter()
                .position(|h| *h as i32 == GAP_HORIZON_DAYS)
                .unwrap_or(0),
            res: crate::grid::resolution(config.grid.resolution).map_err(ScoreError::from)?,
        })
    }

    /// All origins.
    pub(super) fn origins(&self) -> usize {
        self.first.len() + self.second.len()
    }

    /// Readies the engine for the first phase: with a tuning window, no calibration (the
    /// engine's watch, and the gaps it adds, come from the run's own fit, from the first
    /// later origin on, never from a stored one).
    pub(super) fn prepare(&self, obs: &mut Observer) {
        if self.opts.tune_until.is_some() {
            obs.engine.set_calibration(None);
        }
    }

    /// The calibrations of the first phase: the store's, unless the run fits its own.
    pub(super) fn stored_calibrations(&self, store: &Store) -> Vec<CalibrationUsed> {
        self.opts
            .horizons
            .iter()
            .map(|h| stored_calibration(store, &self.opts, *h))
            .collect()
    }

    /// Fits each horizon's calibration on the tuning window's rows (`training`, per
    /// horizon, in origin order).
    pub(super) fn fit(&self, training: &[TrainingSet]) -> Vec<CalibrationUsed> {
        let empty = TrainingSet::default();
        self.opts
            .horizons
            .iter()
            .enumerate()
            .map(|(k, h)| {
                fit_in_run(
                    training.get(k).unwrap_or(&empty),
                    *h,
                    &self.training_origins[k],
                    self.opts.step,
                )
            })
            .collect()
    }

    /// Gives the engine the fitted calibration of the gap horizon, for the second phase.
    pub(super) fn use_fit(&self, used: &[CalibrationUsed], obs: &mut Observer) {
        obs.engine.set_calibration(
            used.get(self.gap_horizon)
                .and_then(|u| u.calibration.clone()),
        );
    }

    /// Whether the second phase is scored with a calibration fitted in the run.
    pub(super) fn fits(&self) -> bool {
        self.opts.tune_until.is_some() && !self.second.is_empty()
    }

    /// Scores `days` (in order) and records what each gave.
    pub(super) fn observe(
        &self,
        obs: &mut Observer,
        days: &[i32],
        used: &[CalibrationUsed],
        bar: &Progress,
        mut rows: Option<&mut RowsOut>,
    ) -> Result<Part, BacktestError> {
        let cals: Vec<Option<Calibration>> = used.iter().map(|u| u.calibration.clone()).collect();
        let mut part = Part {
            training: self
                .opts
                .horizons
                .iter()
                .map(|_| TrainingSet::default())
                .collect(),
            ..Part::default()
        };
        let mut grid: HashSet<u64> = HashSet::new();
        let mut last_grid: Vec<u64> = Vec::new();
        for &d in days {
            let o = obs.at(d)?;
            if let Some(out) = rows.as_deref_mut() {
                out.add(&o, d, self.opts.window(d), &cals)?;
            }
            for (k, origins) in self.training_origins.iter().enumerate() {
                if origins.contains(&d) {
                    add_training(&mut part.training[k], &o, k, d, origins.len());
                }
            }
            let mut gap = GapAcc::default();
            gap_capture::add_origin(&mut gap, &obs.ev, &o.rows, d, self.res);
            let sorted = |keep: &dyn Fn(&crate::model::cell::CellRecord) -> bool| {
                let mut v: Vec<u64> = o.rows.iter().filter(|r| keep(r)).map(|r| r.cell).collect();
                v.sort_unstable();
                v
            };
            part.origins.push(OriginPart {
                day: d,
                contributions: tally_origin(&self.opts, d, &o, &cals),
                gap,
                high: sorted(&|r| r.tier.is_high()),
                watch: sorted(&|r| r.watch),
            });
            let cells: Vec<u64> = o.rows.iter().map(|r| r.cell).collect();
            if cells != last_grid {
                grid.extend(cells.iter().copied());
                last_grid = cells;
            }
            bar.step(&format_date(d));
        }
        part.grid = grid.into_iter().collect();
        part.grid.sort_unstable();
        Ok(part)
    }

    /// The results of the parts (in origin order), with the calibrations they used.
    pub(super) fn finish(
        &self,
        ev: &EventSet,
        parts: &[Part],
        mut used: Vec<CalibrationUsed>,
    ) -> Backtest {
        let opts = &self.opts;
        let mut acc = BTreeMap::new();
        let mut gaps: BTreeMap<(&'static str, Option<i32>), GapAcc> = BTreeMap::new();
        let mut flags: Vec<(i32, HashSet<u64>)> = Vec::new();
        let mut watch: Vec<(i32, HashSet<u64>)> = Vec::new();
        let mut grid: HashSet<u64> = HashSet::new();
        for part in parts {
            grid.extend(part.grid.iter().copied());
            for o in &part.origins {
                let d = o.day;
                fold(&mut acc, opts, d, &o.contributions);
                let year = ymd_from_days(d).0;
                for key in [(opts.window(d), None), (opts.window(d), Some(year))] {
                    gaps.entry(key).or_default().add(&o.gap);
                }
                flags.push((d, o.high.iter().copied().collect()));
                watch.push((d, o.watch.iter().copied().collect()));
            }
        }
        if opts.tune_until.is_some() && self.second.is_empty() {
            for u in &mut used {
                u.note = Some(
                    "no origin falls after --tune-until: nothing to evaluate the calibration on"
                        .into(),
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
                        ev,
                        (name, f),
                        &grid,
                        (w, year),
                        (days, near),
                        self.res,
                    ));
                }
            }
        }
        Backtest {
            metrics: acc
                .iter()
                .map(|((h, w, y, m), a)| ModelMetrics::of(*h, w, *y, MODELS[*m], a))
                .collect(),
            lead,
            gap_capture: gap_capture::captures(&gaps),
            calibrations: used,
        }
    }
}
