//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use vigil::commands::{self, Context};

/// The committed sample.
pub fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample")
}

/// A context over a fresh temporary store (kept alive by the returned guard).
pub fn fresh_store() -> (tempfile::TempDir, Context) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let ctx = Context {
        store: dir.path().join("store"),
        config: None,
    };
    (dir, ctx)
}

/// A store with the sample ingested and its last day scored.
pub fn scored_store() -> (tempfile::TempDir, Context, String) {
    let (dir, ctx) = fresh_store();
    let (date, _) = commands::load_sample(&ctx, &sample_dir()).unwrap_or_else(|e| panic!("{e}"));
    (dir, ctx, date)
}

/// All files of a folder (recursively) with their bytes, sorted by relative path.
pub fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .map(|r| r.display().to_string())
                    .unwrap_or_default();
                out.push((rel, std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}
