//! Bad input gets a clear error naming the file and line, and leaves the store as it was.

use crate::common;

use std::process::Command;
use vigil::app;
use vigil::ingest::Kind;

const ACLED_HEADER: &str = "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp";

fn acled_row(id: &str, date: &str, lat: &str) -> String {
    format!("{id},{date},2024,1,Political violence,Battles,Armed clash,A,,State forces,B,,Rebel group,State forces-Rebel group,,999,Middle Africa,Xland,P,D,,Town,{lat},21.0,1,Radio,National,\"notes, quoted\",2,,1735000000")
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
    p
}

#[test]
fn a_malformed_row_is_named_and_the_file_refused_when_too_many_fail() {
    let (dir, ctx, _) = common::scored_store();
    let before = common::tree(&ctx.store);
    let text = format!(
        "{ACLED_HEADER}\n{}\n{}\n",
        acled_row("N1", "2024-12-01", "6.5"),
        acled_row("N2", "2024-12-02", "north")
    );
    let file = write(dir.path(), "broken.csv", &text);
    let err = app::ingest(&ctx, Kind::Acled, &file, &Default::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("broken.csv"), "{err}");
    assert!(
        err.contains("line 3, column `latitude`: not a number (north)"),
        "{err}"
    );
    assert!(err.contains("nothing was stored"), "{err}");
    // The rejects report is written beside the tables, the tables and manifest are untouched.
    let after: Vec<_> = common::tree(&ctx.store)
        .into_iter()
        .filter(|(p, _)| !p.starts_with("rejects/"))
        .collect();
    assert!(before == after, "the store changed");
}

#[test]
fn a_few_bad_rows_are_rejected_with_file_line_and_reason() {
    let (dir, ctx) = common::fresh_store();
    let mut text = String::from(ACLED_HEADER);
    text.push('\n');
    for i in 0..40 {
        text.push_str(&acled_row(&format!("OK{i}"), "2024-11-01", "6.5"));
        text.push('\n');
    }
    text.push_str(&acled_row("BAD", "31/02/2024", "6.5"));
    text.push('\n');
    let file = write(dir.path(), "mostly_fine.csv", &text);
    let record = app::ingest(&ctx, Kind::Acled, &file, &Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((record.accepted, record.rejected), (40, 1));
    assert_eq!(record.rejects_by_reason.get("unreadable date"), Some(&1));
    let rejects = std::fs::read_to_string(ctx.store.join(record.rejects_file.unwrap_or_default()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        rejects.contains("mostly_fine.csv,line,42,event_date,unreadable date,31/02/2024"),
        "{rejects}"
    );
}

#[test]
fn a_missing_column_is_named_and_nothing_is_stored() {
    let (dir, ctx, _) = common::scored_store();
    let before = common::tree(&ctx.store);
    let file = write(
        dir.path(),
        "nolat.csv",
        "event_id_cnty,event_date,event_type,longitude,fatalities\nA,2024-01-01,Battles,21.0,0\n",
    );
    let err = app::ingest(&ctx, Kind::Acled, &file, &Default::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.ends_with("nolat.csv:1: missing required column `latitude`"),
        "{err}"
    );
    assert!(before == common::tree(&ctx.store));
}

#[test]
fn an_empty_or_binary_file_is_an_error_not_a_crash() {
    let (dir, ctx) = common::fresh_store();
    let empty = write(dir.path(), "empty.csv", "");
    let err = app::ingest(&ctx, Kind::Ucdp, &empty, &Default::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("empty.csv") && err.contains("empty"), "{err}");
    let junk = dir.path().join("junk.geojson");
    std::fs::write(&junk, [0xff, 0xfe, 0x00, 0x01]).unwrap_or_else(|e| panic!("{e}"));
    let err = app::ingest(&ctx, Kind::Areas, &junk, &Default::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("junk.geojson"), "{err}");
    assert!(
        !ctx.store.join("manifest.json").exists(),
        "nothing was published"
    );
}

#[test]
fn an_unknown_kind_is_refused_by_the_cli_with_the_kinds_there_are() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["--store"])
        .arg(dir.path().join("store"))
        .args(["ingest", "acledd", "whatever.csv"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("acledd") && stderr.contains("acled, ucdp, ucdp-candidate, geopko"),
        "{stderr}"
    );
    let lib = "acledd"
        .parse::<Kind>()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(lib, "unknown ingest kind `acledd`; expected one of: acled, ucdp, ucdp-candidate, geopko, population, climate, areas, idp, incidents");
}

#[test]
fn the_cli_reports_file_and_line_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = write(dir.path(), "bad_ucdp.csv", "id,type_of_violence,where_prec,latitude,longitude,date_start,date_end,best\n1,3,1,6.5,21.0,2020-01-01,2020-01-01,2\n2,3,1,6.5,21.0,not-a-date,2020-01-01,2\n");
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("--store")
        .arg(dir.path().join("store"))
        .arg("ingest")
        .arg("ucdp")
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad_ucdp.csv")
            && stderr.contains("line 3, column `date_start`: unreadable date"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_config_key_is_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = write(dir.path(), "vigil.toml", "[score]\nhalf_life = 30\n");
    let ctx = app::Context::new(dir.path().join("store"), Some(cfg));
    let err = app::score(&ctx, None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("vigil.toml") && err.contains("half_life"),
        "{err}"
    );
}
