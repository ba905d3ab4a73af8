//! Same inputs, same bytes: the sample generator and the scoring pipeline are deterministic.

use crate::common;

use vigil::app;
use vigil::output::export::{Format, What};
use vigil::store::Store;
use vigil::synthetic::sample;

#[test]
fn regenerating_the_sample_with_its_seed_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    sample::generate(dir.path(), sample::DEFAULT_SEED).unwrap_or_else(|e| panic!("{e}"));
    let committed = common::sample_dir();
    for (_, file) in sample::FILES {
        let fresh = std::fs::read(dir.path().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let kept = std::fs::read(committed.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(
            fresh == kept,
            "{file} differs from the committed sample; run `vigil sample --out data/sample`"
        );
    }
    let other = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    sample::generate(other.path(), sample::DEFAULT_SEED + 1).unwrap_or_else(|e| panic!("{e}"));
    let a = std::fs::read(other.path().join("acled.csv")).unwrap_or_default();
    let b = std::fs::read(committed.join("acled.csv")).unwrap_or_default();
    assert_ne!(a, b, "another seed gives another history");
}

#[test]
fn the_sample_stays_small() {
    let total: u64 = common::tree(&common::sample_dir())
        .iter()
        .map(|(_, b)| b.len() as u64)
        .sum();
    assert!(total < 10 * 1024 * 1024, "{total} bytes");
}

#[test]
fn scoring_twice_gives_byte_identical_grids() {
    let (_dir, ctx, date) = common::scored_store();
    let snapshot_bytes = |ctx: &app::Context| {
        let store = Store::open(&ctx.store, 7).unwrap_or_else(|e| panic!("{e}"));
        let info = store
            .manifest()
            .snapshots
            .get(&date)
            .cloned()
            .unwrap_or_else(|| panic!("no snapshot"));
        std::fs::read(ctx.store.join(&info.file)).unwrap_or_else(|e| panic!("{e}"))
    };
    let export = |ctx: &app::Context| {
        let store = Store::open(&ctx.store, 7).unwrap_or_else(|e| panic!("{e}"));
        vigil::output::export::export_bytes(&store, What::Grid, Some(&date), Format::Csv)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let first = snapshot_bytes(&ctx);
    let first_csv = export(&ctx);
    app::score(&ctx, Some(&date)).unwrap_or_else(|e| panic!("{e}"));
    assert!(first == snapshot_bytes(&ctx), "snapshot Parquet differs");
    assert!(first_csv == export(&ctx), "grid CSV differs");

    // A second store built from the same files scores to the same bytes too.
    let (_dir2, ctx2, date2) = common::scored_store();
    assert_eq!(date, date2);
    assert!(first == snapshot_bytes(&ctx2));
}

#[test]
fn reingesting_the_same_file_changes_nothing() {
    let (_dir, ctx, _) = common::scored_store();
    let before = common::tree(&ctx.store);
    let record = app::ingest(
        &ctx,
        vigil::ingest::Kind::Acled,
        &common::sample_dir().join("acled.csv"),
        &Default::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(record.duplicates, record.accepted);
    assert!(before == common::tree(&ctx.store), "store changed");
    // The manifest records each file's SHA-256, report and attribution.
    let store = Store::open(&ctx.store, 7).unwrap_or_else(|e| panic!("{e}"));
    let bytes = std::fs::read(common::sample_dir().join("acled.csv")).unwrap_or_default();
    let entry = store
        .manifest()
        .ingests
        .iter()
        .find(|r| r.kind == "acled")
        .cloned()
        .unwrap_or_default();
    assert_eq!(entry.sha256, vigil::model::digest::sha256_hex(&bytes));
    assert!(entry.attribution.contains("ACLED"));
    assert_eq!(entry.rows_read, entry.accepted);
    assert!(entry.date_range.is_some() && entry.bbox.is_some());
    assert_eq!(store.manifest().ingests.len(), sample::FILES.len());
}

#[test]
fn shards_of_a_range_give_the_snapshots_of_one_run() {
    // Store A: one run over the range. Store B: three shards, started out of order, each
    // alone (as the pods of an Indexed Job may start).
    let (_a, ctx_a, _) = common::scored_store();
    let (_b, ctx_b, _) = common::scored_store();
    let (from, to, every) = ("2024-05-30", "2024-06-29", 3);
    let whole = app::score_range(&ctx_a, from, to, every, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(whole.len(), 11);
    let mut sharded = Vec::new();
    for index in [2, 0, 1] {
        let shard = vigil::model::shard::Shard { index, count: 3 };
        let part = app::score_range(&ctx_b, from, to, every, Some(shard))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            (3..=4).contains(&part.len()),
            "shard {index}: {}",
            part.len()
        );
        sharded.extend(part);
    }
    sharded.sort_by(|a, b| a.0.cmp(&b.0));
    let dates = |v: &[(String, vigil::store::SnapshotInfo)]| -> Vec<String> {
        v.iter().map(|(d, _)| d.clone()).collect()
    };
    assert_eq!(
        dates(&whole),
        dates(&sharded),
        "the shards cover the range once"
    );
    let store_a = vigil::store::Store::open(&ctx_a.store, 7).unwrap_or_else(|e| panic!("{e}"));
    let store_b = vigil::store::Store::open(&ctx_b.store, 7).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store_a.manifest().snapshots.keys().collect::<Vec<_>>(),
        store_b.manifest().snapshots.keys().collect::<Vec<_>>()
    );
    for (d, a) in &store_a.manifest().snapshots {
        let b = &store_b.manifest().snapshots[d];
        assert_eq!(a.sha256, b.sha256, "{d}: a shard's snapshot differs");
        assert_eq!(a.file, b.file, "{d}");
    }
    // A shard that does not exist is refused before any work.
    assert!(vigil::model::shard::Shard::parse("3/3").is_err());
}

#[test]
fn a_range_gives_the_snapshots_that_single_days_give() {
    // Store A: the days one by one. Store B: the same days as one range.
    let (_a, ctx_a, _) = common::scored_store();
    let (_b, ctx_b, _) = common::scored_store();
    let days = ["2024-06-28", "2024-06-29", "2024-06-30"];
    for d in days {
        app::score(&ctx_a, Some(d)).unwrap_or_else(|e| panic!("{e}"));
    }
    let ranged =
        app::score_range(&ctx_b, days[0], days[2], 1, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ranged.len(), 3);
    let store_a = vigil::store::Store::open(&ctx_a.store, 7).unwrap_or_else(|e| panic!("{e}"));
    let store_b = vigil::store::Store::open(&ctx_b.store, 7).unwrap_or_else(|e| panic!("{e}"));
    for d in days {
        let a = &store_a.manifest().snapshots[d];
        let b = &store_b.manifest().snapshots[d];
        assert_eq!(
            a.sha256, b.sha256,
            "{d}: the range and the single day differ"
        );
    }
    let err = app::score_range(&ctx_b, days[2], days[0], 1, None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("before the first"), "{err}");
}
