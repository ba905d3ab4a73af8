//! Shared by the benchmarks: sizes from the environment, full only under `cargo bench`.
#![allow(dead_code)]

/// The value of environment variable `name`, else `default`.
pub fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `n` under `cargo bench` (`--bench` on the command line); `n / 100` when
/// `cargo test --all-targets` runs the benchmark once, so the tests stay quick.
pub fn scale(n: usize) -> usize {
    if full() {
        n
    } else {
        n / 100
    }
}

/// Whether this is a real benchmark run.
pub fn full() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Sends one GET through the router of `state`: (status, body length).
pub async fn fetch(state: std::sync::Arc<vigil::server::AppState>, uri: String) -> (u16, usize) {
    fetch_with(state, &uri, &[]).await
}

/// Sends one GET with `headers` through the router of `state`: (status, body length).
pub async fn fetch_with(
    state: std::sync::Arc<vigil::server::AppState>,
    uri: &str,
    headers: &[(&str, &str)],
) -> (u16, usize) {
    use tower::ServiceExt;
    let mut b = axum::http::Request::builder().uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b
        .body(axum::body::Body::empty())
        .unwrap_or_else(|e| panic!("{e}"));
    let resp = vigil::server::router(state)
        .oneshot(req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status().as_u16();
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (status, body.to_bytes().len())
}
