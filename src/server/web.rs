//! The web map (`/map`) and the HTML landing page: the page's files and MapLibre GL JS are
//! embedded in the binary (`web/`), so the map works on a network cut off from the
//! internet and needs no second server and no build step. `/map/settings.json` tells the
//! page what the server is configured with and what its caller may see.

use super::auth::Access;
use super::problem::ApiError;
use super::AppState;
use crate::output::xml::escape;
use axum::extract::{Extension, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};

/// One embedded file.
struct Asset {
    /// Path under `/map/`.
    path: &'static str,
    /// Content type.
    mime: &'static str,
    /// Bytes.
    bytes: &'static [u8],
    /// Whether it changes only with the pinned MapLibre version (cached a day).
    vendor: bool,
}

const JS: &str = "text/javascript; charset=utf-8";

macro_rules! page {
    ($path:literal, $mime:expr) => {
        Asset {
            path: $path,
            mime: $mime,
            bytes: include_bytes!(concat!("../../web/map/", $path)),
            vendor: false,
        }
    };
}

macro_rules! vendor {
    ($path:literal, $mime:expr) => {
        Asset {
            path: concat!("vendor/", $path),
            mime: $mime,
            bytes: include_bytes!(concat!("../../web/vendor/maplibre-gl/", $path)),
            vendor: true,
        }
    };
}

macro_rules! pmtiles {
    ($path:literal, $file:literal, $mime:expr) => {
        Asset {
            path: $path,
            mime: $mime,
            bytes: include_bytes!(concat!("../../web/vendor/pmtiles/", $file)),
            vendor: true,
        }
    };
}

/// The page's files, the tile archive viewer, the vendored MapLibre and PMTiles reader
/// (their licences beside them).
static ASSETS: [Asset; 21] = [
    page!("index.html", "text/html; charset=utf-8"),
    page!("map.css", "text/css; charset=utf-8"),
    page!("js/main.js", JS),
    page!("js/api.js", JS),
    page!("js/state.js", JS),
    page!("js/layers.js", JS),
    page!("js/panels.js", JS),
    page!("js/time.js", JS),
    page!("js/scenario.js", JS),
    page!("js/alerts.js", JS),
    page!("js/export.js", JS),
    page!("archive.html", "text/html; charset=utf-8"),
    page!("js/archive.js", JS),
    vendor!("maplibre-gl.mjs", JS),
    vendor!("maplibre-gl-worker.mjs", JS),
    vendor!("maplibre-gl.css", "text/css; charset=utf-8"),
    vendor!("LICENSE.txt", "text/plain; charset=utf-8"),
    vendor!("VERSION", "text/plain; charset=utf-8"),
    pmtiles!("vendor/pmtiles.js", "pmtiles.js", JS),
    pmtiles!(
        "vendor/pmtiles/LICENSE.txt",
        "LICENSE.txt",
        "text/plain; charset=utf-8"
    ),
    pmtiles!(
        "vendor/pmtiles/VERSION",
        "VERSION",
        "text/plain; charset=utf-8"
    ),
];

/// The embedded file at `path` (under `/map/`), if any.
fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// The pinned MapLibre version.
pub fn maplibre_version() -> &'static str {
    asset("vendor/VERSION")
        .and_then(|a| std::str::from_utf8(a.bytes).ok())
        .map_or("", str::trim)
}

/// Strong ETags of the embedded files, computed once.
fn etag(a: &Asset) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let d = crate::model::digest::sha256_hex(a.bytes);
                format!("\"{}\"", d.get(..20).unwrap_or(&d))
            })
            .collect()
    });
    ASSETS
        .iter()
        .position(|x| std::ptr::eq(x, a))
        .and_then(|i| tags.get(i))
        .map_or("", String::as_str)
}

fn serve_asset(a: &'static Asset, headers: &HeaderMap) -> Response {
    let tag = etag(a);
    let cache = if a.vendor {
        "public, max-age=86400"
    } else {
        "no-cache"
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| super::encoding::identity_tag(t.trim().trim_start_matches("W/")) == tag)
        });
    let mut r = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = axum::body::Body::from(a.bytes).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(a.mime));
        r
    };
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// `GET /map`: the web map.
pub async fn map_page(headers: HeaderMap) -> Response {
    match asset("index.html") {
        Some(a) => {
            let mut r = serve_asset(a, &headers);
            // The page talks to this server only (and to a configured basemap, which
            // `connect-src`/`img-src` then have to allow: it is added by the settings).
            r.headers_mut().insert(
                header::HeaderName::from_static("referrer-policy"),
                HeaderValue::from_static("no-referrer"),
            );
            r
        }
        None => ApiError::NotFound("the map page is not embedded".into()).into_response(),
    }
}

/// `GET /map/`: to `/map` (the page's links are relative to the server's root).
pub async fn map_slash() -> Response {
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, "../map")],
    )
        .into_response()
}

/// `GET /map/{*path}`: the page's files and MapLibre.
pub async fn map_asset(Path(path): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    asset(&path)
        .map(|a| serve_asset(a, &headers))
        .ok_or_else(|| ApiError::NotFound(format!("no file /map/{path}")))
}

/// `GET /map/settings.json`: what the page needs to know of the server and of its caller.
pub async fn settings(
    State(state): State<Arc<AppState>>,
    Extension(access): Extension<Access>,
) -> Response {
    let scopes: Vec<&str> = [
        (access.allows(crate::config::Scope::RiskRead), "risk:read"),
        (
            access.allows(crate::config::Scope::DeploymentsRead),
            "deployments:read",
        ),
        (access.allows(crate::config::Scope::Admin), "admin"),
    ]
    .into_iter()
    .filter_map(|(has, s)| has.then_some(s))
    .collect();
    let basemap = &state.config.map.basemap;
    let mut r = Json(json!({
        "tokens_required": !state.config.server.tokens.is_empty(),
        "authenticated": access.authenticated,
        "scopes": scopes,
        "sees_deployments": access.audience().sees_deployments(),
        "basemap": if basemap.is_empty() { Value::Null } else { json!(basemap) },
        "maplibre": maplibre_version(),
        "tiles_maxzoom": crate::output::tiles::data_max_zoom(state.config.grid.resolution),
        "vigil": env!("CARGO_PKG_VERSION"),
    }))
    .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Whether a request prefers HTML over JSON: `?f=html`, or an `Accept` header that ranks
/// `text/html` at least as high as any JSON type it names (a browser's); `*/*` alone, as
/// curl and GIS clients send, keeps JSON.
pub fn wants_html(headers: &HeaderMap, f: Option<&str>) -> bool {
    match f {
        Some("html") => return true,
        Some(_) => return false,
        None => {}
    }
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let (mut html, mut json) = (0.0f64, 0.0f64);
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f64>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "text/html" | "application/xhtml+xml" => html = html.max(q),
            "application/json" | "application/geo+json" => json = json.max(q),
            _ => {}
        }
    }
    html > 0.0 && html >= json
}

/// The landing page's links (`href`, `rel`, `type`, `title`) as a small HTML page.
pub fn landing_html(title: &str, description: &str, links: &[Value]) -> Response {
    let mut r = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        landing_body(title, description, links),
    )
        .into_response();
    r.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    r
}

fn landing_body(title: &str, description: &str, links: &[Value]) -> String {
    let items: String = links
        .iter()
        .map(|l| {
            let s = |k: &str| escape(l[k].as_str().unwrap_or(""));
            format!(
                "<li><a href=\"{}\">{}</a> <small>{} · {}</small></li>\n",
                s("href"),
                s("title"),
                s("rel"),
                s("type")
            )
        })
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t}</title><style>body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}}\
a{{color:#0b57a4}}.map{{display:inline-block;margin:1rem 0;padding:.6rem 1.2rem;background:#0b57a4;color:#fff;border-radius:4px;text-decoration:none;font-weight:600}}\
small{{color:#555}}li{{margin:.3rem 0}}</style></head>\n<body><h1>{t}</h1><p>{d}</p>\
<p><a class=\"map\" href=\"map\">Open the map</a></p>\n<h2>For GIS tools and scripts</h2><ul>\n{items}</ul>\
<p><small>JSON clients get this page as JSON (<a href=\"?f=json\">?f=json</a>).</small></p></body></html>\n",
        t = escape(title),
        d = escape(description),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_get_html_and_clients_json() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(v) {
                m.insert(header::ACCEPT, v);
            }
            m
        };
        let chromium =
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
        assert!(wants_html(&h(chromium), None));
        assert!(wants_html(&h("text/html"), None));
        assert!(!wants_html(&h("*/*"), None), "curl");
        assert!(!wants_html(&HeaderMap::new(), None));
        assert!(!wants_html(&h("application/json"), None), "GDAL");
        assert!(!wants_html(&h("application/json, text/html;q=0.5"), None));
        assert!(!wants_html(&h(chromium), Some("json")));
        assert!(wants_html(&h("*/*"), Some("html")));
    }

    #[test]
    fn every_asset_is_embedded_with_its_type_and_maplibre_is_pinned() {
        for a in &ASSETS {
            assert!(!a.bytes.is_empty(), "{}", a.path);
            assert!(etag(a).len() > 10, "{}", a.path);
        }
        assert!(maplibre_version().split('.').count() == 3);
        assert!(asset("vendor/LICENSE.txt")
            .and_then(|a| std::str::from_utf8(a.bytes).ok())
            .is_some_and(|t| t.contains("MapLibre")));
        assert!(asset("../Cargo.toml").is_none());
    }

    #[test]
    fn the_landing_page_escapes_what_it_shows() {
        let body = landing_body(
            "V<i>",
            "d",
            &[json!({"href": "/x?a=1&b=\"2\"", "title": "<script>", "rel": "r", "type": "t"})],
        );
        assert!(body.contains("<h1>V&lt;i&gt;</h1>"), "{body}");
        assert!(
            body.contains("href=\"/x?a=1&amp;b=&quot;2&quot;\""),
            "{body}"
        );
        assert!(
            body.contains("&lt;script&gt;") && !body.contains("<script>"),
            "{body}"
        );
        assert!(body.contains("href=\"map\""), "links the map");
    }
}
