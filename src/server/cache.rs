//! HTTP caching: every GET answer over a snapshot carries an ETag keyed by the snapshot's
//! version, the request (path and query) and what the caller may see; a matching
//! `If-None-Match` is answered 304 without rendering anything.

use super::auth::Access;
use super::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Paths whose answers are never cached (they change without a new snapshot).
const UNCACHED: [&str; 3] = ["/healthz", "/metrics", "/snapshots"];

/// Whether a request reads another snapshot than the served one (`datetime`, `since`,
/// `from`, a dated grid): its answer can change without the served version changing (a
/// past day re-scored), so it gets no ETag.
fn reads_other_snapshots(path: &str, query: Option<&str>) -> bool {
    let q = query.unwrap_or("");
    q.split('&').any(|kv| {
        kv.starts_with("datetime=")
            || kv.starts_with("since=")
            || kv.starts_with("from=")
            || kv.starts_with("date=")
    }) || (path.starts_with("/grids/") && !path.starts_with("/grids/latest"))
}

/// The ETag of a request over snapshot `version`.
pub fn etag_of(version: &str, path_and_query: &str, access: Option<&Access>) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    path_and_query.hash(&mut h);
    access
        .map(|a| (a.risk, a.deployments, a.admin))
        .hash(&mut h);
    format!(
        "\"{}-{:016x}\"",
        version.get(..16).unwrap_or(version),
        h.finish()
    )
}

fn matches(if_none_match: &HeaderValue, etag: &str) -> bool {
    if_none_match.to_str().is_ok_and(|v| {
        v.split(',').any(|t| {
            let t = t.trim();
            t == "*" || super::encoding::identity_tag(t.trim_start_matches("W/")) == etag
        })
    })
}

/// Middleware: ETag, 304 and `Cache-Control` for GET and HEAD.
pub async fn etag(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let get = req.method() == Method::GET || req.method() == Method::HEAD;
    // The map's files carry their own ETags (of their bytes, not of the snapshot).
    let path = req.uri().path();
    if !get || UNCACHED.contains(&path) || path == "/map" || path.starts_with("/map/") {
        return next.run(req).await;
    }
    if reads_other_snapshots(req.uri().path(), req.uri().query()) {
        let mut res = next.run(req).await;
        res.headers_mut()
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-cache"));
        return res;
    }
    let version = state.current().snapshot.info.sha256.clone();
    let pq = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
    let tag = etag_of(&version, &pq, req.extensions().get::<Access>());
    // Tiles asked for with the current version (`?v=`) never change.
    let immutable = req.uri().path().starts_with("/tiles/")
        && req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv == format!("v={version}")));
    let cache_control = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=60, must-revalidate"
    };
    let header_tag = HeaderValue::from_str(&tag).ok();
    if let (Some(inm), Some(t)) = (req.headers().get(header::IF_NONE_MATCH), &header_tag) {
        if matches(inm, &tag) {
            let mut r = StatusCode::NOT_MODIFIED.into_response();
            r.headers_mut().insert(header::ETAG, t.clone());
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(cache_control),
            );
            return r;
        }
    }
    let mut res = next.run(req).await;
    if res.status().is_success() {
        if let Some(t) = header_tag {
            res.headers_mut().insert(header::ETAG, t);
        }
        res.headers_mut()
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static(cache_control));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_differ_by_version_request_and_access() {
        let v = "0123456789abcdef0123";
        let a = etag_of(v, "/collections/risk/items", Some(&Access::OPEN));
        assert_eq!(
            a,
            etag_of(v, "/collections/risk/items", Some(&Access::OPEN))
        );
        assert_ne!(
            a,
            etag_of(
                "fedcba9876543210",
                "/collections/risk/items",
                Some(&Access::OPEN)
            )
        );
        assert_ne!(
            a,
            etag_of(v, "/collections/risk/items?limit=5", Some(&Access::OPEN))
        );
        assert_ne!(
            a,
            etag_of(v, "/collections/risk/items", Some(&Access::NONE))
        );
        let h = |s: &str| HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static(""));
        assert!(matches(&h(&a), &a));
        assert!(matches(&h(&format!("W/{a}, \"x\"")), &a));
        assert!(matches(&h("*"), &a));
        assert!(!matches(&h("\"other\""), &a));
        assert!(reads_other_snapshots(
            "/collections/risk/items",
            Some("limit=1&datetime=2024-01-01")
        ));
        assert!(reads_other_snapshots("/alerts", Some("since=2024-01-01")));
        assert!(reads_other_snapshots("/grids/2024-01-01.csv", None));
        assert!(!reads_other_snapshots("/grids/latest.csv", None));
        assert!(!reads_other_snapshots(
            "/collections/risk/items",
            Some("limit=5")
        ));
    }
}
