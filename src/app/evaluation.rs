//! Judging the forecast: `vigil backtest` and `vigil calibrate`.

use super::{date_arg, Context, Error};
use crate::evaluation::{self, Backtest, BacktestOptions};
use crate::model::day::format_date;
use crate::model::params::Calibration;
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
}

/// `vigil backtest --from D1 --to D2 [--step N] --horizon H… [--tune-until D] [--out DIR]`:
/// writes `results.json`, `results.md` and the SVG figures into DIR (when given) and
/// returns the results ([`Backtest::report`] is the Markdown report).
pub fn backtest(ctx: &Context, req: &BacktestRequest<'_>) -> Result<Backtest, Error> {
    let (from, to) = (date_arg("--from", req.from)?, date_arg("--to", req.to)?);
    let tune_until = req
        .tune_until
        .map(|t| date_arg("--tune-until", t))
        .transpose()?;
    let (config, store) = ctx.load()?;
    let opts = BacktestOptions {
        from,
        to,
        step: req.step,
        horizons: req.horizons.to_vec(),
        tune_until,
    };
    let result = evaluation::run(&store, &config, &opts)?;
    let report = result.report();
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
            "from": format_date(from),
            "to": format_date(to),
            "step_days": req.step,
            "horizons_days": req.horizons,
            "tune_until": tune_until.map(format_date),
            "models": evaluation::MODELS,
            "top_shares": evaluation::TOP,
            "results": result.metrics,
            "calibrations": result.calibrations,
            "lead_time": result.lead,
            "gap_capture": result.gap_capture,
            "figures": plots.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            "attribution": store.attributions(),
        });
        std::fs::write(dir.join("results.json"), format!("{json:#}\n")).map_err(io)?;
        std::fs::write(dir.join("results.md"), &report).map_err(io)?;
        for (name, svg) in &plots {
            std::fs::write(dir.join(name), svg).map_err(io)?;
        }
    }
    Ok(result)
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
