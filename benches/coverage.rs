//! Coverage at scale (issue 5): a what-if scenario recomputed over a 150,000-cell mission
//! area (budget ≤ 200 ms) and `plan --k 10` (budget ≤ 2 s), on the synthetic store of
//! `vigil::synthetic::bench_store` (150 bases, 1,000,000 events) scored for its last day.
//! Also reported: loading that snapshot from the store, which the CLI adds to both.
//! Measured numbers: docs/performance.md. Sizes: VIGIL_BENCH_RANGE_CELLS, VIGIL_BENCH_EVENTS.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;
use vigil::analysis::plan::{plan, PlanOptions};
use vigil::analysis::recompute::SnapshotGrid;
use vigil::analysis::scenario::{evaluate, NewBase, Scenario};
use vigil::config::Config;
use vigil::model::rows::Base;
use vigil::store::snapshot::Snapshot;
use vigil::store::Store;

mod common;
use common::{env, scale};

fn bench(c: &mut Criterion) {
    let cells = env("VIGIL_BENCH_RANGE_CELLS", scale(150_000));
    let events = env("VIGIL_BENCH_EVENTS", scale(1_000_000));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let summary = vigil::synthetic::bench_store(dir.path(), cells, events, 7, &Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let config = Config::default();
    let mut store =
        Store::open_writer(dir.path(), 7, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let (date, info) = vigil::risk::score_day(&mut store, &config, Some(summary.days.1))
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "store: {summary:?}; snapshot {date}: {} cells, tiers {:?}, {} gap cells",
        info.cells, info.tiers, info.gaps
    );
    let snap = Snapshot::load(&store, Some(&date)).unwrap_or_else(|e| panic!("{e}"));
    let bases: Vec<Base> = store.read().unwrap_or_else(|e| panic!("{e}"));
    let res = h3o::Resolution::Seven;
    // Two temporary operating bases at the two riskiest gap cells, and the first active
    // base closed.
    let mut gaps: Vec<&vigil::model::cell::CellRecord> =
        snap.cells.iter().filter(|r| r.flags.gap).collect();
    gaps.sort_by(|a, b| b.risk.total_cmp(&a.risk));
    let scenario = Scenario {
        add: gaps
            .iter()
            .take(2)
            .enumerate()
            .map(|(i, r)| NewBase {
                name: format!("TOB {i}"),
                lat: r.lat,
                lon: r.lon,
                troops: 120,
                radius_km: None,
                mission: None,
            })
            .collect(),
        close: snap
            .cells
            .iter()
            .find_map(|r| r.coverage.nearest_base.as_deref().map(str::to_owned))
            .into_iter()
            .collect(),
    };

    let mut group = c.benchmark_group("coverage");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("load_snapshot_150k_cells", |b| {
        b.iter(|| Snapshot::load(&store, Some(&date)).map(|s| s.cells.len()))
    });
    group.bench_function("scenario_150k_cells", |b| {
        b.iter(|| {
            let grid = SnapshotGrid::new(&snap.cells, res, &config.coverage);
            let out = evaluate(&grid, &snap, &scenario, &bases, &config.coverage)
                .unwrap_or_else(|e| panic!("{e}"));
            out.changed.len()
        })
    });
    let opts = PlanOptions {
        k: 10,
        radius_km: config.coverage.post_radius_km,
        troops: 100,
    };
    let grid = SnapshotGrid::new(&snap.cells, res, &config.coverage);
    let p = plan(&grid, &date, &opts);
    eprintln!(
        "plan: {} gap cells, {:.0} {} in gaps, {} sites, {:.0} covered",
        p.demand_cells,
        p.demand,
        p.unit,
        p.sites.len(),
        p.demand - p.remaining
    );
    group.bench_function("plan_k10_150k_cells", |b| {
        b.iter(|| {
            let grid = SnapshotGrid::new(&snap.cells, res, &config.coverage);
            plan(&grid, &date, &opts).sites.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
