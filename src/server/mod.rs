//! HTTP surface (axum). It renders snapshots; it holds no scoring logic.

pub mod analysis;
pub mod auth;
pub mod cache;
pub mod cells;
pub mod collections;
pub mod encoding;
pub mod episodes;
pub mod features;
pub mod grids;
pub mod metrics;
pub mod ogc;
pub mod origin;
pub mod problem;
pub mod query;
pub mod tiles;
pub mod web;

use crate::config::Config;
use crate::model::rows::{Area, AreaCell, Base, IdpSite};
use crate::store::snapshot::Snapshot;
use crate::store::{Store, StoreError};
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

/// Bytes rendered on first use and kept (or why they could not be).
type Cached = OnceLock<Result<Vec<u8>, String>>;

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
    /// Every stored IDP site assessment (the `idp-sites` collection).
    pub idp: Vec<IdpSite>,
    csv: [Cached; 2],
    /// The gzip-coded CSV and GeoJSON grids per audience, made on first use and kept.
    gzipped: [[Cached; 2]; 2],
    /// Tile units per H3 resolution, built on first use.
    pub tile_units: [OnceLock<Vec<crate::output::tiles::TileUnit>>; 16],
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
            idp: Vec::new(),
            csv: [OnceLock::new(), OnceLock::new()],
            gzipped: Default::default(),
            tile_units: Default::default(),
        }
    }

    /// Loads the snapshot of `date` (the latest when `None`) and the tables of the store.
    pub fn from_store(store: &Store, date: Option<&str>) -> Result<Self, StoreError> {
        let snapshot = Snapshot::load(store, date)?;
        let mut loaded = Self::new(snapshot, store.read()?, store.read()?, store.read()?);
        loaded.idp = store.read()?;
        Ok(loaded)
    }

    /// The CSV grid (cached), with what `audience` may see.
    pub fn csv(&self, audience: crate::model::visibility::Audience) -> Result<Vec<u8>, String> {
        self.csv[usize::from(audience.sees_deployments())]
            .get_or_init(|| {
                crate::output::export::grid_bytes(
                    &self.snapshot,
                    crate::output::export::Format::Csv,
                    audience,
                )
                .map_err(|e| e.to_string())
            })
            .clone()
    }

    /// The gzip-coded grid in `format` (CSV or GeoJSON; cached), with what `audience` may
    /// see: a grid is compressed once per snapshot, not once per request.
    pub fn gzipped_grid(
        &self,
        format: crate::output::export::Format,
        audience: crate::model::visibility::Audience,
    ) -> Result<Vec<u8>, String> {
        use crate::output::export::Format;
        let i = usize::from(format != Format::Csv);
        self.gzipped[i][usize::from(audience.sees_deployments())]
            .get_or_init(|| {
                let plain = match format {
                    Format::Csv => self.csv(audience)?,
                    _ => crate::output::export::grid_bytes(&self.snapshot, format, audience)
                        .map_err(|e| e.to_string())?,
                };
                encoding::gzip(&plain).map_err(|e| e.to_string())
            })
            .clone()
    }
}

/// Shared server state: the snapshot being served (swapped when a newer one is published),
/// the configuration and the request counters.
#[derive(Debug)]
pub struct AppState {
    current: RwLock<Arc<Loaded>>,
    /// Permits for heavy answers (large item pages, grids): rendered and sent a few at a
    /// time, so that memory stays bounded however many clients ask at once.
    heavy: Arc<tokio::sync::Semaphore>,
    /// Configuration.
    pub config: Config,
    /// The store the snapshot comes from (explanations, other dates, reloads).
    pub location: crate::store::Location,
    /// Request counters for `/metrics`.
    pub metrics: metrics::Metrics,
    /// Snapshots of other dates than the served one that were asked for lately (tiles and
    /// layers of a past day, as the map's time control asks for them), most recent last.
    dated: std::sync::Mutex<Vec<Arc<Loaded>>>,
    /// Held while a snapshot of another date is read from disk, so that the tiles a map
    /// asks for at once on a new date wait for one read instead of each making its own.
    loading: std::sync::Mutex<()>,
    /// A store in a bucket as last opened, and when: finding its latest manifest is a
    /// request or two to the object store, so requests share one opening for up to
    /// `server.reload_secs` (a folder's manifest is read anew for each request).
    opened: std::sync::Mutex<Option<(std::time::Instant, Store)>>,
}

/// Snapshots of other dates kept loaded at once (each holds its cells, about 200 bytes a
/// cell, and its rendered tile units).
pub const DATED_SNAPSHOTS: usize = 4;

impl AppState {
    /// State serving `loaded` from the store folder `store_dir`.
    pub fn new(loaded: Loaded, config: Config, store_dir: &Path) -> Self {
        Self::at(
            loaded,
            config,
            crate::store::Location::Folder(store_dir.to_path_buf()),
        )
    }

    /// State serving `loaded` from the store at `location`.
    pub fn at(loaded: Loaded, config: Config, location: crate::store::Location) -> Self {
        Self {
            current: RwLock::new(Arc::new(loaded)),
            heavy: Arc::new(tokio::sync::Semaphore::new(
                config.server.max_heavy_requests.max(1),
            )),
            config,
            location,
            metrics: metrics::Metrics::default(),
            dated: std::sync::Mutex::new(Vec::new()),
            loading: std::sync::Mutex::new(()),
            opened: std::sync::Mutex::new(None),
        }
    }

    /// The snapshot being served; a request keeps the one it started with.
    pub fn current(&self) -> Arc<Loaded> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Waits for a heavy-answer permit; hand it to [`hold`] with the response so that it is
    /// released only once the body has been handed out whole.
    pub async fn heavy_permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        self.heavy
            .clone()
            .acquire_owned()
            .await
            .map_err(ApiError::from)
    }

    /// Opens the store read by this server (a bucket's: as opened within the last
    /// `server.reload_secs`).
    pub fn store(&self) -> Result<Store, StoreError> {
        if self.location.bucket().is_some() {
            let fresh = std::time::Duration::from_secs(self.config.server.reload_secs.max(1));
            let opened = match self.opened.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            if let Some((at, store)) = opened.as_ref() {
                if at.elapsed() < fresh {
                    return Ok(store.clone());
                }
            }
        }
        self.open_store()
    }

    /// Opens the store anew (its latest manifest).
    fn open_store(&self) -> Result<Store, StoreError> {
        let store = Store::open_at(
            &self.location,
            &self.config.store.object_options,
            self.config.grid.resolution,
        )?;
        if self.location.bucket().is_some() {
            let mut opened = match self.opened.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            *opened = Some((std::time::Instant::now(), store.clone()));
        }
        Ok(store)
    }

    /// Runs `f` on the store's current manifest. When a file that manifest named has gone
    /// (a writer retired it and the garbage collector removed it), reloads the served
    /// snapshot and runs `f` once more on the newer manifest; a second miss is a 503, never
    /// a 500.
    pub fn read_store<T>(&self, f: impl Fn(&Store) -> Result<T, ApiError>) -> Result<T, ApiError> {
        match self.store().map_err(ApiError::from).and_then(|s| f(&s)) {
            Err(ApiError::MissingFile(what)) => {
                tracing::info!(%what, "a stored file was retired under a request; retrying on the new manifest");
                if let Err(e) = self.reload() {
                    tracing::warn!(error = %e, "reload after a missing file failed");
                }
                self.store().map_err(ApiError::from).and_then(|s| f(&s))
            }
            other => other,
        }
    }

    /// The snapshot stored for `date` (the served one when it is that date), loaded once
    /// and kept among the [`DATED_SNAPSHOTS`] last asked for; re-read when the store holds
    /// a newer version of that day. Blocking: call it off the async threads. 404 when no
    /// snapshot of that date is stored.
    pub fn loaded_on(&self, store: &Store, date: &str) -> Result<Arc<Loaded>, ApiError> {
        let cur = self.current();
        let Some(info) = store.manifest().snapshots.get(date) else {
            return Err(ApiError::NotFound(format!(
                "no snapshot is stored for {date}; GET /snapshots lists the stored dates"
            )));
        };
        if cur.snapshot.date == date && cur.snapshot.info.sha256 == info.sha256 {
            return Ok(cur);
        }
        let cached = || {
            let mut kept = self.dated_list();
            let i = kept
                .iter()
                .position(|l| l.snapshot.date == date && l.snapshot.info.sha256 == info.sha256)?;
            let hit = kept.remove(i);
            kept.push(hit.clone());
            Some(hit)
        };
        if let Some(hit) = cached() {
            return Ok(hit);
        }
        let _one_reader = match self.loading.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(hit) = cached() {
            return Ok(hit); // read by the request this one waited for
        }
        let loaded = Arc::new(Loaded::from_store(store, Some(date))?);
        let mut kept = self.dated_list();
        kept.retain(|l| l.snapshot.date != date);
        kept.push(loaded.clone());
        if kept.len() > DATED_SNAPSHOTS {
            let excess = kept.len() - DATED_SNAPSHOTS;
            kept.drain(..excess);
        }
        Ok(loaded)
    }

    fn dated_list(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Loaded>>> {
        match self.dated.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// [`AppState::loaded_on`] on a blocking thread, over the store's current manifest;
    /// `None`: the served snapshot.
    pub async fn snapshot_on(
        self: &Arc<Self>,
        date: Option<&str>,
    ) -> Result<Arc<Loaded>, ApiError> {
        let Some(date) = date else {
            return Ok(self.current());
        };
        let st = self.clone();
        let date = date.to_owned();
        tokio::task::spawn_blocking(move || st.read_store(|store| st.loaded_on(store, &date)))
            .await?
    }

    /// Swaps to the store's latest snapshot when it is another one than the one served;
    /// returns its date when it swapped. Requests in flight finish on the old one.
    pub fn reload(&self) -> Result<Option<String>, StoreError> {
        let store = self.open_store()?;
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

/// gzip for JSON, GeoJSON, CSV and HTML answers the handler did not code itself (tiles and
/// grids do: theirs are made once); never Parquet, which is compressed already.
fn compression(
) -> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
    let predicate = SizeAbove::new(256)
        .and(NotForContentType::const_new(
            "application/vnd.apache.parquet",
        ))
        .and(NotForContentType::const_new(
            "application/vnd.mapbox-vector-tile",
        ))
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::const_new("application/x-protobuf"));
    tower_http::compression::CompressionLayer::new()
        .quality(tower_http::CompressionLevel::Fastest)
        .compress_when(predicate)
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
        .route("/map", get(web::map_page))
        .route("/map/", get(web::map_slash))
        .route("/map/settings.json", get(web::settings))
        .route("/map/{*path}", get(web::map_asset))
        .route("/snapshots", get(collections::snapshots))
        .route("/conformance", get(ogc::conformance))
        .route("/api", get(ogc::openapi))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render))
        .route("/collections", get(collections::collections))
        .route("/collections/{id}", get(collections::collection))
        .route("/collections/{id}/queryables", get(collections::queryables))
        .route("/collections/{id}/items", get(features::items))
        .route("/collections/{id}/items/{feature}", get(features::item))
        .route("/grids/{file}", get(grids::grid))
        .route("/cells/{h3}/explain", get(cells::explain))
        .route("/tiles/{layer}/tilejson.json", get(tiles::tilejson))
        .route("/tiles/{layer}/{z}/{x}/{file}", get(tiles::tile))
        .route("/alerts", get(analysis::alerts))
        .route("/alerts.atom", get(episodes::atom_feed))
        .route("/alerts.cap", get(episodes::cap_feed))
        .route("/alerts/episodes", get(episodes::list))
        .route("/alerts/episodes/{file}", get(episodes::one))
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
        .layer(compression())
        .layer(middleware::from_fn(encoding::coding_etag))
        .layer(cors)
        .layer(timeout)
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no resource at {}", uri.path()))
}

async fn landing(
    headers: HeaderMap,
    origin::Origin(base): origin::Origin,
    params: Result<
        axum::extract::Query<Vec<(String, String)>>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Result<Response, ApiError> {
    let axum::extract::Query(params) = params.map_err(|e| ApiError::bad("query", e.body_text()))?;
    let mut f = None;
    for (k, v) in &params {
        match (k.as_str(), v.as_str()) {
            ("f", "json" | "html") => f = Some(v.as_str()),
            ("f", other) => {
                return Err(ApiError::bad("f", format!("`{other}`: json or html")));
            }
            (other, _) => return Err(ApiError::bad(other, "unknown parameter; allowed: f")),
        }
    }
    let title = "Vigil";
    let description = "Civilian-risk index and peacekeeping coverage gaps on an H3 grid";
    let links = vec![
        json!({"href": format!("{base}/map"), "rel": "alternate", "type": "text/html", "title": "The web map"}),
        json!({"href": format!("{base}/"), "rel": "self", "type": "application/json", "title": "This document"}),
        json!({"href": format!("{base}/api"), "rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0", "title": "The API definition (OpenAPI 3.0)"}),
        json!({"href": format!("{base}/conformance"), "rel": "conformance", "type": "application/json", "title": "OGC API conformance classes implemented"}),
        json!({"href": format!("{base}/collections"), "rel": "data", "type": "application/json", "title": "Collections"}),
        json!({"href": format!("{base}/snapshots"), "rel": "related", "type": "application/json", "title": "The stored snapshots (dates and versions)"}),
        json!({"href": format!("{base}/grids/latest.csv"), "rel": "alternate", "type": "text/csv", "title": "Latest daily grid (CSV)"}),
        json!({"href": format!("{base}/tiles/risk/tilejson.json"), "rel": "tiles", "type": "application/json", "title": "Vector tiles of the risk grid (TileJSON)"}),
        json!({"href": format!("{base}/alerts"), "rel": "related", "type": "application/geo+json", "title": "Cells that entered high or critical, new gaps"}),
        json!({"href": format!("{base}/alerts.atom"), "rel": "related", "type": "application/atom+xml", "title": "Alert episodes (Atom)"}),
        json!({"href": format!("{base}/alerts.cap"), "rel": "related", "type": "application/atom+xml", "title": "Alert episodes as CAP 1.2 messages (Atom feed)"}),
        json!({"href": format!("{base}/summaries"), "rel": "related", "type": "application/json", "title": "Coverage summaries per mission or area"}),
        json!({"href": format!("{base}/healthz"), "rel": "status", "type": "application/json", "title": "Health"}),
    ];
    if web::wants_html(&headers, f) {
        return Ok(web::landing_html(title, description, &links));
    }
    let mut r =
        Json(json!({"title": title, "description": description, "links": links})).into_response();
    r.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    Ok(r)
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

/// Loads the latest snapshot of the store folder `store_dir`.
pub fn load_state(store_dir: &Path, config: Config) -> Result<Arc<AppState>, ServeError> {
    load_state_at(
        &crate::store::Location::Folder(store_dir.to_path_buf()),
        config,
    )
}

/// Loads the latest snapshot of the store at `location`.
pub fn load_state_at(
    location: &crate::store::Location,
    config: Config,
) -> Result<Arc<AppState>, ServeError> {
    let store = Store::open_at(
        location,
        &config.store.object_options,
        config.grid.resolution,
    )?;
    let loaded = Loaded::from_store(&store, None)?;
    tracing::info!(date = %loaded.snapshot.date, cells = loaded.snapshot.cells.len(), "snapshot loaded");
    Ok(Arc::new(AppState::at(loaded, config, location.clone())))
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
    accept_loop(listener, state).await;
    Ok(())
}

/// Serves connections until Ctrl-C or SIGTERM: HTTP/1.1 with a header-read timeout (a
/// client that trickles its headers is cut off) and at most `server.max_connections` at
/// once (further ones wait in the kernel's backlog); on shutdown, requests in flight finish
/// (for up to `server.request_timeout_secs`).
async fn accept_loop(listener: tokio::net::TcpListener, state: Arc<AppState>) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let server = &state.config.server;
    let header_timeout = std::time::Duration::from_secs(server.header_timeout_secs);
    let drain = std::time::Duration::from_secs(server.request_timeout_secs);
    let slots = Arc::new(tokio::sync::Semaphore::new(server.max_connections.max(1)));
    let service = hyper_util::service::TowerToHyperService::new(router(state.clone()));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(header_timeout);
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service.clone()));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(drain) => {
            tracing::warn!("requests still running at shutdown were cut off");
        }
    }
}

/// A response body that keeps a heavy-answer permit until the inner body has ended (or the
/// client went away and the body is dropped), handing its data out in 64 kB frames so that
/// the connection takes them as it sends them.
struct HeldBody {
    inner: axum::body::Body,
    pending: bytes::Bytes,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

const FRAME: usize = 64 * 1024;

impl http_body::Body for HeldBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        loop {
            if !self.pending.is_empty() {
                let n = self.pending.len().min(FRAME);
                let chunk = self.pending.split_to(n);
                return Poll::Ready(Some(Ok(http_body::Frame::data(chunk))));
            }
            match std::pin::Pin::new(&mut self.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => self.pending = data,
                    Err(other) => return Poll::Ready(Some(Ok(other))),
                },
                Poll::Ready(None) => {
                    self.permit = None;
                    return Poll::Ready(None);
                }
                other => return other,
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pending.is_empty() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let mut hint = self.inner.size_hint();
        let pending = self.pending.len() as u64;
        hint.set_lower(hint.lower() + pending);
        if let Some(upper) = hint.upper() {
            hint.set_upper(upper + pending);
        }
        hint
    }
}

/// Attaches a heavy-answer permit to a response: a large body is cut into 64 kB frames and
/// the permit is released after the last one was taken by the connection.
pub fn hold(res: Response, permit: Option<tokio::sync::OwnedSemaphorePermit>) -> Response {
    let Some(permit) = permit else {
        return res;
    };
    res.map(|inner| {
        axum::body::Body::new(HeldBody {
            inner,
            pending: bytes::Bytes::new(),
            permit: Some(permit),
        })
    })
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
