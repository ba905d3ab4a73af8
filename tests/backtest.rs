//! Issue 7 (first part): the backtest runner on a hand-made store. Village A is hit every
//! week, village B never: every forecast that looks at the past ranks A first, so
//! persistence and the index have average precision 1 and find every later event in their
//! top 1 %; the random ranking is the control.

mod common;

use vigil::store::Store;
use vigil::tables::{Category, Event, PopulationCell, Table};
use vigil::util::days_from_ymd;

const LAT: f64 = 6.5;

fn cell(lon: f64) -> u64 {
    vigil::grid::cell_of(LAT, lon, h3o::Resolution::Seven)
        .map(u64::from)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn persistent_violence_is_found_by_the_index_and_persistence() {
    let (dir, ctx) = common::fresh_store();
    let start = days_from_ymd(2023, 1, 1).unwrap_or_default();
    let mut store = Store::open(&ctx.store, 7).unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (21.0, 21.5);
    let events: Vec<Event> = (0..104)
        .map(|w| {
            let mut e = Event::at(
                "acled",
                &format!("A{w}"),
                start + 7 * w,
                (LAT, a),
                Some(cell(a)),
                Category::CivilianHarm,
                1,
            );
            e.civilian_fatalities = Some(1);
            e
        })
        .collect();
    let population = vec![
        PopulationCell {
            cell: cell(a),
            population: 500.0,
        },
        PopulationCell {
            cell: cell(b),
            population: 500.0,
        },
    ];
    let frame = |r: polars::prelude::PolarsResult<polars::prelude::DataFrame>| {
        r.unwrap_or_else(|e| panic!("{e}"))
    };
    store
        .publish(
            vec![
                ("events", frame(Event::to_frame(&events))),
                ("population", frame(PopulationCell::to_frame(&population))),
            ],
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("bt");
    let table =
        vigil::commands::backtest(&ctx, "2023-06-01", "2024-06-01", 28, &[30, 60], Some(&out))
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(table.contains("| 30 d | all | index |"), "{table}");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("results.json")).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.join("results.md").exists());
    let rows = json["results"].as_array().cloned().unwrap_or_default();
    let row = |h: u64, model: &str| {
        rows.iter()
            .find(|r| r["horizon"] == h && r["year"].is_null() && r["model"] == model)
            .cloned()
            .unwrap_or_else(|| panic!("{h} {model}"))
    };
    for h in [30, 60] {
        for model in ["index", "persistence", "history"] {
            let r = row(h, model);
            assert_eq!(r["average_precision"], 1.0, "{h} {model}: {r}");
            assert_eq!(r["roc_auc"], 1.0, "{h} {model}: {r}");
            assert_eq!(r["recall_events"][0], 1.0, "{h} {model}: {r}");
        }
        let r = row(h, "random");
        let origins = r["origins"].as_u64().unwrap_or(0);
        assert_eq!(origins, 14, "2023-06-01 .. 2024-06-01 every 28 days");
        // Every origin is followed by A's weekly events: h/7 events or so each.
        assert!(r["events"].as_f64().unwrap_or(0.0) >= (origins * (h / 7 - 1)) as f64);
    }
    // Lead time: A is flagged from the first origin on; its events follow within days.
    let lead = &json["lead_time"];
    assert_eq!(lead["events"], lead["flagged"], "{lead}");
    assert!(
        lead["median_days"]
            .as_f64()
            .is_some_and(|m| m > 0.0 && m <= 90.0),
        "{lead}"
    );
    // Population-weighted recall: A holds half the residents; the top 5 % of them is A.
    assert_eq!(row(30, "index")["recall_events_population"][1], 1.0);
    let err = vigil::commands::backtest(&ctx, "2023-06-01", "2024-06-01", 28, &[0], None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("--horizon"), "{err}");
}
