//! Ingest of a generated ACLED export: 1,000,000 rows under `cargo bench` (the budget is
//! 2 s on the 2-core machine), 10,000 rows when run once as a test. Peak memory is measured
//! by `benches/ingest_1m.sh`. Numbers: docs/performance.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vigil::config::Config;
use vigil::ingest::{self, Kind};
use vigil::store::Store;

fn rows() -> usize {
    if let Ok(n) = std::env::var("VIGIL_BENCH_ROWS") {
        if let Ok(n) = n.parse() {
            return n;
        }
    }
    if std::env::args().any(|a| a == "--bench") {
        1_000_000
    } else {
        10_000
    }
}

fn bench(c: &mut Criterion) {
    let n = rows();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join(format!("acled_{n}.csv"));
    std::fs::write(&path, vigil::synthetic::sample::scaled_acled(n, 42))
        .unwrap_or_else(|e| panic!("{e}"));
    let config = Config::default();
    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(format!("acled_{n}_rows_into_fresh_store"), |b| {
        b.iter_with_setup(
            || tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")),
            |store_dir| {
                let mut store = Store::open_writer(store_dir.path(), 7, &Default::default())
                    .unwrap_or_else(|e| panic!("{e}"));
                let record = ingest::ingest_file(
                    &mut store,
                    &config,
                    Kind::Acled,
                    &path,
                    &Default::default(),
                )
                .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(record.accepted, n);
                store_dir
            },
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
