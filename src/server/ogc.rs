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
pub const CONFORMANCE: [&str; 5] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
];

const OPENAPI: &str = include_str!("openapi.json");

/// The OpenAPI document with the server's limits and version, each collection's feature
/// properties typed from `output::schema` (the one list of them), the `datetime` grammar
/// from `query` and the summary levels of the loaded areas (`levels`).
pub fn openapi_text(default_limit: usize, max_limit: usize, levels: &[&str]) -> String {
    let text = OPENAPI
        .replace("{{default_limit}}", &default_limit.to_string())
        .replace("{{max_limit}}", &max_limit.to_string())
        .replace("{{version}}", env!("CARGO_PKG_VERSION"));
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(&text) else {
        return text;
    };
    type_features(&mut doc);
    doc["components"]["parameters"]["datetime"]["schema"]["pattern"] =
        super::query::datetime_pattern().into();
    summary_levels(&mut doc, levels);
    public_routes(&mut doc);
    doc.to_string()
}

/// Adds `components.schemas.<layer>-properties` and points each collection's items and
/// item answers at a feature schema with them; documents the CSV and sequence encodings.
fn type_features(doc: &mut serde_json::Value) {
    use crate::model::layer::Layer;
    use crate::output::schema::properties_schema;
    for layer in Layer::ALL {
        let id = layer.id();
        let props = format!("{id}-properties");
        doc["components"]["schemas"][&props] = properties_schema(layer);
        let feature = json!({"allOf": [
            {"$ref": "#/components/schemas/Feature"},
            {"type": "object", "properties": {"properties": {"$ref": format!("#/components/schemas/{props}")}}}
        ]});
        let collection = json!({"allOf": [
            {"$ref": "#/components/schemas/FeatureCollection"},
            {"type": "object", "properties": {"features": {"type": "array", "items": feature}}}
        ]});
        let text = json!({"schema": {"type": "string"}});
        let items = &mut doc["paths"][format!("/collections/{id}/items")]["get"]["responses"]
            ["200"]["content"];
        items["application/geo+json"] = json!({"schema": collection});
        items["application/geo+json-seq"] = text.clone();
        items["text/csv; charset=utf-8"] = text;
        let item = &mut doc["paths"][format!("/collections/{id}/items/{{featureId}}")]["get"]
            ["responses"]["200"]["content"];
        item["application/geo+json"] = json!({"schema": feature});
        // `properties=`: this collection's names (the shared parameter cannot list them).
        let shared = doc["components"]["parameters"]["properties"].clone();
        let params = &mut doc["paths"][format!("/collections/{id}/items")]["get"]["parameters"];
        if let Some(p) = params.as_array_mut().and_then(|ps| {
            ps.iter_mut()
                .find(|p| p["$ref"] == "#/components/parameters/properties")
        }) {
            let mut inline = shared.clone();
            inline["schema"]["items"]["enum"] = json!(crate::output::schema::names(layer));
            *p = inline;
        }
    }
}

/// Marks the operations that need no token (`security: []`), by the one rule of which
/// routes are public, `auth::required`.
fn public_routes(doc: &mut serde_json::Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, ops) in paths.iter_mut() {
        let Some(ops) = ops.as_object_mut() else {
            continue;
        };
        for (method, op) in ops.iter_mut() {
            let method = axum::http::Method::from_bytes(method.to_ascii_uppercase().as_bytes());
            if method.is_ok_and(|m| super::auth::required(&m, path).is_none()) {
                op["security"] = json!([]);
            }
        }
    }
}

/// `GET /summaries?level=`: `mission` or a loaded area level, in any case (as
/// `GroupBy::parse` reads it: ASCII letters fold), as a pattern.
fn summary_levels(doc: &mut serde_json::Value, levels: &[&str]) {
    let any_case = |name: &str| -> String {
        name.chars()
            .map(|c| {
                if c.is_ascii_alphabetic() {
                    format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
                } else if c.is_alphanumeric() {
                    c.to_string()
                } else {
                    format!("\\{c}")
                }
            })
            .collect()
    };
    let mut names = vec!["mission"];
    names.extend(
        levels
            .iter()
            .copied()
            .filter(|l| !l.eq_ignore_ascii_case("mission")),
    );
    let pattern = names
        .iter()
        .map(|n| any_case(n))
        .collect::<Vec<_>>()
        .join("|");
    let Some(params) = doc["paths"]["/summaries"]["get"]["parameters"].as_array_mut() else {
        return;
    };
    for p in params.iter_mut().filter(|p| p["name"] == "level") {
        p["schema"]["pattern"] = format!("^(?:{pattern})$").into();
        p["description"] = format!(
            "Group by the mission or a loaded area level (any case): {}.",
            names.join(", ")
        )
        .into();
    }
}

/// `GET /conformance`
pub async fn conformance() -> Response {
    Json(json!({ "conformsTo": CONFORMANCE })).into_response()
}

/// `GET /api`
pub async fn openapi(State(state): State<Arc<AppState>>) -> Response {
    let s = &state.config.server;
    let cur = state.current();
    let mut levels: Vec<&str> = cur.areas.iter().map(|a| a.level.as_str()).collect();
    levels.sort_unstable();
    levels.dedup();
    let mut r = openapi_text(s.default_limit, s.max_limit, &levels).into_response();
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
            serde_json::from_str(&openapi_text(100, 10_000, &["ADM1", "région-2"]))
                .unwrap_or_default();
        assert_eq!(v["openapi"], "3.0.3");
        // Feature properties are typed, with units.
        let risk = &v["components"]["schemas"]["risk-properties"]["properties"];
        assert_eq!(risk["nearest_base_km"]["type"], "number");
        assert_eq!(risk["nearest_base_km"]["x-ogc-unit"], "km");
        assert_eq!(risk["gap"]["type"], "boolean");
        let ok = &v["paths"]["/collections/events/items"]["get"]["responses"]["200"]["content"];
        assert!(ok["text/csv; charset=utf-8"].is_object());
        assert!(v["paths"]["/collections/events/queryables"].is_object());
        let limit = &v["components"]["parameters"]["limit"]["schema"];
        assert_eq!(
            (limit["default"].as_u64(), limit["maximum"].as_u64()),
            (Some(100), Some(10_000))
        );
        // The public routes say so; the others need a token (the document's default).
        for path in ["/", "/conformance", "/api", "/healthz", "/map"] {
            assert_eq!(v["paths"][path]["get"]["security"], json!([]), "{path}");
        }
        for path in [
            "/collections",
            "/metrics",
            "/collections/risk/items",
            "/snapshots",
        ] {
            assert!(v["paths"][path]["get"]["security"].is_null(), "{path}");
        }
        // Summary levels: mission and the loaded ones, in any case, nothing else.
        let level = &v["paths"]["/summaries"]["get"]["parameters"][0]["schema"]["pattern"];
        let re =
            regex::Regex::new(level.as_str().unwrap_or("^$")).unwrap_or_else(|e| panic!("{e}"));
        for ok in ["mission", "MISSION", "ADM1", "adm1", "région-2", "RéGION-2"] {
            assert!(re.is_match(ok), "{ok} vs {level}");
        }
        for no in ["", "adm2", "ADM1 ", "region-2", "RÉGION-2", "mission|ADM1"] {
            assert!(!re.is_match(no), "{no} vs {level}");
        }
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
