//! Issue 15, the server's side of the web map: `/` in HTML for browsers and JSON for
//! clients, `/map` and its embedded files, `/map/settings.json`, the list of stored
//! snapshots, and tiles, TileJSON and explanations of a stored date other than the latest.

use crate::common;
use crate::tiles::decode;

use axum::http::{Method, StatusCode};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use vigil::config::{Config, Scope, TokenConfig};
use vigil::server::{self, AppState};

/// The sample with its last day and the two weeks before it scored (as `vigil demo` does,
/// with four).
fn store() -> &'static (tempfile::TempDir, vigil::app::Context, Vec<String>) {
    static STORE: OnceLock<(tempfile::TempDir, vigil::app::Context, Vec<String>)> = OnceLock::new();
    STORE.get_or_init(|| {
        let (dir, ctx) = common::fresh_store();
        let demo = vigil::app::load_sample_weeks(&ctx, &common::sample_dir(), 2)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut dates = demo.earlier.clone();
        dates.push(demo.date);
        (dir, ctx, dates)
    })
}

fn state(config: Config) -> Arc<AppState> {
    server::load_state(&store().1.store, config).unwrap_or_else(|e| panic!("{e}"))
}

fn with_tokens() -> Arc<AppState> {
    let mut config = Config::default();
    config.server.tokens = vec![
        TokenConfig {
            name: "analyst".into(),
            sha256: server::auth::token_hash("analyst-secret"),
            scopes: vec![Scope::RiskRead],
        },
        TokenConfig {
            name: "planner".into(),
            sha256: server::auth::token_hash("planner-secret"),
            scopes: vec![Scope::RiskRead, Scope::DeploymentsRead],
        },
    ];
    state(config)
}

async fn get(s: &Arc<AppState>, uri: &str, headers: &[(&str, &str)]) -> common::Answer {
    common::call(s, Method::GET, uri, headers, None).await
}

/// The slippy-map tile holding (lon, lat) at zoom `z`.
fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let r = lat.to_radians();
    let y = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    (x as u32, y as u32)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_get_an_html_landing_page_and_clients_json() {
    let s = state(Config::default());
    let chromium = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let html = get(&s, "/", &[("accept", chromium)]).await;
    assert_eq!(html.status, StatusCode::OK);
    assert_eq!(html.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(html.header("vary"), "Accept");
    let text = String::from_utf8_lossy(&html.body);
    for link in ["href=\"map\"", "/collections\"", "/api\"", "/conformance\""] {
        assert!(text.contains(link), "{link} in {text}");
    }
    for accept in [None, Some("*/*"), Some("application/json")] {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
        let a = get(&s, "/", &headers).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.header("content-type").starts_with("application/json"));
        let links = a.json()["links"].as_array().cloned().unwrap_or_default();
        assert!(links
            .iter()
            .any(|l| l["href"] == "http://vigil.test/map" && l["type"] == "text/html"));
        assert!(links.iter().any(|l| l["rel"] == "service-desc"));
    }
    let forced = get(&s, "/?f=html", &[]).await;
    assert_eq!(forced.header("content-type"), "text/html; charset=utf-8");
    let json = get(&s, "/?f=json", &[("accept", chromium)]).await;
    assert!(json.header("content-type").starts_with("application/json"));
    for bad in ["/?f=xml", "/?x=1"] {
        let a = get(&s, bad, &[]).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(a.header("content-type"), "application/problem+json");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_and_its_files_are_served_from_the_binary() {
    let s = with_tokens();
    // Public: the page asks for the token itself.
    let page = get(&s, "/map", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    let text = String::from_utf8_lossy(&page.body);
    assert!(text.contains("map/js/main.js") && text.contains("map/vendor/maplibre-gl.css"));
    assert!(
        !text.contains("http://") && !text.contains("https://"),
        "no other host"
    );
    let slash = get(&s, "/map/", &[]).await;
    assert_eq!(slash.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(slash.header("location"), "../map");
    for (path, mime) in [
        ("/map/js/main.js", "text/javascript; charset=utf-8"),
        ("/map/map.css", "text/css; charset=utf-8"),
        (
            "/map/vendor/maplibre-gl.mjs",
            "text/javascript; charset=utf-8",
        ),
        (
            "/map/vendor/maplibre-gl-worker.mjs",
            "text/javascript; charset=utf-8",
        ),
        ("/map/vendor/LICENSE.txt", "text/plain; charset=utf-8"),
    ] {
        let a = get(&s, path, &[]).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert_eq!(a.header("content-type"), mime, "{path}");
        let tag = a.header("etag").to_owned();
        assert!(tag.starts_with('"'), "{path}: {tag}");
        let again = get(&s, path, &[("if-none-match", &tag)]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(again.body.is_empty());
    }
    let licence = get(&s, "/map/vendor/LICENSE.txt", &[]).await;
    assert!(String::from_utf8_lossy(&licence.body).contains("MapLibre"));
    for missing in [
        "/map/js/nope.js",
        "/map/../Cargo.toml",
        "/map/vendor/maplibre-gl.mjs.map",
    ] {
        assert_eq!(
            get(&s, missing, &[]).await.status,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
    // What the page is told of its caller.
    let anonymous = get(&s, "/map/settings.json", &[]).await.json();
    assert_eq!(anonymous["tokens_required"], true);
    assert_eq!(anonymous["authenticated"], false);
    assert_eq!(anonymous["scopes"], serde_json::json!([]));
    assert_eq!(anonymous["basemap"], serde_json::Value::Null);
    let analyst = get(
        &s,
        "/map/settings.json",
        &[("authorization", "Bearer analyst-secret")],
    )
    .await
    .json();
    assert_eq!(analyst["scopes"], serde_json::json!(["risk:read"]));
    assert_eq!(analyst["sees_deployments"], false);
    let planner = get(
        &s,
        "/map/settings.json",
        &[("authorization", "Bearer planner-secret")],
    )
    .await
    .json();
    assert_eq!(planner["sees_deployments"], true);
    let bad = get(
        &s,
        "/map/settings.json",
        &[("authorization", "Bearer nope")],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    // A configured basemap reaches the page.
    let mut config = Config::default();
    config.map.basemap = "https://tiles.mission.example/style.json".into();
    let b = get(&state(config), "/map/settings.json", &[]).await.json();
    assert_eq!(b["basemap"], "https://tiles.mission.example/style.json");
    assert_eq!(b["tokens_required"], false);
    assert_eq!(b["sees_deployments"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stored_snapshots_are_listed_with_their_versions() {
    let (_, ctx, dates) = store();
    let s = state(Config::default());
    let a = get(&s, "/snapshots", &[]).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header("cache-control"), "no-cache");
    let list = a.json();
    let manifest = vigil::store::Store::open(&ctx.store, 7)
        .unwrap_or_else(|e| panic!("{e}"))
        .manifest()
        .clone();
    let listed: Vec<String> = list["snapshots"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["date"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(&listed, dates, "oldest first, every stored date");
    assert_eq!(list["served"], dates[2]);
    assert_eq!(list["latest"], dates[2]);
    for row in list["snapshots"].as_array().into_iter().flatten() {
        let date = row["date"].as_str().unwrap_or_default();
        let info = &manifest.snapshots[date];
        assert_eq!(row["version"], info.sha256.as_str());
        assert_eq!(row["cells"], info.cells);
        assert_eq!(row["gap_cells"], info.gaps);
        assert_eq!(row["tiers"]["critical"], info.tiers[4]);
    }
    // Gap counts are deployment information.
    let t = with_tokens();
    let analyst = get(
        &t,
        "/snapshots",
        &[("authorization", "Bearer analyst-secret")],
    )
    .await
    .json();
    assert!(analyst["snapshots"][0].get("gap_cells").is_none());
    assert!(analyst["snapshots"][0].get("tiers").is_some());
    assert_eq!(
        get(&t, "/snapshots", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_tilejson_and_explanations_of_an_earlier_date() {
    let (_, ctx, dates) = store();
    let s = state(Config::default());
    let store = vigil::store::Store::open(&ctx.store, 7).unwrap_or_else(|e| panic!("{e}"));
    let (earlier, latest) = (&dates[0], &dates[2]);
    let snap = |d: &str| {
        vigil::store::snapshot::Snapshot::load(&store, Some(d)).unwrap_or_else(|e| panic!("{e}"))
    };
    let (old, new) = (snap(earlier), snap(latest));
    let tier_of = |sn: &vigil::store::snapshot::Snapshot| -> BTreeMap<String, String> {
        sn.cells
            .iter()
            .filter_map(|r| {
                let h3 = vigil::grid::cell_from_u64(r.cell).ok()?.to_string();
                Some((h3, r.tier.as_str().to_owned()))
            })
            .collect()
    };
    let (old_tiers, new_tiers) = (tier_of(&old), tier_of(&new));
    // Zoom 9 draws the grid's own cells; read every tile over the cells whose tier changed.
    let changed: Vec<&vigil::model::cell::CellRecord> = old
        .cells
        .iter()
        .filter(|r| new.index.get(&r.cell).map(|i| new.cells[*i].tier) != Some(r.tier))
        .collect();
    assert!(
        !changed.is_empty(),
        "some cell changed tier between the dates"
    );
    let mut tiles: Vec<(u32, u32)> = changed.iter().map(|r| tile_of(r.lon, r.lat, 9)).collect();
    tiles.sort_unstable();
    tiles.dedup();
    let (mut compared, mut differing) = (0, 0);
    for (x, y) in tiles {
        for (date, expected) in [(earlier, &old_tiers), (latest, &new_tiers)] {
            let a = get(&s, &format!("/tiles/risk/9/{x}/{y}.mvt?date={date}"), &[]).await;
            assert_eq!(a.status, StatusCode::OK, "9/{x}/{y} of {date}");
            for (props, _) in &decode(&a.body)[0].features {
                let h3 = &props["h3"];
                assert_eq!(props["tier"], expected[h3], "{h3} on {date}");
                compared += 1;
                if old_tiers[h3] != new_tiers[h3] && date == earlier {
                    differing += 1;
                }
            }
        }
    }
    assert!(compared > 100 && differing > 0, "{compared} {differing}");
    // The tiles of the served date are the same with or without `date`.
    let (x, y) = tile_of(changed[0].lon, changed[0].lat, 9);
    let plain = get(&s, &format!("/tiles/risk/9/{x}/{y}.mvt"), &[]).await;
    let dated = get(&s, &format!("/tiles/risk/9/{x}/{y}.mvt?date={latest}"), &[]).await;
    assert_eq!(plain.body, dated.body);
    // TileJSON of the earlier date points at its tiles, versioned; those are immutable.
    let tj = get(
        &s,
        &format!("/tiles/risk/tilejson.json?date={earlier}"),
        &[],
    )
    .await
    .json();
    let url = tj["tiles"][0].as_str().unwrap_or_default().to_owned();
    assert!(
        url.ends_with(&format!(
            "/tiles/risk/{{z}}/{{x}}/{{y}}.mvt?date={earlier}&v={}",
            old.info.sha256
        )),
        "{url}"
    );
    assert!(tj["description"]
        .as_str()
        .is_some_and(|d| d.contains(earlier.as_str())));
    let path = url
        .trim_start_matches("http://vigil.test")
        .replace("{z}/{x}/{y}", &format!("9/{x}/{y}"));
    let versioned = get(&s, &path, &[]).await;
    assert_eq!(
        versioned.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    let unversioned = get(
        &s,
        &format!("/tiles/risk/9/{x}/{y}.mvt?date={earlier}"),
        &[],
    )
    .await;
    assert_eq!(unversioned.header("cache-control"), "no-cache");
    // The gap layer of that date too.
    let gaps = get(
        &s,
        &format!("/tiles/coverage-gaps/tilejson.json?date={earlier}"),
        &[],
    )
    .await;
    assert_eq!(gaps.status, StatusCode::OK);
    // Wrong dates and parameters are problems.
    for (uri, status) in [
        (
            "/tiles/risk/9/0/0.mvt?date=1999-01-01",
            StatusCode::NOT_FOUND,
        ),
        (
            "/tiles/risk/tilejson.json?date=1999-01-01",
            StatusCode::NOT_FOUND,
        ),
        (
            "/tiles/risk/9/0/0.mvt?date=yesterday",
            StatusCode::BAD_REQUEST,
        ),
        ("/tiles/risk/9/0/0.mvt?zoom=3", StatusCode::BAD_REQUEST),
    ] {
        let a = get(&s, uri, &[]).await;
        assert_eq!(a.status, status, "{uri}");
        assert_eq!(
            a.header("content-type"),
            "application/problem+json",
            "{uri}"
        );
    }
    // The explanation of a cell on the earlier date is that date's.
    let h3 = vigil::grid::cell_from_u64(changed[0].cell)
        .map(|c| c.to_string())
        .unwrap_or_default();
    let x = get(&s, &format!("/cells/{h3}/explain?date={earlier}"), &[])
        .await
        .json();
    assert_eq!(x["date"], earlier.as_str());
    assert_eq!(x["cell"]["tier"], old_tiers[&h3].as_str());
    let now = get(&s, &format!("/cells/{h3}/explain"), &[]).await.json();
    assert_eq!(now["date"], latest.as_str());
    assert_eq!(now["cell"]["tier"], new_tiers[&h3].as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_and_plans_on_an_earlier_date() {
    let (_, _, dates) = store();
    let s = state(Config::default());
    let post = |uri: String, body: &'static str| {
        let s = s.clone();
        async move { common::call(&s, Method::POST, &uri, &[], Some(body.to_owned())).await }
    };
    let tob =
        r#"{"add": [{"name": "TOB", "lat": 6.73, "lon": 22.08, "troops": 120, "radius_km": 10}]}"#;
    let then = post(format!("/scenarios?date={}", dates[0]), tob).await;
    assert_eq!(then.status, StatusCode::OK);
    assert_eq!(then.json()["date"], dates[0].as_str());
    let now = post("/scenarios".to_owned(), tob).await.json();
    assert_eq!(now["date"], dates[2].as_str());
    let plan = post(format!("/plan?date={}", dates[1]), r#"{"k": 2}"#).await;
    assert_eq!(plan.status, StatusCode::OK);
    assert_eq!(plan.json()["date"], dates[1].as_str());
    for uri in ["/scenarios?date=soon", "/scenarios?when=2024-01-01"] {
        assert_eq!(
            post(uri.to_owned(), tob).await.status,
            StatusCode::BAD_REQUEST,
            "{uri}"
        );
    }
    assert_eq!(
        post("/plan?date=1990-01-01".to_owned(), r#"{"k": 2}"#)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idp_sites_as_known_on_the_date_and_the_events_of_the_last_days() {
    let (dir, ctx) = common::fresh_store();
    let demo =
        vigil::app::load_sample(&ctx, &common::sample_dir()).unwrap_or_else(|e| panic!("{e}"));
    let idp = dir.path().join("dtm.csv");
    std::fs::write(
        &idp,
        "site_name,latitude,longitude,individuals,date\n\
         Camp A,6.70,22.02,100,2024-06-01\n\
         Camp A,6.70,22.02,300,2024-12-01\n\
         Camp A,6.70,22.02,900,2025-02-01\n\
         Camp B,6.95,20.40,650,2024-11-20\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    common::ingest(&ctx, &[(vigil::ingest::Kind::Idp, idp.as_path())]);
    let s = server::load_state(&ctx.store, Config::default()).unwrap_or_else(|e| panic!("{e}"));
    let sites = get(&s, "/collections/idp-sites/items", &[]).await.json();
    let mut got: Vec<(String, f64, String)> = sites["features"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let p = &f["properties"];
            (
                p["site"].as_str().unwrap_or_default().to_owned(),
                p["population"].as_f64().unwrap_or_default(),
                p["assessed"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        [
            ("Camp A".to_owned(), 300.0, "2024-12-01".to_owned()),
            ("Camp B".to_owned(), 650.0, "2024-11-20".to_owned())
        ],
        "the latest assessment on or before {}",
        demo.date
    );
    let id = sites["features"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let one = get(
        &s,
        &format!("/collections/idp-sites/items/{}", id.replace(' ', "%20")),
        &[],
    )
    .await;
    assert_eq!(one.status, StatusCode::OK, "{id}");
    // Public with risk:read: sites of displaced people are not deployments.
    assert!(!vigil::model::layer::Layer::IdpSites.shows_deployments());

    // `days`: the events whose last day is among the last N days.
    let all = get(&s, "/collections/events/items?limit=10000", &[])
        .await
        .json();
    let recent = get(&s, "/collections/events/items?days=30&limit=10000", &[])
        .await
        .json();
    let first = vigil::model::day::parse_iso_date(&demo.date).unwrap_or_default() - 29;
    let expected = all["features"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| {
            f["properties"]["date_end"]
                .as_str()
                .and_then(vigil::model::day::parse_iso_date)
                .is_some_and(|d| d >= first)
        })
        .count();
    assert!(expected > 0 && expected < all["numberMatched"].as_u64().unwrap_or(0) as usize);
    assert_eq!(recent["numberMatched"], expected);
    for bad in ["days=0", "days=x"] {
        let a = get(&s, &format!("/collections/events/items?{bad}"), &[]).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

/// Issue 16, "paging mixes days": a client paging through a layer while a newer snapshot
/// is published still gets exactly the features of the day it started with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_stay_on_the_day_they_started_from() {
    let (_dir, ctx) = common::fresh_store();
    vigil::app::load_sample(&ctx, &common::sample_dir()).unwrap_or_else(|e| panic!("{e}"));
    let s = server::load_state(&ctx.store, Config::default()).unwrap_or_else(|e| panic!("{e}"));
    let first = get(&s, "/collections/coverage-gaps/items?limit=7", &[])
        .await
        .json();
    let day = first["snapshot"]["date"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let matched = first["numberMatched"].as_u64().unwrap_or(0);
    assert!(matched > 7, "{matched}");
    // A later day is published and served while the client pages.
    vigil::app::score(&ctx, Some("2025-01-15")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.reload().unwrap_or_else(|e| panic!("{e}")).as_deref(),
        Some("2025-01-15")
    );
    let next_of = |page: &serde_json::Value| {
        page["links"].as_array().and_then(|l| {
            l.iter()
                .find(|x| x["rel"] == "next")
                .and_then(|x| x["href"].as_str())
                .map(|h| h.trim_start_matches("http://vigil.test").to_owned())
        })
    };
    let mut ids: Vec<String> = Vec::new();
    let mut page = first;
    loop {
        assert_eq!(
            page["snapshot"]["date"],
            day.as_str(),
            "every page names its day"
        );
        for f in page["features"].as_array().into_iter().flatten() {
            assert_eq!(f["properties"]["date"], day.as_str());
            ids.push(f["id"].as_str().unwrap_or_default().to_owned());
        }
        let Some(next) = next_of(&page) else { break };
        assert!(next.contains(&format!("datetime={day}")), "{next}");
        page = get(&s, &next, &[]).await.json();
        assert_eq!(page["numberMatched"].as_u64(), Some(matched));
    }
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len() as u64, matched, "every feature of the day, once");
    assert_eq!(unique.len(), ids.len());
    // A new request without `datetime` reads the newly served day.
    let now = get(&s, "/collections/coverage-gaps/items?limit=7", &[])
        .await
        .json();
    assert_eq!(now["snapshot"]["date"], "2025-01-15");
}
