//! OGC API – Features Part 1: the conformance declaration and the API definition (a static
//! OpenAPI 3.0 document, `openapi.json`, with the configured page limits filled in).

use super::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::Arc;

/// The conformance classes implemented.
pub const CONFORMANCE: [&str; 3] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
];

const OPENAPI: &str = include_str!("openapi.json");

/// The OpenAPI document with the server's limits and version.
pub fn openapi_text(default_limit: usize, max_limit: usize) -> String {
    OPENAPI
        .replace("{{default_limit}}", &default_limit.to_string())
        .replace("{{max_limit}}", &max_limit.to_string())
        .replace("{{version}}", env!("CARGO_PKG_VERSION"))
}

/// `GET /conformance`
pub async fn conformance() -> Response {
    Json(json!({ "conformsTo": CONFORMANCE })).into_response()
}

/// `GET /api`
pub async fn openapi(State(state): State<Arc<AppState>>) -> Response {
    let s = &state.config.server;
    let mut r = openapi_text(s.default_limit, s.max_limit).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.oai.openapi+json;version=3.0"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::layer::Layer;

    #[test]
    fn the_document_is_openapi_3_0_with_the_limits() {
        let v: serde_json::Value =
            serde_json::from_str(&openapi_text(100, 10_000)).unwrap_or_default();
        assert_eq!(v["openapi"], "3.0.3");
        let limit = &v["components"]["parameters"]["limit"]["schema"];
        assert_eq!(
            (limit["default"].as_u64(), limit["maximum"].as_u64()),
            (Some(100), Some(10_000))
        );
        // The document lists the layers of `Layer`, the one list of them.
        for c in Layer::ALL.map(Layer::id) {
            assert!(
                v["paths"][format!("/collections/{c}/items")].is_object(),
                "{c}"
            );
        }
        for path in [
            "/tiles/{layer}/tilejson.json",
            "/tiles/{layer}/{z}/{x}/{y}.mvt",
        ] {
            let layers = &v["paths"][path]["get"]["parameters"][0]["schema"]["enum"];
            assert_eq!(layers, &serde_json::json!(Layer::tiled_ids()), "{path}");
        }
    }
}
