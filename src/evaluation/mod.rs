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

pub mod metrics;
pub mod plot;

use crate::config::Config;
use crate::model::cell::CellRecord;
use crate::model::day::{format_date, ymd_from_days};
use crate::model::params::Calibration;
use crate::model::progress::{Progress, Unit};
use crate::model::rows::Table;
use crate::risk::calibration::{self, TrainingSet};
use crate::risk::{self, Engine, EventSet, Kind, Prior, ScoreError};
use crate::store::Store;
use metrics::{PrPoint, Reliability, ReliabilityBin};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The forecasts compared.
pub const MODELS: [&str; 5] = ["index", "calibrated", "persistence", "history", "random"];
const CALIBRATED: usize = 1;
/// Top shares of cells for the recall metrics.
pub const TOP: [f64; 3] = [0.01, 0.05, 0.10];
/// Training rows a calibration keeps at most over all origins, per stratum: cells with some
/// threat (any of the five threat components above 0) and quiet cells. Cells without a
/// following event are sampled down to this within their stratum and origin and weighted
/// back up; every cell with an event is kept. (One rate for all cells kept a handful of the
/// few hundred hottest cell-origins that were not hit, each weighing 25, and the fit
/// over-predicted exactly where the probability matters.)
pub const TRAINING_ROWS: [usize; 2] = [2_000_000, 500_000];

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

/// Sums over origins for one (horizon, window, year, model).
#[derive(Debug, Clone, PartialEq)]
struct Acc {
    origins: usize,
    with_events: usize,
    auc_sum: f64,
    ap_sum: f64,
    top_events: [f64; 3],
    top_deaths: [f64; 3],
    top_events_pop: [f64; 3],
    pop_weighted: bool,
    events: f64,
    deaths: f64,
    /// (cells, positive cells) at each of [`metrics::pr_cuts`], and all positive cells.
    pr: Vec<(f64, f64)>,
    positives: f64,
    /// Calibrated probabilities only: Brier and reliability, and the climatology's Brier.
    reliability: Option<Reliability>,
    reference_squared: f64,
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            origins: 0,
            with_events: 0,
            auc_sum: 0.0,
            ap_sum: 0.0,
            top_events: [0.0; 3],
            top_deaths: [0.0; 3],
            top_events_pop: [0.0; 3],
            pop_weighted: false,
            events: 0.0,
            deaths: 0.0,
            pr: vec![(0.0, 0.0); metrics::pr_cuts().len()],
            positives: 0.0,
            reliability: None,
            reference_squared: 0.0,
        }
    }
}

/// The metrics of one model for one horizon, window and year (or all years).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelMetrics {
    /// Horizon, days.
    pub horizon: u32,
    /// `all`, or `tuning` / `evaluation` with `--tune-until`.
    pub window: String,
    /// Calendar year of the origins, or `None` for the whole window.
    pub year: Option<i32>,
    /// `index`, `calibrated`, `persistence`, `history`, `random`.
    pub model: String,
    /// Origins.
    pub origins: usize,
    /// Origins followed by at least one civilian-harm event in the grid.
    pub origins_with_events: usize,
    /// Mean ROC-AUC over those origins.
    pub roc_auc: Option<f64>,
    /// Mean average precision over those origins.
    pub average_precision: Option<f64>,
    /// Share of next-horizon civilian-harm events in the top 1 %, 5 %, 10 % of cells.
    pub recall_events: [Option<f64>; 3],
    /// Share of next-horizon civilian deaths in the top 1 %, 5 %, 10 % of cells.
    pub recall_deaths: [Option<f64>; 3],
    /// Share of next-horizon events in the top cells holding 1 %, 5 %, 10 % of the
    /// residents (`null` without population data).
    pub recall_events_population: [Option<f64>; 3],
    /// Civilian-harm events that followed (cell-level, summed over origins).
    pub events: f64,
    /// Calibrated model: mean squared error of the probabilities over cell-origins.
    pub brier: Option<f64>,
    /// Calibrated model: the Brier score of climatology (the tuning window's base rate).
    pub brier_reference: Option<f64>,
    /// Calibrated model: 1 − brier / brier_reference (> 0: better than climatology).
    pub brier_skill: Option<f64>,
    /// Calibrated model: the mean probability over cell-origins.
    pub mean_probability: Option<f64>,
    /// Calibrated model: the share of cell-origins followed by civilian harm.
    pub observed_rate: Option<f64>,
    /// Calibrated model: predicted against observed, in log-spaced bins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reliability: Option<Vec<ReliabilityBin>>,
    /// Whole-window rows: precision and recall of the top cells at rank cut-offs, pooled
    /// over origins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pr_curve: Option<Vec<PrPoint>>,
}

impl ModelMetrics {
    fn of(horizon: u32, window: &str, year: Option<i32>, model: &str, a: &Acc) -> ModelMetrics {
        let share = |x: f64, t: f64| (t > 0.0).then(|| x / t);
        let mean = |s: f64| (a.with_events > 0).then(|| s / a.with_events as f64);
        let brier = a.reliability.as_ref().and_then(Reliability::brier);
        let brier_reference = a
            .reliability
            .as_ref()
            .filter(|r| !r.is_empty())
            .map(|r| a.reference_squared / r.len() as f64);
        ModelMetrics {
            horizon,
            window: window.to_owned(),
            year,
            model: model.to_owned(),
            origins: a.origins,
            origins_with_events: a.with_events,
            roc_auc: mean(a.auc_sum),
            average_precision: mean(a.ap_sum),
            recall_events: a.top_events.map(|x| share(x, a.events)),
            recall_deaths: a.top_deaths.map(|x| share(x, a.deaths)),
            recall_events_population: a.top_events_pop.map(|x| {
                if a.pop_weighted {
                    share(x, a.events)
                } else {
                    None
                }
            }),
            events: a.events,
            brier,
            brier_reference,
            brier_skill: match (brier, brier_reference) {
                (Some(b), Some(r)) if r > 0.0 => Some(1.0 - b / r),
                _ => None,
            },
            mean_probability: a.reliability.as_ref().and_then(Reliability::mean_predicted),
            observed_rate: a.reliability.as_ref().and_then(Reliability::observed),
            reliability: a.reliability.as_ref().map(Reliability::bins),
            pr_curve: year.is_none().then(|| {
                metrics::pr_cuts()
                    .iter()
                    .zip(&a.pr)
                    .filter(|_| a.positives > 0.0)
                    .map(|(share, (cells, hits))| PrPoint {
                        share: *share,
                        precision: if *cells > 0.0 { hits / cells } else { 0.0 },
                        recall: hits / a.positives,
                    })
                    .collect()
            }),
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

/// A pseudo-random number in [0, 1) of a cell at an origin (SplitMix64 of both), for the
/// random ranking (`salt` 0) and for sampling training rows.
fn random_score(cell: u64, origin: i32, salt: u64) -> f64 {
    let mut r = crate::model::rand::SplitMix64::new(
        cell ^ (origin as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt,
    );
    r.next_f64()
}

/// What is known at an origin and what followed.
struct Observation {
    rows: Vec<CellRecord>,
    persistence: Vec<f64>,
    history: Vec<f64>,
    /// Per horizon: civilian-harm events and civilian deaths per cell in (d, d + h].
    future: Vec<(Vec<f64>, Vec<f64>)>,
}

/// Scores origins as of their day and looks up what happened next.
struct Observer {
    engine: Engine,
    prior: Prior,
    ev: EventSet,
    horizons: Vec<u32>,
}

impl Observer {
    fn new(
        store: &Store,
        config: &Config,
        from: i32,
        to: i32,
        horizons: &[u32],
    ) -> Result<Self, BacktestError> {
        let max_h = horizons.iter().copied().max().unwrap_or(30) as i32;
        let path = store
            .table_path(crate::model::rows::Event::NAME)
            .ok_or(BacktestError::NoEvents)?;
        // Harm events of the look-back and of the horizons: truth and reference forecasts.
        let ev = EventSet::load(&path, from - 366, to + max_h, false)?;
        Ok(Observer {
            engine: Engine::new(store, config, from, to)?,
            prior: Prior::of(store),
            ev,
            horizons: horizons.to_vec(),
        })
    }

    fn at(&mut self, d: i32) -> Result<Observation, BacktestError> {
        let scored = self.engine.score(&self.prior, d)?;
        let pos: HashMap<u64, usize> = scored
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.cell, i))
            .collect();
        let n = scored.rows.len();
        let max_h = self.horizons.iter().copied().max().unwrap_or(30) as i32;
        let mut persistence = vec![0.0; n];
        let mut history = vec![0.0; n];
        let mut future: Vec<(Vec<f64>, Vec<f64>)> = self
            .horizons
            .iter()
            .map(|_| (vec![0.0; n], vec![0.0; n]))
            .collect();
        let ev = &self.ev;
        for i in ev.dated(d - 365, d + max_h) {
            if ev.kind[i] != Kind::Harm || ev.counted_until[i] != i32::MAX {
                continue;
            }
            let Some(&p) = pos.get(&ev.cell[i]) else {
                continue;
            };
            let day = ev.day[i];
            if day <= d && ev.known[i] <= d {
                history[p] += 1.0;
                if day > d - 30 {
                    persistence[p] += 1.0;
                }
            }
            for (k, h) in self.horizons.iter().enumerate() {
                if day > d && day <= d + *h as i32 {
                    future[k].0[p] += 1.0;
                    future[k].1[p] += ev.civilian_deaths[i] as f64;
                }
            }
        }
        Ok(Observation {
            rows: scored.rows,
            persistence,
            history,
            future,
        })
    }
}

/// Adds the cells of an origin to a calibration's training rows: every cell followed by an
/// event, and the others sampled per stratum (some threat / quiet) so that each origin
/// adds at most its share of [`TRAINING_ROWS`] (`origins` origins in all), weighted by the
/// inverse of the rate.
fn add_training(set: &mut TrainingSet, obs: &Observation, k: usize, d: i32, origins: usize) {
    let inputs: Vec<[f64; crate::model::params::P]> =
        obs.rows.iter().map(Calibration::inputs).collect();
    let active = |x: &[f64; crate::model::params::P]| x[..5].iter().any(|c| *c > 0.0);
    let n_active = inputs.iter().filter(|x| active(x)).count();
    let counts = [n_active, inputs.len() - n_active];
    let rates = [0, 1]
        .map(|s| (TRAINING_ROWS[s] as f64 / (counts[s].max(1) * origins.max(1)) as f64).min(1.0));
    for ((r, x), events) in obs.rows.iter().zip(inputs).zip(&obs.future[k].0) {
        if *events > 0.0 {
            set.push(x, true, 1.0);
            continue;
        }
        let rate = rates[usize::from(!active(&x))];
        if random_score(r.cell, d, 0x5EED) < rate {
            set.push(x, false, 1.0 / rate);
        }
    }
}

/// Fits and labels a calibration.
fn calibration_of(
    set: &TrainingSet,
    horizon: u32,
    origins: &[i32],
    step: u32,
) -> Result<Calibration, BacktestError> {
    let f = calibration::fit(set)?;
    let (first, last) = (
        origins.first().copied().unwrap_or_default(),
        origins.last().copied().unwrap_or_default(),
    );
    Ok(Calibration {
        basis: format!(
            "origins {}..{} every {step} days",
            format_date(first),
            format_date(last)
        ),
        horizon_days: horizon,
        fitted_until: format_date(last + horizon as i32),
        features: crate::model::params::FEATURES.map(String::from).to_vec(),
        intercept: f.intercept,
        coefficients: f.coefficients.to_vec(),
        rows: set.len(),
        positives: set.y.iter().filter(|y| **y).count(),
        base_rate: f.base_rate,
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
    let origins = risk::days(from, last, step)?;
    let mut obs = Observer::new(store, config, from, last, &[horizon])?;
    let bar = Progress::start("calibrate", Unit::Days, origins.len() as u64);
    let mut set = TrainingSet::default();
    for &d in &origins {
        let o = obs.at(d)?;
        add_training(&mut set, &o, 0, d, origins.len());
        bar.step(&format_date(d));
    }
    bar.finish();
    calibration_of(&set, horizon, &origins, step)
}

/// Where the calibrated model of a horizon came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// One origin's forecasts and outcomes, for every model and horizon.
fn accumulate(
    acc: &mut BTreeMap<(u32, &'static str, Option<i32>, usize), Acc>,
    opts: &BacktestOptions,
    d: i32,
    o: &Observation,
    cals: &[Option<Calibration>],
) {
    let cells: Vec<u64> = o.rows.iter().map(|r| r.cell).collect();
    let index: Vec<f64> = o.rows.iter().map(|r| r.risk).collect();
    let people: Vec<f64> = o
        .rows
        .iter()
        .map(|r| r.population.unwrap_or(0.0) + r.displaced)
        .collect();
    let has_people = people.iter().any(|p| *p > 0.0);
    let random: Vec<f64> = cells.iter().map(|c| random_score(*c, d, 0)).collect();
    let fixed = [
        (0, &index),
        (2, &o.persistence),
        (3, &o.history),
        (4, &random),
    ];
    // Each model is ranked once per origin; every metric and horizon reads the ranking.
    let orders: Vec<Vec<usize>> = fixed.iter().map(|(_, s)| metrics::order_desc(s)).collect();
    let year = ymd_from_days(d).0;
    let window = opts.window(d);
    let cuts = metrics::pr_cuts();
    for (k, h) in opts.horizons.iter().enumerate() {
        let (events, deaths) = &o.future[k];
        let positive: Vec<bool> = events.iter().map(|e| *e > 0.0).collect();
        let total_events: f64 = events.iter().sum();
        let total_deaths: f64 = deaths.iter().sum();
        let positives = positive.iter().filter(|p| **p).count() as f64;
        // The calibrated probability of this horizon, outside the tuning window.
        let cal = cals[k].as_ref().filter(|_| window != "tuning");
        let probability: Option<Vec<f64>> = cal.map(|c| {
            let w = c.weights();
            o.rows
                .iter()
                .map(|r| c.probability_with(&w, &Calibration::inputs(r)))
                .collect()
        });
        let calibrated_order = probability.as_ref().map(|p| metrics::order_desc(p));
        let mut models: Vec<(usize, &Vec<f64>, &Vec<usize>)> = fixed
            .iter()
            .zip(&orders)
            .map(|((m, s), ord)| (*m, *s, ord))
            .collect();
        if let (Some(p), Some(ord)) = (&probability, &calibrated_order) {
            models.push((CALIBRATED, p, ord));
        }
        for (m, scores, order) in models {
            let auc = metrics::roc_auc_ranked(scores, order, &positive);
            let ap = metrics::average_precision_ranked(scores, order, &positive);
            let tops_e = TOP
                .map(|t| metrics::recall_at_ranked(order, events, t).unwrap_or(0.0) * total_events);
            let tops_d = TOP
                .map(|t| metrics::recall_at_ranked(order, deaths, t).unwrap_or(0.0) * total_deaths);
            let tops_p = TOP.map(|t| {
                metrics::recall_at_population_ranked(order, events, &people, t).unwrap_or(0.0)
                    * total_events
            });
            let hits = metrics::hits_at_ranked(order, &positive, &cuts);
            let mut rel = None;
            let mut reference = 0.0;
            if m == CALIBRATED {
                if let Some(c) = cal {
                    let mut r = Reliability::new(&metrics::RARE_EDGES);
                    for (p, y) in scores.iter().zip(&positive) {
                        r.add(*p, *y);
                        reference += (c.base_rate - f64::from(u8::from(*y))).powi(2);
                    }
                    rel = Some(r);
                }
            }
            for y in [Some(year), None] {
                let a = acc.entry((*h, window, y, m)).or_default();
                a.origins += 1;
                if let (Some(auc), Some(ap)) = (auc, ap) {
                    a.with_events += 1;
                    a.auc_sum += auc;
                    a.ap_sum += ap;
                }
                for j in 0..3 {
                    a.top_events[j] += tops_e[j];
                    a.top_deaths[j] += tops_d[j];
                    a.top_events_pop[j] += tops_p[j];
                }
                a.pop_weighted |= has_people;
                a.events += total_events;
                a.deaths += total_deaths;
                for (sum, (cells, hit)) in a.pr.iter_mut().zip(&hits) {
                    sum.0 += cells;
                    sum.1 += hit;
                }
                a.positives += positives;
                if let Some(r) = &rel {
                    a.reliability
                        .get_or_insert_with(|| Reliability::new(&metrics::RARE_EDGES))
                        .merge(r);
                    a.reference_squared += reference;
                }
            }
        }
    }
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
    // The high-or-critical cells of each origin, for the lead times.
    let mut flags: Vec<(i32, HashSet<u64>)> = Vec::new();
    let mut grid: HashSet<u64> = HashSet::new();
    let mut last_grid: Vec<u64> = Vec::new();
    for &d in &origins {
        if opts.tune_until.is_some_and(|t| d > t) && !fitted {
            fitted = true;
            for (k, h) in opts.horizons.iter().enumerate() {
                used[k] = fit_in_run(&training[k], *h, &training_origins[k], opts.step);
                cals[k] = used[k].calibration.clone();
                training[k] = TrainingSet::default();
            }
        }
        let o = obs.at(d)?;
        for (k, days) in training_origins.iter().enumerate() {
            if days.contains(&d) {
                add_training(&mut training[k], &o, k, d, days.len());
            }
        }
        accumulate(&mut acc, opts, d, &o, &cals);
        flags.push((
            d,
            o.rows
                .iter()
                .filter(|r| r.tier.is_high())
                .map(|r| r.cell)
                .collect(),
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
        let f = &flags[a..=b];
        let (first, last) = (&f[0], &f[f.len() - 1]);
        let (y0, y1) = (
            ymd_from_days(first.0 + 1).0,
            ymd_from_days(last.0 + LEAD_WINDOW_DAYS).0,
        );
        for year in std::iter::once(None).chain((y0..=y1).map(Some)) {
            lead.push(lead_times(&obs.ev, f, &grid, (w, year), LEAD_WINDOW_DAYS));
        }
    }
    Ok(Backtest {
        metrics: acc
            .iter()
            .map(|((h, w, y, m), a)| ModelMetrics::of(*h, w, *y, MODELS[*m], a))
            .collect(),
        lead,
        calibrations: used,
    })
}

/// The store's calibration for a horizon, when the run does not fit its own.
fn stored_calibration(store: &Store, opts: &BacktestOptions, horizon: u32) -> CalibrationUsed {
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
fn fit_in_run(set: &TrainingSet, horizon: u32, origins: &[i32], step: u32) -> CalibrationUsed {
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

/// How far back a flag may precede an event to count as its warning, days.
pub const LEAD_WINDOW_DAYS: i32 = 90;

/// Lead times of the index's flags.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadTimes {
    /// `all`, `tuning` or `evaluation`: the origins whose flags count.
    pub window: String,
    /// Calendar year of the events, or `None` for all of the window's.
    pub year: Option<i32>,
    /// Civilian-harm events in the grid dated after the window's first origin and by its
    /// last origin + the look-back (one per cell and day), within `year` if given.
    pub events: usize,
    /// Of which preceded by a high or critical flag of their cell at some origin within
    /// the look-back before them.
    pub flagged: usize,
    /// Median days from the first such flag to the event.
    pub median_days: Option<f64>,
    /// The look-back, days.
    pub window_days: i32,
}

/// For each civilian-harm event after the first origin of `flags` (and in `year`, if
/// given): the earliest origin within `lookback` days before it at which its cell was high
/// or critical.
fn lead_times(
    ev: &EventSet,
    flags: &[(i32, HashSet<u64>)],
    grid: &HashSet<u64>,
    (window, year): (&str, Option<i32>),
    lookback: i32,
) -> LeadTimes {
    let mut seen = HashSet::new();
    let mut leads = Vec::new();
    let mut events = 0;
    let mut first = flags.first().map_or(0, |f| f.0) + 1;
    let mut last = flags.last().map_or(0, |f| f.0) + lookback;
    if let Some(y) = year {
        first = first.max(crate::model::day::days_from_ymd(y, 1, 1).unwrap_or(first));
        last = last.min(crate::model::day::days_from_ymd(y, 12, 31).unwrap_or(last));
    }
    for i in ev.dated(first, last) {
        if ev.kind[i] != Kind::Harm || ev.counted_until[i] != i32::MAX {
            continue;
        }
        let (cell, day) = (ev.cell[i], ev.day[i]);
        // Only cells of some origin's grid count; events of the same cell and day once.
        if !grid.contains(&cell) || !seen.insert((cell, day)) {
            continue;
        }
        events += 1;
        let earliest = flags
            .iter()
            .filter(|(d, _)| *d < day && *d >= day - lookback)
            .find(|(_, high)| high.contains(&cell))
            .map(|(d, _)| *d);
        if let Some(d) = earliest {
            leads.push(f64::from(day - d));
        }
    }
    LeadTimes {
        window: window.to_owned(),
        year,
        events,
        flagged: leads.len(),
        median_days: metrics::median(&leads),
        window_days: lookback,
    }
}

/// What a backtest gives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// Per horizon, window, year and model.
    pub metrics: Vec<ModelMetrics>,
    /// Lead times of the index's high-or-critical flags, per window.
    pub lead: Vec<LeadTimes>,
    /// Per horizon: the calibration behind the `calibrated` model.
    pub calibrations: Vec<CalibrationUsed>,
}

impl Backtest {
    /// The window the figures show: `evaluation` with a tuning window, else `all`.
    pub fn reported_window(&self) -> &'static str {
        if self.metrics.iter().any(|m| m.window == "evaluation") {
            "evaluation"
        } else {
            "all"
        }
    }

    /// The figures, as (file name, SVG): per horizon, the precision–recall curves of every
    /// model, the calibrated model's reliability diagram, and each model's average
    /// precision by year, over the reported window.
    pub fn plots(&self) -> Vec<(String, String)> {
        use plot::{Axis, Chart, Series};
        let window = self.reported_window();
        let mut horizons: Vec<u32> = self.metrics.iter().map(|m| m.horizon).collect();
        horizons.dedup();
        let mut out = Vec::new();
        for h in horizons {
            let rows: Vec<&ModelMetrics> = self
                .metrics
                .iter()
                .filter(|m| m.horizon == h && m.window == window)
                .collect();
            let whole = |model: &str| {
                rows.iter()
                    .find(|m| m.model == model && m.year.is_none())
                    .copied()
            };
            let pr = Chart {
                title: format!("Precision–recall, {h}-day horizon ({window} window)"),
                x: Axis::linear(
                    "recall (share of cells with civilian harm that follows)",
                    0.0,
                    1.0,
                ),
                y: Axis::log("precision", 1e-5, 1.0),
                series: MODELS
                    .iter()
                    .filter_map(|m| whole(m))
                    .filter_map(|r| {
                        r.pr_curve.as_ref().map(|c| Series {
                            name: r.model.clone(),
                            points: c.iter().map(|p| (p.recall, p.precision)).collect(),
                        })
                    })
                    .collect(),
                diagonal: false,
            };
            out.push((format!("pr_curve_{h}d.svg"), pr.svg()));
            if let Some(bins) = whole("calibrated").and_then(|r| r.reliability.as_ref()) {
                let rel = Chart {
                    title: format!("Reliability of the calibrated probability, {h} days"),
                    x: Axis::log("predicted probability", 1e-6, 1.0),
                    y: Axis::log("observed frequency", 1e-6, 1.0),
                    series: vec![Series {
                        name: "calibrated".into(),
                        points: bins
                            .iter()
                            .map(|b| (b.mean_predicted, b.observed))
                            .collect(),
                    }],
                    diagonal: true,
                };
                out.push((format!("reliability_{h}d.svg"), rel.svg()));
            }
            let years: Vec<i32> = rows.iter().filter_map(|m| m.year).collect();
            let (lo, hi) = (
                years.iter().copied().min().unwrap_or(0),
                years.iter().copied().max().unwrap_or(0),
            );
            let skill = Chart {
                title: format!("Average precision by year, {h}-day horizon"),
                x: Axis::linear(
                    "year of the origin",
                    f64::from(lo) - 0.5,
                    f64::from(hi) + 0.5,
                ),
                y: Axis::log("average precision", 1e-4, 1.0),
                series: MODELS
                    .iter()
                    .map(|model| Series {
                        name: (*model).to_owned(),
                        points: rows
                            .iter()
                            .filter(|m| m.model == *model)
                            .filter_map(|m| Some((f64::from(m.year?), m.average_precision?)))
                            .collect(),
                    })
                    .filter(|s| !s.points.is_empty())
                    .collect(),
                diagonal: false,
            };
            out.push((format!("skill_by_year_{h}d.svg"), skill.svg()));
        }
        out
    }
}

/// The results as a Markdown table (one row per horizon, window, year and model).
pub fn markdown(rows: &[ModelMetrics]) -> String {
    let f = |x: Option<f64>| x.map_or_else(|| "–".to_owned(), |v| format!("{v:.3}"));
    let mut s = String::from(
        "| horizon | window | year | model | origins (with events) | ROC-AUC | AP | top 1 % | top 5 % | top 10 % | deaths top 5 % | predicted / observed | Brier skill |\n|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} d | {} | {} | {} | {} ({}) | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.horizon,
            r.window,
            r.year.map_or_else(|| "all".to_owned(), |y| y.to_string()),
            r.model,
            r.origins,
            r.origins_with_events,
            f(r.roc_auc),
            f(r.average_precision),
            f(r.recall_events[0]),
            f(r.recall_events[1]),
            f(r.recall_events[2]),
            f(r.recall_deaths[1]),
            match (r.mean_probability, r.observed_rate) {
                (Some(p), Some(o)) if o > 0.0 => format!("{:.2}", p / o),
                _ => "–".to_owned(),
            },
            r.brier_skill
                .map_or_else(|| "–".to_owned(), |b| format!("{b:.1e}")),
        ));
    }
    s
}
