//! What-if scenarios: bases added (a temporary operating base at a point, with troops and a
//! reach) or closed, applied to a snapshot in memory; the answer lists the cells whose
//! coverage changed and the summary deltas per mission.

use super::recompute::SnapshotGrid;
use super::report::{num, ReportRow};
use super::summary::{summarise, GroupBy, Summary};
use crate::config::CoverageConfig;
use crate::coverage::snapshot_bases;
use crate::coverage::{label, reach, ActiveBase};
use crate::grid::cell_of;
use crate::model::cell::CellRecord;
use crate::model::rows::Base;
use crate::store::snapshot::Snapshot;
use h3o::Resolution;
use serde::{Deserialize, Serialize};

/// Why a scenario cannot be evaluated: its file, one of its changes, or a base to close
/// that is not active.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A scenario file is not a valid scenario.
    #[error("{path} is not a valid scenario: {reason}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// A change of a scenario is invalid.
    #[error("scenario change {change}: invalid {field} `{value}`: {reason}")]
    Change {
        /// Which change.
        change: String,
        /// Which field.
        field: &'static str,
        /// What was given.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A base to close is not active on the date.
    #[error("no base `{name}` is active on {date}; active bases: {known}")]
    UnknownBase {
        /// What was asked.
        name: String,
        /// Snapshot date.
        date: String,
        /// The active bases.
        known: String,
    },
}

/// A proposed set of changes (a JSON or TOML file, or the body of a request).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Bases to open.
    #[serde(default)]
    pub add: Vec<NewBase>,
    /// Bases to close: `location` or `location (mission)` of a base active on the date.
    #[serde(default)]
    pub close: Vec<String>,
}

/// A base to open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBase {
    /// Its name.
    pub name: String,
    /// Latitude, WGS 84.
    pub lat: f64,
    /// Longitude, WGS 84.
    pub lon: f64,
    /// Troops (0: presence without protection capacity).
    pub troops: i64,
    /// Reach, km (default: by size, methodology §7).
    #[serde(default)]
    pub radius_km: Option<f64>,
    /// Mission (default: the mission of the nearest active base, else `new`).
    #[serde(default)]
    pub mission: Option<String>,
}

impl Scenario {
    /// Reads a scenario from a `.json` or `.toml` file.
    pub fn read(path: &std::path::Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |reason: String| ScenarioError::File {
            path: path.to_path_buf(),
            reason,
        };
        let is_toml = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        if is_toml {
            toml::from_str(&text).map_err(|e| bad(e.to_string()))
        } else {
            serde_json::from_str(&text).map_err(|e| bad(e.to_string()))
        }
    }

    /// Checks every change, naming the first invalid one.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        for (i, b) in self.add.iter().enumerate() {
            let bad = |field: &'static str, value: String, reason: &'static str| {
                Err(ScenarioError::Change {
                    change: format!("add[{i}] ({})", b.name),
                    field,
                    value,
                    reason,
                })
            };
            if !(-90.0..=90.0).contains(&b.lat) {
                return bad("lat", b.lat.to_string(), "latitude must be within -90..90");
            }
            if !(-180.0..=180.0).contains(&b.lon) {
                return bad(
                    "lon",
                    b.lon.to_string(),
                    "longitude must be within -180..180",
                );
            }
            if !(0..=crate::analysis::plan::MAX_TROOPS).contains(&b.troops) {
                return bad(
                    "troops",
                    b.troops.to_string(),
                    "troops must be within 0..=100000",
                );
            }
            if let Some(r) = b.radius_km {
                if !(r > 0.0 && r <= 200.0) {
                    return bad("radius_km", r.to_string(), "reach must be in (0, 200] km");
                }
            }
        }
        Ok(())
    }
}

/// The bases of a scenario: the snapshot's active bases minus the closed ones, plus the new
/// ones (owned here, since active bases borrow their rows).
#[derive(Debug)]
pub struct Applied<'a> {
    /// The snapshot's active bases.
    pub before: Vec<ActiveBase<'a>>,
    /// The rows of the new bases.
    pub new_rows: Vec<Base>,
    /// Indices into `before` of the closed bases.
    pub closed: Vec<usize>,
    /// Reach and protection of each new base.
    pub new_reach: Vec<(f64, bool)>,
}

impl<'a> Applied<'a> {
    /// Resolves `scenario` against the bases active on the snapshot's date.
    pub fn new(
        scenario: &Scenario,
        stored: &'a [Base],
        snap: &Snapshot,
        res: Resolution,
        cfg: &CoverageConfig,
    ) -> Result<Self, ScenarioError> {
        scenario.validate()?;
        let before = snapshot_bases(stored, snap, cfg);
        let mut closed = Vec::new();
        for name in &scenario.close {
            let hits: Vec<usize> = before
                .iter()
                .enumerate()
                .filter(|(_, b)| b.base.location == *name || label(b.base) == *name)
                .map(|(i, _)| i)
                .collect();
            if hits.is_empty() {
                let mut known: Vec<String> = before.iter().map(|b| label(b.base)).collect();
                known.sort();
                known.dedup();
                return Err(ScenarioError::UnknownBase {
                    name: name.clone(),
                    date: snap.date.clone(),
                    known: known.join(", "),
                });
            }
            closed.extend(hits);
        }
        let date = crate::model::day::parse_iso_date(&snap.date).unwrap_or(0);
        let mut new_rows = Vec::new();
        let mut new_reach = Vec::new();
        for b in &scenario.add {
            let cell =
                cell_of(b.lat, b.lon, res)
                    .map(u64::from)
                    .map_err(|_| ScenarioError::Change {
                        change: format!("add ({})", b.name),
                        field: "lat/lon",
                        value: format!("{}, {}", b.lat, b.lon),
                        reason: "not a position on the grid",
                    })?;
            let mission = b.mission.clone().unwrap_or_else(|| {
                nearest_mission(&before, (b.lat, b.lon)).unwrap_or_else(|| "new".into())
            });
            let row = Base::at(
                &mission,
                &b.name,
                (b.lat, b.lon),
                cell,
                (date, date),
                Some(b.troops),
            );
            let (by_size, protects) = reach(&row, cfg);
            new_reach.push((b.radius_km.unwrap_or(by_size), protects));
            new_rows.push(row);
        }
        Ok(Applied {
            before,
            new_rows,
            closed,
            new_reach,
        })
    }

    /// The active bases after the changes.
    pub fn after(&self) -> Vec<ActiveBase<'_>> {
        let mut out: Vec<ActiveBase<'_>> = self
            .before
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.closed.contains(i))
            .map(|(_, b)| b.clone())
            .collect();
        let first = self.before.iter().map(|b| b.index + 1).max().unwrap_or(0);
        for (k, (row, (radius_km, protects))) in
            self.new_rows.iter().zip(&self.new_reach).enumerate()
        {
            out.push(ActiveBase {
                base: row,
                index: first + k,
                reduced: false,
                radius_km: *radius_km,
                protects: *protects,
            });
        }
        out
    }
}

fn nearest_mission(bases: &[ActiveBase<'_>], at: (f64, f64)) -> Option<String> {
    bases
        .iter()
        .map(|b| (crate::grid::distance_km(at, (b.base.lat, b.base.lon)), b))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, b)| b.base.mission.clone())
}

/// A cell whose coverage the scenario changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangedCell {
    /// H3 index.
    pub h3: String,
    /// Centre latitude.
    pub lat: f64,
    /// Centre longitude.
    pub lon: f64,
    /// Area name.
    pub area: Option<String>,
    /// Tier (unchanged by coverage).
    pub tier: String,
    /// Risk (unchanged).
    pub risk: f64,
    /// Residents and displaced.
    pub people: f64,
    /// Covered before → after.
    pub covered: [bool; 2],
    /// Gap before → after.
    pub gap: [bool; 2],
    /// Under-covered before → after.
    pub under_covered: [bool; 2],
    /// Troops in reach before → after.
    pub troops_in_reach: [i64; 2],
    /// Gap severity before → after.
    pub gap_severity: [f64; 2],
    /// Nearest base after.
    pub nearest_base: Option<String>,
}

impl ReportRow for ChangedCell {
    fn header() -> Vec<&'static str> {
        vec![
            "h3",
            "area",
            "tier",
            "risk",
            "people",
            "covered",
            "gap",
            "under_covered",
            "troops_in_reach",
            "nearest_base",
        ]
    }

    fn cells(&self) -> Vec<String> {
        let pair =
            |a: &dyn ToString, b: &dyn ToString| format!("{}→{}", a.to_string(), b.to_string());
        vec![
            self.h3.clone(),
            self.area.clone().unwrap_or_default(),
            self.tier.clone(),
            format!("{:.3}", self.risk),
            num(self.people.round(), 0),
            pair(&self.covered[0], &self.covered[1]),
            pair(&self.gap[0], &self.gap[1]),
            pair(&self.under_covered[0], &self.under_covered[1]),
            pair(&self.troops_in_reach[0], &self.troops_in_reach[1]),
            self.nearest_base.clone().unwrap_or_default(),
        ]
    }
}

/// The change of a unit's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryDelta {
    /// `all` or a mission.
    pub unit: String,
    /// Δ covered cells.
    pub covered_cells: i64,
    /// Δ gap cells.
    pub gap_cells: i64,
    /// Δ under-covered cells.
    pub under_covered_cells: i64,
    /// Δ residents of gap cells.
    pub population_in_gaps: f64,
    /// Δ civilian fatalities of the last 30 days in gap cells.
    pub civilian_fatalities_30d_in_gaps: i64,
    /// Δ civilian fatalities of the last 90 days in gap cells.
    pub civilian_fatalities_90d_in_gaps: i64,
    /// Δ Σ gap severity.
    pub gap_severity: f64,
}

impl SummaryDelta {
    /// `after − before`.
    pub fn between(before: &Summary, after: &Summary) -> SummaryDelta {
        SummaryDelta {
            unit: after.unit.clone(),
            covered_cells: after.covered_cells - before.covered_cells,
            gap_cells: after.gap_cells - before.gap_cells,
            under_covered_cells: after.under_covered_cells - before.under_covered_cells,
            population_in_gaps: after.population_in_gaps - before.population_in_gaps,
            civilian_fatalities_30d_in_gaps: after.civilian_fatalities_30d_in_gaps
                - before.civilian_fatalities_30d_in_gaps,
            civilian_fatalities_90d_in_gaps: after.civilian_fatalities_90d_in_gaps
                - before.civilian_fatalities_90d_in_gaps,
            gap_severity: after.gap_severity - before.gap_severity,
        }
    }
}

impl ReportRow for SummaryDelta {
    fn header() -> Vec<&'static str> {
        vec![
            "unit",
            "Δcovered",
            "Δgaps",
            "Δunder_covered",
            "Δpop_in_gaps",
            "Δciv_30d_in_gaps",
            "Δciv_90d_in_gaps",
            "Δgap_severity",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.unit.clone(),
            self.covered_cells.to_string(),
            self.gap_cells.to_string(),
            self.under_covered_cells.to_string(),
            num(self.population_in_gaps.round(), 0),
            self.civilian_fatalities_30d_in_gaps.to_string(),
            self.civilian_fatalities_90d_in_gaps.to_string(),
            format!("{:.3}", self.gap_severity),
        ]
    }
}

/// The answer to a scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Snapshot date.
    pub date: String,
    /// The changes applied.
    pub scenario: Scenario,
    /// Summaries per mission before.
    pub before: Vec<Summary>,
    /// After.
    pub after: Vec<Summary>,
    /// After − before, per unit of `after` (a unit absent before counts from zero).
    pub delta: Vec<SummaryDelta>,
    /// Cells whose coverage, gap flags or troops in reach changed.
    pub changed: Vec<ChangedCell>,
}

/// Applies `scenario` to the snapshot prepared in `grid`.
pub fn evaluate(
    grid: &SnapshotGrid<'_>,
    snap: &Snapshot,
    scenario: &Scenario,
    stored: &[Base],
    cfg: &CoverageConfig,
) -> Result<Outcome, ScenarioError> {
    let applied = Applied::new(scenario, stored, snap, grid.res, cfg)?;
    let before_cells: &[CellRecord] = grid.cells;
    let after_cells = grid.recompute(&applied.after());
    Ok(compare(&snap.date, scenario, before_cells, &after_cells))
}

/// The outcome of going from `before` to `after` (same cells, same order).
pub fn compare(
    date: &str,
    scenario: &Scenario,
    before: &[CellRecord],
    after: &[CellRecord],
) -> Outcome {
    let by = GroupBy::Mission;
    let sb = summarise(date, before, &by, None, &[], &[]);
    let sa = summarise(date, after, &by, None, &[], &[]);
    let delta = sa
        .iter()
        .map(|a| {
            let zero = Summary::of(date, &a.unit, None, &Default::default());
            let b = sb.iter().find(|b| b.unit == a.unit).unwrap_or(&zero);
            SummaryDelta::between(b, a)
        })
        .collect();
    let changed = before
        .iter()
        .zip(after)
        .filter(|(b, a)| {
            b.coverage.covered != a.coverage.covered
                || b.coverage.presence != a.coverage.presence
                || b.flags.gap != a.flags.gap
                || b.flags.under_covered != a.flags.under_covered
                || b.coverage.troops_in_reach != a.coverage.troops_in_reach
        })
        .map(|(b, a)| ChangedCell {
            h3: crate::grid::cell_from_u64(a.cell)
                .map(|c| c.to_string())
                .unwrap_or_default(),
            lat: a.lat,
            lon: a.lon,
            area: a.area.as_deref().map(str::to_owned),
            tier: a.tier.as_str().to_owned(),
            risk: a.risk,
            people: a.population.unwrap_or(0.0) + a.displaced,
            covered: [b.coverage.covered, a.coverage.covered],
            gap: [b.flags.gap, a.flags.gap],
            under_covered: [b.flags.under_covered, a.flags.under_covered],
            troops_in_reach: [b.coverage.troops_in_reach, a.coverage.troops_in_reach],
            gap_severity: [b.flags.gap_severity, a.flags.gap_severity],
            nearest_base: a.coverage.nearest_base.as_deref().map(str::to_owned),
        })
        .collect();
    Outcome {
        date: date.to_owned(),
        scenario: scenario.clone(),
        before: sb,
        after: sa,
        delta,
        changed,
    }
}
