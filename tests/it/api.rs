//! Issue 6: the HTTP surface in process on the sample — OGC API – Features behaviour, the
//! access-control matrix, caching headers, hostile parameters, analysis endpoints, hot swap.

use crate::common;

use axum::http::{Method, StatusCode};
use serde_json::json;
use std::sync::{Arc, OnceLock};
use vigil::config::Scope;
use vigil::config::{Config, TokenConfig};
use vigil::server::{self, AppState};

use common::{call, Answer};

async fn get(state: &Arc<AppState>, uri: &str) -> Answer {
    call(state, Method::GET, uri, &[], None).await
}

/// The sample scored on 2024-12-01 and 2024-12-31 (served), shared by the tests.
fn store() -> &'static (tempfile::TempDir, vigil::app::Context) {
    static STORE: OnceLock<(tempfile::TempDir, vigil::app::Context)> = OnceLock::new();
    STORE.get_or_init(|| {
        let (dir, ctx) = common::fresh_store();
        vigil::app::load_sample(&ctx, &common::sample_dir()).unwrap_or_else(|e| panic!("{e}"));
        vigil::app::score(&ctx, Some("2024-12-01")).unwrap_or_else(|e| panic!("{e}"));
        (dir, ctx)
    })
}

fn state_with(config: Config) -> Arc<AppState> {
    let (_, ctx) = store();
    let state = server::load_state(&ctx.store, config).unwrap_or_else(|e| panic!("{e}"));
    // load_sample scored the last day after 2024-12-01: serve 2024-12-31.
    assert_eq!(state.current().snapshot.date, "2024-12-31");
    state
}

fn open() -> Arc<AppState> {
    state_with(Config::default())
}

fn with_tokens() -> Arc<AppState> {
    let mut config = Config::default();
    let token = |name: &str, scopes: &[Scope]| TokenConfig {
        name: name.into(),
        sha256: vigil::server::auth::token_hash(&format!("{name}-secret")),
        scopes: scopes.to_vec(),
    };
    config.server.tokens = vec![
        token("analyst", &[Scope::RiskRead]),
        token("planner", &[Scope::RiskRead, Scope::DeploymentsRead]),
        token("ops", &[Scope::Admin]),
    ];
    state_with(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landing_conformance_and_openapi() {
    let s = open();
    let landing = get(&s, "/").await.json();
    let rels: Vec<&str> = landing["links"]
        .as_array()
        .map(|l| l.iter().filter_map(|x| x["rel"].as_str()).collect())
        .unwrap_or_default();
    for rel in ["self", "service-desc", "conformance", "data"] {
        assert!(rels.contains(&rel), "{rel} in {rels:?}");
    }
    let conf = get(&s, "/conformance").await.json();
    let classes = conf["conformsTo"].to_string();
    for c in ["conf/core", "conf/geojson", "conf/oas30"] {
        assert!(classes.contains(c), "{c}");
    }
    let api = get(&s, "/api").await;
    assert!(api
        .header("content-type")
        .starts_with("application/vnd.oai.openapi+json"));
    let doc = api.json();
    assert_eq!(doc["openapi"], "3.0.3");
    let limit = &doc["components"]["parameters"]["limit"]["schema"];
    assert_eq!(limit["default"], 100);
    assert_eq!(limit["maximum"], 10_000);
    // Every documented GET path answers (with sample values in its templates).
    let cell = "876b891b6ffffff";
    for (path, item) in doc["paths"].as_object().cloned().unwrap_or_default() {
        if item.get("get").is_none() {
            continue;
        }
        let uri = path
            .replace("{collectionId}", "risk")
            .replace("{featureId}", cell)
            .replace("{h3}", cell)
            .replace("{file}", "latest.csv")
            .replace("{layer}", "risk")
            .replace("{z}", "7")
            .replace("{x}", "71")
            .replace("{y}", "61")
            .replace("{episode}", "risk-19990101-1.cap");
        let uri = if uri == "/alerts" {
            "/alerts?since=2024-12-01".to_owned()
        } else {
            uri
        };
        let st = get(&s, &uri).await.status;
        // No `vigil update` ran on this store: it has no episode.
        let expect_404 =
            (uri.contains("/items/") && !uri.contains("risk") && !uri.contains("coverage-gaps"))
                || uri.starts_with("/alerts/episodes/");
        assert!(
            st == StatusCode::OK || (expect_404 && st == StatusCode::NOT_FOUND),
            "{uri}: {st}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_paging_filters_and_links() {
    let s = open();
    let all = get(&s, "/collections/risk/items?limit=1").await.json();
    let matched = all["numberMatched"].as_u64().unwrap_or_default();
    assert_eq!(matched, 10_476);
    assert_eq!(all["numberReturned"], 1);
    let links = all["links"].to_string();
    for rel in ["\"self\"", "\"next\"", "\"alternate\"", "\"collection\""] {
        assert!(links.contains(rel), "{rel}");
    }
    assert!(all["timeStamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    // Gaps through paging: every feature once, count = numberMatched.
    let mut uri = "/collections/coverage-gaps/items?limit=20".to_owned();
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let page = get(&s, &uri).await.json();
        for f in page["features"].as_array().cloned().unwrap_or_default() {
            assert!(seen.insert(f["id"].as_str().unwrap_or_default().to_owned()));
            assert_eq!(f["properties"]["gap"], true);
        }
        let next = page["links"]
            .as_array()
            .and_then(|l| l.iter().find(|x| x["rel"] == "next"))
            .and_then(|x| x["href"].as_str())
            .map(|h| h.trim_start_matches("http://vigil.test").to_owned());
        match next {
            Some(n) => uri = n,
            None => {
                assert_eq!(
                    seen.len() as u64,
                    page["numberMatched"].as_u64().unwrap_or(0)
                );
                break;
            }
        }
    }
    assert_eq!(seen.len(), 55);
    // Property filters.
    let crit = get(&s, "/collections/risk/items?tier=critical&limit=1000")
        .await
        .json();
    assert_eq!(crit["numberMatched"], 26);
    let gaps = get(&s, "/collections/risk/items?gap=true&limit=1")
        .await
        .json();
    assert_eq!(gaps["numberMatched"], 55);
    // Huge limit is clamped.
    let big = get(&s, "/collections/risk/items?limit=999999999")
        .await
        .json();
    assert_eq!(big["numberReturned"], 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datetime_selects_the_snapshot() {
    let s = open();
    let dec1 = get(&s, "/collections/risk/items?datetime=2024-12-01&limit=1")
        .await
        .json();
    assert_eq!(dec1["snapshot"]["date"], "2024-12-01");
    let interval = get(
        &s,
        "/collections/risk/items?datetime=2024-11-01/2024-12-15&limit=1",
    )
    .await
    .json();
    assert_eq!(interval["snapshot"]["date"], "2024-12-01");
    let open_end = get(&s, "/collections/risk/items?datetime=2024-12-02/..&limit=1")
        .await
        .json();
    assert_eq!(open_end["snapshot"]["date"], "2024-12-31");
    let none = get(&s, "/collections/risk/items?datetime=../2020-01-01")
        .await
        .json();
    assert_eq!(none["numberMatched"], 0);
    for bad in ["yesterday", "2024-12-31/2024-01-01", "2024-02-30"] {
        let a = get(&s, &format!("/collections/risk/items?datetime={bad}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(a.header("content-type"), "application/problem+json");
        assert_eq!(a.json()["parameter"], "datetime");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bases_events_and_areas_collections() {
    let s = open();
    let bases = get(&s, "/collections/bases/items?limit=1000").await.json();
    let n = bases["numberMatched"].as_u64().unwrap_or_default();
    assert!(n > 0);
    let b = &bases["features"][0];
    assert_eq!(b["geometry"]["type"], "Point");
    assert!(b["properties"]["reach_km"]
        .as_f64()
        .is_some_and(|r| r > 0.0));
    let id = b["id"].as_str().unwrap_or_default();
    let one = get(&s, &format!("/collections/bases/items/{id}")).await;
    assert_eq!(one.status, StatusCode::OK);
    let events = get(
        &s,
        "/collections/events/items?limit=5&category=civilian_harm",
    )
    .await
    .json();
    assert!(events["numberMatched"].as_u64().unwrap_or_default() > 0);
    assert_eq!(
        events["features"][0]["properties"]["category"],
        "civilian_harm"
    );
    let areas = get(&s, "/collections/areas/items").await.json();
    assert_eq!(areas["numberMatched"], 3);
    let cells: i64 = areas["features"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|x| x["properties"]["cells"].as_i64())
                .sum()
        })
        .unwrap_or_default();
    assert_eq!(cells, 10_476, "the areas' cells add up to the grid");
    let meta = get(&s, "/collections/events").await.json();
    assert!(meta["attribution"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_parameters_are_problems_not_crashes() {
    let s = open();
    for (uri, status) in [
        (
            "/collections/risk/items?bbox=1,2,3",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/collections/risk/items?bbox=NaN,1,2,3",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/collections/risk/items?bbox=0,91,1,92",
            StatusCode::BAD_REQUEST,
        ),
        ("/collections/risk/items?limit=-5", StatusCode::BAD_REQUEST),
        ("/collections/risk/items?limit=abc", StatusCode::BAD_REQUEST),
        (
            "/collections/risk/items?colour=red",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/collections/risk/items?tier=purple",
            StatusCode::BAD_REQUEST,
        ),
        ("/collections/risk/items?f=xml", StatusCode::BAD_REQUEST),
        ("/collections/nope/items", StatusCode::NOT_FOUND),
        ("/collections/risk/items/not-a-cell", StatusCode::NOT_FOUND),
        ("/grids/..%2F..%2Fmanifest.json", StatusCode::NOT_FOUND),
        ("/grids/../manifest.csv", StatusCode::NOT_FOUND),
        ("/grids/2024-99-99.csv", StatusCode::NOT_FOUND),
        ("/grids/1999-01-01.csv", StatusCode::NOT_FOUND),
        ("/alerts", StatusCode::BAD_REQUEST),
        ("/alerts?since=2024-12-99", StatusCode::BAD_REQUEST),
        (
            "/summaries?from=2024-12-31&to=2024-12-01",
            StatusCode::BAD_REQUEST,
        ),
        ("/summaries?level=district", StatusCode::BAD_REQUEST),
        ("/cells/zzz/explain", StatusCode::NOT_FOUND),
        ("/nothing/here", StatusCode::NOT_FOUND),
    ] {
        let a = get(&s, uri).await;
        assert_eq!(a.status, status, "{uri}");
        assert_eq!(
            a.header("content-type"),
            "application/problem+json",
            "{uri}"
        );
    }
    let html = call(
        &s,
        Method::GET,
        "/collections/risk/items",
        &[("accept", "text/html")],
        None,
    )
    .await;
    assert_eq!(html.status, StatusCode::NOT_ACCEPTABLE);
    // Bodies: too large, not JSON, unknown fields.
    let huge = format!("{{\"close\": [\"{}\"]}}", "x".repeat(2 << 20));
    assert_eq!(
        call(&s, Method::POST, "/scenarios", &[], Some(huge))
            .await
            .status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        call(&s, Method::POST, "/scenarios", &[], Some("{".into()))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let unknown = call(
        &s,
        Method::POST,
        "/scenarios",
        &[],
        Some("{\"open\": []}".into()),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let plan0 = call(&s, Method::POST, "/plan", &[], Some("{\"k\": 0}".into())).await;
    assert_eq!(plan0.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// One rule validates a plan request (`PlanOptions::new`): `POST /plan` and `vigil plan`
/// refuse the same values for the same reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_requests_are_validated_by_one_rule_in_the_api_and_the_cli() {
    use vigil::analysis::plan::PlanOptions;
    let s = open();
    let (_, ctx) = store();
    let cases: [(usize, f64, i64, &str, &str); 5] = [
        (0, 10.0, 100, "--k", "0"),
        (101, 10.0, 100, "--k", "101"),
        (3, 250.0, 100, "--radius-km", "250"),
        (3, 10.0, -5, "--troops", "-5"),
        (3, 10.0, 100_001, "--troops", "100001"),
    ];
    for (k, radius_km, troops, flag, value) in cases {
        let reason = PlanOptions::new(k, radius_km, troops)
            .err()
            .map(|e| e.reason)
            .unwrap_or_else(|| panic!("{k} {radius_km} {troops} must be refused"));
        let body = json!({"k": k, "radius_km": radius_km, "troops": troops}).to_string();
        let api = call(&s, Method::POST, "/plan", &[], Some(body)).await;
        assert_eq!(api.status, StatusCode::UNPROCESSABLE_ENTITY);
        let detail = api.json()["detail"].as_str().unwrap_or_default().to_owned();
        assert!(detail.contains(reason), "{detail}");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
            .env_remove("VIGIL_CONFIG")
            .arg("--store")
            .arg(&ctx.store)
            .args([
                "plan",
                "--k",
                &k.to_string(),
                "--radius-km",
                &radius_km.to_string(),
            ])
            .arg(format!("--troops={troops}"))
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("invalid {flag} `{value}`: {reason}")),
            "{err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caching_cors_and_head() {
    let s = open();
    let a = get(&s, "/collections/risk/items?limit=3").await;
    let tag = a.header("etag").to_owned();
    assert!(tag.starts_with('"') && tag.len() > 10, "{tag}");
    assert!(a.header("cache-control").contains("max-age"));
    let b = call(
        &s,
        Method::GET,
        "/collections/risk/items?limit=3",
        &[("if-none-match", &tag)],
        None,
    )
    .await;
    assert_eq!(b.status, StatusCode::NOT_MODIFIED);
    assert!(b.body.is_empty());
    let other = call(
        &s,
        Method::GET,
        "/collections/risk/items?limit=4",
        &[("if-none-match", &tag)],
        None,
    )
    .await;
    assert_eq!(other.status, StatusCode::OK);
    let head = call(
        &s,
        Method::HEAD,
        "/collections/risk/items?limit=3",
        &[],
        None,
    )
    .await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(head.header("etag"), tag);
    let pre = call(
        &s,
        Method::OPTIONS,
        "/collections/risk/items",
        &[
            ("origin", "https://map.example"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "authorization"),
        ],
        None,
    )
    .await;
    assert!(pre.status.is_success());
    assert_eq!(pre.header("access-control-allow-origin"), "*");
    let cors = call(
        &s,
        Method::GET,
        "/collections",
        &[("origin", "https://map.example")],
        None,
    )
    .await;
    assert_eq!(cors.header("access-control-allow-origin"), "*");
    assert_eq!(
        get(&s, "/healthz").await.header("cache-control"),
        "no-store"
    );
    // By matched route (a bounded set: unmatched paths are `other`), and the snapshot's age.
    get(&s, "/collections/risk/items?limit=1").await;
    get(&s, "/no/such/route").await;
    let metrics = String::from_utf8(get(&s, "/metrics").await.body).unwrap_or_default();
    for label in [
        "route=\"/collections\",status=\"200\"",
        "route=\"/collections/{id}/items\",status=\"200\"",
        "route=\"other\",status=\"404\"",
    ] {
        assert!(
            metrics.contains(&format!("vigil_http_requests_total{{{label}}}")),
            "{label}: {metrics}"
        );
    }
    assert!(!metrics.contains("/no/such/route"));
    assert!(metrics.contains("vigil_snapshot_info{date=\"2024-12-31\""));
    let age: i64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("vigil_snapshot_age_seconds "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1);
    assert!(age > 86_400, "a snapshot of 2024-12-31 is days old: {age}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_matrix() {
    let s = with_tokens();
    let bearer = |name: &str| format!("Bearer {name}-secret");
    let as_ = |who: Option<&str>| who.map(bearer);
    // (uri, method, body, [no token, bad token, analyst, planner, ops])
    let post_plan = Some("{\"k\": 1}".to_owned());
    let cases: Vec<(&str, Method, Option<String>, [u16; 5])> = vec![
        ("/", Method::GET, None, [200, 401, 200, 200, 200]),
        ("/conformance", Method::GET, None, [200, 401, 200, 200, 200]),
        ("/healthz", Method::GET, None, [200, 401, 200, 200, 200]),
        ("/collections", Method::GET, None, [401, 401, 200, 200, 200]),
        (
            "/collections/risk/items?limit=1",
            Method::GET,
            None,
            [401, 401, 200, 200, 200],
        ),
        (
            "/collections/coverage-gaps/items?limit=1",
            Method::GET,
            None,
            [401, 401, 403, 200, 200],
        ),
        (
            "/collections/bases/items?limit=1",
            Method::GET,
            None,
            [401, 401, 403, 200, 200],
        ),
        (
            "/grids/latest.csv",
            Method::GET,
            None,
            [401, 401, 200, 200, 200],
        ),
        (
            "/alerts?since=2024-12-01",
            Method::GET,
            None,
            [401, 401, 200, 200, 200],
        ),
        (
            "/plan",
            Method::POST,
            post_plan.clone(),
            [401, 401, 403, 200, 200],
        ),
        (
            "/scenarios",
            Method::POST,
            Some("{}".into()),
            [401, 401, 403, 200, 200],
        ),
        ("/metrics", Method::GET, None, [401, 401, 403, 403, 200]),
        // Escaped names are judged as the router decodes them.
        (
            "/tiles/%62ases/5/17/15.mvt",
            Method::GET,
            None,
            [401, 401, 403, 200, 200],
        ),
        (
            "/collections/%62ases/items",
            Method::GET,
            None,
            [401, 401, 403, 200, 200],
        ),
        (
            "/tiles/coverage-gaps/tilejson.json",
            Method::GET,
            None,
            [401, 401, 403, 200, 200],
        ),
    ];
    let who = [
        None,
        Some("intruder"),
        Some("analyst"),
        Some("planner"),
        Some("ops"),
    ];
    for (uri, method, body, expect) in &cases {
        for (w, e) in who.iter().zip(expect) {
            let auth = as_(*w);
            let headers: Vec<(&str, &str)> = auth
                .as_deref()
                .map(|a| vec![("authorization", a)])
                .unwrap_or_default();
            let a = call(&s, method.clone(), uri, &headers, body.clone()).await;
            assert_eq!(a.status.as_u16(), *e, "{method} {uri} as {w:?}");
            if a.status == StatusCode::UNAUTHORIZED {
                assert!(a.header("www-authenticate").starts_with("Bearer"));
            }
            if a.status.is_success() && w.is_some() && *method == Method::GET {
                assert!(a.header("cache-control").starts_with("private"), "{uri}");
            }
        }
    }
    // An analyst sees risk but never where the bases are.
    let analyst = bearer("analyst");
    let auth = [("authorization", analyst.as_str())];
    let page = call(
        &s,
        Method::GET,
        "/collections/risk/items?limit=50",
        &auth,
        None,
    )
    .await
    .json();
    for f in page["features"].as_array().cloned().unwrap_or_default() {
        for field in vigil::model::visibility::DEPLOYMENT_FIELDS {
            assert!(f["properties"].get(field).is_none(), "{field}");
        }
        assert!(f["properties"].get("risk").is_some());
    }
    let ids: Vec<String> = call(&s, Method::GET, "/collections", &auth, None)
        .await
        .json()["collections"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|x| x["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(ids, ["risk", "events", "areas", "idp-sites"]);
    let csv = String::from_utf8(
        call(&s, Method::GET, "/grids/latest.csv", &auth, None)
            .await
            .body,
    )
    .unwrap_or_default();
    let header = csv.lines().next().unwrap_or_default();
    assert!(header.contains("risk") && !header.contains("nearest_base") && !header.contains("gap"));
    let filter = call(
        &s,
        Method::GET,
        "/collections/risk/items?gap=true",
        &auth,
        None,
    )
    .await;
    assert_eq!(
        filter.status,
        StatusCode::FORBIDDEN,
        "gaps cannot be found by filtering either"
    );
    let planner = bearer("planner");
    let full = String::from_utf8(
        call(
            &s,
            Method::GET,
            "/grids/latest.csv",
            &[("authorization", planner.as_str())],
            None,
        )
        .await
        .body,
    )
    .unwrap_or_default();
    assert!(full
        .lines()
        .next()
        .unwrap_or_default()
        .contains("nearest_base"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysis_endpoints() {
    let s = open();
    let alerts = get(&s, "/alerts?since=2024-12-01").await.json();
    assert_eq!(alerts["compared_with"], "2024-12-01");
    let n = alerts["numberMatched"].as_u64().unwrap_or_default();
    assert!(n > 0);
    for f in alerts["features"].as_array().cloned().unwrap_or_default() {
        let p = &f["properties"];
        assert!(p["entered_high"] == true || p["new_gap"] == true, "{p}");
        if p["entered_high"] == true {
            assert!(p["tier"] == "high" || p["tier"] == "critical");
            assert!(p["tier_then"] != "high" && p["tier_then"] != "critical");
        }
    }
    let sums = get(&s, "/summaries").await.json();
    assert_eq!(sums["summaries"][0]["unit"], "all");
    assert_eq!(sums["summaries"][0]["gap_cells"], 55);
    let by_adm = get(&s, "/summaries?level=ADM1").await.json();
    assert_eq!(by_adm["summaries"].as_array().map(Vec::len), Some(4));
    let series = get(&s, "/summaries?from=2024-11-01&to=2024-12-31")
        .await
        .json();
    assert_eq!(
        common::series_dates(&series["summaries"]),
        ["2024-12-01", "2024-12-31"]
    );
    // One end alone leaves the other open.
    for (uri, dates) in [
        ("/summaries?from=2024-12-02", &["2024-12-31"][..]),
        ("/summaries?to=2024-12-30", &["2024-12-01"][..]),
        (
            "/summaries?from=2000-01-01",
            &["2024-12-01", "2024-12-31"][..],
        ),
    ] {
        let rows = get(&s, uri).await.json();
        assert_eq!(common::series_dates(&rows["summaries"]), dates, "{uri}");
    }
    // Since a day on or after the snapshot's own: compared with itself, nothing entered.
    let later = get(&s, "/alerts?since=2030-01-01").await;
    assert_eq!(later.status, StatusCode::OK);
    assert_eq!(later.json()["numberMatched"], 0);
    let plan = call(&s, Method::POST, "/plan", &[], Some("{\"k\": 3}".into()))
        .await
        .json();
    assert_eq!(plan["demand_cells"], 55);
    let sites = plan["sites"].as_array().cloned().unwrap_or_default();
    assert!(!sites.is_empty());
    // The plan's sites as a scenario close exactly its gain.
    let gain = plan["demand"].as_f64().unwrap_or(0.0) - plan["remaining"].as_f64().unwrap_or(0.0);
    let scenario = plan["scenario"].to_string();
    let out = call(&s, Method::POST, "/scenarios", &[], Some(scenario)).await;
    assert_eq!(out.status, StatusCode::OK);
    let delta = out.json()["delta"][0]["population_in_gaps"]
        .as_f64()
        .unwrap_or(0.0);
    assert!((delta + gain).abs() < 1e-6, "{delta} vs {gain}");
    let bad = call(
        &s,
        Method::POST,
        "/scenarios",
        &[],
        Some(json!({"close": ["Atlantis"]}).to_string()),
    )
    .await;
    // Well formed, but no such base is active on the snapshot's date.
    assert_eq!(bad.status, StatusCode::CONFLICT);
    assert!(bad.json()["detail"]
        .as_str()
        .is_some_and(|d| d.contains("Atlantis")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newly_published_snapshot_is_swapped_in() {
    let (dir, ctx) = common::fresh_store();
    vigil::app::load_sample(&ctx, &common::sample_dir()).unwrap_or_else(|e| panic!("{e}"));
    let s = server::load_state(&ctx.store, Config::default()).unwrap_or_else(|e| panic!("{e}"));
    let old = s.current();
    assert_eq!(
        s.reload().unwrap_or_else(|e| panic!("{e}")),
        None,
        "nothing new"
    );
    // A later day is published while the server holds the old one.
    vigil::app::score(&ctx, Some("2025-01-15")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.reload().unwrap_or_else(|e| panic!("{e}")).as_deref(),
        Some("2025-01-15")
    );
    assert_eq!(
        old.snapshot.date, "2024-12-31",
        "a request in flight keeps its snapshot"
    );
    let h = get(&s, "/healthz").await.json();
    assert_eq!(h["snapshot"], "2025-01-15");
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_tokens_only_loopback_is_served() {
    let s = open();
    let err = server::serve(s.clone(), "0.0.0.0:0", false, |_| {})
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("--allow-anonymous"), "{err}");
}

/// A request body that never arrives.
struct Stalled;

impl http_body::Body for Stalled {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Pending
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_takes_too_long_is_cut_off() {
    use tower::ServiceExt;
    let mut config = Config::default();
    config.server.request_timeout_secs = 1;
    let s = state_with(config);
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/scenarios")
        .header("content-type", "application/json")
        .body(axum::body::Body::new(Stalled))
        .unwrap_or_else(|e| panic!("{e}"));
    let resp = server::router(s)
        .oneshot(req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status(), StatusCode::REQUEST_TIMEOUT);
}
