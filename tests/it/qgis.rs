//! Issue 16: the QGIS recipes of docs/gis.md, run in QGIS itself (PyQGIS, headless, the
//! system Python with Debian's `python3-qgis`; `tests/python/qgis_recipes.py`): an OGC API –
//! Features layer paged through a token-protected server with a Basic authentication
//! configuration, refused without it; the risk vector tiles drawn through the same
//! configuration; the field kit's GeoPackage opened styled by tier. Skips, saying so, when
//! PyQGIS is missing — unless VIGIL_REQUIRE_QGIS is set (as `.ci/run` sets it).

use crate::common;

use std::path::Path;
use std::process::Command;
use vigil::config::{Config, Scope, TokenConfig};

const PYTHON: &str = "/usr/bin/python3";

fn pyqgis_available() -> bool {
    let probe = Command::new(PYTHON)
        .args(["-c", "import qgis.core"])
        .env("QT_QPA_PLATFORM", "offscreen")
        .output();
    if probe.is_ok_and(|o| o.status.success()) {
        return true;
    }
    assert!(
        std::env::var_os("VIGIL_REQUIRE_QGIS").is_none(),
        "VIGIL_REQUIRE_QGIS is set but PyQGIS is missing (apt-get install python3-qgis qgis-providers)"
    );
    eprintln!("skipping: PyQGIS missing (apt-get install python3-qgis qgis-providers)");
    false
}

#[test]
fn qgis_pages_the_gaps_with_a_token_draws_the_tiles_and_opens_the_kit_styled() {
    if !pyqgis_available() {
        return;
    }
    let (dir, ctx, date) = common::scored_store();
    let kit = dir.path().join("kit");
    let o = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("--store")
        .arg(&ctx.store)
        .args(["export", "kit", "--out"])
        .arg(&kit)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Pages of at most 10: QGIS must follow `next` links to get every gap.
    let mut config = Config::default();
    config.server.default_limit = 10;
    config.server.max_limit = 10;
    config.server.tokens = vec![TokenConfig {
        name: "qgis-joc".into(),
        sha256: vigil::server::auth::token_hash("qgis-secret"),
        scopes: vec![Scope::RiskRead, Scope::DeploymentsRead],
    }];
    let state = vigil::server::load_state(&ctx.store, config).unwrap_or_else(|e| panic!("{e}"));
    let snapshot = state.current();
    let gaps = snapshot
        .snapshot
        .cells
        .iter()
        .filter(|r| r.flags.gap)
        .count();
    let cells = snapshot.snapshot.cells.len();
    let url = common::listen(state);
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("qgis");
    std::fs::create_dir_all(&shots).unwrap_or_else(|e| panic!("{e}"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/qgis_recipes.py");
    let out = Command::new(PYTHON)
        .arg(script)
        .arg(&url)
        .arg("qgis-secret")
        .arg(kit.join(format!("vigil-{date}.gpkg")))
        .arg(&shots)
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("XDG_RUNTIME_DIR", dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "qgis_recipes.py: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    eprintln!("{r}\nrenders in {}", shots.display());
    assert_eq!(r["auth_stored"], true, "{r}");
    // OGC API – Features with the token as a Basic password: every gap, once, in pages of 10.
    assert_eq!(r["gaps_valid"], true, "{r}");
    assert_eq!(r["gaps_features"], gaps, "{r}");
    assert_eq!(r["gaps_distinct"], gaps, "{r}");
    assert!(gaps > 10, "the sample must need several pages: {gaps}");
    let fields = r["gaps_fields"].as_array().cloned().unwrap_or_default();
    for f in ["h3", "tier", "risk", "nearest_base_km", "gap"] {
        assert!(fields.iter().any(|x| x == f), "{f}: {r}");
    }
    assert_eq!(r["gaps_valid_without_auth"], false, "{r}");
    assert!(r["gaps_drawn_pixels"].as_u64().unwrap_or(0) > 50, "{r}");
    // Vector tiles through the same configuration, drawn (without the token, every tile
    // would be a 401 and nothing drawn).
    assert_eq!(r["tiles_valid"], true, "{r}");
    assert!(r["tiles_drawn_pixels"].as_u64().unwrap_or(0) > 1000, "{r}");
    // The kit's risk layer opens styled by tier (the GeoPackage's layer_styles).
    assert_eq!(r["kit_risk_valid"], true, "{r}");
    assert_eq!(r["kit_risk_features"], cells, "{r}");
    assert_eq!(r["kit_risk_renderer"], "categorizedSymbol", "{r}");
    assert_eq!(r["kit_risk_classified_by"], "tier", "{r}");
    assert_eq!(
        r["kit_risk_categories"],
        serde_json::json!(["low", "moderate", "elevated", "high", "critical"]),
        "{r}"
    );
    assert!(
        r["kit_risk_drawn_pixels"].as_u64().unwrap_or(0) > 1000,
        "{r}"
    );
}
