//! The alert episodes `vigil update` follows, as feeds and messages: `/alerts.atom`,
//! `/alerts.cap` (Atom feeds), `/alerts/episodes` (JSON) and
//! `/alerts/episodes/{id}.cap` / `{id}` (one CAP message, one JSON message). A caller
//! without `deployments:read` sees no coverage-gap episode and no base.

use super::auth::Access;
use super::origin::Origin;
use super::problem::ApiError;
use super::AppState;
use crate::model::episode::{AlertLog, Episode};
use crate::output::alert::{payload, Links};
use crate::output::atom::{feed, FeedKind};
use crate::output::cap::{message, CapSender};
use axum::extract::{Extension, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::Arc;

/// The store's alert log and attributions, read off the async threads.
async fn log_of(state: &Arc<AppState>) -> Result<(AlertLog, Vec<String>), ApiError> {
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        st.read_store(|s| Ok((s.manifest().alerts.clone(), s.attributions())))
    })
    .await?
}

fn visible(log: &AlertLog, access: &Access) -> Vec<Episode> {
    let audience = access.audience();
    log.episodes
        .iter()
        .filter_map(|e| audience.episode(e))
        .collect()
}

async fn atom(
    state: Arc<AppState>,
    access: Access,
    base: String,
    kind: FeedKind,
) -> Result<Response, ApiError> {
    let (log, attribution) = log_of(&state).await?;
    let body = feed(
        &visible(&log, &access),
        log.through.as_deref(),
        &Links::new(&base),
        kind,
        &attribution,
    );
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        body,
    )
        .into_response())
}

/// `GET /alerts.atom`: current and recently closed episodes, newest change first.
pub async fn atom_feed(
    State(state): State<Arc<AppState>>,
    Extension(access): Extension<Access>,
    Origin(base): Origin,
) -> Result<Response, ApiError> {
    atom(state, access, base, FeedKind::Map).await
}

/// `GET /alerts.cap`: the same feed, each entry pointing at its CAP message.
pub async fn cap_feed(
    State(state): State<Arc<AppState>>,
    Extension(access): Extension<Access>,
    Origin(base): Origin,
) -> Result<Response, ApiError> {
    atom(state, access, base, FeedKind::Cap).await
}

/// `GET /alerts/episodes`: the episodes as the JSON messages a webhook receives.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(access): Extension<Access>,
    Origin(base): Origin,
) -> Result<Response, ApiError> {
    let (log, attribution) = log_of(&state).await?;
    let links = Links::new(&base);
    let episodes: Vec<serde_json::Value> = visible(&log, &access)
        .iter()
        .map(|e| payload(e, &links, &attribution))
        .collect();
    Ok(Json(json!({
        "through": log.through,
        "episodes": episodes,
        "attribution": attribution,
    }))
    .into_response())
}

/// `GET /alerts/episodes/{id}.cap` (CAP 1.2) or `/alerts/episodes/{id}` (JSON).
pub async fn one(
    State(state): State<Arc<AppState>>,
    Extension(access): Extension<Access>,
    Origin(base): Origin,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let (id, cap) = match file.strip_suffix(".cap") {
        Some(id) => (id.to_owned(), true),
        None => (file.clone(), false),
    };
    let (log, attribution) = log_of(&state).await?;
    let e = log
        .episode(&id)
        .and_then(|e| access.audience().episode(e))
        .ok_or_else(|| ApiError::NotFound(format!("no episode `{id}`")))?;
    let links = Links::new(&base);
    if cap {
        let sender = CapSender {
            sender: state.config.alerts.sender.clone(),
            status: state.config.alerts.status.clone(),
        };
        let body = message(&e, &sender, &links);
        return Ok((
            [(header::CONTENT_TYPE, "application/cap+xml; charset=utf-8")],
            body,
        )
            .into_response());
    }
    Ok(Json(payload(&e, &links, &attribution)).into_response())
}
