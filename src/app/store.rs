//! Reading out and looking after the store: `vigil export` and `vigil gc`.

use super::{date_arg, Context, Error};
use crate::config::Config;
use crate::output::export::{self, Request};
use crate::store::GcReport;

/// `vigil gc [--dry-run] [--grace SECS]`: removes leftover temporary files, data files no
/// manifest named and retired files older than the grace period.
pub fn gc(ctx: &Context, grace: Option<u64>, dry_run: bool) -> Result<GcReport, Error> {
    let config = Config::load(ctx.config.as_deref())?;
    let mut store = ctx.open_writer(&config)?;
    let grace = std::time::Duration::from_secs(grace.unwrap_or(config.store.gc_grace_secs));
    Ok(store.gc(grace, dry_run)?)
}

/// `vigil export WHAT [--format F] [--date D] [--level L] [--out PATH] [--risk-only]`: the
/// bytes written.
pub fn export(ctx: &Context, req: &Request<'_>) -> Result<usize, Error> {
    if let Some(d) = req.date {
        date_arg("--date", d)?;
    }
    let (config, store) = ctx.load()?;
    Ok(export::export(&store, &config, req)?)
}
