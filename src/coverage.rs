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
    let labels: Vec<String> = bases.iter().map(|b| label(b.base)).collect();
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
                cov.mission = Some(b.mission.clone());
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
/// (cells of probability 0 never; of equal probabilities, the first). Returns, per cell,
/// whether it is a gap by the budget; `covered[i]` and `high[i]` describe cell i.
pub fn gap_budget(
    probability: &[f64],
    covered: &[bool],
    high: &[bool],
    budget: usize,
) -> Vec<bool> {
    let n = probability.len();
    let taken = (0..n).filter(|i| !covered[*i] && high[*i]).count();
    let open: Vec<usize> = (0..n)
        .filter(|i| !covered[*i] && !high[*i] && probability[*i] > 0.0)
        .collect();
    let mut out = vec![false; n];
    for i in crate::model::params::top(probability, &open, budget.saturating_sub(taken)) {
        out[i] = true;
    }
    out
}

/// Sets the gap flags of `rows` (one day's grid, coverage set) by the gap budget: as many
/// gaps at most as cells on watch (methodology §7, §13).
pub fn set_gaps(rows: &mut [crate::model::cell::CellRecord], min_troops_per_1000: f64) {
    let budget = rows.iter().filter(|r| r.watch).count();
    let p: Vec<f64> = rows.iter().map(|r| r.probability.unwrap_or(0.0)).collect();
    let covered: Vec<bool> = rows.iter().map(|r| r.coverage.covered).collect();
    let high: Vec<bool> = rows.iter().map(|r| r.tier.is_high()).collect();
    for (r, chosen) in rows.iter_mut().zip(gap_budget(&p, &covered, &high, budget)) {
        r.flags = Flags::of(
            r.tier,
            chosen,
            r.risk,
            r.exposure,
            &r.coverage,
            min_troops_per_1000,
        );
    }
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
        let g = gap_budget(&p, &covered, &high, 3);
        assert_eq!(g, vec![false, true, true, false, false, false, false]);
        // Nothing left once high cells spend the budget; a probability of 0 never counts.
        assert!(gap_budget(&p, &covered, &high, 1).iter().all(|x| !x));
        let g = gap_budget(&p, &covered, &[false; 7], 10);
        assert_eq!(g, vec![false, true, true, true, true, false, true]);
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
