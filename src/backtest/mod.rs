//! Backtesting the early warning (issue 7): at rolling origins, the snapshot scored as of
//! the origin (in memory, nothing published) is compared with what happened in the cells
//! over the following horizon, beside reference forecasts computed in the same run:
//! persistence (civilian-harm events in the cell over the last 30 days), the cell's own
//! 12-month history, and a random ranking.
//!
//! Metrics per horizon, year and model: ROC-AUC and average precision (means over the
//! origins that had an event), and the share of the next-horizon civilian-harm events
//! (and of civilian deaths) in the top 1 %, 5 % and 10 % of cells (pooled over origins).

pub mod metrics;

use crate::config::Config;
use crate::score::{self, Engine, EventSet, Kind, Prior, ScoreError};
use crate::store::Store;
use crate::tables::Table;
use crate::util::{format_date, ymd_from_days};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The forecasts compared.
pub const MODELS: [&str; 4] = ["index", "persistence", "history", "random"];
/// Top shares of cells for the recall metrics.
pub const TOP: [f64; 3] = [0.01, 0.05, 0.10];

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
}

/// Sums over origins for one (horizon, year, model).
#[derive(Debug, Clone, Default, PartialEq)]
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
}

/// The metrics of one model for one horizon and year (or all years).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelMetrics {
    /// Horizon, days.
    pub horizon: u32,
    /// Calendar year of the origins, or `None` for the whole window.
    pub year: Option<i32>,
    /// `index`, `persistence`, `history`, `random`.
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
}

impl ModelMetrics {
    fn of(horizon: u32, year: Option<i32>, model: &str, a: &Acc) -> ModelMetrics {
        let share = |x: f64, t: f64| (t > 0.0).then(|| x / t);
        let mean = |s: f64| (a.with_events > 0).then(|| s / a.with_events as f64);
        ModelMetrics {
            horizon,
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
}

/// A pseudo-random score of a cell at an origin (SplitMix64 of both).
fn random_score(cell: u64, origin: i32) -> f64 {
    let mut r =
        crate::util::SplitMix64::new(cell ^ (origin as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    r.next_f64()
}

/// Runs the backtest; `progress` draws a bar over origins.
pub fn run(
    store: &Store,
    config: &Config,
    opts: &BacktestOptions,
    progress: bool,
) -> Result<Backtest, BacktestError> {
    if opts.horizons.is_empty() || opts.horizons.contains(&0) {
        return Err(BacktestError::Options {
            parameter: "--horizon",
            reason: "give at least one horizon of 1 day or more".into(),
        });
    }
    let origins = score::days(opts.from, opts.to, opts.step)?;
    let max_h = opts.horizons.iter().copied().max().unwrap_or(30) as i32;
    let path = store
        .table_path(crate::tables::Event::NAME)
        .ok_or(BacktestError::NoEvents)?;
    // Harm events of the look-back and of the horizons: truth and reference forecasts.
    let ev = EventSet::load(&path, opts.from - 366, opts.to + max_h, false)?;
    let mut engine = Engine::new(store, config, opts.from, opts.to)?;
    let prior = Prior::of(store);
    let bar = progress.then(|| crate::score::progress_bar(origins.len() as u64, "backtest"));
    let mut acc: BTreeMap<(u32, Option<i32>, usize), Acc> = BTreeMap::new();
    // The high-or-critical cells of each origin, for the lead times.
    let mut flags: Vec<(i32, std::collections::HashSet<u64>)> = Vec::new();
    let mut grid: std::collections::HashSet<u64> = std::collections::HashSet::new();
    let mut last_grid: Vec<u64> = Vec::new();
    for &d in &origins {
        let scored = engine.score(&prior, d)?;
        let cells: Vec<u64> = scored.rows.iter().map(|r| r.cell).collect();
        let pos: HashMap<u64, usize> = cells.iter().enumerate().map(|(i, c)| (*c, i)).collect();
        let n = cells.len();
        let mut persistence = vec![0.0; n];
        let mut history = vec![0.0; n];
        let mut future: Vec<(Vec<f64>, Vec<f64>)> = opts
            .horizons
            .iter()
            .map(|_| (vec![0.0; n], vec![0.0; n]))
            .collect();
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
            for (k, h) in opts.horizons.iter().enumerate() {
                if day > d && day <= d + *h as i32 {
                    future[k].0[p] += 1.0;
                    future[k].1[p] += ev.civilian_deaths[i] as f64;
                }
            }
        }
        let index: Vec<f64> = scored.rows.iter().map(|r| r.risk).collect();
        let people: Vec<f64> = scored
            .rows
            .iter()
            .map(|r| r.population.unwrap_or(0.0) + r.displaced)
            .collect();
        let has_people = people.iter().any(|p| *p > 0.0);
        flags.push((
            d,
            scored
                .rows
                .iter()
                .filter(|r| r.tier.is_high())
                .map(|r| r.cell)
                .collect(),
        ));
        if cells != last_grid {
            grid.extend(cells.iter().copied());
            last_grid = cells.clone();
        }
        let random: Vec<f64> = cells.iter().map(|c| random_score(*c, d)).collect();
        let models = [&index, &persistence, &history, &random];
        // Each model is ranked once per origin; every metric and horizon reads the ranking.
        let orders: Vec<Vec<usize>> = models.iter().map(|s| metrics::order_desc(s)).collect();
        let year = ymd_from_days(d).0;
        for (k, h) in opts.horizons.iter().enumerate() {
            let (events, deaths) = &future[k];
            let positive: Vec<bool> = events.iter().map(|e| *e > 0.0).collect();
            let total_events: f64 = events.iter().sum();
            let total_deaths: f64 = deaths.iter().sum();
            for (m, scores) in models.iter().enumerate() {
                let order = &orders[m];
                let auc = metrics::roc_auc_ranked(scores, order, &positive);
                let ap = metrics::average_precision_ranked(scores, order, &positive);
                let tops_e = TOP.map(|t| {
                    metrics::recall_at_ranked(order, events, t).unwrap_or(0.0) * total_events
                });
                let tops_d = TOP.map(|t| {
                    metrics::recall_at_ranked(order, deaths, t).unwrap_or(0.0) * total_deaths
                });
                let tops_p = TOP.map(|t| {
                    metrics::recall_at_population_ranked(order, events, &people, t).unwrap_or(0.0)
                        * total_events
                });
                for y in [Some(year), None] {
                    let a = acc.entry((*h, y, m)).or_default();
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
                }
            }
        }
        if let Some(b) = &bar {
            b.set_message(format_date(d));
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let lead = lead_times(&ev, &flags, &grid, opts, LEAD_WINDOW_DAYS);
    Ok(Backtest {
        metrics: acc
            .iter()
            .map(|((h, y, m), a)| ModelMetrics::of(*h, *y, MODELS[*m], a))
            .collect(),
        lead,
    })
}

/// How far back a flag may precede an event to count as its warning, days.
pub const LEAD_WINDOW_DAYS: i32 = 90;

/// Lead times of the index's flags.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadTimes {
    /// Civilian-harm events in the grid dated after the first origin and by the last
    /// origin + the window (one per cell and day).
    pub events: usize,
    /// Of which preceded by a high or critical flag of their cell at some origin within
    /// the window before them.
    pub flagged: usize,
    /// Median days from the first such flag to the event.
    pub median_days: Option<f64>,
    /// The window, days.
    pub window_days: i32,
}

/// For each civilian-harm event after the first origin: the earliest origin within
/// `window` days before it at which its cell was high or critical.
fn lead_times(
    ev: &EventSet,
    flags: &[(i32, std::collections::HashSet<u64>)],
    grid: &std::collections::HashSet<u64>,
    opts: &BacktestOptions,
    window: i32,
) -> LeadTimes {
    let mut seen = std::collections::HashSet::new();
    let mut leads = Vec::new();
    let mut events = 0;
    let first = flags.first().map_or(opts.from, |f| f.0);
    for i in ev.dated(first + 1, opts.to + window) {
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
            .filter(|(d, _)| *d < day && *d >= day - window)
            .find(|(_, high)| high.contains(&cell))
            .map(|(d, _)| *d);
        if let Some(d) = earliest {
            leads.push(f64::from(day - d));
        }
    }
    LeadTimes {
        events,
        flagged: leads.len(),
        median_days: metrics::median(&leads),
        window_days: window,
    }
}

/// What a backtest gives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// Per horizon, year and model.
    pub metrics: Vec<ModelMetrics>,
    /// Lead times of the index's high-or-critical flags.
    pub lead: LeadTimes,
}

/// The results as a Markdown table (one row per horizon, window and model).
pub fn markdown(rows: &[ModelMetrics]) -> String {
    let f = |x: Option<f64>| x.map_or_else(|| "–".to_owned(), |v| format!("{v:.3}"));
    let mut s = String::from(
        "| horizon | year | model | origins (with events) | ROC-AUC | AP | top 1 % | top 5 % | top 10 % | deaths top 5 % |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} d | {} | {} | {} ({}) | {} | {} | {} | {} | {} | {} |\n",
            r.horizon,
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
        ));
    }
    s
}
