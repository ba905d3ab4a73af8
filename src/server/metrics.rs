//! `/metrics` in the Prometheus text format: requests by matched route and status, a
//! latency histogram, what the served snapshot holds and how old it is; and the access log
//! (one line a request at `info`, target `vigil::access`).

use super::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0];

/// Request counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Metrics {
    /// Records one answered request under its matched route (`/collections/{id}/items`;
    /// `other` when no route matched, so that the label set stays bounded whatever clients
    /// ask for).
    pub fn record(&self, route: Option<&str>, status: u16, seconds: f64) {
        let key = (route.unwrap_or("other").to_owned(), status);
        match self.requests.lock() {
            Ok(mut m) => *m.entry(key).or_default() += 1,
            Err(p) => *p.into_inner().entry(key).or_default() += 1,
        }
        for (b, le) in self.buckets.iter().zip(BUCKETS) {
            if seconds <= le {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// The counters in the Prometheus text format.
    pub fn text(&self) -> String {
        let mut s = String::new();
        s.push_str("# HELP vigil_http_requests_total HTTP requests answered, by route and status.\n# TYPE vigil_http_requests_total counter\n");
        let map = match self.requests.lock() {
            Ok(m) => m.clone(),
            Err(p) => p.into_inner().clone(),
        };
        for ((route, status), n) in map {
            let _ = writeln!(
                s,
                "vigil_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        s.push_str("# HELP vigil_http_request_duration_seconds Time to answer a request.\n# TYPE vigil_http_request_duration_seconds histogram\n");
        for (b, le) in self.buckets.iter().zip(BUCKETS) {
            let _ = writeln!(
                s,
                "vigil_http_request_duration_seconds_bucket{{le=\"{le}\"}} {}",
                b.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(
            s,
            "vigil_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            s,
            "vigil_http_request_duration_seconds_sum {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(s, "vigil_http_request_duration_seconds_count {count}");
        s
    }
}

/// Middleware: counts every request and writes its access-log line — method, path (never
/// the query), status, milliseconds, body bytes when known, the token's name.
pub async fn track(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let t = Instant::now();
    let res = next.run(req).await;
    let seconds = t.elapsed().as_secs_f64();
    let status = res.status().as_u16();
    state.metrics.record(route.as_deref(), status, seconds);
    let bytes = http_body::Body::size_hint(res.body()).exact();
    let token = res.extensions().get::<super::auth::TokenName>();
    tracing::info!(
        target: "vigil::access",
        %method,
        path = %path,
        status,
        ms = (seconds * 1e4).round() / 10.0,
        bytes,
        token = token.map(|t| t.0.as_str()),
        "request"
    );
    res
}

/// `GET /metrics` (scope `admin` when tokens are configured).
pub async fn render(State(state): State<Arc<AppState>>) -> Response {
    let cur = state.current();
    let snap = &cur.snapshot;
    let mut s = state.metrics.text();
    s.push_str(
        "# HELP vigil_snapshot_info The snapshot being served.\n# TYPE vigil_snapshot_info gauge\n",
    );
    let _ = writeln!(
        s,
        "vigil_snapshot_info{{date=\"{}\",version=\"{}\"}} 1",
        snap.date, snap.info.sha256
    );
    s.push_str("# HELP vigil_snapshot_cells Cells of the served snapshot.\n# TYPE vigil_snapshot_cells gauge\n");
    let _ = writeln!(s, "vigil_snapshot_cells {}", snap.info.cells);
    s.push_str("# HELP vigil_snapshot_gap_cells Coverage-gap cells of the served snapshot.\n# TYPE vigil_snapshot_gap_cells gauge\n");
    let _ = writeln!(s, "vigil_snapshot_gap_cells {}", snap.info.gaps);
    s.push_str("# HELP vigil_snapshot_age_seconds Seconds since the served snapshot's day ended (UTC): alert when the daily grid goes stale.\n# TYPE vigil_snapshot_age_seconds gauge\n");
    let _ = writeln!(
        s,
        "vigil_snapshot_age_seconds {}",
        snapshot_age_seconds(snap.day())
    );
    let mut r = s.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Seconds from the end of day `day` (UTC) to now (negative before it ends).
fn snapshot_age_seconds(day: i32) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    now - (i64::from(day) + 1) * 86_400
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_age_of_yesterdays_snapshot_is_under_a_day() {
        let today = crate::model::day::today();
        let age = snapshot_age_seconds(today - 1);
        assert!((0..86_400).contains(&age), "{age}");
        assert!(snapshot_age_seconds(today) <= 0, "today has not ended");
        assert_eq!(snapshot_age_seconds(today - 11) - age, 10 * 86_400);
    }

    #[test]
    fn counts_by_bounded_route_and_status() {
        let m = Metrics::default();
        m.record(Some("/collections/{id}/items"), 200, 0.003);
        m.record(Some("/collections/{id}/items"), 200, 0.0005);
        m.record(Some("/collections"), 200, 0.0005);
        m.record(None, 404, 0.0001);
        let t = m.text();
        assert!(
            t.contains(
                "vigil_http_requests_total{route=\"/collections/{id}/items\",status=\"200\"} 2"
            ),
            "{t}"
        );
        assert!(
            t.contains("vigil_http_requests_total{route=\"/collections\",status=\"200\"} 1"),
            "{t}"
        );
        assert!(
            t.contains("vigil_http_requests_total{route=\"other\",status=\"404\"} 1"),
            "{t}"
        );
        assert!(
            t.contains("vigil_http_request_duration_seconds_bucket{le=\"0.001\"} 3"),
            "{t}"
        );
        assert!(
            t.contains("vigil_http_request_duration_seconds_count 4"),
            "{t}"
        );
    }
}
