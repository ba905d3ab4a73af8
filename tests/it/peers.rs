//! The peer pipelines of `benches/peers` — polars + polars-h3 and pandas + h3-py, written as
//! an analyst would — compute what Vigil computes: on a small generated input (the
//! benchmark's own generator, 20,000 clustered events), Vigil through its CLI (`ingest
//! areas`, `ingest acled`, `score`), then both peers, then `compare.py`: the same cells,
//! harm, conflict and spread components with a spread correlation ≥ 0.999 (it prints the
//! largest difference). So the speed comparison of `benches/peers/run.py` compares equal
//! work. Runs with the Python of `VIGIL_PEERS_PYTHON`, else of `target/peers/venv` (the
//! runner's); skips, saying so, without one — unless VIGIL_REQUIRE_PEERS is set (as
//! `.ci/run` sets it), then it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A Python with the peers' packages, or `None` (skip).
fn peers_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var_os("VIGIL_PEERS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/peers/venv/bin/python"));
    let ok = Command::new(&python)
        .args(["-c", "import h3, polars, polars_h3, pandas, numpy, pyarrow"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("VIGIL_REQUIRE_PEERS").is_none(),
            "VIGIL_REQUIRE_PEERS is set but {} lacks the peers' packages \
             (benches/peers/requirements.txt)",
            python.display()
        );
        eprintln!(
            "skipping: no Python with the peers' packages at {} (set VIGIL_PEERS_PYTHON)",
            python.display()
        );
        return None;
    }
    Some(python)
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_peer_pipelines_compute_what_vigil_computes() {
    let Some(python) = peers_python() else {
        return;
    };
    let peers = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path();
    run(Command::new(&python)
        .arg(peers.join("generate.py"))
        .args(["--rows", "20000", "--seed", "5", "--out"])
        .arg(data));
    let store = data.join("store");
    let vigil = |args: &[&str]| {
        run(Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["--log", "warn", "--store"])
            .arg(&store)
            .args(args)
            .current_dir(data));
    };
    vigil(&["ingest", "areas", "grid.geojson"]);
    vigil(&["ingest", "acled", "acled.csv"]);
    vigil(&["score", "--date", "2024-12-31"]);
    let mut outputs = Vec::new();
    for peer in ["polars", "pandas"] {
        let out = data.join(format!("{peer}.parquet"));
        run(Command::new(&python)
            .arg(peers.join(format!("{peer}_peer.py")))
            .args(["--csv", "acled.csv", "--grid", "grid.geojson"])
            .args(["--date", "2024-12-31", "--out"])
            .arg(&out)
            .current_dir(data));
        outputs.push(out);
    }
    let snapshots: Vec<PathBuf> = std::fs::read_dir(store.join("snapshots"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(snapshots.len(), 1, "{snapshots:?}");
    let report = run(Command::new(&python)
        .arg(peers.join("compare.py"))
        .arg(&snapshots[0])
        .args(&outputs));
    eprintln!("{report}");
    // Six lines (two peers × three components), every correlation printed at 1 to 9 places.
    assert_eq!(report.lines().count(), 6, "{report}");
    for line in report.lines() {
        assert!(
            line.contains("correlation 1.000000000") || line.contains("correlation 0.999999"),
            "{line}"
        );
    }
}
