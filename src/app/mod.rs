//! One library function per command of the `vigil` binary; `main.rs` only parses arguments.

use crate::analysis::recompute::SnapshotGrid;
use crate::analysis::report::{render, ReportFormat};
use crate::analysis::scenario::Scenario;
use crate::analysis::summary::{self, GroupBy};
use crate::config::{Config, ConfigError};
use crate::coverage::snapshot_bases;
use crate::coverage::CoverageError;
use crate::ingest::{self, IngestError, IngestOptions, Kind};
use crate::model::day::parse_iso_date;
use crate::output::export::{self, ExportError, Format, What};
use crate::risk::{self, ScoreError};
use crate::server::{self, ServeError};
use crate::store::lock::LockOptions;
use crate::store::snapshot::Snapshot;
use crate::store::{GcReport, IngestRecord, SnapshotInfo, Store, StoreError};
use crate::synthetic::sample::{self, SampleError};
use std::path::{Path, PathBuf};

/// Any error a command can end with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Ingest.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// Store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Scoring.
    #[error(transparent)]
    Score(#[from] ScoreError),
    /// Export.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// Server.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// Sample generation.
    #[error(transparent)]
    Sample(#[from] SampleError),
    /// Backtest.
    #[error(transparent)]
    Backtest(#[from] crate::evaluation::BacktestError),
    /// Coverage analyses.
    #[error(transparent)]
    Coverage(#[from] crate::coverage::CoverageError),
    /// Synthetic benchmark store.
    #[error(transparent)]
    Synthetic(#[from] crate::synthetic::SyntheticError),
    /// A command-line value is invalid.
    #[error("invalid {parameter} `{value}`: {reason}")]
    Argument {
        /// The flag or argument.
        parameter: &'static str,
        /// What was given.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The server's health check failed.
    #[error("unhealthy: {0}")]
    Unhealthy(String),
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

/// Where the store and configuration are, and how a writer waits for the store's lock.
#[derive(Debug, Clone)]
pub struct Context {
    /// Store folder.
    pub store: PathBuf,
    /// Configuration file, if any.
    pub config: Option<PathBuf>,
    /// How a writing command waits for another writer (`--lock-timeout`, `--no-wait`).
    pub lock: LockOptions,
}

impl Context {
    /// A context with the default lock behaviour (wait up to 10 minutes).
    pub fn new(store: impl Into<PathBuf>, config: Option<PathBuf>) -> Self {
        Self {
            store: store.into(),
            config,
            lock: LockOptions::default(),
        }
    }

    /// The configuration and the store opened for reading (no lock).
    fn load(&self) -> Result<(Config, Store), Error> {
        let config = Config::load(self.config.as_deref())?;
        let store = Store::open(&self.store, config.grid.resolution)?;
        Ok((config, store))
    }

    /// Runs a writing command: takes the store's writer lock, reads the manifest under it,
    /// runs `f`, then collects what no reader needs any more (the lock is released when
    /// the store is dropped).
    fn write<T>(
        &self,
        f: impl FnOnce(&Config, &mut Store) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let config = Config::load(self.config.as_deref())?;
        let mut store = Store::open_writer(&self.store, config.grid.resolution, &self.lock)?;
        let out = f(&config, &mut store)?;
        collect_garbage(&mut store, &config);
        Ok(out)
    }
}

/// The garbage collection at the end of every writer: failures are logged, never fatal
/// (the data are committed).
fn collect_garbage(store: &mut Store, config: &Config) {
    let grace = std::time::Duration::from_secs(config.store.gc_grace_secs);
    match store.gc(grace, false) {
        Ok(r) if !r.removed.is_empty() => {
            tracing::info!(
                removed = r.removed.len(),
                kept = r.kept.len(),
                "garbage collected"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "garbage collection failed; `vigil gc` retries"),
    }
}

/// `vigil gc [--dry-run] [--grace SECS]`: removes leftover temporary files, data files no
/// manifest named and retired files older than the grace period.
pub fn gc(ctx: &Context, grace: Option<u64>, dry_run: bool) -> Result<GcReport, Error> {
    let config = Config::load(ctx.config.as_deref())?;
    let mut store = Store::open_writer(&ctx.store, config.grid.resolution, &ctx.lock)?;
    let grace = std::time::Duration::from_secs(grace.unwrap_or(config.store.gc_grace_secs));
    Ok(store.gc(grace, dry_run)?)
}

/// The report of `vigil gc`.
pub fn gc_report(r: &GcReport, dry_run: bool) -> String {
    let verb = if dry_run { "would remove" } else { "removed" };
    let bytes: u64 = r.removed.iter().map(|(_, _, n)| n).sum();
    let mut s = format!(
        "{verb} {} files ({bytes} bytes); {} retired files kept for their grace period\n",
        r.removed.len(),
        r.kept.len()
    );
    for (file, kind, n) in &r.removed {
        s.push_str(&format!("  {verb} {file} ({}, {n} bytes)\n", kind.as_str()));
    }
    s
}

fn date_arg(parameter: &'static str, value: &str) -> Result<i32, Error> {
    parse_iso_date(value).ok_or_else(|| Error::Argument {
        parameter,
        value: value.to_owned(),
        reason: "expected a calendar date YYYY-MM-DD",
    })
}

/// A human-readable ingest report.
pub fn report(r: &IngestRecord) -> String {
    let mut s = format!(
        "{}: {} rows read, {} accepted, {} rejected, {} already stored",
        r.file, r.rows_read, r.accepted, r.rejected, r.duplicates
    );
    if r.duplicates_in_file > 0 {
        s.push_str(&format!(
            "\n  {} rows repeat the id of an earlier row of the same file (the later one is kept)",
            r.duplicates_in_file
        ));
    }
    for w in &r.warnings {
        s.push_str(&format!("\n  warning: {w}"));
    }
    for (reason, n) in &r.rejects_by_reason {
        s.push_str(&format!("\n  rejected ({reason}): {n}"));
    }
    if r.combined > 0 {
        s.push_str(&format!(
            "\n  {} rows combined with another row of the same map and location (units summed)",
            r.combined
        ));
    }
    if r.linked > 0 {
        s.push_str(&format!(
            "\n  {} events in the store are another source's record of the same incident (counted once)",
            r.linked
        ));
    }
    if r.superseded > 0 {
        s.push_str(&format!(
            "\n  {} UCDP Candidate events superseded by the final GED release",
            r.superseded
        ));
    }
    if let Some(f) = &r.rejects_file {
        s.push_str(&format!("\n  every rejected row: {f} (in the store)"));
    }
    if let Some([a, b]) = &r.date_range {
        s.push_str(&format!("\n  dates {a} to {b}"));
    }
    if let Some(b) = r.bbox {
        s.push_str(&format!(
            "\n  extent lon {:.4}..{:.4}, lat {:.4}..{:.4}",
            b[0], b[2], b[1], b[3]
        ));
    }
    s
}

/// `vigil ingest KIND PATH`
pub fn ingest(
    ctx: &Context,
    kind: Kind,
    path: &Path,
    opts: &IngestOptions,
) -> Result<IngestRecord, Error> {
    ctx.write(|config, store| Ok(ingest::ingest_file(store, config, kind, path, opts)?))
}

/// `vigil score [--date D]`
pub fn score(ctx: &Context, date: Option<&str>) -> Result<(String, SnapshotInfo), Error> {
    let date = date.map(|d| date_arg("--date", d)).transpose()?;
    ctx.write(|config, store| Ok(risk::score_day(store, config, date)?))
}

/// `vigil score --from D1 --to D2 [--every N]`: one snapshot per day of the range, with a
/// progress bar.
pub fn score_range(
    ctx: &Context,
    from: &str,
    to: &str,
    every: u32,
) -> Result<Vec<(String, SnapshotInfo)>, Error> {
    let (from, to) = (date_arg("--from", from)?, date_arg("--to", to)?);
    let days = risk::days(from, to, every)?;
    ctx.write(|config, store| Ok(risk::score_range(store, config, &days)?))
}

/// `vigil normalise --from D1 --to D2 [--every N]` (or `--reset`): fixes the reference levels
/// later snapshots are scored with.
pub fn normalise(ctx: &Context, range: Option<(&str, &str)>, every: u32) -> Result<String, Error> {
    let range = range
        .map(|(from, to)| Ok::<_, Error>((date_arg("--from", from)?, date_arg("--to", to)?)))
        .transpose()?;
    ctx.write(|config, store| {
        let Some((from, to)) = range else {
            store.set_normalisation(None)?;
            let n = crate::model::params::Normalisation::defaults(&config.score);
            return Ok(normalisation_summary(&n));
        };
        let n = risk::normalise(store, config, from, to, every)?;
        Ok(normalisation_summary(&n))
    })
}

/// The reference levels, one line.
pub fn normalisation_summary(n: &crate::model::params::Normalisation) -> String {
    format!(
        "normalisation ({}): H {:.4}, C {:.4}, S {:.4}, trend {:.4}",
        n.basis, n.harm, n.conflict, n.spread, n.trend
    )
}

/// `vigil explain H3 [--date D] [--top N]`
pub fn explain(ctx: &Context, h3: &str, date: Option<&str>, top: usize) -> Result<String, Error> {
    if let Some(d) = date {
        date_arg("--date", d)?;
    }
    let cell = crate::grid::parse_cell(h3).map_err(|_| Error::Argument {
        parameter: "cell",
        value: h3.to_owned(),
        reason: "expected an H3 cell index such as 876b8ea03ffffff",
    })?;
    let (config, store) = ctx.load()?;
    let explanation = crate::risk::explain::explain(&store, &config, u64::from(cell), date)?;
    Ok(explanation.report(top))
}

/// A one-line summary of a snapshot.
pub fn snapshot_summary(date: &str, info: &SnapshotInfo) -> String {
    format!(
        "snapshot {date}: {} cells; low {}, moderate {}, elevated {}, high {}, critical {}; {} coverage-gap cells{}",
        info.cells,
        info.tiers[0],
        info.tiers[1],
        info.tiers[2],
        info.tiers[3],
        info.tiers[4],
        info.gaps,
        if info.exposure_neutral {
            " (no population data: exposure neutral)"
        } else {
            ""
        }
    )
}

/// `vigil export WHAT --format F [--date D] [--level L] [--out PATH]`
pub fn export(
    ctx: &Context,
    what: What,
    date: Option<&str>,
    level: Option<&str>,
    format: Format,
    out: Option<&Path>,
) -> Result<usize, Error> {
    if let Some(d) = date {
        date_arg("--date", d)?;
    }
    let (_, store) = ctx.load()?;
    Ok(export::export(&store, what, date, level, format, out)?)
}

/// The grouping `--by` names (default: mission).
fn group_by(by: Option<&str>, areas: &[crate::model::rows::Area]) -> Result<GroupBy, Error> {
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

/// `vigil coverage [--date D | --from D1 --to D2] [--by L] [--radii R,…] [--format F]`
pub fn coverage(
    ctx: &Context,
    req: &CoverageRequest<'_>,
    format: ReportFormat,
) -> Result<String, Error> {
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
    let areas: Vec<crate::model::rows::Area> = store.read()?;
    let area_cells: Vec<crate::model::rows::AreaCell> = store.read()?;
    let by = group_by(req.by, &areas)?;
    let rows = if let Some((from, to)) = req.range {
        summary::series(&store, from, to, &by, &areas, &area_cells)?
    } else {
        let snap = Snapshot::load(&store, req.date)?;
        let bases: Vec<crate::model::rows::Base> = store.read()?;
        let grid = SnapshotGrid::new(
            &snap.cells,
            store_resolution(&store)?,
            config.coverage.min_troops_per_1000,
        );
        let active = snapshot_bases(&bases, &snap, &config.coverage);
        summary::sensitivity(
            &grid,
            &snap.date,
            &active,
            &req.radii,
            &by,
            &areas,
            &area_cells,
        )
    };
    Ok(render(&rows, format)?)
}

fn store_resolution(store: &Store) -> Result<h3o::Resolution, Error> {
    Ok(crate::grid::resolution(store.manifest().resolution).map_err(CoverageError::Grid)?)
}

/// `vigil responsiveness --from D1 --to D2 [--format F]`
pub fn responsiveness(
    ctx: &Context,
    from: &str,
    to: &str,
    format: ReportFormat,
) -> Result<String, Error> {
    let (from, to) = (date_arg("--from", from)?, date_arg("--to", to)?);
    if to < from {
        return Err(Error::Argument {
            parameter: "--to",
            value: crate::model::day::format_date(to),
            reason: "the range ends before it starts",
        });
    }
    let (_, store) = ctx.load()?;
    let (episodes, snapshots) = crate::analysis::responsiveness::episodes(&store, from, to)?;
    let rows = crate::analysis::responsiveness::table(&episodes);
    let mut out = String::new();
    if format == ReportFormat::Table {
        out.push_str(&format!(
            "{} snapshots {}..{}: {} cells entered high or critical\n",
            snapshots,
            crate::model::day::format_date(from),
            crate::model::day::format_date(to),
            episodes.len()
        ));
    }
    out.push_str(&render(&rows, format)?);
    Ok(out)
}

/// `vigil scenario FILE [--date D] [--format F]`
pub fn scenario(
    ctx: &Context,
    file: &Path,
    date: Option<&str>,
    format: ReportFormat,
) -> Result<String, Error> {
    if let Some(d) = date {
        date_arg("--date", d)?;
    }
    let scenario = Scenario::read(file)?;
    let (config, store) = ctx.load()?;
    let snap = Snapshot::load(&store, date)?;
    let bases: Vec<crate::model::rows::Base> = store.read()?;
    let grid = SnapshotGrid::new(
        &snap.cells,
        store_resolution(&store)?,
        config.coverage.min_troops_per_1000,
    );
    let outcome =
        crate::analysis::scenario::evaluate(&grid, &snap, &scenario, &bases, &config.coverage)?;
    Ok(match format {
        ReportFormat::Json => serde_json::to_string_pretty(&outcome)
            .map_err(|e| CoverageError::Render(e.to_string()))?,
        ReportFormat::Csv => render(&outcome.changed, format)?,
        ReportFormat::Table => format!(
            "scenario on {}: {} bases opened, {} closed; {} cells change\n\nsummary deltas (after − before):\n{}\nchanged cells:\n{}",
            outcome.date,
            scenario.add.len(),
            scenario.close.len(),
            outcome.changed.len(),
            render(&outcome.delta, format)?,
            render(&outcome.changed, format)?
        ),
    })
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

/// `vigil plan --k N [--date D] [--radius-km R] [--troops T] [--format F]`
pub fn plan(ctx: &Context, req: &PlanRequest<'_>, format: ReportFormat) -> Result<String, Error> {
    if let Some(d) = req.date {
        date_arg("--date", d)?;
    }
    if req.k == 0 {
        return Err(Error::Argument {
            parameter: "--k",
            value: "0".into(),
            reason: "ask for at least one site",
        });
    }
    let (config, store) = ctx.load()?;
    let radius_km = req.radius_km.unwrap_or(config.coverage.post_radius_km);
    if !(radius_km > 0.0 && radius_km <= 200.0) {
        return Err(Error::Argument {
            parameter: "--radius-km",
            value: radius_km.to_string(),
            reason: "the reach must be in (0, 200] km",
        });
    }
    let snap = Snapshot::load(&store, req.date)?;
    let grid = SnapshotGrid::new(
        &snap.cells,
        store_resolution(&store)?,
        config.coverage.min_troops_per_1000,
    );
    let opts = crate::analysis::plan::PlanOptions {
        k: req.k,
        radius_km,
        troops: req.troops,
    };
    let p = crate::analysis::plan::plan(&grid, &snap.date, &opts);
    Ok(match format {
        ReportFormat::Json => {
            serde_json::to_string_pretty(&p).map_err(|e| CoverageError::Render(e.to_string()))?
        }
        ReportFormat::Csv => render(&p.sites, format)?,
        ReportFormat::Table => format!(
            "plan on {}: {:.0} {} in {} gap cells; {} sites of {} km reach, {} troops\n{}{:.0} {} still in gaps{}\n",
            p.date,
            p.demand,
            p.unit,
            p.demand_cells,
            p.sites.len(),
            radius_km,
            req.troops,
            render(&p.sites, format)?,
            p.remaining,
            p.unit,
            if p.sites.len() < req.k {
                format!(" (only {} sites add anything)", p.sites.len())
            } else {
                String::new()
            }
        ),
    })
}

/// `vigil outside-reach --from D1 --to D2 [--mission M] [--format F]`
pub fn outside_reach(
    ctx: &Context,
    from: &str,
    to: &str,
    mission: Option<&str>,
    format: ReportFormat,
) -> Result<String, Error> {
    let (from, to) = (date_arg("--from", from)?, date_arg("--to", to)?);
    let (config, store) = ctx.load()?;
    let events: Vec<crate::model::rows::Event> = store.read()?;
    let mut bases: Vec<crate::model::rows::Base> = store.read()?;
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
    let rows =
        crate::analysis::outside_reach::outside_reach(&events, &bases, &config.coverage, from, to);
    Ok(render(&rows, format)?)
}

/// What `vigil backtest` was asked.
#[derive(Debug, Clone, Copy)]
pub struct BacktestRequest<'a> {
    /// First origin, YYYY-MM-DD.
    pub from: &'a str,
    /// Last origin, YYYY-MM-DD.
    pub to: &'a str,
    /// Days between origins.
    pub step: u32,
    /// Horizons, days.
    pub horizons: &'a [u32],
    /// Last day of the tuning window, YYYY-MM-DD.
    pub tune_until: Option<&'a str>,
    /// Folder for results.json, results.md and the figures.
    pub out: Option<&'a Path>,
}

/// `vigil backtest --from D1 --to D2 [--step N] --horizon H… [--tune-until D] [--out DIR]`:
/// writes `results.json`, `results.md` and the SVG figures into DIR (when given) and
/// returns the Markdown report.
pub fn backtest(ctx: &Context, req: &BacktestRequest<'_>) -> Result<String, Error> {
    let (from, to) = (date_arg("--from", req.from)?, date_arg("--to", req.to)?);
    let tune_until = req
        .tune_until
        .map(|t| date_arg("--tune-until", t))
        .transpose()?;
    let (config, store) = ctx.load()?;
    let opts = crate::evaluation::BacktestOptions {
        from,
        to,
        step: req.step,
        horizons: req.horizons.to_vec(),
        tune_until,
    };
    let result = crate::evaluation::run(&store, &config, &opts)?;
    let report = backtest_report(&result);
    if let Some(dir) = req.out {
        let io = |source| {
            Error::Store(StoreError::Io {
                path: dir.to_path_buf(),
                source,
            })
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let plots = result.plots();
        let json = serde_json::json!({
            "from": crate::model::day::format_date(from),
            "to": crate::model::day::format_date(to),
            "step_days": req.step,
            "horizons_days": req.horizons,
            "tune_until": tune_until.map(crate::model::day::format_date),
            "models": crate::evaluation::MODELS,
            "top_shares": crate::evaluation::TOP,
            "results": result.metrics,
            "calibrations": result.calibrations,
            "lead_time": result.lead,
            "figures": plots.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            "attribution": store.attributions(),
        });
        std::fs::write(dir.join("results.json"), format!("{json:#}\n")).map_err(io)?;
        std::fs::write(dir.join("results.md"), &report).map_err(io)?;
        for (name, svg) in &plots {
            std::fs::write(dir.join(name), svg).map_err(io)?;
        }
    }
    Ok(report)
}

/// The Markdown report of a backtest: the metrics table, the calibrations and lead times.
fn backtest_report(result: &crate::evaluation::Backtest) -> String {
    let mut s = crate::evaluation::markdown(&result.metrics);
    for c in &result.calibrations {
        s.push('\n');
        match &c.calibration {
            Some(cal) => s.push_str(&format!(
                "calibration, {} days ({}): {}\n",
                c.horizon,
                c.source,
                calibration_summary(cal)
            )),
            None => s.push_str(&format!("calibration, {} days: none\n", c.horizon)),
        }
        if let Some(note) = &c.note {
            s.push_str(&format!("  note: {note}\n"));
        }
    }
    for lead in result.lead.iter().filter(|l| l.year.is_none()) {
        s.push_str(&format!(
            "lead time ({} window): {} of {} civilian-harm events had their cell flagged high or critical within {} days before; median lead {} days\n",
            lead.window,
            lead.flagged,
            lead.events,
            lead.window_days,
            lead.median_days.map_or_else(|| "–".to_owned(), |m| format!("{m:.0}"))
        ));
        let years: Vec<String> = result
            .lead
            .iter()
            .filter(|l| l.window == lead.window && l.events > 0)
            .filter_map(|l| {
                Some(format!(
                    "{} {}/{}{}",
                    l.year?,
                    l.flagged,
                    l.events,
                    l.median_days
                        .map_or_else(String::new, |m| format!(" ({m:.0} d)"))
                ))
            })
            .collect();
        s.push_str(&format!("  by year of the event: {}\n", years.join(", ")));
    }
    s
}

/// A calibration, one line.
pub fn calibration_summary(c: &crate::model::params::Calibration) -> String {
    let terms: Vec<String> = c
        .features
        .iter()
        .zip(&c.coefficients)
        .map(|(f, b)| format!("{f} {b:.3}"))
        .collect();
    format!(
        "{}, horizon {} days, seen events up to {}; intercept {:.3}, {}; {} rows ({} followed by civilian harm), base rate {:.5}",
        c.basis,
        c.horizon_days,
        c.fitted_until,
        c.intercept,
        terms.join(", "),
        c.rows,
        c.positives,
        c.base_rate
    )
}

/// `vigil calibrate --from D1 --to D2 [--step N] [--horizon H]` (or `--reset`): fits the
/// logistic calibration on the origins of the tuning window whose horizon ends by D2, and
/// stores it for later snapshots.
pub fn calibrate(
    ctx: &Context,
    range: Option<(&str, &str)>,
    step: u32,
    horizon: u32,
) -> Result<String, Error> {
    let Some((from, to)) = range else {
        ctx.write(|_, store| Ok(store.set_calibration(None)?))?;
        return Ok("calibration removed: later snapshots carry no probability\n".into());
    };
    let (from, to) = (date_arg("--from", from)?, date_arg("--to", to)?);
    // The fit reads the store as any reader does; only storing its result takes the lock.
    let (config, store) = ctx.load()?;
    let cal = crate::evaluation::calibrate(&store, &config, from, to, step, horizon)?;
    let line = calibration_summary(&cal);
    ctx.write(|_, store| Ok(store.set_calibration(Some(cal))?))?;
    Ok(format!(
        "calibration stored: {line}\nsnapshots scored from now on carry the probability; re-run `vigil score` for earlier dates\n"
    ))
}

/// `vigil sample --bench-store --cells N --events M`: a large synthetic store (in the
/// `--store` folder) for the scoring benchmarks.
pub fn bench_store(ctx: &Context, cells: usize, events: usize, seed: u64) -> Result<String, Error> {
    let s = crate::synthetic::bench_store(&ctx.store, cells, events, seed, &ctx.lock)?;
    Ok(format!(
        "synthetic store {}: {} cells, {} events {}..{}, {} bases, {} climate values",
        ctx.store.display(),
        s.cells,
        s.events,
        crate::model::day::format_date(s.days.0),
        crate::model::day::format_date(s.days.1),
        s.bases,
        s.climate
    ))
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

fn print_urls(addr: std::net::SocketAddr) {
    let base = format!("http://{addr}");
    println!("Vigil is serving on {base}");
    println!("  API landing page:  {base}/");
    println!("  health:            {base}/healthz");
    println!("  collections:       {base}/collections");
    println!("  risk grid:         {base}/collections/risk/items");
    println!("  coverage gaps:     {base}/collections/coverage-gaps/items");
    println!("  daily grid (CSV):  {base}/grids/latest.csv");
    println!("  vector tiles:      {base}/tiles/risk/tilejson.json");
    println!("  API definition:    {base}/api");
    println!("Press Ctrl-C to stop.");
}

/// `vigil serve --bind ADDR [--allow-anonymous]`
pub fn serve(ctx: &Context, bind: &str, allow_anonymous: bool) -> Result<(), Error> {
    let config = Config::load(ctx.config.as_deref())?;
    let state = server::load_state(&ctx.store, config)?;
    runtime()?.block_on(server::serve(state, bind, allow_anonymous, print_urls))?;
    Ok(())
}

/// `vigil healthcheck --url U`: a plain HTTP GET; Ok when the answer is 200.
pub fn healthcheck(url: &str) -> Result<(), Error> {
    use std::io::{Read, Write};
    let bad = |reason: &'static str| Error::Argument {
        parameter: "--url",
        value: url.to_owned(),
        reason,
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("expected http://HOST:PORT/PATH"))?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let addr = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:80")
    };
    let timeout = std::time::Duration::from_secs(5);
    let unhealthy = |e: std::io::Error| Error::Unhealthy(format!("{url}: {e}"));
    let addrs: Vec<std::net::SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(&addr)
        .map_err(unhealthy)?
        .collect();
    let first = addrs
        .first()
        .ok_or_else(|| bad("the host has no address"))?;
    let mut conn = std::net::TcpStream::connect_timeout(first, timeout).map_err(unhealthy)?;
    conn.set_read_timeout(Some(timeout)).map_err(unhealthy)?;
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .map_err(unhealthy)?;
    let mut head = [0u8; 64];
    let n = conn.read(&mut head).map_err(unhealthy)?;
    let line = String::from_utf8_lossy(&head[..n]);
    if line.starts_with("HTTP/1.1 200") || line.starts_with("HTTP/1.0 200") {
        Ok(())
    } else {
        Err(Error::Unhealthy(format!(
            "{url} answered `{}`",
            line.lines().next().unwrap_or("")
        )))
    }
}

/// `vigil token --name N --scopes S,…`: a new random bearer token and the configuration
/// entry that stores its hash.
pub fn token(name: &str, scopes: &[String]) -> Result<String, Error> {
    if let Some(bad) = scopes
        .iter()
        .find(|s| !crate::config::SCOPES.contains(&s.as_str()))
    {
        return Err(Error::Argument {
            parameter: "--scopes",
            value: bad.clone(),
            reason: "use risk:read, deployments:read or admin",
        });
    }
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .map_err(Error::Runtime)?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let scopes: Vec<String> = scopes.iter().map(|s| format!("\"{s}\"")).collect();
    Ok(format!(
        "token (give it to {name}; it is not stored anywhere): {token}\n\nadd to vigil.toml:\n\n[[server.tokens]]\nname = \"{name}\"\nsha256 = \"{}\"\nscopes = [{}]\n",
        server::auth::token_hash(&token),
        scopes.join(", ")
    ))
}

/// `vigil sample --out DIR --seed N [--acled-rows N]`
pub fn sample(out: &Path, seed: u64, acled_rows: Option<usize>) -> Result<Vec<String>, Error> {
    let Some(n) = acled_rows else {
        return Ok(sample::generate(out, seed)?);
    };
    let io = |source| {
        Error::Sample(SampleError::Io {
            path: out.display().to_string(),
            source,
        })
    };
    std::fs::create_dir_all(out).map_err(io)?;
    let path = out.join(format!("acled_{n}.csv"));
    std::fs::write(&path, sample::scaled_acled(n, seed)).map_err(io)?;
    Ok(vec![path.display().to_string()])
}

/// Ingests every file of a sample folder and scores its last day.
pub fn load_sample(ctx: &Context, sample_dir: &Path) -> Result<(String, SnapshotInfo), Error> {
    ctx.write(|config, store| {
        for (kind, file) in sample::FILES {
            let kind: Kind = kind.parse()?;
            let record = ingest::ingest_file(
                store,
                config,
                kind,
                &sample_dir.join(file),
                &IngestOptions::default(),
            )?;
            eprintln!("{}", report(&record));
        }
        Ok(risk::score_day(store, config, None)?)
    })
}

/// `vigil demo [--bind ADDR] [--sample DIR]`: ingest the bundled sample, score, serve.
pub fn demo(
    ctx: &Context,
    sample_dir: &Path,
    bind: &str,
    allow_anonymous: bool,
) -> Result<(), Error> {
    let dir = if sample_dir.join(sample::FILES[0].1).exists() {
        sample_dir.to_path_buf()
    } else {
        let generated = ctx.store.join("sample");
        eprintln!(
            "{} has no sample; generating one (seed {}) in {}",
            sample_dir.display(),
            sample::DEFAULT_SEED,
            generated.display()
        );
        sample::generate(&generated, sample::DEFAULT_SEED)?;
        generated
    };
    let (date, info) = load_sample(ctx, &dir)?;
    eprintln!("{}", snapshot_summary(&date, &info));
    serve(ctx, bind, allow_anonymous)
}
