//! Coverage recomputed on a stored snapshot for another set of bases, in memory: the
//! engine's risks and tiers stay as scored, only the coverage columns and the gap flags
//! change. Scenarios, sensitivity runs and placement are built on it.

use crate::config::CoverageConfig;
use crate::coverage::{assess, set_gaps, ActiveBase, CellCoverage, Flags};
use crate::grid::CellPositions;
use crate::model::cell::CellRecord;
use h3o::Resolution;
use rayon::prelude::*;

/// A snapshot's cells prepared for recomputing their coverage.
#[derive(Debug)]
pub struct SnapshotGrid<'s> {
    /// The snapshot's rows, sorted by cell.
    pub cells: &'s [CellRecord],
    /// Their centres.
    pub centres: Vec<(f64, f64)>,
    /// Their positions.
    pub pos: CellPositions,
    /// Residents per position (`None` without population data).
    pub population: Option<Vec<f64>>,
    /// The grid's resolution.
    pub res: Resolution,
    /// The coverage settings (troops per 1,000 residents at which coverage counts as
    /// full, the spacing of gaps).
    pub coverage: CoverageConfig,
}

impl<'s> SnapshotGrid<'s> {
    /// Prepares `cells` (sorted by cell, as in a [`crate::store::snapshot::Snapshot`]).
    pub fn new(cells: &'s [CellRecord], res: Resolution, coverage: &CoverageConfig) -> Self {
        let pos = CellPositions::new(cells.iter().map(|r| r.cell).collect(), res);
        let centres = cells.iter().map(|r| (r.lat, r.lon)).collect();
        let population = cells
            .first()
            .and_then(|r| r.population)
            .map(|_| cells.iter().map(|r| r.population.unwrap_or(0.0)).collect());
        SnapshotGrid {
            cells,
            centres,
            pos,
            population,
            res,
            coverage: coverage.clone(),
        }
    }

    /// The coverage of every cell for `bases`.
    pub fn coverage(&self, bases: &[ActiveBase<'_>]) -> Vec<CellCoverage> {
        assess(
            &self.centres,
            &self.pos,
            bases,
            self.population.as_deref(),
            self.res,
        )
    }

    /// The cells with the coverage and gap flags of `bases`.
    pub fn recompute(&self, bases: &[ActiveBase<'_>]) -> Vec<CellRecord> {
        let cov = self.coverage(bases);
        let mut rows: Vec<CellRecord> = self
            .cells
            .par_iter()
            .zip(cov)
            .map(|(r, c)| {
                let f = Flags::of(
                    r.tier,
                    false,
                    r.risk,
                    r.exposure,
                    &c,
                    self.coverage.min_troops_per_1000,
                );
                r.with_coverage(c, f)
            })
            .collect();
        if rows.iter().any(|r| r.watch) {
            set_gaps(&mut rows, &self.coverage);
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CoverageConfig;
    use crate::coverage::active_bases;
    use crate::grid::{cell_of, center};
    use crate::model::cell::Tier;
    use crate::model::rows::Base;
    use h3o::CellIndex;

    #[test]
    fn recomputing_with_the_same_bases_changes_nothing_and_without_them_opens_gaps() {
        let res = Resolution::Seven;
        let origin = cell_of(6.5, 21.0, res).unwrap_or_else(|e| panic!("{e}"));
        let mut cells: Vec<u64> = origin
            .grid_disk::<Vec<CellIndex>>(10)
            .into_iter()
            .map(u64::from)
            .collect();
        cells.sort_unstable();
        let base = Base::at(
            "M",
            "Here",
            (6.5, 21.0),
            u64::from(origin),
            (0, 10),
            Some(200),
        );
        let bases = vec![base];
        let cfg = CoverageConfig::default();
        let active = active_bases(&bases, 5, &cfg, |_, _| false);
        let rows: Vec<CellRecord> = cells
            .iter()
            .map(|c| {
                let centre = cell_from(*c);
                CellRecord {
                    tier: Tier::High,
                    risk: 0.6,
                    population: Some(50.0),
                    ..CellRecord::quiet(*c, centre)
                }
            })
            .collect();
        let grid = SnapshotGrid::new(&rows, res, &cfg);
        let scored = grid.recompute(&active);
        assert!(scored.iter().any(|r| r.coverage.covered) && scored.iter().any(|r| r.flags.gap));
        let again = SnapshotGrid::new(&scored, res, &cfg).recompute(&active);
        assert_eq!(again, scored);
        let none = grid.recompute(&[]);
        assert!(none
            .iter()
            .all(|r| r.flags.gap && !r.coverage.covered && r.coverage.mission.is_none()));
    }

    fn cell_from(c: u64) -> (f64, f64) {
        crate::grid::cell_from_u64(c)
            .map(center)
            .unwrap_or_default()
    }
}
