//! HTTP at the sample's scale (issue 6), in process (server time, no network): a
//! 1,000-feature items page, single tiles (criterion), and the latency distribution of every
//! tile over the sample's area at zooms 5–10 (p50 / p95 / max printed; budget p95 ≤ 20 ms).
//! Throughput over loopback: benches/tiles_wrk.sh.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant};
use vigil::output::mvt::TileId;

mod common;
use common::fetch;

/// Every tile of zooms 5..=10 touching the sample's area.
fn tiles() -> Vec<String> {
    let mut out = Vec::new();
    for z in 5u8..=10 {
        let n = 2f64.powi(i32::from(z));
        let tx = |lon: f64| ((lon + 180.0) / 360.0 * n).floor() as u32;
        let ty = |lat: f64| {
            let r = f64::to_radians(lat);
            ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32
        };
        for x in tx(20.0)..=tx(22.4) {
            for y in ty(7.4)..=ty(5.6) {
                if TileId::new(z, x, y).is_some() {
                    out.push(format!("/tiles/risk/{z}/{x}/{y}.mvt"));
                }
            }
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ctx = vigil::app::Context::new(dir.path().join("store"), None);
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    vigil::app::load_sample(&ctx, &sample).unwrap_or_else(|e| panic!("{e}"));
    let state = vigil::server::load_state(&ctx.store, vigil::config::Config::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));

    let all = tiles();
    let mut times = Vec::new();
    let mut bytes = 0usize;
    for pass in 0..3 {
        for uri in &all {
            let t = Instant::now();
            let (status, n) = rt.block_on(fetch(state.clone(), uri.clone()));
            let dt = t.elapsed();
            assert!(status == 200 || status == 204, "{uri}: {status}");
            // The first pass includes building each resolution's roll-up once.
            if pass > 0 {
                times.push(dt);
                bytes += n;
            }
        }
    }
    times.sort();
    let q = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    eprintln!(
        "tiles z5–z10 over the sample: {} tiles × 2 passes, p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms, mean size {} bytes",
        all.len(),
        q(0.5).as_secs_f64() * 1e3,
        q(0.95).as_secs_f64() * 1e3,
        q(1.0).as_secs_f64() * 1e3,
        bytes / times.len().max(1)
    );

    let mut group = c.benchmark_group("api");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("items_page_1000_features", |b| {
        b.iter(|| {
            rt.block_on(fetch(
                state.clone(),
                "/collections/risk/items?limit=1000".into(),
            ))
        })
    });
    for uri in [
        "/tiles/risk/7/71/61.mvt",
        "/tiles/risk/10/571/493.mvt",
        "/tiles/risk/5/17/15.mvt",
    ] {
        group.bench_function(uri.trim_start_matches("/tiles/"), |b| {
            b.iter(|| rt.block_on(fetch(state.clone(), uri.into())))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
