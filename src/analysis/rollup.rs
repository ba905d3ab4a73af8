//! Exact roll-ups of a snapshot to coarser H3 resolutions and to loaded area levels
//! (methodology §10): counts and amounts are sums of the cells'; risk and hazard are
//! population-weighted means (cell means when the unit has no residents or no population
//! data are loaded), carried as sums so that rolling up in steps gives what rolling up in
//! one step gives.

use crate::grid::{cell_from_u64, GridError};
use crate::model::cell::{CellRecord, Tier};
use crate::model::rows::{column, Area, AreaCell};
use crate::store::snapshot::Snapshot;
use h3o::Resolution;
use polars::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// Errors of the roll-up layer.
#[derive(Debug, thiserror::Error)]
pub enum RollupError {
    /// The level is neither a coarser resolution nor a loaded area level.
    #[error("unknown roll-up level `{level}`: use res{min}..res{max} (coarser than the grid's resolution {base}) or a loaded area level ({areas})")]
    UnknownLevel {
        /// What was asked.
        level: String,
        /// Coarsest resolution offered.
        min: u8,
        /// Finest resolution offered.
        max: u8,
        /// The grid's resolution.
        base: u8,
        /// Loaded area levels.
        areas: String,
    },
    /// A cell of the snapshot is invalid.
    #[error(transparent)]
    Grid(#[from] GridError),
}

/// A roll-up level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Level {
    /// A coarser H3 resolution.
    Resolution(u8),
    /// An area level (`ADM1`, `mission`, …).
    Area(String),
}

impl Level {
    /// Parses `res6` / `6` or an area level present in `areas`.
    pub fn parse(s: &str, base: u8, areas: &[Area]) -> Result<Level, RollupError> {
        let digits = s.strip_prefix("res").unwrap_or(s);
        if let Ok(r) = digits.parse::<u8>() {
            if r < base {
                return Ok(Level::Resolution(r));
            }
        } else if let Some(a) = areas.iter().find(|a| a.level.eq_ignore_ascii_case(s)) {
            return Ok(Level::Area(a.level.clone()));
        }
        let mut levels: Vec<&str> = areas.iter().map(|a| a.level.as_str()).collect();
        levels.sort_unstable();
        levels.dedup();
        Err(RollupError::UnknownLevel {
            level: s.to_owned(),
            min: 0,
            max: base.saturating_sub(1),
            base,
            areas: if levels.is_empty() {
                "none loaded".into()
            } else {
                levels.join(", ")
            },
        })
    }
}

/// Additive totals of a set of cells.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// Cells.
    pub cells: i64,
    /// Residents (population table).
    pub population: f64,
    /// Residents of IDP sites.
    pub displaced: f64,
    /// Events within the window.
    pub events: i64,
    /// Civilian fatalities over the last 30 days.
    pub civilian_fatalities_30d: i64,
    /// Civilian fatalities over the last 90 days.
    pub civilian_fatalities_90d: i64,
    /// Civilian fatalities over the last 30 days in gap cells.
    pub civilian_fatalities_30d_in_gaps: i64,
    /// Civilian fatalities over the last 90 days in gap cells.
    pub civilian_fatalities_90d_in_gaps: i64,
    /// Cells per tier, low to critical.
    pub tiers: [i64; 5],
    /// Coverage-gap cells.
    pub gap_cells: i64,
    /// Under-covered cells.
    pub under_covered_cells: i64,
    /// Covered cells.
    pub covered_cells: i64,
    /// Residents of high or critical cells.
    pub population_high: f64,
    /// Residents of gap cells.
    pub population_in_gaps: f64,
    /// Σ gap severity.
    pub gap_severity: f64,
    /// Σ risk × residents.
    pub risk_x_population: f64,
    /// Σ hazard × residents.
    pub hazard_x_population: f64,
    /// Σ risk.
    pub risk_sum: f64,
    /// Σ hazard.
    pub hazard_sum: f64,
    /// Largest cell risk.
    pub risk_max: f64,
}

impl Totals {
    /// Adds one cell.
    pub fn add(&mut self, r: &CellRecord) {
        let people = r.population.unwrap_or(0.0) + r.displaced;
        self.cells += 1;
        self.population += r.population.unwrap_or(0.0);
        self.displaced += r.displaced;
        self.events += r.events;
        self.civilian_fatalities_30d += r.civilian_fatalities_30d;
        self.civilian_fatalities_90d += r.civilian_fatalities_90d;
        self.tiers[r.tier as usize] += 1;
        self.gap_cells += i64::from(r.flags.gap);
        self.under_covered_cells += i64::from(r.flags.under_covered);
        self.covered_cells += i64::from(r.coverage.covered);
        if r.tier.is_high() {
            self.population_high += people;
        }
        if r.flags.gap {
            self.population_in_gaps += people;
            self.civilian_fatalities_30d_in_gaps += r.civilian_fatalities_30d;
            self.civilian_fatalities_90d_in_gaps += r.civilian_fatalities_90d;
        }
        self.gap_severity += r.flags.gap_severity;
        self.risk_x_population += r.risk * people;
        self.hazard_x_population += r.hazard * people;
        self.risk_sum += r.risk;
        self.hazard_sum += r.hazard;
        self.risk_max = self.risk_max.max(r.risk);
    }

    /// Adds another unit's totals.
    pub fn merge(&mut self, o: &Totals) {
        self.cells += o.cells;
        self.population += o.population;
        self.displaced += o.displaced;
        self.events += o.events;
        self.civilian_fatalities_30d += o.civilian_fatalities_30d;
        self.civilian_fatalities_90d += o.civilian_fatalities_90d;
        self.civilian_fatalities_30d_in_gaps += o.civilian_fatalities_30d_in_gaps;
        self.civilian_fatalities_90d_in_gaps += o.civilian_fatalities_90d_in_gaps;
        for (a, b) in self.tiers.iter_mut().zip(o.tiers) {
            *a += b;
        }
        self.gap_cells += o.gap_cells;
        self.under_covered_cells += o.under_covered_cells;
        self.covered_cells += o.covered_cells;
        self.population_high += o.population_high;
        self.population_in_gaps += o.population_in_gaps;
        self.gap_severity += o.gap_severity;
        self.risk_x_population += o.risk_x_population;
        self.hazard_x_population += o.hazard_x_population;
        self.risk_sum += o.risk_sum;
        self.hazard_sum += o.hazard_sum;
        self.risk_max = self.risk_max.max(o.risk_max);
    }

    /// High or critical cells.
    pub fn high_cells(&self) -> i64 {
        self.tiers[Tier::High as usize] + self.tiers[Tier::Critical as usize]
    }

    /// Share of the unit's cells that are gaps (the share of area flagged).
    pub fn gap_area_share(&self) -> Option<f64> {
        (self.cells > 0).then(|| self.gap_cells as f64 / self.cells as f64)
    }

    /// Gap hit rate over `days` (30 or 90): the share of the unit's civilian fatalities of
    /// the last `days` that fell in gap cells (`None` when there were none).
    pub fn gap_hit_rate(&self, days: u32) -> Option<f64> {
        let (inside, all) = if days <= 30 {
            (
                self.civilian_fatalities_30d_in_gaps,
                self.civilian_fatalities_30d,
            )
        } else {
            (
                self.civilian_fatalities_90d_in_gaps,
                self.civilian_fatalities_90d,
            )
        };
        (all > 0).then(|| inside as f64 / all as f64)
    }

    /// Population-weighted mean risk (the cells' mean when the unit has no residents).
    pub fn risk_mean(&self) -> f64 {
        let people = self.population + self.displaced;
        if people > 0.0 {
            self.risk_x_population / people
        } else if self.cells > 0 {
            self.risk_sum / self.cells as f64
        } else {
            0.0
        }
    }

    /// Population-weighted mean hazard (likewise).
    pub fn hazard_mean(&self) -> f64 {
        let people = self.population + self.displaced;
        if people > 0.0 {
            self.hazard_x_population / people
        } else if self.cells > 0 {
            self.hazard_sum / self.cells as f64
        } else {
            0.0
        }
    }
}

/// One unit of a roll-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// The parent H3 cell (for resolution levels), as u64.
    pub cell: Option<u64>,
    /// The area id (for area levels).
    pub area_id: Option<String>,
    /// The area name.
    pub name: Option<String>,
    /// Totals.
    pub totals: Totals,
}

/// The ancestor of `cell` at `res`, as u64.
fn parent_of(cell: u64, res: Resolution) -> Result<u64, RollupError> {
    cell_from_u64(cell)?
        .parent(res)
        .map(u64::from)
        .ok_or_else(|| GridError::InvalidCell(format!("{cell:x} has no parent at {res}")).into())
}

/// Units of parent cells, sorted by cell.
fn parent_units(map: BTreeMap<u64, Totals>) -> Vec<Unit> {
    map.into_iter()
        .map(|(c, totals)| Unit {
            cell: Some(c),
            area_id: None,
            name: None,
            totals,
        })
        .collect()
}

/// Rolls `cells` up to the parents at `res`, sorted by parent cell.
pub fn by_resolution(cells: &[CellRecord], res: Resolution) -> Result<Vec<Unit>, RollupError> {
    let mut map: BTreeMap<u64, Totals> = BTreeMap::new();
    for r in cells {
        map.entry(parent_of(r.cell, res)?).or_default().add(r);
    }
    Ok(parent_units(map))
}

/// Rolls resolution units further up to `res` (exactly what rolling the cells up gives).
pub fn coarsen(units: &[Unit], res: Resolution) -> Result<Vec<Unit>, RollupError> {
    let mut map: BTreeMap<u64, Totals> = BTreeMap::new();
    for u in units {
        let Some(c) = u.cell else { continue };
        map.entry(parent_of(c, res)?).or_default().merge(&u.totals);
    }
    Ok(parent_units(map))
}

/// Rolls `cells` up to the areas of `level` (cells outside every area of the level are
/// left out), sorted by area id.
pub fn by_area(
    cells: &[CellRecord],
    level: &str,
    areas: &[Area],
    area_cells: &[AreaCell],
) -> Vec<Unit> {
    let of: HashMap<u64, &str> = area_cells
        .iter()
        .filter(|c| c.level == level)
        .map(|c| (c.cell, c.area_id.as_str()))
        .collect();
    let mut map: BTreeMap<&str, Totals> = BTreeMap::new();
    for r in cells {
        if let Some(a) = of.get(&r.cell) {
            map.entry(a).or_default().add(r);
        }
    }
    let names: HashMap<&str, &str> = areas
        .iter()
        .filter(|a| a.level == level)
        .map(|a| (a.area_id.as_str(), a.name.as_str()))
        .collect();
    map.into_iter()
        .map(|(a, totals)| Unit {
            cell: None,
            area_id: Some(a.to_owned()),
            name: names.get(a).map(|n| (*n).to_owned()),
            totals,
        })
        .collect()
}

/// Rolls a snapshot up to `level`.
pub fn rollup(
    snap: &Snapshot,
    level: &Level,
    areas: &[Area],
    area_cells: &[AreaCell],
) -> Result<Vec<Unit>, RollupError> {
    match level {
        Level::Resolution(r) => by_resolution(&snap.cells, crate::grid::resolution(*r)?),
        Level::Area(l) => Ok(by_area(&snap.cells, l, areas, area_cells)),
    }
}

/// The units as a DataFrame (`h3` or `area_id` + `name` first), one row per unit.
pub fn to_frame(units: &[Unit], level: &Level, date: &str) -> PolarsResult<DataFrame> {
    let mut cols = Vec::new();
    match level {
        Level::Resolution(_) => cols.push(column("h3", units, |u| {
            u.cell
                .and_then(|c| cell_from_u64(c).ok())
                .map(|c| c.to_string())
        })),
        Level::Area(_) => {
            cols.push(column("area_id", units, |u| u.area_id.clone()));
            cols.push(column("name", units, |u| u.name.clone()));
        }
    }
    let level_name = match level {
        Level::Resolution(r) => format!("res{r}"),
        Level::Area(a) => a.clone(),
    };
    cols.push(column("level", units, |_| level_name.clone()));
    cols.push(column("date", units, |_| date.to_owned()));
    cols.push(column("cells", units, |u| u.totals.cells));
    cols.push(column("population", units, |u| u.totals.population));
    cols.push(column("displaced", units, |u| u.totals.displaced));
    cols.push(column("risk_mean", units, |u| u.totals.risk_mean()));
    cols.push(column("risk_max", units, |u| u.totals.risk_max));
    cols.push(column("tier_max", units, |u| {
        Tier::ALL
            .iter()
            .rev()
            .find(|t| u.totals.tiers[**t as usize] > 0)
            .map_or("low", |t| t.as_str())
    }));
    cols.push(column("hazard_mean", units, |u| u.totals.hazard_mean()));
    for t in Tier::ALL {
        let name = format!("{}_cells", t.as_str());
        cols.push(column(&name, units, |u| u.totals.tiers[t as usize]));
    }
    cols.push(column("gap_cells", units, |u| u.totals.gap_cells));
    cols.push(column("under_covered_cells", units, |u| {
        u.totals.under_covered_cells
    }));
    cols.push(column("covered_cells", units, |u| u.totals.covered_cells));
    cols.push(column("population_high", units, |u| {
        u.totals.population_high
    }));
    cols.push(column("population_in_gaps", units, |u| {
        u.totals.population_in_gaps
    }));
    cols.push(column("gap_severity", units, |u| u.totals.gap_severity));
    cols.push(column("events", units, |u| u.totals.events));
    cols.push(column("civilian_fatalities_30d", units, |u| {
        u.totals.civilian_fatalities_30d
    }));
    cols.push(column("civilian_fatalities_90d", units, |u| {
        u.totals.civilian_fatalities_90d
    }));
    cols.push(column("civilian_fatalities_30d_in_gaps", units, |u| {
        u.totals.civilian_fatalities_30d_in_gaps
    }));
    cols.push(column("civilian_fatalities_90d_in_gaps", units, |u| {
        u.totals.civilian_fatalities_90d_in_gaps
    }));
    DataFrame::new_infer_height(cols)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::cell_of;
    use h3o::CellIndex;
    use proptest::prelude::*;

    fn record(
        cell: u64,
        risk: f64,
        pop: Option<f64>,
        tier: Tier,
        gap: bool,
        events: i64,
    ) -> CellRecord {
        CellRecord {
            hazard: risk,
            population: pop,
            risk,
            tier,
            events,
            civilian_fatalities_30d: events / 2,
            civilian_fatalities_90d: events,
            coverage: crate::model::cell::CellCoverage {
                covered: !gap,
                presence: !gap,
                ..Default::default()
            },
            flags: crate::model::cell::Flags {
                gap,
                gap_severity: if gap { risk } else { 0.0 },
                ..Default::default()
            },
            ..CellRecord::quiet(cell, (0.0, 0.0))
        }
    }

    fn cells_near(n: usize) -> Vec<u64> {
        let c = cell_of(6.5, 21.0, Resolution::Seven).unwrap_or_else(|e| panic!("{e}"));
        let mut v: Vec<u64> = c
            .grid_disk::<Vec<CellIndex>>(12)
            .into_iter()
            .map(u64::from)
            .collect();
        v.sort_unstable();
        v.truncate(n);
        v
    }

    proptest! {
        #[test]
        fn roll_up_totals_equal_child_sums(
            values in proptest::collection::vec((0.0f64..1.0, proptest::option::of(0.0f64..5_000.0), 0usize..5, any::<bool>(), 0i64..20), 1..400)
        ) {
            let cells = cells_near(values.len());
            let records: Vec<CellRecord> = cells
                .iter()
                .zip(&values)
                .map(|(c, (risk, pop, t, gap, ev))| record(*c, *risk, *pop, Tier::ALL[*t], *gap, *ev))
                .collect();
            let r6 = by_resolution(&records, Resolution::Six).unwrap_or_default();
            let r5_direct = by_resolution(&records, Resolution::Five).unwrap_or_default();
            let r5_steps = coarsen(&r6, Resolution::Five).unwrap_or_default();
            let mut all = Totals::default();
            for r in &records {
                all.add(r);
            }
            for level in [&r6, &r5_direct, &r5_steps] {
                let mut sum = Totals::default();
                for u in level.iter() {
                    sum.merge(&u.totals);
                }
                prop_assert_eq!(sum.cells, records.len() as i64);
                prop_assert_eq!(sum.events, all.events);
                prop_assert_eq!(sum.tiers, all.tiers);
                prop_assert_eq!(sum.gap_cells, all.gap_cells);
                prop_assert!((sum.population - all.population).abs() <= 1e-9 * (1.0 + all.population));
                prop_assert!((sum.risk_x_population - all.risk_x_population).abs() <= 1e-9 * (1.0 + all.risk_x_population));
                prop_assert!((sum.gap_severity - all.gap_severity).abs() <= 1e-9 * (1.0 + all.gap_severity));
                prop_assert_eq!(sum.risk_max, all.risk_max);
            }
            prop_assert_eq!(r5_direct.len(), r5_steps.len());
            for (a, b) in r5_direct.iter().zip(&r5_steps) {
                prop_assert_eq!(a.cell, b.cell);
                prop_assert_eq!(a.totals.cells, b.totals.cells);
                prop_assert!((a.totals.risk_mean() - b.totals.risk_mean()).abs() < 1e-9);
                prop_assert!((a.totals.population_in_gaps - b.totals.population_in_gaps).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn population_weighted_mean_and_fallback() {
        let cells = cells_near(2);
        let rows = [
            record(cells[0], 0.8, Some(300.0), Tier::Critical, true, 2),
            record(cells[1], 0.2, Some(100.0), Tier::Moderate, false, 0),
        ];
        let mut t = Totals::default();
        rows.iter().for_each(|r| t.add(r));
        assert!((t.risk_mean() - (0.8 * 300.0 + 0.2 * 100.0) / 400.0).abs() < 1e-12);
        assert_eq!(t.population_in_gaps, 300.0);
        let empty = [
            record(cells[0], 0.8, None, Tier::Critical, true, 2),
            record(cells[1], 0.2, None, Tier::Moderate, false, 0),
        ];
        let mut t = Totals::default();
        empty.iter().for_each(|r| t.add(r));
        assert!(
            (t.risk_mean() - 0.5).abs() < 1e-12,
            "no residents: cell mean"
        );
    }

    #[test]
    fn levels_parse() {
        let areas = vec![Area {
            area_id: "A".into(),
            name: "A".into(),
            level: "ADM1".into(),
            parent: None,
            geometry: String::new(),
        }];
        assert_eq!(
            Level::parse("res6", 7, &areas).ok(),
            Some(Level::Resolution(6))
        );
        assert_eq!(
            Level::parse("5", 7, &areas).ok(),
            Some(Level::Resolution(5))
        );
        assert_eq!(
            Level::parse("adm1", 7, &areas).ok(),
            Some(Level::Area("ADM1".into()))
        );
        let err = Level::parse("res8", 7, &areas)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("res8") && err.contains("ADM1"), "{err}");
    }
}
