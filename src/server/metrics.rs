//! `/metrics` in the Prometheus text format: requests by route and status, a latency
//! histogram, and what the served snapshot holds.

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

/// Route labels (the first path segment; anything else is `other`, so that the label set
/// stays bounded whatever clients ask for).
const ROUTES: [&str; 13] = [
    "",
    "conformance",
    "api",
    "healthz",
    "metrics",
    "collections",
    "tiles",
    "grids",
    "cells",
    "alerts",
    "summaries",
    "scenarios",
    "plan",
];

/// Request counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Metrics {
    /// Records one answered request.
    pub fn record(&self, path: &str, status: u16, seconds: f64) {
        let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
        let route = ROUTES
            .iter()
            .find(|r| **r == first)
            .copied()
            .unwrap_or("other");
        let route = if route.is_empty() { "/" } else { route };
        match self.requests.lock() {
            Ok(mut m) => *m.entry((route, status)).or_default() += 1,
            Err(p) => *p.into_inner().entry((route, status)).or_default() += 1,
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

/// Middleware: counts every request.
pub async fn track(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let t = Instant::now();
    let res = next.run(req).await;
    state
        .metrics
        .record(&path, res.status().as_u16(), t.elapsed().as_secs_f64());
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
    let mut r = s.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_bounded_route_and_status() {
        let m = Metrics::default();
        m.record("/collections/risk/items", 200, 0.003);
        m.record("/collections", 200, 0.0005);
        m.record("/../../etc/passwd", 404, 0.0001);
        let t = m.text();
        assert!(
            t.contains("vigil_http_requests_total{route=\"collections\",status=\"200\"} 2"),
            "{t}"
        );
        assert!(
            t.contains("vigil_http_requests_total{route=\"other\",status=\"404\"} 1"),
            "{t}"
        );
        assert!(
            t.contains("vigil_http_request_duration_seconds_bucket{le=\"0.001\"} 2"),
            "{t}"
        );
        assert!(
            t.contains("vigil_http_request_duration_seconds_count 3"),
            "{t}"
        );
    }
}
