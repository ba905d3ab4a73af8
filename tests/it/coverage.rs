//! Issue 5 with hand-checkable fixtures: villages east of a company base on the 6.5° N
//! parallel (0.1° of longitude ≈ 11.05 km there), scored through the store and the engine,
//! then summarised, changed by scenarios, planned for, and followed over weeks.
//!
//! - Riverside (M), 200 troops → 15 km reach, at 21.00° E, open throughout.
//! - Hilltop (M), 200 troops, at 21.50° E, closed 30 days before D.
//! - Relief (M), a 100-troop temporary operating base at 21.36° E opening D + 14.
//! - Villages of 1,000 people at 21.10° E (A, 11 km from Riverside), 21.36° E (B, 40 km)
//!   and 21.46° E (C, 51 km; 4 km from Hilltop), each hit by three killings in the ten
//!   days before D: all three are high or critical on D; A is covered, B and C are gaps.

use serde_json::Value;
use std::path::Path;
use vigil::app::{self, Context, CoverageRequest, PlanRequest};
use vigil::grid::{cell_from_u64, cell_of, distance_km};
use vigil::model::day::{days_from_ymd, format_date};
use vigil::model::rows::{Base, Category, Event, PopulationCell, Table};
use vigil::store::snapshot::Snapshot;
use vigil::store::Store;

use crate::common;

const LAT: f64 = 6.5;
const A: f64 = 21.10;
const B: f64 = 21.36;
const C: f64 = 21.46;

fn d0() -> i32 {
    days_from_ymd(2024, 6, 30).unwrap_or_default()
}

fn cell(lon: f64) -> u64 {
    cell_of(LAT, lon, h3o::Resolution::Seven)
        .map(u64::from)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn fixture(ctx: &Context) {
    let d = d0();
    let mut store =
        Store::open_writer(&ctx.store, 7, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let base = |name: &str, lon: f64, valid: (i32, i32), troops: i64| {
        Base::at("M", name, (LAT, lon), cell(lon), valid, Some(troops))
    };
    let bases = vec![
        base("Riverside", 21.0, (d - 400, d + 400), 200),
        base("Hilltop", 21.5, (d - 400, d - 30), 200),
        base("Relief", B, (d + 14, d + 400), 100),
    ];
    let mut events = Vec::new();
    let mut population = Vec::new();
    for (v, lon) in [("A", A), ("B", B), ("C", C)] {
        population.push(PopulationCell {
            cell: cell(lon),
            population: 1000.0,
        });
        for k in 0..3 {
            let mut e = Event::at(
                "acled",
                &format!("{v}{k}"),
                d - 9 + 4 * k,
                (LAT, lon),
                Some(cell(lon)),
                Category::CivilianHarm,
                2,
            );
            e.civilian_fatalities = Some(2);
            events.push(e);
        }
    }
    common::publish(
        &mut store,
        vec![
            ("events", Event::to_frame(&events)),
            ("bases", Base::to_frame(&bases)),
            ("population", PopulationCell::to_frame(&population)),
        ],
    );
}

fn scored(days: &[i32]) -> (tempfile::TempDir, Context) {
    let (dir, ctx) = common::fresh_store();
    fixture(&ctx);
    for d in days {
        app::score(&ctx, Some(&format_date(*d))).unwrap_or_else(|e| panic!("{e}"));
    }
    (dir, ctx)
}

/// A typed result as JSON, to assert on its fields as `--format json` names them.
fn json<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or_else(|e| panic!("{e}"))
}

fn record(ctx: &Context, date: i32, lon: f64) -> vigil::model::cell::CellRecord {
    let store = Store::open(&ctx.store, 7).unwrap_or_else(|e| panic!("{e}"));
    let snap = Snapshot::load(&store, Some(&format_date(date))).unwrap_or_else(|e| panic!("{e}"));
    let i = snap.index.get(&cell(lon)).copied();
    snap.cells[i.unwrap_or_else(|| panic!("{lon} in grid"))].clone()
}

#[test]
fn gaps_summary_and_hit_rate_by_hand() {
    let d = d0();
    let (_dir, ctx) = scored(&[d - 40, d]);
    let (a, b, c) = (record(&ctx, d, A), record(&ctx, d, B), record(&ctx, d, C));
    for r in [&a, &b, &c] {
        assert!(r.tier.is_high(), "{:?} {}", r.tier, r.risk);
        assert_eq!(r.civilian_fatalities_30d, 6);
        assert_eq!(r.coverage.mission.as_deref(), Some("M"));
    }
    assert!(a.coverage.covered && !a.flags.gap && a.coverage.troops_in_reach == 200);
    assert!(b.flags.gap && c.flags.gap);
    // A base that closes: Hilltop covered C forty days before D, not on D.
    let before = record(&ctx, d - 40, C);
    assert!(
        before.coverage.covered && before.coverage.nearest_base.as_deref() == Some("Hilltop (M)")
    );
    assert!(!c.coverage.covered && c.coverage.nearest_base.as_deref() == Some("Riverside (M)"));
    let rows = json(
        &app::coverage(
            &ctx,
            &CoverageRequest {
                date: Some(&format_date(d)),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}")),
    );
    let all = &rows[0];
    assert_eq!(all["unit"], "all");
    assert_eq!(all["high_cells"], 3);
    assert_eq!(all["gap_cells"], 2);
    assert_eq!(all["population_in_gaps"], 2000.0);
    assert_eq!(all["civilian_fatalities_30d"], 18);
    assert_eq!(all["civilian_fatalities_30d_in_gaps"], 12);
    let cells = all["cells"].as_f64().unwrap_or_default();
    assert_eq!(all["gap_area_share"], 2.0 / cells);
    assert!((all["gap_hit_rate_30d"].as_f64().unwrap_or_default() - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(rows[1]["unit"], "M");
}

#[test]
fn a_base_exactly_at_reach_distance_covers_the_cell() {
    // Village A's cell centre is ≈11 km from Riverside; with the company reach set to
    // exactly that distance the cell is covered, a metre less and it is not.
    let d = d0();
    let centre = cell_from_u64(cell(A))
        .map(vigil::grid::center)
        .unwrap_or_default();
    let km = distance_km((LAT, 21.0), centre);
    for (reach, covered) in [(km, true), (km - 0.001, false)] {
        let (dir, ctx) = common::fresh_store();
        fixture(&ctx);
        let toml = format!("[coverage]\ncompany_radius_km = {reach:?}\n");
        let path = dir.path().join("vigil.toml");
        std::fs::write(&path, toml).unwrap_or_else(|e| panic!("{e}"));
        let ctx = Context {
            config: Some(path),
            ..ctx
        };
        app::score(&ctx, Some(&format_date(d))).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            record(&ctx, d, A).coverage.covered,
            covered,
            "reach {reach} km"
        );
    }
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
    p
}

#[test]
fn scenarios_cover_a_known_gap_and_closing_a_base_opens_one() {
    let d = d0();
    let (dir, ctx) = scored(&[d]);
    let date = format_date(d);
    // A 100-troop TOB at village B: B is covered, C (11 km away) is not: reach 10 km.
    let open = write(
        dir.path(),
        "open.toml",
        &format!("[[add]]\nname = \"TOB B\"\nlat = {LAT}\nlon = {B}\ntroops = 100\n"),
    );
    let out = json(&app::scenario(&ctx, &open, Some(&date)).unwrap_or_else(|e| panic!("{e}")));
    let all = &out["delta"][0];
    assert_eq!(all["unit"], "all");
    assert_eq!(all["gap_cells"], -1);
    assert_eq!(all["population_in_gaps"], -1000.0);
    assert_eq!(all["civilian_fatalities_30d_in_gaps"], -6);
    let b_h3 = cell_from_u64(cell(B))
        .map(|c| c.to_string())
        .unwrap_or_default();
    let changed = out["changed"].as_array().cloned().unwrap_or_default();
    let b_row = changed
        .iter()
        .find(|c| c["h3"] == b_h3.as_str())
        .unwrap_or_else(|| panic!("B changed"));
    assert_eq!(b_row["gap"], serde_json::json!([true, false]));
    assert_eq!(b_row["troops_in_reach"], serde_json::json!([0, 100]));
    // Nothing stored changed: the snapshot still has B as a gap.
    assert!(record(&ctx, d, B).flags.gap);
    // Closing Riverside opens a gap at A.
    let close = write(dir.path(), "close.json", r#"{"close": ["Riverside"]}"#);
    let out = json(&app::scenario(&ctx, &close, Some(&date)).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(out["delta"][0]["gap_cells"], 1);
    assert_eq!(out["after"][0]["gap_cells"], 3);
    // An unknown base is refused, naming it and the active ones.
    let bad = write(dir.path(), "bad.json", r#"{"close": ["Atlantis"]}"#);
    let err = app::scenario(&ctx, &bad, Some(&date))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("Atlantis") && err.contains("Riverside (M)"),
        "{err}"
    );
    // An invalid change is refused naming the change and the field.
    let bad = write(
        dir.path(),
        "bad2.json",
        r#"{"add": [{"name": "X", "lat": 95, "lon": 21, "troops": 10}]}"#,
    );
    let err = app::scenario(&ctx, &bad, Some(&date))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("add[0] (X)") && err.contains("lat"), "{err}");
    let unknown = write(dir.path(), "bad3.json", r#"{"open": []}"#);
    let err = app::scenario(&ctx, &unknown, Some(&date))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("bad3.json") && err.contains("open"), "{err}");
}

#[test]
fn plan_finds_the_site_that_covers_both_gaps() {
    let d = d0();
    let (_dir, ctx) = scored(&[d]);
    let req = PlanRequest {
        date: Some(&format_date(d)),
        k: 3,
        radius_km: None,
        troops: 100,
    };
    let report = app::plan(&ctx, &req).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.options.radius_km, 10.0, "the configured post radius");
    let out = json(&report.plan);
    // B and C are 11 km apart: one 10 km site between them covers both (the optimum for
    // k = 1, 2000 people); no second site adds anything.
    assert_eq!(out["demand"], 2000.0);
    let sites = out["sites"].as_array().cloned().unwrap_or_default();
    assert_eq!(sites.len(), 1, "{sites:?}");
    assert_eq!(sites[0]["gain"], 2000.0);
    assert_eq!(sites[0]["gain_cells"], 2);
    let at = (
        sites[0]["lat"].as_f64().unwrap_or_default(),
        sites[0]["lon"].as_f64().unwrap_or_default(),
    );
    let centre = |lon| {
        cell_from_u64(cell(lon))
            .map(vigil::grid::center)
            .unwrap_or_default()
    };
    assert!(distance_km(at, centre(B)) <= 10.0 && distance_km(at, centre(C)) <= 10.0);
    assert_eq!(out["remaining"], 0.0);
    // The plan read back as a scenario closes exactly the planned gain.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = write(dir.path(), "plan.json", &out["scenario"].to_string());
    let applied =
        json(&app::scenario(&ctx, &file, Some(&format_date(d))).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(applied["delta"][0]["population_in_gaps"], -2000.0);
}

#[test]
fn responsiveness_counts_days_from_entry_to_coverage() {
    // Weekly from D − 14 (before the killings) to D + 21. The first killing (D − 9) makes
    // all three villages high on D − 7: A is covered then (0 days), B is covered when
    // Relief opens on D + 14 (21 days), C never (censored after 28 days).
    let d = d0();
    let days: Vec<i32> = (-2..=3).map(|w| d + 7 * w).collect();
    let (_dir, ctx) = scored(&days);
    let report = app::responsiveness(&ctx, &format_date(d - 14), &format_date(d + 21))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.snapshots, 6);
    let out = json(&report.rows);
    let all = out
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["mission"] == "all").cloned())
        .unwrap_or_default();
    assert_eq!(all["entered"], 3);
    assert_eq!(all["covered"], 2);
    assert_eq!(all["covered_at_entry"], 1);
    // Kaplan–Meier: S = 2/3 after day 0, 1/3 after day 21.
    assert_eq!(all["median_days"], 21);
    assert_eq!(all["within_30d"], Value::Null, "nobody followed 30 days");
    assert!(record(&ctx, d + 14, B).coverage.covered);
}

#[test]
fn radii_sensitivity_and_time_series() {
    let d = d0();
    let (_dir, ctx) = scored(&[d - 7, d]);
    let rows = json(
        &app::coverage(
            &ctx,
            &CoverageRequest {
                date: Some(&format_date(d)),
                radii: vec![5.0, 45.0],
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}")),
    );
    let gaps = |radius: Value| {
        rows.as_array()
            .and_then(|r| {
                r.iter()
                    .find(|x| x["unit"] == "all" && x["radius_km"] == radius)
                    .map(|x| x["gap_cells"].clone())
            })
            .unwrap_or_default()
    };
    // As scored: B and C. 5 km: A (11 km) too. 45 km: only C (51 km from Riverside).
    assert_eq!(gaps(Value::Null), 2);
    assert_eq!(gaps(serde_json::json!(5.0)), 3);
    assert_eq!(gaps(serde_json::json!(45.0)), 1);
    let series = json(
        &app::coverage(
            &ctx,
            &CoverageRequest {
                range: Some((&format_date(d - 7), &format_date(d))),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(
        common::series_dates(&series),
        [format_date(d - 7), format_date(d)]
    );
    let err = app::coverage(
        &ctx,
        &CoverageRequest {
            by: Some("district"),
            ..Default::default()
        },
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("district") && err.contains("mission"), "{err}");
}

#[test]
fn recomputing_the_sample_with_its_own_bases_reproduces_every_stored_cell() {
    let (_dir, ctx, date) = common::scored_store();
    let store = Store::open(&ctx.store, 7).unwrap_or_else(|e| panic!("{e}"));
    let snap = Snapshot::load(&store, Some(&date)).unwrap_or_else(|e| panic!("{e}"));
    let bases: Vec<Base> = store.read().unwrap_or_else(|e| panic!("{e}"));
    let cfg = vigil::config::CoverageConfig::default();
    let grid =
        vigil::analysis::recompute::SnapshotGrid::new(&snap.cells, h3o::Resolution::Seven, &cfg);
    let active = vigil::coverage::snapshot_bases(&bases, &snap, &cfg);
    let again = grid.recompute(&active);
    assert_eq!(again.len(), snap.cells.len());
    for (a, b) in again.iter().zip(&snap.cells) {
        assert_eq!(a, b);
    }
    assert!(snap.cells.iter().any(|r| r.flags.gap));
}
