//! The civilian-risk index (DESIGN §3; formulas in `docs/methodology.md`).
//!
//! polars selects the events a run needs ([`events`]); the [`engine`] turns them into each
//! cell's amounts day by day (decayed civilian harm and armed conflict, spread from the
//! surrounding rings, the neighbourhood's baseline and escalation, climate stress); the
//! [`index`](mod@index) formula combines them with exposure into the risk, its tier and its
//! decomposition, in deterministic order, so that scoring twice gives byte-identical
//! snapshots.

mod areas;
pub mod calibration;
pub mod climate;
pub mod engine;
pub mod events;
pub mod explain;
pub mod features;
pub mod forecast_terms;
pub mod index;
mod inputs;
mod neighbourhood;
mod placement;
mod prior;

pub use areas::{AreaCells, AreaIndex};
pub use engine::{decay, Engine, Scored};
pub use events::{last_event_date, EventClass, EventSet};
pub use index::{escalation, index, saturate, Amounts, Index};
pub use neighbourhood::{within, SpreadKernel};
pub use placement::{placement, Placed};
pub use prior::Prior;

use crate::config::Config;
use crate::grid::GridError;
use crate::model::cell::Tier;
use crate::model::day::format_date;
use crate::model::params::Normalisation;
use crate::model::progress::{Progress, Unit};
use crate::store::{SnapshotInfo, Store, StoreError};
use polars::prelude::*;

/// Errors of the scoring layer.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    /// No event has been ingested, so there is nothing to score.
    #[error("the store holds no events; ingest ACLED or UCDP files first")]
    NoEvents,
    /// Reading or writing the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The polars pipeline failed.
    #[error("scoring pipeline: {0}")]
    Polars(#[from] PolarsError),
    /// A grid operation failed.
    #[error(transparent)]
    Grid(#[from] GridError),
    /// The cell is not part of the snapshot's grid.
    #[error("cell {cell} is not in the grid of the {date} snapshot")]
    NotInGrid {
        /// The H3 cell.
        cell: String,
        /// The snapshot date.
        date: String,
    },
    /// A date range runs backwards or has a zero step.
    #[error("invalid date range {from}..{to} every {every} days: {reason}")]
    Range {
        /// First day.
        from: String,
        /// Last day.
        to: String,
        /// Step, days.
        every: u32,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The thread writing snapshots failed.
    #[error("writing snapshots: {0}")]
    Writer(String),
    /// The reference period holds no activity to normalise on.
    #[error("the reference period {from}..{to} has no event activity to normalise on")]
    EmptyReference {
        /// First day.
        from: String,
        /// Last day.
        to: String,
    },
}

/// The days of `from..=to` every `every` days.
pub fn days(from: i32, to: i32, every: u32) -> Result<Vec<i32>, ScoreError> {
    let err = |reason| ScoreError::Range {
        from: format_date(from),
        to: format_date(to),
        every,
        reason,
    };
    if every == 0 {
        return Err(err("the step must be at least one day"));
    }
    if to < from {
        return Err(err("the last day is before the first"));
    }
    Ok((from..=to).step_by(every as usize).collect())
}

/// Scores one as-of day and publishes its snapshot. `date = None` scores the last event date.
pub fn score_day(
    store: &mut Store,
    config: &Config,
    date: Option<i32>,
) -> Result<(String, SnapshotInfo), ScoreError> {
    let date = match date {
        Some(d) => d,
        None => last_scorable_day(store)?,
    };
    let mut out = score_range(store, config, &[date])?;
    out.pop().ok_or(ScoreError::NoEvents)
}

/// The last event day, but never after today: an implausible future date that reached the
/// store must not become the "latest" snapshot.
pub fn last_scorable_day(store: &Store) -> Result<i32, ScoreError> {
    Ok(
        last_event_date(&store.table_path("events")?.ok_or(ScoreError::NoEvents)?)?
            .min(crate::model::day::today()),
    )
}

/// Scores the last event day and the `weeks` weeks before it, a snapshot every 7 days,
/// oldest first (the demo's history for the map's time control).
pub fn score_last_weeks(
    store: &mut Store,
    config: &Config,
    weeks: u32,
) -> Result<Vec<(String, SnapshotInfo)>, ScoreError> {
    let last = last_scorable_day(store)?;
    let first = last - 7 * i32::try_from(weeks).unwrap_or(0);
    score_range(store, config, &days(first, last, 7)?)
}

/// Scores and publishes one snapshot per day of `days` (ascending), loading the inputs
/// once; `progress` draws a progress bar on the terminal.
pub fn score_range(
    store: &mut Store,
    config: &Config,
    days: &[i32],
) -> Result<Vec<(String, SnapshotInfo)>, ScoreError> {
    score_days(store, config, None, days)
}

/// [`score_range`] for one shard of the days: its contiguous block, the same snapshots to
/// the byte as one run over all the days publishes for them. The day before the block is
/// scored first and not published, so that the block's first day takes its changes from
/// it as a single run does (from that day, scored in the run; never from a version another
/// shard may or may not have published yet).
pub fn score_shard(
    store: &mut Store,
    config: &Config,
    days: &[i32],
    shard: crate::model::shard::Shard,
) -> Result<Vec<(String, SnapshotInfo)>, ScoreError> {
    let block = shard.block(days.len());
    let warm_up = block.start.checked_sub(1).map(|i| days[i]);
    tracing::info!(
        %shard,
        days = block.len(),
        of = days.len(),
        first = block.clone().next().map(|i| format_date(days[i])),
        "scoring one shard of the days"
    );
    score_days(store, config, warm_up, &days[block])
}

fn score_days(
    store: &mut Store,
    config: &Config,
    warm_up: Option<i32>,
    days: &[i32],
) -> Result<Vec<(String, SnapshotInfo)>, ScoreError> {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Ok(Vec::new());
    };
    let started = std::time::Instant::now();
    let mut engine = Engine::new(store, config, warm_up.unwrap_or(*first), *last)?;
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "engine ready");
    let bar = if days.len() > 1 {
        Progress::start("scoring", Unit::Days, days.len() as u64)
    } else {
        Progress::hidden()
    };
    let mut prior = Prior::of(store);
    if let Some(d) = warm_up {
        let scored = engine.score_then(&prior, d, days)?;
        prior.record(&scored.date);
    }
    // Scoring and publishing overlap: this thread scores day d + 1 while a second one
    // encodes, hashes and writes day d.
    let (tx, rx) = std::sync::mpsc::sync_channel::<(String, DataFrame, SnapshotInfo)>(2);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| -> Result<Vec<(String, SnapshotInfo)>, ScoreError> {
            let mut out = Vec::with_capacity(days.len());
            for (day, df, info) in rx {
                let t = std::time::Instant::now();
                let info = store.publish_snapshot(&day, df, info)?;
                tracing::debug!(ms = t.elapsed().as_millis() as u64, date = %day, "published");
                tracing::info!(
                    date = %day,
                    cells = info.cells,
                    gaps = info.gaps,
                    high = info.tiers[3],
                    critical = info.tiers[4],
                    "snapshot published"
                );
                bar.step(&day);
                out.push((day, info));
            }
            Ok(out)
        });
        let scoring = (|| -> Result<(), ScoreError> {
            // The last frame and its fixed number: a day with the same number takes its
            // fixed columns (cell, centre, area, residents, coverage) as they are.
            let mut last: Option<(u64, DataFrame)> = None;
            for (k, d) in days.iter().enumerate() {
                let day = format_date(*d);
                let _span = tracing::info_span!("score", date = %day).entered();
                let t = std::time::Instant::now();
                let scored = engine.score_then(&prior, *d, &days[k + 1..])?;
                prior.record(&scored.date);
                let t_score = t.elapsed();
                let fixed_from = last
                    .as_ref()
                    .filter(|(n, _)| *n == scored.fixed)
                    .map(|(_, df)| df);
                let df = crate::model::cell::snapshot_frame(&scored.rows, fixed_from)?;
                last = Some((scored.fixed, df.clone()));
                engine.recycle(scored.rows);
                tracing::debug!(
                    score_ms = t_score.as_millis() as u64,
                    frame_ms = (t.elapsed() - t_score).as_millis() as u64,
                    "day scored"
                );
                if tx.send((scored.date, df, scored.info)).is_err() {
                    // The writer stopped on an error; it reports it.
                    break;
                }
            }
            Ok(())
        })();
        drop(tx);
        let written = writer
            .join()
            .map_err(|_| ScoreError::Writer("the snapshot writer thread panicked".into()))?;
        scoring?;
        let out = written?;
        bar.finish();
        Ok(out)
    })
}

/// Fixes the normalisation on a reference period: each amount's reference level is the
/// `normalisation_quantile` of its non-zero values over the grid cells of the days
/// `from..=to` every `every` days. Stored in the manifest; later snapshots use it.
pub fn normalise(
    store: &mut Store,
    config: &Config,
    from: i32,
    to: i32,
    every: u32,
) -> Result<Normalisation, ScoreError> {
    let days = days(from, to, every)?;
    let engine = Engine::new(store, config, from, to)?;
    let q = config.score.normalisation_quantile;
    let mut values: [Vec<f64>; 4] = Default::default();
    for d in &days {
        for (a, _, _) in engine.amounts_on(*d) {
            let trend = a.baseline + a.escalation;
            for (k, v) in [a.harm, a.conflict, a.spread, trend]
                .into_iter()
                .enumerate()
            {
                if v > 0.0 {
                    values[k].push(v);
                }
            }
        }
    }
    let defaults = Normalisation::defaults(&config.score);
    if values.iter().all(Vec::is_empty) {
        return Err(ScoreError::EmptyReference {
            from: format_date(from),
            to: format_date(to),
        });
    }
    let level = |v: &mut Vec<f64>, fallback: f64| quantile(v, q).unwrap_or(fallback);
    let [h, c, s, t] = &mut values;
    let norm = Normalisation {
        basis: format!(
            "reference {}..{} every {every} days, quantile {q}",
            format_date(from),
            format_date(to)
        ),
        harm: level(h, defaults.harm),
        conflict: level(c, defaults.conflict),
        spread: level(s, defaults.spread),
        trend: level(t, defaults.trend),
    };
    store.set_normalisation(Some(norm.clone()))?;
    Ok(norm)
}

/// The `q` quantile of positive values (nearest rank), `None` when there are none.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let k = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1;
    let (_, v, _) = values.select_nth_unstable_by(k, f64::total_cmp);
    Some(*v).filter(|v| *v > 0.0)
}

/// (cell, risk, tier) of every row of a snapshot file.
pub fn previous_risks(path: &std::path::Path) -> Result<Vec<(u64, f64, Tier)>, ScoreError> {
    let df = crate::store::read_parquet_columns(path, &["cell", "risk", "tier"])?;
    let cell = df.column("cell")?.u64()?;
    let risk = df.column("risk")?.f64()?;
    let tier = df.column("tier")?.str()?;
    Ok(cell
        .iter()
        .zip(risk.iter())
        .zip(tier.iter())
        .filter_map(|((c, r), t)| Some((c?, r.unwrap_or(0.0), t.and_then(Tier::parse)?)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rows::{AreaCell, Table};
    use h3o::{CellIndex, Resolution};
    use std::collections::HashMap;

    #[test]
    fn ranges_and_quantiles() {
        assert_eq!(days(10, 24, 7).ok(), Some(vec![10, 17, 24]));
        assert!(days(10, 9, 1).is_err() && days(1, 2, 0).is_err());
        let mut v = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(quantile(&mut v, 0.9), Some(5.0));
        assert_eq!(quantile(&mut v, 0.5), Some(3.0));
        assert_eq!(quantile(&mut [], 0.5), None);
    }

    #[test]
    fn admin_level_events_spread_over_their_area_when_it_is_loaded() {
        use crate::model::rows::{Category, Event, Precision};
        let res = Resolution::Seven;
        let here = crate::grid::cell_of(6.5, 21.0, res)
            .map(u64::from)
            .unwrap_or(0);
        let area: Vec<u64> = crate::grid::cell_from_u64(here)
            .map(|c| {
                c.grid_disk::<Vec<CellIndex>>(1)
                    .into_iter()
                    .map(u64::from)
                    .collect()
            })
            .unwrap_or_default();
        let event = |id: &str, precision| Event {
            precision,
            civilian_fatalities: Some(0),
            ..Event::at(
                "ucdp_ged",
                id,
                1000,
                (6.5, 21.0),
                Some(here),
                Category::CivilianHarm,
                0,
            )
        };
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut store = Store::open_writer(dir.path(), 7, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let df = Event::to_frame(&[event("1", Precision::Admin1), event("2", Precision::Exact)])
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .publish(vec![("events", df)], None)
            .unwrap_or_else(|e| panic!("{e}"));
        let config = Config::default();
        let amounts = |store: &Store| -> HashMap<u64, (Amounts, Option<f64>, i64)> {
            let engine = Engine::new(store, &config, 1000, 1000).unwrap_or_else(|e| panic!("{e}"));
            engine
                .universe()
                .iter()
                .copied()
                .zip(engine.amounts_on(1000))
                .collect()
        };

        // Without the ADM1 area: the admin1 event stays at its point with weight 0.2.
        let alone = amounts(&store);
        let (a, precise, events) = alone[&here];
        assert!((a.harm - 1.2).abs() < 1e-12, "{a:?}");
        assert_eq!(precise, Some(1.0 / 1.2));
        assert_eq!(events, 2);

        // With it: weight 1 spread over the area's 7 cells.
        let cells: Vec<AreaCell> = area
            .iter()
            .map(|c| AreaCell {
                area_id: "A".into(),
                level: "ADM1".into(),
                cell: *c,
            })
            .collect();
        let df = AreaCell::to_frame(&cells).unwrap_or_else(|e| panic!("{e}"));
        store
            .publish(vec![("area_cells", df)], None)
            .unwrap_or_else(|e| panic!("{e}"));
        let spread = amounts(&store);
        assert_eq!(spread.len(), 7, "the grid is the area");
        assert!((spread[&here].0.harm - (1.0 + 1.0 / 7.0)).abs() < 1e-12);
        let other = area.iter().find(|c| **c != here).copied().unwrap_or(0);
        assert!((spread[&other].0.harm - 1.0 / 7.0).abs() < 1e-12);
        assert_eq!(spread[&other].1, Some(0.0));
        assert_eq!(spread[&here].2, 2);
    }
}
