//! The `vigil` command line: clap parses the arguments, each command calls one library
//! function in `vigil::app`, and `cli::print` writes its result.

mod cli;

use clap::{Parser, Subcommand};
use cli::args::{FormatArg, KindArg, ReportFormatArg, UnitsArg, WhatArg};
use cli::print;
use std::path::PathBuf;
use std::process::ExitCode;
use vigil::analysis::report::render;
use vigil::app::{self, Context};
use vigil::ingest::IngestOptions;

/// mimalloc keeps freed memory for the next allocation instead of handing large blocks
/// back to the system: a daily range allocates and frees a day's frames, pages and file
/// buffers (~100 MB) every day, and with the system allocator each of them came back as
/// fresh pages to fault in and zero (7.0 million page faults and 16 s of system time in
/// the 365-day range of the 150,000-cell store; see docs/performance.md, fifth pass).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The allocator's policy for this process.
///
/// A batch command (everything but the servers) keeps the memory it frees for itself until
/// it exits (`keep_freed`): mimalloc's default hands freed pages back to the system after
/// 10 ms, and a daily range then faulted in and zeroed 446,000 pages again (5.9 s of system
/// time in the 365-day range; 1,780 faults without purging, peak RSS 788 instead of 571
/// MB). A server keeps the default, so that a large request's memory goes back.
///
/// Only a range of days (`huge_pages`) keeps transparent huge pages, which mimalloc asks
/// for: the range faults its memory in once and reuses it for half a minute, and the TLB's
/// reach saved 14 % of its user time (35.1 → 30.8 s). Every other command faults in fresh
/// memory for a second or two, and there the kernel's compaction for huge pages stalled it:
/// one day of the 1M-cell bench store 1.93–2.23 s without them, 2.6–3.7 s with (system time
/// 0.8 against 2.6–3.4 s).
fn set_memory_policy(keep_freed: bool, huge_pages: bool) {
    if keep_freed {
        // `mi_option_purge_delay` of mimalloc.h (v2 and v3): 15th in `mi_option_e`; the sys
        // crate exports no constant for it. −1: never purge.
        const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
        #[allow(
            unsafe_code,
            reason = "setting an allocator option, before any thread but this one exists"
        )]
        // SAFETY: mi_option_set only stores the value in mimalloc's option table.
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        }
    }
    #[cfg(target_os = "linux")]
    if !huge_pages {
        #[allow(unsafe_code, reason = "a process flag, set through prctl")]
        // SAFETY: PR_SET_THP_DISABLE only sets a flag of this process; the call takes no
        // pointers. A kernel that refuses it leaves huge pages as they were.
        unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = huge_pages;
}

/// Vigil: civilian-risk early warning and peacekeeping coverage gaps on an H3 grid.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    /// The store: a folder (Parquet tables, snapshots, numbered manifests), `file:///path`,
    /// or a bucket of an object store — `s3://bucket/prefix` (also S3-compatible servers:
    /// AWS_ENDPOINT_URL, AWS_ALLOW_HTTP), `gs://bucket/prefix`, `az://container/prefix` —
    /// with credentials and region from the usual AWS_* / GOOGLE_* / AZURE_* variables or
    /// `store.object_options`. A bucket's files are cached in $VIGIL_CACHE_DIR (default
    /// $XDG_CACHE_HOME/vigil or ~/.cache/vigil). Any other scheme is an error.
    #[arg(long, global = true, env = "VIGIL_STORE", default_value = "./store", value_parser = parse_store)]
    store: vigil::store::Location,
    /// Configuration file (vigil.toml); defaults are used when absent. See docs/configuration.md.
    #[arg(long, global = true, env = "VIGIL_CONFIG")]
    config: Option<PathBuf>,
    /// Log filter, e.g. `info`, `debug`, `vigil=trace`. Given, it wins over RUST_LOG;
    /// without it RUST_LOG applies, else `info`.
    #[arg(long, global = true)]
    log: Option<String>,
    /// Log lines as text (colours only on a terminal) or as one JSON object per line (for
    /// a log collector).
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Commands that write the store (ingest, score, normalise, calibrate, gc, demo, sample
    /// --bench-store) take its writer lock; while another writer holds it, wait this long
    /// (`600`, `90s`, `10m`, `1h`) before failing with exit code 5. Readers never wait.
    #[arg(long, global = true, default_value = "10m", value_parser = parse_duration, value_name = "DURATION")]
    lock_timeout: std::time::Duration,
    /// Writers: fail at once (exit code 5), naming the holder, when another writer holds the
    /// store's lock.
    #[arg(long, global = true)]
    no_wait: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum AlertsCommand {
    /// Send the dead-letter file's messages (`<store>/alerts/dead-letter.jsonl`) again,
    /// signed anew; those that fail again stay in the file. Exit code 4 when any stays.
    Redeliver,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Read a source file into the store (validated, idempotent, atomic).
    Ingest {
        /// What the file holds.
        kind: KindArg,
        /// The file.
        path: PathBuf,
        /// Areas: the level of every area in the file (e.g. `mission`, `sector`, `ADM2`);
        /// default: each feature's `shapeType` or `level` property.
        #[arg(long)]
        level: Option<String>,
        /// Areas: the property that holds the name (default: shapeName, name, NAME, …).
        #[arg(long)]
        name_field: Option<String>,
        /// Climate rasters: the month the file holds, YYYY-MM (default: from the file name,
        /// e.g. chirps-v2.0.2023.07.tif).
        #[arg(long)]
        period: Option<String>,
        /// Climate rasters: the variable the file holds (default: precip_mm).
        #[arg(long)]
        variable: Option<String>,
        /// Population rasters: what a pixel's value counts — `people` in the pixel (WorldPop
        /// `ppp`), or `per-km2`, a density (WorldPop's aggregated products): each cell then
        /// gets the density at its centre × its area, filling the loaded areas' cells (all
        /// cells under the raster when no areas are loaded).
        #[arg(long, value_enum, default_value = "people")]
        units: UnitsArg,
    },
    /// Score one as-of day into a snapshot (default: the last event date), or every day of a
    /// range (`--from`/`--to`, inputs loaded once, a progress bar on the terminal).
    Score {
        /// As-of date, YYYY-MM-DD: only data known by this day is used.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        date: Option<String>,
        /// First day of a range, YYYY-MM-DD.
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// Last day of a range, YYYY-MM-DD (included).
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Step of the range in days (7 = weekly).
        #[arg(long, default_value_t = 1, requires = "from")]
        every: u32,
        /// Score only this worker's block of the range's days: I/N is worker I (from 0) of
        /// N, each started alone (a Kubernetes Indexed Job: JOB_COMPLETION_INDEX of
        /// JOB_COMPLETIONS, when --shard is absent). The workers' snapshots are those of
        /// one run over the whole range, to the byte; on a bucket they commit side by side.
        #[arg(long, requires = "from", value_parser = parse_shard, value_name = "I/N")]
        shard: Option<vigil::model::shard::Shard>,
    },
    /// Fix the normalisation (each amount's reference level) on a reference period; later
    /// snapshots are scored with it and record it. `--reset` returns to the defaults.
    Normalise {
        /// First day of the reference period, YYYY-MM-DD.
        #[arg(long, requires = "to", required_unless_present = "reset")]
        from: Option<String>,
        /// Last day of the reference period, YYYY-MM-DD.
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Sample the period every N days.
        #[arg(long, default_value_t = 7)]
        every: u32,
        /// Forget the stored normalisation and use the configuration's defaults again.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        reset: bool,
    },
    /// Explain a cell: its score, decomposition, coverage and the events behind it.
    Explain {
        /// The H3 cell (as in the `h3` column of the grid).
        h3: String,
        /// Snapshot date, YYYY-MM-DD (default: the latest).
        #[arg(long)]
        date: Option<String>,
        /// How many contributing events to list.
        #[arg(long, default_value_t = 10)]
        top: usize,
    },
    /// Serve the latest snapshot over HTTP (and swap to newer ones as they are published).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
        /// Serve a non-loopback address with no tokens configured: anyone who can reach it
        /// sees where the bases are. Without this flag such an address is refused.
        #[arg(long)]
        allow_anonymous: bool,
    },
    /// Make a bearer token for the API: prints the token once and the [[server.tokens]]
    /// entry (its SHA-256) to add to vigil.toml.
    Token {
        /// Who will hold it.
        #[arg(long)]
        name: String,
        /// Scopes: risk:read, deployments:read (bases, gaps, scenarios, plans), admin.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
    },
    /// Write a table or a daily grid as CSV, GeoParquet, GeoJSON or GeoPackage (cells as H3
    /// strings in `h3`), a day's vector tiles as one PMTiles archive, or a field kit (a folder
    /// with the day's GeoPackage, tiles, grid CSV, QGIS style and a README) for offline use.
    Export {
        /// What to export.
        what: WhatArg,
        /// Snapshot date for `grid` and `rollup` (default: the latest).
        #[arg(long)]
        date: Option<String>,
        /// For `rollup`: a coarser H3 resolution (`res6`, `res5`, …) or a loaded area level
        /// (`ADM1`, `mission`, …).
        #[arg(long)]
        level: Option<String>,
        /// Output format (required but for `tiles`, which writes PMTiles, and `kit`, which
        /// writes a folder). `gpkg` and `pmtiles` need --out.
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
        /// Output file, or folder for `kit` (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Leave out deployment positions and coverage fields (grid, tiles, kit): for sharing
        /// with those who may not see deployments.
        #[arg(long)]
        risk_only: bool,
    },
    /// Coverage summary per mission (or area level): cells, high-risk cells, gap cells,
    /// people in gaps, civilian deaths of the last 30/90 days inside gaps and the gap hit
    /// rate; for one snapshot, for every stored snapshot of a range (a time series), or for
    /// fixed reach radii (`--radii 5,10,25,50`, sensitivity).
    Coverage {
        /// Snapshot date, YYYY-MM-DD (default: the latest).
        #[arg(long, conflicts_with_all = ["from", "to"])]
        date: Option<String>,
        /// First day of a time series over the stored snapshots.
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// Last day of the time series (included).
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Group by `mission` (the nearest base's; default) or a loaded area level (`ADM1`…).
        #[arg(long)]
        by: Option<String>,
        /// Also recompute coverage with every base given each of these reach radii, km
        /// (comma-separated); the first rows are the snapshot as scored (reach by size).
        #[arg(long, value_delimiter = ',', conflicts_with = "from")]
        radii: Vec<f64>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormatArg,
    },
    /// Responsiveness: for cells that entered high or critical in the stored snapshots of a
    /// range, the days until they were covered (median, share within 30 and 90 days; per
    /// mission and year; Kaplan–Meier for cells still uncovered at the end).
    Responsiveness {
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD (included).
        #[arg(long)]
        to: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormatArg,
    },
    /// What-if: apply a scenario (bases opened and closed; a .json or .toml file, see
    /// docs/methodology.md §7.6) to a snapshot in memory and report the cells whose coverage
    /// changes and the summary deltas. Nothing is stored.
    Scenario {
        /// The scenario file.
        file: PathBuf,
        /// Snapshot date, YYYY-MM-DD (default: the latest).
        #[arg(long)]
        date: Option<String>,
        /// Output format (csv: the changed cells).
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormatArg,
    },
    /// Propose sites for new temporary operating bases: greedy maximal covering (lazy) of
    /// the people in gap cells, with each site's marginal gain. `--format json` also gives
    /// the sites as a scenario file.
    Plan {
        /// Number of sites.
        #[arg(long)]
        k: usize,
        /// Snapshot date, YYYY-MM-DD (default: the latest).
        #[arg(long)]
        date: Option<String>,
        /// Reach of each new base, km (default: coverage.post_radius_km, 10).
        #[arg(long)]
        radius_km: Option<f64>,
        /// Troops of each new base.
        #[arg(long, default_value_t = 100)]
        troops: i64,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormatArg,
    },
    /// Per year, the civilian deaths of violence against civilians that fell outside every
    /// base's reach on the day (events against the bases table, independent of the index).
    OutsideReach {
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD (included).
        #[arg(long)]
        to: String,
        /// Only the bases of this mission (default: every stored base).
        #[arg(long)]
        mission: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormatArg,
    },
    /// Backtest the index: at rolling origins, score as of the origin and compare with the
    /// civilian-harm events of the next horizon, beside the calibrated probability,
    /// persistence, 12-month history and a random ranking (ROC-AUC, average precision,
    /// recall of the top 1/5/10 % of cells, Brier score and reliability, lead time).
    /// Nothing in the store changes.
    Backtest {
        /// First origin, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last origin, YYYY-MM-DD.
        #[arg(long)]
        to: String,
        /// Days between origins (`7` or `7d`; `1w` = 7).
        #[arg(long, default_value = "7", value_parser = vigil::model::day::parse_days)]
        step: u32,
        /// Horizon in days (`30` or `30d`; repeat for several).
        #[arg(long = "horizon", default_values = ["30"], value_parser = vigil::model::day::parse_days)]
        horizons: Vec<u32>,
        /// Last day of the tuning window, YYYY-MM-DD: the calibration of each horizon is
        /// fitted on the origins whose horizon ends by it and evaluated on the later
        /// origins (reported as the `evaluation` window). Without it: one window, and the
        /// calibration stored by `vigil calibrate`, if any.
        #[arg(long, value_name = "DATE")]
        tune_until: Option<String>,
        /// Folder for results.json, results.md and the SVG figures (precision–recall
        /// curves, reliability diagram, skill by year).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write rows.parquet into --out: the cell-origin rows the run judged (every
        /// cell followed by civilian harm; the others sampled by stratum and weighted by
        /// the inverse of their rate), with the outcomes, the references' scores, the
        /// index, the forecast's probability and its inputs, for study outside Vigil
        /// (`benches/forecast/bounds.py`). One process only (not with --shard or --merge).
        #[arg(long, requires = "out", conflicts_with_all = ["shard", "merge"])]
        rows: bool,
        /// Run as worker I/N of a job of N (an Indexed Job: JOB_COMPLETION_INDEX of
        /// JOB_COMPLETIONS, when absent): score this worker's block of each window's
        /// origins into the store's work folder; the last worker to finish writes
        /// results.json and results.md there (and into --out), the same bytes as one
        /// process gives. Give every worker the same options.
        #[arg(long, value_parser = parse_shard, value_name = "I/N", conflicts_with = "merge")]
        shard: Option<vigil::model::shard::Shard>,
        /// Put together the parts N workers wrote (with the options they were given) into
        /// --out, without scoring anything.
        #[arg(long, value_name = "N")]
        merge: Option<usize>,
        /// With --shard and --tune-until: how long at least a worker waits for the others'
        /// tuning rows before scoring the missing ones itself (it also waits twice as long
        /// as its own took). The results do not depend on it.
        #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION", requires = "shard")]
        wait: std::time::Duration,
    },
    /// Fit the calibration (a logistic model on the index components giving the probability
    /// of civilian harm in a cell within the horizon) on the weekly origins of a tuning
    /// window, and store it: snapshots scored afterwards carry a `probability` column.
    Calibrate {
        /// First origin of the tuning window, YYYY-MM-DD.
        #[arg(long, requires = "to", required_unless_present = "reset")]
        from: Option<String>,
        /// Last day of the tuning window, YYYY-MM-DD: only origins whose horizon ends by
        /// it are used, so no later event is seen.
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Days between origins (`7` or `7d`).
        #[arg(long, default_value = "7", value_parser = vigil::model::day::parse_days)]
        step: u32,
        /// The horizon the probability refers to (`30` or `30d`).
        #[arg(long, default_value = "30", value_parser = vigil::model::day::parse_days)]
        horizon: u32,
        /// Remove the stored calibration: later snapshots carry no probability.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        reset: bool,
        /// Run as worker I/N of a job of N (or JOB_COMPLETION_INDEX of JOB_COMPLETIONS):
        /// this worker's block of origins' training rows into the store's work folder; the
        /// last worker to finish fits and stores the calibration, the same as one process.
        #[arg(long, value_parser = parse_shard, value_name = "I/N", requires = "from", conflicts_with = "merge")]
        shard: Option<vigil::model::shard::Shard>,
        /// Fit and store the calibration from the rows N workers wrote.
        #[arg(long, value_name = "N", requires = "from")]
        merge: Option<usize>,
    },
    /// Generate the deterministic synthetic sample.
    Sample {
        /// Output folder.
        #[arg(long, default_value = "data/sample")]
        out: PathBuf,
        /// Random seed (the committed sample uses 7).
        #[arg(long, default_value_t = vigil::synthetic::sample::DEFAULT_SEED)]
        seed: u64,
        /// Instead of the sample, write N synthetic ACLED-layout rows to OUT/acled_N.csv
        /// (benchmark input).
        #[arg(long, value_name = "N", conflicts_with = "bench_store")]
        acled_rows: Option<usize>,
        /// Instead of the sample, write a large synthetic store into --store for the scoring
        /// benchmarks: a mission area of about --cells cells and --events clustered events.
        #[arg(long)]
        bench_store: bool,
        /// Cells of the synthetic store's area.
        #[arg(long, default_value_t = 1_000_000, requires = "bench_store")]
        cells: usize,
        /// Events of the synthetic store.
        #[arg(long, default_value_t = 1_000_000, requires = "bench_store")]
        events: usize,
    },
    /// One run of the daily loop, for a timer: ingest the new files of the drop folders
    /// (`[[update.sources]]`; files seen before, by content, are skipped), score every day
    /// after the last snapshot up to the latest day with data (never after today), follow
    /// the alert episodes and deliver their messages (`[[alerts.webhooks]]`). Safe to run
    /// every 15 minutes. Exit codes: 0 nothing to do or done; 3 a file was refused; 4 a
    /// message went to the dead-letter file; 5 another writer held the store past
    /// --lock-timeout; 1 any other error. Prints one line; see docs/operations.md.
    Update {
        /// Also write what the run did as JSON to this file.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
    },
    /// Alert messages.
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
    /// Remove what no reader needs any more: temporary files of writers that died, data
    /// files no manifest named, and files retired longer ago than the grace period
    /// (`store.gc_grace_secs`, default 600). Every writer also does this when it ends.
    Gc {
        /// Only list what would be removed.
        #[arg(long)]
        dry_run: bool,
        /// Grace period for retired files, seconds (default: store.gc_grace_secs). A server
        /// that read a manifest less than this long ago may still read its files.
        #[arg(long, value_name = "SECS")]
        grace: Option<u64>,
    },
    /// Check a running server: GET its /healthz and exit 0 when it answers 200 (for a
    /// container HEALTHCHECK; no curl needed).
    Healthcheck {
        /// The health URL (plain http).
        #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
    },
    /// Ingest the bundled sample, score its last day and the four weeks before it (a
    /// snapshot a week), and serve it; prints the map's URL first.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
        /// Serve a non-loopback address with no tokens configured (as `serve
        /// --allow-anonymous`): anyone who can reach it sees where the bases are.
        #[arg(long)]
        allow_anonymous: bool,
        /// Sample folder (generated into the store when absent).
        #[arg(long, default_value = "data/sample")]
        sample: PathBuf,
    },
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The log filter: `--log` when given (an error when it does not parse), else RUST_LOG,
/// else `info`.
fn log_filter(flag: Option<&str>) -> Result<tracing_subscriber::EnvFilter, String> {
    use tracing_subscriber::EnvFilter;
    match flag {
        Some(f) => EnvFilter::try_new(f).map_err(|e| format!("--log `{f}`: {e}")),
        None => Ok(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))),
    }
}

/// Weekly snapshots `vigil demo` scores before the sample's last day (the map's time
/// control steps through them).
const DEMO_WEEKS: u32 = 4;

/// `--shard I/N`.
fn parse_shard(s: &str) -> Result<vigil::model::shard::Shard, String> {
    vigil::model::shard::Shard::parse(s)
}

/// The shard of a batch command: `--shard`, else the environment of an Indexed Job.
fn job_shard(
    arg: Option<vigil::model::shard::Shard>,
) -> Result<Option<vigil::model::shard::Shard>, app::Error> {
    match arg {
        Some(s) => Ok(Some(s)),
        None => vigil::model::shard::Shard::from_env().map_err(|reason| app::Error::Environment {
            variable: vigil::model::shard::INDEX_VAR,
            reason,
        }),
    }
}

/// `--store`: a folder or the URL of a bucket (see [`vigil::store::Location::parse`]).
fn parse_store(s: &str) -> Result<vigil::store::Location, String> {
    vigil::store::Location::parse(s, &vigil::store::default_cache_root()).map_err(|e| e.to_string())
}

/// A duration: whole seconds, or a number with `s`, `m` or `h`.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 600, 90s, 10m or 1h"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => {
            return Err(format!(
                "`{s}` is not a duration such as 600, 90s, 10m or 1h"
            ))
        }
    };
    Ok(std::time::Duration::from_secs(secs))
}

/// The multi-threaded Tokio runtime the server runs on (polars' scans need one).
fn runtime() -> Result<tokio::runtime::Runtime, app::Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(app::Error::Runtime)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    set_memory_policy(
        !matches!(
            cli.command,
            Command::Serve { .. } | Command::Demo { .. } | Command::Healthcheck { .. }
        ),
        matches!(cli.command, Command::Score { from: Some(_), .. }),
    );
    let filter = match log_filter(cli.log.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => {
            use std::io::IsTerminal;
            logs.with_ansi(std::io::stderr().is_terminal()).init()
        }
    }
    vigil::model::progress::set_reporter(Box::new(cli::progress::Bars));
    let ctx = Context {
        lock: vigil::store::lock::LockOptions {
            timeout: cli.lock_timeout,
            no_wait: cli.no_wait,
        },
        ..Context::at(&cli.store, cli.config)
    };
    // The exit code of a command that finished (`vigil update`, `alerts redeliver`).
    let mut status: u8 = 0;
    let result = match cli.command {
        Command::Ingest {
            kind,
            path,
            level,
            name_field,
            period,
            variable,
            units,
        } => {
            let opts = IngestOptions {
                level,
                name_field,
                period,
                variable,
                units: units.into(),
            };
            app::ingest(&ctx, kind.into(), &path, &opts)
                .map(|r| println!("{}", print::ingest_report(&r)))
        }
        Command::Score {
            date,
            from,
            to,
            every,
            shard,
        } => match (from, to) {
            (Some(from), Some(to)) => job_shard(shard)
                .and_then(|shard| app::score_range(&ctx, &from, &to, every, shard))
                .map(|days| {
                    for (d, info) in days {
                        println!("{}", print::snapshot_summary(&d, &info));
                    }
                }),
            _ => app::score(&ctx, date.as_deref())
                .map(|(d, info)| println!("{}", print::snapshot_summary(&d, &info))),
        },
        Command::Normalise {
            from,
            to,
            every,
            reset: _,
        } => {
            let range = from.as_deref().zip(to.as_deref());
            app::normalise(&ctx, range, every)
                .map(|n| println!("{}", print::normalisation_summary(&n)))
        }
        Command::Explain { h3, date, top } => {
            app::explain(&ctx, &h3, date.as_deref()).map(|e| print!("{}", e.report(top)))
        }
        Command::Serve {
            bind,
            allow_anonymous,
        } => runtime()
            .and_then(|rt| rt.block_on(app::serve(&ctx, &bind, allow_anonymous, print::urls))),
        Command::Token { name, scopes } => {
            app::token(&name, &scopes).map(|t| print!("{}", print::token(&t)))
        }
        Command::Export {
            what,
            date,
            level,
            format,
            out,
            risk_only,
        } => app::export(
            &ctx,
            &vigil::output::export::Request {
                what: what.into(),
                date: date.as_deref(),
                level: level.as_deref(),
                format: format.map(Into::into),
                out: out.as_deref(),
                audience: vigil::model::visibility::Audience::of(!risk_only),
            },
        )
        .map(|n| {
            if let Some(p) = &out {
                eprintln!("wrote {n} bytes to {}", p.display());
            }
        }),
        Command::Sample {
            bench_store: true,
            seed,
            cells,
            events,
            ..
        } => app::bench_store(&ctx, cells, events, seed)
            .map(|s| println!("{}", print::bench_store(&ctx.location(), &s))),
        Command::Sample {
            out,
            seed,
            acled_rows,
            ..
        } => app::sample(&out, seed, acled_rows).map(|files| {
            for f in files {
                println!("{f}");
            }
        }),
        Command::Backtest {
            from,
            to,
            step,
            horizons,
            tune_until,
            out,
            rows,
            shard,
            merge,
            wait,
        } => {
            let req = app::BacktestRequest {
                from: &from,
                to: &to,
                step,
                horizons: &horizons,
                tune_until: tune_until.as_deref(),
                out: out.as_deref(),
                rows,
            };
            match merge {
                Some(n) => app::backtest_merge(&ctx, &req, n).map(|b| print!("{}", b.report())),
                None => job_shard(shard).and_then(|shard| match shard {
                    None => app::backtest(&ctx, &req).map(|b| print!("{}", b.report())),
                    Some(s) => app::backtest_shard(&ctx, &req, s, wait).map(|o| {
                        print!(
                            "{}",
                            print::shard_outcome(&s, &o, o.results.as_ref().map(|b| b.report()))
                        );
                    }),
                }),
            }
        }
        Command::Calibrate {
            from,
            to,
            step,
            horizon,
            reset: _,
            shard,
            merge,
        } => {
            let range = from.as_deref().zip(to.as_deref());
            match (range, merge) {
                (Some(range), Some(n)) => app::calibrate_merge(&ctx, range, step, horizon, n)
                    .map(|c| print!("{}", print::calibration(Some(&c)))),
                (Some(range), None) => job_shard(shard).and_then(|shard| match shard {
                    Some(s) => app::calibrate_shard(&ctx, range, step, horizon, s).map(|o| {
                        let fitted = o.results.as_ref().map(|c| print::calibration(Some(c)));
                        print!("{}", print::shard_outcome(&s, &o, fitted));
                    }),
                    None => app::calibrate(&ctx, Some(range), step, horizon)
                        .map(|c| print!("{}", print::calibration(c.as_ref()))),
                }),
                (None, _) => app::calibrate(&ctx, None, step, horizon)
                    .map(|c| print!("{}", print::calibration(c.as_ref()))),
            }
        }
        Command::Demo {
            bind,
            sample,
            allow_anonymous,
        } => app::load_sample_weeks(&ctx, &sample, DEMO_WEEKS).and_then(|d| {
            print::demo(&sample, &d);
            runtime()?.block_on(app::serve(&ctx, &bind, allow_anonymous, print::urls))
        }),
        Command::Update { report } => app::update(&ctx, report.as_deref()).map(|r| {
            println!("{}", print::update_summary(&r));
            status = match r.status() {
                app::UpdateStatus::Done => 0,
                app::UpdateStatus::InputRefused => 3,
                app::UpdateStatus::DeliveryFailed => 4,
            };
        }),
        Command::Alerts {
            command: AlertsCommand::Redeliver,
        } => app::redeliver(&ctx).map(|r| {
            println!(
                "redeliver: {} delivered, {} still in the dead-letter file",
                r.delivered, r.kept
            );
            if r.kept > 0 {
                status = 4;
            }
        }),
        Command::Gc { dry_run, grace } => {
            app::gc(&ctx, grace, dry_run).map(|r| print!("{}", print::gc_report(&r, dry_run)))
        }
        Command::Healthcheck { url } => app::healthcheck(&url),
        Command::Coverage {
            date,
            from,
            to,
            by,
            radii,
            format,
        } => {
            let req = app::CoverageRequest {
                date: date.as_deref(),
                range: from.as_deref().zip(to.as_deref()),
                by: by.as_deref(),
                radii,
            };
            app::coverage(&ctx, &req).and_then(|rows| {
                print!("{}", render(&rows, format.into())?);
                Ok(())
            })
        }
        Command::Responsiveness { from, to, format } => app::responsiveness(&ctx, &from, &to)
            .and_then(|r| {
                print!("{}", print::responsiveness(&r, format.into())?);
                Ok(())
            }),
        Command::Scenario { file, date, format } => app::scenario(&ctx, &file, date.as_deref())
            .and_then(|o| {
                print!("{}", print::scenario(&o, format.into())?);
                Ok(())
            }),
        Command::Plan {
            k,
            date,
            radius_km,
            troops,
            format,
        } => {
            let req = app::PlanRequest {
                date: date.as_deref(),
                k,
                radius_km,
                troops,
            };
            app::plan(&ctx, &req).and_then(|p| {
                print!("{}", print::plan(&p, format.into())?);
                Ok(())
            })
        }
        Command::OutsideReach {
            from,
            to,
            mission,
            format,
        } => app::outside_reach(&ctx, &from, &to, mission.as_deref()).and_then(|rows| {
            print!("{}", render(&rows, format.into())?);
            Ok(())
        }),
    };
    match result {
        Ok(()) => ExitCode::from(status),
        Err(e) => {
            eprintln!("error: {e}");
            if matches!(e, app::Error::Store(vigil::StoreError::Locked { .. })) {
                ExitCode::from(5)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
