//! HTTP surface (axum). It renders snapshots; it holds no scoring logic.

pub mod cells;
pub mod features;
pub mod grids;
pub mod problem;

use crate::config::Config;
use crate::snapshot::Snapshot;
use crate::store::{Store, StoreError};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use problem::ApiError;
use serde_json::json;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};

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
    /// The server stopped with an error.
    #[error("server error: {0}")]
    Server(std::io::Error),
}

/// A loaded snapshot with its lazily rendered CSV grid.
#[derive(Debug)]
pub struct Loaded {
    /// The snapshot.
    pub snapshot: Snapshot,
    csv: OnceLock<Result<Vec<u8>, String>>,
}

impl Loaded {
    /// Wraps a snapshot.
    pub fn new(snapshot: Snapshot) -> Self {
        Self {
            snapshot,
            csv: OnceLock::new(),
        }
    }
}

/// Shared server state: the snapshot being served and the configuration.
#[derive(Debug)]
pub struct AppState {
    current: Arc<Loaded>,
    /// Configuration.
    pub config: Config,
    /// The store the snapshot comes from (for explanations).
    pub store_dir: std::path::PathBuf,
}

impl AppState {
    /// State serving `snapshot` of the store at `store_dir`.
    pub fn new(snapshot: Snapshot, config: Config, store_dir: &Path) -> Self {
        Self {
            current: Arc::new(Loaded::new(snapshot)),
            config,
            store_dir: store_dir.to_path_buf(),
        }
    }

    /// The snapshot being served.
    pub fn current(&self) -> Arc<Loaded> {
        self.current.clone()
    }
}

/// The router over a state.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(landing))
        .route("/healthz", get(healthz))
        .route("/collections", get(features::collections))
        .route("/collections/{id}", get(features::collection))
        .route("/collections/{id}/items", get(features::items))
        .route("/collections/{id}/items/{feature}", get(features::item))
        .route("/grids/{file}", get(grids::grid))
        .route("/cells/{h3}/explain", get(cells::explain))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no resource at {}", uri.path()))
}

async fn landing() -> Response {
    let body = json!({
        "title": "Vigil",
        "description": "Civilian-risk index and peacekeeping coverage gaps on an H3 grid",
        "links": [
            {"href": "/", "rel": "self", "type": "application/json", "title": "This document"},
            {"href": "/collections", "rel": "data", "type": "application/json", "title": "Collections"},
            {"href": "/collections/risk/items", "rel": "item", "type": "application/geo+json", "title": "Risk grid"},
            {"href": "/collections/coverage-gaps/items", "rel": "item", "type": "application/geo+json", "title": "Coverage gaps"},
            {"href": "/grids/latest.csv", "rel": "alternate", "type": "text/csv", "title": "Latest daily grid (CSV)"},
            {"href": "/cells/{h3}/explain", "rel": "describedby", "type": "application/json", "title": "Why a cell has its score", "templated": true},
            {"href": "/healthz", "rel": "status", "type": "application/json", "title": "Health"}
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
    let snapshot = Snapshot::load(&store, None)?;
    tracing::info!(date = %snapshot.date, cells = snapshot.cells.len(), "snapshot loaded");
    Ok(Arc::new(AppState::new(snapshot, config, store_dir)))
}

/// Binds `addr` and serves until Ctrl-C. `ready` is called with the bound address.
pub async fn serve(
    state: Arc<AppState>,
    addr: &str,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: addr.to_owned(),
            source,
        })?;
    let local = listener.local_addr().map_err(ServeError::Server)?;
    if !local.ip().is_loopback() {
        tracing::warn!(%local, "listening beyond loopback without access control: deployment positions are sensitive");
    }
    ready(local);
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
