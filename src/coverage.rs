//! Presence and reach of peacekeeping bases, the bases active on a day or a snapshot, the
//! per-cell coverage and gap flags (DESIGN §4). What is built on them — summaries,
//! responsiveness, scenarios, plans, events outside every base's reach — is in
//! [`crate::analysis`].

use crate::config::CoverageConfig;
use crate::grid::{cell_from_u64, center, distance_km, rings_for_km, unit};
pub use crate::model::cell::{CellCoverage, Flags};
use crate::model::rows::Base;
use crate::store::snapshot::Snapshot;
use h3o::{CellIndex, Resolution};
use rayon::prelude::*;

/// Errors of the coverage layer.
#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// No snapshot is stored in a range.
    #[error("no snapshot is stored between {from} and {to}: run `vigil score --from {from} --to {to}` first")]
    NoSnapshots {
        /// First day.
        from: String,
        /// Last day.
        to: String,
    },
    /// A grouping is neither `mission` nor a loaded area level.
    #[error("unknown grouping `{by}`: use `mission` or a loaded area level ({levels})")]
    UnknownGrouping {
        /// What was asked.
        by: String,
        /// The loaded levels.
        levels: String,
    },
    /// The store's grid resolution is invalid.
    #[error(transparent)]
    Grid(#[from] crate::grid::GridError),
}

/// A base active on the snapshot date, with its reach.
#[derive(Debug, Clone)]
pub struct ActiveBase<'a> {
    /// The stored row.
    pub base: &'a Base,
    /// Its position in the list the active bases were chosen from.
    pub index: usize,
    /// Reach reduced for the rainy season.
    pub reduced: bool,
    /// Reach radius, km.
    pub radius_km: f64,
    /// Whether it gives protection capacity (troops or formed police), not only presence.
    pub protects: bool,
}

/// How a base is named in outputs: `location (mission)`.
pub fn label(b: &Base) -> String {
    format!("{} ({})", b.location, b.mission)
}

/// The bases active on the snapshot's date, with the rainy-season reductions the snapshot
/// recorded.
pub fn snapshot_bases<'a>(
    bases: &'a [Base],
    snap: &Snapshot,
    cfg: &CoverageConfig,
) -> Vec<ActiveBase<'a>> {
    let date = snap.day();
    let reduced: std::collections::HashSet<&str> =
        snap.info.reduced_bases.iter().map(String::as_str).collect();
    active_bases(bases, date, cfg, |_, b| reduced.contains(label(b).as_str()))
}

/// Reach radius and protection capacity of a base by size and type.
pub fn reach(base: &Base, cfg: &CoverageConfig) -> (f64, bool) {
    let troops = base.troops.unwrap_or(0).max(0) as u64;
    let police_only = troops == 0 && (base.fpu || base.unpol);
    if troops >= u64::from(cfg.battalion_troops) {
        (cfg.battalion_radius_km, true)
    } else if troops >= u64::from(cfg.company_troops) {
        (cfg.company_radius_km, true)
    } else if police_only {
        (cfg.police_radius_km, base.fpu)
    } else if troops > 0 || base.infantry {
        (cfg.post_radius_km, true)
    } else {
        // Observers, liaison offices, HQ without troops: presence, not protection.
        (cfg.post_radius_km, false)
    }
}

/// Whether a base is valid on `date`.
pub fn is_active(b: &Base, date: i32) -> bool {
    b.valid_from <= date && date <= b.valid_to
}

/// Bases valid on `date`, with their reach; `rainy(index, base)` says whether a base is in
/// its rainy season, which multiplies its reach by `rainy_reach_factor`.
pub fn active_bases<'a>(
    bases: &'a [Base],
    date: i32,
    cfg: &CoverageConfig,
    rainy: impl Fn(usize, &Base) -> bool,
) -> Vec<ActiveBase<'a>> {
    bases
        .iter()
        .enumerate()
        .filter(|(_, b)| is_active(b, date))
        .map(|(index, base)| {
            let (radius_km, protects) = reach(base, cfg);
            let reduced = rainy(index, base);
            ActiveBase {
                base,
                index,
                radius_km: if reduced {
                    radius_km * cfg.rainy_reach_factor
                } else {
                    radius_km
                },
                protects,
                reduced,
            }
        })
        .collect()
}

/// Computes the coverage of every grid cell (`pos` the sorted cells, `centres` their
/// centres), in the order of the cells. `population` gives the residents of each
/// position (none: no population data); residents within a base's reach are those of the
/// grid cells it reaches.
pub fn assess(
    centres: &[(f64, f64)],
    pos: &crate::grid::CellPositions,
    bases: &[ActiveBase<'_>],
    population: Option<&[f64]>,
    res: Resolution,
) -> Vec<CellCoverage> {
    let labels: Vec<std::sync::Arc<str>> = bases.iter().map(|b| label(b.base).into()).collect();
    let missions: Vec<std::sync::Arc<str>> = bases
        .iter()
        .map(|b| b.base.mission.as_str().into())
        .collect();
    let units: Vec<[f64; 3]> = bases
        .iter()
        .map(|b| unit((b.base.lat, b.base.lon)))
        .collect();
    let mut out: Vec<CellCoverage> = centres
        .par_iter()
        .map(|c| {
            let u = unit(*c);
            // The nearest base has the largest dot product of unit vectors.
            let mut best: Option<(usize, f64)> = None;
            for (j, v) in units.iter().enumerate() {
                let dot = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
                if best.is_none_or(|(_, d)| dot > d) {
                    best = Some((j, dot));
                }
            }
            let mut cov = CellCoverage::default();
            if let Some((j, _)) = best {
                let b = bases[j].base;
                cov.nearest_base_km = Some(distance_km(*c, (b.lat, b.lon)));
                cov.nearest_base = Some(labels[j].clone());
                cov.mission = Some(missions[j].clone());
            }
            cov
        })
        .collect();
    debug_assert_eq!(out.len(), pos.len());
    for b in bases {
        let reached: Vec<usize> = reached_cells(b, res)
            .into_iter()
            .filter_map(|c| pos.get(c).map(|i| i as usize))
            .collect();
        let residents: f64 = population.map_or(0.0, |p| reached.iter().map(|i| p[*i]).sum());
        let troops = b.base.troops.unwrap_or(0).max(0);
        for i in reached {
            let cov = &mut out[i];
            cov.presence = true;
            if b.protects {
                cov.covered = true;
                cov.troops_in_reach += troops;
                if residents > 0.0 {
                    *cov.troops_per_1000.get_or_insert(0.0) += troops as f64 * 1000.0 / residents;
                }
            }
        }
    }
    out
}

/// The gap budget (methodology §7, §13): which cells no protecting base covers are gaps
/// beyond the high and critical ones. `budget` cells at most are gaps in all (the number
/// on watch, `score.watch_share` of the grid): the uncovered high or critical cells first,
/// then the uncovered cells of highest forecast `probability` until the budget is spent
/// (cells of probability 0 never; of equal probabilities, the first). A cell whose centre
/// lies within `spacing_km` of a gap already chosen is passed over: one post would answer
/// both, and the budget goes to another place instead (0: no spacing). Returns, per cell,
/// whether it is a gap by the budget; `cells[i]`, `covered[i]` and `high[i]` describe
/// cell i.
pub fn gap_budget(
    cells: &[u64],
    probability: &[f64],
    covered: &[bool],
    high: &[bool],
    budget: usize,
    spacing_km: f64,
) -> Vec<bool> {
    let n = probability.len();
    let mut out = vec![false; n];
    let taken = (0..n).filter(|i| !covered[*i] && high[*i]).count();
    let Some(mut left) = budget.checked_sub(taken).filter(|k| *k > 0) else {
        return out;
    };
    let mut open: Vec<usize> = (0..n)
        .filter(|i| !covered[*i] && !high[*i] && probability[*i] > 0.0)
        .collect();
    if spacing_km <= 0.0 {
        for i in crate::model::params::top(probability, &open, left) {
            out[i] = true;
        }
        return out;
    }
    // Highest probability first; of equal probabilities, the first cell. Only the head
    // that the budget may reach is sorted (a few times the budget: most candidates of a
    // large grid are never looked at); the rest, all ranked after it, only if the head
    // runs out.
    let order = |a: &usize, b: &usize| probability[*b].total_cmp(&probability[*a]).then(a.cmp(b));
    let head = left.saturating_mul(8).max(256).min(open.len());
    if head < open.len() {
        open.select_nth_unstable_by(head, order);
    }
    let mut rest = open.split_off(head);
    open.sort_unstable_by(order);
    let mut chosen = Spaced::new(spacing_km);
    for i in (0..n).filter(|i| !covered[*i] && high[*i]) {
        if let Ok(c) = cell_from_u64(cells[i]) {
            chosen.insert(center(c));
        }
    }
    let mut pick = |list: &[usize], left: &mut usize| {
        for i in list {
            if *left == 0 {
                break;
            }
            let Ok(c) = cell_from_u64(cells[*i]) else {
                continue;
            };
            let here = center(c);
            if !chosen.any_within(here) {
                chosen.insert(here);
                out[*i] = true;
                *left -= 1;
            }
        }
    };
    pick(&open, &mut left);
    if left > 0 {
        rest.sort_unstable_by(order);
        pick(&rest, &mut left);
    }
    out
}

/// Points bucketed by latitude and longitude in squares of `km` (in degrees of latitude),
/// to ask whether any lies within `km` of a place.
struct Spaced {
    km: f64,
    step: f64,
    buckets: ahash::AHashMap<(i64, i64), Vec<(f64, f64)>>,
}

impl Spaced {
    fn new(km: f64) -> Self {
        Spaced {
            km,
            step: km / 111.0,
            buckets: ahash::AHashMap::new(),
        }
    }

    fn key(&self, (lat, lon): (f64, f64)) -> (i64, i64) {
        (
            (lat / self.step).floor() as i64,
            (lon / self.step).floor() as i64,
        )
    }

    fn insert(&mut self, p: (f64, f64)) {
        let k = self.key(p);
        self.buckets.entry(k).or_default().push(p);
    }

    fn any_within(&self, p: (f64, f64)) -> bool {
        let (i, j) = self.key(p);
        // A degree of longitude is cos(latitude) of a degree of latitude: look as many
        // buckets east and west as `km` spans there (all of them near the poles).
        let widest = (360.0 / self.step).ceil() as i64;
        let lat = (p.0.abs() + 2.0 * self.step).min(90.0).to_radians();
        let across = if lat.cos() > 1e-9 {
            ((1.0 / lat.cos()).ceil() as i64 + 1).min(widest)
        } else {
            widest
        };
        (i - 1..=i + 1).any(|a| {
            (j - across..=j + across).any(|b| {
                // Longitudes wrap: bucket b also 360° east and west.
                let lo = (360.0 / self.step).floor() as i64;
                [b, b - lo, b + lo, b - lo - 1, b + lo + 1]
                    .iter()
                    .any(|bb| {
                        self.buckets
                            .get(&(a, *bb))
                            .is_some_and(|v| v.iter().any(|q| distance_km(p, *q) <= self.km))
                    })
            })
        })
    }
}

/// Sets the gap flags of `rows` (one day's grid, coverage set) by the gap budget: as many gaps at most as cells on watch, `cfg.gap_spacing_km` apart
/// (methodology §7, §13).
pub fn set_gaps(rows: &mut [crate::model::cell::CellRecord], cfg: &crate::config::CoverageConfig) {
    use rayon::prelude::*;
    // One pass over the (large) records for what the budget reads.
    let read: Vec<(u64, f64, bool, bool, bool)> = rows
        .par_iter()
        .map(|r| {
            let p = r.probability.unwrap_or(0.0);
            (r.cell, p, r.coverage.covered, r.tier.is_high(), r.watch)
        })
        .collect();
    let budget = read.iter().filter(|r| r.4).count();
    let cells: Vec<u64> = read.iter().map(|r| r.0).collect();
    let p: Vec<f64> = read.iter().map(|r| r.1).collect();
    let covered: Vec<bool> = read.iter().map(|r| r.2).collect();
    let high: Vec<bool> = read.iter().map(|r| r.3).collect();
    let chosen = gap_budget(&cells, &p, &covered, &high, budget, cfg.gap_spacing_km);
    rows.par_iter_mut().zip(chosen).for_each(|(r, chosen)| {
        r.flags = Flags::of(
            r.tier,
            chosen,
            r.risk,
            r.exposure,
            &r.coverage,
            cfg.min_troops_per_1000,
        );
    });
}

impl Flags {
    /// The flags of a cell of `tier`, `risk` and `exposure` with coverage `cov`;
    /// `in_budget` says whether the gap budget ([`gap_budget`]) chose it;
    /// `min_troops_per_1000` is the strength at which coverage counts as full.
    pub fn of(
        tier: crate::model::cell::Tier,
        in_budget: bool,
        risk: f64,
        exposure: f64,
        cov: &CellCoverage,
        min_troops_per_1000: f64,
    ) -> Flags {
        let strength = if cov.covered {
            cov.troops_per_1000
                .map_or(1.0, |t| (t / min_troops_per_1000).min(1.0))
        } else {
            0.0
        };
        Flags {
            gap: (tier.is_high() || in_budget) && !cov.covered,
            under_covered: tier.is_high()
                && cov.covered
                && cov.troops_per_1000.is_some_and(|t| t < min_troops_per_1000),
            gap_severity: risk * exposure * (1.0 - strength),
        }
    }
}

/// Cells whose centre lies within a base's reach.
pub fn reached_cells(b: &ActiveBase<'_>, res: Resolution) -> Vec<u64> {
    let Ok(origin) = cell_from_u64(b.base.cell) else {
        return Vec::new();
    };
    let here = (b.base.lat, b.base.lon);
    origin
        .grid_disk::<Vec<CellIndex>>(rings_for_km(b.radius_km, res))
        .into_iter()
        .filter(|c| distance_km(here, center(*c)) <= b.radius_km)
        .map(u64::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::cell_of;

    fn base(troops: Option<i64>, lat: f64, lon: f64) -> Base {
        let cell = cell_of(lat, lon, Resolution::Seven)
            .map(u64::from)
            .unwrap_or(0);
        Base::at("M", "Here", (lat, lon), cell, (0, 100), troops)
    }

    #[test]
    fn the_gap_budget_goes_to_uncovered_high_cells_first_then_by_probability() {
        let p = [0.9, 0.8, 0.7, 0.6, 0.5, 0.0, 0.4];
        let covered = [true, false, false, false, false, false, false];
        let high = [false, false, false, false, true, false, false];
        // Budget 3: the uncovered high cell (4), then the two most likely uncovered (1, 2);
        // the covered cell 0 is never a gap however likely.
        // Cells a degree apart: spacing changes nothing.
        let cells: Vec<u64> = (0..7).map(|k| cell(6.0, 15.0 + f64::from(k))).collect();
        for spacing in [0.0, 10.0] {
            let g = gap_budget(&cells, &p, &covered, &high, 3, spacing);
            assert_eq!(g, vec![false, true, true, false, false, false, false]);
            // Nothing left once high cells spend the budget; a probability of 0 never counts.
            assert!(gap_budget(&cells, &p, &covered, &high, 1, spacing)
                .iter()
                .all(|x| !x));
            let g = gap_budget(&cells, &p, &covered, &[false; 7], 10, spacing);
            assert_eq!(g, vec![false, true, true, true, true, false, true]);
        }
    }

    fn cell(lat: f64, lon: f64) -> u64 {
        cell_of(lat, lon, Resolution::Seven)
            .map(u64::from)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn spaced_gaps_are_a_posts_reach_apart() {
        // Cells every ~3.3 km east along 6° N (0.03° of longitude), probability falling
        // eastwards, and an uncovered high cell at the western end.
        let n = 40;
        let cells: Vec<u64> = (0..n)
            .map(|k| cell(6.0, 20.0 + 0.03 * f64::from(k)))
            .collect();
        let p: Vec<f64> = (0..n).map(|k| 1.0 - f64::from(k) / 100.0).collect();
        let covered = vec![false; n as usize];
        let mut high = vec![false; n as usize];
        high[0] = true;
        let g = gap_budget(&cells, &p, &covered, &high, 4, 10.0);
        let chosen: Vec<usize> = (0..g.len()).filter(|i| g[*i]).collect();
        // Three more gaps, each the most likely cell beyond 10 km of those before it.
        assert_eq!(chosen.len(), 3);
        let mut before = vec![cells[0]];
        for i in &chosen {
            let here = center(cell_from_u64(cells[*i]).unwrap_or_else(|e| panic!("{e}")));
            for b in &before {
                let there = center(cell_from_u64(*b).unwrap_or_else(|e| panic!("{e}")));
                assert!(distance_km(here, there) > 10.0);
            }
            // No cell of higher probability was free.
            for j in 1..*i {
                if !g[j] {
                    let c = center(cell_from_u64(cells[j]).unwrap_or_else(|e| panic!("{e}")));
                    assert!(before
                        .iter()
                        .chain(chosen.iter().map(|k| &cells[*k]))
                        .any(|b| {
                            let there = center(cell_from_u64(*b).unwrap_or_else(|e| panic!("{e}")));
                            *b != cells[j] && distance_km(c, there) <= 10.0
                        }));
                }
            }
            before.push(cells[*i]);
        }
        // Without spacing the three next cells east.
        let g = gap_budget(&cells, &p, &covered, &high, 4, 0.0);
        assert_eq!(
            (0..g.len()).filter(|i| g[*i]).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        // Across the antimeridian and near a pole, neighbours are still seen.
        for (a, b) in [((0.0, 179.99), (0.0, -179.99)), ((89.9, 0.0), (89.9, 90.0))] {
            let cells = [cell(a.0, a.1), cell(b.0, b.1)];
            let g = gap_budget(&cells, &[0.9, 0.8], &[false; 2], &[false; 2], 2, 30.0);
            assert_eq!(g, vec![true, false], "{a:?} {b:?}");
        }
    }

    #[test]
    fn the_budget_reads_past_its_sorted_head_when_spacing_passes_it_over() {
        // 600 cells ~0.5 km apart along the equator, probability falling eastwards: with a
        // 100 km spacing the sorted head (256 cells, 128 km) holds two gaps; the third lies
        // beyond it. The result is the plain greedy walk over every cell in order.
        let n = 600u32;
        let cells: Vec<u64> = (0..n)
            .map(|k| cell(0.0, 10.0 + 0.0045 * f64::from(k)))
            .collect();
        let p: Vec<f64> = (0..n).map(|k| 1.0 - f64::from(k) / 1e4).collect();
        let none = vec![false; n as usize];
        let g = gap_budget(&cells, &p, &none, &none, 3, 100.0);
        let mut order: Vec<usize> = (0..n as usize).collect();
        order.sort_by(|a, b| p[*b].total_cmp(&p[*a]).then(a.cmp(b)));
        let mut want = vec![false; n as usize];
        let mut kept: Vec<(f64, f64)> = Vec::new();
        for i in order {
            let here = center(cell_from_u64(cells[i]).unwrap_or_else(|e| panic!("{e}")));
            if kept.len() < 3 && kept.iter().all(|q| distance_km(here, *q) > 100.0) {
                kept.push(here);
                want[i] = true;
            }
        }
        assert_eq!(want.iter().filter(|x| **x).count(), 3);
        assert_eq!(g, want);
    }

    #[test]
    fn radius_by_size() {
        let cfg = CoverageConfig::default();
        assert_eq!(reach(&base(Some(800), 6.5, 21.0), &cfg), (25.0, true));
        assert_eq!(reach(&base(Some(200), 6.5, 21.0), &cfg), (15.0, true));
        assert_eq!(reach(&base(Some(40), 6.5, 21.0), &cfg), (10.0, true));
        let mut police = base(None, 6.5, 21.0);
        police.fpu = true;
        assert_eq!(reach(&police, &cfg), (5.0, true));
        let mut obs = base(None, 6.5, 21.0);
        obs.observers = true;
        assert!(
            !reach(&obs, &cfg).1,
            "observers are presence, not protection"
        );
    }

    #[test]
    fn cells_within_radius_are_covered_and_beyond_are_not() {
        let res = Resolution::Seven;
        let cfg = CoverageConfig::default();
        let bases = vec![base(Some(200), 6.5, 21.0)];
        let active = active_bases(&bases, 50, &cfg, |_, _| false);
        let near = cell_of(6.5, 21.1, res).map(u64::from).unwrap_or(0); // ≈11 km east
        let far = cell_of(6.5, 21.2, res).map(u64::from).unwrap_or(0); // ≈22 km east
        let mut sorted = vec![near, far];
        sorted.sort_unstable();
        let pos = crate::grid::CellPositions::new(sorted.clone(), res);
        let centres: Vec<(f64, f64)> = sorted
            .iter()
            .map(|c| cell_from_u64(*c).map(center).unwrap_or_default())
            .collect();
        let pop: Vec<f64> = sorted
            .iter()
            .map(|c| if *c == near { 1000.0 } else { 0.0 })
            .collect();
        let cov = assess(&centres, &pos, &active, Some(&pop), res);
        let (near_i, far_i) = (
            pos.get(near).unwrap_or(0) as usize,
            pos.get(far).unwrap_or(0) as usize,
        );
        assert!(cov[near_i].covered);
        assert_eq!(cov[near_i].troops_in_reach, 200);
        assert!(!cov[far_i].covered);
        let d = cov[far_i].nearest_base_km.unwrap_or_default();
        assert!((d - 22.1).abs() < 1.0, "{d}");
        assert!(
            active_bases(&bases, 101, &cfg, |_, _| false).is_empty(),
            "closed after valid_to"
        );
    }
}
