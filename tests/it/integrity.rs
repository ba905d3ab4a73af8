//! Store integrity under concurrent use (issue 12): two writers at once, a server reading
//! while a date is re-scored, kill -9 at random moments, and the garbage collector after.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use vigil::store::Store;

fn vigil() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
    c.env_remove("VIGIL_STORE").env_remove("VIGIL_CONFIG");
    c
}

fn run(store: &Path, args: &[&str]) -> Output {
    vigil()
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn spawn(store: &Path, args: &[&str]) -> Child {
    vigil()
        .arg("--store")
        .arg(store)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The sample, ingested and scored once; each trial copies it.
fn base_store() -> &'static (tempfile::TempDir, PathBuf) {
    static BASE: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    BASE.get_or_init(|| {
        let (dir, ctx, _) = common::scored_store();
        let store = ctx.store.clone();
        (dir, store)
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    for e in std::fs::read_dir(from)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// A fresh copy of the scored sample store.
fn trial_store(dir: &Path, name: &str) -> PathBuf {
    let store = dir.join(name);
    copy_dir(&base_store().1, &store);
    store
}

/// A small ACLED file of events that the sample does not have (ids `{tag}-n`).
fn extra_acled(dir: &Path, tag: &str, n: usize) -> PathBuf {
    let mut text = String::from(
        "event_id_cnty,event_date,event_type,sub_event_type,civilian_targeting,latitude,longitude,geo_precision,fatalities\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "{tag}-{i},2024-12-{:02},Violence against civilians,Attack,Civilian targeting,{:.4},{:.4},1,{}\n",
            1 + i % 28,
            6.4 + (i % 17) as f64 * 0.01,
            21.0 + (i % 13) as f64 * 0.01,
            i % 3
        ));
    }
    let path = dir.join(format!("acled-{tag}.csv"));
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// Every file the manifest names exists and reads; returns the manifest.
fn check_consistent(store: &Path) -> vigil::store::Manifest {
    let s = Store::open(store, 7).unwrap_or_else(|e| panic!("{}: {e}", store.display()));
    let m = s.manifest().clone();
    for f in m.live_files() {
        let p = store.join(f);
        assert!(p.exists(), "{} names a missing file {f}", store.display());
        if f.ends_with(".parquet") {
            vigil::store::read_parquet(&p).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    m
}

fn ingested(m: &vigil::store::Manifest, file: &Path) -> bool {
    let sha = vigil::model::digest::sha256_hex(&std::fs::read(file).unwrap_or_default());
    m.ingests.iter().any(|r| r.sha256 == sha)
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn two_writers_at_once_lose_nothing_and_leave_no_missing_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (mut lost, mut missing) = (0, 0);
    for trial in 0..20 {
        let store = trial_store(dir.path(), &format!("t{trial}"));
        let a = extra_acled(dir.path(), &format!("a{trial}"), 40);
        let b = extra_acled(dir.path(), &format!("b{trial}"), 40);
        let (a_s, b_s) = (a.display().to_string(), b.display().to_string());
        let (first, second): (Vec<&str>, Vec<&str>) = match trial % 3 {
            0 => (
                vec!["score", "--from", "2024-12-20", "--to", "2024-12-31"],
                vec!["ingest", "acled", &a_s],
            ),
            1 => (
                vec!["score", "--date", "2024-12-30"],
                vec!["score", "--date", "2024-12-29"],
            ),
            _ => (vec!["ingest", "acled", &a_s], vec!["ingest", "acled", &b_s]),
        };
        let p1 = spawn(&store, &first);
        std::thread::sleep(Duration::from_millis(20 * (trial % 5) as u64));
        let p2 = spawn(&store, &second);
        let o1 = p1.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        let o2 = p2.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        ok(&o1, &first.join(" "));
        ok(&o2, &second.join(" "));
        let m = check_consistent(&store);
        missing += m
            .live_files()
            .iter()
            .filter(|f| !store.join(f).exists())
            .count();
        let wanted_ok = match trial % 3 {
            0 => {
                ingested(&m, &a)
                    && (20..=31).all(|d| m.snapshots.contains_key(&format!("2024-12-{d}")))
            }
            1 => m.snapshots.contains_key("2024-12-30") && m.snapshots.contains_key("2024-12-29"),
            _ => ingested(&m, &a) && ingested(&m, &b),
        };
        if !wanted_ok {
            lost += 1;
        }
        if trial % 3 == 2 {
            // Both files' events are in the events table.
            let s = Store::open(&store, 7).unwrap_or_else(|e| panic!("{e}"));
            let events: Vec<vigil::model::rows::Event> = s.read().unwrap_or_else(|e| panic!("{e}"));
            for tag in [format!("a{trial}-"), format!("b{trial}-")] {
                let n = events
                    .iter()
                    .filter(|e| e.source_id.starts_with(&tag))
                    .count();
                assert_eq!(n, 40, "events {tag}* in the store");
            }
        }
    }
    println!("20 trials of two writers: {lost} lost updates, {missing} files named but missing");
    assert_eq!((lost, missing), (0, 0));
}

#[test]
fn a_second_writer_waits_for_the_first_and_no_wait_fails_at_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = trial_store(dir.path(), "wait");
    let file = extra_acled(dir.path(), "w", 10);
    let held = vigil::store::lock::WriterLock::acquire(&store, &Default::default())
        .unwrap_or_else(|e| panic!("{e}"));

    let t = Instant::now();
    let out = run(
        &store,
        &["--no-wait", "ingest", "acled", &file.display().to_string()],
    );
    // Exit code 5: another writer holds the store (a scheduler retries later).
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("locked by pid {}", std::process::id())) && err.contains("--no-wait"),
        "{err}"
    );
    assert!(t.elapsed() < Duration::from_secs(10));

    let waiting = spawn(&store, &["ingest", "acled", &file.display().to_string()]);
    std::thread::sleep(Duration::from_millis(1500));
    drop(held);
    let out = waiting.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    ok(&out, "the waiting ingest");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is being written by pid") && err.contains("waiting up to 600 s"),
        "it says once who it waits for: {err}"
    );
    assert_eq!(err.matches("is being written by").count(), 1);
    assert!(ingested(&check_consistent(&store), &file));

    // A short --lock-timeout gives up with the holder's name.
    let _held = vigil::store::lock::WriterLock::acquire(&store, &Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let out = run(
        &store,
        &["--lock-timeout", "1s", "score", "--date", "2024-12-31"],
    );
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("waited 1 s"), "{err}");
}

/// Starts `vigil serve` on a free loopback port; returns the child and its base URL.
fn serve(store: &Path, config: &Path) -> (Child, String) {
    let mut child = vigil()
        .arg("--store")
        .arg(store)
        .arg("--config")
        .arg(config)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let first = lines
        .next()
        .and_then(Result::ok)
        .unwrap_or_else(|| panic!("serve printed nothing"));
    let url = first
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

/// A minimal HTTP/1.1 GET; returns the status (0 when the connection failed) and body.
fn get(url: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let host = url.trim_start_matches("http://");
    let Ok(mut s) = std::net::TcpStream::connect(host) else {
        return (0, String::new());
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    );
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

#[test]
fn a_server_reading_while_a_date_is_rescored_200_times_never_answers_5xx() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = trial_store(dir.path(), "serve");
    // Two scorings that differ (tier thresholds), so every re-score retires the previous
    // snapshot file; a zero grace period lets the garbage collector remove it at once.
    let a = dir.path().join("a.toml");
    let b = dir.path().join("b.toml");
    std::fs::write(
        &a,
        "[server]\nreload_secs = 1\n[store]\ngc_grace_secs = 0\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        &b,
        "[server]\nreload_secs = 1\n[store]\ngc_grace_secs = 0\n[score]\ntier_thresholds = [0.21, 0.36, 0.51, 0.71]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for d in ["2024-12-01", "2024-12-15"] {
        ok(
            &run(
                &store,
                &["--config", &a.display().to_string(), "score", "--date", d],
            ),
            "score",
        );
    }
    let (mut server, url) = serve(&store, &a);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let paths = [
        "/alerts?since=2024-12-01",
        "/summaries?from=2024-12-01&to=2024-12-31",
        "/collections/events/items?limit=50",
        "/collections/risk/items?datetime=2024-12-15&limit=20",
        "/grids/2024-12-15.csv",
        "/grids/latest.csv",
        "/cells/876b891b6ffffff/explain",
        "/healthz",
    ];
    let clients: Vec<_> = (0..4)
        .map(|k| {
            let (url, stop) = (url.clone(), stop.clone());
            std::thread::spawn(move || {
                let (mut n, mut bad) = (0u32, Vec::new());
                let mut i = k;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let path = paths[i % paths.len()];
                    let (status, body) = get(&url, path);
                    n += 1;
                    if status >= 500 || status == 0 {
                        bad.push(format!("{path}: {status} {body}"));
                    }
                    i += 1;
                }
                (n, bad)
            })
        })
        .collect();
    let ctx_a = vigil::app::Context::new(&store, Some(a.clone()));
    let ctx_b = vigil::app::Context::new(&store, Some(b.clone()));
    for i in 0..200 {
        let ctx = if i % 2 == 0 { &ctx_b } else { &ctx_a };
        let date = if i % 4 < 2 {
            "2024-12-15"
        } else {
            "2024-12-31"
        };
        vigil::app::score(ctx, Some(date)).unwrap_or_else(|e| panic!("{e}"));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut requests, mut failures) = (0, Vec::new());
    for c in clients {
        let (n, bad) = c.join().unwrap_or_else(|_| panic!("client panicked"));
        requests += n;
        failures.extend(bad);
    }
    let _ = server.kill();
    let _ = server.wait();
    println!(
        "{requests} requests while re-scoring 200 times: {} 5xx",
        failures.len()
    );
    assert!(requests > 200, "{requests}");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn kill_9_at_random_moments_leaves_a_valid_store_and_gc_leaves_nothing_stray() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let big = extra_acled(dir.path(), "k", 20_000);
    let mut rng = vigil::model::rand::SplitMix64::new(12);
    let mut valid = 0;
    for trial in 0..20 {
        let store = trial_store(dir.path(), &format!("k{trial}"));
        let big_s = big.display().to_string();
        let args: Vec<&str> = if trial % 2 == 0 {
            vec!["ingest", "acled", &big_s]
        } else {
            vec!["score", "--from", "2024-11-01", "--to", "2024-12-31"]
        };
        let mut child = spawn(&store, &args);
        std::thread::sleep(Duration::from_millis(rng.below(1_500)));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        check_consistent(&store);
        let out = run(&store, &["gc", "--grace", "0"]);
        ok(&out, "vigil gc");
        let m = check_consistent(&store);
        let live = m.live_files();
        for sub in ["", "snapshots", "rejects"] {
            let Ok(entries) = std::fs::read_dir(store.join(sub)) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let rel = if sub.is_empty() {
                    name.clone()
                } else {
                    format!("{sub}/{name}")
                };
                if e.path().is_dir() || name == ".lock" || name == "manifest.json" {
                    continue;
                }
                assert!(!name.ends_with(".tmp"), "{rel} left after gc");
                assert!(
                    live.contains(rel.as_str()),
                    "unreferenced {rel} left after gc"
                );
            }
        }
        // The lock died with the writer: the next writer goes ahead at once.
        ok(
            &run(&store, &["--no-wait", "score", "--date", "2024-12-31"]),
            "a writer after the kill",
        );
        valid += 1;
    }
    println!("20 kill -9: {valid} valid stores");
}
