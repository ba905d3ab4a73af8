//! Daily grid downloads: `/grids/latest.{csv,parquet,geojson}` and `/grids/{date}.{…}` for
//! the snapshot being served.

use super::auth::Access;
use super::problem::ApiError;
use super::{AppState, Loaded};
use crate::output::export::{grid_bytes, Format};
use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use std::sync::Arc;

fn split(file: &str) -> Option<(&str, Format, &'static str)> {
    // `/grids/latest` and `/grids/2024-12-31` without a suffix are the CSV.
    let (stem, ext) = file.rsplit_once('.').unwrap_or((file, "csv"));
    let (format, mime) = match ext {
        "csv" => (Format::Csv, "text/csv; charset=utf-8"),
        "parquet" => (Format::Parquet, "application/vnd.apache.parquet"),
        "geojson" => (Format::Geojson, "application/geo+json"),
        _ => return None,
    };
    Some((stem, format, mime))
}

/// `GET /grids/{file}`: the served snapshot, or another stored one by date. The deployment
/// columns are left out for callers without `deployments:read`.
pub async fn grid(
    State(state): State<Arc<AppState>>,
    Extension(access): Extension<Access>,
    Path(file): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let audience = access.audience();
    let (stem, format, mime) = split(&file).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no grid `{file}`; use latest.csv, latest.parquet, latest.geojson or YYYY-MM-DD.csv…"
        ))
    })?;
    // A whole grid is rendered and sent a few at a time (server.max_heavy_requests).
    let permit = state.heavy_permit().await?;
    let served = state.current();
    let cur = if stem == "latest" || stem == served.snapshot.date {
        served
    } else {
        stored(&state, stem).await?
    };
    let snap = &cur.snapshot;
    let gzip = format != Format::Parquet && super::encoding::accepts_gzip(&headers);
    let bytes = match (gzip, format) {
        (true, _) => cur
            .gzipped_grid(format, audience)
            .map_err(ApiError::Internal)?,
        (false, Format::Csv) => cur.csv(audience).map_err(ApiError::Internal)?,
        (false, _) => grid_bytes(snap, format, audience)?,
    };
    let name = format!("vigil-grid-{}.{}", snap.date, format.extension());
    let mut res = attachment(bytes, mime, &name);
    if gzip {
        let h = res.headers_mut();
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(super::hold(res, Some(permit)))
}

/// The stored snapshot of `stem`, a `YYYY-MM-DD` date: only a real calendar date reaches the
/// store, so that no path can be smuggled in.
async fn stored(state: &Arc<AppState>, stem: &str) -> Result<Arc<Loaded>, ApiError> {
    if crate::model::day::parse_iso_date(stem).is_none() || stem.len() != 10 {
        return Err(ApiError::NotFound(format!(
            "`{stem}` is neither `latest` nor a YYYY-MM-DD date"
        )));
    }
    let st = state.clone();
    let date = stem.to_owned();
    tokio::task::spawn_blocking(move || {
        st.read_store(|store| {
            if !store.manifest().snapshots.contains_key(&date) {
                return Err(ApiError::NotFound(format!(
                    "no snapshot is stored for {date}"
                )));
            }
            Ok(Arc::new(Loaded::from_store(store, Some(&date))?))
        })
    })
    .await?
}

/// A download: the bytes with their type and an attachment file name.
fn attachment(bytes: Vec<u8>, mime: &'static str, name: &str) -> Response {
    let mut r = Response::new(Body::from(bytes));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}
