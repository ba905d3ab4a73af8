//! Sums over origins and the metrics they give, per horizon, window, year and model.

use super::metrics::{PrPoint, Reliability, ReliabilityBin};
use super::observe::{random_score, Observation};
use super::{metrics, BacktestOptions, FORECAST, TOP};
use crate::model::day::ymd_from_days;
use crate::model::params::Calibration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Sums over origins for one (horizon, window, year, model).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Acc {
    pub(super) origins: usize,
    pub(super) with_events: usize,
    pub(super) auc_sum: f64,
    pub(super) ap_sum: f64,
    pub(super) top_events: [f64; 3],
    pub(super) top_deaths: [f64; 3],
    pub(super) top_events_pop: [f64; 3],
    pub(super) pop_weighted: bool,
    pub(super) events: f64,
    pub(super) deaths: f64,
    /// (cells, positive cells) at each of [`metrics::pr_cuts`], and all positive cells.
    pub(super) pr: Vec<(f64, f64)>,
    pub(super) positives: f64,
    /// Calibrated probabilities only: Brier and reliability, and the climatology's Brier.
    pub(super) reliability: Option<Reliability>,
    pub(super) reference_squared: f64,
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
    pub(super) fn of(
        horizon: u32,
        window: &str,
        year: Option<i32>,
        model: &str,
        a: &Acc,
    ) -> ModelMetrics {
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

/// What one origin adds to the sums of one horizon and model: computed where the origin
/// is scored (in a shard of a backtest, stored with its partial results), added to the sums
/// in origin order wherever the results are put together, so that the sums are the same
/// to the bit whichever process scored the origin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Contribution {
    horizon: u32,
    model: usize,
    /// ROC-AUC and average precision, when an event followed.
    ranking: Option<(f64, f64)>,
    top_events: [f64; 3],
    top_deaths: [f64; 3],
    top_events_pop: [f64; 3],
    has_people: bool,
    events: f64,
    deaths: f64,
    hits: Vec<(f64, f64)>,
    positives: f64,
    reliability: Option<Reliability>,
    reference_squared: f64,
}

/// One origin's forecasts and outcomes, for every model and horizon.
pub(super) fn tally_origin(
    opts: &BacktestOptions,
    d: i32,
    o: &Observation,
    cals: &[Option<Calibration>],
) -> Vec<Contribution> {
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
        (4, &o.history_10km),
        (5, &random),
    ];
    // Each model is ranked once per origin; every metric and horizon reads the ranking.
    let orders: Vec<Vec<usize>> = fixed.iter().map(|(_, s)| metrics::order_desc(s)).collect();
    let window = opts.window(d);
    let cuts = metrics::pr_cuts();
    let mut out = Vec::new();
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
            o.features.iter().map(|x| w.probability(x)).collect()
        });
        let calibrated_order = probability.as_ref().map(|p| metrics::order_desc(p));
        let mut models: Vec<(usize, &Vec<f64>, &Vec<usize>)> = fixed
            .iter()
            .zip(&orders)
            .map(|((m, s), ord)| (*m, *s, ord))
            .collect();
        if let (Some(p), Some(ord)) = (&probability, &calibrated_order) {
            models.push((FORECAST, p, ord));
        }
        for (m, scores, order) in models {
            let auc = metrics::roc_auc_ranked(scores, order, &positive);
            let ap = metrics::average_precision_ranked(scores, order, &positive);
            let mut reliability = None;
            let mut reference_squared = 0.0;
            if m == FORECAST {
                if let Some(c) = cal {
                    let mut r = Reliability::new(&metrics::RARE_EDGES);
                    for (p, y) in scores.iter().zip(&positive) {
                        r.add(*p, *y);
                        reference_squared += (c.base_rate - f64::from(u8::from(*y))).powi(2);
                    }
                    reliability = Some(r);
                }
            }
            out.push(Contribution {
                horizon: *h,
                model: m,
                ranking: auc.zip(ap),
                top_events: TOP.map(|t| {
                    metrics::recall_at_ranked(order, events, t).unwrap_or(0.0) * total_events
                }),
                top_deaths: TOP.map(|t| {
                    metrics::recall_at_ranked(order, deaths, t).unwrap_or(0.0) * total_deaths
                }),
                top_events_pop: TOP.map(|t| {
                    metrics::recall_at_population_ranked(order, events, &people, t).unwrap_or(0.0)
                        * total_events
                }),
                has_people,
                events: total_events,
                deaths: total_deaths,
                hits: metrics::hits_at_ranked(order, &positive, &cuts),
                positives,
                reliability,
                reference_squared,
            });
        }
    }
    out
}

/// Adds origin `d`'s contributions to the sums of its year and of all years.
pub(super) fn fold(
    acc: &mut BTreeMap<(u32, &'static str, Option<i32>, usize), Acc>,
    opts: &BacktestOptions,
    d: i32,
    contributions: &[Contribution],
) {
    let year = ymd_from_days(d).0;
    let window = opts.window(d);
    for c in contributions {
        for y in [Some(year), None] {
            let a = acc.entry((c.horizon, window, y, c.model)).or_default();
            a.origins += 1;
            if let Some((auc, ap)) = c.ranking {
                a.with_events += 1;
                a.auc_sum += auc;
                a.ap_sum += ap;
            }
            for j in 0..3 {
                a.top_events[j] += c.top_events[j];
                a.top_deaths[j] += c.top_deaths[j];
                a.top_events_pop[j] += c.top_events_pop[j];
            }
            a.pop_weighted |= c.has_people;
            a.events += c.events;
            a.deaths += c.deaths;
            for (sum, (cells, hit)) in a.pr.iter_mut().zip(&c.hits) {
                sum.0 += cells;
                sum.1 += hit;
            }
            a.positives += c.positives;
            if let Some(r) = &c.reliability {
                a.reliability
                    .get_or_insert_with(|| Reliability::new(&metrics::RARE_EDGES))
                    .merge(r);
                a.reference_squared += c.reference_squared;
            }
        }
    }
}
