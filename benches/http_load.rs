//! 64 concurrent clients against `vigil serve` on the sample store, each asking for the
//! heaviest page (`/collections/risk/items?limit=10000`) again and again for a bounded
//! time: requests/s, latency percentiles and the server's peak RSS (issue 12: ≤ 300 MB).
//!
//! `cargo bench --bench http_load` runs 20 s; under `cargo test --all-targets` it runs
//! once for 2 s with 8 clients, as a smoke test. Only loopback is used.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn get(addr: &str, path: &str) -> Option<(u16, usize)> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let status = std::str::from_utf8(buf.get(9..12)?).ok()?.parse().ok()?;
    Some((status, buf.len()))
}

fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (clients, seconds) = if bench { (64, 20) } else { (8, 2) };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ctx = vigil::app::Context::new(dir.path().join("store"), None);
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    vigil::app::load_sample(&ctx, &sample).unwrap_or_else(|e| panic!("{e}"));
    let mut server = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("--store")
        .arg(&ctx.store)
        .args(["--log", "warn", "serve", "--bind", "127.0.0.1:0"])
        .env_remove("VIGIL_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let pid = server.id();
    let stdout = server.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let addr = first
        .rsplit("http://")
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    std::thread::spawn(move || for _ in lines {});
    let idle_kb = peak_rss_kb(pid);
    let path = "/collections/risk/items?limit=10000";
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                let (mut bytes, mut failed) = (0usize, 0usize);
                while Instant::now() < until {
                    let t = Instant::now();
                    match get(&addr, path) {
                        Some((200, n)) => {
                            bytes += n;
                            lat.push(t.elapsed());
                        }
                        _ => failed += 1,
                    }
                }
                (lat, bytes, failed)
            })
        })
        .collect();
    let mut lat = Vec::new();
    let (mut bytes, mut failed) = (0, 0);
    for w in workers {
        let (l, b, f) = w.join().unwrap_or_else(|_| panic!("client panicked"));
        lat.extend(l);
        bytes += b;
        failed += f;
    }
    let wall = started.elapsed().as_secs_f64();
    let peak_kb = peak_rss_kb(pid);
    let _ = server.kill();
    let _ = server.wait();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "http_load: {clients} clients × {seconds} s on {path}: {} answers ({failed} failed), {:.1} req/s, {:.1} MB/s; latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; server peak RSS {:.0} MB (idle {:.0} MB)",
        lat.len(),
        lat.len() as f64 / wall,
        bytes as f64 / wall / 1e6,
        pct(0.5),
        pct(0.99),
        lat.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        peak_kb as f64 / 1024.0,
        idle_kb as f64 / 1024.0,
    );
}
