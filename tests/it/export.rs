//! `vigil export`: every table in every format carries cells as H3 strings in `h3`.

use crate::common;

use vigil::output::export::{Format, What};

#[test]
fn every_table_exports_in_every_format() {
    let (dir, ctx, date) = common::scored_store();
    for what in [
        What::Events,
        What::Bases,
        What::Population,
        What::Areas,
        What::Grid,
    ] {
        // CSV: a header with `h3` where the table has cells, and one row per stored row.
        let csv_path = dir.path().join(format!("{what:?}.csv"));
        common::export(&ctx, what, None, None, Format::Csv, Some(&csv_path))
            .unwrap_or_else(|e| panic!("{what:?}: {e}"));
        let mut reader = csv::Reader::from_path(&csv_path).unwrap_or_else(|e| panic!("{e}"));
        let headers = reader.headers().cloned().unwrap_or_default();
        let rows = reader.records().filter_map(Result::ok).count();
        assert!(rows > 0, "{what:?}");
        let has_cells = what != What::Areas;
        assert_eq!(
            headers.iter().any(|h| h == "h3"),
            has_cells,
            "{what:?}: {headers:?}"
        );
        assert!(
            !headers.iter().any(|h| h == "cell"),
            "the u64 form stays internal"
        );

        // GeoJSON: a FeatureCollection with one feature per row and a geometry each.
        let gj_path = dir.path().join(format!("{what:?}.geojson"));
        common::export(&ctx, what, None, None, Format::Geojson, Some(&gj_path))
            .unwrap_or_else(|e| panic!("{what:?}: {e}"));
        let text = std::fs::read_to_string(&gj_path).unwrap_or_else(|e| panic!("{e}"));
        let fc: geojson::FeatureCollection =
            text.parse().unwrap_or_else(|e| panic!("{what:?}: {e}"));
        assert_eq!(fc.features.len(), rows, "{what:?}");
        assert!(fc.features.iter().all(|f| f.geometry.is_some()), "{what:?}");
        if has_cells {
            assert!(fc
                .features
                .iter()
                .all(|f| f.property("h3").and_then(|v| v.as_str()).is_some()));
        }

        // Parquet: readable, same row count, `h3` column.
        let pq_path = dir.path().join(format!("{what:?}.parquet"));
        common::export(&ctx, what, None, None, Format::Parquet, Some(&pq_path))
            .unwrap_or_else(|e| panic!("{what:?}: {e}"));
        let df = vigil::store::read_parquet(&pq_path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(df.height(), rows, "{what:?}");
        assert_eq!(df.column("h3").is_ok(), has_cells, "{what:?}");
    }
    let err = common::export(
        &ctx,
        What::Grid,
        Some("2001-01-01"),
        None,
        Format::Csv,
        None,
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("no snapshot for 2001-01-01"), "{err}");
    let err = common::export(&ctx, What::Grid, Some("yesterday"), None, Format::Csv, None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("--date") && err.contains("yesterday"), "{err}");
    assert!(!date.is_empty());
}

#[test]
fn rollups_sum_to_the_grid_at_every_level() {
    let (dir, ctx, _) = common::scored_store();
    let total = |path: &std::path::Path, column: &str| -> (usize, f64) {
        let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{e}"));
        let headers = reader.headers().cloned().unwrap_or_default();
        let j = headers
            .iter()
            .position(|h| h == column)
            .unwrap_or_else(|| panic!("no {column} in {headers:?}"));
        let mut rows = 0;
        let mut sum = 0.0;
        for r in reader.records().filter_map(Result::ok) {
            rows += 1;
            sum += r.get(j).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        }
        (rows, sum)
    };
    let grid = dir.path().join("grid.csv");
    common::export(&ctx, What::Grid, None, None, Format::Csv, Some(&grid))
        .unwrap_or_else(|e| panic!("{e}"));
    let (cells, events) = total(&grid, "events");
    let (_, population) = total(&grid, "population");
    for level in ["res6", "res5", "ADM1"] {
        let out = dir.path().join(format!("{level}.csv"));
        common::export(
            &ctx,
            What::Rollup,
            None,
            Some(level),
            Format::Csv,
            Some(&out),
        )
        .unwrap_or_else(|e| panic!("{level}: {e}"));
        let (units, n) = total(&out, "cells");
        assert!(units > 1 && units < cells, "{level}: {units} units");
        assert_eq!(n as usize, cells, "{level}: every cell once");
        assert_eq!(total(&out, "events").1, events, "{level}");
        let p = total(&out, "population").1;
        assert!(
            (p - population).abs() < 1e-6 * population,
            "{level}: {p} vs {population}"
        );
    }
    let gj = dir.path().join("adm1.geojson");
    common::export(
        &ctx,
        What::Rollup,
        None,
        Some("ADM1"),
        Format::Geojson,
        Some(&gj),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(&gj).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let features = v["features"].as_array().cloned().unwrap_or_default();
    assert!(!features.is_empty());
    assert!(features.iter().all(|f| f["geometry"]["type"].is_string()));
    let err = common::export(&ctx, What::Rollup, None, Some("res9"), Format::Csv, None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("res9") && err.contains("ADM1"), "{err}");
    let err = common::export(&ctx, What::Grid, None, Some("res6"), Format::Csv, None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("rollup"), "{err}");
    let err = common::export(&ctx, What::Rollup, None, None, Format::Csv, None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("--level"), "{err}");
}
