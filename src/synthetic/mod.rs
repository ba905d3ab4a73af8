//! Large synthetic stores for the scoring benchmarks (`vigil sample --bench-store`): a
//! mission area of about N cells, M clustered events over three years, population, bases
//! and a SPEI-like drought grid, written straight into the store's tables. Deterministic for
//! a seed. Not real data: the places, events and bases are invented.

pub mod sample;

use crate::grid::{cell_from_u64, cell_of, center, GridError};
use crate::model::day::days_from_ymd;
use crate::model::rand::SplitMix64;
use crate::model::rows::{
    Area, AreaCell, Base, Category, ClimateValue, Event, PopulationCell, Precision, Table,
};
use crate::store::{Store, StoreError};
use h3o::{CellIndex, Resolution};
use polars::prelude::PolarsError;
use std::path::Path;

/// Errors while building a synthetic store.
#[derive(Debug, thiserror::Error)]
pub enum SyntheticError {
    /// Writing the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Building a table failed.
    #[error("building a table: {0}")]
    Polars(#[from] PolarsError),
    /// A grid operation failed.
    #[error(transparent)]
    Grid(#[from] GridError),
}

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Cells of the mission area.
    pub cells: usize,
    /// Events.
    pub events: usize,
    /// Bases.
    pub bases: usize,
    /// Climate rows.
    pub climate: usize,
    /// First and last event day.
    pub days: (i32, i32),
}

/// Distinct event locations of a synthetic store.
pub const PLACES: usize = 40_000;

/// Writes a synthetic store of about `cells` res-7 cells and `events` events into the
/// folder `root`.
pub fn bench_store(
    root: &Path,
    cells: usize,
    events: usize,
    seed: u64,
    lock: &crate::store::lock::LockOptions,
) -> Result<Summary, SyntheticError> {
    bench_store_into(Store::open_writer(root, 7, lock)?, cells, events, seed)
}

/// [`bench_store`] into `store` (opened for writing, at resolution 7: a folder or a bucket).
pub fn bench_store_into(
    mut store: Store,
    cells: usize,
    events: usize,
    seed: u64,
) -> Result<Summary, SyntheticError> {
    let res = Resolution::Seven;
    let mut rng = SplitMix64::new(seed);
    // The area: children of res-3 cells spiralling out from a centre in Central Africa,
    // until there are enough.
    let origin = cell_of(5.0, 20.0, Resolution::Three)?;
    let mut area: Vec<u64> = Vec::with_capacity(cells + 3000);
    let mut k = 0;
    while area.len() < cells {
        let ring: Vec<CellIndex> = origin.grid_ring_fast(k).flatten().collect();
        for parent in ring {
            if area.len() >= cells {
                break;
            }
            area.extend(parent.children(res).map(u64::from));
        }
        k += 1;
    }
    area.sort_unstable();
    let area_cells: Vec<AreaCell> = area
        .iter()
        .map(|c| AreaCell {
            area_id: "BENCH".into(),
            level: "mission".into(),
            cell: *c,
        })
        .collect();
    let areas = vec![Area {
        area_id: "BENCH".into(),
        name: "Synthetic mission area".into(),
        level: "mission".into(),
        parent: None,
        geometry: "null".into(),
    }];
    let population: Vec<PopulationCell> = area
        .iter()
        .map(|c| PopulationCell {
            cell: *c,
            population: (rng.next_f64() * rng.next_f64() * 2_000.0).floor(),
        })
        .collect();

    // Hotspots: cells of the area. Places (villages, towns: sources geocode events to named
    // places, so locations repeat) lie within ≈10 km of a hotspot; an event picks a place,
    // skewed towards the first ones.
    let hotspots: Vec<(f64, f64)> = (0..2_000)
        .filter_map(|_| {
            let c = area[rng.below(area.len() as u64) as usize];
            cell_from_u64(c).ok().map(center)
        })
        .collect();
    let places: Vec<(f64, f64)> = (0..PLACES)
        .map(|i| {
            let (lat, lon) = hotspots[i % hotspots.len()];
            (lat + rng.normal() * 0.09, lon + rng.normal() * 0.09)
        })
        .collect();
    let first = days_from_ymd(2022, 1, 1).unwrap_or(0);
    let last = days_from_ymd(2024, 12, 31).unwrap_or(0);
    let span = (last - first + 1) as u64;
    let mut rows = Vec::with_capacity(events);
    for i in 0..events {
        let h = {
            let u = rng.next_f64();
            ((u * u) * places.len() as f64) as usize
        }
        .min(places.len() - 1);
        let (lat, lon) = places[h];
        let day = first + rng.below(span) as i32;
        let category = match rng.below(10) {
            0..=4 => Category::CivilianHarm,
            5..=7 => Category::ArmedClash,
            8 => Category::RemoteViolence,
            _ => Category::Unrest,
        };
        let fatalities = if rng.below(3) == 0 {
            rng.poisson(2.0) as i64
        } else {
            0
        };
        let precision = match rng.below(20) {
            0 => Precision::Region,
            1..=3 => Precision::Near,
            _ => Precision::Exact,
        };
        rows.push(Event {
            published_at: Some(i64::from(day + 1 + rng.below(10) as i32) * 86_400),
            precision,
            ..Event::at(
                "acled",
                &format!("BENCH{i}"),
                day,
                (lat, lon),
                Some(u64::from(cell_of(lat, lon, res)?)),
                category,
                fatalities,
            )
        });
    }
    rows.sort_by(|a, b| {
        (&*a.source, a.source_id.as_str()).cmp(&(&*b.source, b.source_id.as_str()))
    });

    let bases: Vec<Base> = (0..150)
        .filter_map(|i| {
            let (lat, lon) = hotspots[(i * 7) % hotspots.len()];
            let cell = cell_of(lat, lon, res).ok()?;
            let troops = [850, 300, 120, 40][i % 4];
            Some(Base {
                tcc_count: Some(1),
                source: "synthetic".into(),
                ..Base::at(
                    "BENCH",
                    &format!("Base {i}"),
                    (lat, lon),
                    u64::from(cell),
                    (first, if i % 10 == 0 { first + 500 } else { last }),
                    Some(troops),
                )
            })
        })
        .collect();

    // A 0.5° drought index over the area's extent, monthly.
    let (mut s, mut w, mut n, mut e) = (90.0f64, 180.0f64, -90.0f64, -180.0f64);
    for c in area.iter().step_by(97) {
        if let Ok(ci) = cell_from_u64(*c) {
            let (la, lo) = center(ci);
            (s, w, n, e) = (s.min(la), w.min(lo), n.max(la), e.max(lo));
        }
    }
    let mut climate = Vec::new();
    let months: Vec<i32> = (2021..=2024)
        .flat_map(|y| (1..=12).filter_map(move |m| days_from_ymd(y, m, 1)))
        .collect();
    let mut lat = (s * 2.0).floor() / 2.0 + 0.25;
    while lat <= n {
        let mut lon = (w * 2.0).floor() / 2.0 + 0.25;
        while lon <= e {
            let cell = u64::from(cell_of(lat, lon, res)?);
            for m in &months {
                climate.push(ClimateValue {
                    cell,
                    period: *m,
                    variable: "spei_3".into(),
                    value: (rng.normal() * 1.0 * 100.0).round() / 100.0,
                });
            }
            lon += 0.5;
        }
        lat += 0.5;
    }

    let summary = Summary {
        cells: area.len(),
        events: rows.len(),
        bases: bases.len(),
        climate: climate.len(),
        days: (first, last),
    };
    store.publish(
        vec![
            ("events", Event::to_frame(&rows)?),
            ("area_cells", AreaCell::to_frame(&area_cells)?),
            ("areas", Area::to_frame(&areas)?),
            ("population", PopulationCell::to_frame(&population)?),
            ("bases", Base::to_frame(&bases)?),
            ("climate", ClimateValue::to_frame(&climate)?),
        ],
        None,
    )?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_bench_store_scores() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let s = bench_store(dir.path(), 5_000, 2_000, 1, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(s.cells >= 5_000 && s.cells < 5_000 + 2_401 * 7);
        assert_eq!(s.events, 2_000);
        let mut store = Store::open_writer(dir.path(), 7, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let config = crate::config::Config::default();
        let (_, info) = crate::risk::score_day(&mut store, &config, Some(s.days.1))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(info.cells, s.cells);
        assert!(info.climate.is_some());
    }
}
