//! Criterion benchmarks of the pipeline stages on the bundled sample:
//! ingest of the ACLED file, one as-of scoring day, and a 1,000-feature items page.
//! Budgets and measured numbers: docs/performance.md.

use criterion::{criterion_group, criterion_main, Criterion};
use std::path::Path;
mod common;
use vigil::app::{self, Context};
use vigil::config::Config;
use vigil::ingest::{self, Kind};
use vigil::store::Store;

fn sample() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample")
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ctx = Context::new(dir.path().join("store"), None);
    let date = app::load_sample(&ctx, &sample())
        .unwrap_or_else(|e| panic!("{e}"))
        .date;
    let config = Config::default();
    let acled = std::fs::read(sample().join("acled.csv")).unwrap_or_else(|e| panic!("{e}"));

    c.bench_function("parse_acled_sample", |b| {
        b.iter(|| ingest::acled::read("acled.csv", &acled, h3o::Resolution::Seven))
    });

    c.bench_function("ingest_acled_sample_into_fresh_store", |b| {
        b.iter_with_setup(
            || tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")),
            |d| {
                let mut store = Store::open_writer(d.path(), 7, &Default::default())
                    .unwrap_or_else(|e| panic!("{e}"));
                ingest::ingest_file(
                    &mut store,
                    &config,
                    Kind::Acled,
                    &sample().join("acled.csv"),
                    &Default::default(),
                )
            },
        )
    });

    c.bench_function("score_one_day_sample", |b| {
        let mut store = Store::open_writer(&ctx.store, 7, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let day = vigil::model::day::parse_iso_date(&date);
        b.iter(|| vigil::risk::score_day(&mut store, &config, day))
    });

    let state =
        vigil::server::load_state(&ctx.store, config.clone()).unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("items_page_1000_features", |b| {
        b.iter(|| {
            rt.block_on(common::fetch(
                state.clone(),
                "/collections/risk/items?limit=1000".into(),
            ))
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
