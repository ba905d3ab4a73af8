//! `GET /cells/{h3}/explain`: a cell's score, decomposition, coverage and the events behind
//! it. The explanation is computed by `explain` (it re-reads the events with polars), on a
//! blocking thread.

use super::problem::ApiError;
use super::AppState;
use crate::output::render::explanation_json;
use axum::extract::{Extension, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

/// Largest `top` accepted.
const MAX_TOP: usize = 200;

/// The `top` parameter (default 10, at most [`MAX_TOP`]) and `date` (a stored snapshot's
/// date; the served one without it); no other parameter is allowed.
fn explain_params(
    params: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<(usize, Option<String>), ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad("query", e.body_text()))?;
    let mut top = 10usize;
    let mut date = None;
    for (k, v) in &params {
        match k.as_str() {
            "date" => date = Some(super::query::snapshot_date(v)?),
            "top" => {
                top = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n <= MAX_TOP)
                    .ok_or_else(|| {
                        ApiError::bad("top", format!("`{v}` is not an integer in 0..=200"))
                    })?;
            }
            other => {
                return Err(ApiError::bad(
                    other,
                    "unknown parameter; allowed: top, date",
                ))
            }
        }
    }
    Ok((top, date))
}

/// `GET /cells/{h3}/explain?top=N&date=YYYY-MM-DD`
pub async fn explain(
    State(state): State<Arc<AppState>>,
    Extension(access): Extension<super::auth::Access>,
    Path(h3): Path<String>,
    params: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let (top, date) = explain_params(params)?;
    let cell = crate::grid::parse_cell(&h3)
        .map_err(|_| ApiError::NotFound(format!("`{h3}` is not an H3 cell")))?;
    let cur = state.snapshot_on(date.as_deref()).await?;
    if !cur.snapshot.index.contains_key(&u64::from(cell)) {
        return Err(ApiError::NotFound(format!(
            "cell {h3} is not in the grid of the {} snapshot",
            cur.snapshot.date
        )));
    }
    let date = cur.snapshot.date.clone();
    let st = state.clone();
    let explanation = tokio::task::spawn_blocking(move || {
        st.read_store(|store| {
            crate::risk::explain::explain(store, &st.config, u64::from(cell), Some(&date))
                .map_err(ApiError::from)
        })
    })
    .await??;
    let body = explanation_json(
        &h3,
        &explanation,
        top,
        access.audience(),
        &cur.snapshot.attribution,
    );
    Ok(Json(body).into_response())
}
