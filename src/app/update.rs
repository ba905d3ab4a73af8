//! `vigil update`: the daily loop for a timer — ingest the drop folders' new files, score
//! every missing day up to the latest day with data, follow the alert episodes and deliver
//! their messages — and `vigil alerts redeliver`.
//!
//! Crash safety: every step commits on its own and the next run starts from what was
//! committed. Files are known by content hash (a file seen before is skipped); days are
//! scored after the last snapshot; episodes are computed from stored snapshots after the
//! last day the alert log records, and committed together with their messages (the
//! outbox); a message leaves the outbox in the commit after its receiver accepted it. A
//! run killed between a receiver's answer and that commit sends that message again
//! (same `X-Vigil-Delivery`): delivery is at least once, receivers deduplicate.

use super::{Context, Error};
use crate::analysis::episodes::{advance, Grouping};
use crate::config::{Config, DropSource, Webhook};
use crate::delivery::{self, DeadLetter, DeadLetters, Outcome, RetryPolicy};
use crate::ingest::{self, IngestOptions, Kind};
use crate::model::day::parse_iso_date;
use crate::model::episode::{AlertLog, Episode, Pending};
use crate::model::http_url::HttpUrl;
use crate::model::rows::Base;
use crate::model::visibility::Audience;
use crate::output::alert::{payload, Links};
use crate::store::Store;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One file ingested.
#[derive(Debug, Clone, Serialize)]
pub struct IngestedFile {
    /// Source kind.
    pub kind: String,
    /// The file.
    pub file: String,
    /// Rows accepted.
    pub accepted: usize,
    /// Rows rejected.
    pub rejected: usize,
}

/// One file the ingest refused (nothing of it was stored).
#[derive(Debug, Clone, Serialize)]
pub struct RefusedFile {
    /// Source kind.
    pub kind: String,
    /// The file.
    pub file: String,
    /// Why.
    pub error: String,
}

/// One episode version of this run.
#[derive(Debug, Clone, Serialize)]
pub struct EpisodeChange {
    /// Episode identifier.
    pub id: String,
    /// Its version.
    pub version: u32,
    /// `new`, `updated` or `closed`.
    pub change: String,
    /// `risk` or `gap`.
    pub kind: String,
    /// The day.
    pub date: String,
    /// Cells.
    pub cells: usize,
}

/// What one run did (`--report FILE` writes it as JSON).
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpdateReport {
    /// Files ingested.
    pub ingested: Vec<IngestedFile>,
    /// Files skipped: their content was ingested before.
    pub already_seen: usize,
    /// Files left for the next run: modified less than `update.settle_secs` ago.
    pub settling: Vec<String>,
    /// Files refused.
    pub refused: Vec<RefusedFile>,
    /// Days scored.
    pub scored: Vec<String>,
    /// Episode versions computed.
    pub episodes: Vec<EpisodeChange>,
    /// Messages delivered.
    pub delivered: usize,
    /// Messages written to the dead-letter file.
    pub dead_lettered: usize,
    /// Messages still waiting (the delivery budget ran out).
    pub waiting: usize,
    /// Seconds the run took.
    pub seconds: f64,
}

/// What a scheduler learns from the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateStatus {
    /// Nothing to do, or all done (0).
    Done,
    /// A file was refused (3); the rest was done.
    InputRefused,
    /// A message went to the dead-letter file (4); the rest was done.
    DeliveryFailed,
}

impl UpdateReport {
    /// The run's status: refused input first, then failed delivery.
    pub fn status(&self) -> UpdateStatus {
        if !self.refused.is_empty() {
            UpdateStatus::InputRefused
        } else if self.dead_lettered > 0 {
            UpdateStatus::DeliveryFailed
        } else {
            UpdateStatus::Done
        }
    }
}

/// `vigil update`: one idempotent run; `report` gets the JSON report.
pub fn update(ctx: &Context, report: Option<&Path>) -> Result<UpdateReport, Error> {
    let started = Instant::now();
    let config = Config::load(ctx.config.as_deref())?;
    for s in &config.update.sources {
        if s.kind.parse::<Kind>().is_err() {
            return Err(crate::config::ConfigError::Invalid {
                key: "update.sources.kind",
                reason: format!(
                    "`{}` is not an ingest kind (see `vigil ingest --help`)",
                    s.kind
                ),
            }
            .into());
        }
    }
    let mut out = ctx.write(|config, store| {
        let mut out = UpdateReport::default();
        ingest_new_files(store, config, &mut out);
        start_alert_log(store, config)?;
        score_missing_days(store, config, &mut out)?;
        follow_episodes(store, config, &mut out)?;
        deliver_outbox(store, config, &mut out)?;
        Ok(out)
    })?;
    out.seconds = started.elapsed().as_secs_f64();
    if let Some(path) = report {
        let text = serde_json::to_string_pretty(&out).unwrap_or_default();
        std::fs::write(path, text + "\n").map_err(|source| Error::ReportFile {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(out)
}

/// The files of one drop source: the path's folder, its last part matched as a pattern
/// with `*` and `?`; sorted by name.
pub fn matching_files(source: &DropSource) -> Vec<PathBuf> {
    let path = Path::new(&source.path);
    let (dir, pattern) = match (path.parent(), path.file_name()) {
        (Some(d), Some(f)) => (
            if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            },
            f.to_string_lossy().into_owned(),
        ),
        _ => return Vec::new(),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            !name.starts_with('.') && glob_match(&pattern, &name)
        })
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

/// Whether `name` matches `pattern` (`*`: any run of characters, `?`: one character).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn ingest_new_files(store: &mut Store, config: &Config, out: &mut UpdateReport) {
    let settle = Duration::from_secs(config.update.settle_secs);
    for source in &config.update.sources {
        let Ok(kind) = source.kind.parse::<Kind>() else {
            continue; // refused before the run took the lock
        };
        for file in matching_files(source) {
            let shown = file.display().to_string();
            let young = std::fs::metadata(&file)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age < settle);
            if young {
                out.settling.push(shown);
                continue;
            }
            // Streamed: a file of any size costs 1 MiB here.
            let seen = match crate::store::sha256_file(&file) {
                Ok(sha) => store.manifest().ingests.iter().any(|r| r.sha256 == sha),
                Err(e) => {
                    out.refused.push(RefusedFile {
                        kind: source.kind.clone(),
                        file: shown,
                        error: e.to_string(),
                    });
                    continue;
                }
            };
            if seen {
                out.already_seen += 1;
                continue;
            }
            let opts = IngestOptions {
                level: source.level.clone(),
                name_field: source.name_field.clone(),
                ..IngestOptions::default()
            };
            match ingest::ingest_file(store, config, kind, &file, &opts) {
                Ok(r) => {
                    tracing::info!(file = %shown, accepted = r.accepted, rejected = r.rejected, "ingested");
                    out.ingested.push(IngestedFile {
                        kind: source.kind.clone(),
                        file: shown,
                        accepted: r.accepted,
                        rejected: r.rejected,
                    });
                }
                Err(e) => {
                    tracing::error!(file = %shown, error = %e, "refused");
                    out.refused.push(RefusedFile {
                        kind: source.kind.clone(),
                        file: shown,
                        error: e.to_string(),
                    });
                }
            }
        }
    }
}

/// Scores the days after the last snapshot up to the last day with data (never after
/// today); a store without snapshots gets its last day only.
fn score_missing_days(
    store: &mut Store,
    config: &Config,
    out: &mut UpdateReport,
) -> Result<(), Error> {
    if !store.manifest().tables.contains_key("events") {
        return Ok(());
    }
    let last = crate::risk::last_scorable_day(store)?;
    let first = store
        .latest_snapshot()
        .and_then(parse_iso_date)
        .map_or(last, |d| d + 1);
    if first > last {
        return Ok(());
    }
    let days: Vec<i32> = (first..=last).collect();
    for (date, _) in crate::risk::score_range(store, config, &days)? {
        out.scored.push(date);
    }
    Ok(())
}

/// How alerting cells group (`[alerts]`, the grid's resolution).
fn grouping(config: &Config) -> Grouping {
    Grouping::new(
        config.alerts.join_km,
        // Validated 5 to 9 when the configuration was read.
        crate::grid::resolution(config.grid.resolution).unwrap_or(h3o::Resolution::Seven),
        config.alerts.keep_closed_days,
    )
}

/// The first update run on a store starts its alert log, before it scores anything: from
/// the latest snapshot already there, silently (what was already red is not news), or
/// empty. Committed at once, so that a run killed later — after scoring new days, before
/// their alerts — leaves those days to be alerted by the next run, not taken for the start.
fn start_alert_log(store: &mut Store, config: &Config) -> Result<(), Error> {
    let log = &store.manifest().alerts;
    if log.started || log.through.is_some() {
        return Ok(());
    }
    let mut log = log.clone();
    log.started = true;
    if let Some(seed) = store.latest_snapshot().map(str::to_owned) {
        let bases: Vec<Base> = store.read::<Base>()?;
        let cells = snapshot_cells(store, &seed)?;
        advance(&mut log, &seed, &cells, &bases, grouping(config));
        tracing::info!(date = %seed, episodes = log.episodes.len(), "alert log started");
    }
    store.set_alerts(log)?;
    Ok(())
}

/// Computes the episodes of every snapshot after the alert log's last day and queues their
/// messages, in one commit.
fn follow_episodes(
    store: &mut Store,
    config: &Config,
    out: &mut UpdateReport,
) -> Result<(), Error> {
    let mut log = store.manifest().alerts.clone();
    let dates: Vec<String> = store.manifest().snapshots.keys().cloned().collect();
    let grouping = grouping(config);
    let bases: Vec<Base> = store.read::<Base>()?;
    let before = log.clone();
    for date in dates {
        if log.through.as_ref().is_some_and(|t| date <= *t) {
            continue;
        }
        let cells = snapshot_cells(store, &date)?;
        let mut changed = advance(&mut log, &date, &cells, &bases, grouping);
        attach_drivers(store, &date, &mut changed, &mut log)?;
        for e in changed {
            out.episodes.push(EpisodeChange {
                id: e.id.clone(),
                version: e.version,
                change: e.change.as_str().into(),
                kind: e.kind.as_str().into(),
                date: date.clone(),
                cells: e.cells.len(),
            });
            enqueue(&mut log.outbox, &config.alerts.webhooks, &e);
        }
    }
    if log != before {
        store.set_alerts(log)?;
    }
    Ok(())
}

/// The events that drove each episode that began or grew on `date`: up to five counting on
/// that day in its cells over the 30 days before, civilian harm first, then the deadliest,
/// then the latest.
fn attach_drivers(
    store: &Store,
    date: &str,
    changed: &mut [Episode],
    log: &mut AlertLog,
) -> Result<(), Error> {
    use crate::model::episode::{Change, Driver};
    use crate::model::rows::Category;
    let Some(d) = parse_iso_date(date) else {
        return Ok(());
    };
    if changed.iter().all(|e| e.change == Change::Closed) {
        return Ok(());
    }
    let rows = crate::risk::events::rows_counting_on(store.events_between(d - 29, d)?, d);
    let mut by_cell: std::collections::HashMap<u64, Vec<&crate::model::rows::Event>> =
        std::collections::HashMap::new();
    for r in &rows {
        if let Some(c) = r.cell {
            by_cell.entry(c).or_default().push(r);
        }
    }
    for e in changed.iter_mut().filter(|e| e.change != Change::Closed) {
        let mut found: Vec<&crate::model::rows::Event> = e
            .cells
            .iter()
            .filter_map(|c| by_cell.get(c))
            .flatten()
            .copied()
            .collect();
        found.sort_by(|a, b| {
            (b.category == Category::CivilianHarm)
                .cmp(&(a.category == Category::CivilianHarm))
                .then(
                    b.civilian_fatalities
                        .unwrap_or(0)
                        .cmp(&a.civilian_fatalities.unwrap_or(0)),
                )
                .then(b.fatalities.cmp(&a.fatalities))
                .then(b.date_end.cmp(&a.date_end))
                .then(a.source.cmp(&b.source))
                .then(a.source_id.cmp(&b.source_id))
        });
        e.drivers = found
            .into_iter()
            .take(5)
            .map(|r| Driver {
                source: r.source.to_string(),
                id: r.source_id.clone(),
                date: crate::model::day::format_date(r.date_end),
                category: r.category.as_str().to_owned(),
                fatalities: r.fatalities,
                civilian_fatalities: r.civilian_fatalities,
            })
            .collect();
        if let Some(stored) = log.episodes.iter_mut().find(|s| s.id == e.id) {
            stored.drivers = e.drivers.clone();
        }
    }
    Ok(())
}

fn snapshot_cells(store: &Store, date: &str) -> Result<Vec<crate::model::cell::CellRecord>, Error> {
    Ok(crate::store::snapshot::load_columns(
        store,
        date,
        &[
            "cell",
            "lat",
            "lon",
            "area",
            "risk",
            "tier",
            "probability",
            "population",
            "events",
            "civilian_fatalities_30d",
            "gap",
            "nearest_base",
            "mission",
        ],
    )?)
}

/// Queues episode `e`'s current version for every destination subscribed to it; an older
/// version still waiting for the same destination is replaced (each message carries the
/// episode's whole current state).
fn enqueue(outbox: &mut Vec<Pending>, webhooks: &[Webhook], e: &Episode) {
    for w in webhooks.iter().filter(|w| subscribes(w, e)) {
        outbox.retain(|p| !(p.destination == w.name && p.episode == e.id));
        outbox.push(Pending {
            destination: w.name.clone(),
            episode: e.id.clone(),
            version: e.version,
        });
    }
}

/// Whether destination `w` receives episode `e`: what it is cleared to see, then its
/// tier, area, mission and probability filters.
pub fn subscribes(w: &Webhook, e: &Episode) -> bool {
    if Audience::of(w.cleared).episode(e).is_none() {
        return false;
    }
    let tier_ok = w.min_tier != "critical" || e.tier == "critical";
    let area_ok = w.areas.is_empty() || e.areas.iter().any(|a| w.areas.contains(a));
    // Matched on the episode as stored; an uncleared destination is never shown missions.
    let mission_ok = w.missions.is_empty() || e.missions.iter().any(|m| w.missions.contains(m));
    let p_ok = w.min_probability <= 0.0 || e.probability.is_some_and(|p| p >= w.min_probability);
    tier_ok && area_ok && mission_ok && p_ok
}

/// Delivers the outbox in order within `alerts.delivery_budget_secs`; each message leaves
/// it in the commit after it was accepted or dead-lettered.
fn deliver_outbox(store: &mut Store, config: &Config, out: &mut UpdateReport) -> Result<(), Error> {
    let a = &config.alerts;
    let deadline = Instant::now() + Duration::from_secs(a.delivery_budget_secs);
    let policy = RetryPolicy {
        max_attempts: a.max_attempts,
        backoff: Duration::from_millis(a.backoff_ms),
        timeout: Duration::from_secs(a.timeout_secs),
    };
    let links = Links::new(&config.server.public_url);
    let attribution = store.attributions();
    let dead = DeadLetters::of_store(store.root());
    loop {
        let log = &store.manifest().alerts;
        let Some(p) = log.outbox.first().cloned() else {
            break;
        };
        let dest = a.webhooks.iter().find(|w| w.name == p.destination);
        let episode = log
            .episode(&p.episode)
            .filter(|e| e.version == p.version)
            .and_then(|e| dest.and_then(|w| Audience::of(w.cleared).episode(e)));
        let (Some(w), Some(e), Some(url)) =
            (dest, episode, dest.and_then(|w| HttpUrl::parse(&w.url)))
        else {
            tracing::warn!(destination = %p.destination, episode = %p.episode, "message dropped: its destination or episode version is gone");
            remove_first(store, &p)?;
            continue;
        };
        let body = serde_json::to_vec(&payload(&e, &links, &attribution)).unwrap_or_default();
        let id = e.delivery_id();
        let seed = crate::model::digest::sha256_hex(id.as_bytes())
            .get(..16)
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .unwrap_or(0);
        match delivery::deliver(&url, &w.secret, &id, &body, policy, deadline, seed) {
            Outcome::Delivered(attempts) => {
                tracing::info!(destination = %w.name, delivery = %id, attempts, "delivered");
                remove_first(store, &p)?;
                out.delivered += 1;
            }
            Outcome::Failed(attempts, error) => {
                tracing::error!(destination = %w.name, delivery = %id, attempts, error = %error, "undeliverable: written to the dead-letter file");
                dead.append(&DeadLetter {
                    destination: w.name.clone(),
                    delivery: id,
                    body: String::from_utf8_lossy(&body).into_owned(),
                    attempts,
                    error: error.to_string(),
                    at: std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs()),
                })?;
                remove_first(store, &p)?;
                out.dead_lettered += 1;
            }
            Outcome::OutOfTime(attempts, _) => {
                tracing::warn!(destination = %w.name, delivery = %id, attempts, "delivery time used up; the rest waits for the next run");
                break;
            }
        }
    }
    out.waiting = store.manifest().alerts.outbox.len();
    Ok(())
}

fn remove_first(store: &mut Store, p: &Pending) -> Result<(), Error> {
    let mut log: AlertLog = store.manifest().alerts.clone();
    if let Some(i) = log.outbox.iter().position(|q| q == p) {
        log.outbox.remove(i);
    }
    store.set_alerts(log)?;
    Ok(())
}

/// What `vigil alerts redeliver` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RedeliverReport {
    /// Messages delivered (removed from the file).
    pub delivered: usize,
    /// Messages that failed again or whose destination is no longer configured (kept).
    pub kept: usize,
}

/// `vigil alerts redeliver`: sends the dead-letter file's messages again (signed anew);
/// those that fail again stay in the file.
pub fn redeliver(ctx: &Context) -> Result<RedeliverReport, Error> {
    ctx.write(|config, store| {
        let a = &config.alerts;
        let dead = DeadLetters::of_store(store.root());
        let deadline = Instant::now() + Duration::from_secs(a.delivery_budget_secs);
        let policy = RetryPolicy {
            max_attempts: a.max_attempts,
            backoff: Duration::from_millis(a.backoff_ms),
            timeout: Duration::from_secs(a.timeout_secs),
        };
        let mut report = RedeliverReport::default();
        let mut kept = Vec::new();
        for (i, letter) in dead.read()?.into_iter().enumerate() {
            let dest = a.webhooks.iter().find(|w| w.name == letter.destination);
            let Some((w, url)) = dest.and_then(|w| HttpUrl::parse(&w.url).map(|u| (w, u))) else {
                tracing::warn!(destination = %letter.destination, "no such destination configured; kept");
                kept.push(letter);
                continue;
            };
            let body = letter.body.as_bytes();
            match delivery::deliver(&url, &w.secret, &letter.delivery, body, policy, deadline, i as u64) {
                Outcome::Delivered(_) => report.delivered += 1,
                Outcome::Failed(attempts, e) => {
                    kept.push(DeadLetter {
                        attempts: letter.attempts + attempts,
                        error: e.to_string(),
                        ..letter
                    });
                }
                Outcome::OutOfTime(..) => kept.push(letter),
            }
        }
        report.kept = kept.len();
        dead.rewrite(&kept)?;
        Ok(report)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_patterns_match_like_a_shell() {
        assert!(glob_match("*.csv", "acled-2024-06-01.csv"));
        assert!(glob_match("acled-????-??-??.csv", "acled-2024-06-01.csv"));
        assert!(!glob_match("acled-????-??-??.csv", "acled-2024-6-01.csv"));
        assert!(glob_match("*", "x"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
        assert!(glob_match("exact.csv", "exact.csv"));
        assert!(!glob_match("exact.csv", "exact.csv.part"));
    }
}
