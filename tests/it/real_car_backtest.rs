//! Issue 7 on real data: the weekly backtest on UCDP GED events for the Central African
//! Republic (ADM3 grid, MINUSCA bases, SPEI), tuned only on origins up to 2018-12-31 and
//! judged out of sample on the origins of 2019-01-01..2022-12-31 at a 30-day horizon.
//! The index must beat persistence there on average precision and on the events found in
//! the top 5 % of cells. Prints the results table (`--nocapture`); `docs/evaluation.md`
//! records it. Skips, saying so, when `../shared/data/real` is absent.

use crate::common;

#[test]
fn car_out_of_sample_2019_2022_index_beats_persistence() {
    let Some((dir, ctx)) = common::car_store() else {
        return;
    };
    let out = dir.path().join("backtest");
    let report = vigil::app::backtest(
        &ctx,
        &vigil::app::BacktestRequest {
            from: "2015-01-01",
            to: "2022-12-31",
            step: 7,
            horizons: &[30],
            tune_until: Some("2018-12-31"),
            out: Some(&out),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    println!("{}", report.report());
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("results.json")).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let row = |model: &str| {
        json["results"]
            .as_array()
            .and_then(|rows| {
                rows.iter().find(|r| {
                    r["window"] == "evaluation" && r["year"].is_null() && r["model"] == model
                })
            })
            .cloned()
            .unwrap_or_else(|| panic!("no evaluation row for {model}"))
    };
    let num = |r: &serde_json::Value, key: &str, i: Option<usize>| {
        let v = match i {
            Some(i) => &r[key][i],
            None => &r[key],
        };
        v.as_f64().unwrap_or_else(|| panic!("{key}: {r}"))
    };
    let (index, persistence) = (row("index"), row("persistence"));
    // 2019-01-01 .. 2022-12-31 every 7 days from 2015-01-01: 209 origins.
    assert_eq!(index["origins"], 209);
    let ap = (
        num(&index, "average_precision", None),
        num(&persistence, "average_precision", None),
    );
    assert!(
        ap.0 > ap.1,
        "average precision: index {} vs persistence {}",
        ap.0,
        ap.1
    );
    let top5 = (
        num(&index, "recall_events", Some(1)),
        num(&persistence, "recall_events", Some(1)),
    );
    assert!(
        top5.0 > top5.1,
        "top-5 % recall: index {} vs persistence {}",
        top5.0,
        top5.1
    );
    // The calibration saw nothing of the evaluation window.
    let cal = &json["calibrations"][0]["calibration"];
    assert!(
        cal["fitted_until"]
            .as_str()
            .is_some_and(|d| d <= "2018-12-31"),
        "{cal}"
    );
    let calibrated = row("calibrated");
    assert!(calibrated["brier"].is_number() && calibrated["reliability"].is_array());
}
