//! The OGC API – Features collection registry (`risk`, `coverage-gaps`, `bases`, `events`,
//! `areas`), content negotiation, and the `/collections` and `/collections/{id}` handlers.

use super::auth::Access;
use super::origin::Origin;
use super::problem::ApiError;
use super::{AppState, Loaded};
use crate::model::layer::Layer;
use crate::output::render::round6;
use axum::extract::{Extension, Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

/// A collection.
#[derive(Debug)]
pub struct CollectionDef {
    /// The layer it publishes (its identifier, its sensitivity).
    pub layer: Layer,
    /// Title.
    pub title: &'static str,
    /// Description.
    pub description: &'static str,
    /// Property filters it accepts.
    pub filters: &'static [&'static str],
}

/// The collections.
pub const COLLECTIONS: [CollectionDef; 6] = [
    CollectionDef {
        layer: Layer::Risk,
        title: "Civilian-risk grid",
        description: "Every H3 cell of the mission area with its civilian-risk index, tier, calibrated probability of civilian harm within the calibration's horizon, and decomposition (and its coverage with deployments:read)",
        filters: &["tier", "gap", "area"],
    },
    CollectionDef {
        layer: Layer::CoverageGaps,
        title: "Coverage gaps",
        description: "Cells whose risk tier is high or critical and that no peacekeeping base with protection capacity reaches",
        filters: &["tier", "area"],
    },
    CollectionDef {
        layer: Layer::Bases,
        title: "Peacekeeping bases",
        description: "Bases active on the snapshot date (Geo-PKO map dates carried forward), with their reach",
        filters: &["mission"],
    },
    CollectionDef {
        layer: Layer::Events,
        title: "Recent events",
        description: "Conflict events of the snapshot's scoring window, known by its date (`days=N`: those whose last day is among the N days up to it)",
        filters: &["category", "days"],
    },
    CollectionDef {
        layer: Layer::Areas,
        title: "Areas",
        description: "Loaded areas (admin levels, sectors) with the snapshot's coverage summary",
        filters: &["level"],
    },
    CollectionDef {
        layer: Layer::IdpSites,
        title: "Sites of displaced people",
        description: "IDP sites known on the snapshot date (each site's latest assessment dated on or before it; lists without dates always count), with their residents",
        filters: &[],
    },
];

pub(crate) fn find(id: &str, access: &Access) -> Result<&'static CollectionDef, ApiError> {
    COLLECTIONS
        .iter()
        .find(|c| c.layer.id() == id)
        .filter(|c| visible(c, access))
        .ok_or_else(|| ApiError::NotFound(format!("no collection `{id}`; see /collections")))
}

pub(crate) fn visible(c: &CollectionDef, access: &Access) -> bool {
    access.audience().may_read_layer(c.layer)
}

/// Refuses requests that accept neither JSON nor GeoJSON (406).
pub fn negotiate(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let ok = accept.split(',').any(|m| {
        let m = m.split(';').next().unwrap_or("").trim();
        matches!(
            m,
            "*/*"
                | "application/*"
                | "application/json"
                | "application/geo+json"
                | "application/geo+json-seq"
                | "text/csv"
                | "text/*"
                | ""
        )
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::NotAcceptable(format!(
            "`{accept}`: this resource is application/geo+json or application/json (items also application/geo+json-seq and text/csv)"
        )))
    }
}

/// `[west, south, east, north]` of the snapshot's cell centres (the world when empty).
pub fn snapshot_bbox(s: &crate::store::snapshot::Snapshot) -> [f64; 4] {
    if s.cells.is_empty() {
        return [-180.0, -90.0, 180.0, 90.0];
    }
    s.cells
        .iter()
        .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, c| {
            [
                b[0].min(c.lon),
                b[1].min(c.lat),
                b[2].max(c.lon),
                b[3].max(c.lat),
            ]
        })
}

pub(crate) fn extent(s: &crate::store::snapshot::Snapshot) -> Value {
    let b = snapshot_bbox(s);
    json!({
        "spatial": {"bbox": [[round6(b[0]), round6(b[1]), round6(b[2]), round6(b[3])]], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
        "temporal": {"interval": [[format!("{}T00:00:00Z", s.date), format!("{}T23:59:59Z", s.date)]], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    })
}

pub(crate) fn describe(c: &CollectionDef, cur: &Loaded, base: &str) -> Value {
    let s = &cur.snapshot;
    json!({
        "id": c.layer.id(),
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "extent": extent(s),
        "queryables": c.filters,
        "snapshot": {"date": s.date, "version": s.info.sha256, "exposure_neutral": s.info.exposure_neutral},
        // The model behind the cells' `probability` (null: none stored when scored).
        "calibration": matches!(c.layer, Layer::Risk | Layer::CoverageGaps).then_some(&s.info.calibration),
        "attribution": s.attribution,
        "links": [
            {"href": format!("{base}/collections/{}", c.layer.id()), "rel": "self", "type": "application/json"},
            {"href": format!("{base}/collections/{}/items", c.layer.id()), "rel": "items", "type": "application/geo+json"},
            {"href": format!("{base}/collections/{}/items?f=csv", c.layer.id()), "rel": "items", "type": "text/csv"},
            {"href": format!("{base}/collections/{}/queryables", c.layer.id()), "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "type": "application/schema+json", "title": "Queryables"}
        ]
    })
}

/// `GET /collections`: the collections the caller may read.
pub async fn collections(
    State(state): State<Arc<AppState>>,
    Extension(access): Extension<Access>,
    headers: HeaderMap,
    Origin(base): Origin,
) -> Result<Response, ApiError> {
    negotiate(&headers)?;
    let cur = state.current();
    let list: Vec<Value> = COLLECTIONS
        .iter()
        .filter(|c| visible(c, &access))
        .map(|c| describe(c, &cur, &base))
        .collect();
    Ok(Json(json!({
        "collections": list,
        "links": [{"href": format!("{base}/collections"), "rel": "self", "type": "application/json"}]
    }))
    .into_response())
}

/// `GET /collections/{id}`
pub async fn collection(
    State(state): State<Arc<AppState>>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Origin(base): Origin,
) -> Result<Response, ApiError> {
    negotiate(&headers)?;
    let c = find(&id, &access)?;
    Ok(Json(describe(c, &state.current(), &base)).into_response())
}

/// `GET /collections/{id}/queryables` (OGC API – Features Part 3): the properties the
/// collection's items can be selected by, as JSON Schema.
pub async fn queryables(
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
    Origin(base): Origin,
) -> Result<Response, ApiError> {
    let c = find(&id, &access)?;
    let url = format!("{base}/collections/{id}/queryables");
    let body = crate::output::schema::queryables(c.layer, c.filters, &url, c.title);
    let mut r = Json(body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/schema+json"),
    );
    Ok(r)
}

/// `GET /snapshots`: the stored snapshots, oldest first — date, version, cells per tier
/// (and gap cells for callers who may see deployments) — and which one is served, with its
/// extent (cell centres) and source attribution. The map's time control steps through
/// them; `?date=` on tiles and `datetime` on items read any of them.
pub async fn snapshots(
    State(state): State<Arc<AppState>>,
    Extension(access): Extension<Access>,
) -> Result<Response, ApiError> {
    let st = state.clone();
    let stored = tokio::task::spawn_blocking(move || {
        st.read_store(|store| Ok(store.manifest().snapshots.clone()))
    })
    .await??;
    let body = snapshot_list(&stored, &state.current().snapshot, access.audience());
    let mut r = Json(body).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-cache"),
    );
    Ok(r)
}

/// The body of `GET /snapshots`.
fn snapshot_list(
    stored: &std::collections::BTreeMap<String, crate::store::SnapshotInfo>,
    served: &crate::store::snapshot::Snapshot,
    audience: crate::model::visibility::Audience,
) -> Value {
    let rows: Vec<Value> = stored
        .iter()
        .map(|(date, info)| {
            let mut m = serde_json::Map::new();
            m.insert("date".into(), json!(date));
            m.insert("version".into(), json!(info.sha256));
            m.insert("cells".into(), json!(info.cells));
            m.insert(
                "tiers".into(),
                json!(crate::model::cell::Tier::ALL
                    .iter()
                    .map(|t| (t.as_str().to_owned(), json!(info.tiers[*t as usize])))
                    .collect::<serde_json::Map<_, _>>()),
            );
            m.insert("gap_cells".into(), json!(info.gaps));
            m.insert("calibrated".into(), json!(info.calibration.is_some()));
            audience.redact(&mut m);
            Value::Object(m)
        })
        .collect();
    let b = snapshot_bbox(served);
    json!({
        "served": served.date,
        "latest": stored.keys().next_back(),
        "bbox": [round6(b[0]), round6(b[1]), round6(b[2]), round6(b[3])],
        "attribution": served.attribution,
        "snapshots": rows,
    })
}
