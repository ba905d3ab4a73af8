//! Analysis over the served snapshot, built on the `coverage` module (no scoring here):
//! `/alerts?since=D`, `/summaries`, `POST /scenarios`, `POST /plan`.

use super::auth::Access;
use super::problem::ApiError;
use super::{AppState, Loaded};
use crate::analysis::alerts::{self, Earlier};
use crate::analysis::plan::{plan as place, PlanOptions};
use crate::analysis::recompute::SnapshotGrid;
use crate::analysis::scenario::{evaluate, Scenario};
use crate::analysis::summary::{self, GroupBy};
use crate::model::day::{format_date, parse_iso_date};
use crate::output::render::alerts_collection;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Extension, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

fn query(
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
    allowed: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad("query", e.body_text()))?;
    let mut out = HashMap::new();
    for (k, v) in params {
        if !allowed.contains(&k.as_str()) {
            return Err(ApiError::bad(
                &k,
                format!("unknown parameter; allowed: {}", allowed.join(", ")),
            ));
        }
        if out.insert(k.clone(), v).is_some() {
            return Err(ApiError::bad(&k, "given more than once"));
        }
    }
    Ok(out)
}

fn date_param(name: &str, v: &str) -> Result<i32, ApiError> {
    parse_iso_date(v).ok_or_else(|| ApiError::bad(name, format!("`{v}` is not a date YYYY-MM-DD")))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await?
}

/// `GET /alerts?since=D[&date=E]`: cells of the served snapshot (or the stored one of E)
/// that are high or critical and were not in the latest snapshot dated on or before D (they
/// entered since), and, for callers with `deployments:read`, cells that are gaps now and
/// were not then.
pub async fn alerts(
    State(state): State<Arc<AppState>>,
    Extension(access): Extension<Access>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(params, &["since", "date"])?;
    let since_raw = q
        .get("since")
        .ok_or_else(|| ApiError::bad("since", "required: a date YYYY-MM-DD"))?
        .clone();
    let since = date_param("since", &since_raw)?;
    let date = q
        .get("date")
        .map(|d| super::query::snapshot_date(d))
        .transpose()?;
    let cur = state.snapshot_on(date.as_deref()).await?;
    // On or after the snapshot's own day: compared with itself, nothing has entered.
    let since = parse_iso_date(&cur.snapshot.date).map_or(since, |day| since.min(day));
    let st = state.clone();
    let then = blocking(move || st.read_store(|s| Ok(Earlier::on_or_before(s, since)?))).await?;
    let audience = access.audience();
    let found = alerts::alerts(&cur.snapshot, then.as_ref(), audience);
    let compared_with = then.as_ref().map(|e| e.date.as_str());
    let body = alerts_collection(&found, &cur.snapshot, &since_raw, compared_with, audience);
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], body).into_response())
}

/// `GET /summaries?level=mission|ADM1|…[&from=D1&to=D2]`: coverage summaries of the served
/// snapshot, or of every stored snapshot of a range.
pub async fn summaries(
    State(state): State<Arc<AppState>>,
    Extension(access): Extension<Access>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(params, &["level", "from", "to"])?;
    let cur = state.current();
    let level = q.get("level").map_or("mission", String::as_str);
    let by = GroupBy::parse(level, &cur.areas).ok_or_else(|| {
        ApiError::bad(
            "level",
            format!("`{level}`: use mission or a loaded area level"),
        )
    })?;
    let rows = summaries_of(&state, &cur, by, range_params(&q)?).await?;
    let mut rows: Vec<Value> = rows.iter().map(|r| json!(r)).collect();
    rows.iter_mut()
        .filter_map(Value::as_object_mut)
        .for_each(|m| access.audience().redact(m));
    Ok(Json(json!({
        "level": level,
        "snapshot": {"date": cur.snapshot.date, "version": cur.snapshot.info.sha256},
        "summaries": rows,
        "attribution": cur.snapshot.attribution,
    }))
    .into_response())
}

/// `from` and `to` as `YYYY-MM-DD` in order; one alone leaves the other end open.
fn range_params(q: &HashMap<String, String>) -> Result<Option<(String, String)>, ApiError> {
    if q.get("from").is_none() && q.get("to").is_none() {
        return Ok(None);
    }
    let end = |name: &str, open: &str| {
        q.get(name).map_or(Ok(open.to_string()), |v| {
            date_param(name, v).map(format_date)
        })
    };
    let (a, b) = (end("from", "0000-01-01")?, end("to", "9999-12-31")?);
    if a > b {
        return Err(ApiError::bad("to", "the range ends before it starts"));
    }
    Ok(Some((a, b)))
}

fn body<T>(r: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    r.map(|Json(v)| v).map_err(|e| ApiError::Rejected {
        status: e.status(),
        detail: e.body_text(),
    })
}

fn grid_of<'a>(state: &AppState, loaded: &'a Loaded) -> Result<SnapshotGrid<'a>, ApiError> {
    let res = crate::grid::resolution(state.config.grid.resolution)?;
    Ok(SnapshotGrid::new(
        &loaded.snapshot.cells,
        res,
        &state.config.coverage,
    ))
}

/// The summaries of the served snapshot, or of the stored snapshots of a range.
async fn summaries_of(
    state: &Arc<AppState>,
    cur: &Arc<Loaded>,
    by: GroupBy,
    range: Option<(String, String)>,
) -> Result<Vec<summary::Summary>, ApiError> {
    let Some((from, to)) = range else {
        let s = &cur.snapshot;
        return Ok(summary::summarise(
            &s.date,
            &s.cells,
            &by,
            None,
            &cur.areas,
            &cur.area_cells,
        ));
    };
    let (st, areas, cells) = (state.clone(), cur.areas.clone(), cur.area_cells.clone());
    blocking(move || st.read_store(|s| Ok(summary::series(s, &from, &to, &by, &areas, &cells)?)))
        .await
}

/// `POST /scenarios` (a scenario as JSON): the changed cells and summary deltas on the
/// served snapshot. Nothing is stored.
/// The snapshot of a `?date=` (a stored date; the served snapshot without it).
async fn dated(
    state: &Arc<AppState>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Arc<Loaded>, ApiError> {
    let q = query(params, &["date"])?;
    let date = q
        .get("date")
        .map(|d| super::query::snapshot_date(d))
        .transpose()?;
    state.snapshot_on(date.as_deref()).await
}

pub async fn scenarios(
    State(state): State<Arc<AppState>>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
    req: Result<Json<Scenario>, JsonRejection>,
) -> Result<Response, ApiError> {
    let scenario = body(req)?;
    let cur = dated(&state, params).await?;
    let st = state.clone();
    let outcome = blocking(move || {
        let grid = grid_of(&st, &cur)?;
        Ok(evaluate(
            &grid,
            &cur.snapshot,
            &scenario,
            &cur.bases,
            &st.config.coverage,
        )?)
    })
    .await?;
    Ok(Json(outcome).into_response())
}

/// The body of `POST /plan`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    /// Sites (1 to 100).
    pub k: usize,
    /// Reach of each new base, km (default `coverage.post_radius_km`).
    #[serde(default)]
    pub radius_km: Option<f64>,
    /// Troops of each (default 100).
    #[serde(default)]
    pub troops: Option<i64>,
}

/// `POST /plan`: sites for k new bases on the served snapshot.
pub async fn plan(
    State(state): State<Arc<AppState>>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
    req: Result<Json<PlanBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let b = body(req)?;
    let opts = PlanOptions::new(
        b.k,
        b.radius_km.unwrap_or(state.config.coverage.post_radius_km),
        b.troops.unwrap_or(100),
    )?;
    let cur = dated(&state, params).await?;
    let st = state.clone();
    let p = blocking(move || {
        let grid = grid_of(&st, &cur)?;
        Ok(place(&grid, &cur.snapshot.date, &opts))
    })
    .await?;
    Ok(Json(p).into_response())
}
