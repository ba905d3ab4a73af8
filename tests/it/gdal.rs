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
    (dir, common::listen(state), gaps)
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

/// The recipes of docs/gis.md: a token passed to GDAL with `GDAL_HTTP_HEADERS`, or as the
/// password of `GDAL_HTTP_USERPWD`.
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
    // The bearer header, or the token as a Basic password (GDAL_HTTP_AUTH=BASIC sends it
    // at once; Vigil's 401 challenges only for Bearer, so that browsers never prompt).
    let bearer = [("GDAL_HTTP_HEADERS", "Authorization: Bearer gis-secret")];
    let basic = [
        ("GDAL_HTTP_AUTH", "BASIC"),
        ("GDAL_HTTP_USERPWD", "joc-analyst:gis-secret"),
    ];
    for env in [&bearer[..], &basic[..]] {
        let out = Command::new("ogrinfo")
            .args(["-ro", "-q", &source, "coverage-gaps"])
            .envs(env.iter().copied())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{env:?}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            text.lines().filter(|l| l.starts_with("OGRFeature")).count(),
            gaps,
            "{env:?}"
        );
    }
}

/// `vigil export kit`: GDAL opens the GeoPackage with every layer, its count, geometry type
/// and EPSG:4326, and QGIS's style table; a risk-only kit has no deployment layer.
#[test]
fn the_field_kit_opens_in_gdal() {
    if !ogrinfo_available() {
        return;
    }
    let (dir, ctx, date) = common::scored_store();
    let out = dir.path().join("kit");
    let run = |out: &std::path::Path, risk_only: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
        cmd.arg("--store")
            .arg(&ctx.store)
            .args(["export", "kit", "--out"])
            .arg(out);
        if risk_only {
            cmd.arg("--risk-only");
        }
        let o = cmd.output().unwrap_or_else(|e| panic!("{e}"));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&out, false);
    let gpkg = out.join(format!("vigil-{date}.gpkg"));
    for f in ["README.md", "vigil-tiers.qml"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    assert!(out.join(format!("vigil-{date}-grid.csv")).is_file());
    assert!(out.join(format!("vigil-{date}.pmtiles")).is_file());
    let gpkg_s = gpkg.display().to_string();
    let listing = ogrinfo(&["-ro", "-so", "-al", &gpkg_s]);
    let layers: Vec<(String, String, usize)> = listing
        .split("Layer name: ")
        .skip(1)
        .map(|block| {
            let name = block.lines().next().unwrap_or_default().trim().to_owned();
            let field = |key: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(key))
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            };
            let count = field("Feature Count:").parse().unwrap_or(usize::MAX);
            (name, field("Geometry:"), count)
        })
        .collect();
    let names: Vec<&str> = layers.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["risk", "gaps", "bases", "events", "areas", "layer_styles"],
        "{listing}"
    );
    let state = vigil::server::load_state(&ctx.store, vigil::config::Config::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let snap = &state.current().snapshot;
    let gaps = snap.cells.iter().filter(|r| r.flags.gap).count();
    let expect = [
        ("risk", "Multi Polygon", snap.cells.len()),
        ("gaps", "Multi Polygon", gaps),
    ];
    for (name, geometry, count) in expect {
        let got = layers.iter().find(|l| l.0 == name);
        assert_eq!(got, Some(&(name.to_owned(), geometry.to_owned(), count)));
    }
    for (name, geometry) in [
        ("bases", "Point"),
        ("events", "Point"),
        ("areas", "Multi Polygon"),
    ] {
        let got = layers
            .iter()
            .find(|l| l.0 == name)
            .cloned()
            .unwrap_or_default();
        assert_eq!(got.1, geometry, "{name}");
        assert!(got.2 > 0 && got.2 != usize::MAX, "{name}: {got:?}");
    }
    // Every feature layer is in EPSG:4326.
    let srs = listing.matches("ID[\"EPSG\",4326]").count();
    assert_eq!(srs, 5, "{listing}");
    // The tier style is the default of the cell layers.
    let styles = ogrinfo(&[
        "-ro",
        &gpkg_s,
        "-sql",
        "SELECT f_table_name, useAsDefault FROM layer_styles",
    ]);
    assert!(styles.contains("f_table_name (String) = risk"), "{styles}");
    assert!(styles.contains("f_table_name (String) = gaps"), "{styles}");
    // Every risk cell has a tier the style knows.
    let tiers = ogrinfo(&["-ro", &gpkg_s, "-sql", "SELECT COUNT(*) AS n FROM risk WHERE tier NOT IN ('low','moderate','elevated','high','critical')"]);
    assert!(tiers.contains("n (Integer) = 0"), "{tiers}");

    // Risk only: no deployment layer, no deployment field.
    let shared = dir.path().join("shared");
    run(&shared, true);
    let listing = ogrinfo(&[
        "-ro",
        "-so",
        "-al",
        &shared
            .join(format!("vigil-{date}.gpkg"))
            .display()
            .to_string(),
    ]);
    assert!(!listing.contains("Layer name: bases") && !listing.contains("Layer name: gaps"));
    for field in vigil::model::visibility::DEPLOYMENT_FIELDS {
        assert!(
            !listing.contains(&format!("\n{field}: ")),
            "{field} in a risk-only kit"
        );
    }
    let readme = std::fs::read_to_string(shared.join("README.md")).unwrap_or_default();
    assert!(
        readme.contains("--risk-only") && readme.contains(&date),
        "{readme}"
    );
}

/// A forwarding proxy on a loopback port in front of `upstream`: each request is sent on
/// with `Connection: close` (and `X-Forwarded-Prefix: /vigil` after the prefix is taken off
/// the path), and its answer copied back. `on_request(n, path)` runs before the `n`th
/// request (from 0) is forwarded.
fn proxy(upstream: String, on_request: impl Fn(usize, &str) + Send + 'static) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    std::thread::spawn(move || {
        for (n, client) in listener.incoming().enumerate() {
            let Ok(mut client) = client else { continue };
            let mut reader = BufReader::new(client.try_clone().unwrap_or_else(|e| panic!("{e}")));
            let mut head = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push(line);
            }
            let Some(first) = head.first().cloned() else {
                continue;
            };
            let path = first.split(' ').nth(1).unwrap_or("/").to_owned();
            on_request(n, &path);
            let inner = path.strip_prefix("/vigil").unwrap_or(&path);
            let mut out = first.replacen(&path, if inner.is_empty() { "/" } else { inner }, 1);
            for h in &head[1..] {
                if !h.to_ascii_lowercase().starts_with("connection:") {
                    out.push_str(h);
                }
            }
            out.push_str("X-Forwarded-Prefix: /vigil\r\nConnection: close\r\n\r\n");
            let mut up = std::net::TcpStream::connect(upstream.trim_start_matches("http://"))
                .unwrap_or_else(|e| panic!("{e}"));
            let _ = up.write_all(out.as_bytes());
            let mut answer = Vec::new();
            let _ = up.read_to_end(&mut answer);
            let _ = client.write_all(&answer);
        }
    });
    format!("http://{addr}/vigil")
}

/// Acceptance of issue 16: GDAL pages through `coverage-gaps`, behind a proxy that adds a
/// path prefix, while a new snapshot is published and served after its first page — and
/// still gets exactly the features of the day it started with, every one through the
/// proxy's links.
#[test]
fn gdal_pages_through_a_proxy_while_a_new_day_is_published() {
    if !ogrinfo_available() {
        return;
    }
    let (_dir, ctx) = common::fresh_store();
    vigil::app::load_sample(&ctx, &common::sample_dir()).unwrap_or_else(|e| panic!("{e}"));
    let mut config = vigil::config::Config::default();
    config.server.trust_proxy = true;
    config.server.reload_secs = 0;
    let state = vigil::server::load_state(&ctx.store, config).unwrap_or_else(|e| panic!("{e}"));
    let day = state.current().snapshot.date.clone();
    let gaps: Vec<String> = state
        .current()
        .snapshot
        .cells
        .iter()
        .filter(|r| r.flags.gap)
        .filter_map(|r| {
            vigil::grid::cell_from_u64(r.cell)
                .ok()
                .map(|c| c.to_string())
        })
        .collect();
    let upstream = common::listen(state.clone());
    let pages = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (seen, publisher) = (pages.clone(), state.clone());
    let store = ctx.clone();
    let base = proxy(upstream, move |_, path| {
        if !path.contains("/collections/coverage-gaps/items") {
            return;
        }
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // After the first page (GDAL asks for it, then follows `next`): a later day is
        // scored, published and served before the second page is answered.
        if path.contains("offset=7&") || path.ends_with("offset=7") {
            vigil::app::score(&store, Some("2025-01-15")).unwrap_or_else(|e| panic!("{e}"));
            let now = publisher.reload().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(now.as_deref(), Some("2025-01-15"));
        }
    });
    let source = format!("OAPIF:{base}/");
    let all = ogrinfo(&["-ro", "-q", "-oo", "PAGE_SIZE=7", &source, "coverage-gaps"]);
    assert!(
        pages.load(std::sync::atomic::Ordering::SeqCst) >= 8,
        "GDAL followed the proxy's next links"
    );
    assert_eq!(
        state.current().snapshot.date,
        "2025-01-15",
        "a new day is served"
    );
    let mut ids: Vec<String> = all
        .lines()
        .filter_map(|l| l.trim().strip_prefix("h3 (String) = "))
        .map(str::to_owned)
        .collect();
    // GDAL may type the field as a Date (`2024/12/31`).
    let dates: Vec<String> = all
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("date ("))
        .filter_map(|l| l.split(" = ").nth(1))
        .map(|d| d.replace('/', "-"))
        .collect();
    assert_eq!(dates.len(), ids.len());
    assert!(
        dates.iter().all(|d| *d == day),
        "every feature of {day}: {dates:?}"
    );
    ids.sort();
    let mut want = gaps;
    want.sort();
    assert_eq!(ids, want, "exactly the gaps of {day}");
}
