//! The calibrated model's training rows and fits: in a run on the tuning window, from the
//! store, or for `vigil calibrate`.

use super::observe::{random_score, Observation, Observer};
use super::{BacktestError, BacktestOptions, TRAINING_ROWS};
use crate::config::Config;
use crate::model::day::format_date;
use crate::model::params::{at, Calibration, CLASSES, P, RADII, WINDOWS_DAYS};
use crate::model::progress::{Progress, Unit};
use crate::risk::calibration::{self, TrainingSet};
use crate::risk::{self};
use crate::store::Store;
use serde::Serialize;

/// Adds the cells of an origin to a calibration's training rows: every cell followed by an
/// event, and the others sampled per stratum (violence within 50 km in the last three
/// years / quiet) so that each origin adds at most its share of [`TRAINING_ROWS`]
/// (`origins` origins in all), weighted by the inverse of the rate.
pub(super) fn add_training(
    set: &mut TrainingSet,
    obs: &Observation,
    k: usize,
    d: i32,
    origins: usize,
) {
    let last = WINDOWS_DAYS.len() - 1;
    let active =
        |x: &[f32; P]| (0..CLASSES.len()).any(|c| x[at::count(c, RADII.len() - 1, last)] > 0.0);
    let n_active = obs.features.iter().filter(|x| active(x)).count();
    let counts = [n_active, obs.features.len() - n_active];
    let rates = [0, 1]
        .map(|s| (TRAINING_ROWS[s] as f64 / (counts[s].max(1) * origins.max(1)) as f64).min(1.0));
    for ((r, x), events) in obs.rows.iter().zip(&obs.features).zip(&obs.future[k].0) {
        if *events > 0.0 {
            set.push_at(*x, true, 1.0, d);
            continue;
        }
        let rate = rates[usize::from(!active(x))];
        if random_score(r.cell, d, 0x5EED) < rate {
            set.push_at(*x, false, 1.0 / rate, d);
        }
    }
}

/// Fits and labels a calibration.
pub(super) fn calibration_of(
    set: &TrainingSet,
    horizon: u32,
    origins: &[i32],
    step: u32,
) -> Result<Calibration, BacktestError> {
    let (first, last) = (
        origins.first().copied().unwrap_or_default(),
        origins.last().copied().unwrap_or_default(),
    );
    // Each of the last years of origins, predicted by a fit on the origins before it,
    // checks the calibration.
    let holdouts: Vec<i32> = (1..=calibration::RECALIBRATION_YEARS)
        .rev()
        .map(|k| last - 365 * k + 1)
        .collect();
    let f = calibration::fit_recalibrated(set, &holdouts)?;
    Ok(Calibration {
        basis: format!(
            "origins {}..{} every {step} days",
            format_date(first),
            format_date(last)
        ),
        horizon_days: horizon,
        fitted_until: format_date(last + horizon as i32),
        features: crate::model::params::feature_names(),
        intercept: f.intercept,
        coefficients: f.coefficients.to_vec(),
        means: f.means.to_vec(),
        scales: f.scales.to_vec(),
        rows: set.len(),
        positives: set.y.iter().filter(|y| **y).count(),
        base_rate: f.base_rate,
        ceiling: f.ceiling,
    })
}

/// Fits the calibration of `horizon` on the origins `from`, `from + step`, … whose horizon
/// ends by `to` (so that no event after `to` is seen), for `vigil calibrate`.
pub fn calibrate(
    store: &Store,
    config: &Config,
    from: i32,
    to: i32,
    step: u32,
    horizon: u32,
) -> Result<Calibration, BacktestError> {
    let origins = calibration_origins(from, to, step, horizon)?;
    let set = calibration_rows(store, config, &origins, &origins, horizon)?;
    calibration_of(&set, horizon, &origins, step)
}

/// The origins of `vigil calibrate`: those whose horizon ends by `to`.
pub(super) fn calibration_origins(
    from: i32,
    to: i32,
    step: u32,
    horizon: u32,
) -> Result<Vec<i32>, BacktestError> {
    if horizon == 0 {
        return Err(BacktestError::Options {
            parameter: "--horizon",
            reason: "give a horizon of 1 day or more".into(),
        });
    }
    let last = to - horizon as i32;
    if last < from {
        return Err(BacktestError::Options {
            parameter: "--to",
            reason: format!(
                "the tuning window {}..{} is shorter than the {horizon}-day horizon: no origin's horizon ends inside it",
                format_date(from),
                format_date(to)
            ),
        });
    }
    Ok(risk::days(from, last, step)?)
}

/// The training rows of `days`, some of a calibration's `origins` (all, or one shard's).
pub(super) fn calibration_rows(
    store: &Store,
    config: &Config,
    origins: &[i32],
    days: &[i32],
    horizon: u32,
) -> Result<TrainingSet, BacktestError> {
    let mut set = TrainingSet::default();
    let (Some(from), Some(last)) = (origins.first(), origins.last()) else {
        return Ok(set);
    };
    let mut obs = Observer::new(store, config, *from, *last, &[horizon])?;
    let bar = Progress::start("calibrate", Unit::Days, days.len() as u64);
    for &d in days {
        let o = obs.at(d)?;
        add_training(&mut set, &o, 0, d, origins.len());
        bar.step(&format_date(d));
    }
    bar.finish();
    Ok(set)
}

/// Where the calibrated model of a horizon came from.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct CalibrationUsed {
    /// Horizon, days.
    pub horizon: u32,
    /// `fitted in this run on the tuning window` or `stored (vigil calibrate)`.
    pub source: String,
    /// The model, when there is one.
    pub calibration: Option<Calibration>,
    /// Why there is none, or a warning (a stored calibration fitted on events of the
    /// evaluated origins' horizons is in-sample).
    pub note: Option<String>,
}

/// The store's calibration for a horizon, when the run does not fit its own.
pub(super) fn stored_calibration(
    store: &Store,
    opts: &BacktestOptions,
    horizon: u32,
) -> CalibrationUsed {
    let mut used = CalibrationUsed {
        horizon,
        source: "stored (vigil calibrate)".into(),
        calibration: None,
        note: None,
    };
    if opts.tune_until.is_some() {
        used.source = "fitted in this run on the tuning window".into();
        return used;
    }
    match &store.manifest().calibration {
        None => {
            used.note =
                Some("no calibration is stored: run vigil calibrate, or give --tune-until".into())
        }
        Some(c) if c.horizon_days != horizon => {
            used.note = Some(format!(
                "the stored calibration is for {} days, not {horizon}",
                c.horizon_days
            ));
        }
        Some(c) => {
            let until = crate::model::day::parse_iso_date(&c.fitted_until).unwrap_or(i32::MAX);
            if until > opts.from {
                used.note = Some(format!(
                    "in-sample: the stored calibration saw events up to {}, after the first origin {}",
                    c.fitted_until,
                    format_date(opts.from)
                ));
            }
            used.calibration = Some(c.clone());
        }
    }
    used
}

/// Fits a horizon's calibration on the tuning window's rows.
pub(super) fn fit_in_run(
    set: &TrainingSet,
    horizon: u32,
    origins: &[i32],
    step: u32,
) -> CalibrationUsed {
    let (calibration, note) = if origins.is_empty() {
        (
            None,
            Some(format!(
                "no origin of the tuning window has its {horizon}-day horizon inside it"
            )),
        )
    } else {
        match calibration_of(set, horizon, origins, step) {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e.to_string())),
        }
    };
    CalibrationUsed {
        horizon,
        source: "fitted in this run on the tuning window".into(),
        calibration,
        note,
    }
}
