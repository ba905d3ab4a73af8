//! What the commands print: each typed result of the library as text for the terminal,
//! or in the report format asked for.

use std::net::SocketAddr;
use vigil::analysis::report::{json, render, ReportError, ReportFormat};
use vigil::analysis::scenario::Outcome;
use vigil::app::{Demo, PlanReport, ResponsivenessReport, Token};
use vigil::model::params::{Calibration, Normalisation};
use vigil::store::{GcReport, IngestRecord, SnapshotInfo};

/// A human-readable ingest report.
pub fn ingest_report(r: &IngestRecord) -> String {
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

/// The reference levels, one line.
pub fn normalisation_summary(n: &Normalisation) -> String {
    format!(
        "normalisation ({}): H {:.4}, C {:.4}, S {:.4}, trend {:.4}",
        n.basis, n.harm, n.conflict, n.spread, n.trend
    )
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

/// `vigil calibrate`: the calibration stored, or that it was removed.
pub fn calibration(c: Option<&Calibration>) -> String {
    match c {
        Some(cal) => format!(
            "calibration stored: {}\nsnapshots scored from now on carry the probability; re-run `vigil score` for earlier dates\n",
            vigil::evaluation::calibration_line(cal)
        ),
        None => "calibration removed: later snapshots carry no probability\n".into(),
    }
}

/// `vigil sample --bench-store`: what the synthetic store holds.
pub fn bench_store(store: &vigil::store::Location, s: &vigil::synthetic::Summary) -> String {
    format!(
        "synthetic store {}: {} cells, {} events {}..{}, {} bases, {} climate values",
        store,
        s.cells,
        s.events,
        vigil::model::day::format_date(s.days.0),
        vigil::model::day::format_date(s.days.1),
        s.bases,
        s.climate
    )
}

/// `vigil token`: the token and the configuration entry that stores its hash.
pub fn token(t: &Token) -> String {
    let scopes: Vec<String> = t.scopes.iter().map(|s| format!("\"{s}\"")).collect();
    format!(
        "token (give it to {}; it is not stored anywhere): {}\n\nadd to vigil.toml:\n\n[[server.tokens]]\nname = \"{}\"\nsha256 = \"{}\"\nscopes = [{}]\n",
        t.name,
        t.token,
        t.name,
        t.sha256,
        scopes.join(", ")
    )
}

/// `vigil demo`: where the sample came from and what loading it did (standard error).
pub fn demo(sample_dir: &std::path::Path, d: &Demo) {
    if let Some(generated) = &d.generated {
        eprintln!(
            "{} has no sample; generating one (seed {}) in {}",
            sample_dir.display(),
            vigil::synthetic::sample::DEFAULT_SEED,
            generated.display()
        );
    }
    for r in &d.ingests {
        eprintln!("{}", ingest_report(r));
    }
    if !d.earlier.is_empty() {
        eprintln!("earlier snapshots: {}", d.earlier.join(", "));
    }
    eprintln!("{}", snapshot_summary(&d.date, &d.info));
}

/// `vigil responsiveness`: a line on what was read, then the table.
pub fn responsiveness(
    r: &ResponsivenessReport,
    format: ReportFormat,
) -> Result<String, ReportError> {
    let mut out = String::new();
    if format == ReportFormat::Table {
        out.push_str(&format!(
            "{} snapshots {}..{}: {} cells entered high or critical\n",
            r.snapshots,
            r.from,
            r.to,
            r.episodes.len()
        ));
    }
    out.push_str(&render(&r.rows, format)?);
    Ok(out)
}

/// `vigil scenario`: the whole outcome (JSON), the changed cells (CSV), or a summary, the
/// deltas and the changed cells (table).
pub fn scenario(o: &Outcome, format: ReportFormat) -> Result<String, ReportError> {
    Ok(match format {
        ReportFormat::Json => json(o)?,
        ReportFormat::Csv => render(&o.changed, format)?,
        ReportFormat::Table => format!(
            "scenario on {}: {} bases opened, {} closed; {} cells change\n\nsummary deltas (after − before):\n{}\nchanged cells:\n{}",
            o.date,
            o.scenario.add.len(),
            o.scenario.close.len(),
            o.changed.len(),
            render(&o.delta, format)?,
            render(&o.changed, format)?
        ),
    })
}

/// `vigil plan`: the plan (JSON), its sites (CSV), or a summary and the sites (table).
pub fn plan(r: &PlanReport, format: ReportFormat) -> Result<String, ReportError> {
    let p = &r.plan;
    Ok(match format {
        ReportFormat::Json => json(p)?,
        ReportFormat::Csv => render(&p.sites, format)?,
        ReportFormat::Table => format!(
            "plan on {}: {:.0} {} in {} gap cells; {} sites of {} km reach, {} troops\n{}{:.0} {} still in gaps{}\n",
            p.date,
            p.demand,
            p.unit,
            p.demand_cells,
            p.sites.len(),
            r.options.radius_km,
            r.options.troops,
            render(&p.sites, format)?,
            p.remaining,
            p.unit,
            if p.sites.len() < r.options.k {
                format!(" (only {} sites add anything)", p.sites.len())
            } else {
                String::new()
            }
        ),
    })
}

/// `vigil serve`: the addresses to open, once the socket listens.
pub fn urls(addr: SocketAddr) {
    use std::io::Write;
    let base = format!("http://{addr}");
    let text = format!(
        "Vigil is serving on {base}
  web map:           {base}/map
  API landing page:  {base}/
  health:            {base}/healthz
  collections:       {base}/collections
  risk grid:         {base}/collections/risk/items
  coverage gaps:     {base}/collections/coverage-gaps/items
  daily grid (CSV):  {base}/grids/latest.csv
  vector tiles:      {base}/tiles/risk/tilejson.json
  stored snapshots:  {base}/snapshots
  API definition:    {base}/api
Press Ctrl-C to stop.
"
    );
    // A server whose terminal or pipe has gone keeps serving: the URLs are a courtesy
    // (println! would panic on a closed stdout).
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        tracing::warn!(%base, "stdout is closed: the URLs were not printed");
    }
}

/// `vigil update`: one line for the log of a timer.
pub fn update_summary(r: &vigil::app::UpdateReport) -> String {
    let days = match (r.scored.first(), r.scored.last()) {
        (Some(a), Some(b)) if a == b => format!(" ({a})"),
        (Some(a), Some(b)) => format!(" ({a}..{b})"),
        _ => String::new(),
    };
    format!(
        "update: {} file(s) ingested, {} already seen, {} settling, {} refused; {} day(s) scored{days}; {} episode change(s); {} message(s) delivered, {} dead-lettered, {} waiting; {:.1} s",
        r.ingested.len(),
        r.already_seen,
        r.settling.len(),
        r.refused.len(),
        r.scored.len(),
        r.episodes.len(),
        r.delivered,
        r.dead_lettered,
        r.waiting,
        r.seconds,
    )
}

/// What one worker of a sharded job did; `done`, the job's results when it was the last.
pub fn shard_outcome<T>(
    shard: &vigil::model::shard::Shard,
    o: &vigil::evaluation::ShardOutcome<T>,
    done: Option<String>,
) -> String {
    let mut out = format!(
        "worker {shard}: {} origins scored; parts in {}\n",
        o.origins, o.work
    );
    match done {
        Some(results) => {
            out.push_str("the last worker: every part is in, the results are put together\n");
            out.push_str(&results);
        }
        None => out.push_str(&format!(
            "waiting on {} part(s) of other workers; the last to finish puts the results together (or run the same command with --merge {} instead of --shard)\n",
            o.waiting_on.len(),
            shard.count
        )),
    }
    out
}
