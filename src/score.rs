//! The civilian-risk index (DESIGN §3; formulas in `docs/methodology.md`).
//!
//! polars selects the events known as of the date and computes each event's decayed,
//! precision- and severity-weighted contribution; the per-cell sums, the spread over
//! neighbouring rings, exposure, aggregation, tiers and coverage follow in deterministic
//! order, so that scoring twice gives byte-identical snapshots.

use crate::config::{Config, ScoreConfig};
use crate::coverage::{active_bases, assess};
use crate::grid::{cell_from_u64, center, distance_km, resolution, rings_for_km, GridError};
use crate::snapshot::{CellRecord, Tier};
use crate::store::{SnapshotInfo, Store, StoreError};
use crate::tables::{Area, AreaCell, Base, PopulationCell, Table};
use crate::util::format_date;
use h3o::{CellIndex, Resolution};
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

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
}

/// Per-cell sums of decayed event weights.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Signals {
    /// Civilian-harm weight.
    pub harm: f64,
    /// Armed-conflict weight (battles, remote violence).
    pub conflict: f64,
    /// Events within the window.
    pub events: i64,
    /// Civilian fatalities over the last 90 days.
    pub civilian_fatalities_90d: i64,
    /// Weight from events located exactly or near a place (the rest came from admin-level
    /// or regional locations).
    pub precise: f64,
}

impl Signals {
    /// Share of the cell's weight from precisely located events (`None` without weight).
    pub fn precise_share(&self) -> Option<f64> {
        let total = self.harm + self.conflict;
        (total > 0.0).then(|| (self.precise / total).min(1.0))
    }
}

/// The cells of the loaded admin areas, to spread admin-level events over their area.
#[derive(Debug, Default)]
pub struct AreaIndex {
    by_cell: HashMap<(String, u64), usize>,
    cells: Vec<Vec<u64>>,
}

impl AreaIndex {
    /// Indexes `area_cells` by (upper-case level, cell).
    pub fn new(area_cells: &[AreaCell]) -> Self {
        let mut index = AreaIndex::default();
        let mut ids: HashMap<(&str, &str), usize> = HashMap::new();
        for c in area_cells {
            let next = index.cells.len();
            let i = *ids
                .entry((c.level.as_str(), c.area_id.as_str()))
                .or_insert(next);
            if i == next {
                index.cells.push(Vec::new());
            }
            index.cells[i].push(c.cell);
            index
                .by_cell
                .insert((c.level.to_ascii_uppercase(), c.cell), i);
        }
        index
    }

    /// The cells of the `level` area (`ADM1`, `ADM2`) containing `cell`.
    pub fn area_of(&self, level: &str, cell: u64) -> Option<&[u64]> {
        self.by_cell
            .get(&(level.to_owned(), cell))
            .map(|i| self.cells[*i].as_slice())
    }
}

/// Seconds in a day.
const DAY: i64 = 86_400;

/// The events known as of `date` within the window, with their weights: `kind` (1 civilian harm, 0 armed conflict, NaN neither), `w` (with
/// the precision factor), `w_unit` (without it, for spreading over an area) and `civ90`
/// (civilian deaths of the last 90 days), and `counted`: false for another source's record
/// of an incident whose counted record is itself known as of `date` (so a link never hides
/// an event before its twin was published). `with_ids` adds what `explain` shows.
pub fn weighted_events(
    events_path: &std::path::Path,
    date: i32,
    cfg: &ScoreConfig,
    with_ids: bool,
) -> Result<DataFrame, ScoreError> {
    let path = PlRefPath::try_from_path(events_path)?;
    let d = lit(date);
    let age = (d.clone() - col("date_end").cast(DataType::Int32)).cast(DataType::Float64);
    let precision_factor = when(col("precision").eq(lit("exact")))
        .then(lit(1.0))
        .when(col("precision").eq(lit("near")))
        .then(lit(0.8))
        .when(col("precision").eq(lit("admin2")))
        .then(lit(0.4))
        .when(col("precision").eq(lit("admin1")))
        .then(lit(0.2))
        .when(col("precision").eq(lit("region")))
        .then(lit(0.1))
        .otherwise(lit(0.0));
    let severity = lit(1.0)
        + (lit(1.0) + col("fatalities").cast(DataType::Float64)).log(lit(std::f64::consts::E));
    let decay = lit(0.5).pow(age.clone() / lit(cfg.half_life_days));
    let unit_weight = severity * decay;
    let weight = precision_factor * unit_weight.clone();
    let is_harm = col("category").eq(lit("civilian_harm"));
    let is_conflict = col("category")
        .eq(lit("armed_clash"))
        .or(col("category").eq(lit("remote_violence")));
    let civilian_deaths = when(col("civilian_fatalities").is_not_null())
        .then(col("civilian_fatalities"))
        .when(is_harm.clone())
        .then(col("fatalities"))
        .otherwise(lit(0i64));
    let mut columns = vec![
        col("cell"),
        col("precision"),
        col("source"),
        col("source_id"),
        col("duplicate_of"),
        when(is_harm.clone())
            .then(lit(1.0))
            .when(is_conflict)
            .then(lit(0.0))
            .otherwise(lit(f64::NAN))
            .alias("kind"),
        weight.alias("w"),
        unit_weight.alias("w_unit"),
        when(age.lt(lit(90.0)))
            .then(civilian_deaths)
            .otherwise(lit(0i64))
            .cast(DataType::Int64)
            .alias("civ90"),
    ];
    if with_ids {
        for c in ["date_end", "category", "fatalities", "lat", "lon"] {
            columns.push(col(c));
        }
        columns.push(col("date_end").cast(DataType::Int32).alias("day"));
    }
    let df = LazyFrame::scan_parquet(path, ScanArgsParquet::default())?
        .filter(
            col("cell")
                .is_not_null()
                .and(col("date_end").cast(DataType::Int32).lt_eq(d.clone()))
                .and(
                    col("date_end")
                        .cast(DataType::Int32)
                        .gt(lit(date - cfg.window_days as i32)),
                )
                .and(
                    col("published_at")
                        .is_null()
                        .or(col("published_at").lt(lit((i64::from(date) + 1) * DAY))),
                ),
        )
        .select(columns)
        .collect()?;
    let counted = counted_mask(&df)?;
    let mut df = df;
    df.with_column(Column::new("counted".into(), counted))?;
    Ok(df)
}

/// For each row: false when it links (`duplicate_of` = `source:source_id`) to a row present
/// in the same frame. No allocation per row: keys are compared as borrowed pairs.
fn counted_mask(df: &DataFrame) -> Result<Vec<bool>, ScoreError> {
    let source = df.column("source")?.str()?;
    let source_id = df.column("source_id")?.str()?;
    let dup = df.column("duplicate_of")?.str()?;
    let targets: HashSet<(&str, &str)> = dup
        .iter()
        .flatten()
        .filter_map(|t| t.split_once(':'))
        .collect();
    if targets.is_empty() {
        return Ok(vec![true; df.height()]);
    }
    let present: HashSet<(&str, &str)> = source
        .iter()
        .zip(source_id.iter())
        .filter_map(|(s, id)| Some((s?, id?)))
        .filter(|k| targets.contains(k))
        .collect();
    Ok(dup
        .iter()
        .map(|t| {
            t.and_then(|t| t.split_once(':'))
                .is_none_or(|k| !present.contains(&k))
        })
        .collect())
}

/// Event weights as of `date`, summed per cell (polars does the selection and weighting).
/// Events located only to an admin level whose area is loaded are spread evenly over that
/// area's cells with their full weight; otherwise they stay at their point, down-weighted.
pub fn cell_signals(
    events_path: &std::path::Path,
    date: i32,
    cfg: &ScoreConfig,
    areas: &AreaIndex,
) -> Result<BTreeMap<u64, Signals>, ScoreError> {
    let df = weighted_events(events_path, date, cfg, false)?;
    let cells = df.column("cell")?.u64()?;
    let precision = df.column("precision")?.str()?;
    let kind = df.column("kind")?.f64()?;
    let w = df.column("w")?.f64()?;
    let w_unit = df.column("w_unit")?.f64()?;
    let civ = df.column("civ90")?.i64()?;
    let counted = df.column("counted")?.bool()?;
    let mut out: BTreeMap<u64, Signals> = BTreeMap::new();
    let add =
        |out: &mut BTreeMap<u64, Signals>, cell: u64, weight: f64, harm: bool, precise: bool| {
            let s = out.entry(cell).or_default();
            if harm {
                s.harm += weight;
            } else {
                s.conflict += weight;
            }
            if precise {
                s.precise += weight;
            }
        };
    for i in 0..df.height() {
        let Some(cell) = cells.get(i) else { continue };
        if counted.get(i) == Some(false) {
            continue;
        }
        let precise = matches!(precision.get(i), Some("exact" | "near"));
        if let Some(k) = kind.get(i).filter(|k| !k.is_nan()) {
            let harm = k > 0.5;
            let (w, w_unit) = (w.get(i).unwrap_or(0.0), w_unit.get(i).unwrap_or(0.0));
            match placement(areas, precision.get(i), cell, w, w_unit) {
                Placement::Area(area, share) => {
                    for c in area {
                        add(&mut out, *c, share, harm, false);
                    }
                }
                Placement::Point(c, weight) => add(&mut out, c, weight, harm, precise),
            }
        }
        let s = out.entry(cell).or_default();
        s.events += 1;
        s.civilian_fatalities_90d += civ.get(i).unwrap_or(0);
    }
    Ok(out)
}

/// Where an event's weight sits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placement<'a> {
    /// Spread over the cells of its admin area, each with this share.
    Area(&'a [u64], f64),
    /// At its own cell, with this (precision-weighted) weight.
    Point(u64, f64),
}

/// An admin1/admin2 event whose ADM1/ADM2 area is loaded is spread over that area with its
/// unit weight; any other event stays at its cell with its precision-weighted weight.
pub fn placement<'a>(
    areas: &'a AreaIndex,
    precision: Option<&str>,
    cell: u64,
    w: f64,
    w_unit: f64,
) -> Placement<'a> {
    let level = match precision {
        Some("admin1") => Some("ADM1"),
        Some("admin2") => Some("ADM2"),
        _ => None,
    };
    match level.and_then(|l| areas.area_of(l, cell)) {
        Some(area) if !area.is_empty() => Placement::Area(area, w_unit / area.len() as f64),
        _ => Placement::Point(cell, w),
    }
}

/// Spread: every cell receives its neighbours' signal (civilian harm + half the armed
/// conflict) within `spread_km`, decaying as exp(−d / spread_decay_km). A cell's own signal
/// is not included.
pub fn spread(
    signals: &BTreeMap<u64, Signals>,
    cfg: &ScoreConfig,
    res: Resolution,
) -> HashMap<u64, f64> {
    let k = rings_for_km(cfg.spread_km, res);
    let mut out: HashMap<u64, f64> = HashMap::new();
    for (cell, s) in signals {
        let signal = s.harm + 0.5 * s.conflict;
        let Ok(origin) = cell_from_u64(*cell) else {
            continue;
        };
        if signal <= 0.0 {
            continue;
        }
        let here = center(origin);
        for n in origin.grid_disk::<Vec<CellIndex>>(k) {
            if n == origin {
                continue;
            }
            let dist = distance_km(here, center(n));
            if dist <= cfg.spread_km {
                *out.entry(u64::from(n)).or_default() +=
                    signal * (-dist / cfg.spread_decay_km).exp();
            }
        }
    }
    out
}

/// Saturating transform of a non-negative amount to 0–1, fixed by its scale.
pub fn saturate(x: f64, scale: f64) -> f64 {
    1.0 - (-x.max(0.0) / scale).exp()
}

/// The components, hazard, exposure and risk of one cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Index {
    /// Components: civilian harm, armed conflict, spread (0–1 each).
    pub components: [f64; 3],
    /// Weighted hazard.
    pub hazard: f64,
    /// Exposure.
    pub exposure: f64,
    /// Risk = √(hazard × exposure).
    pub risk: f64,
    /// Each component's share of the hazard.
    pub shares: [f64; 3],
}

/// Combines raw signals into the index (non-compensatory: no exposure, no risk).
/// `population = None` means no population data are loaded: exposure is neutral (1).
pub fn index(
    harm: f64,
    conflict: f64,
    spread: f64,
    population: Option<f64>,
    cfg: &ScoreConfig,
) -> Index {
    let components = [
        saturate(harm, cfg.harm_scale),
        saturate(conflict, cfg.conflict_scale),
        saturate(spread, cfg.spread_scale),
    ];
    let parts: [f64; 3] = std::array::from_fn(|i| cfg.hazard_weights[i] * components[i]);
    let hazard: f64 = parts.iter().sum();
    let exposure = population.map_or(1.0, |p| saturate(p, cfg.exposure_scale));
    let shares = if hazard > 0.0 {
        parts.map(|p| p / hazard)
    } else {
        [0.0; 3]
    };
    Index {
        components,
        hazard,
        exposure,
        risk: (hazard * exposure).sqrt(),
        shares,
    }
}

/// The grid of a snapshot: every cell of the loaded areas; without areas, every cell within
/// the spread radius of an event, a base or a populated cell.
pub fn grid_cells(
    area_cells: &[AreaCell],
    signals: &BTreeMap<u64, Signals>,
    bases: &[Base],
    population: &HashMap<u64, f64>,
    cfg: &ScoreConfig,
    res: Resolution,
) -> Vec<u64> {
    let mut set: BTreeSet<u64> = area_cells.iter().map(|c| c.cell).collect();
    if set.is_empty() {
        let k = rings_for_km(cfg.spread_km, res);
        let seeds = signals
            .keys()
            .copied()
            .chain(bases.iter().map(|b| b.cell))
            .chain(
                population
                    .iter()
                    .filter(|(_, p)| **p > 0.0)
                    .map(|(c, _)| *c),
            );
        for seed in seeds {
            if let Ok(c) = cell_from_u64(seed) {
                set.extend(c.grid_disk::<Vec<CellIndex>>(k).into_iter().map(u64::from));
            }
        }
    }
    set.into_iter().collect()
}

/// Scores one as-of day and publishes its snapshot. `date = None` scores the last event date.
pub fn score_day(
    store: &mut Store,
    config: &Config,
    date: Option<i32>,
) -> Result<(String, SnapshotInfo), ScoreError> {
    let res = resolution(config.grid.resolution)?;
    let cfg = &config.score;
    let events_path = store.table_path("events").ok_or(ScoreError::NoEvents)?;
    let date = match date {
        Some(d) => d,
        None => last_event_date(&events_path)?,
    };
    let day = format_date(date);
    let _span = tracing::info_span!("score", date = %day).entered();

    let area_cells: Vec<AreaCell> = store.read()?;
    let signals = cell_signals(&events_path, date, cfg, &AreaIndex::new(&area_cells))?;
    let spread = spread(&signals, cfg, res);
    let population_rows: Vec<PopulationCell> = store.read()?;
    let exposure_neutral = population_rows.is_empty();
    let population: HashMap<u64, f64> = population_rows
        .iter()
        .map(|p| (p.cell, p.population))
        .collect();
    let bases: Vec<Base> = store.read()?;
    let areas: Vec<Area> = store.read()?;
    let grid = grid_cells(&area_cells, &signals, &bases, &population, cfg, res);
    tracing::info!(cells = grid.len(), event_cells = signals.len(), "grid");

    let area_name = first_level_names(&areas, &area_cells);
    let active = active_bases(&bases, date, &config.coverage);
    let coverage = assess(&grid, &active, &population, res);
    let previous = previous_snapshot(store, &day)?;

    let mut tiers = [0usize; 5];
    let mut gaps = 0;
    let mut rows = Vec::with_capacity(grid.len());
    for cell in grid {
        let s = signals.get(&cell).copied().unwrap_or_default();
        let sp = spread.get(&cell).copied().unwrap_or(0.0);
        let pop = if exposure_neutral {
            None
        } else {
            Some(population.get(&cell).copied().unwrap_or(0.0))
        };
        let ix = index(s.harm, s.conflict, sp, pop, cfg);
        let tier = Tier::of(ix.risk, &cfg.tier_thresholds);
        let cov = coverage.get(&cell).cloned().unwrap_or_default();
        let strength = if cov.covered {
            cov.troops_per_1000
                .map_or(1.0, |t| (t / config.coverage.min_troops_per_1000).min(1.0))
        } else {
            0.0
        };
        let gap = tier.is_high() && !cov.covered;
        let under_covered = tier.is_high()
            && cov.covered
            && cov
                .troops_per_1000
                .is_some_and(|t| t < config.coverage.min_troops_per_1000);
        let prev = previous.as_ref().and_then(|p| p.get(&cell));
        let (lat, lon) = cell_from_u64(cell)
            .map(center)
            .unwrap_or((f64::NAN, f64::NAN));
        tiers[tier as usize] += 1;
        gaps += usize::from(gap);
        rows.push(CellRecord {
            cell,
            lat,
            lon,
            area: area_name.get(&cell).cloned(),
            harm: ix.components[0],
            conflict: ix.components[1],
            spread: ix.components[2],
            hazard: ix.hazard,
            population: pop,
            exposure: ix.exposure,
            risk: ix.risk,
            tier,
            harm_share: ix.shares[0],
            conflict_share: ix.shares[1],
            spread_share: ix.shares[2],
            delta_risk: previous
                .as_ref()
                .map(|_| ix.risk - prev.map_or(0.0, |p| p.0)),
            prev_tier: prev.map(|p| p.1),
            events: s.events,
            precise_share: s.precise_share(),
            civilian_fatalities_90d: s.civilian_fatalities_90d,
            covered: cov.covered,
            presence: cov.presence,
            nearest_base: cov.nearest_base,
            nearest_base_km: cov.nearest_base_km,
            troops_in_reach: cov.troops_in_reach,
            troops_per_1000: cov.troops_per_1000,
            gap,
            under_covered,
            gap_severity: ix.risk * ix.exposure * (1.0 - strength),
        });
    }
    let df = CellRecord::to_frame(&rows)?;
    let info = SnapshotInfo {
        file: String::new(),
        sha256: String::new(),
        cells: rows.len(),
        tiers,
        gaps,
        exposure_neutral,
    };
    let info = store.publish_snapshot(&day, df, info)?;
    tracing::info!(
        cells = info.cells,
        gaps = info.gaps,
        high = tiers[3],
        critical = tiers[4],
        "snapshot published"
    );
    Ok((day, info))
}

fn last_event_date(events_path: &std::path::Path) -> Result<i32, ScoreError> {
    let path = PlRefPath::try_from_path(events_path)?;
    let df = LazyFrame::scan_parquet(path, ScanArgsParquet::default())?
        .filter(col("cell").is_not_null())
        .select([col("date_end").cast(DataType::Int32).max().alias("last")])
        .collect()?;
    df.column("last")?.i32()?.get(0).ok_or(ScoreError::NoEvents)
}

/// Name of each cell's area at the first loaded level (alphabetically: ADM1 before ADM2).
fn first_level_names(areas: &[Area], cells: &[AreaCell]) -> HashMap<u64, String> {
    let Some(level) = areas.iter().map(|a| a.level.as_str()).min() else {
        return HashMap::new();
    };
    let names: HashMap<&str, &str> = areas
        .iter()
        .filter(|a| a.level == level)
        .map(|a| (a.area_id.as_str(), a.name.as_str()))
        .collect();
    cells
        .iter()
        .filter(|c| c.level == level)
        .filter_map(|c| {
            names
                .get(c.area_id.as_str())
                .map(|n| (c.cell, (*n).to_owned()))
        })
        .collect()
}

/// Risk and tier per cell of a previous snapshot.
type PreviousRisk = HashMap<u64, (f64, Tier)>;

/// Risk and tier per cell of the latest snapshot before `day`.
fn previous_snapshot(store: &Store, day: &str) -> Result<Option<PreviousRisk>, ScoreError> {
    let Some(prev) = store
        .manifest()
        .snapshots
        .range::<String, _>(..day.to_owned())
        .next_back()
        .map(|(d, _)| d.clone())
    else {
        return Ok(None);
    };
    let (df, _) = store.read_snapshot(&prev)?;
    let rows = CellRecord::from_frame(&df)?;
    Ok(Some(
        rows.into_iter()
            .map(|r| (r.cell, (r.risk, r.tier)))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn no_people_no_risk() {
        let cfg = ScoreConfig::default();
        let ix = index(50.0, 50.0, 50.0, Some(0.0), &cfg);
        assert!(ix.hazard > 0.9);
        assert_eq!(ix.risk, 0.0);
        let neutral = index(50.0, 50.0, 50.0, None, &cfg);
        assert_eq!(neutral.exposure, 1.0);
    }

    #[test]
    fn worked_example() {
        // One exact civilian-harm event with 3 deaths, 30 days old (one half-life):
        // weight = 1.0 × (1 + ln 4) × 0.5 = 1.193147; harm = 1 − exp(−1.193147 / 1.5) = 0.548614.
        let cfg = ScoreConfig::default();
        let w = (1.0 + 4f64.ln()) * 0.5;
        let ix = index(w, 0.0, 0.0, Some(250.0), &cfg);
        assert!((ix.components[0] - 0.548_614).abs() < 1e-6, "{:?}", ix);
        // hazard = 0.5 × 0.548614; exposure = 1 − e⁻¹; risk = √(hazard × exposure).
        assert!((ix.hazard - 0.274_307).abs() < 1e-6);
        assert!((ix.exposure - 0.632_121).abs() < 1e-6);
        assert!((ix.risk - 0.416_407).abs() < 1e-5, "{}", ix.risk);
        assert_eq!(ix.shares, [1.0, 0.0, 0.0]);
    }

    proptest! {
        #[test]
        fn risk_is_monotone_in_harm(h in 0.0f64..20.0, extra in 0.0f64..20.0, c in 0.0f64..20.0,
                                    s in 0.0f64..20.0, p in 0.0f64..50_000.0) {
            let cfg = ScoreConfig::default();
            let a = index(h, c, s, Some(p), &cfg);
            let b = index(h + extra, c, s, Some(p), &cfg);
            prop_assert!(b.risk >= a.risk);
            prop_assert!((0.0..=1.0).contains(&b.risk));
        }
    }

    #[test]
    fn admin_level_events_spread_over_their_area_when_it_is_loaded() {
        use crate::tables::{Category, Event, Precision};
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
            source: "ucdp_ged".into(),
            source_id: id.into(),
            date_start: 1000,
            date_end: 1000,
            published_at: None,
            lat: 6.5,
            lon: 21.0,
            cell: Some(here),
            precision,
            category: Category::CivilianHarm,
            civilian_targeted: true,
            fatalities: 0,
            civilian_fatalities: Some(0),
            actor1: String::new(),
            actor2: String::new(),
            admin1: String::new(),
            admin2: String::new(),
            duplicate_of: None,
        };
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("events.parquet");
        let mut df =
            Event::to_frame(&[event("1", Precision::Admin1), event("2", Precision::Exact)])
                .unwrap_or_else(|e| panic!("{e}"));
        let bytes = crate::store::encode_parquet(&mut df, &path).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
        let cfg = ScoreConfig::default();

        // Without the ADM1 area: the admin1 event stays at its point with weight 0.2.
        let alone = cell_signals(&path, 1000, &cfg, &AreaIndex::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!((alone[&here].harm - 1.2).abs() < 1e-12);
        assert_eq!(alone[&here].precise_share(), Some(1.0 / 1.2));

        // With it: weight 1 spread over the area's 7 cells.
        let cells: Vec<AreaCell> = area
            .iter()
            .map(|c| AreaCell {
                area_id: "A".into(),
                level: "ADM1".into(),
                cell: *c,
            })
            .collect();
        let spread = cell_signals(&path, 1000, &cfg, &AreaIndex::new(&cells))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spread.len(), 7);
        assert!((spread[&here].harm - (1.0 + 1.0 / 7.0)).abs() < 1e-12);
        let other = area.iter().find(|c| **c != here).copied().unwrap_or(0);
        assert!((spread[&other].harm - 1.0 / 7.0).abs() < 1e-12);
        assert_eq!(spread[&other].precise_share(), Some(0.0));
        assert_eq!(spread[&here].events, 2);
    }

    #[test]
    fn a_linked_record_counts_until_its_twin_is_known() {
        let df = DataFrame::new_infer_height(vec![
            Column::new("source".into(), ["acled", "ucdp_ged", "ucdp_ged"]),
            Column::new("source_id".into(), ["A", "1", "2"]),
            Column::new(
                "duplicate_of".into(),
                [None, Some("acled:A"), Some("acled:B")],
            ),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        // acled:B is not in the frame (not yet published as of the date): its twin counts.
        assert_eq!(counted_mask(&df).ok(), Some(vec![true, false, true]));
    }
}
