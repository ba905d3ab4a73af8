//! The store in a bucket against the store in a folder (issue 19), on the bundled sample:
//! loading it (ingest of the six files and the last day's score), scoring a month of days,
//! a server's first load (the bucket's with an empty cache, as a new replica starts), an
//! items page of 1,000 features and a tile (in process, median of many), and a backtest
//! with its tuning window (a cold cache: every table fetched). The bucket is moto's S3
//! server on loopback (VIGIL_MOTO_SERVER; skips without it) — a Python server, slower per
//! request than S3, MinIO or Ceph, so the bucket's column is an upper bound of the cost.
//! Prints a Markdown table (docs/performance.md). Under `cargo test --all-targets` it
//! runs once at small sizes.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use vigil::app::{self, BacktestRequest, Context};
use vigil::store::Location;

mod common;
use common::fetch;

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http(port: u16, method: &str, path: &str) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_whitespace().nth(1)?.parse().ok()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 100.0 {
        format!("{:.0} ms", ms)
    } else {
        format!("{ms:.2} ms")
    }
}

/// One location's figures, in the table's order.
fn measure(location: &Location, fresh_cache: &Path, full: bool) -> Vec<Duration> {
    let ctx = Context::at(location, None);
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    let t = Instant::now();
    app::load_sample(&ctx, &sample).unwrap_or_else(|e| panic!("{e}"));
    let load = t.elapsed();

    let (from, to) = if full {
        ("2024-12-01", "2024-12-30")
    } else {
        ("2024-12-28", "2024-12-30")
    };
    let runs = if full { 3 } else { 1 };
    let score = median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                app::score_range(&ctx, from, to, 1, None).unwrap_or_else(|e| panic!("{e}"));
                t.elapsed()
            })
            .collect(),
    );

    // A new replica: the bucket read through an empty cache.
    let cold = match location {
        Location::Folder(_) => location.clone(),
        Location::Bucket { url, .. } => Location::Bucket {
            url: url.clone(),
            cache: fresh_cache.join("serve"),
        },
    };
    let t = Instant::now();
    let state = vigil::server::load_state_at(&cold, vigil::config::Config::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let first_load = t.elapsed();
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let n = if full { 200 } else { 3 };
    let timed = |uri: &str| {
        median(
            (0..n)
                .map(|_| {
                    let t = Instant::now();
                    let (status, _) = rt.block_on(fetch(state.clone(), uri.to_owned()));
                    assert!(status == 200 || status == 204, "{uri}: {status}");
                    t.elapsed()
                })
                .collect(),
        )
    };
    let items = timed("/collections/risk/items?limit=1000");
    let tile = timed("/tiles/risk/8/142/123.mvt");

    let backtest_ctx = Context::at(&cold, None);
    let out = fresh_cache.join("backtest");
    let t = Instant::now();
    app::backtest(
        &backtest_ctx,
        &BacktestRequest {
            from: "2023-01-01",
            to: "2024-11-30",
            step: if full { 7 } else { 56 },
            horizons: &[30],
            tune_until: Some("2023-12-31"),
            out: Some(&out),
            rows: false,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let backtest = t.elapsed();
    vec![load, score, first_load, items, tile, backtest]
}

fn main() {
    let Some(exe) = std::env::var_os("VIGIL_MOTO_SERVER") else {
        eprintln!("skipping the object-store bench: set VIGIL_MOTO_SERVER to moto_server (pip install 'moto[server]==5.2.6')");
        return;
    };
    let full = common::full();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let _moto = Moto(
        Command::new(exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("moto_server: {e}")),
    );
    let started = Instant::now();
    while http(port, "GET", "/") != Some(200) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "moto_server did not start"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(http(port, "PUT", "/bench"), Some(200));
    std::env::set_var("AWS_ACCESS_KEY_ID", "bench");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "bench-secret");
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"));
    std::env::set_var("AWS_ALLOW_HTTP", "true");

    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let folder = Location::Folder(tmp.path().join("store"));
    let bucket = Location::parse("s3://bench/store", &tmp.path().join("cache"))
        .unwrap_or_else(|e| panic!("{e}"));
    let f = measure(&folder, &tmp.path().join("fresh-folder"), full);
    let b = measure(&bucket, &tmp.path().join("fresh-bucket"), full);
    let days = if full { 30 } else { 3 };
    let steps = [
        "load the sample (6 ingests, 1 day scored)".to_owned(),
        format!("score {days} days (--from/--to)"),
        "server's first load (bucket: empty cache)".to_owned(),
        "items page, 1,000 features (median)".to_owned(),
        "tile z8 (median)".to_owned(),
        "backtest with tuning window (empty cache)".to_owned(),
    ];
    println!("| on the sample | folder | bucket (moto, loopback) | bucket / folder |");
    println!("|---|---:|---:|---:|");
    for ((step, f), b) in steps.iter().zip(&f).zip(&b) {
        println!(
            "| {step} | {} | {} | {:.2}× |",
            ms(*f),
            ms(*b),
            b.as_secs_f64() / f.as_secs_f64().max(1e-9)
        );
    }
}
