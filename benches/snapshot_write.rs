//! Issue 17: what publishing one snapshot of the 150,000-cell bench store costs, the
//! previous way and the store's way, side by side in one process (alternating runs):
//!
//! - encode: polars' `ParquetWriter` (Snappy) against `store::encode_parquet` (the same
//!   bytes — checked here — with floats encoded plain from the start and pages compressed on
//!   the thread pool);
//! - write: a file written through the page cache and synced (the previous
//!   `write_atomic`) against `store::write_atomic` (past the page cache where the system
//!   allows it).
//!
//! `cargo bench --bench snapshot_write` (under `cargo test --all-targets` it runs once, on
//! a store a hundredth of the size). Prints a Markdown table of medians.

use std::io::Write;
use std::time::{Duration, Instant};
use vigil::config::Config;
use vigil::store::Store;

mod common;
use common::{env, scale};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let cells = env("VIGIL_BENCH_RANGE_CELLS", scale(150_000));
    let events = env("VIGIL_BENCH_RANGE_EVENTS", scale(1_000_000));
    let runs = if common::full() { 15 } else { 1 };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let summary = vigil::synthetic::bench_store(dir.path(), cells, events, 7, &Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut store =
        Store::open_writer(dir.path(), 7, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let (date, _) = vigil::risk::score_day(&mut store, &Config::default(), Some(summary.days.1))
        .unwrap_or_else(|e| panic!("{e}"));
    let (df, _) = store.read_snapshot(&date).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("bench-out");
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));

    let polars_encode = |df: &mut polars::prelude::DataFrame| {
        let mut bytes = Vec::new();
        polars::prelude::ParquetWriter::new(&mut bytes)
            .with_compression(polars::prelude::ParquetCompression::Snappy)
            .finish(df)
            .unwrap_or_else(|e| panic!("{e}"));
        bytes
    };
    let (mut enc_polars, mut enc_store) = (Vec::new(), Vec::new());
    let mut bytes = Vec::new();
    for _ in 0..runs {
        let mut a = df.clone();
        let t = Instant::now();
        let theirs = polars_encode(&mut a);
        enc_polars.push(t.elapsed());
        let mut b = df.clone();
        let t = Instant::now();
        let ours = vigil::store::encode_parquet(&mut b, &out).unwrap_or_else(|e| panic!("{e}"));
        enc_store.push(t.elapsed());
        assert!(theirs == ours, "the store's encoder wrote other bytes");
        bytes = ours;
    }

    let (mut w_cache, mut w_store) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let path = out.join(format!("cache-{i}.parquet"));
        let t = Instant::now();
        let mut f = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        f.write_all(&bytes).unwrap_or_else(|e| panic!("{e}"));
        f.sync_all().unwrap_or_else(|e| panic!("{e}"));
        w_cache.push(t.elapsed());
        let path = out.join(format!("store-{i}.parquet"));
        let t = Instant::now();
        vigil::store::write_atomic(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));
        w_store.push(t.elapsed());
        assert!(std::fs::read(&path).unwrap_or_else(|e| panic!("{e}")) == bytes);
    }

    println!(
        "snapshot of {} cells, {} columns, {} bytes; medians of {runs} alternating runs",
        df.height(),
        df.width(),
        bytes.len()
    );
    println!("| step | previous | store | ratio |");
    println!("|---|---:|---:|---:|");
    for (step, a, b) in [
        (
            "encode (Parquet, Snappy)",
            median(enc_polars),
            median(enc_store),
        ),
        ("write and sync", median(w_cache), median(w_store)),
    ] {
        println!(
            "| {step} | {:.1} ms | {:.1} ms | {:.2}× |",
            ms(a),
            ms(b),
            a.as_secs_f64() / b.as_secs_f64().max(1e-9)
        );
    }
}
