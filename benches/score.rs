//! Scoring at scale (issue 4): one as-of day for 1,000,000 events over ≈1,000,000 cells,
//! and a 365-day daily range over a 150,000-cell mission area, on synthetic stores built by
//! `vigil::synthetic::bench_store` (the same as `vigil sample --bench-store`).
//! Budgets and measured numbers: docs/performance.md. Sizes can be lowered for a quick run:
//! VIGIL_BENCH_CELLS, VIGIL_BENCH_EVENTS.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant};
use vigil::config::Config;
use vigil::store::Store;

mod common;
use common::{env, scale};

fn bench(c: &mut Criterion) {
    let full = common::full();
    let cells = env("VIGIL_BENCH_CELLS", scale(1_000_000));
    let events = env("VIGIL_BENCH_EVENTS", scale(1_000_000));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let summary = vigil::synthetic::bench_store(dir.path(), cells, events, 7, &Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("store: {summary:?}");
    let config = Config::default();
    let last = summary.days.1;

    // The forecast's model, fitted by `vigil calibrate`'s function on the store's own weeks
    // before the day — before either benchmark, so that both run in a process in the same
    // state (fitting allocates gigabytes; measured after it, the day without the forecast
    // takes as long as after a fit, not as in a fresh process).
    let cal = {
        let store = Store::open(dir.path(), 7).unwrap_or_else(|e| panic!("{e}"));
        vigil::evaluation::calibrate(&store, &config, last - 120, last - 1, 28, 30)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let mut group = c.benchmark_group("score");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(40));
    group.bench_function("one_day_1m_events_1m_cells", |b| {
        let mut store = Store::open_writer(dir.path(), 7, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        // The day before is in the store, as in daily operation: its risks are read for
        // the deltas.
        vigil::risk::score_day(&mut store, &config, Some(last - 1))
            .unwrap_or_else(|e| panic!("{e}"));
        b.iter(|| vigil::risk::score_day(&mut store, &config, Some(last)))
    });
    // The same day with a forecast stored (issue 14: its inputs — counts within five radii
    // over four windows, recency, trend, deaths, admin and theatre rates — and the watch
    // computed for every cell; budget: ≤ 30 % over the day without it).
    group.bench_function("one_day_1m_events_1m_cells_with_forecast", |b| {
        let mut store = Store::open_writer(dir.path(), 7, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .set_calibration(Some(cal.clone()))
            .unwrap_or_else(|e| panic!("{e}"));
        vigil::risk::score_day(&mut store, &config, Some(last - 1))
            .unwrap_or_else(|e| panic!("{e}"));
        b.iter(|| vigil::risk::score_day(&mut store, &config, Some(last)))
    });
    group.finish();

    // The range: the same 1,000,000 events over a 150,000-cell mission area (CAR is ≈120,000
    // cells at resolution 7), 365 daily snapshots published.
    let range_cells = env("VIGIL_BENCH_RANGE_CELLS", scale(150_000));
    let range_events = env("VIGIL_BENCH_RANGE_EVENTS", scale(1_000_000));
    let range_days = if full { 365 } else { 5 };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let summary = vigil::synthetic::bench_store(
        dir.path(),
        range_cells,
        range_events,
        7,
        &Default::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("range store: {summary:?}");
    let days: Vec<i32> = ((summary.days.1 - range_days + 1)..=summary.days.1).collect();
    let mut group = c.benchmark_group("score_range");
    group.sample_size(10);
    group.bench_function("365_days_daily", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut store = Store::open_writer(dir.path(), 7, &Default::default())
                    .unwrap_or_else(|e| panic!("{e}"));
                let t = Instant::now();
                let out = vigil::risk::score_range(&mut store, &config, &days)
                    .unwrap_or_else(|e| panic!("{e}"));
                total += t.elapsed();
                assert_eq!(out.len(), days.len());
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
