//! OGC API – Features style collections and items over the current snapshot.

use super::problem::ApiError;
use super::AppState;
use crate::grid::{cell_bbox, cell_from_u64, parse_cell};
use crate::render::{cell_geometry, cell_properties, push_feature, round6};
use crate::snapshot::{CellRecord, Snapshot};
use crate::util::rfc3339_now;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

/// A feature collection served from the snapshot.
pub struct CollectionDef {
    /// Identifier in URLs.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// Description.
    pub description: &'static str,
    /// Which cells belong to it.
    pub keep: fn(&CellRecord) -> bool,
}

/// The collections.
pub const COLLECTIONS: [CollectionDef; 2] = [
    CollectionDef {
        id: "risk",
        title: "Civilian-risk grid",
        description: "Every H3 cell of the mission area with its civilian-risk index, tier, decomposition and coverage",
        keep: |_| true,
    },
    CollectionDef {
        id: "coverage-gaps",
        title: "Coverage gaps",
        description: "Cells whose risk tier is high or critical and that no peacekeeping base with protection capacity reaches",
        keep: |c| c.gap,
    },
];

fn find(id: &str) -> Result<&'static CollectionDef, ApiError> {
    COLLECTIONS
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("no collection `{id}`; see /collections")))
}

fn base_url(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .map(|h| format!("http://{h}"))
        .unwrap_or_default()
}

fn extent(s: &Snapshot) -> Value {
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for c in &s.cells {
        b = [
            b[0].min(c.lon),
            b[1].min(c.lat),
            b[2].max(c.lon),
            b[3].max(c.lat),
        ];
    }
    if s.cells.is_empty() {
        b = [-180.0, -90.0, 180.0, 90.0];
    }
    json!({
        "spatial": {"bbox": [[round6(b[0]), round6(b[1]), round6(b[2]), round6(b[3])]], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
        "temporal": {"interval": [[format!("{}T00:00:00Z", s.date), format!("{}T23:59:59Z", s.date)]]}
    })
}

fn describe(c: &CollectionDef, s: &Snapshot, base: &str) -> Value {
    json!({
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "extent": extent(s),
        "snapshot": {"date": s.date, "version": s.info.sha256, "exposure_neutral": s.info.exposure_neutral},
        "attribution": s.attribution,
        "links": [
            {"href": format!("{base}/collections/{}", c.id), "rel": "self", "type": "application/json"},
            {"href": format!("{base}/collections/{}/items", c.id), "rel": "items", "type": "application/geo+json"}
        ]
    })
}

/// `GET /collections`
pub async fn collections(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let cur = state.current();
    let base = base_url(&headers);
    let list: Vec<Value> = COLLECTIONS
        .iter()
        .map(|c| describe(c, &cur.snapshot, &base))
        .collect();
    Json(json!({
        "collections": list,
        "links": [{"href": format!("{base}/collections"), "rel": "self", "type": "application/json"}]
    }))
    .into_response()
}

/// `GET /collections/{id}`
pub async fn collection(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = find(&id)?;
    Ok(Json(describe(c, &state.current().snapshot, &base_url(&headers))).into_response())
}

/// Parsed items query.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemsQuery {
    /// Page size (clamped to the maximum).
    pub limit: usize,
    /// Rows to skip.
    pub offset: usize,
    /// `[min_lon, min_lat, max_lon, max_lat]`; `min_lon > max_lon` crosses the antimeridian.
    pub bbox: Option<[f64; 4]>,
}

/// Parses and validates the items query parameters.
pub fn parse_items_query(
    params: &[(String, String)],
    default_limit: usize,
    max_limit: usize,
) -> Result<ItemsQuery, ApiError> {
    let mut q = ItemsQuery {
        limit: default_limit,
        offset: 0,
        bbox: None,
    };
    let mut seen = std::collections::HashSet::new();
    for (k, v) in params {
        if !seen.insert(k.as_str()) {
            return Err(ApiError::bad(k, "given more than once"));
        }
        match k.as_str() {
            "limit" => {
                let n: usize = v.parse().map_err(|_| {
                    ApiError::bad("limit", format!("`{v}` is not a positive integer"))
                })?;
                if n == 0 {
                    return Err(ApiError::bad("limit", "must be at least 1"));
                }
                q.limit = n.min(max_limit);
            }
            "offset" => {
                q.offset = v.parse().map_err(|_| {
                    ApiError::bad("offset", format!("`{v}` is not a non-negative integer"))
                })?;
            }
            "bbox" => q.bbox = Some(parse_bbox(v)?),
            "f" if v == "json" || v == "geojson" => {}
            other => {
                return Err(ApiError::bad(
                    other,
                    "unknown parameter; allowed: limit, offset, bbox, f",
                ))
            }
        }
    }
    Ok(q)
}

fn parse_bbox(v: &str) -> Result<[f64; 4], ApiError> {
    let parts: Vec<f64> = v
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::bad("bbox", format!("`{v}` is not four comma-separated numbers")))?;
    let [x1, y1, x2, y2] = parts[..] else {
        return Err(ApiError::bad(
            "bbox",
            "expected minLon,minLat,maxLon,maxLat",
        ));
    };
    if !parts.iter().all(|p| p.is_finite())
        || !(-180.0..=180.0).contains(&x1)
        || !(-180.0..=180.0).contains(&x2)
        || !(-90.0..=90.0).contains(&y1)
        || !(-90.0..=90.0).contains(&y2)
        || y1 > y2
    {
        return Err(ApiError::bad(
            "bbox",
            format!("`{v}` is outside WGS84 bounds or inverted"),
        ));
    }
    Ok([x1, y1, x2, y2])
}

fn intersects(cell: [f64; 4], q: [f64; 4]) -> bool {
    let lat_ok = cell[1] <= q[3] && cell[3] >= q[1];
    let lon_ok = if q[0] <= q[2] {
        cell[0] <= q[2] && cell[2] >= q[0]
    } else {
        cell[0] <= q[2] || cell[2] >= q[0]
    };
    lat_ok && lon_ok
}

/// `GET /collections/{id}/items`
pub async fn items(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    params: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = find(&id)?;
    let Query(params) = params.map_err(|e| ApiError::bad("query", e.body_text()))?;
    let cfg = &state.config.server;
    let q = parse_items_query(&params, cfg.default_limit, cfg.max_limit)?;
    let cur = state.current();
    let snap = &cur.snapshot;
    let matched: Vec<&CellRecord> = snap
        .cells
        .iter()
        .filter(|r| (c.keep)(r))
        .filter(|r| match q.bbox {
            None => true,
            Some(b) => cell_from_u64(r.cell).is_ok_and(|cell| intersects(cell_bbox(cell), b)),
        })
        .collect();
    let page: Vec<&CellRecord> = matched
        .iter()
        .skip(q.offset)
        .take(q.limit)
        .copied()
        .collect();
    let base = base_url(&headers);
    let mut out = String::with_capacity(page.len() * 900 + 512);
    out.push_str("{\"type\":\"FeatureCollection\",\"features\":[");
    for (i, r) in page.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_cell(&mut out, r, &snap.date);
    }
    out.push_str("],");
    let query_of = |offset: usize| {
        let mut s = format!("limit={}&offset={offset}", q.limit);
        if let Some(b) = q.bbox {
            s.push_str(&format!("&bbox={},{},{},{}", b[0], b[1], b[2], b[3]));
        }
        s
    };
    let mut links = vec![
        json!({"href": format!("{base}/collections/{id}/items?{}", query_of(q.offset)), "rel": "self", "type": "application/geo+json"}),
        json!({"href": format!("{base}/collections/{id}"), "rel": "collection", "type": "application/json"}),
    ];
    if q.offset + page.len() < matched.len() {
        links.push(json!({"href": format!("{base}/collections/{id}/items?{}", query_of(q.offset + page.len())), "rel": "next", "type": "application/geo+json"}));
    }
    let tail = json!({
        "numberMatched": matched.len(),
        "numberReturned": page.len(),
        "timeStamp": rfc3339_now(),
        "snapshot": {"date": snap.date, "version": snap.info.sha256, "exposure_neutral": snap.info.exposure_neutral},
        "attribution": snap.attribution,
        "links": links,
    });
    let tail = tail.to_string();
    out.push_str(&tail[1..]);
    Ok(geojson_response(out))
}

fn push_cell(out: &mut String, r: &CellRecord, date: &str) {
    let props = cell_properties(r, date);
    let id = props
        .get("h3")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let geometry = cell_from_u64(r.cell)
        .map(cell_geometry)
        .unwrap_or_else(|_| "null".into());
    push_feature(out, Some(&id), &geometry, &props);
}

fn geojson_response(body: String) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/geo+json"),
    );
    r
}

/// `GET /collections/{id}/items/{h3}`
pub async fn item(
    State(state): State<Arc<AppState>>,
    Path((id, feature)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let c = find(&id)?;
    let cell = parse_cell(&feature).map_err(|_| {
        ApiError::NotFound(format!("`{feature}` is not an H3 cell of this collection"))
    })?;
    let cur = state.current();
    let snap = &cur.snapshot;
    let r = snap
        .index
        .get(&u64::from(cell))
        .map(|i| &snap.cells[*i])
        .filter(|r| (c.keep)(r))
        .ok_or_else(|| ApiError::NotFound(format!("cell {feature} is not in collection `{id}`")))?;
    let mut out = String::new();
    push_cell(&mut out, r, &snap.date);
    Ok(geojson_response(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<ItemsQuery, ApiError> {
        let v: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| ((*a).into(), (*b).into()))
            .collect();
        parse_items_query(&v, 100, 1000)
    }

    #[test]
    fn limits_are_clamped_and_validated() {
        assert_eq!(q(&[]).map(|x| x.limit).ok(), Some(100));
        assert_eq!(q(&[("limit", "999999")]).map(|x| x.limit).ok(), Some(1000));
        assert!(q(&[("limit", "0")]).is_err());
        assert!(q(&[("limit", "-1")]).is_err());
        assert!(q(&[("colour", "red")]).is_err());
        assert!(q(&[("limit", "1"), ("limit", "2")]).is_err());
    }

    #[test]
    fn bbox_is_validated_and_may_cross_the_antimeridian() {
        assert!(q(&[("bbox", "1,2,3")]).is_err());
        assert!(q(&[("bbox", "a,b,c,d")]).is_err());
        assert!(q(&[("bbox", "0,10,1,5")]).is_err());
        assert!(q(&[("bbox", "0,0,200,1")]).is_err());
        let b = q(&[("bbox", "170,-10,-170,10")]).ok().and_then(|x| x.bbox);
        assert_eq!(b, Some([170.0, -10.0, -170.0, 10.0]));
        assert!(intersects(
            [179.0, 0.0, 179.5, 1.0],
            [170.0, -10.0, -170.0, 10.0]
        ));
        assert!(!intersects(
            [0.0, 0.0, 1.0, 1.0],
            [170.0, -10.0, -170.0, 10.0]
        ));
    }
}
