//! Shared helpers of the integration tests.

use std::path::{Path, PathBuf};
use vigil::app::{self, Context};

/// The committed sample.
pub fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample")
}

/// A file of the real extracts in `../shared/data/real/` (never part of the repository), or
/// `None`, saying that the test skips, when it is absent.
pub fn real(rel: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/real")
        .join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipping: real data extract {} is absent", path.display());
        None
    }
}

/// [`real`] with the file's bytes.
pub fn real_bytes(rel: &str) -> Option<(PathBuf, Vec<u8>)> {
    let path = real(rel)?;
    match std::fs::read(&path) {
        Ok(bytes) => Some((path, bytes)),
        Err(e) => panic!("{} exists but cannot be read: {e}", path.display()),
    }
}

/// A context over a fresh temporary store (kept alive by the returned guard).
pub fn fresh_store() -> (tempfile::TempDir, Context) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let ctx = Context::new(dir.path().join("store"), None);
    (dir, ctx)
}

/// Ingests `files` in order into the context's store.
pub fn ingest(ctx: &Context, files: &[(vigil::ingest::Kind, &Path)]) {
    for (kind, path) in files {
        app::ingest(ctx, *kind, path, &Default::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

/// A fresh store with the CAR extracts ingested — ADM3 boundaries, Geo-PKO v2 bases, SPEI,
/// UCDP GED events, in that order — or `None`, saying that the test skips, when they are
/// absent.
pub fn car_store() -> Option<(tempfile::TempDir, Context)> {
    use vigil::ingest::Kind;
    let files = [
        (
            Kind::Areas,
            real("geoboundaries/geoBoundaries-CAF-ADM3_simplified.geojson")?,
        ),
        (
            Kind::Geopko,
            real("geopko/geopko_v2x_location_map_MINUSCA_UNMISS_MONUSCO_MINUSMA.csv")?,
        ),
        (Kind::Climate, real("spei/spei_-0.25_5.25.csv.gz")?),
        (
            Kind::Ucdp,
            real("ucdp_ged/GEDEvent_v23_1_CAF_reconstructed.csv")?,
        ),
    ];
    let (dir, ctx) = fresh_store();
    let refs: Vec<(Kind, &Path)> = files.iter().map(|(k, p)| (*k, p.as_path())).collect();
    ingest(&ctx, &refs);
    Some((dir, ctx))
}

/// Publishes tables made by `Table::to_frame` into `store` in one manifest update.
pub fn publish(
    store: &mut vigil::store::Store,
    tables: Vec<(
        &'static str,
        polars::prelude::PolarsResult<polars::prelude::DataFrame>,
    )>,
) {
    let frames = tables
        .into_iter()
        .map(|(name, df)| (name, df.unwrap_or_else(|e| panic!("{name}: {e}"))))
        .collect();
    store
        .publish(frames, None)
        .unwrap_or_else(|e| panic!("{e}"));
}

/// The dates of the `all` rows of a summary time series (JSON rows with `unit` and `date`).
pub fn series_dates(rows: &serde_json::Value) -> Vec<String> {
    rows.as_array()
        .map(|r| {
            r.iter()
                .filter(|x| x["unit"] == "all")
                .filter_map(|x| x["date"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// A store with the sample ingested and its last day scored.
pub fn scored_store() -> (tempfile::TempDir, Context, String) {
    let (dir, ctx) = fresh_store();
    let date = app::load_sample(&ctx, &sample_dir())
        .unwrap_or_else(|e| panic!("{e}"))
        .date;
    (dir, ctx, date)
}

/// All files of a folder (recursively) with their bytes, sorted by relative path.
pub fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.file_name().is_some_and(|n| n == ".lock") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .map(|r| r.display().to_string())
                    .unwrap_or_default();
                out.push((rel, std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

/// An HTTP answer of the in-process router.
pub struct Answer {
    /// Status.
    pub status: axum::http::StatusCode,
    /// Headers.
    pub headers: axum::http::HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    /// A header as text (empty when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// Sends one request through the router of `state` (Host: vigil.test).
pub async fn call(
    state: &std::sync::Arc<vigil::server::AppState>,
    method: axum::http::Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Answer {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut b = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "vigil.test");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    let req = b
        .body(body.map_or_else(axum::body::Body::empty, axum::body::Body::from))
        .unwrap_or_else(|e| panic!("{e}"));
    let resp = vigil::server::router(state.clone())
        .oneshot(req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

/// `vigil export` of `what` with everything (deployments included), as the CLI does it.
pub fn export(
    ctx: &Context,
    what: vigil::output::export::What,
    date: Option<&str>,
    level: Option<&str>,
    format: vigil::output::export::Format,
    out: Option<&Path>,
) -> Result<usize, vigil::app::Error> {
    app::export(
        ctx,
        &vigil::output::export::Request {
            what,
            date,
            level,
            format: Some(format),
            out,
            audience: vigil::model::visibility::Audience::WithDeployments,
        },
    )
}

/// Serves `state` on a loopback port in a background runtime: its `http://` URL.
pub fn listen(state: std::sync::Arc<vigil::server::AppState>) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async move {
            let _ = vigil::server::serve(state, "127.0.0.1:0", false, move |addr| {
                let _ = tx.send(addr);
            })
            .await;
        });
    });
    let addr = rx.recv().unwrap_or_else(|e| panic!("{e}"));
    format!("http://{addr}")
}
