//! Forward gap capture: of the civilians killed in the days after an origin beyond every
//! base's reach, how many died in a cell the origin's snapshot flagged as a coverage gap,
//! or within [`GAP_NEAR_KM`] of one — and how much of the country those flags (and their
//! surroundings) cover, the price of that capture. Looking forward, unlike the hit rate of
//! `vigil coverage`, which counts the deaths that made the cells red.

use crate::grid::rings_for_km;
use crate::model::cell::CellRecord;
use crate::risk::within;
use crate::risk::{EventClass, EventSet};
use h3o::Resolution;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The days after an origin whose deaths count.
pub const GAP_HORIZON_DAYS: i32 = 30;
/// "Near a gap": within this distance of a gap cell's centre, km.
pub const GAP_NEAR_KM: f64 = 10.0;

/// Sums over the origins of one window and year (or one origin's, to be added to them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct GapAcc {
    origins: usize,
    deaths_outside: f64,
    in_gap: f64,
    near_gap: f64,
    gap_cells: f64,
    near_cells: f64,
    cells: f64,
}

/// Forward gap capture of one window and year of origins (or all of the window's).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GapCapture {
    /// `all`, `tuning` or `evaluation`.
    pub window: String,
    /// Calendar year of the origins, or `None` for the whole window.
    pub year: Option<i32>,
    /// Origins.
    pub origins: usize,
    /// Civilian deaths in the grid in the [`GAP_HORIZON_DAYS`] after each origin, in cells
    /// no base reached at the origin (no protection, no presence), summed over origins.
    pub deaths_outside_reach: f64,
    /// Share of them in a cell flagged as a gap at the origin.
    pub share_in_gap: Option<f64>,
    /// Share of them within [`GAP_NEAR_KM`] of a gap cell (the cell itself included).
    pub share_near_gap: Option<f64>,
    /// Mean share of the grid's cells flagged as gaps.
    pub gap_cell_share: f64,
    /// Mean share of the grid's cells within [`GAP_NEAR_KM`] of a gap cell.
    pub near_cell_share: f64,
    /// The horizon, days.
    pub horizon_days: i32,
}

impl GapAcc {
    /// Adds another's sums (an origin's); every sum is a whole number, so the order of
    /// the additions does not change the result.
    pub(super) fn add(&mut self, other: &GapAcc) {
        self.origins += other.origins;
        self.deaths_outside += other.deaths_outside;
        self.in_gap += other.in_gap;
        self.near_gap += other.near_gap;
        self.gap_cells += other.gap_cells;
        self.near_cells += other.near_cells;
        self.cells += other.cells;
    }
}

/// The cells within `km` of any of `cells` (themselves included).
fn surroundings(cells: &[u64], km: f64, res: Resolution) -> HashSet<u64> {
    let k = rings_for_km(km, res);
    let mut out: HashSet<u64> = cells.iter().copied().collect();
    for c in cells {
        out.extend(within(*c, k, km).into_iter().map(|(n, _)| n));
    }
    out
}

/// Adds origin `d` (its scored `rows`) to `acc`: its gap cells, their surroundings, and
/// the deaths of the following [`GAP_HORIZON_DAYS`] outside every base's reach.
pub(super) fn add_origin(
    acc: &mut GapAcc,
    ev: &EventSet,
    rows: &[CellRecord],
    d: i32,
    res: Resolution,
) {
    let gaps: Vec<u64> = rows
        .iter()
        .filter(|r| r.flags.gap)
        .map(|r| r.cell)
        .collect();
    let near = surroundings(&gaps, GAP_NEAR_KM, res);
    let gap_set: HashSet<u64> = gaps.iter().copied().collect();
    let pos: HashMap<u64, &CellRecord> = rows.iter().map(|r| (r.cell, r)).collect();
    acc.origins += 1;
    acc.cells += rows.len() as f64;
    acc.gap_cells += gaps.len() as f64;
    acc.near_cells += rows.iter().filter(|r| near.contains(&r.cell)).count() as f64;
    for i in ev.dated(d + 1, d + GAP_HORIZON_DAYS) {
        if ev.kind[i] != EventClass::Harm || ev.counted_until[i] != i32::MAX {
            continue;
        }
        let Some(r) = pos.get(&ev.cell[i]) else {
            continue;
        };
        if r.coverage.presence || r.coverage.covered {
            continue;
        }
        let deaths = ev.civilian_deaths[i] as f64;
        acc.deaths_outside += deaths;
        if gap_set.contains(&r.cell) {
            acc.in_gap += deaths;
        }
        if near.contains(&r.cell) {
            acc.near_gap += deaths;
        }
    }
}

/// The capture of each (window, year) accumulated.
pub(super) fn captures(acc: &BTreeMap<(&'static str, Option<i32>), GapAcc>) -> Vec<GapCapture> {
    acc.iter()
        .map(|((window, year), a)| {
            let share = |x: f64| (a.deaths_outside > 0.0).then(|| x / a.deaths_outside);
            let mean = |x: f64| if a.cells > 0.0 { x / a.cells } else { 0.0 };
            GapCapture {
                window: (*window).to_owned(),
                year: *year,
                origins: a.origins,
                deaths_outside_reach: a.deaths_outside,
                share_in_gap: share(a.in_gap),
                share_near_gap: share(a.near_gap),
                gap_cell_share: mean(a.gap_cells),
                near_cell_share: mean(a.near_cells),
                horizon_days: GAP_HORIZON_DAYS,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{cell_of, center};
    use crate::model::cell::{CellRecord, Tier};
    use crate::model::rows::{Category, Event, Precision, Table};

    fn cell(lat: f64, lon: f64) -> u64 {
        u64::from(cell_of(lat, lon, Resolution::Seven).unwrap_or_else(|e| panic!("{e}")))
    }

    fn event(id: &str, lat: f64, lon: f64, day: i32, deaths: i64) -> Event {
        Event {
            source: "ucdp_ged".into(),
            source_id: id.into(),
            date_start: day,
            date_end: day,
            published_at: None,
            lat,
            lon,
            cell: Some(cell(lat, lon)),
            precision: Precision::Exact,
            category: Category::CivilianHarm,
            civilian_targeted: true,
            fatalities: deaths,
            civilian_fatalities: Some(deaths),
            actor1: String::new(),
            actor2: String::new(),
            admin1: String::new(),
            admin2: String::new(),
            duplicate_of: None,
        }
    }

    #[test]
    fn deaths_outside_reach_are_split_by_gap_cell_and_gap_surroundings() {
        // A ring of cells around (6.5, 21.0): the centre is a gap; one cell 5 km east is
        // near it, one 30 km east is far; one 5 km west is covered by a base.
        let centre = cell(6.5, 21.0);
        let origin = crate::grid::cell_from_u64(centre).unwrap_or_else(|e| panic!("{e}"));
        let mut rows: Vec<CellRecord> = origin
            .grid_disk::<Vec<h3o::CellIndex>>(25)
            .into_iter()
            .map(|c| CellRecord::quiet(u64::from(c), center(c)))
            .collect();
        rows.sort_by_key(|r| r.cell);
        let near = cell(6.5, 21.045);
        let far = cell(6.5, 21.27);
        let covered = cell(6.5, 20.955);
        for r in &mut rows {
            if r.cell == centre {
                r.tier = Tier::High;
                r.flags.gap = true;
            }
            if r.cell == covered {
                r.coverage.covered = true;
                r.coverage.presence = true;
            }
        }
        let d = 1000;
        let events = vec![
            event("a", 6.5, 21.0, d + 3, 4),    // in the gap
            event("b", 6.5, 21.045, d + 10, 2), // near it
            event("c", 6.5, 21.27, d + 20, 3),  // far
            event("d", 6.5, 20.955, d + 5, 7),  // within a base's reach: not counted
            event("e", 6.5, 21.0, d + 31, 50),  // after the horizon
            event("f", 6.5, 21.0, d, 50),       // on the origin's day: known, not ahead
        ];
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("events.parquet");
        let mut df = Event::to_frame(&events).unwrap_or_else(|e| panic!("{e}"));
        let bytes = crate::store::encode_parquet(&mut df, &path).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
        let ev = EventSet::load(&path, d - 10, d + 60, false).unwrap_or_else(|e| panic!("{e}"));
        assert!(rows.iter().any(|r| r.cell == near) && rows.iter().any(|r| r.cell == far));
        let mut acc = GapAcc::default();
        add_origin(&mut acc, &ev, &rows, d, Resolution::Seven);
        let mut all = BTreeMap::new();
        all.insert(("all", None), acc);
        let c = &captures(&all)[0];
        assert_eq!(c.deaths_outside_reach, 9.0);
        assert_eq!(c.share_in_gap, Some(4.0 / 9.0));
        assert_eq!(c.share_near_gap, Some(6.0 / 9.0));
        assert!((c.gap_cell_share - 1.0 / rows.len() as f64).abs() < 1e-12);
        // Res-7 cells within 10 km of one centre: a few dozen of the disk's 1,951.
        assert!(c.near_cell_share > 20.0 / rows.len() as f64 && c.near_cell_share < 0.05);
    }
}
