//! End to end on the bundled sample: ingest → score → serve, in process.

use crate::common;

use axum::http::StatusCode;
use serde_json::Value;
use std::sync::Arc;
use vigil::config::Config;
use vigil::server::{self, AppState};

async fn get(state: &Arc<AppState>, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let a = common::call(state, axum::http::Method::GET, uri, &[], None).await;
    let ctype = a.header("content-type").to_owned();
    (a.status, ctype, a.body)
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|e| panic!("invalid JSON: {e}"))
}

fn signed_area(ring: &[Value]) -> f64 {
    let pts: Vec<(f64, f64)> = ring
        .iter()
        .map(|p| {
            (
                p[0].as_f64().unwrap_or(f64::NAN),
                p[1].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect();
    pts.windows(2)
        .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
        .sum::<f64>()
        / 2.0
}

/// Checks an RFC 7946 FeatureCollection of cells and returns its features.
fn check_cells(fc: &Value) -> Vec<Value> {
    assert_eq!(fc["type"], "FeatureCollection");
    let features = fc["features"].as_array().cloned().unwrap_or_default();
    for f in &features {
        assert_eq!(f["type"], "Feature");
        let props = &f["properties"];
        for key in ["h3", "risk", "tier", "covered", "gap", "population"] {
            assert!(
                props.get(key).is_some(),
                "property {key} missing in {props}"
            );
        }
        assert_eq!(f["id"], props["h3"], "id is the H3 string");
        assert!(vigil::grid::parse_cell(props["h3"].as_str().unwrap_or_default()).is_ok());
        assert_eq!(f["geometry"]["type"], "MultiPolygon");
        let polygons = f["geometry"]["coordinates"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(!polygons.is_empty());
        for polygon in polygons {
            let rings = polygon.as_array().cloned().unwrap_or_default();
            assert_eq!(rings.len(), 1, "cells have no holes");
            let ring = rings[0].as_array().cloned().unwrap_or_default();
            assert!(ring.len() >= 4);
            assert_eq!(ring.first(), ring.last(), "ring is closed");
            assert!(
                signed_area(&ring) > 0.0,
                "exterior ring is counter-clockwise"
            );
            for p in &ring {
                let lon = p[0].as_f64().unwrap_or(f64::NAN);
                let lat = p[1].as_f64().unwrap_or(f64::NAN);
                assert!((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat));
            }
        }
    }
    features
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_pipeline_serves_a_coverage_gap_layer() {
    let (_dir, ctx, date) = common::scored_store();
    let state = server::load_state(&ctx.store, Config::default()).unwrap_or_else(|e| panic!("{e}"));

    let (status, _, body) = get(&state, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["snapshot"], date.as_str());

    let (status, ctype, body) = get(&state, "/collections/coverage-gaps/items?limit=10000").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "application/geo+json");
    let fc = json(&body);
    let gaps = check_cells(&fc);
    assert!(!gaps.is_empty(), "the sample has at least one coverage gap");
    assert_eq!(fc["numberMatched"].as_u64(), Some(gaps.len() as u64));
    for g in &gaps {
        assert_eq!(g["properties"]["gap"], true);
        assert_eq!(g["properties"]["covered"], false);
        let tier = g["properties"]["tier"].as_str().unwrap_or_default();
        assert!(tier == "high" || tier == "critical", "{tier}");
    }

    let (status, _, body) = get(&state, "/collections/risk/items?limit=50").await;
    assert_eq!(status, StatusCode::OK);
    let fc = json(&body);
    assert_eq!(check_cells(&fc).len(), 50, "limit is honoured");
    assert!(fc["numberMatched"].as_u64().unwrap_or(0) > 1000);
    let links = fc["links"].as_array().cloned().unwrap_or_default();
    let next = links
        .iter()
        .find(|l| l["rel"] == "next")
        .map(|l| l["href"].clone());
    assert_eq!(
        next.and_then(|h| h.as_str().map(str::to_owned)).as_deref(),
        Some("http://vigil.test/collections/risk/items?limit=50&offset=50&datetime=2024-12-31"),
        "the next page is pinned to the day of this one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bbox_selects_intersecting_cells_only() {
    let (_dir, ctx, _) = common::scored_store();
    let state = server::load_state(&ctx.store, Config::default()).unwrap_or_else(|e| panic!("{e}"));
    let bbox = [21.0, 6.4, 21.1, 6.5];
    let uri = format!(
        "/collections/risk/items?limit=10000&bbox={},{},{},{}",
        bbox[0], bbox[1], bbox[2], bbox[3]
    );
    let (status, _, body) = get(&state, &uri).await;
    assert_eq!(status, StatusCode::OK);
    let features = check_cells(&json(&body));
    // ≈ 11 km × 11 km of 5.2 km² cells: some tens of cells, all touching the box.
    assert!(
        features.len() > 15 && features.len() < 60,
        "{}",
        features.len()
    );
    for f in &features {
        let cell = vigil::grid::parse_cell(f["id"].as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
        let b = vigil::grid::cell_bbox(cell);
        assert!(b[0] <= bbox[2] && b[2] >= bbox[0] && b[1] <= bbox[3] && b[3] >= bbox[1]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_grid_csv_has_every_cell_with_h3() {
    let (_dir, ctx, date) = common::scored_store();
    let state = server::load_state(&ctx.store, Config::default()).unwrap_or_else(|e| panic!("{e}"));
    let (status, ctype, body) = get(&state, "/grids/latest.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(body.as_slice());
    let headers = reader.headers().cloned().unwrap_or_default();
    assert_eq!(headers.get(0), Some("h3"));
    assert_eq!(headers.get(1), Some("date"));
    let rows: Vec<csv::StringRecord> = reader.records().filter_map(Result::ok).collect();
    assert_eq!(rows.len(), state.current().snapshot.cells.len());
    assert!(rows.iter().all(|r| r.get(1) == Some(date.as_str())));
    let (status, _, _) = get(&state, &format!("/grids/{date}.geojson")).await;
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn a_real_socket_serves_healthz() {
    use std::io::{Read, Write};
    let (_dir, ctx, _) = common::scored_store();
    let state = server::load_state(&ctx.store, Config::default()).unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let (tx, rx) = std::sync::mpsc::channel();
    rt.spawn(async move {
        let _ = server::serve(state, "127.0.0.1:0", false, move |addr| {
            let _ = tx.send(addr);
        })
        .await;
    });
    let addr = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("server did not start: {e}"));
    let mut stream = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"status\":\"ok\""));
    rt.shutdown_background();
}

#[test]
fn without_areas_or_population_the_grid_surrounds_events_and_exposure_is_neutral() {
    let (_dir, ctx) = common::fresh_store();
    vigil::app::ingest(
        &ctx,
        vigil::ingest::Kind::Acled,
        &common::sample_dir().join("acled.csv"),
        &Default::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (date, info) = vigil::app::score(&ctx, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(date, "2024-12-31", "defaults to the last event date");
    assert!(info.exposure_neutral);
    assert!(info.cells > 1000);
    let store = vigil::store::Store::open(&ctx.store, 7).unwrap_or_else(|e| panic!("{e}"));
    let snap =
        vigil::store::snapshot::Snapshot::load(&store, None).unwrap_or_else(|e| panic!("{e}"));
    assert!(snap
        .cells
        .iter()
        .all(|c| c.population.is_none() && c.exposure == 1.0));
    assert!(
        snap.cells.iter().all(|c| !c.coverage.covered),
        "no bases loaded"
    );
    assert!(
        snap.cells.iter().any(|c| c.tier.is_high()),
        "hazard alone still ranks cells"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cell_explains_itself_over_http() {
    let (_dir, ctx, date) = common::scored_store();
    let state = server::load_state(&ctx.store, Config::default()).unwrap_or_else(|e| panic!("{e}"));
    let gap = state
        .current()
        .snapshot
        .cells
        .iter()
        .find(|c| c.flags.gap)
        .map(|c| {
            vigil::grid::cell_from_u64(c.cell)
                .map(|x| x.to_string())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let (status, ctype, body) = get(&state, &format!("/cells/{gap}/explain?top=3")).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert!(ctype.starts_with("application/json"));
    let v = json(&body);
    assert_eq!(v["date"], date.as_str());
    assert_eq!(v["cell"]["gap"], true);
    assert_eq!(v["events"].as_array().map(Vec::len), Some(3));
    assert!(v["contributing_events"].as_u64().unwrap_or(0) >= 3);
    for (uri, want) in [
        (
            format!("/cells/{gap}/explain?top=abc"),
            StatusCode::BAD_REQUEST,
        ),
        ("/cells/nope/explain".to_owned(), StatusCode::NOT_FOUND),
        (
            "/cells/871fb4662ffffff/explain".to_owned(),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, ctype, _) = get(&state, &uri).await;
        assert_eq!(status, want, "{uri}");
        assert_eq!(ctype, "application/problem+json");
    }
}
