//! Judging the forecast: `vigil backtest` and `vigil calibrate`.

use super::{date_arg, Context, Error};
use crate::evaluation::{self, Backtest, BacktestOptions, ShardOutcome};
use crate::model::day::format_date;
use crate::model::params::Calibration;
use crate::model::shard::Shard;
use crate::store::Store;
use crate::store::StoreError;
use std::path::Path;

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
    /// Also write the judged rows into `out` as rows.parquet ([`evaluation::RowsOut`]).
    pub rows: bool,
}

/// The judged rows' file in `--out`.
pub const ROWS_FILE: &str = "rows.parquet";

/// `vigil backtest --from D1 --to D2 [--step N] --horizon H… [--tune-until D] [--out DIR]`:
/// writes `results.json`, `results.md` and the SVG figures into DIR (when given) and
/// returns the results ([`Backtest::report`] is the Markdown report).
pub fn backtest(ctx: &Context, req: &BacktestRequest<'_>) -> Result<Backtest, Error> {
    let (config, store) = ctx.load()?;
    let opts = options(req)?;
    let mut rows = match (req.rows, req.out) {
        (false, _) => None,
        (true, None) => return Err(rows_refused("--rows needs --out")),
        (true, Some(dir)) => {
            std::fs::create_dir_all(dir).map_err(|source| {
                Error::Store(StoreError::Io {
                    path: dir.to_path_buf(),
                    source,
                })
            })?;
            Some(evaluation::RowsOut::create(
                &dir.join(ROWS_FILE),
                &opts.horizons,
            )?)
        }
    };
    let result = evaluation::run(&store, &config, &opts, rows.as_mut())?;
    if let Some(rows) = rows {
        let n = rows.finish()?;
        tracing::info!(rows = n, "judged rows written");
    }
    if let Some(dir) = req.out {
        write_results(dir, &store, req, &opts, &result)?;
    }
    Ok(result)
}

fn rows_refused(reason: &str) -> Error {
    Error::Backtest(evaluation::BacktestError::Options {
        parameter: "--rows",
        reason: reason.into(),
    })
}

fn options(req: &BacktestRequest<'_>) -> Result<BacktestOptions, Error> {
    let (from, to) = (date_arg("--from", req.from)?, date_arg("--to", req.to)?);
    let tune_until = req
        .tune_until
        .map(|t| date_arg("--tune-until", t))
        .transpose()?;
    Ok(BacktestOptions {
        from,
        to,
        step: req.step,
        horizons: req.horizons.to_vec(),
        tune_until,
    })
}

/// `results.json`: the results with the run's options and the sources' attributions.
fn results_json(
    store: &Store,
    req: &BacktestRequest<'_>,
    opts: &BacktestOptions,
    result: &Backtest,
) -> String {
    let json = serde_json::json!({
        "from": format_date(opts.from),
        "to": format_date(opts.to),
        "step_days": req.step,
        "horizons_days": req.horizons,
        "tune_until": opts.tune_until.map(format_date),
        "models": evaluation::MODELS,
        "top_shares": evaluation::TOP,
        "results": result.metrics,
        "calibrations": result.calibrations,
        "lead_time": result.lead,
        "gap_capture": result.gap_capture,
        "figures": result.plots().iter().map(|(name, _)| name.clone()).collect::<Vec<_>>(),
        "attribution": store.attributions(),
    });
    format!("{json:#}\n")
}

/// Writes results.json, results.md and the figures into `dir`.
fn write_results(
    dir: &Path,
    store: &Store,
    req: &BacktestRequest<'_>,
    opts: &BacktestOptions,
    result: &Backtest,
) -> Result<(), Error> {
    let io = |source| {
        Error::Store(StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::write(
        dir.join("results.json"),
        results_json(store, req, opts, result),
    )
    .map_err(io)?;
    std::fs::write(dir.join("results.md"), result.report()).map_err(io)?;
    for (name, svg) in &result.plots() {
        std::fs::write(dir.join(name), svg).map_err(io)?;
    }
    Ok(())
}

/// `vigil backtest … --shard I/N [--wait D]`: this worker's blocks of origins, written to
/// the store's work folder; the last worker also writes the results there (`results.json`,
/// `results.md`) and into `--out`, as one process would.
pub fn backtest_shard(
    ctx: &Context,
    req: &BacktestRequest<'_>,
    shard: Shard,
    wait: std::time::Duration,
) -> Result<ShardOutcome<Backtest>, Error> {
    if req.rows {
        return Err(rows_refused(
            "--rows is written by one process, not by the workers of a sharded job",
        ));
    }
    let (config, store) = ctx.load()?;
    let opts = options(req)?;
    let outcome = evaluation::run_backtest_shard(&store, &config, &opts, shard, wait)?;
    if let Some(result) = &outcome.results {
        store.put_work(
            &format!("{}/results.json", outcome.run),
            results_json(&store, req, &opts, result).into_bytes(),
        )?;
        store.put_work(
            &format!("{}/results.md", outcome.run),
            result.report().into_bytes(),
        )?;
        if let Some(dir) = req.out {
            write_results(dir, &store, req, &opts, result)?;
        }
    }
    Ok(outcome)
}

/// `vigil backtest … --merge N`: the results of the N workers' parts (as one process's).
pub fn backtest_merge(
    ctx: &Context,
    req: &BacktestRequest<'_>,
    count: usize,
) -> Result<Backtest, Error> {
    if req.rows {
        return Err(rows_refused(
            "--rows is written by one process, not by a merge",
        ));
    }
    let (config, store) = ctx.load()?;
    let opts = options(req)?;
    let result = evaluation::merge_backtest(&store, &config, &opts, count)?;
    if let Some(dir) = req.out {
        write_results(dir, &store, req, &opts, &result)?;
    }
    Ok(result)
}

/// `vigil calibrate … --shard I/N`: this worker's training rows into the store's work
/// folder; the last worker fits the calibration and stores it.
pub fn calibrate_shard(
    ctx: &Context,
    (from, to): (&str, &str),
    step: u32,
    horizon: u32,
    shard: Shard,
) -> Result<ShardOutcome<Calibration>, Error> {
    let (from, to) = (date_arg("--from", from)?, date_arg("--to", to)?);
    let (config, store) = ctx.load()?;
    let outcome =
        evaluation::run_calibrate_shard(&store, &config, (from, to, step, horizon), shard)?;
    if let Some(cal) = &outcome.results {
        ctx.write(|_, store| Ok(store.set_calibration(Some(cal.clone()))?))?;
    }
    Ok(outcome)
}

/// `vigil calibrate … --merge N`: fits the calibration on the N workers' rows and stores
/// it.
pub fn calibrate_merge(
    ctx: &Context,
    (from, to): (&str, &str),
    step: u32,
    horizon: u32,
    count: usize,
) -> Result<Calibration, Error> {
    let (from, to) = (date_arg("--from", from)?, date_arg("--to", to)?);
    let (config, store) = ctx.load()?;
    let cal = evaluation::merge_calibrate(&store, &config, (from, to, step, horizon), count)?;
    ctx.write(|_, store| Ok(store.set_calibration(Some(cal.clone()))?))?;
    Ok(cal)
}

/// `vigil calibrate --from D1 --to D2 [--step N] [--horizon H]` (or `--reset`, `range`
/// `None`): fits the logistic calibration on the origins of the tuning window whose horizon
/// ends by D2 and stores it for later snapshots; returns it (`None`: removed).
pub fn calibrate(
    ctx: &Context,
    range: Option<(&str, &str)>,
    step: u32,
    horizon: u32,
) -> Result<Option<Calibration>, Error> {
    let Some((from, to)) = range else {
        ctx.write(|_, store| Ok(store.set_calibration(None)?))?;
        return Ok(None);
    };
    let (from, to) = (date_arg("--from", from)?, date_arg("--to", to)?);
    // The fit reads the store as any reader does; only storing its result takes the lock.
    let (config, store) = ctx.load()?;
    let cal = evaluation::calibrate(&store, &config, from, to, step, horizon)?;
    ctx.write(|_, store| Ok(store.set_calibration(Some(cal.clone()))?))?;
    Ok(Some(cal))
}
