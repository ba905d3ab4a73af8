//! HTTP surface (axum). It renders snapshots; it holds no scoring logic.

pub mod analysis;
pub mod auth;
pub mod cache;
pub mod cells;
pub mod features;
pub mod grids;
pub mod metrics;
pub mod ogc;
pub mod problem;
pub mod tiles;

use crate::config::Config;
use crate::snapshot::Snapshot;
use crate::store::{Store, StoreError};
use crate::tables::{Area, AreaCell, Base};
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use problem::ApiError;
use serde_json::json;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock};

/// Errors when starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The snapshot could not be loaded.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No tokens are configured and the address is not loopback.
    #[error("refusing to serve on {addr} without access tokens: deployment positions are sensitive. Configure [[server.tokens]] (see docs/configuration.md), bind 127.0.0.1, or pass --allow-anonymous")]
    Anonymous {
        /// The address.
        addr: SocketAddr,
    },
    /// The server stopped with an error.
    #[error("server error: {0}")]
    Server(std::io::Error),
}

/// A loaded snapshot, the store tables the API serves beside it, and its lazily rendered
/// CSV grids (with and without the deployment fields).
#[derive(Debug)]
pub struct Loaded {
    /// The snapshot.
    pub snapshot: Snapshot,
    /// Every stored base (the `bases` collection, scenarios, plans).
    pub bases: Vec<Base>,
    /// Loaded areas (summaries by area level, the `areas` collection).
    pub areas: Vec<Area>,
    /// Their cells.
    pub area_cells: Vec<AreaCell>,
    csv: [OnceLock<Result<Vec<u8>, String>>; 2],
    /// Tile units per H3 resolution, built on first use.
    pub tile_units: [OnceLock<Vec<tiles::TileUnit>>; 16],
}

impl Loaded {
    /// Wraps a snapshot with the tables it is served with.
    pub fn new(
        snapshot: Snapshot,
        bases: Vec<Base>,
        areas: Vec<Area>,
        area_cells: Vec<AreaCell>,
    ) -> Self {
        Self {
            snapshot,
            bases,
            areas,
            area_cells,
            csv: [OnceLock::new(), OnceLock::new()],
            tile_units: Default::default(),
        }
    }

    /// Loads the snapshot of `date` (the latest when `None`) and the tables of the store.
    pub fn from_store(store: &Store, date: Option<&str>) -> Result<Self, StoreError> {
        let snapshot = Snapshot::load(store, date)?;
        Ok(Self::new(
            snapshot,
            store.read()?,
            store.read()?,
            store.read()?,
        ))
    }

    /// The CSV grid (cached), with or without the deployment fields.
    pub fn csv(&self, deployments: bool) -> Result<Vec<u8>, String> {
        self.csv[usize::from(deployments)]
            .get_or_init(|| {
                crate::export::grid_bytes(&self.snapshot, crate::export::Format::Csv, deployments)
                    .map_err(|e| e.to_string())
            })
            .clone()
    }
}

/// Shared server state: the snapshot being served (swapped when a newer one is published),
/// the configuration and the request counters.
#[derive(Debug)]
pub struct AppState {
    current: RwLock<Arc<Loaded>>,
    /// Configuration.
    pub config: Config,
    /// The store the snapshot comes from (explanations, other dates, reloads).
    pub store_dir: std::path::PathBuf,
    /// Request counters for `/metrics`.
    pub metrics: metrics::Metrics,
}

impl AppState {
    /// State serving `loaded` from the store at `store_dir`.
    pub fn new(loaded: Loaded, config: Config, store_dir: &Path) -> Self {
        Self {
            current: RwLock::new(Arc::new(loaded)),
            config,
            store_dir: store_dir.to_path_buf(),
            metrics: metrics::Metrics::default(),
        }
    }

    /// The snapshot being served; a request keeps the one it started with.
    pub fn current(&self) -> Arc<Loaded> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Opens the store read by this server.
    pub fn store(&self) -> Result<Store, StoreError> {
        Store::open(&self.store_dir, self.config.grid.resolution)
    }

    /// Swaps to the store's latest snapshot when it is another one than the one served;
    /// returns its date when it swapped. Requests in flight finish on the old one.
    pub fn reload(&self) -> Result<Option<String>, StoreError> {
        let store = self.store()?;
        let Some(latest) = store.latest_snapshot() else {
            return Ok(None);
        };
        let version = store
            .manifest()
            .snapshots
            .get(latest)
            .map(|i| i.sha256.clone());
        let cur = self.current();
        if cur.snapshot.date == latest && Some(&cur.snapshot.info.sha256) == version.as_ref() {
            return Ok(None);
        }
        let loaded = Arc::new(Loaded::from_store(&store, Some(latest))?);
        let date = loaded.snapshot.date.clone();
        match self.current.write() {
            Ok(mut g) => *g = loaded,
            Err(poisoned) => *poisoned.into_inner() = loaded,
        }
        tracing::info!(%date, "now serving a newly published snapshot");
        Ok(Some(date))
    }
}

/// The router over a state, with access control, ETags, metrics, CORS, body and time limits.
pub fn router(state: Arc<AppState>) -> Router {
    let server = &state.config.server;
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_NONE_MATCH,
        ])
        .expose_headers([header::ETAG]);
    #[allow(deprecated)]
    let timeout = tower_http::timeout::TimeoutLayer::new(std::time::Duration::from_secs(
        server.request_timeout_secs,
    ));
    Router::new()
        .route("/", get(landing))
        .route("/conformance", get(ogc::conformance))
        .route("/api", get(ogc::openapi))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render))
        .route("/collections", get(features::collections))
        .route("/collections/{id}", get(features::collection))
        .route("/collections/{id}/items", get(features::items))
        .route("/collections/{id}/items/{feature}", get(features::item))
        .route("/grids/{file}", get(grids::grid))
        .route("/cells/{h3}/explain", get(cells::explain))
        .route("/tiles/{layer}/tilejson.json", get(tiles::tilejson))
        .route("/tiles/{layer}/{z}/{x}/{file}", get(tiles::tile))
        .route("/alerts", get(analysis::alerts))
        .route("/summaries", get(analysis::summaries))
        .route("/scenarios", post(analysis::scenarios))
        .route("/plan", post(analysis::plan))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), cache::etag))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(server.body_limit_bytes))
        .layer(cors)
        .layer(timeout)
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no resource at {}", uri.path()))
}

async fn landing(headers: HeaderMap) -> Response {
    let base = features::base_url(&headers);
    let body = json!({
        "title": "Vigil",
        "description": "Civilian-risk index and peacekeeping coverage gaps on an H3 grid",
        "links": [
            {"href": format!("{base}/"), "rel": "self", "type": "application/json", "title": "This document"},
            {"href": format!("{base}/api"), "rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0", "title": "The API definition (OpenAPI 3.0)"},
            {"href": format!("{base}/conformance"), "rel": "conformance", "type": "application/json", "title": "OGC API conformance classes implemented"},
            {"href": format!("{base}/collections"), "rel": "data", "type": "application/json", "title": "Collections"},
            {"href": format!("{base}/grids/latest.csv"), "rel": "alternate", "type": "text/csv", "title": "Latest daily grid (CSV)"},
            {"href": format!("{base}/tiles/risk/tilejson.json"), "rel": "tiles", "type": "application/json", "title": "Vector tiles of the risk grid (TileJSON)"},
            {"href": format!("{base}/alerts"), "rel": "related", "type": "application/geo+json", "title": "Cells that entered high or critical, new gaps"},
            {"href": format!("{base}/summaries"), "rel": "related", "type": "application/json", "title": "Coverage summaries per mission or area"},
            {"href": format!("{base}/healthz"), "rel": "status", "type": "application/json", "title": "Health"}
        ]
    });
    Json(body).into_response()
}

async fn healthz(axum::extract::State(state): axum::extract::State<Arc<AppState>>) -> Response {
    let cur = state.current();
    let s = &cur.snapshot;
    let mut r = Json(json!({
        "status": "ok",
        "snapshot": s.date,
        "version": s.info.sha256,
        "cells": s.info.cells,
        "gaps": s.info.gaps,
    }))
    .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Loads the latest snapshot of the store at `store_dir`.
pub fn load_state(store_dir: &Path, config: Config) -> Result<Arc<AppState>, ServeError> {
    let store = Store::open(store_dir, config.grid.resolution)?;
    let loaded = Loaded::from_store(&store, None)?;
    tracing::info!(date = %loaded.snapshot.date, cells = loaded.snapshot.cells.len(), "snapshot loaded");
    Ok(Arc::new(AppState::new(loaded, config, store_dir)))
}

/// Binds `addr` and serves until Ctrl-C or SIGTERM, swapping to newly published snapshots
/// every `server.reload_secs`. Without tokens only a loopback address is accepted, unless
/// `allow_anonymous`. `ready` is called with the bound address.
pub async fn serve(
    state: Arc<AppState>,
    addr: &str,
    allow_anonymous: bool,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: addr.to_owned(),
            source,
        })?;
    let local = listener.local_addr().map_err(ServeError::Server)?;
    if !local.ip().is_loopback() && state.config.server.tokens.is_empty() {
        if !allow_anonymous {
            return Err(ServeError::Anonymous { addr: local });
        }
        tracing::warn!(%local, "serving deployment positions to anyone who can reach this address (--allow-anonymous)");
    }
    ready(local);
    let every = state.config.server.reload_secs;
    if every > 0 {
        let st = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(every));
            tick.tick().await;
            loop {
                tick.tick().await;
                let s = st.clone();
                match tokio::task::spawn_blocking(move || s.reload()).await {
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "cannot reload the snapshot; still serving the previous one")
                    }
                    Err(e) => tracing::warn!(error = %e, "reload task failed"),
                    Ok(Ok(_)) => {}
                }
            }
        });
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(ServeError::Server)
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM (as sent by `docker stop`).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down: finishing requests in flight");
}
