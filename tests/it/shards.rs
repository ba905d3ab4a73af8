//! Batch work split over the workers of an indexed job (`--shard I/N`, or the
//! JOB_COMPLETION_INDEX / JOB_COMPLETIONS of a Kubernetes Indexed Job): three worker
//! processes at once give the results of one process, to the byte — the backtest's
//! results.json (written by the last worker, and by `--merge`) and the stored calibration.
//! On the bundled sample here; on CAR in `real_car_backtest.rs`. Buckets: `bucket.rs`.

use crate::common;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn vigil(store: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
    c.env_remove("VIGIL_STORE")
        .env_remove("VIGIL_CONFIG")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("JOB_COMPLETIONS")
        .arg("--store")
        .arg(store)
        .args(args);
    c
}

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what}: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A store holding the bundled sample (ingested, nothing scored).
fn sample_store(root: &Path) -> PathBuf {
    let store = root.join("store");
    for (kind, file) in vigil::synthetic::sample::FILES {
        let path = common::sample_dir().join(file);
        ok(
            vigil(&store, &["ingest", kind, &path.display().to_string()])
                .output()
                .unwrap_or_else(|e| panic!("{e}")),
            file,
        );
    }
    store
}

/// Starts the N workers at once (worker 1 told by the environment of an Indexed Job) and
/// waits for them: their outputs, in worker order.
fn workers(store: &Path, args: &[&str], n: usize, extra: &[&str]) -> Vec<Output> {
    let children: Vec<Child> = (0..n)
        .map(|i| {
            let shard = format!("{i}/{n}");
            let mut c = if i == 1 {
                let mut c = vigil(store, args);
                c.env("JOB_COMPLETION_INDEX", "1")
                    .env("JOB_COMPLETIONS", n.to_string());
                c
            } else {
                let mut a = args.to_vec();
                a.extend(["--shard", shard.as_str()]);
                vigil(store, &a)
            };
            c.args(extra)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    children
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            ok(
                c.wait_with_output().unwrap_or_else(|e| panic!("{e}")),
                &format!("worker {i}"),
            )
        })
        .collect()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The results.json files under the store's work folder.
fn stored_results(store: &Path) -> Vec<PathBuf> {
    let dir = store.join("work/backtest");
    let mut out = Vec::new();
    for run in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let p = run.path().join("results.json");
        if p.is_file() {
            out.push(p);
        }
    }
    out
}

const BACKTEST: [&str; 13] = [
    "backtest",
    "--from",
    "2023-01-01",
    "--to",
    "2024-11-30",
    "--step",
    "14",
    "--horizon",
    "30",
    "--horizon",
    "90",
    "--tune-until",
    "2023-12-31",
];

#[test]
fn three_workers_give_the_backtest_of_one_process_to_the_byte() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = sample_store(tmp.path());
    let one = tmp.path().join("one");
    let mut args = BACKTEST.to_vec();
    let one_s = one.display().to_string();
    args.extend(["--out", one_s.as_str()]);
    ok(
        vigil(&store, &args)
            .output()
            .unwrap_or_else(|e| panic!("{e}")),
        "one process",
    );
    let expected = read(&one.join("results.json"));
    assert!(expected.len() > 10_000);

    let outputs = workers(&store, &BACKTEST, 3, &[]);
    let last: Vec<usize> = outputs
        .iter()
        .enumerate()
        .filter(|(_, o)| String::from_utf8_lossy(&o.stdout).contains("the last worker"))
        .map(|(i, _)| i)
        .collect();
    assert!(!last.is_empty(), "no worker put the results together");
    let scored: usize = outputs
        .iter()
        .map(|o| {
            let text = String::from_utf8_lossy(&o.stdout).to_string();
            text.split(" origins scored")
                .next()
                .and_then(|s| s.rsplit(' ').next())
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or_else(|| panic!("{text}"))
        })
        .sum();
    // 2023-01-01..2024-11-30 every 14 days: 50 origins, each scored once.
    assert_eq!(scored, 50);
    let stored = stored_results(&store);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(
        read(&stored[0]) == expected,
        "the last worker's results.json differs"
    );

    // --merge puts the same parts together again, figures and report included.
    let merged = tmp.path().join("merged");
    let merged_s = merged.display().to_string();
    let mut args = BACKTEST.to_vec();
    args.extend(["--merge", "3", "--out", merged_s.as_str()]);
    ok(
        vigil(&store, &args)
            .output()
            .unwrap_or_else(|e| panic!("{e}")),
        "merge",
    );
    for f in std::fs::read_dir(&one).into_iter().flatten().flatten() {
        let name = f.file_name();
        assert!(
            read(&f.path()) == read(&merged.join(&name)),
            "{name:?} differs after --merge"
        );
    }
    // Without the fit a worker stored, the merge fits the tuning rows again: the same.
    let fit = stored[0].with_file_name("fit.json");
    assert!(fit.is_file());
    std::fs::remove_file(&fit).unwrap_or_else(|e| panic!("{e}"));
    let refitted = tmp.path().join("refitted");
    let refitted_s = refitted.display().to_string();
    let mut args = BACKTEST.to_vec();
    args.extend(["--merge", "3", "--out", refitted_s.as_str()]);
    ok(
        vigil(&store, &args)
            .output()
            .unwrap_or_else(|e| panic!("{e}")),
        "merge after a refit",
    );
    assert!(read(&refitted.join("results.json")) == expected);
    // A merge of parts that were never written says which are missing.
    let mut args = BACKTEST.to_vec();
    args.extend(["--merge", "4", "--out", merged_s.as_str()]);
    let out = vigil(&store, &args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("first-0-of-4"),
        "{err}"
    );
}

#[test]
fn a_worker_left_alone_scores_the_missing_tuning_rows_itself() {
    // Worker 0 of 2 runs alone (the Job's parallelism is 1): past its wait it scores
    // worker 1's tuning origins too; worker 1, run later, finds them and finishes the job.
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = sample_store(tmp.path());
    let one = tmp.path().join("one");
    let one_s = one.display().to_string();
    let mut args = BACKTEST.to_vec();
    args.extend(["--out", one_s.as_str()]);
    ok(
        vigil(&store, &args)
            .output()
            .unwrap_or_else(|e| panic!("{e}")),
        "one process",
    );
    for i in 0..2 {
        let shard = format!("{i}/2");
        let mut args = BACKTEST.to_vec();
        args.extend(["--shard", shard.as_str(), "--wait", "1s", "--log", "info"]);
        let out = ok(
            vigil(&store, &args)
                .output()
                .unwrap_or_else(|e| panic!("{e}")),
            &shard,
        );
        let log = String::from_utf8_lossy(&out.stderr);
        if i == 0 {
            assert!(log.contains("scoring them here"), "{log}");
        }
    }
    let stored = stored_results(&store);
    assert_eq!(stored.len(), 1);
    assert!(read(&stored[0]) == read(&one.join("results.json")));
}

#[test]
fn three_workers_store_the_calibration_of_one_process() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let one = sample_store(&tmp.path().join("a"));
    let sharded = sample_store(&tmp.path().join("b"));
    let args = [
        "calibrate",
        "--from",
        "2022-06-01",
        "--to",
        "2024-06-30",
        "--step",
        "14",
    ];
    ok(
        vigil(&one, &args)
            .output()
            .unwrap_or_else(|e| panic!("{e}")),
        "one process",
    );
    workers(&sharded, &args, 3, &[]);
    let calibration = |store: &Path| {
        vigil::store::Store::open(store, 7)
            .unwrap_or_else(|e| panic!("{e}"))
            .manifest()
            .calibration
            .clone()
            .unwrap_or_else(|| panic!("no calibration in {}", store.display()))
    };
    let (a, b) = (calibration(&one), calibration(&sharded));
    assert!(a.rows > 1000, "{a:?}");
    let json = |c| serde_json::to_string(&c).unwrap_or_default();
    assert_eq!(json(a), json(b), "the same fit, to the bit");
}
