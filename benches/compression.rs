//! Issue 16: bytes and server time of the heavy answers with and without gzip, in process
//! (no network): the 1,000-feature items page, and the GeoJSON and CSV grids of the served
//! day. A grid's gzip encoding is made once per snapshot and kept (first request: `cold`),
//! pages are compressed per request by the compression layer.
//!
//! `cargo bench --bench compression` (under `cargo test --all-targets` it runs once, small).

use std::time::{Duration, Instant};

mod common;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ctx = vigil::app::Context::new(dir.path().join("store"), None);
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    vigil::app::load_sample(&ctx, &sample).unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let runs = if common::full() { 15 } else { 2 };
    println!("| answer | coding | bytes | first request ms | median of {runs} ms |");
    println!("|---|---|---:|---:|---:|");
    for uri in [
        "/collections/risk/items?limit=1000",
        "/grids/latest.geojson",
        "/grids/latest.csv",
    ] {
        // A fresh server per answer, so that `first request` includes every cache fill.
        let state = vigil::server::load_state(&ctx.store, vigil::config::Config::default())
            .unwrap_or_else(|e| panic!("{e}"));
        for coding in ["", "gzip"] {
            let mut times = Vec::new();
            let mut size = 0;
            let mut first = Duration::ZERO;
            for i in 0..=runs {
                let t = Instant::now();
                let headers: &[(&str, &str)] = match coding {
                    "" => &[],
                    _ => &[("accept-encoding", coding)],
                };
                let (status, n) = rt.block_on(common::fetch_with(state.clone(), uri, headers));
                let dt = t.elapsed();
                assert_eq!(status, 200, "{uri}");
                size = n;
                match i {
                    0 => first = dt,
                    _ => times.push(dt),
                }
            }
            println!(
                "| `{uri}` | {} | {size} | {:.1} | {:.1} |",
                if coding.is_empty() {
                    "identity"
                } else {
                    coding
                },
                first.as_secs_f64() * 1e3,
                median(times).as_secs_f64() * 1e3
            );
        }
    }
}
