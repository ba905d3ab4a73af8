//! Vigil's files read by the Python tools an analyst opens them with: GeoPandas and DuckDB's
//! spatial extension for GeoParquet, the `pmtiles` reader for tile archives
//! (`tests/python/read_layers.py`, packages pinned in `tests/python/requirements.txt`).
//! Skips, saying so, when they are not installed — unless VIGIL_REQUIRE_PYTHON_GIS is set
//! (as `.ci/run` sets it), then it fails.

use crate::common;

use std::path::Path;
use std::process::Command;
use vigil::output::export::{Format, What};

/// The script's report, or `None` (skip) when the Python packages are missing.
pub fn read_layers(args: &[&Path], mode: &str) -> Option<serde_json::Value> {
    let probe = Command::new("python3")
        .args([
            "-c",
            "import geopandas, duckdb, duckdb_extension_spatial, pmtiles",
        ])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("VIGIL_REQUIRE_PYTHON_GIS").is_none(),
            "VIGIL_REQUIRE_PYTHON_GIS is set but the Python GIS packages are missing \
             (pip install -r tests/python/requirements.txt)"
        );
        eprintln!("skipping: geopandas, duckdb or pmtiles (tests/python/requirements.txt) missing");
        return None;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/read_layers.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(mode)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    assert!(
        out.status.success(),
        "read_layers.py {mode}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn geopandas_and_duckdb_read_every_parquet_export_as_a_layer() {
    let (dir, ctx, _) = common::scored_store();
    let mut files = Vec::new();
    let mut expected = Vec::new();
    for (what, name, kind) in [
        (What::Events, "events", "Point"),
        (What::Bases, "bases", "Point"),
        (What::Population, "population", "MultiPolygon"),
        (What::Areas, "areas", "MultiPolygon"),
        (What::Grid, "grid", "MultiPolygon"),
    ] {
        let path = dir.path().join(format!("{name}.parquet"));
        common::export(&ctx, what, None, None, Format::Parquet, Some(&path))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let rows = vigil::store::read_parquet(&path)
            .unwrap_or_else(|e| panic!("{e}"))
            .height();
        files.push(path);
        expected.push((format!("{name}.parquet"), rows, kind));
    }
    let path = dir.path().join("rollup.parquet");
    common::export(
        &ctx,
        What::Rollup,
        None,
        Some("res5"),
        Format::Parquet,
        Some(&path),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rows = vigil::store::read_parquet(&path)
        .unwrap_or_else(|e| panic!("{e}"))
        .height();
    files.push(path);
    expected.push(("rollup.parquet".into(), rows, "MultiPolygon"));

    // The server's download.
    let state = std::sync::Arc::new(
        vigil::server::load_state(&ctx.store, vigil::config::Config::default())
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let answer = rt.block_on(common::call(
        &state,
        axum::http::Method::GET,
        "/grids/latest.parquet",
        &[],
        None,
    ));
    assert_eq!(answer.status, 200);
    let path = dir.path().join("served.parquet");
    std::fs::write(&path, &answer.body).unwrap_or_else(|e| panic!("{e}"));
    files.push(path);
    expected.push((
        "served.parquet".into(),
        state.current().snapshot.cells.len(),
        "MultiPolygon",
    ));

    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let Some(report) = read_layers(&refs, "geoparquet") else {
        return;
    };
    for (file, rows, kind) in expected {
        let seen = &report[&file];
        let gp = &seen["geopandas"];
        assert_eq!(gp["rows"], rows, "{file}: {seen}");
        assert_eq!(gp["crs"], "OGC:CRS84", "{file}: {seen}");
        assert_eq!(gp["types"], serde_json::json!([kind]), "{file}: {seen}");
        assert_eq!(gp["nulls"], 0, "{file}: {seen}");
        assert_eq!(gp["valid"], true, "{file}: {seen}");
        let b = &gp["bounds"];
        // Everything of the sample lies in the Central African Republic.
        assert!(
            b[0].as_f64() > Some(14.0) && b[2].as_f64() < Some(28.0),
            "{file}: {b}"
        );
        assert!(
            b[1].as_f64() > Some(2.0) && b[3].as_f64() < Some(11.5),
            "{file}: {b}"
        );
        let dk = &seen["duckdb"];
        assert_eq!(dk["rows"], rows, "{file}: {seen}");
        assert_eq!(dk["geometries"], rows, "{file}: {seen}");
        assert_eq!(
            dk["types"],
            serde_json::json!([kind.to_uppercase()]),
            "{file}: {seen}"
        );
        assert!(
            dk["column_type"]
                .as_str()
                .is_some_and(|t| t.starts_with("GEOMETRY")),
            "{file}: {seen}"
        );
        assert_eq!(dk["xmin"], gp["bounds"][0], "{file}");
    }
    let served = &report["served.parquet"]["geopandas"]["columns"];
    assert!(served
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c == "h3")));
}

/// `vigil export tiles`: the `pmtiles` reader opens the archive, and each of its tiles is
/// byte for byte what `/tiles/{layer}/{z}/{x}/{y}.mvt` serves for risk, coverage gaps and
/// bases, one after the other; every zoom from 0 to the grid's own (9 for the sample).
#[test]
fn the_pmtiles_archive_holds_the_servers_tiles() {
    let (dir, ctx, date) = common::scored_store();
    let path = dir.path().join("day.pmtiles");
    common::export(&ctx, What::Tiles, None, None, Format::Pmtiles, Some(&path))
        .unwrap_or_else(|e| panic!("{e}"));
    let Some(report) = read_layers(&[path.as_path()], "pmtiles") else {
        return;
    };
    let header = &report["header"];
    assert_eq!(header["version"], 3);
    assert_eq!(header["tile_type"], "MVT");
    assert_eq!(
        (header["min_zoom"].as_u64(), header["max_zoom"].as_u64()),
        (Some(0), Some(9))
    );
    assert_eq!(report["metadata"]["date"], date);
    let layers: Vec<&str> = report["metadata"]["vector_layers"]
        .as_array()
        .map(|a| a.iter().filter_map(|l| l["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(layers, ["risk", "coverage-gaps", "bases"]);
    let tiles = report["tiles"].as_object().cloned().unwrap_or_default();
    let zooms: std::collections::BTreeSet<u64> = tiles
        .keys()
        .filter_map(|k| k.split('/').next()?.parse().ok())
        .collect();
    assert_eq!(
        zooms.into_iter().collect::<Vec<_>>(),
        (0..=9).collect::<Vec<_>>()
    );

    let state = std::sync::Arc::new(
        vigil::server::load_state(&ctx.store, vigil::config::Config::default())
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    for (zxy, hex) in &tiles {
        let mut served = Vec::new();
        for layer in ["risk", "coverage-gaps", "bases"] {
            let a = rt.block_on(common::call(
                &state,
                axum::http::Method::GET,
                &format!("/tiles/{layer}/{zxy}.mvt"),
                &[],
                None,
            ));
            assert!(
                a.status == 200 || a.status == 204,
                "{layer}/{zxy}: {}",
                a.status
            );
            served.extend_from_slice(&a.body);
        }
        let hex_served: String = served.iter().map(|b| format!("{b:02x}")).collect();
        assert!(
            hex.as_str() == Some(hex_served.as_str()),
            "tile {zxy} differs from the server's"
        );
    }
    // Every zoom holds tiles over the extent (38 for the sample).
    assert!(tiles.len() >= 10, "{} tiles", tiles.len());
}
