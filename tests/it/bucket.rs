//! Stores in a bucket, against a real S3-protocol server on loopback: the standalone server
//! of moto (`moto[server]` 5.2 from PyPI; it enforces `If-None-Match: *` on PUT). The
//! `vigil` binary runs as a user runs it, with the usual AWS_* variables. Skips, saying so,
//! when `moto_server` is not found (VIGIL_MOTO_SERVER, else PATH) — unless VIGIL_REQUIRE_S3
//! is set, as in CI.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A moto server on a free loopback port, stopped when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto() -> Option<Moto> {
    let exe = std::env::var_os("VIGIL_MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("moto_server"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new(&exe)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var_os("VIGIL_REQUIRE_S3").is_none(),
                "VIGIL_REQUIRE_S3 is set but {} does not start: {e}",
                exe.display()
            );
            eprintln!(
                "skipping: no S3 test server ({}: {e}); pip install 'moto[server]==5.2.6' and set VIGIL_MOTO_SERVER",
                exe.display()
            );
            return None;
        }
    };
    let moto = Moto { child, port };
    let started = Instant::now();
    while http(port, "GET", "/", &[]).map(|r| r.0) != Some(200) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "moto_server did not answer within 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Some(moto)
}

/// One plain HTTP request (the test server takes unsigned requests for the bucket's
/// housekeeping; `vigil` itself signs its own): status and body.
fn http(port: u16, method: &str, path: &str, body: &[u8]) -> Option<(u16, Vec<u8>)> {
    request(port, method, path, body, 30).map(|(status, _, body)| (status, body))
}

/// One HTTP/1.1 request on loopback: status, head and (de-chunked) body.
fn request(
    port: u16,
    method: &str,
    path: &str,
    body: &[u8],
    timeout_secs: u64,
) -> Option<(u16, String, Vec<u8>)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(timeout_secs)))
        .ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .ok()?;
    s.write_all(body).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Some((status, head, body))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
    out
}

fn make_bucket(m: &Moto, bucket: &str) {
    let r = http(m.port, "PUT", &format!("/{bucket}"), &[]);
    assert_eq!(r.map(|r| r.0), Some(200), "bucket {bucket}");
}

/// A client of the bucket (the test reads what `vigil` wrote without going through it).
fn client(m: &Moto, bucket: &str) -> object_store::aws::AmazonS3 {
    object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_access_key_id("vigil-test")
        .with_secret_access_key("vigil-test-secret")
        .with_endpoint(format!("http://127.0.0.1:{}", m.port))
        .with_allow_http(true)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Every key under `prefix` (a store's prefix), relative to it.
fn keys(m: &Moto, bucket: &str, prefix: &str) -> Vec<String> {
    use futures::TryStreamExt;
    use object_store::ObjectStore;
    let c = client(m, bucket);
    let p = object_store::path::Path::from(prefix);
    let metas: Vec<object_store::ObjectMeta> = runtime()
        .block_on(c.list(Some(&p)).try_collect())
        .unwrap_or_else(|e| panic!("listing {bucket}/{prefix}: {e}"));
    let mut out: Vec<String> = metas
        .into_iter()
        .filter_map(|o| {
            o.location
                .as_ref()
                .strip_prefix(&format!("{prefix}/"))
                .map(str::to_owned)
        })
        .collect();
    out.sort();
    out
}

fn object(m: &Moto, bucket: &str, key: &str) -> Vec<u8> {
    use object_store::ObjectStoreExt;
    let c = client(m, bucket);
    let p = object_store::path::Path::from(key);
    runtime()
        .block_on(async { c.get(&p).await?.bytes().await })
        .map(|b| b.to_vec())
        .unwrap_or_else(|e| panic!("GET {key}: {e}"))
}

/// `vigil` on `store` as a user runs it against the server (`cache`: VIGIL_CACHE_DIR).
fn vigil(m: &Moto, cache: &Path, store: &str, args: &[&str]) -> Output {
    command(m, cache, store, args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The command [`vigil`] runs, to be started by the caller.
fn command(m: &Moto, cache: &Path, store: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
    c.args(["--store", store, "--log", "info"])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "vigil-test")
        .env("AWS_SECRET_ACCESS_KEY", "vigil-test-secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", m.port))
        .env("AWS_ALLOW_HTTP", "true")
        .env("VIGIL_CACHE_DIR", cache)
        .env_remove("VIGIL_STORE")
        .env_remove("VIGIL_CONFIG")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("JOB_COMPLETIONS");
    c
}

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ingest_sample(m: &Moto, cache: &Path, store: &str) {
    let sample = crate::common::sample_dir();
    for (kind, file) in vigil::synthetic::sample::FILES {
        let path = sample.join(file).display().to_string();
        ok(vigil(m, cache, store, &["ingest", kind, &path]), file);
    }
}

/// The data files of a store (not its manifests), with their bytes.
fn data_files(files: impl IntoIterator<Item = (String, Vec<u8>)>) -> BTreeMap<String, Vec<u8>> {
    files
        .into_iter()
        .filter(|(k, _)| k.ends_with(".parquet") || k.starts_with("rejects/"))
        .collect()
}

#[test]
fn a_store_in_a_bucket_holds_the_bytes_a_folder_holds() {
    let Some(m) = moto() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let folder = tmp.path().join("store");
    let folder_s = folder.display().to_string();
    let cache = tmp.path().join("cache");
    make_bucket(&m, "vigil-one");
    let url = "s3://vigil-one/missions/sample";
    for store in [url, folder_s.as_str()] {
        ingest_sample(&m, &cache, store);
        ok(
            vigil(
                &m,
                &cache,
                store,
                &["score", "--from", "2024-12-29", "--to", "2024-12-31"],
            ),
            "score",
        );
    }
    // The same files, byte for byte: content-addressed names, the same encoder.
    let in_bucket = data_files(
        keys(&m, "vigil-one", "missions/sample")
            .into_iter()
            .map(|k| {
                let bytes = object(&m, "vigil-one", &format!("missions/sample/{k}"));
                (k, bytes)
            }),
    );
    let in_folder = data_files(crate::common::tree(&folder));
    assert_eq!(
        in_bucket.keys().collect::<Vec<_>>(),
        in_folder.keys().collect::<Vec<_>>()
    );
    assert!(
        in_bucket
            .keys()
            .filter(|k| k.starts_with("snapshots/"))
            .count()
            == 3
    );
    assert!(in_bucket == in_folder, "the same bytes");
    let commits: Vec<String> = keys(&m, "vigil-one", "missions/sample")
        .into_iter()
        .filter(|k| k.starts_with("manifests/"))
        .collect();
    assert_eq!(
        commits.len(),
        6 + 3,
        "one numbered manifest per commit: {commits:?}"
    );

    // Another machine (an empty cache) reads the bucket: the same grid as the folder's.
    let fresh = tmp.path().join("another-cache");
    let mut grids = Vec::new();
    for (store, cache) in [(url, &fresh), (folder_s.as_str(), &cache)] {
        let out = tmp.path().join(format!("grid-{}.csv", grids.len()));
        let o = out.display().to_string();
        ok(
            vigil(
                &m,
                cache,
                store,
                &["export", "grid", "--format", "csv", "--out", &o],
            ),
            "export",
        );
        grids.push(std::fs::read(&out).unwrap_or_else(|e| panic!("{e}")));
    }
    assert!(grids[0].len() > 100_000 && grids[0] == grids[1]);

    // Garbage collection in a bucket: old manifests go, the store still opens and scores.
    let gc = ok(vigil(&m, &cache, url, &["gc", "--grace", "0"]), "gc");
    let after: Vec<String> = keys(&m, "vigil-one", "missions/sample")
        .into_iter()
        .filter(|k| k.starts_with("manifests/"))
        .collect();
    assert!(
        after.len() <= 2,
        "{after:?}\n{}",
        String::from_utf8_lossy(&gc.stdout)
    );
    ok(
        vigil(&m, &fresh, url, &["score", "--date", "2024-12-28"]),
        "score after gc",
    );
}

#[test]
fn two_writers_on_one_bucket_lose_no_update() {
    let Some(m) = moto() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    make_bucket(&m, "vigil-two");
    let url = "s3://vigil-two/store";
    ingest_sample(&m, &tmp.path().join("cache-0"), url);
    // Two machines (two processes, two caches) score 20 days each into the bucket at once.
    let spawn = |n: usize, from: &str, to: &str| {
        Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args([
                "--store", url, "--log", "info", "score", "--from", from, "--to", to,
            ])
            .env("AWS_ACCESS_KEY_ID", "vigil-test")
            .env("AWS_SECRET_ACCESS_KEY", "vigil-test-secret")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", m.port))
            .env("AWS_ALLOW_HTTP", "true")
            .env("VIGIL_CACHE_DIR", tmp.path().join(format!("cache-{n}")))
            .env_remove("VIGIL_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let writers = [
        spawn(1, "2024-11-01", "2024-11-20"),
        spawn(2, "2024-12-01", "2024-12-20"),
    ];
    let mut retried = 0;
    for w in writers {
        let out = w.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        let log = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{log}");
        retried += log.matches("another writer committed first").count();
    }
    eprintln!("commits re-applied after another writer's: {retried}");
    let keys = keys(&m, "vigil-two", "store");
    let present: std::collections::HashSet<&str> = keys.iter().map(String::as_str).collect();
    let mut manifests: Vec<(u64, serde_json::Value)> = keys
        .iter()
        .filter(|k| k.starts_with("manifests/"))
        .map(|k| {
            let m: serde_json::Value =
                serde_json::from_slice(&object(&m, "vigil-two", &format!("store/{k}")))
                    .unwrap_or_else(|e| panic!("{k}: {e}"));
            (m["serial"].as_u64().unwrap_or(0), m)
        })
        .collect();
    manifests.sort_by_key(|(n, _)| *n);
    // 6 ingests and 40 days: 46 commits, numbered 1..=46 without a gap.
    let serials: Vec<u64> = manifests.iter().map(|(n, _)| *n).collect();
    assert_eq!(serials, (1..=46).collect::<Vec<u64>>());
    let latest = &manifests[manifests.len() - 1].1;
    let days = latest["snapshots"].as_object().map_or(0, |s| s.len());
    assert_eq!(
        days, 40,
        "no lost update: every day of both writers is in the latest manifest"
    );
    assert_eq!(latest["ingests"].as_array().map_or(0, |a| a.len()), 6);
    // No manifest names an object that is not there.
    for (n, m) in &manifests {
        let named = m["tables"]
            .as_object()
            .into_iter()
            .flat_map(|t| t.values())
            .chain(
                m["snapshots"]
                    .as_object()
                    .into_iter()
                    .flat_map(|s| s.values()),
            )
            .filter_map(|v| v["file"].as_str());
        for f in named {
            assert!(present.contains(f), "manifest {n} names {f}, absent");
        }
    }
}

#[test]
fn an_indexed_job_scores_a_range_as_one_run_does() {
    let Some(m) = moto() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    make_bucket(&m, "vigil-job");
    let url = "s3://vigil-job/store";
    let folder = tmp.path().join("store").display().to_string();
    let cache = tmp.path().join("cache");
    ingest_sample(&m, &cache, url);
    ingest_sample(&m, &cache, &folder);
    let range = ["score", "--from", "2024-12-10", "--to", "2024-12-31"];
    ok(vigil(&m, &cache, &folder, &range), "one run");
    // Three workers at once, each on its own machine (cache): two told their shard with
    // --shard, one by the environment Kubernetes gives the pods of an Indexed Job.
    let workers: Vec<Child> = (0..3)
        .map(|i| {
            let worker_cache = tmp.path().join(format!("cache-worker-{i}"));
            let shard = format!("{i}/3");
            let mut c = if i == 1 {
                let mut c = command(&m, &worker_cache, url, &range);
                c.env("JOB_COMPLETION_INDEX", "1")
                    .env("JOB_COMPLETIONS", "3");
                c
            } else {
                let mut args = range.to_vec();
                args.extend(["--shard", shard.as_str()]);
                command(&m, &worker_cache, url, &args)
            };
            c.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let mut printed = 0;
    for (i, w) in workers.into_iter().enumerate() {
        let out = ok(
            w.wait_with_output().unwrap_or_else(|e| panic!("{e}")),
            &format!("worker {i}"),
        );
        let days = String::from_utf8_lossy(&out.stdout).lines().count();
        assert!((7..=8).contains(&days), "worker {i} scored {days} days");
        printed += days;
    }
    assert_eq!(printed, 22, "the workers share the 22 days");
    // The bucket's latest manifest lists the folder's snapshots, and their bytes are equal.
    let all = keys(&m, "vigil-job", "store");
    let latest = all
        .iter()
        .rfind(|k| k.starts_with("manifests/"))
        .unwrap_or_else(|| panic!("no manifest: {all:?}"));
    let latest: serde_json::Value =
        serde_json::from_slice(&object(&m, "vigil-job", &format!("store/{latest}")))
            .unwrap_or_else(|e| panic!("{latest}: {e}"));
    let folder_manifest = vigil::store::Store::open(Path::new(&folder), 7)
        .unwrap_or_else(|e| panic!("{e}"))
        .manifest()
        .clone();
    let listed = latest["snapshots"]
        .as_object()
        .map(|s| {
            s.iter()
                .map(|(d, v)| (d.clone(), v["sha256"].as_str().unwrap_or("").to_owned()))
                .collect::<BTreeMap<_, _>>()
        })
        .unwrap_or_default();
    let expected: BTreeMap<String, String> = folder_manifest
        .snapshots
        .iter()
        .map(|(d, i)| (d.clone(), i.sha256.clone()))
        .collect();
    assert_eq!(listed, expected);
    let snapshots: BTreeMap<String, Vec<u8>> = data_files(
        keys(&m, "vigil-job", "store")
            .into_iter()
            .filter(|k| k.starts_with("snapshots/"))
            .map(|k| {
                let bytes = object(&m, "vigil-job", &format!("store/{k}"));
                (k, bytes)
            }),
    );
    let folder_snapshots: BTreeMap<String, Vec<u8>> = data_files(
        crate::common::tree(Path::new(&folder))
            .into_iter()
            .filter(|(k, _)| k.starts_with("snapshots/")),
    );
    assert_eq!(snapshots.len(), 22);
    assert!(snapshots == folder_snapshots, "the same snapshot bytes");

    // A sharded backtest on the bucket: two workers' parts and the last one's results.json
    // as objects under work/, equal to one process's on the folder.
    let backtest = [
        "backtest",
        "--from",
        "2023-01-01",
        "--to",
        "2024-11-30",
        "--step",
        "28",
        "--tune-until",
        "2023-12-31",
    ];
    let out = tmp.path().join("one");
    let out_s = out.display().to_string();
    let mut args = backtest.to_vec();
    args.extend(["--out", out_s.as_str()]);
    ok(vigil(&m, &cache, &folder, &args), "one backtest");
    let workers: Vec<Child> = (0..2)
        .map(|i| {
            let shard = format!("{i}/2");
            let mut args = backtest.to_vec();
            args.extend(["--shard", shard.as_str()]);
            command(
                &m,
                &tmp.path().join(format!("cache-backtest-{i}")),
                url,
                &args,
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    for (i, w) in workers.into_iter().enumerate() {
        ok(
            w.wait_with_output().unwrap_or_else(|e| panic!("{e}")),
            &format!("backtest worker {i}"),
        );
    }
    let work: Vec<String> = keys(&m, "vigil-job", "store")
        .into_iter()
        .filter(|k| k.starts_with("work/backtest/"))
        .collect();
    assert!(
        work.iter().any(|k| k.ends_with("first-1-of-2.rows")),
        "{work:?}"
    );
    let results = work
        .iter()
        .find(|k| k.ends_with("/results.json"))
        .unwrap_or_else(|| panic!("no results.json: {work:?}"));
    let expected = std::fs::read(out.join("results.json")).unwrap_or_else(|e| panic!("{e}"));
    assert!(object(&m, "vigil-job", &format!("store/{results}")) == expected);
}

#[test]
fn an_unknown_scheme_is_an_error_not_a_folder() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .current_dir(tmp.path())
        .args(["--store", "s4://bucket/store", "score"])
        .env_remove("VIGIL_STORE")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("unknown scheme `s4`"), "{err}");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "nothing created: {left:?}");
}

/// A `vigil serve` replica on `url`: the child and the address it serves on.
fn replica(m: &Moto, cache: &Path, config: &Path, url: &str) -> (Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["--store", url, "--log", "warn", "--config"])
        .arg(config)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("AWS_ACCESS_KEY_ID", "vigil-test")
        .env("AWS_SECRET_ACCESS_KEY", "vigil-test-secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", m.port))
        .env("AWS_ALLOW_HTTP", "true")
        .env("VIGIL_CACHE_DIR", cache)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("stdout"));
    let mut lines = std::io::BufReader::new(stdout).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    // The rest of its output is read, so that the replica never writes to a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let addr = first
        .rsplit("http://")
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "{first}");
    (child, addr)
}

/// GET `path` from `addr`: status, ETag and body.
fn get(addr: &str, path: &str) -> (u16, String, Vec<u8>) {
    let port: u16 = addr
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let (status, head, body) = http_full(port, path).unwrap_or_else(|| panic!("GET {addr}{path}"));
    let etag = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("etag"))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, etag, body)
}

fn http_full(port: u16, path: &str) -> Option<(u16, String, Vec<u8>)> {
    request(port, "GET", path, &[], 60)
}

fn served_day(addr: &str) -> String {
    let (_, _, body) = get(addr, "/healthz");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    v["snapshot"].as_str().unwrap_or_default().to_owned()
}

/// The answers compared between replicas: a page of features, a vector tile, the grid, an
/// explanation (which reads the events table from the bucket), the stored days.
const SAME_ANSWERS: [&str; 5] = [
    "/collections/risk/items?limit=40",
    "/tiles/risk/6/35/30.mvt",
    "/grids/latest.csv",
    "/cells/876b891b6ffffff/explain",
    "/snapshots",
];

#[test]
fn replicas_on_one_bucket_serve_the_same_answers_and_follow_commits() {
    let Some(m) = moto() else { return };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    make_bucket(&m, "vigil-replicas");
    let url = "s3://vigil-replicas/store";
    let cache0 = tmp.path().join("cache-0");
    ingest_sample(&m, &cache0, url);
    ok(
        vigil(&m, &cache0, url, &["score", "--date", "2024-12-30"]),
        "score",
    );
    // Behind one load balancer: links name its public address, whichever replica answers.
    let config = tmp.path().join("vigil.toml");
    std::fs::write(
        &config,
        "[server]\nreload_secs = 1\npublic_url = \"https://vigil.example.org\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (mut a, addr_a) = replica(&m, &tmp.path().join("cache-a"), &config, url);
    let (mut b, addr_b) = replica(&m, &tmp.path().join("cache-b"), &config, url);
    let same = |when: &str| {
        for path in SAME_ANSWERS {
            let (sa, ea, ba) = get(&addr_a, path);
            let (sb, eb, bb) = get(&addr_b, path);
            assert_eq!((sa, sb), (200, 200), "{when}: {path}");
            assert!(ba == bb && !ba.is_empty(), "{when}: {path}: bodies differ");
            assert_eq!(ea, eb, "{when}: {path}: ETags differ");
            assert!(
                !ea.is_empty() || path == "/snapshots",
                "{when}: {path}: no ETag"
            );
        }
    };
    same("before the commit");
    assert_eq!(served_day(&addr_a), "2024-12-30");

    // A bounded load on both replicas while a third process commits a new day.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = [
        addr_a.clone(),
        addr_b.clone(),
        addr_a.clone(),
        addr_b.clone(),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, addr)| {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut answers, mut errors) = (0usize, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let path = SAME_ANSWERS[(answers + i) % SAME_ANSWERS.len()];
                let (status, _, _) = get(&addr, path);
                answers += 1;
                if status >= 500 {
                    errors.push(format!("{status} {path}"));
                }
            }
            (answers, errors)
        })
    })
    .collect();
    ok(
        vigil(
            &m,
            &tmp.path().join("cache-c"),
            url,
            &["score", "--date", "2024-12-31"],
        ),
        "commit",
    );
    let committed = Instant::now();
    let mut seen = [None, None];
    while seen.iter().any(Option::is_none) && committed.elapsed() < Duration::from_secs(30) {
        for (k, addr) in [&addr_a, &addr_b].into_iter().enumerate() {
            if seen[k].is_none() && served_day(addr) == "2024-12-31" {
                seen[k] = Some(committed.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut answers, mut errors) = (0, Vec::new());
    for l in load {
        let (n, e) = l
            .join()
            .unwrap_or_else(|_| panic!("a load thread panicked"));
        answers += n;
        errors.extend(e);
    }
    eprintln!("replicas: new day served after {seen:?} (reload_secs = 1); {answers} answers under load, {} 5xx", errors.len());
    assert!(errors.is_empty(), "{errors:?}");
    assert!(answers > 20, "the load ran: {answers}");
    for (k, s) in seen.iter().enumerate() {
        let s = s.unwrap_or_else(|| panic!("replica {k} never served the new day"));
        // Within reload_secs of the commit, plus the time to read the new day (one tick).
        assert!(s <= Duration::from_secs(3), "replica {k}: {s:?}");
    }
    same("after the commit");
    for c in [&mut a, &mut b] {
        let _ = c.kill();
        let _ = c.wait();
    }
}
