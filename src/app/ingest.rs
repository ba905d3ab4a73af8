//! Loading data: `vigil ingest`, the bundled sample (`vigil sample`, `vigil demo`) and the
//! synthetic benchmark stores (`vigil sample --bench-store`).

use super::{Context, Error};
use crate::ingest::{self, IngestOptions, Kind};
use crate::risk;
use crate::store::{IngestRecord, SnapshotInfo};
use crate::synthetic::sample::{self, SampleError};
use std::path::{Path, PathBuf};

/// `vigil ingest KIND PATH`: what the ingest read, accepted and rejected.
pub fn ingest(
    ctx: &Context,
    kind: Kind,
    path: &Path,
    opts: &IngestOptions,
) -> Result<IngestRecord, Error> {
    ctx.write(|config, store| Ok(ingest::ingest_file(store, config, kind, path, opts)?))
}

/// `vigil sample --out DIR --seed N [--acled-rows N]`: the files written.
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

/// A sample loaded into the store and scored.
#[derive(Debug, Clone, PartialEq)]
pub struct Demo {
    /// Where a sample was generated because the folder asked for had none.
    pub generated: Option<PathBuf>,
    /// Each file's ingest, in order.
    pub ingests: Vec<IngestRecord>,
    /// The date of the snapshot scored (the sample's last day).
    pub date: String,
    /// What the manifest records of it.
    pub info: SnapshotInfo,
    /// The earlier snapshots scored with it (weekly, oldest first).
    pub earlier: Vec<String>,
}

/// Ingests every file of the sample folder and scores its last day; a folder without the
/// sample gets one generated into the store (`vigil demo`).
pub fn load_sample(ctx: &Context, sample_dir: &Path) -> Result<Demo, Error> {
    load_sample_weeks(ctx, sample_dir, 0)
}

/// [`load_sample`], with the `weeks` weekly snapshots before its last day scored too (`vigil
/// demo`: the map's time control has days to step through).
pub fn load_sample_weeks(ctx: &Context, sample_dir: &Path, weeks: u32) -> Result<Demo, Error> {
    let (dir, generated) = if sample_dir.join(sample::FILES[0].1).exists() {
        (sample_dir.to_path_buf(), None)
    } else {
        let generated = ctx.store.join("sample");
        sample::generate(&generated, sample::DEFAULT_SEED)?;
        (generated.clone(), Some(generated))
    };
    ctx.write(|config, store| {
        let mut ingests = Vec::new();
        for (kind, file) in sample::FILES {
            let kind: Kind = kind.parse()?;
            ingests.push(ingest::ingest_file(
                store,
                config,
                kind,
                &dir.join(file),
                &IngestOptions::default(),
            )?);
        }
        let mut scored = risk::score_last_weeks(store, config, weeks)?;
        let (date, info) = scored.pop().ok_or(risk::ScoreError::NoEvents)?;
        Ok(Demo {
            generated,
            ingests,
            date,
            info,
            earlier: scored.into_iter().map(|(d, _)| d).collect(),
        })
    })
}

/// `vigil sample --bench-store --cells N --events M`: a large synthetic store (in the
/// `--store` folder) for the scoring benchmarks.
pub fn bench_store(
    ctx: &Context,
    cells: usize,
    events: usize,
    seed: u64,
) -> Result<crate::synthetic::Summary, Error> {
    let config = crate::config::Config::load(ctx.config.as_deref())?;
    let store = ctx.open_writer(&config)?;
    Ok(crate::synthetic::bench_store_into(
        store, cells, events, seed,
    )?)
}
