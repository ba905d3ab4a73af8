//! Analysis over the served snapshot, built on the `coverage` module (no scoring here):
//! `/alerts?since=D`, `/summaries`, `POST /scenarios`, `POST /plan`.

use super::auth::Access;
use super::problem::ApiError;
use super::{AppState, Loaded};
use crate::analysis::plan::{plan as place, PlanOptions};
use crate::analysis::recompute::SnapshotGrid;
use crate::analysis::scenario::{evaluate, Scenario};
use crate::analysis::summary::{self, GroupBy};
use crate::coverage::CoverageError;
use crate::model::cell::Tier;
use crate::model::day::{format_date, parse_iso_date, rfc3339_now};
use crate::output::render::{cell_geometry, cell_properties, push_feature};
use crate::store::snapshot::load_columns;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Extension, Query, State};
use axum::http::{header, HeaderValue};
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
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(&e))?
}

/// Tier and gap flag of each cell of an earlier snapshot.
type Earlier = HashMap<u64, (Tier, bool)>;

/// `GET /alerts?since=D`: cells of the served snapshot that are high or critical and were
/// not in the latest snapshot dated on or before D (they entered since), and, for callers
/// with `deployments:read`, cells that are gaps now and were not then.
pub async fn alerts(
    State(state): State<Arc<AppState>>,
    Extension(access): Extension<Access>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(params, &["since"])?;
    let since_raw = q
        .get("since")
        .ok_or_else(|| ApiError::bad("since", "required: a date YYYY-MM-DD"))?
        .clone();
    let since = date_param("since", &since_raw)?;
    let cur = state.current();
    if format_date(since) >= cur.snapshot.date {
        return Err(ApiError::bad(
            "since",
            format!("must be before the served snapshot ({})", cur.snapshot.date),
        ));
    }
    let st = state.clone();
    // The earlier snapshot's tiers and gaps are all the comparison needs.
    let then: Option<(String, Earlier)> = blocking(move || {
        st.read_store(|store| {
            let date = store
                .manifest()
                .snapshots
                .range(..=format_date(since))
                .next_back()
                .map(|(d, _)| d.clone());
            date.map(|d| {
                let cells = load_columns(store, &d, &["cell", "tier", "gap"])?;
                Ok((d, cells.iter().map(|r| (r.cell, (r.tier, r.gap))).collect()))
            })
            .transpose()
        })
    })
    .await?;
    let deployments = access.audience().sees_deployments();
    let snap = &cur.snapshot;
    let before = |cell: u64| then.as_ref().and_then(|(_, m)| m.get(&cell).copied());
    let mut out = String::from("{\"type\":\"FeatureCollection\",\"features\":[");
    let mut n = 0;
    for r in &snap.cells {
        let old = before(r.cell);
        let entered = r.tier.is_high() && !old.is_some_and(|(t, _)| t.is_high());
        let new_gap = deployments && r.gap && !old.is_some_and(|(_, g)| g);
        if !(entered || new_gap) {
            continue;
        }
        let mut props = cell_properties(r, &snap.date);
        props.insert("entered_high".into(), json!(entered));
        props.insert("new_gap".into(), json!(new_gap));
        access.audience().redact(&mut props);
        props.insert("tier_then".into(), json!(old.map(|(t, _)| t.as_str())));
        let id = props
            .get("h3")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let geometry = crate::grid::cell_from_u64(r.cell)
            .map(cell_geometry)
            .unwrap_or_else(|_| "null".into());
        if n > 0 {
            out.push(',');
        }
        push_feature(&mut out, Some(&id), &geometry, &props);
        n += 1;
    }
    out.push_str("],");
    let tail = json!({
        "numberMatched": n,
        "numberReturned": n,
        "timeStamp": rfc3339_now(),
        "since": since_raw,
        "compared_with": then.as_ref().map(|(d, _)| d.clone()),
        "snapshot": {"date": snap.date, "version": snap.info.sha256},
        "attribution": snap.attribution,
    })
    .to_string();
    out.push_str(&tail[1..]);
    let mut r = out.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/geo+json"),
    );
    Ok(r)
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
    let range = match (q.get("from"), q.get("to")) {
        (None, None) => None,
        (Some(f), Some(t)) => {
            let (a, b) = (date_param("from", f)?, date_param("to", t)?);
            if a > b {
                return Err(ApiError::bad("to", "the range ends before it starts"));
            }
            Some((format_date(a), format_date(b)))
        }
        _ => return Err(ApiError::bad("from", "from and to go together")),
    };
    let rows = match range {
        None => summary::summarise(
            &cur.snapshot.date,
            &cur.snapshot.cells,
            &by,
            None,
            &cur.areas,
            &cur.area_cells,
        ),
        Some((from, to)) => {
            let st = state.clone();
            let (areas, area_cells) = (cur.areas.clone(), cur.area_cells.clone());
            blocking(move || {
                st.read_store(|store| {
                    summary::series(store, &from, &to, &by, &areas, &area_cells).map_err(
                        |e| match e {
                            CoverageError::NoSnapshots { .. } => ApiError::NotFound(e.to_string()),
                            other => ApiError::internal(&other),
                        },
                    )
                })
            })
            .await?
        }
    };
    let mut rows: Vec<Value> = rows.iter().map(|r| json!(r)).collect();
    if !access.audience().sees_deployments() {
        for r in &mut rows {
            if let Some(m) = r.as_object_mut() {
                access.audience().redact(m);
            }
        }
    }
    Ok(Json(json!({
        "level": level,
        "snapshot": {"date": cur.snapshot.date, "version": cur.snapshot.info.sha256},
        "summaries": rows,
        "attribution": cur.snapshot.attribution,
    }))
    .into_response())
}

fn body<T>(r: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    r.map(|Json(v)| v).map_err(|e| ApiError::Rejected {
        status: e.status(),
        detail: e.body_text(),
    })
}

fn grid_of<'a>(state: &AppState, loaded: &'a Loaded) -> Result<SnapshotGrid<'a>, ApiError> {
    let res = crate::grid::resolution(state.config.grid.resolution)
        .map_err(|e| ApiError::internal(&e))?;
    Ok(SnapshotGrid::new(
        &loaded.snapshot.cells,
        res,
        state.config.coverage.min_troops_per_1000,
    ))
}

/// `POST /scenarios` (a scenario as JSON): the changed cells and summary deltas on the
/// served snapshot. Nothing is stored.
pub async fn scenarios(
    State(state): State<Arc<AppState>>,
    req: Result<Json<Scenario>, JsonRejection>,
) -> Result<Response, ApiError> {
    let scenario = body(req)?;
    let cur = state.current();
    let st = state.clone();
    let outcome = blocking(move || {
        let grid = grid_of(&st, &cur)?;
        evaluate(
            &grid,
            &cur.snapshot,
            &scenario,
            &cur.bases,
            &st.config.coverage,
        )
        .map_err(|e| match e {
            CoverageError::Change { .. } | CoverageError::UnknownBase { .. } => {
                ApiError::Unprocessable(e.to_string())
            }
            other => ApiError::internal(&other),
        })
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
    req: Result<Json<PlanBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let b = body(req)?;
    if !(1..=100).contains(&b.k) {
        return Err(ApiError::Unprocessable(format!(
            "k = {}: ask for 1 to 100 sites",
            b.k
        )));
    }
    let radius_km = b.radius_km.unwrap_or(state.config.coverage.post_radius_km);
    if !(radius_km > 0.0 && radius_km <= 200.0) {
        return Err(ApiError::Unprocessable(format!(
            "radius_km = {radius_km}: must be in (0, 200]"
        )));
    }
    let troops = b.troops.unwrap_or(100);
    if troops < 0 {
        return Err(ApiError::Unprocessable("troops cannot be negative".into()));
    }
    let cur = state.current();
    let st = state.clone();
    let p = blocking(move || {
        let grid = grid_of(&st, &cur)?;
        let opts = PlanOptions {
            k: b.k,
            radius_km,
            troops,
        };
        Ok(place(&grid, &cur.snapshot.date, &opts))
    })
    .await?;
    Ok(Json(p).into_response())
}
