//! Coverage summaries per mission or per loaded area level, with the gap hit rate
//! (methodology §7.2): on one snapshot, over a range of stored snapshots (a time series),
//! or for a set of fixed radii (sensitivity).

use super::report::{num, share, ReportRow};
use crate::analysis::rollup::{by_area, Totals};
use crate::model::cell::CellRecord;
use crate::model::rows::{Area, AreaCell};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// The unit every summary starts with: all cells of the grid.
pub const ALL: &str = "all";
/// The mission of cells with no active base at all.
pub const NO_BASE: &str = "(no base)";

/// How cells are grouped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    /// By the mission of each cell's nearest active base.
    Mission,
    /// By the areas of a loaded level (`ADM1`, `sector`…); cells outside every area of
    /// the level are counted only in `all`.
    Area(String),
}

impl GroupBy {
    /// `mission`, or a loaded area level (case-insensitive).
    pub fn parse(s: &str, areas: &[Area]) -> Option<GroupBy> {
        if s.eq_ignore_ascii_case("mission")
            && !areas.iter().any(|a| a.level.eq_ignore_ascii_case(s))
        {
            return Some(GroupBy::Mission);
        }
        areas
            .iter()
            .find(|a| a.level.eq_ignore_ascii_case(s))
            .map(|a| GroupBy::Area(a.level.clone()))
    }
}

/// One row of a coverage summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Snapshot date.
    pub date: String,
    /// `all`, a mission or an area name.
    pub unit: String,
    /// The fixed reach of every base (sensitivity runs), else `None`: reach by size.
    pub radius_km: Option<f64>,
    /// Cells.
    pub cells: i64,
    /// High or critical cells.
    pub high_cells: i64,
    /// Cells reached by a base with protection capacity.
    pub covered_cells: i64,
    /// Gap cells (high or critical, not covered).
    pub gap_cells: i64,
    /// Under-covered cells.
    pub under_covered_cells: i64,
    /// Residents (and displaced) of high or critical cells.
    pub population_high: f64,
    /// Residents (and displaced) of gap cells.
    pub population_in_gaps: f64,
    /// Civilian fatalities of the last 30 days.
    pub civilian_fatalities_30d: i64,
    /// Of which in gap cells.
    pub civilian_fatalities_30d_in_gaps: i64,
    /// Civilian fatalities of the last 90 days.
    pub civilian_fatalities_90d: i64,
    /// Of which in gap cells.
    pub civilian_fatalities_90d_in_gaps: i64,
    /// Share of cells flagged as gaps.
    pub gap_area_share: Option<f64>,
    /// Share of the 30-day civilian fatalities in gap cells.
    pub gap_hit_rate_30d: Option<f64>,
    /// Share of the 90-day civilian fatalities in gap cells.
    pub gap_hit_rate_90d: Option<f64>,
    /// Σ gap severity.
    pub gap_severity: f64,
}

impl Summary {
    /// The summary of `totals`.
    pub fn of(date: &str, unit: &str, radius_km: Option<f64>, t: &Totals) -> Summary {
        Summary {
            date: date.to_owned(),
            unit: unit.to_owned(),
            radius_km,
            cells: t.cells,
            high_cells: t.high_cells(),
            covered_cells: t.covered_cells,
            gap_cells: t.gap_cells,
            under_covered_cells: t.under_covered_cells,
            population_high: t.population_high,
            population_in_gaps: t.population_in_gaps,
            civilian_fatalities_30d: t.civilian_fatalities_30d,
            civilian_fatalities_30d_in_gaps: t.civilian_fatalities_30d_in_gaps,
            civilian_fatalities_90d: t.civilian_fatalities_90d,
            civilian_fatalities_90d_in_gaps: t.civilian_fatalities_90d_in_gaps,
            gap_area_share: t.gap_area_share(),
            gap_hit_rate_30d: t.gap_hit_rate(30),
            gap_hit_rate_90d: t.gap_hit_rate(90),
            gap_severity: t.gap_severity,
        }
    }
}

impl ReportRow for Summary {
    fn header() -> Vec<&'static str> {
        vec![
            "unit",
            "date",
            "radius_km",
            "cells",
            "high",
            "covered",
            "gaps",
            "under_covered",
            "pop_high",
            "pop_in_gaps",
            "civ_30d",
            "civ_30d_in_gaps",
            "civ_90d",
            "civ_90d_in_gaps",
            "gap_area_share",
            "hit_rate_30d",
            "hit_rate_90d",
            "gap_severity",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.unit.clone(),
            self.date.clone(),
            self.radius_km
                .map_or_else(|| "by size".to_owned(), |r| num(r, 1)),
            self.cells.to_string(),
            self.high_cells.to_string(),
            self.covered_cells.to_string(),
            self.gap_cells.to_string(),
            self.under_covered_cells.to_string(),
            num(self.population_high.round(), 0),
            num(self.population_in_gaps.round(), 0),
            self.civilian_fatalities_30d.to_string(),
            self.civilian_fatalities_30d_in_gaps.to_string(),
            self.civilian_fatalities_90d.to_string(),
            self.civilian_fatalities_90d_in_gaps.to_string(),
            share(self.gap_area_share),
            share(self.gap_hit_rate_30d),
            share(self.gap_hit_rate_90d),
            format!("{:.3}", self.gap_severity),
        ]
    }
}

/// Totals of `cells`: the whole grid first (`all`), then each unit of `by`, sorted by name.
pub fn totals(
    cells: &[CellRecord],
    by: &GroupBy,
    areas: &[Area],
    area_cells: &[AreaCell],
) -> Vec<(String, Totals)> {
    let mut all = Totals::default();
    for r in cells {
        all.add(r);
    }
    let mut out = vec![(ALL.to_owned(), all)];
    match by {
        GroupBy::Mission => {
            let mut map: BTreeMap<&str, Totals> = BTreeMap::new();
            for r in cells {
                map.entry(r.coverage.mission.as_deref().unwrap_or(NO_BASE))
                    .or_default()
                    .add(r);
            }
            out.extend(map.into_iter().map(|(m, t)| (m.to_owned(), t)));
        }
        GroupBy::Area(level) => {
            let mut units: Vec<(String, Totals)> = by_area(cells, level, areas, area_cells)
                .into_iter()
                .map(|u| {
                    let name = u.name.or(u.area_id).unwrap_or_default();
                    (name, u.totals)
                })
                .collect();
            units.sort_by(|a, b| a.0.cmp(&b.0));
            out.extend(units);
        }
    }
    out
}

/// The summary rows of one snapshot's cells.
pub fn summarise(
    date: &str,
    cells: &[CellRecord],
    by: &GroupBy,
    radius_km: Option<f64>,
    areas: &[Area],
    area_cells: &[AreaCell],
) -> Vec<Summary> {
    totals(cells, by, areas, area_cells)
        .iter()
        .map(|(unit, t)| Summary::of(date, unit, radius_km, t))
        .collect()
}

/// The summary of the snapshot as scored (reach by size), then of every base given each
/// radius of `radii` instead (protection capacity unchanged, no rainy-season reduction).
pub fn sensitivity(
    grid: &super::recompute::SnapshotGrid<'_>,
    date: &str,
    active: &[crate::coverage::ActiveBase<'_>],
    radii: &[f64],
    by: &GroupBy,
    areas: &[Area],
    area_cells: &[AreaCell],
) -> Vec<Summary> {
    let mut out = summarise(date, grid.cells, by, None, areas, area_cells);
    for r in radii {
        let fixed: Vec<crate::coverage::ActiveBase<'_>> = active
            .iter()
            .map(|b| crate::coverage::ActiveBase {
                radius_km: *r,
                reduced: false,
                ..b.clone()
            })
            .collect();
        let cells = grid.recompute(&fixed);
        out.extend(summarise(date, &cells, by, Some(*r), areas, area_cells));
    }
    out
}

/// The summaries of every stored snapshot dated `from..=to`: a time series.
pub fn series(
    store: &crate::store::Store,
    from: &str,
    to: &str,
    by: &GroupBy,
    areas: &[Area],
    area_cells: &[AreaCell],
) -> Result<Vec<Summary>, crate::coverage::CoverageError> {
    let dates: Vec<String> = store
        .manifest()
        .snapshots
        .range(from.to_owned()..=to.to_owned())
        .map(|(d, _)| d.clone())
        .collect();
    if dates.is_empty() {
        return Err(crate::coverage::CoverageError::NoSnapshots {
            from: from.to_owned(),
            to: to.to_owned(),
        });
    }
    // Two snapshots at a time on two cores, a few columns each; rows in date order.
    let per_date: Vec<Vec<Summary>> = dates
        .par_iter()
        .map(|d| {
            let cells = crate::store::snapshot::load_columns(
                store,
                d,
                &crate::store::snapshot::SUMMARY_COLUMNS,
            )?;
            Ok(summarise(d, &cells, by, None, areas, area_cells))
        })
        .collect::<Result<_, crate::coverage::CoverageError>>()?;
    Ok(per_date.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cell::Tier;

    fn cell(
        n: u64,
        mission: Option<&str>,
        tier: Tier,
        covered: bool,
        civ: (i64, i64),
    ) -> CellRecord {
        CellRecord {
            tier,
            coverage: crate::model::cell::CellCoverage {
                covered,
                mission: mission.map(Into::into),
                ..Default::default()
            },
            flags: crate::model::cell::Flags {
                gap: tier.is_high() && !covered,
                ..Default::default()
            },
            population: Some(100.0),
            civilian_fatalities_30d: civ.0,
            civilian_fatalities_90d: civ.1,
            ..CellRecord::quiet(n, (0.0, 0.0))
        }
    }

    #[test]
    fn hit_rate_is_the_share_of_deaths_in_gaps_against_the_share_of_area() {
        // Ten cells; one gap (high, uncovered) with 6 of the 10 deaths of the last 30 days
        // and 6 of the 20 of the last 90 days; one covered high cell with the rest.
        let mut cells: Vec<CellRecord> = (0..8)
            .map(|n| cell(n, Some("M"), Tier::Low, false, (0, 0)))
            .collect();
        cells.push(cell(8, Some("M"), Tier::Critical, false, (6, 6)));
        cells.push(cell(9, None, Tier::High, true, (4, 14)));
        let rows = summarise("2024-01-01", &cells, &GroupBy::Mission, None, &[], &[]);
        let all = &rows[0];
        assert_eq!(all.unit, ALL);
        assert_eq!((all.cells, all.high_cells, all.gap_cells), (10, 2, 1));
        assert_eq!(all.gap_area_share, Some(0.1));
        assert_eq!(all.gap_hit_rate_30d, Some(0.6));
        assert_eq!(all.gap_hit_rate_90d, Some(0.3));
        assert_eq!(all.population_in_gaps, 100.0);
        let units: Vec<&str> = rows.iter().map(|r| r.unit.as_str()).collect();
        assert_eq!(units, [ALL, NO_BASE, "M"]);
        assert_eq!(rows[2].gap_hit_rate_30d, Some(1.0));
        assert_eq!(rows[1].gap_hit_rate_30d, Some(0.0));
        let quiet = summarise("d", &cells[..8], &GroupBy::Mission, None, &[], &[]);
        assert_eq!(quiet[0].gap_hit_rate_30d, None, "no deaths: no rate");
    }
}
