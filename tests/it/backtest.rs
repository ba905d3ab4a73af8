//! Issue 7: the backtest runner and the calibration on a hand-made store. Village A is hit
//! every week, village B never: every forecast that looks at the past ranks A first, so
//! persistence, the index and the calibrated probability have average precision 1 and find
//! every later event in their top 1 %; the random ranking is the control. The calibration
//! fitted on the tuning window gives A a high probability and B a low one, is stored by
//! `vigil calibrate`, carried by the next snapshot and served by the API.

use crate::common;

use axum::http::Method;
use vigil::app::{BacktestRequest, Context};
use vigil::model::day::days_from_ymd;
use vigil::model::rows::{Category, Event, PopulationCell, Table};
use vigil::store::Store;

const LAT: f64 = 6.5;
const A: f64 = 21.0;
const B: f64 = 21.5;

fn cell(lon: f64) -> u64 {
    vigil::grid::cell_of(LAT, lon, h3o::Resolution::Seven)
        .map(u64::from)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A store whose village A is hit every week of 2023 and 2024 and village B never.
fn weekly_violence() -> (tempfile::TempDir, Context) {
    let (dir, ctx) = common::fresh_store();
    let start = days_from_ymd(2023, 1, 1).unwrap_or_default();
    let mut store =
        Store::open_writer(&ctx.store, 7, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let events: Vec<Event> = (0..104)
        .map(|w| {
            let mut e = Event::at(
                "acled",
                &format!("A{w}"),
                start + 7 * w,
                (LAT, A),
                Some(cell(A)),
                Category::CivilianHarm,
                1,
            );
            e.civilian_fatalities = Some(1);
            e
        })
        .collect();
    let population = vec![
        PopulationCell {
            cell: cell(A),
            population: 500.0,
        },
        PopulationCell {
            cell: cell(B),
            population: 500.0,
        },
    ];
    common::publish(
        &mut store,
        vec![
            ("events", Event::to_frame(&events)),
            ("population", PopulationCell::to_frame(&population)),
        ],
    );
    (dir, ctx)
}

fn request<'a>(horizons: &'a [u32], out: Option<&'a std::path::Path>) -> BacktestRequest<'a> {
    BacktestRequest {
        from: "2023-06-01",
        to: "2024-06-01",
        step: 28,
        horizons,
        tune_until: None,
        out,
        rows: false,
    }
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The whole-window row of a model.
fn row(json: &serde_json::Value, h: u64, window: &str, model: &str) -> serde_json::Value {
    json["results"]
        .as_array()
        .and_then(|rows| {
            rows.iter().find(|r| {
                r["horizon"] == h
                    && r["window"] == window
                    && r["year"].is_null()
                    && r["model"] == model
            })
        })
        .cloned()
        .unwrap_or_else(|| panic!("{h} {window} {model}"))
}

/// Whether the run has the whole-period row of `model` at horizon `h` in `window`.
fn has_row(result: &vigil::evaluation::Backtest, h: u32, window: &str, model: &str) -> bool {
    result
        .metrics
        .iter()
        .any(|m| m.horizon == h && m.window == window && m.year.is_none() && m.model == model)
}

#[test]
fn persistent_violence_is_found_by_the_index_and_persistence() {
    let (dir, ctx) = weekly_violence();
    let out = dir.path().join("bt");
    let result = vigil::app::backtest(&ctx, &request(&[30, 60], Some(&out)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(has_row(&result, 30, "all", "index"), "{result:?}");
    // No calibration is stored: the run says how to get one.
    let note = result.calibrations[0].note.clone().unwrap_or_default();
    assert!(note.contains("vigil calibrate"), "{note}");
    assert!(result.report().contains("| 30 d | all | all | index |"));
    let json = read_json(&out.join("results.json"));
    assert!(out.join("results.md").exists());
    for h in [30, 60] {
        for model in ["index", "persistence", "history"] {
            let r = row(&json, h, "all", model);
            assert_eq!(r["average_precision"], 1.0, "{h} {model}: {r}");
            assert_eq!(r["roc_auc"], 1.0, "{h} {model}: {r}");
            assert_eq!(r["recall_events"][0], 1.0, "{h} {model}: {r}");
            assert!(r["brier"].is_null(), "scores, not probabilities: {r}");
        }
        let r = row(&json, h, "all", "random");
        let origins = r["origins"].as_u64().unwrap_or(0);
        assert_eq!(origins, 14, "2023-06-01 .. 2024-06-01 every 28 days");
        // Every origin is followed by A's weekly events: h/7 events or so each.
        assert!(r["events"].as_f64().unwrap_or(0.0) >= (origins * (h / 7 - 1)) as f64);
        // The precision–recall curve at rank cut-offs ends at recall 1.
        let curve = r["pr_curve"].as_array().cloned().unwrap_or_default();
        assert_eq!(curve.last().map(|p| p["recall"].clone()), Some(1.0.into()));
    }
    // Lead time: A is flagged from the first origin on; its events follow within days.
    let lead = &json["lead_time"][0];
    assert_eq!(lead["window"], "all");
    assert_eq!(
        (lead["flag"].as_str(), lead["window_days"].as_i64()),
        (Some("high tier"), Some(90))
    );
    assert_eq!(lead["events"], lead["flagged"], "{lead}");
    assert!(
        lead["median_days"]
            .as_f64()
            .is_some_and(|m| m > 0.0 && m <= 90.0),
        "{lead}"
    );
    // Per year of the event, the counts add up to the window's.
    let leads = json["lead_time"].as_array().cloned().unwrap_or_default();
    let by_year: Vec<&serde_json::Value> = leads
        .iter()
        .filter(|l| l["year"].is_number() && l["flag"] == "high tier" && l["near_km"] == 0.0)
        .collect();
    assert_eq!(
        by_year
            .iter()
            .filter_map(|l| l["year"].as_i64())
            .collect::<Vec<_>>(),
        [2023, 2024]
    );
    let sum = |key: &str| by_year.iter().filter_map(|l| l[key].as_u64()).sum::<u64>();
    assert_eq!(
        (Some(sum("events")), Some(sum("flagged"))),
        (lead["events"].as_u64(), lead["flagged"].as_u64())
    );
    // Forward gap capture: no base anywhere, so A (high at every origin) is a gap and
    // every later death is outside reach and in it; the years' origins add up.
    let gaps = json["gap_capture"].as_array().cloned().unwrap_or_default();
    let all = &gaps[0];
    assert_eq!(
        (all["window"].clone(), all["year"].clone()),
        ("all".into(), serde_json::Value::Null)
    );
    assert!(
        all["deaths_outside_reach"]
            .as_f64()
            .is_some_and(|d| d >= 14.0),
        "{all}"
    );
    assert_eq!(
        (all["share_in_gap"].as_f64(), all["share_near_gap"].as_f64()),
        (Some(1.0), Some(1.0))
    );
    assert!(
        all["gap_cell_share"]
            .as_f64()
            .is_some_and(|s| s > 0.0 && s < all["near_cell_share"].as_f64().unwrap_or(0.0)),
        "{all}"
    );
    let year_sum = |key: &str| {
        gaps[1..]
            .iter()
            .filter_map(|g| g[key].as_f64())
            .sum::<f64>()
    };
    assert_eq!(
        year_sum("deaths_outside_reach"),
        all["deaths_outside_reach"].as_f64().unwrap_or(-1.0)
    );
    assert_eq!(year_sum("origins"), all["origins"].as_f64().unwrap_or(-1.0));
    // Population-weighted recall: A holds half the residents; the top 5 % of them is A.
    assert_eq!(
        row(&json, 30, "all", "index")["recall_events_population"][1],
        1.0
    );
    let err = vigil::app::backtest(&ctx, &request(&[0], None))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("--horizon"), "{err}");
}

#[test]
fn the_calibration_is_fitted_on_the_tuning_window_and_judged_after_it() {
    let (dir, ctx) = weekly_violence();
    let out = dir.path().join("tuned");
    let req = BacktestRequest {
        tune_until: Some("2023-12-31"),
        ..request(&[30], Some(&out))
    };
    let result = vigil::app::backtest(&ctx, &req).unwrap_or_else(|e| panic!("{e}"));
    let json = read_json(&out.join("results.json"));
    assert_eq!(json["tune_until"], "2023-12-31");
    // Origins every 28 days from 2023-06-01: 8 up to 2023-12-31, 6 after.
    assert_eq!(row(&json, 30, "tuning", "index")["origins"], 8);
    assert_eq!(row(&json, 30, "evaluation", "index")["origins"], 6);
    // The calibrated model exists only out of sample.
    assert!(json["results"].as_array().is_some_and(|r| !r
        .iter()
        .any(|m| m["model"] == "forecast" && m["window"] == "tuning")));
    let c = &json["calibrations"][0];
    assert_eq!(c["horizon"], 30);
    let cal = &c["calibration"];
    // Fitted on origins whose 30 days end by 2023-12-31: the last is 2023-11-16.
    assert_eq!(cal["basis"], "origins 2023-06-01..2023-11-16 every 28 days");
    assert_eq!(cal["fitted_until"], "2023-12-16");
    let coefficients: Vec<f64> = cal["coefficients"]
        .as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
        .unwrap_or_default();
    assert_eq!(coefficients.len(), vigil::model::params::P);
    assert!(
        coefficients
            .iter()
            .enumerate()
            .all(|(j, b)| !vigil::model::params::monotone(j) || *b >= 0.0),
        "{cal}"
    );
    assert!(coefficients.iter().any(|b| *b > 0.0), "{cal}");
    let r = row(&json, 30, "evaluation", "forecast");
    assert_eq!(r["average_precision"], 1.0, "{r}");
    assert_eq!(r["recall_events"][0], 1.0, "{r}");
    // Better than climatology, and the reliability bins hold every cell-origin.
    let (brier, reference) = (
        r["brier"].as_f64().unwrap_or(1.0),
        r["brier_reference"].as_f64().unwrap_or(0.0),
    );
    assert!(brier < reference, "{r}");
    assert!(r["brier_skill"].as_f64().is_some_and(|s| s > 0.0), "{r}");
    let bins = r["reliability"].as_array().cloned().unwrap_or_default();
    assert!(!bins.is_empty());
    assert!(has_row(&result, 30, "evaluation", "forecast"));
    // Figures: one curve per model; the reliability diagram; skill by year.
    let names: Vec<String> = json["figures"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        names,
        [
            "pr_curve_30d.svg",
            "reliability_30d.svg",
            "skill_by_year_30d.svg"
        ]
    );
    let pr = std::fs::read_to_string(out.join("pr_curve_30d.svg")).unwrap_or_default();
    assert_eq!(pr.matches("<polyline").count(), 6, "{pr}");
    for model in vigil::evaluation::MODELS {
        assert!(pr.contains(&format!("data-name=\"{model}\"")), "{model}");
    }
    assert!(out.join("reliability_30d.svg").exists());
    // A tuning window that takes every origin leaves nothing to judge, and says so.
    let late = BacktestRequest {
        tune_until: Some("2024-05-31"),
        ..request(&[30], None)
    };
    let result = vigil::app::backtest(&ctx, &late).unwrap_or_else(|e| panic!("{e}"));
    let note = result.calibrations[0].note.clone().unwrap_or_default();
    assert!(
        note.contains("no origin falls after --tune-until"),
        "{note}"
    );
    assert!(result.metrics.iter().all(|m| m.window != "evaluation"));
    // A window without origins on one side is refused, naming the parameter.
    let bad = BacktestRequest {
        tune_until: Some("2025-01-01"),
        ..request(&[30], None)
    };
    let err = vigil::app::backtest(&ctx, &bad)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("--tune-until"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_calibration_gives_every_later_snapshot_a_probability_served_by_the_api() {
    let (_dir, ctx) = weekly_violence();
    let fitted = vigil::app::calibrate(&ctx, Some(("2023-03-01", "2023-12-31")), 7, 30)
        .unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(&ctx.store, 7).unwrap_or_else(|e| panic!("{e}"));
    let cal = store
        .manifest()
        .calibration
        .clone()
        .unwrap_or_else(|| panic!("no calibration in the manifest"));
    assert_eq!(cal.horizon_days, 30);
    assert_eq!(cal.fitted_until, "2023-12-29");
    assert_eq!(
        fitted.as_ref(),
        Some(&cal),
        "what was stored is what was returned"
    );
    vigil::app::score(&ctx, Some("2024-03-01")).unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(&ctx.store, 7).unwrap_or_else(|e| panic!("{e}"));
    let snap = vigil::store::snapshot::Snapshot::load(&store, Some("2024-03-01"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(snap.info.calibration.as_ref(), Some(&cal));
    let prob = |lon: f64| {
        let r = &snap.cells[snap.index[&cell(lon)]];
        let p = r.probability.unwrap_or_else(|| panic!("no probability"));
        p
    };
    let (pa, pb) = (prob(A), prob(B));
    assert!(pa > 0.5 && pb < 0.1 && pa > pb, "A {pa}, B {pb}");
    // Every cell has one.
    assert!(snap.cells.iter().all(|r| r.probability.is_some()));
    // The API serves it with the cell and describes the model in the collection.
    let state = vigil::server::load_state(&ctx.store, vigil::config::Config::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let h3 = h3o::CellIndex::try_from(cell(A))
        .map(|c| c.to_string())
        .unwrap_or_default();
    let item = common::call(
        &state,
        Method::GET,
        &format!("/collections/risk/items/{h3}"),
        &[],
        None,
    )
    .await
    .json();
    let served = item["properties"]["probability"].as_f64().unwrap_or(-1.0);
    assert!((served - pa).abs() < 1e-6, "{item}");
    let collection = common::call(&state, Method::GET, "/collections/risk", &[], None)
        .await
        .json();
    assert_eq!(
        collection["calibration"]["horizon_days"], 30,
        "{collection}"
    );
    // Without --reset nothing else changes it; with it, later snapshots carry none.
    vigil::app::calibrate(&ctx, None, 7, 30).unwrap_or_else(|e| panic!("{e}"));
    vigil::app::score(&ctx, Some("2024-03-08")).unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(&ctx.store, 7).unwrap_or_else(|e| panic!("{e}"));
    let snap = vigil::store::snapshot::Snapshot::load(&store, Some("2024-03-08"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(snap.info.calibration.is_none());
    assert!(snap.cells.iter().all(|r| r.probability.is_none()));
    // A tuning window shorter than the horizon is refused, naming the parameter.
    let err = vigil::app::calibrate(&ctx, Some(("2023-12-20", "2023-12-31")), 7, 30)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("--to"), "{err}");
}

/// Issue 14, no leakage: the forecast's inputs of origin D (and so its probability) are
/// unchanged when events dated after D, or dated before D but published after it, are
/// added to the store.
#[test]
fn the_forecast_inputs_of_a_day_ignore_everything_known_later() {
    let (_dir, ctx) = weekly_violence();
    let d = days_from_ymd(2023, 9, 1).unwrap_or_default();
    let inputs = |ctx: &Context| {
        let store = Store::open(&ctx.store, 7).unwrap_or_else(|e| panic!("{e}"));
        let config = vigil::config::Config::default();
        let mut engine = vigil::risk::Engine::for_forecast(&store, &config, d, d)
            .unwrap_or_else(|e| panic!("{e}"));
        engine.keep_features(true);
        let scored = engine
            .score(&vigil::risk::Prior::of(&store), d)
            .unwrap_or_else(|e| panic!("{e}"));
        let cells: Vec<u64> = scored.rows.iter().map(|r| r.cell).collect();
        (cells, scored.features.unwrap_or_default())
    };
    let before = inputs(&ctx);
    assert!(!before.1.is_empty());
    // Village A's cell has violence in its inputs.
    let a = before
        .0
        .iter()
        .position(|c| *c == cell(A))
        .unwrap_or(usize::MAX);
    assert!(before.1.get(a).is_some_and(|x| x.iter().any(|v| *v > 0.0)));
    let mut store =
        Store::open_writer(&ctx.store, 7, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut events: Vec<Event> = store.read().unwrap_or_else(|e| panic!("{e}"));
    for (i, day) in [d + 1, d + 40, d - 3, d - 200].into_iter().enumerate() {
        let mut e = Event::at(
            "acled",
            &format!("late{i}"),
            day,
            (LAT, B),
            Some(cell(B)),
            Category::ArmedClash,
            5,
        );
        if day < d {
            // Dated before D, published after it.
            e.published_at = Some(i64::from(d + 2) * 86_400);
        }
        events.push(e);
    }
    common::publish(&mut store, vec![("events", Event::to_frame(&events))]);
    drop(store);
    let after = inputs(&ctx);
    assert_eq!(before.0, after.0);
    assert_eq!(
        before.1, after.1,
        "an input of D moved with events known after D"
    );
}

/// Issue 14, no leakage: the model fitted on the tuning window is the same, to the bit,
/// when every event after the tuning window is removed.
#[test]
fn the_fitted_forecast_does_not_see_the_evaluation_window() {
    let (_dir, ctx) = weekly_violence();
    let req = BacktestRequest {
        tune_until: Some("2023-12-31"),
        ..request(&[30], None)
    };
    let fitted = |ctx: &Context| {
        vigil::app::backtest(ctx, &req)
            .unwrap_or_else(|e| panic!("{e}"))
            .calibrations[0]
            .calibration
            .clone()
            .unwrap_or_else(|| panic!("no calibration"))
    };
    let with_all = fitted(&ctx);
    let until = days_from_ymd(2023, 12, 31).unwrap_or_default();
    let mut store =
        Store::open_writer(&ctx.store, 7, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut events: Vec<Event> = store.read().unwrap_or_else(|e| panic!("{e}"));
    let n = events.len();
    events.retain(|e| e.date_end <= until);
    assert!(events.len() < n);
    common::publish(&mut store, vec![("events", Event::to_frame(&events))]);
    drop(store);
    assert_eq!(with_all, fitted(&ctx));
}

/// Issue 14: `vigil backtest --rows` writes the judged cell-origin rows (every cell followed
/// by harm, the others sampled and weighted), and `benches/forecast/bounds.py` reads them:
/// the stored forecast recomputed from results.json equals Vigil's, and no ranking has more
/// Brier skill than the best calibration of itself. The Python part skips, saying so,
/// without scikit-learn, unless VIGIL_REQUIRE_PYTHON_GIS is set (as in CI).
#[test]
fn the_judged_rows_are_written_and_read_outside_vigil() {
    use polars::prelude::*;
    let (dir, ctx) = weekly_violence();
    let out = dir.path().join("rows-run");
    let vigil = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
            .env_remove("VIGIL_CONFIG")
            .env_remove("JOB_COMPLETION_INDEX")
            .arg("--store")
            .arg(&ctx.store)
            .arg("backtest")
            .args([
                "--from",
                "2023-06-01",
                "--to",
                "2024-06-01",
                "--step",
                "28",
                "--tune-until",
                "2023-12-31",
            ])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let o = vigil(&["--out", &out.to_string_lossy(), "--rows"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file =
        std::fs::File::open(out.join(vigil::app::ROWS_FILE)).unwrap_or_else(|e| panic!("{e}"));
    let rows = ParquetReader::new(file)
        .finish()
        .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<String> = rows
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let mut expected: Vec<String> = [
        "origin",
        "cell",
        "window",
        "weight",
        "events_30d",
        "deaths_30d",
        "persistence",
        "history",
        "history_10km",
        "index",
        "forecast_30d",
    ]
    .map(String::from)
    .to_vec();
    expected.extend(vigil::model::params::feature_names());
    assert_eq!(names, expected);
    let f64s = |name: &str| -> Vec<f64> {
        rows.column(name)
            .and_then(|c| {
                c.f64()
                    .map(|c| c.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let (weight, events) = (f64s("weight"), f64s("events_30d"));
    let windows: Vec<String> = rows
        .column("window")
        .and_then(|c| {
            c.str()
                .map(|c| c.iter().map(|v| v.unwrap_or_default().to_owned()).collect())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let forecast: Vec<Option<f64>> = rows
        .column("forecast_30d")
        .and_then(|c| c.f64().map(|c| c.iter().collect()))
        .unwrap_or_else(|e| panic!("{e}"));
    // Every cell followed by harm is kept at weight 1; the others weigh 1 / their rate.
    let rates: Vec<f64> = vigil::evaluation::SAMPLE_RATES
        .iter()
        .map(|r| 1.0 / r)
        .collect();
    for (w, e) in weight.iter().zip(&events) {
        if *e > 0.0 {
            assert_eq!(*w, 1.0);
        } else {
            assert!(rates.contains(w), "{w}");
        }
    }
    // The rows' events are the backtest's: none sampled away.
    let json = read_json(&out.join("results.json"));
    let counted = row(&json, 30, "tuning", "index")["events"]
        .as_f64()
        .unwrap_or(-1.0)
        + row(&json, 30, "evaluation", "index")["events"]
            .as_f64()
            .unwrap_or(-1.0);
    assert!(counted > 0.0);
    assert_eq!(events.iter().sum::<f64>(), counted);
    // The forecast where the run scored it: after the tuning window.
    for (w, p) in windows.iter().zip(&forecast) {
        assert_eq!(p.is_some(), w == "evaluation", "{w} {p:?}");
    }
    // One process writes them, and only into --out.
    let refused = vigil(&["--rows"]);
    assert_eq!(refused.status.code(), Some(2));
    let refused = vigil(&["--out", &out.to_string_lossy(), "--rows", "--shard", "0/2"]);
    assert_eq!(refused.status.code(), Some(2));

    let python = std::process::Command::new("python3")
        .args(["-c", "import numpy, pyarrow, sklearn"])
        .output();
    if !python.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("VIGIL_REQUIRE_PYTHON_GIS").is_none(),
            "VIGIL_REQUIRE_PYTHON_GIS is set but python3 lacks numpy, pyarrow or scikit-learn"
        );
        eprintln!("skipping bounds.py: python3 with scikit-learn is needed");
        return;
    }
    let figures = dir.path().join("bounds.json");
    let o = std::process::Command::new("python3")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/forecast/bounds.py"))
        .arg(&out)
        .arg("--json")
        .arg(&figures)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let printed = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(printed.contains("| forecast |"), "{printed}");
    let b = read_json(&figures);
    assert!(
        b["recomputed_difference"]
            .as_f64()
            .is_some_and(|d| d < 1e-9),
        "{b}"
    );
    let forecast = &b["rankings"]["forecast"];
    let (skill, bound) = (
        forecast["brier_skill"].as_f64().unwrap_or(f64::NAN),
        forecast["bound"].as_f64().unwrap_or(f64::NAN),
    );
    assert!(bound >= skill - 1e-12, "{forecast}");
    assert_eq!(b["fitted"].as_object().map(|m| m.len()), Some(6), "{b}");
}
