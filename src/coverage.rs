//! Presence and reach of peacekeeping bases, and the per-cell coverage that the gap flag
//! needs (DESIGN §4).

use crate::config::CoverageConfig;
use crate::grid::{cell_from_u64, center, distance_km, rings_for_km};
use crate::tables::Base;
use h3o::{CellIndex, Resolution};
use std::collections::HashMap;

/// A base active on the snapshot date, with its reach.
#[derive(Debug, Clone)]
pub struct ActiveBase<'a> {
    /// The stored row.
    pub base: &'a Base,
    /// Reach radius, km.
    pub radius_km: f64,
    /// Whether it gives protection capacity (troops or formed police), not only presence.
    pub protects: bool,
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

/// Bases valid on `date`.
pub fn active_bases<'a>(bases: &'a [Base], date: i32, cfg: &CoverageConfig) -> Vec<ActiveBase<'a>> {
    bases
        .iter()
        .filter(|b| b.valid_from <= date && date <= b.valid_to)
        .map(|base| {
            let (radius_km, protects) = reach(base, cfg);
            ActiveBase {
                base,
                radius_km,
                protects,
            }
        })
        .collect()
}

/// Coverage of one cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellCoverage {
    /// Reached by a protecting base.
    pub covered: bool,
    /// Reached by any base.
    pub presence: bool,
    /// Nearest active base, `location (mission)`.
    pub nearest_base: Option<String>,
    /// Its distance, km.
    pub nearest_base_km: Option<f64>,
    /// Troops of the protecting bases that reach the cell.
    pub troops_in_reach: i64,
    /// Σ over reaching bases of troops × 1000 / residents within that base's reach.
    pub troops_per_1000: Option<f64>,
}

/// Computes the coverage of every grid cell. `population` maps cells to residents.
pub fn assess(
    grid: &[u64],
    bases: &[ActiveBase<'_>],
    population: &HashMap<u64, f64>,
    res: Resolution,
) -> HashMap<u64, CellCoverage> {
    let centres: Vec<(u64, (f64, f64))> = grid
        .iter()
        .filter_map(|c| cell_from_u64(*c).ok().map(|ci| (*c, center(ci))))
        .collect();
    let mut out: HashMap<u64, CellCoverage> = HashMap::with_capacity(grid.len());
    for (cell, pos) in &centres {
        let mut cov = CellCoverage::default();
        for b in bases {
            let d = distance_km(*pos, (b.base.lat, b.base.lon));
            if cov.nearest_base_km.is_none_or(|n| d < n) {
                cov.nearest_base_km = Some(d);
                cov.nearest_base = Some(format!("{} ({})", b.base.location, b.base.mission));
            }
        }
        out.insert(*cell, cov);
    }
    for b in bases {
        let reached = reached_cells(b, res);
        let residents: f64 = reached.iter().filter_map(|c| population.get(c)).sum();
        let troops = b.base.troops.unwrap_or(0).max(0);
        for c in reached {
            let Some(cov) = out.get_mut(&c) else { continue };
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
        Base {
            mission: "M".into(),
            valid_from: 0,
            valid_to: 100,
            location: "Here".into(),
            lat,
            lon,
            cell,
            troops,
            infantry: troops.is_some(),
            fpu: false,
            unpol: false,
            observers: false,
            medical: false,
            aviation: false,
            engineering: false,
            reserve: false,
            hq: None,
            tcc_count: None,
            source: String::new(),
        }
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
        let active = active_bases(&bases, 50, &cfg);
        let near = cell_of(6.5, 21.1, res).map(u64::from).unwrap_or(0); // ≈11 km east
        let far = cell_of(6.5, 21.2, res).map(u64::from).unwrap_or(0); // ≈22 km east
        let pop = HashMap::from([(near, 1000.0)]);
        let cov = assess(&[near, far], &active, &pop, res);
        assert!(cov[&near].covered);
        assert_eq!(cov[&near].troops_in_reach, 200);
        assert!(!cov[&far].covered);
        let d = cov[&far].nearest_base_km.unwrap_or_default();
        assert!((d - 22.1).abs() < 1.0, "{d}");
        assert!(
            active_bases(&bases, 101, &cfg).is_empty(),
            "closed after valid_to"
        );
    }
}
