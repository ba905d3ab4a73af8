//! The grid the engine scores and each source's neighbourhood on it: the universe of
//! cells (the loaded areas, else every cell within reach of an event or a base and every
//! populated cell), the spread kernel and the cells within a distance.

use super::areas::AreaCells;
use crate::config::ScoreConfig;
use crate::grid::{
    cell_from_u64, center, rings_for_km, unit, unit_distance_km, CellPositions, Unit,
};
use crate::model::rows::{Base, PopulationCell};
use h3o::{CellIndex, Resolution};
use rayon::prelude::*;
use std::collections::BTreeSet;

/// Spread kernel exp(−d / spread_decay_km).
pub fn kernel(d_km: f64, spread_decay_km: f64) -> f64 {
    (-d_km / spread_decay_km).exp()
}

/// Cells within `km` of `cell`'s centre (k rings searched), with their distances, sorted
/// by distance then cell.
pub fn within(cell: u64, k: u32, km: f64) -> Vec<(u64, f64)> {
    let Ok(origin) = cell_from_u64(cell) else {
        return Vec::new();
    };
    let here = unit(center(origin));
    let mut out: Vec<(u64, f64)> = origin
        .grid_disk::<Vec<CellIndex>>(k)
        .into_iter()
        .map(|n| (u64::from(n), unit_distance_km(&here, &unit(center(n)))))
        .filter(|(_, d)| *d <= km)
        .collect();
    out.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    out
}

/// Cached neighbourhood of a source cell: grid positions within reach, with the spread
/// kernel; the first `n_spread` are within `spread_km`, the first `n_esc` within
/// `escalation_km` (the cell itself among them when in the grid).
#[derive(Debug, Clone, Default)]
pub(super) struct Neighbours {
    pub(super) pos: Vec<u32>,
    pub(super) kernel: Vec<f64>,
    pub(super) n_spread: usize,
    pub(super) n_esc: usize,
}

/// The cells to score, sorted, and whether they are fixed (the loaded areas' cells).
pub(super) fn universe(
    sources: &[u64],
    area_cells: &AreaCells,
    bases: &[Base],
    population_rows: &[PopulationCell],
    cfg: &ScoreConfig,
    res: Resolution,
) -> (bool, Vec<u64>) {
    // The universe of grid cells: the loaded areas; without areas, every cell within
    // spread_km of an event, a base, and every populated cell.
    let fixed_grid = !area_cells.is_empty();
    let universe: Vec<u64> = if fixed_grid {
        let mut v: Vec<u64> = area_cells.cell.clone();
        v.par_sort_unstable();
        v.dedup();
        v
    } else {
        let kb = rings_for_km(cfg.spread_km, res);
        let disks: Vec<Vec<(u64, f64)>> = sources
            .par_iter()
            .map(|s| within(*s, kb, cfg.spread_km))
            .collect();
        let mut set: BTreeSet<u64> = sources.iter().copied().collect();
        for d in &disks {
            set.extend(d.iter().map(|(c, _)| *c));
        }
        for b in bases {
            set.extend(
                within(b.cell, kb, cfg.spread_km)
                    .into_iter()
                    .map(|(c, _)| c),
            );
        }
        set.extend(
            population_rows
                .iter()
                .filter(|p| p.population > 0.0)
                .map(|p| p.cell),
        );
        set.into_iter().collect()
    };
    (fixed_grid, universe)
}

/// Each source's grid positions within the larger of `spread_km` and `escalation_km`,
/// with the spread kernel.
pub(super) fn neighbourhoods(
    sources: &[u64],
    pos: &CellPositions,
    units: &[Unit],
    cfg: &ScoreConfig,
    res: Resolution,
) -> Vec<Neighbours> {
    let reach_km = cfg.spread_km.max(cfg.escalation_km);
    let k = rings_for_km(reach_km, res);
    // Each source's grid cells within reach, with the spread kernel (in parallel: the
    // costly part). Cells within the smaller of the two radii come first.
    let inner_km = cfg.spread_km.min(cfg.escalation_km);
    sources
        .par_iter()
        .map(|s| {
            let mut n = Neighbours::default();
            let Ok(origin) = cell_from_u64(*s) else {
                return n;
            };
            let here = unit(center(origin));
            let mut outer: Vec<(u32, f64)> = Vec::new();
            for c in origin.grid_disk::<Vec<CellIndex>>(k) {
                let Some(p) = pos.get(u64::from(c)) else {
                    continue;
                };
                let km = unit_distance_km(&here, &units[p as usize]);
                if km > reach_km {
                    continue;
                }
                let w = kernel(km, cfg.spread_decay_km);
                if km <= inner_km {
                    n.pos.push(p);
                    n.kernel.push(w);
                } else {
                    outer.push((p, w));
                }
            }
            let inner = n.pos.len();
            for (p, w) in outer {
                n.pos.push(p);
                n.kernel.push(w);
            }
            if cfg.escalation_km <= cfg.spread_km {
                (n.n_esc, n.n_spread) = (inner, n.pos.len());
            } else {
                (n.n_spread, n.n_esc) = (inner, n.pos.len());
            }
            n
        })
        .collect()
}

/// Each base's grid positions within `spread_km`: without a fixed grid, they join the
/// grid on the days the base is active.
pub(super) fn base_disks(
    bases: &[Base],
    pos: &CellPositions,
    cfg: &ScoreConfig,
    res: Resolution,
) -> Vec<Vec<u32>> {
    let kb = rings_for_km(cfg.spread_km, res);
    bases
        .iter()
        .map(|b| {
            within(b.cell, kb, cfg.spread_km)
                .into_iter()
                .filter_map(|(c, _)| pos.get(c))
                .collect()
        })
        .collect()
}
