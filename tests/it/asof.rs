//! As-of correctness and monotonicity of the index on the sample: data after D never
//! changes snapshot D; an added civilian-harm event never lowers any cell's risk.

use crate::common;

use std::collections::HashMap;
use vigil::app;
use vigil::ingest::Kind;
use vigil::store::snapshot::Snapshot;
use vigil::store::Store;

const HEADER: &str = "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp";

fn row(id: &str, date: &str, lat: f64, lon: f64, published: i64) -> String {
    format!("{id},{date},2024,1,Political violence,Violence against civilians,Attack,Armed group,,Rebel group,Civilians (Kandara),,Civilians,Rebel group-Civilians,Civilian targeting,999,Middle Africa,Kandara (synthetic),P,D,,T,{lat},{lon},1,Test,Local,\"added, for the test\",4,,{published}")
}

fn snapshot_risks(ctx: &app::Context, date: &str) -> (String, HashMap<u64, f64>) {
    let store = Store::open(&ctx.store, 7).unwrap_or_else(|e| panic!("{e}"));
    let snap = Snapshot::load(&store, Some(date)).unwrap_or_else(|e| panic!("{e}"));
    let risks = snap.cells.iter().map(|c| (c.cell, c.risk)).collect();
    (snap.info.sha256, risks)
}

#[test]
fn data_known_only_after_d_never_changes_snapshot_d() {
    let (dir, ctx, _) = common::scored_store();
    let d = "2024-06-30";
    app::score(&ctx, Some(d)).unwrap_or_else(|e| panic!("{e}"));
    let (before, _) = snapshot_risks(&ctx, d);
    // 2024-07-20 12:00 UTC; an event dated before D but published after D is not known at D.
    let late = 1_721_476_800;
    let text = format!(
        "{HEADER}\n{}\n{}\n{}\n",
        row("LATE1", "2024-07-02", 6.72, 22.02, late),
        row("LATE2", "2024-08-15", 6.9, 21.4, late + 5_000_000),
        row("LATE3", "2024-06-20", 6.5, 21.05, late),
    );
    let file = dir.path().join("later.csv");
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
    app::ingest(&ctx, Kind::Acled, &file, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    app::score(&ctx, Some(d)).unwrap_or_else(|e| panic!("{e}"));
    let (after, _) = snapshot_risks(&ctx, d);
    assert_eq!(
        before, after,
        "snapshot {d} changed after adding data known only later"
    );
}

#[test]
fn an_added_civilian_harm_event_never_lowers_any_cell() {
    let (dir, ctx, _) = common::scored_store();
    let d = "2024-06-30";
    app::score(&ctx, Some(d)).unwrap_or_else(|e| panic!("{e}"));
    let (_, before) = snapshot_risks(&ctx, d);
    let text = format!(
        "{HEADER}\n{}\n",
        row("MORE1", "2024-06-25", 6.52, 21.06, 1_719_400_000)
    );
    let file = dir.path().join("more.csv");
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
    app::ingest(&ctx, Kind::Acled, &file, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    app::score(&ctx, Some(d)).unwrap_or_else(|e| panic!("{e}"));
    let (_, after) = snapshot_risks(&ctx, d);
    let mut raised = 0;
    for (cell, risk) in &before {
        let now = after.get(cell).copied().unwrap_or(f64::NAN);
        assert!(now >= *risk, "cell {cell:x}: {risk} → {now}");
        raised += usize::from(now > *risk);
    }
    assert!(
        raised > 100,
        "the event and its spread raise the cells around it ({raised})"
    );
}
