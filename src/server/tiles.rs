//! Vector tiles: `/tiles/{layer}/{z}/{x}/{y}.mvt` and `/tiles/{layer}/tilejson.json`
//! (TileJSON 3.0). The H3 resolution follows the zoom; coarser resolutions are exact
//! roll-ups of the snapshot (cached per snapshot and resolution); cells are selected on the
//! tile's envelope plus a buffer, so neighbouring tiles share their edge cells (no seams).

use super::auth::Access;
use super::problem::ApiError;
use super::{AppState, Loaded};
use crate::analysis::rollup::by_resolution;
use crate::grid::{cell_bbox, cell_from_u64};
use crate::model::cell::Tier;
use crate::model::layer::Layer;
use crate::output::mvt::{encode_tile, Feature, Geometry, TileId, Value, BUFFER};
use axum::body::Body;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::io::Write;
use std::sync::Arc;

/// Highest zoom served.
pub const MAX_ZOOM: u8 = 16;

/// The H3 resolution drawn at zoom `z` (a cell a few pixels wide or more), at most `base`.
pub fn resolution_for_zoom(z: u8, base: u8) -> u8 {
    let r = match z {
        0..=1 => 1,
        2 => 2,
        3..=4 => 3,
        5 => 4,
        6..=7 => 5,
        8 => 6,
        9..=10 => 7,
        11 => 8,
        _ => 9,
    };
    r.min(base)
}

/// One drawable unit of a resolution: a cell of the snapshot or a parent cell with the
/// roll-up of its children.
#[derive(Debug, Clone)]
pub struct TileUnit {
    /// H3 cell.
    pub cell: u64,
    /// `[west, south, east, north]`.
    pub bbox: [f64; 4],
    /// Boundary, (lon, lat), longitudes unwrapped around the first vertex.
    pub boundary: Vec<(f64, f64)>,
    /// Worst cell risk.
    pub risk: f64,
    /// Population-weighted mean risk.
    pub risk_mean: f64,
    /// Worst tier.
    pub tier: Tier,
    /// Base cells.
    pub cells: i64,
    /// High or critical base cells.
    pub high_cells: i64,
    /// Gap base cells.
    pub gap_cells: i64,
    /// Residents and displaced.
    pub population: f64,
}

/// A cell's boundary as (lon, lat) and its bounding box.
type Outline = (Vec<(f64, f64)>, [f64; 4]);

fn boundary(cell: u64) -> Option<Outline> {
    let c = cell_from_u64(cell).ok()?;
    let mut pts: Vec<(f64, f64)> = c.boundary().iter().map(|ll| (ll.lng(), ll.lat())).collect();
    let first = pts.first()?.0;
    for p in &mut pts {
        if p.0 - first > 180.0 {
            p.0 -= 360.0;
        } else if first - p.0 > 180.0 {
            p.0 += 360.0;
        }
    }
    Some((pts, cell_bbox(c)))
}

/// The units of `loaded` at resolution `res` (computed once per snapshot).
pub fn units(loaded: &Loaded, res: u8, base: u8) -> Result<&[TileUnit], ApiError> {
    let slot = loaded
        .tile_units
        .get(usize::from(res))
        .ok_or_else(|| ApiError::Internal(format!("resolution {res}")))?;
    if let Some(u) = slot.get() {
        return Ok(u);
    }
    let cells = &loaded.snapshot.cells;
    let built: Vec<TileUnit> = if res >= base {
        cells
            .iter()
            .filter_map(|r| {
                let (boundary, bbox) = boundary(r.cell)?;
                Some(TileUnit {
                    cell: r.cell,
                    bbox,
                    boundary,
                    risk: r.risk,
                    risk_mean: r.risk,
                    tier: r.tier,
                    cells: 1,
                    high_cells: i64::from(r.tier.is_high()),
                    gap_cells: i64::from(r.flags.gap),
                    population: r.population.unwrap_or(0.0) + r.displaced,
                })
            })
            .collect()
    } else {
        let h3res = crate::grid::resolution(res)?;
        by_resolution(cells, h3res)?
            .into_iter()
            .filter_map(|u| {
                let cell = u.cell?;
                let (boundary, bbox) = boundary(cell)?;
                let t = u.totals;
                Some(TileUnit {
                    cell,
                    bbox,
                    boundary,
                    risk: t.risk_max,
                    risk_mean: t.risk_mean(),
                    tier: Tier::ALL
                        .iter()
                        .rev()
                        .find(|x| t.tiers[**x as usize] > 0)
                        .copied()
                        .unwrap_or(Tier::Low),
                    cells: t.cells,
                    high_cells: t.high_cells(),
                    gap_cells: t.gap_cells,
                    population: t.population + t.displaced,
                })
            })
            .collect()
    };
    Ok(slot.get_or_init(|| built))
}

fn h3(cell: u64) -> String {
    cell_from_u64(cell)
        .map(|c| c.to_string())
        .unwrap_or_default()
}

fn round(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// The features of `layer` in `tile`.
pub fn tile_features(
    state: &AppState,
    loaded: &Loaded,
    layer: Layer,
    tile: TileId,
    access: &Access,
) -> Result<Vec<Feature>, ApiError> {
    let env = tile.bounds(BUFFER);
    let inside =
        |b: &[f64; 4]| b[0] <= env[2] && b[2] >= env[0] && b[1] <= env[3] && b[3] >= env[1];
    let audience = access.audience();
    let base = state.config.grid.resolution;
    if layer == Layer::Bases {
        let active = crate::coverage::snapshot_bases(
            &loaded.bases,
            &loaded.snapshot,
            &state.config.coverage,
        );
        return Ok(active
            .iter()
            .filter(|a| inside(&[a.base.lon, a.base.lat, a.base.lon, a.base.lat]))
            .map(|a| {
                let (b, reach_km, protects) = (a.base, a.radius_km, a.protects);
                let (x, y) = tile.project(b.lon, b.lat);
                Feature {
                    id: None,
                    geometry: Geometry::Point((x.round() as i32, y.round() as i32)),
                    properties: vec![
                        ("id".into(), Value::String(b.id())),
                        ("mission".into(), Value::String(b.mission.clone())),
                        ("location".into(), Value::String(b.location.clone())),
                        ("troops".into(), Value::Int(b.troops.unwrap_or(0))),
                        ("reach_km".into(), Value::Double(reach_km)),
                        ("protects".into(), Value::Bool(protects)),
                    ],
                }
            })
            .collect());
    }
    let res = resolution_for_zoom(tile.z, base);
    let gaps_only = layer == Layer::CoverageGaps;
    Ok(units(loaded, res, base)?
        .iter()
        .filter(|u| !gaps_only || u.gap_cells > 0)
        .filter(|u| inside(&u.bbox))
        .map(|u| {
            let ring: Vec<(i32, i32)> = u
                .boundary
                .iter()
                .map(|(lon, lat)| {
                    let (x, y) = tile.project(*lon, *lat);
                    (x.round() as i32, y.round() as i32)
                })
                .collect();
            let mut properties = vec![
                ("h3".into(), Value::String(h3(u.cell))),
                ("resolution".into(), Value::Int(i64::from(res))),
                ("risk".into(), Value::Double(round(u.risk))),
                ("risk_mean".into(), Value::Double(round(u.risk_mean))),
                ("tier".into(), Value::String(u.tier.as_str().into())),
                ("cells".into(), Value::Int(u.cells)),
                ("high_cells".into(), Value::Int(u.high_cells)),
                ("population".into(), Value::Double(u.population.round())),
            ];
            if audience.may_see("gap_cells") {
                properties.push(("gap_cells".into(), Value::Int(u.gap_cells)));
            }
            Feature {
                id: Some(u.cell),
                geometry: Geometry::Polygons(vec![vec![ring]]),
                properties,
            }
        })
        .collect())
}

/// The tiled layer, if it exists and the caller may read it.
fn layer_of(layer: &str, access: &Access) -> Result<Layer, ApiError> {
    let l = Layer::from_id(layer).filter(|l| l.tiled()).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no tile layer `{layer}`; layers: {}",
            Layer::tiled_ids().join(", ")
        ))
    })?;
    if !access.audience().may_read_layer(l) {
        return Err(ApiError::Forbidden(format!(
            "the `{}` layer needs the `deployments:read` scope",
            l.id()
        )));
    }
    Ok(l)
}

type Params = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

/// The query of a tile or TileJSON request: `date` (a stored snapshot's date; the served
/// one without it) and `v` (the version the URL was made for: the answer is then
/// immutable while it is that version).
#[derive(Debug, Default)]
struct TileQuery {
    date: Option<String>,
    version: Option<String>,
}

fn tile_query(params: Params) -> Result<TileQuery, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad("query", e.body_text()))?;
    let mut q = TileQuery::default();
    for (k, v) in params {
        match k.as_str() {
            "date" => q.date = Some(super::query::snapshot_date(&v)?),
            "v" => q.version = Some(v),
            other => {
                return Err(ApiError::bad(other, "unknown parameter; allowed: date, v"));
            }
        }
    }
    Ok(q)
}

/// `GET /tiles/{layer}/{z}/{x}/{y}.mvt[?date=YYYY-MM-DD]`
pub async fn tile(
    State(state): State<Arc<AppState>>,
    Extension(access): Extension<Access>,
    Path((layer, z, x, file)): Path<(String, String, String, String)>,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let layer = layer_of(&layer, &access)?;
    let id = tile_id(&z, &x, &file)?;
    let q = tile_query(params)?;
    let loaded = state.snapshot_on(q.date.as_deref()).await?;
    let features = tile_features(&state, &loaded, layer, id, &access)?;
    let mut res = match encode_tile(layer.id(), &features) {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(bytes) => {
            let gzip = headers
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
            mvt_response(bytes, gzip)?
        }
    };
    if q.date.is_some() && q.version.as_deref() == Some(loaded.snapshot.info.sha256.as_str()) {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    }
    Ok(res)
}

/// The tile of the path's `z`, `x` and `{y}.mvt`, or 404 when out of range.
fn tile_id(z: &str, x: &str, file: &str) -> Result<TileId, ApiError> {
    let out_of_range = || {
        ApiError::NotFound(format!(
            "no tile {z}/{x}/{file} (zoom 0–{MAX_ZOOM}, x and y below 2^z, `.mvt`)"
        ))
    };
    let y = file.strip_suffix(".mvt").ok_or_else(out_of_range)?;
    let (z8, x32, y32) = (
        z.parse::<u8>().map_err(|_| out_of_range())?,
        x.parse::<u32>().map_err(|_| out_of_range())?,
        y.parse::<u32>().map_err(|_| out_of_range())?,
    );
    if z8 > MAX_ZOOM {
        return Err(out_of_range());
    }
    TileId::new(z8, x32, y32).ok_or_else(out_of_range)
}

/// An encoded tile as a response, gzipped when the client accepts it.
fn mvt_response(bytes: Vec<u8>, gzip: bool) -> Result<Response, ApiError> {
    let body = if gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&bytes).and_then(|_| enc.finish())?
    } else {
        bytes
    };
    let mut r = Response::new(Body::from(body));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.mapbox-vector-tile"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(r)
}

/// `GET /tiles/{layer}/tilejson.json[?date=YYYY-MM-DD]` (TileJSON 3.0.0): the tiles of the
/// served snapshot, or of the stored one of `date`.
pub async fn tilejson(
    State(state): State<Arc<AppState>>,
    Extension(access): Extension<Access>,
    Path(layer): Path<String>,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let layer = layer_of(&layer, &access)?;
    let q = tile_query(params)?;
    let loaded = state.snapshot_on(q.date.as_deref()).await?;
    let base = super::collections::base_url(&headers);
    Ok(Json(tilejson_body(
        &loaded,
        layer,
        q.date.as_deref(),
        &base,
        &access,
    ))
    .into_response())
}

/// TileJSON 3.0.0 of `layer` over `loaded`, its tile URLs on `base` (dated when `date`).
fn tilejson_body(
    loaded: &Loaded,
    layer: Layer,
    date: Option<&str>,
    base: &str,
    access: &Access,
) -> serde_json::Value {
    let snap = &loaded.snapshot;
    let dated = date.map_or_else(String::new, |d| format!("date={d}&"));
    let mut b = super::collections::snapshot_bbox(snap);
    b[1] = b[1].max(-85.0511);
    b[3] = b[3].min(85.0511);
    let fields = if layer == Layer::Bases {
        json!({"id": "String", "mission": "String", "location": "String", "troops": "Number", "reach_km": "Number", "protects": "Boolean"})
    } else {
        let mut f = json!({"h3": "String: H3 cell index", "resolution": "Number: H3 resolution", "risk": "Number: worst cell risk", "risk_mean": "Number: population-weighted mean risk", "tier": "String: worst tier", "cells": "Number", "high_cells": "Number", "population": "Number"});
        if access.audience().may_see("gap_cells") {
            f["gap_cells"] = json!("Number: coverage-gap cells");
        }
        f
    };
    json!({
        "tilejson": "3.0.0",
        "name": format!("vigil {layer}"),
        "description": format!("Vigil {layer} layer of the {} snapshot", snap.date),
        "version": "1.0.0",
        "attribution": snap.attribution.join("; "),
        "scheme": "xyz",
        "tiles": [format!("{base}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt?{dated}v={}", snap.info.sha256)],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": [b[0], b[1], b[2], b[3]],
        "center": [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0, 7],
        "vector_layers": [{"id": layer.id(), "fields": fields, "minzoom": 0, "maxzoom": MAX_ZOOM}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_to_resolution() {
        assert_eq!(resolution_for_zoom(0, 7), 1);
        assert_eq!(resolution_for_zoom(6, 7), 5);
        assert_eq!(resolution_for_zoom(9, 7), 7);
        assert_eq!(resolution_for_zoom(14, 7), 7, "never finer than the grid");
        let mut last = 0;
        for z in 0..=MAX_ZOOM {
            let r = resolution_for_zoom(z, 9);
            assert!(r >= last);
            last = r;
        }
    }
}
