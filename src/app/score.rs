//! Scoring: `vigil score` (a day or a range), `vigil normalise` and `vigil explain`.

use super::{date_arg, Context, Error};
use crate::model::params::Normalisation;
use crate::model::shard::Shard;
use crate::risk::{self, explain::Explanation};
use crate::store::SnapshotInfo;

/// `vigil score [--date D]`: the snapshot's date and what the manifest records of it.
pub fn score(ctx: &Context, date: Option<&str>) -> Result<(String, SnapshotInfo), Error> {
    let date = date.map(|d| date_arg("--date", d)).transpose()?;
    ctx.write(|config, store| Ok(risk::score_day(store, config, date)?))
}

/// `vigil score --from D1 --to D2 [--every N] [--shard I/N]`: one snapshot per day of the
/// range (of the shard's block of its days).
pub fn score_range(
    ctx: &Context,
    from: &str,
    to: &str,
    every: u32,
    shard: Option<Shard>,
) -> Result<Vec<(String, SnapshotInfo)>, Error> {
    let (from, to) = (date_arg("--from", from)?, date_arg("--to", to)?);
    let days = risk::days(from, to, every)?;
    ctx.write(|config, store| match shard {
        Some(s) => Ok(risk::score_shard(store, config, &days, s)?),
        None => Ok(risk::score_range(store, config, &days)?),
    })
}

/// `vigil normalise --from D1 --to D2 [--every N]` (or `--reset`, `range` `None`): fixes
/// the reference levels later snapshots are scored with, and returns the levels in force.
pub fn normalise(
    ctx: &Context,
    range: Option<(&str, &str)>,
    every: u32,
) -> Result<Normalisation, Error> {
    let range = range
        .map(|(from, to)| Ok::<_, Error>((date_arg("--from", from)?, date_arg("--to", to)?)))
        .transpose()?;
    ctx.write(|config, store| {
        let Some((from, to)) = range else {
            store.set_normalisation(None)?;
            return Ok(Normalisation::defaults(&config.score));
        };
        Ok(risk::normalise(store, config, from, to, every)?)
    })
}

/// `vigil explain H3 [--date D]`: why a cell has its risk.
pub fn explain(ctx: &Context, h3: &str, date: Option<&str>) -> Result<Explanation, Error> {
    if let Some(d) = date {
        date_arg("--date", d)?;
    }
    let cell = crate::grid::parse_cell(h3).map_err(|_| Error::Argument {
        parameter: "cell",
        value: h3.to_owned(),
        reason: "expected an H3 cell index such as 876b8ea03ffffff",
    })?;
    let (config, store) = ctx.load()?;
    Ok(risk::explain::explain(
        &store,
        &config,
        u64::from(cell),
        date,
    )?)
}
