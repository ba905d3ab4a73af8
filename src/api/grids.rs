//! Daily grid downloads: `/grids/latest.{csv,parquet,geojson}` and `/grids/{date}.{…}` for
//! the snapshot being served.

use super::problem::ApiError;
use super::AppState;
use crate::export::{grid_bytes, Format};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use std::sync::Arc;

fn split(file: &str) -> Option<(&str, Format, &'static str)> {
    let (stem, ext) = file.rsplit_once('.')?;
    let (format, mime) = match ext {
        "csv" => (Format::Csv, "text/csv; charset=utf-8"),
        "parquet" => (Format::Parquet, "application/vnd.apache.parquet"),
        "geojson" => (Format::Geojson, "application/geo+json"),
        _ => return None,
    };
    Some((stem, format, mime))
}

/// `GET /grids/{file}`
pub async fn grid(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let (stem, format, mime) = split(&file).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no grid `{file}`; use latest.csv, latest.parquet or latest.geojson"
        ))
    })?;
    let cur = state.current();
    let snap = &cur.snapshot;
    if stem != "latest" && stem != snap.date {
        let valid = crate::util::parse_iso_date(stem).is_some();
        return Err(if valid {
            ApiError::NotFound(format!(
                "no snapshot for {stem} is being served (current: {})",
                snap.date
            ))
        } else {
            ApiError::NotFound(format!(
                "`{stem}` is neither `latest` nor a YYYY-MM-DD date"
            ))
        });
    }
    let bytes = if format == Format::Csv {
        cur.csv
            .get_or_init(|| grid_bytes(snap, Format::Csv).map_err(|e| e.to_string()))
            .clone()
            .map_err(ApiError::Internal)?
    } else {
        grid_bytes(snap, format).map_err(|e| ApiError::Internal(e.to_string()))?
    };
    let disposition = format!(
        "attachment; filename=\"vigil-grid-{}.{}\"",
        snap.date,
        file.rsplit('.').next().unwrap_or("csv")
    );
    let mut r = Response::new(Body::from(bytes));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}
