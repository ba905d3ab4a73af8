//! A real GIS client against `vigil serve`: GDAL's OGC API – Features driver (`ogrinfo`,
//! Debian's gdal-bin, which `.ci/run` installs) lists the collections and reads every
//! feature of `coverage-gaps` through paging. Skips, saying so, when ogrinfo is absent —
//! unless VIGIL_REQUIRE_GDAL is set (as CI sets it), then it fails.

use crate::common;

use std::process::Command;

fn ogrinfo_available() -> bool {
    let found = Command::new("ogrinfo").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("VIGIL_REQUIRE_GDAL").is_none(),
            "VIGIL_REQUIRE_GDAL is set but ogrinfo is not installed (apt-get install gdal-bin)"
        );
        eprintln!("skipping: ogrinfo (gdal-bin) is not installed");
    }
    found
}

/// Serves the scored sample on a loopback port in a background runtime.
fn serve() -> (tempfile::TempDir, String, usize) {
    serve_with(vigil::config::Config::default())
}

fn serve_with(config: vigil::config::Config) -> (tempfile::TempDir, String, usize) {
    let (dir, ctx, _) = common::scored_store();
    let state = vigil::server::load_state(&ctx.store, config).unwrap_or_else(|e| panic!("{e}"));
    let gaps = state
        .current()
        .snapshot
        .cells
        .iter()
        .filter(|r| r.flags.gap)
        .count();
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
    (dir, format!("http://{addr}"), gaps)
}

fn ogrinfo(args: &[&str]) -> String {
    let out = Command::new("ogrinfo")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "ogrinfo {args:?} failed: {}{}",
        text,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn ogrinfo_lists_the_collections_and_pages_through_every_gap() {
    if !ogrinfo_available() {
        return;
    }
    let (_dir, base, gaps) = serve();
    let source = format!("OAPIF:{base}/");
    let listing = ogrinfo(&["-ro", &source]);
    for layer in [
        "risk",
        "coverage-gaps",
        "bases",
        "events",
        "areas",
        "idp-sites",
    ] {
        assert!(
            listing.contains(&format!(": {layer} (title:")),
            "{layer} in {listing}"
        );
    }
    // Small pages, so that GDAL has to follow the `next` links.
    let all = ogrinfo(&["-ro", "-q", "-oo", "PAGE_SIZE=7", &source, "coverage-gaps"]);
    let features = all.lines().filter(|l| l.starts_with("OGRFeature")).count();
    // numberMatched of the collection is the snapshot's gap count (tests/api.rs).
    assert_eq!(features, gaps);
    assert_eq!(features, 55, "the sample's gap cells");
    // Every feature carries its H3 index.
    assert_eq!(all.matches("  h3 (String) = ").count(), features);
}

/// The recipe of docs/api.md: a token passed to GDAL with `GDAL_HTTP_HEADERS`.
#[test]
fn gdal_sends_a_token_with_gdal_http_headers() {
    if !ogrinfo_available() {
        return;
    }
    let mut config = vigil::config::Config::default();
    config.server.tokens = vec![vigil::config::TokenConfig {
        name: "gis".into(),
        sha256: vigil::server::auth::token_hash("gis-secret"),
        scopes: vec![
            vigil::config::Scope::RiskRead,
            vigil::config::Scope::DeploymentsRead,
        ],
    }];
    let (_dir, base, gaps) = serve_with(config);
    let source = format!("OAPIF:{base}/");
    let refused = Command::new("ogrinfo")
        .args(["-ro", "-q", &source, "coverage-gaps"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!refused.status.success(), "no token, no layer");
    let out = Command::new("ogrinfo")
        .args(["-ro", "-q", &source, "coverage-gaps"])
        .env("GDAL_HTTP_HEADERS", "Authorization: Bearer gis-secret")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("OGRFeature")).count(),
        gaps
    );
}
