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

/// The factor by which [`disks_within`] widens its ring bounds.
const MARGIN: f64 = 1.15;

/// For each of `cells` (one resolution), the cells within `km` of its centre (k rings
/// searched), unsorted: the same sets as [`within`], found computing few centres. Away
/// from pentagons the cells of ring i lie between √3/2 · i · s and i · s from the centre,
/// s the distance to the first ring; only the rings that straddle `km` need their centres
/// (a margin of [`MARGIN`] covers the grid's distortion across a disk, checked against
/// [`within`] the world over), and a centre shared by many disks is computed once. Near a
/// pentagon every centre is computed.
pub fn disks_within(cells: &[u64], k: u32, km: f64) -> Vec<Vec<u64>> {
    /// A disk's rings: each cell with its ring, and whether it is in (`Some`) or must be
    /// measured (`None`).
    type Rings = Vec<(u64, Option<bool>)>;
    let rings: Vec<(Unit, Rings)> = cells
        .par_iter()
        .map(|c| {
            let Ok(origin) = cell_from_u64(*c) else {
                return ([0.0; 3], Vec::new());
            };
            let here = unit(center(origin));
            let ring: Vec<(CellIndex, u32)> = origin.grid_disk_distances::<Vec<_>>(k);
            let first: Vec<f64> = ring
                .iter()
                .filter(|(_, i)| *i == 1)
                .map(|(n, _)| unit_distance_km(&here, &unit(center(*n))))
                .collect();
            let regular = first.len() == 6 && !ring.iter().any(|(n, _)| n.is_pentagon());
            let (lo, hi) = first.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), d| {
                (lo.min(*d), hi.max(*d))
            });
            let classified = ring
                .into_iter()
                .map(|(n, i)| {
                    let i = f64::from(i);
                    let known = if !regular {
                        None
                    } else if i * hi * MARGIN <= km {
                        Some(true)
                    } else if i * lo * 0.866 > km * MARGIN {
                        Some(false)
                    } else {
                        None
                    };
                    (u64::from(n), known)
                })
                .collect();
            (here, classified)
        })
        .collect();
    let mut measure: Vec<u64> = rings
        .iter()
        .flat_map(|(_, r)| r.iter().filter(|(_, k)| k.is_none()).map(|(n, _)| *n))
        .collect();
    measure.par_sort_unstable();
    measure.dedup();
    let centres: Vec<Unit> = measure
        .par_iter()
        .map(|n| cell_from_u64(*n).map_or([0.0; 3], |c| unit(center(c))))
        .collect();
    rings
        .into_par_iter()
        .map(|(here, ring)| {
            ring.into_iter()
                .filter(|(n, known)| {
                    known.unwrap_or_else(|| {
                        measure
                            .binary_search(n)
                            .is_ok_and(|j| unit_distance_km(&here, &centres[j]) <= km)
                    })
                })
                .map(|(n, _)| n)
                .collect()
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::cell_of;

    fn same(cell: CellIndex, res: Resolution, km: f64) {
        let k = rings_for_km(km, res);
        let c = u64::from(cell);
        let mut fast = disks_within(&[c], k, km).concat();
        fast.sort_unstable();
        let mut exact: Vec<u64> = within(c, k, km).into_iter().map(|(n, _)| n).collect();
        exact.sort_unstable();
        assert_eq!(fast, exact, "{c:x} at {km} km");
    }

    #[test]
    fn the_fast_disk_is_the_exact_disk_everywhere_and_beside_pentagons() {
        for res in [
            Resolution::Five,
            Resolution::Six,
            Resolution::Seven,
            Resolution::Eight,
        ] {
            for km in [5.0, 10.0, 25.0, 50.0] {
                if rings_for_km(km, res) > 40 {
                    continue;
                }
                for lat in (-80i32..=80).step_by(20) {
                    for lon in (-170..=170).step_by(37) {
                        let x = f64::from(lon) + f64::from(lat.abs()) / 7.0;
                        let cell = cell_of(f64::from(lat) + 0.37, x, res)
                            .unwrap_or_else(|e| panic!("{e}"));
                        same(cell, res, km);
                    }
                }
                for p in res.pentagons() {
                    same(p, res, km);
                    for n in p.grid_disk::<Vec<CellIndex>>(3) {
                        same(n, res, km);
                    }
                }
            }
        }
    }

    #[test]
    fn overlapping_disks_found_together_are_each_exact() {
        let res = Resolution::Seven;
        let origin = cell_of(6.5, 21.0, res).unwrap_or_else(|e| panic!("{e}"));
        let cells: Vec<u64> = origin
            .grid_disk::<Vec<CellIndex>>(6)
            .into_iter()
            .map(u64::from)
            .collect();
        for km in [5.0, 10.0] {
            let k = rings_for_km(km, res);
            for (c, mut fast) in cells.iter().zip(disks_within(&cells, k, km)) {
                fast.sort_unstable();
                let mut exact: Vec<u64> = within(*c, k, km).into_iter().map(|(n, _)| n).collect();
                exact.sort_unstable();
                assert_eq!(fast, exact);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn the_fast_disk_is_the_exact_disk_anywhere(
            lat in -84.0f64..84.0, lon in -180.0f64..180.0, r in 0usize..4, f in 0usize..4
        ) {
            let res = [Resolution::Five, Resolution::Six, Resolution::Seven, Resolution::Eight][r];
            let km = [5.0, 10.0, 25.0, 50.0][f];
            if rings_for_km(km, res) <= 40 {
                let cell = cell_of(lat, lon, res).unwrap_or_else(|e| panic!("{e}"));
                same(cell, res, km);
            }
        }
    }
}
