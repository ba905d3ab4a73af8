//! Coverage analyses: `vigil coverage`, `vigil responsiveness`, `vigil scenario`,
//! `vigil plan` and `vigil outside-reach`.

use super::{date_arg, Context, Error};
use crate::analysis::outside_reach::ReachRow;
use crate::analysis::plan::{Plan, PlanOptions};
use crate::analysis::recompute::SnapshotGrid;
use crate::analysis::responsiveness::{Episode, Responsiveness};
use crate::analysis::scenario::{Outcome, Scenario};
use crate::analysis::summary::{self, GroupBy, Summary};
use crate::config::Config;
use crate::coverage::{snapshot_bases, CoverageError};
use crate::model::day::format_date;
use crate::model::rows::{Area, AreaCell, Base, Event};
use crate::store::snapshot::Snapshot;
use crate::store::Store;
use std::path::Path;

/// The grouping `--by` names (default: mission).
fn group_by(by: Option<&str>, areas: &[Area]) -> Result<GroupBy, Error> {
    let Some(by) = by else {
        return Ok(GroupBy::Mission);
    };
    GroupBy::parse(by, areas).ok_or_else(|| {
        let mut levels: Vec<&str> = areas.iter().map(|a| a.level.as_str()).collect();
        levels.sort_unstable();
        levels.dedup();
        CoverageError::UnknownGrouping {
            by: by.to_owned(),
            levels: if levels.is_empty() {
                "none loaded".into()
            } else {
                levels.join(", ")
            },
        }
        .into()
    })
}

/// What `vigil coverage` reports.
#[derive(Debug, Clone, Default)]
pub struct CoverageRequest<'a> {
    /// One snapshot (default: the latest).
    pub date: Option<&'a str>,
    /// Or every stored snapshot of a range: a time series.
    pub range: Option<(&'a str, &'a str)>,
    /// `mission` (default) or a loaded area level.
    pub by: Option<&'a str>,
    /// Fixed reach radii to compare (sensitivity).
    pub radii: Vec<f64>,
}

/// `vigil coverage [--date D | --from D1 --to D2] [--by L] [--radii R,…]`: one summary per
/// unit (and per snapshot of a range, or per radius).
pub fn coverage(ctx: &Context, req: &CoverageRequest<'_>) -> Result<Vec<Summary>, Error> {
    for (p, d) in [
        ("--date", req.date),
        ("--from", req.range.map(|r| r.0)),
        ("--to", req.range.map(|r| r.1)),
    ] {
        if let Some(d) = d {
            date_arg(p, d)?;
        }
    }
    if let Some(r) = req.radii.iter().find(|r| !(**r > 0.0 && **r <= 200.0)) {
        return Err(Error::Argument {
            parameter: "--radii",
            value: r.to_string(),
            reason: "each radius must be in (0, 200] km",
        });
    }
    let (config, store) = ctx.load()?;
    let areas: Vec<Area> = store.read()?;
    let area_cells: Vec<AreaCell> = store.read()?;
    let by = group_by(req.by, &areas)?;
    if let Some((from, to)) = req.range {
        return Ok(summary::series(&store, from, to, &by, &areas, &area_cells)?);
    }
    let snap = Snapshot::load(&store, req.date)?;
    let bases: Vec<Base> = store.read()?;
    let grid = snapshot_grid(&store, &config, &snap)?;
    let active = snapshot_bases(&bases, &snap, &config.coverage);
    Ok(summary::sensitivity(
        &grid,
        &snap.date,
        &active,
        &req.radii,
        &by,
        &areas,
        &area_cells,
    ))
}

/// The snapshot prepared for recomputing coverage.
fn snapshot_grid<'a>(
    store: &Store,
    config: &Config,
    snap: &'a Snapshot,
) -> Result<SnapshotGrid<'a>, Error> {
    Ok(SnapshotGrid::new(
        &snap.cells,
        store_resolution(store)?,
        &config.coverage,
    ))
}

fn store_resolution(store: &Store) -> Result<h3o::Resolution, Error> {
    Ok(crate::grid::resolution(store.manifest().resolution).map_err(CoverageError::Grid)?)
}

/// What `vigil responsiveness` found.
#[derive(Debug, Clone)]
pub struct ResponsivenessReport {
    /// Snapshots read.
    pub snapshots: usize,
    /// First and last day asked.
    pub from: String,
    /// Last day asked.
    pub to: String,
    /// Each cell's spells in high or critical.
    pub episodes: Vec<Episode>,
    /// Per mission and year, per mission, and all.
    pub rows: Vec<Responsiveness>,
}

/// `vigil responsiveness --from D1 --to D2`
pub fn responsiveness(ctx: &Context, from: &str, to: &str) -> Result<ResponsivenessReport, Error> {
    let (from, to) = (date_arg("--from", from)?, date_arg("--to", to)?);
    if to < from {
        return Err(Error::Argument {
            parameter: "--to",
            value: format_date(to),
            reason: "the range ends before it starts",
        });
    }
    let (_, store) = ctx.load()?;
    let (episodes, snapshots) = crate::analysis::responsiveness::episodes(&store, from, to)?;
    let rows = crate::analysis::responsiveness::table(&episodes);
    Ok(ResponsivenessReport {
        snapshots,
        from: format_date(from),
        to: format_date(to),
        episodes,
        rows,
    })
}

/// `vigil scenario FILE [--date D]`: the snapshot before and after the changes.
pub fn scenario(ctx: &Context, file: &Path, date: Option<&str>) -> Result<Outcome, Error> {
    if let Some(d) = date {
        date_arg("--date", d)?;
    }
    let scenario = Scenario::read(file)?;
    let (config, store) = ctx.load()?;
    let snap = Snapshot::load(&store, date)?;
    let bases: Vec<Base> = store.read()?;
    let grid = snapshot_grid(&store, &config, &snap)?;
    Ok(crate::analysis::scenario::evaluate(
        &grid,
        &snap,
        &scenario,
        &bases,
        &config.coverage,
    )?)
}

/// What `vigil plan` places.
#[derive(Debug, Clone, Copy)]
pub struct PlanRequest<'a> {
    /// Snapshot date (default: the latest).
    pub date: Option<&'a str>,
    /// Sites.
    pub k: usize,
    /// Reach of each new base, km (default: the post radius).
    pub radius_km: Option<f64>,
    /// Troops of each new base.
    pub troops: i64,
}

/// What `vigil plan` proposed, with the options it ran with.
#[derive(Debug, Clone)]
pub struct PlanReport {
    /// The options (the request's, with the configured reach when none was given).
    pub options: PlanOptions,
    /// The sites.
    pub plan: Plan,
}

/// `vigil plan --k N [--date D] [--radius-km R] [--troops T]`; the request is validated by
/// [`PlanOptions::new`], as `POST /plan` is.
pub fn plan(ctx: &Context, req: &PlanRequest<'_>) -> Result<PlanReport, Error> {
    if let Some(d) = req.date {
        date_arg("--date", d)?;
    }
    let (config, store) = ctx.load()?;
    let options = PlanOptions::new(
        req.k,
        req.radius_km.unwrap_or(config.coverage.post_radius_km),
        req.troops,
    )
    .map_err(|e| Error::Argument {
        parameter: match e.parameter {
            "k" => "--k",
            "radius_km" => "--radius-km",
            _ => "--troops",
        },
        value: e.value,
        reason: e.reason,
    })?;
    let snap = Snapshot::load(&store, req.date)?;
    let grid = snapshot_grid(&store, &config, &snap)?;
    let plan = crate::analysis::plan::plan(&grid, &snap.date, &options);
    Ok(PlanReport { options, plan })
}

/// `vigil outside-reach --from D1 --to D2 [--mission M]`: per year, civilian deaths outside
/// every base's reach.
pub fn outside_reach(
    ctx: &Context,
    from: &str,
    to: &str,
    mission: Option<&str>,
) -> Result<Vec<ReachRow>, Error> {
    let (from, to) = (date_arg("--from", from)?, date_arg("--to", to)?);
    let (config, store) = ctx.load()?;
    let events: Vec<Event> = store.read()?;
    let mut bases: Vec<Base> = store.read()?;
    if let Some(m) = mission {
        bases.retain(|b| b.mission.eq_ignore_ascii_case(m));
        if bases.is_empty() {
            return Err(Error::Argument {
                parameter: "--mission",
                value: m.to_owned(),
                reason: "no base of this mission is stored",
            });
        }
    }
    Ok(crate::analysis::outside_reach::outside_reach(
        &events,
        &bases,
        &config.coverage,
        from,
        to,
    ))
}
