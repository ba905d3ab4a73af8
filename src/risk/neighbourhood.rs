//! The grid the engine scores and each source's neighbourhood on it: the universe of
//! cells (the loaded areas, else every cell within reach of an event or a base and every
//! populated cell), the spread kernel and the cells within a distance.

use super::areas::AreaCells;
use crate::config::ScoreConfig;
use crate::grid::{
    cell_from_u64, center, rings_for_km, squared_chord, sure_rings_for_km, unit, unit_distance_km,
    CellPositions, Unit, WithinKm,
};
use crate::model::rows::{Base, PopulationCell};
use h3o::{CellIndex, Resolution};
use rayon::prelude::*;

/// Earth's radius in H3 (authalic), km: the one of [`unit_distance_km`].
const EARTH_KM: f64 = 6_371.007_180_918_475;

/// Intervals of the [`SpreadKernel`]'s table per decay length of its radius (the
/// interpolation error grows as the fourth power of the step in decay lengths: 4e-16 here).
const KERNEL_STEPS_PER_DECAY: f64 = 1640.0;

/// The spread kernel exp(−d / decay) between two cell centres d km apart, up to
/// `spread_km` (methodology §3), as a function of the chord between their unit vectors:
/// read from a table of the kernel and its derivative over the chord (cubic Hermite, 1,640
/// intervals per decay length, at least 1,024, at most 2¹⁸), so that a pair costs a square
/// root and a few multiplications instead of an arcsine and an exponential. Within 1e-12
/// of exp(−d / decay) relative up to 160 decay lengths (tested); the engine's
/// neighbourhoods and `explain` both weigh by it.
#[derive(Debug, Clone)]
pub struct SpreadKernel {
    within: WithinKm,
    /// Table intervals per unit of chord.
    per_step: f64,
    value: Vec<f64>,
    /// The derivative at each node, per interval.
    slope: Vec<f64>,
}

impl SpreadKernel {
    /// The kernel of `decay_km` up to `spread_km`.
    pub fn new(spread_km: f64, decay_km: f64) -> Self {
        let last = 2.0
            * (spread_km / (2.0 * EARTH_KM))
                .min(std::f64::consts::FRAC_PI_2)
                .sin();
        // A hair beyond the radius, for pairs that WithinKm lets in by its exact test.
        let steps = (KERNEL_STEPS_PER_DECAY * spread_km / decay_km)
            .ceil()
            .clamp(1024.0, f64::from(1u32 << 18)) as usize;
        let step = last * (1.0 + 1e-6) / steps as f64;
        let (value, slope): (Vec<f64>, Vec<f64>) = (0..=steps)
            .map(|i| {
                let c = (step * i as f64).min(2.0);
                let g = (-2.0 * EARTH_KM * (c / 2.0).asin() / decay_km).exp();
                let root = (1.0 - c * c / 4.0).max(f64::MIN_POSITIVE).sqrt();
                (g, -g * EARTH_KM / (decay_km * root))
            })
            .unzip();
        SpreadKernel {
            within: WithinKm::new(spread_km),
            per_step: 1.0 / step,
            value,
            slope: slope.into_iter().map(|d| d * step).collect(),
        }
    }

    /// The kernel between `a` and `b`, `None` beyond the radius (by the same test as
    /// [`unit_distance_km`]`(a, b) <= spread_km`).
    pub fn between(&self, a: &Unit, b: &Unit) -> Option<f64> {
        let c2 = squared_chord(a, b);
        self.within
            .contains_chord2(c2, a, b)
            .then(|| self.of_chord2(c2))
    }

    /// The kernel at squared chord `c2`, which must be within the radius.
    #[inline]
    pub(super) fn of_chord2(&self, c2: f64) -> f64 {
        let f = c2.sqrt() * self.per_step;
        let i = (f as usize).min(self.value.len() - 2);
        let t = f - i as f64;
        let (g0, g1) = (self.value[i], self.value[i + 1]);
        let (d0, d1) = (self.slope[i], self.slope[i + 1]);
        // Cubic Hermite on [i, i + 1] (slopes per step).
        let u = 1.0 - t;
        (g0 * (1.0 + 2.0 * t) + d0 * t) * u * u + (g1 * (3.0 - 2.0 * t) - d1 * u) * t * t
    }
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
        // The cells a source's rings surely reach, then those of them within spread_km of one.
        let candidates = dilate(sources, sure_rings_for_km(cfg.spread_km, res));
        let units: Vec<Unit> = candidates
            .par_iter()
            .map(|c| cell_from_u64(*c).map_or([0.0; 3], |c| unit(center(c))))
            .collect();
        let blocks = Blocks::new(&candidates, &units, res);
        let near: Vec<Vec<u32>> =
            blocks.near(sources, None, cfg.spread_km, false, |_, _, found| {
                found.iter().map(|(p, _)| *p).collect()
            });
        let mut reached = vec![false; candidates.len()];
        for p in near.iter().flatten() {
            reached[*p as usize] = true;
        }
        drop(near);
        let mut cells: Vec<u64> = sources.to_vec();
        for b in bases {
            cells.extend(
                within(b.cell, kb, cfg.spread_km)
                    .into_iter()
                    .map(|(c, _)| c),
            );
        }
        cells.extend(
            population_rows
                .iter()
                .filter(|p| p.population > 0.0)
                .map(|p| p.cell),
        );
        cells.par_sort_unstable();
        cells.dedup();
        cells.retain(|c| candidates.binary_search(c).map_or(true, |i| !reached[i]));
        cells.extend(
            candidates
                .iter()
                .zip(&reached)
                .filter(|(_, r)| **r)
                .map(|(c, _)| *c),
        );
        cells.par_sort_unstable();
        cells
    };
    (fixed_grid, universe)
}

/// Every cell within `k` grid steps of one of `seeds` (the union of their k-ring disks),
/// sorted: grown a ring at a time from the last ring's new cells only, so each cell's
/// neighbours are listed once rather than once per disk it falls in.
fn dilate(seeds: &[u64], k: u32) -> Vec<u64> {
    let mut all: Vec<u64> = seeds
        .iter()
        .copied()
        .filter(|c| cell_from_u64(*c).is_ok())
        .collect();
    all.par_sort_unstable();
    all.dedup();
    let mut frontier = all.clone();
    for _ in 0..k {
        let mut next: Vec<u64> = frontier
            .par_iter()
            .flat_map_iter(|c| {
                cell_from_u64(*c)
                    .map(|c| c.grid_disk::<Vec<CellIndex>>(1))
                    .unwrap_or_default()
                    .into_iter()
                    .map(u64::from)
            })
            .collect();
        next.par_sort_unstable();
        next.dedup();
        next.retain(|c| all.binary_search(c).is_err());
        if next.is_empty() {
            break;
        }
        let mut merged = Vec::with_capacity(all.len() + next.len());
        let (mut i, mut j) = (0, 0);
        while i < all.len() || j < next.len() {
            if j == next.len() || (i < all.len() && all[i] < next[j]) {
                merged.push(all[i]);
                i += 1;
            } else {
                merged.push(next[j]);
                j += 1;
            }
        }
        all = merged;
        frontier = next;
    }
    all
}

/// How many resolutions coarser than the grid a [`Blocks`] block's ancestor is: blocks of
/// at most 49 cells.
const BLOCK_UP: u8 = 2;

/// A sorted grid's cells cut into blocks of the cells that share an ancestor
/// [`BLOCK_UP`] resolutions coarser (contiguous in sorted order), each with its
/// ancestor's centre and the distance from it to the block's farthest cell. The grid cells
/// within a distance of a point are then found by the triangle inequality — only the
/// blocks that can hold one are read — and a chord test on contiguous unit vectors: no
/// H3 traversal and no hashing per cell. The answer is exact: every grid cell whose centre
/// lies within the distance, by the same test as [`unit_distance_km`]` <= km`.
struct Blocks<'a> {
    units: &'a [Unit],
    coarse: Resolution,
    /// Each block's ancestor, sorted.
    keys: Vec<u64>,
    /// Block `b` holds positions `starts[b]..starts[b + 1]`.
    starts: Vec<u32>,
    centres: Vec<Unit>,
    /// Distance (km) from the ancestor's centre to the block's farthest cell centre.
    radii: Vec<f64>,
    max_radius: f64,
}

/// Slack (km) on every triangle-inequality bound, far above rounding.
const SLACK_KM: f64 = 1e-6;

impl<'a> Blocks<'a> {
    /// Indexes `cells` (sorted, distinct, all of resolution `res`) and their unit vectors.
    fn new(cells: &[u64], units: &'a [Unit], res: Resolution) -> Self {
        let coarse = Resolution::try_from(u8::from(res).saturating_sub(BLOCK_UP))
            .unwrap_or(Resolution::Zero);
        let ancestor = |c: u64| {
            cell_from_u64(c)
                .ok()
                .and_then(|c| c.parent(coarse))
                .map_or(u64::MAX, u64::from)
        };
        let mut keys = Vec::new();
        let mut starts = Vec::new();
        let mut last = None;
        for (i, c) in cells.iter().enumerate() {
            let a = ancestor(*c);
            if last != Some(a) {
                keys.push(a);
                starts.push(i as u32);
                last = Some(a);
            }
        }
        starts.push(cells.len() as u32);
        let (centres, radii): (Vec<Unit>, Vec<f64>) = keys
            .par_iter()
            .enumerate()
            .map(|(b, a)| {
                let centre = cell_from_u64(*a).map_or([0.0; 3], |c| unit(center(c)));
                let range = starts[b] as usize..starts[b + 1] as usize;
                let radius = units[range]
                    .iter()
                    .map(|u| unit_distance_km(&centre, u))
                    .fold(0.0f64, f64::max);
                (centre, radius)
            })
            .unzip();
        let max_radius = radii.iter().copied().fold(0.0, f64::max);
        Blocks {
            units,
            coarse,
            keys,
            starts,
            centres,
            radii,
            max_radius,
        }
    }

    /// For each of `sources` (sorted cells of the grid's resolution, in the grid or not),
    /// `visit(its index, its centre, the grid positions within km of it with their squared
    /// chords)` — in block order, or ascending when `ascending` —, in the order of
    /// `sources`. Their centres are `source_units` when given, else computed. Sources
    /// sharing an ancestor share the search for their candidate blocks; they are worked on
    /// in parallel.
    fn near<T: Send>(
        &self,
        sources: &[u64],
        source_units: Option<&[Unit]>,
        km: f64,
        ascending: bool,
        visit: impl Fn(usize, &Unit, &[(u32, f64)]) -> T + Sync,
    ) -> Vec<T> {
        let mut groups: Vec<(u64, usize, usize)> = Vec::new();
        for (i, s) in sources.iter().enumerate() {
            let a = cell_from_u64(*s)
                .ok()
                .and_then(|c| c.parent(self.coarse))
                .map_or(u64::MAX, u64::from);
            match groups.last_mut() {
                Some((last, _, end)) if *last == a => *end = i + 1,
                _ => groups.push((a, i, i + 1)),
            }
        }
        let test = WithinKm::new(km);
        // Per block, the squared chord beyond which no cell of it is within km (a hair
        // generous: it only spares the cells' tests).
        let reach: Vec<f64> = self
            .radii
            .iter()
            .map(|r| {
                let angle =
                    ((km + r + SLACK_KM) / (2.0 * EARTH_KM)).min(std::f64::consts::FRAC_PI_2);
                (2.0 * angle.sin()).powi(2) * (1.0 + 1e-9)
            })
            .collect();
        groups
            .par_iter()
            .flat_map_iter(|&(a, from, to)| {
                let members: Vec<Unit> = match source_units {
                    Some(units) => units[from..to].to_vec(),
                    None => sources[from..to]
                        .iter()
                        .map(|s| cell_from_u64(*s).map_or([f64::NAN; 3], |c| unit(center(c))))
                        .collect(),
                };
                let mut candidates = self.candidates(a, &members, km);
                if ascending {
                    // Blocks hold ascending, contiguous positions.
                    candidates.sort_unstable();
                }
                let mut found: Vec<(u32, f64)> = Vec::new();
                let (visit, reach) = (&visit, &reach);
                members
                    .into_iter()
                    .enumerate()
                    .map(move |(k, here)| {
                        found.clear();
                        for &b in &candidates {
                            let b = b as usize;
                            if squared_chord(&here, &self.centres[b]) > reach[b] {
                                continue;
                            }
                            for p in self.starts[b]..self.starts[b + 1] {
                                let there = &self.units[p as usize];
                                let c2 = squared_chord(&here, there);
                                if test.contains_chord2(c2, &here, there) {
                                    found.push((p, c2));
                                }
                            }
                        }
                        visit(from + k, &here, &found)
                    })
                    .collect::<Vec<T>>()
            })
            .collect()
    }

    /// The blocks that may hold a cell within `km` of one of `members` (the centres of
    /// sources whose ancestor is `a`).
    fn candidates(&self, a: u64, members: &[Unit], km: f64) -> Vec<u32> {
        let Ok(ancestor) = cell_from_u64(a) else {
            return Vec::new();
        };
        let centre = unit(center(ancestor));
        let spread = members
            .iter()
            .map(|u| unit_distance_km(&centre, u))
            .fold(0.0f64, f64::max);
        let reach = km + spread + self.max_radius + SLACK_KM;
        ancestor
            .grid_disk::<Vec<CellIndex>>(sure_rings_for_km(reach, self.coarse))
            .into_iter()
            .filter_map(|n| {
                let b = self.keys.binary_search(&u64::from(n)).ok()?;
                (unit_distance_km(&centre, &self.centres[b])
                    <= km + spread + self.radii[b] + SLACK_KM)
                    .then_some(b as u32)
            })
            .collect()
    }
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
    // Cells within the smaller of the two radii come first.
    let inner_km = cfg.spread_km.min(cfg.escalation_km);
    let blocks = Blocks::new(pos.cells(), units, res);
    let spread = SpreadKernel::new(cfg.spread_km, cfg.spread_decay_km);
    let inner = WithinKm::new(inner_km);
    blocks.near(sources, None, reach_km, false, |_, here, found| {
        let mut n = Neighbours {
            pos: Vec::with_capacity(found.len()),
            kernel: Vec::with_capacity(found.len()),
            ..Neighbours::default()
        };
        // The cells within the inner radius first, then the others: two passes over the
        // found cells, no buffer.
        let weight = |p: u32, c2: f64| {
            let there = &units[p as usize];
            if reach_km <= cfg.spread_km || spread.within.contains_chord2(c2, here, there) {
                spread.of_chord2(c2)
            } else {
                0.0
            }
        };
        for first in [true, false] {
            for &(p, c2) in found {
                if inner.contains_chord2(c2, here, &units[p as usize]) == first {
                    n.pos.push(p);
                    n.kernel.push(weight(p, c2));
                }
            }
            if first {
                n.n_esc = n.pos.len();
            }
        }
        let inner = n.n_esc;
        if cfg.escalation_km <= cfg.spread_km {
            (n.n_esc, n.n_spread) = (inner, n.pos.len());
        } else {
            (n.n_spread, n.n_esc) = (inner, n.pos.len());
        }
        n
    })
}

/// For each cell of `grid` (sorted; `grid_units` their centres), `visit(its position, its
/// centre, the sources within `reach_km` of it with their squared chords, in ascending
/// source order)`, in grid order: [`neighbourhoods`] turned around. `sources` are sorted
/// cells and `source_units` their centres. A day scored once sums its spread over these lists instead of building every
/// source's (the same pairs, the same chords, and each cell's terms in the same order, so
/// the same sums to the bit).
pub(super) fn gather<T: Send>(
    sources: &[u64],
    source_units: &[Unit],
    grid: &[u64],
    grid_units: &[Unit],
    reach_km: f64,
    res: Resolution,
    visit: impl Fn(usize, &Unit, &[(u32, f64)]) -> T + Sync,
) -> Vec<T> {
    Blocks::new(sources, source_units, res).near(grid, Some(grid_units), reach_km, true, visit)
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

    /// Each source's grid cells within reach, by distance, from a disk of rings that surely
    /// holds them: the neighbourhoods as they were computed before the block index (which
    /// searched [`rings_for_km`] rings: the same where cells have their average size).
    fn by_disks(
        sources: &[u64],
        pos: &CellPositions,
        cfg: &ScoreConfig,
        res: Resolution,
    ) -> Vec<Vec<(u32, f64)>> {
        let reach = cfg.spread_km.max(cfg.escalation_km);
        let k = sure_rings_for_km(reach, res);
        sources
            .iter()
            .map(|s| {
                let mut v: Vec<(u32, f64)> = within(*s, k, reach)
                    .into_iter()
                    .filter_map(|(c, d)| {
                        let w = if d <= cfg.spread_km {
                            (-d / cfg.spread_decay_km).exp()
                        } else {
                            0.0
                        };
                        Some((pos.get(c)?, w))
                    })
                    .collect();
                v.sort_by_key(|(p, _)| *p);
                v
            })
            .collect()
    }

    /// Every cell within spread_km of a source, from disks that surely hold them.
    fn universe_by_disks(sources: &[u64], cfg: &ScoreConfig, res: Resolution) -> Vec<u64> {
        let k = sure_rings_for_km(cfg.spread_km, res);
        let mut v: Vec<u64> = sources
            .iter()
            .flat_map(|s| within(*s, k, cfg.spread_km).into_iter().map(|(c, _)| c))
            .chain(sources.iter().copied())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Scattered sources (a cluster and its outliers) around `(lat, lon)`.
    fn scattered(lat: f64, lon: f64, n: u64, res: Resolution) -> Vec<u64> {
        let mut rng = crate::model::rand::SplitMix64::new(n);
        let mut v: Vec<u64> = (0..n)
            .filter_map(|i| {
                let spread = if i % 5 == 0 { 1.5 } else { 0.2 };
                let la = (lat + spread * (rng.next_f64() - 0.5)).clamp(-89.9, 89.9);
                let mut lo = lon + spread * (rng.next_f64() - 0.5);
                if lo > 180.0 {
                    lo -= 360.0;
                } else if lo < -180.0 {
                    lo += 360.0;
                }
                cell_of(la, lo, res).ok().map(u64::from)
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn check_place(lat: f64, lon: f64, res: Resolution, cfg: &ScoreConfig) {
        let sources = scattered(lat, lon, 60, res);
        let empty = AreaCells::default();
        let (_, grid) = universe(&sources, &empty, &[], &[], cfg, res);
        assert_eq!(
            grid,
            universe_by_disks(&sources, cfg, res),
            "universe at {lat},{lon} res {res}"
        );
        let pos = CellPositions::new(grid, res);
        let units: Vec<Unit> = pos
            .cells()
            .iter()
            .map(|c| unit(center(cell_from_u64(*c).unwrap_or_else(|e| panic!("{e}")))))
            .collect();
        let fast = neighbourhoods(&sources, &pos, &units, cfg, res);
        let slow = by_disks(&sources, &pos, cfg, res);
        let inner = cfg.spread_km.min(cfg.escalation_km);
        for ((n, want), s) in fast.iter().zip(&slow).zip(&sources) {
            let mut got: Vec<(u32, f64)> = n
                .pos
                .iter()
                .copied()
                .zip(n.kernel.iter().copied())
                .collect();
            got.sort_by_key(|(p, _)| *p);
            // Identical sets, and kernels within 1e-12 of exp(−d / decay).
            assert_eq!(
                got.len(),
                want.len(),
                "source {s:x} at {lat},{lon} res {res}"
            );
            for ((p, w), (q, v)) in got.iter().zip(want) {
                assert_eq!(p, q, "source {s:x} at {lat},{lon} res {res}");
                assert!((w - v).abs() <= 1e-12 * v, "{w} against {v}");
            }
            let here = unit(center(cell_from_u64(*s).unwrap_or_else(|e| panic!("{e}"))));
            let first = n.n_esc.min(n.n_spread);
            for (j, p) in n.pos.iter().enumerate() {
                let d = unit_distance_km(&here, &units[*p as usize]);
                assert_eq!(d <= inner, j < first, "inner cells first");
            }
        }
    }

    #[test]
    fn block_neighbourhoods_are_the_disks_neighbourhoods_everywhere() {
        let cfg = ScoreConfig::default();
        for (lat, lon) in [
            (6.5, 21.0),
            (0.1, 179.9),
            (-33.9, -179.95),
            (64.7, 10.5),
            (-71.0, 40.0),
            (45.0, -100.0),
        ] {
            check_place(lat, lon, Resolution::Seven, &cfg);
        }
        // Beside pentagons, and with escalation reaching farther than the spread.
        let wide = ScoreConfig {
            escalation_km: 30.0,
            ..ScoreConfig::default()
        };
        for p in Resolution::Seven.pentagons().take(4) {
            let (lat, lon) = center(p);
            check_place(lat, lon, Resolution::Seven, &cfg);
            check_place(lat, lon, Resolution::Seven, &wide);
        }
        check_place(6.5, 21.0, Resolution::Five, &cfg);
        check_place(6.5, 21.0, Resolution::Nine, &cfg);
    }

    #[test]
    fn the_kernel_table_is_the_kernel() {
        for (spread_km, decay_km) in [
            (20.0, 8.0),
            (5.0, 1.0),
            (100.0, 40.0),
            (50.0, 2.0),
            (160.0, 1.0),
        ] {
            let k = SpreadKernel::new(spread_km, decay_km);
            for lat in [-70.0, -10.0, 0.0, 6.5, 45.0, 80.0] {
                let a = unit((lat, 21.0));
                for i in 0..=4000 {
                    // Pairs from 0 to 1.01 × the radius, in several directions.
                    let d_deg = spread_km * 1.01 / 111.195 * f64::from(i) / 4000.0;
                    let b = unit((
                        lat + d_deg * 0.6,
                        21.0 + d_deg * 0.8 / f64::cos(lat.to_radians()),
                    ));
                    let d = unit_distance_km(&a, &b);
                    match k.between(&a, &b) {
                        Some(w) => {
                            assert!(d <= spread_km, "{d} km is beyond {spread_km}");
                            let want = (-d / decay_km).exp();
                            assert!(
                                (w - want).abs() <= 1e-12 * want,
                                "{d} km: {w} against {want}"
                            );
                        }
                        None => assert!(d > spread_km, "{d} km is within {spread_km}"),
                    }
                }
            }
        }
    }

    #[test]
    fn dilation_is_the_union_of_disks() {
        let res = Resolution::Seven;
        let seeds = scattered(6.5, 21.0, 40, res);
        for k in [0, 1, 4] {
            let mut want: Vec<u64> = seeds
                .iter()
                .flat_map(|s| {
                    cell_from_u64(*s)
                        .unwrap_or_else(|e| panic!("{e}"))
                        .grid_disk::<Vec<CellIndex>>(k)
                        .into_iter()
                        .map(u64::from)
                })
                .collect();
            want.sort_unstable();
            want.dedup();
            assert_eq!(dilate(&seeds, k), want, "k = {k}");
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
