//! Issue 16: what GIS clients rely on — links behind a proxy (`public_url`, `trust_proxy`),
//! strict RFC 3339 `datetime` (events by their own dates), item links, other encodings
//! (`f=csv`, `f=geojsonseq`), `properties=`, six-number bboxes, queryables, and feature
//! properties typed as the schema says.

use crate::common;

use axum::http::{Method, StatusCode};
use serde_json::Value;
use std::sync::{Arc, OnceLock};
use vigil::config::Config;
use vigil::model::layer::Layer;
use vigil::server::{self, AppState};

use common::{call, Answer};

fn store() -> &'static (tempfile::TempDir, vigil::app::Context, String) {
    static STORE: OnceLock<(tempfile::TempDir, vigil::app::Context, String)> = OnceLock::new();
    STORE.get_or_init(common::scored_store)
}

fn state_with(config: Config) -> Arc<AppState> {
    let (_, ctx, _) = store();
    server::load_state(&ctx.store, config).unwrap_or_else(|e| panic!("{e}"))
}

async fn get(state: &Arc<AppState>, uri: &str, headers: &[(&str, &str)]) -> Answer {
    call(state, Method::GET, uri, headers, None).await
}

/// Every `href` in a JSON document.
fn hrefs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(h) = m.get("href").and_then(Value::as_str) {
                out.push(h.to_owned());
            }
            m.values().for_each(|x| hrefs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| hrefs(x, out)),
        _ => {}
    }
}

/// The landing page, a collection, a page of items (with `next`), an item and the TileJSON,
/// as a client behind the proxy sees them: every URL in them.
async fn urls_seen(state: &Arc<AppState>, headers: &[(&str, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    for uri in [
        "/",
        "/collections",
        "/collections/coverage-gaps",
        "/collections/coverage-gaps/items?limit=5",
    ] {
        let a = get(state, uri, headers).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}");
        hrefs(&a.json(), &mut out);
    }
    let page = get(state, "/collections/risk/items?limit=1", headers)
        .await
        .json();
    let id = page["features"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let item = get(state, &format!("/collections/risk/items/{id}"), headers).await;
    hrefs(&item.json(), &mut out);
    let tj = get(state, "/tiles/risk/tilejson.json", headers)
        .await
        .json();
    for t in tj["tiles"].as_array().cloned().unwrap_or_default() {
        out.push(t.as_str().unwrap_or_default().to_owned());
    }
    out
}

const PROXY: &[(&str, &str)] = &[
    ("x-forwarded-proto", "https"),
    ("x-forwarded-host", "maps.example.org"),
    ("x-forwarded-prefix", "/vigil"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_every_link_is_the_public_one() {
    let mut config = Config::default();
    config.server.trust_proxy = true;
    let urls = urls_seen(&state_with(config), PROXY).await;
    assert!(urls.len() > 20, "{urls:?}");
    for u in &urls {
        assert!(u.starts_with("https://maps.example.org/vigil/"), "{u}");
    }
    // RFC 7239 `Forwarded` works the same.
    let mut config = Config::default();
    config.server.trust_proxy = true;
    let fwd = [(
        "forwarded",
        "for=192.0.2.1;proto=https;host=ops.example.org",
    )];
    for u in urls_seen(&state_with(config), &fwd).await {
        assert!(u.starts_with("https://ops.example.org/"), "{u}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_headers_are_ignored_unless_trusted_and_public_url_wins() {
    for u in urls_seen(&state_with(Config::default()), PROXY).await {
        assert!(u.starts_with("http://vigil.test/"), "{u}");
    }
    let mut config = Config::default();
    config.server.public_url = "https://ew.example.int/joc/".into();
    config.server.trust_proxy = true;
    for u in urls_seen(&state_with(config), PROXY).await {
        assert!(u.starts_with("https://ew.example.int/joc/"), "{u}");
    }
    let bad = Config::from_toml("[server]\npublic_url = \"ftp://x\"\n");
    assert!(bad.is_err_and(|e| e.to_string().contains("server.public_url")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datetime_is_strict_rfc_3339_with_offsets_in_utc() {
    let s = state_with(Config::default());
    for bad in [
        "2024-12-31Tgarbage",
        "2024-12-31T25:00:00Z",
        "2024-12-31T12:00:00",
        "2024-1-31",
        "",
    ] {
        let a = get(&s, &format!("/collections/risk/items?datetime={bad}"), &[]).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "`{bad}`");
        assert_eq!(a.json()["parameter"], "datetime");
    }
    // 03:00 on 1 January at +05:00 is still 31 December in UTC.
    let a = get(
        &s,
        "/collections/risk/items?limit=1&datetime=2025-01-01T03:00:00%2B05:00",
        &[],
    )
    .await
    .json();
    assert_eq!(a["snapshot"]["date"], "2024-12-31");
    // 20:00 on 31 December at -05:00 is 1 January in UTC: no snapshot that day.
    let b = get(
        &s,
        "/collections/risk/items?limit=1&datetime=2024-12-31T20:00:00-05:00",
        &[],
    )
    .await
    .json();
    assert_eq!(b["numberMatched"], 0);
}

/// The dates of the events of a page.
fn event_dates(fc: &Value) -> Vec<(String, String)> {
    fc["features"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|f| {
            let p = &f["properties"];
            (
                p["date_start"].as_str().unwrap_or_default().to_owned(),
                p["date_end"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_filtered_by_their_own_dates() {
    let s = state_with(Config::default());
    let all = get(
        &s,
        "/collections/events/items?limit=10000&datetime=../..",
        &[],
    )
    .await
    .json();
    let dates = event_dates(&all);
    assert!(dates.len() > 50, "{}", dates.len());
    // A month with events: exactly the events whose dates intersect it.
    let (d0, _) = dates[dates.len() / 2].clone();
    let month = &d0[..7];
    let (from, to) = (format!("{month}-01"), format!("{month}-28"));
    let want = dates
        .iter()
        .filter(|(a, b)| a.as_str() <= to.as_str() && b.as_str() >= from.as_str())
        .count();
    let uri =
        format!("/collections/events/items?limit=10000&datetime={from}T00:00:00Z/{to}T23:59:59Z");
    let a = get(&s, &uri, &[]).await;
    let fc = a.json();
    assert_eq!(event_dates(&fc).len(), want);
    assert!(want > 0, "{month}");
    assert_eq!(fc["datetime"], format!("{from}T00:00:00Z/{to}T23:59:59Z"));
    assert_eq!(
        a.header("vigil-datetime"),
        format!("{from}T00:00:00Z/{to}T23:59:59Z")
    );
    // Without `datetime`: the served snapshot's scoring window (365 days), named in the answer.
    let window = get(&s, "/collections/events/items?limit=2", &[]).await;
    assert_eq!(window.json()["datetime"], "2024-01-02/2024-12-31");
    let next = window.json()["links"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .find(|l| l["rel"] == "next")
        .and_then(|l| l["href"].as_str().map(str::to_owned))
        .unwrap_or_default();
    assert!(next.ends_with("datetime=2024-01-02/2024-12-31"), "{next}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_links_to_itself_and_its_collection() {
    let s = state_with(Config::default());
    let page = get(&s, "/collections/coverage-gaps/items?limit=1", &[]).await;
    let fc = page.json();
    let id = fc["features"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let item = get(&s, &format!("/collections/coverage-gaps/items/{id}"), &[]).await;
    assert_eq!(item.header("content-type"), "application/geo+json");
    let links = item.json()["links"].clone();
    assert_eq!(
        links[0]["href"],
        format!("http://vigil.test/collections/coverage-gaps/items/{id}?datetime=2024-12-31")
    );
    assert_eq!(links[0]["rel"], "self");
    assert_eq!(links[1]["rel"], "collection");
    assert_eq!(
        links[1]["href"],
        "http://vigil.test/collections/coverage-gaps"
    );
    // Each alternate of a page is answered with the media type it announces.
    for l in fc["links"].as_array().cloned().unwrap_or_default() {
        if l["rel"] != "alternate" && l["rel"] != "self" {
            continue;
        }
        let href = l["href"].as_str().unwrap_or_default();
        let path = href.trim_start_matches("http://vigil.test");
        let a = get(&s, path, &[]).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert_eq!(a.header("content-type"), l["type"], "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_as_csv_and_geojson_sequence() {
    let s = state_with(Config::default());
    let csv = get(
        &s,
        "/collections/coverage-gaps/items?limit=7&f=csv&properties=risk,tier",
        &[],
    )
    .await;
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    let text = String::from_utf8_lossy(&csv.body).into_owned();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("id,risk,tier,wkt"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 7);
    assert!(
        rows.iter().all(|r| r.contains(",\"MULTIPOLYGON (((")),
        "{rows:?}"
    );
    assert!(
        csv.header("link").contains("rel=\"next\""),
        "{}",
        csv.header("link")
    );
    assert!(csv.header("link").contains("f=csv"));
    // By Accept, too.
    let seq = get(
        &s,
        "/collections/bases/items?limit=3",
        &[("accept", "application/geo+json-seq")],
    )
    .await;
    assert_eq!(seq.header("content-type"), "application/geo+json-seq");
    let records: Vec<&[u8]> = seq
        .body
        .split(|b| *b == 0x1e)
        .filter(|r| !r.is_empty())
        .collect();
    assert_eq!(records.len(), 3);
    for r in records {
        assert_eq!(r.last(), Some(&b'\n'));
        let f: Value = serde_json::from_slice(r).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f["type"], "Feature");
        assert_eq!(f["geometry"]["type"], "Point");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn properties_selection_six_number_bbox_and_queryables() {
    let s = state_with(Config::default());
    let a = get(
        &s,
        "/collections/risk/items?limit=3&properties=tier,risk",
        &[],
    )
    .await
    .json();
    let keys: Vec<String> = a["features"][0]["properties"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["risk", "tier"]);
    let bad = get(&s, "/collections/risk/items?properties=nope", &[]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["parameter"], "properties");
    let four = get(
        &s,
        "/collections/risk/items?limit=10000&bbox=21.0,6.4,21.1,6.5",
        &[],
    )
    .await
    .json();
    let six = get(
        &s,
        "/collections/risk/items?limit=10000&bbox=21.0,6.4,-100,21.1,6.5,9000",
        &[],
    )
    .await
    .json();
    assert_eq!(four["numberMatched"], six["numberMatched"]);
    assert!(four["numberMatched"].as_u64().unwrap_or(0) > 0);
    let q = get(&s, "/collections/risk/queryables", &[]).await;
    assert_eq!(q.status, StatusCode::OK);
    assert_eq!(q.header("content-type"), "application/schema+json");
    let q = q.json();
    assert_eq!(q["$id"], "http://vigil.test/collections/risk/queryables");
    assert_eq!(q["properties"]["tier"]["type"], "string");
    assert_eq!(q["properties"]["gap"]["type"], "boolean");
    assert!(q["properties"]["geometry"].is_object());
    let conf = get(&s, "/conformance", &[]).await.json();
    assert!(conf["conformsTo"]
        .to_string()
        .contains("ogcapi-features-3/1.0/conf/queryables"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_feature_property_has_the_schema_type() {
    let s = state_with(Config::default());
    let mut checked = 0;
    for layer in Layer::ALL {
        let uri = format!("/collections/{}/items?limit=200", layer.id());
        let fc = get(&s, &uri, &[]).await.json();
        let features = fc["features"].as_array().cloned().unwrap_or_default();
        checked += usize::from(!features.is_empty());
        let schema = vigil::output::schema::properties(layer);
        for f in features {
            let props = f["properties"].as_object().cloned().unwrap_or_default();
            for (k, v) in &props {
                let p = schema.iter().find(|p| p.name == k);
                assert!(p.is_some_and(|p| p.accepts(v)), "{uri}: {k} = {v}");
            }
            assert_eq!(
                props.len(),
                schema.len(),
                "{uri}: every property is written"
            );
        }
    }
    // The sample has no IDP site listed on the served day; every other layer is checked.
    assert!(checked >= Layer::ALL.len() - 1, "{checked}");
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{e}"));
    out
}

/// The JSON of a page without its `timeStamp` (the one member that changes per request).
fn page_json(bytes: &[u8]) -> Value {
    let mut v: Value = serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{e}"));
    if let Some(m) = v.as_object_mut() {
        m.remove("timeStamp");
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_geojson_and_csv_are_gzipped_with_their_own_etags() {
    let s = state_with(Config::default());
    let uri = "/collections/risk/items?limit=1000";
    let plain = get(&s, uri, &[]).await;
    let gz = get(&s, uri, &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(plain.header("content-encoding"), "");
    assert_eq!(gz.header("content-encoding"), "gzip");
    assert!(
        gz.body.len() * 5 < plain.body.len(),
        "{} vs {}",
        gz.body.len(),
        plain.body.len()
    );
    assert_eq!(page_json(&gunzip(&gz.body)), page_json(&plain.body));
    assert!(gz
        .header("vary")
        .to_ascii_lowercase()
        .contains("accept-encoding"));
    assert_ne!(gz.header("etag"), plain.header("etag"));
    assert!(gz.header("etag").ends_with("-gzip\""));
    // Each tag revalidates its own representation.
    let again = get(
        &s,
        uri,
        &[
            ("accept-encoding", "gzip"),
            ("if-none-match", gz.header("etag")),
        ],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.header("etag"), gz.header("etag"));
    let again = get(&s, uri, &[("if-none-match", plain.header("etag"))]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.header("etag"), plain.header("etag"));
    // q-values: gzip refused by name is not sent.
    for refuse in ["gzip;q=0", "identity", "br;q=1, gzip;q=0.000"] {
        let a = get(&s, uri, &[("accept-encoding", refuse)]).await;
        assert_eq!(a.header("content-encoding"), "", "{refuse}");
    }
    let csv = get(
        &s,
        "/collections/risk/items?limit=500&f=csv",
        &[("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(csv.header("content-encoding"), "gzip");
    assert!(String::from_utf8_lossy(&gunzip(&csv.body)).starts_with("id,h3,date,"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grids_are_compressed_once_and_tiles_honour_q_values() {
    let s = state_with(Config::default());
    for file in ["latest.geojson", "latest.csv"] {
        let uri = format!("/grids/{file}");
        let plain = get(&s, &uri, &[]).await;
        let gz = get(&s, &uri, &[("accept-encoding", "gzip")]).await;
        let gz2 = get(&s, &uri, &[("accept-encoding", "gzip")]).await;
        assert_eq!(gz.header("content-encoding"), "gzip", "{file}");
        assert_eq!(gunzip(&gz.body), plain.body, "{file}");
        assert_eq!(gz.body, gz2.body, "{file}: the cached encoding");
        assert_ne!(gz.header("etag"), plain.header("etag"));
    }
    let parquet = get(&s, "/grids/latest.parquet", &[("accept-encoding", "gzip")]).await;
    assert_eq!(
        parquet.header("content-encoding"),
        "",
        "Parquet is compressed already"
    );
    let tj = get(&s, "/tiles/risk/tilejson.json", &[]).await.json();
    let centre = tj["center"].as_array().cloned().unwrap_or_default();
    let (lon, lat) = (
        centre[0].as_f64().unwrap_or(0.0),
        centre[1].as_f64().unwrap_or(0.0),
    );
    let z = 7u32;
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let y = ((1.0
        - (lat.to_radians().tan() + 1.0 / lat.to_radians().cos()).ln() / std::f64::consts::PI)
        / 2.0
        * n) as u32;
    let uri = format!("/tiles/risk/{z}/{x}/{y}.mvt");
    let gz = get(&s, &uri, &[("accept-encoding", "gzip")]).await;
    assert_eq!(gz.status, StatusCode::OK, "{uri}");
    assert_eq!(gz.header("content-encoding"), "gzip");
    let refused = get(&s, &uri, &[("accept-encoding", "gzip;q=0")]).await;
    assert_eq!(refused.header("content-encoding"), "");
    assert_eq!(gunzip(&gz.body), refused.body);
    assert_ne!(gz.header("etag"), refused.header("etag"));
    // Tiles of a day not stored are refused, not silently the served day.
    let missing = get(&s, &format!("{uri}?date=2023-01-01"), &[]).await;
    assert!(missing.status.is_client_error(), "{}", missing.status);
    let odd = get(&s, &format!("{uri}?datetime=2024-12-31"), &[]).await;
    assert_eq!(odd.status, StatusCode::BAD_REQUEST);
}
