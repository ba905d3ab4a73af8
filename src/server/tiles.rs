//! Vector tiles: `/tiles/{layer}/{z}/{x}/{y}.mvt` and `/tiles/{layer}/tilejson.json`
//! (TileJSON 3.0). The H3 resolution follows the zoom; coarser resolutions are exact
//! roll-ups of the snapshot (cached per snapshot and resolution); cells are selected on the
//! tile's envelope plus a buffer, so neighbouring tiles share their edge cells (no seams).

use super::auth::Access;
use super::problem::ApiError;
use super::{AppState, Loaded};
use crate::model::layer::Layer;
use crate::output::mvt::{encode_tile, Feature, TileId};
use crate::output::tiles::{
    base_features, build_units, cell_features, data_max_zoom, resolution_for_zoom, TileUnit,
    MAX_ZOOM,
};
use axum::body::Body;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::io::Write;
use std::sync::Arc;

/// The units of `loaded` at resolution `res` (computed once per snapshot).
pub fn units(loaded: &Loaded, res: u8, base: u8) -> Result<&[TileUnit], ApiError> {
    let slot = loaded
        .tile_units
        .get(usize::from(res))
        .ok_or_else(|| ApiError::Internal(format!("resolution {res}")))?;
    if let Some(u) = slot.get() {
        return Ok(u);
    }
    let built = build_units(&loaded.snapshot.cells, res, base)?;
    Ok(slot.get_or_init(|| built))
}

/// The features of `layer` in `tile`, as `access` may see them.
fn features_in(
    state: &AppState,
    loaded: &Loaded,
    layer: Layer,
    tile: TileId,
    access: &Access,
) -> Result<Vec<Feature>, ApiError> {
    let base = state.config.grid.resolution;
    let audience = access.audience();
    if layer == Layer::Bases {
        let active = crate::coverage::snapshot_bases(
            &loaded.bases,
            &loaded.snapshot,
            &state.config.coverage,
        );
        return Ok(base_features(&active, tile));
    }
    let res = resolution_for_zoom(tile.z, base);
    Ok(cell_features(
        units(loaded, res, base)?,
        res,
        layer,
        tile,
        audience,
    ))
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
    let features = features_in(&state, &loaded, layer, id, &access)?;
    let mut res = match encode_tile(layer.id(), &features) {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(bytes) => mvt_response(bytes, super::encoding::accepts_gzip(&headers))?,
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
    super::origin::Origin(base): super::origin::Origin,
) -> Result<Response, ApiError> {
    let layer = layer_of(&layer, &access)?;
    let q = tile_query(params)?;
    let loaded = state.snapshot_on(q.date.as_deref()).await?;
    let res = state.config.grid.resolution;
    Ok(Json(tilejson_body(
        &loaded,
        (layer, res),
        q.date.as_deref(),
        &base,
        &access,
    ))
    .into_response())
}

/// TileJSON 3.0.0 of `layer` over `loaded` (a grid of resolution `res`), its tile URLs on
/// `base` (dated when `date`). `maxzoom` is the zoom of the grid's own cells: clients
/// overzoom beyond it instead of asking for tiles with no more detail.
fn tilejson_body(
    loaded: &Loaded,
    (layer, res): (Layer, u8),
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
        "maxzoom": data_max_zoom(res),
        "bounds": [b[0], b[1], b[2], b[3]],
        "center": [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0, 7],
        "vector_layers": [{"id": layer.id(), "fields": fields, "minzoom": 0, "maxzoom": data_max_zoom(res)}],
    })
}
