//! `vigil export`: every table in every format carries cells as H3 strings in `h3`.

mod common;

use vigil::commands;
use vigil::export::{Format, What};

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
        commands::export(&ctx, what, None, Format::Csv, Some(&csv_path))
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
        commands::export(&ctx, what, None, Format::Geojson, Some(&gj_path))
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
        commands::export(&ctx, what, None, Format::Parquet, Some(&pq_path))
            .unwrap_or_else(|e| panic!("{what:?}: {e}"));
        let df = vigil::store::read_parquet(&pq_path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(df.height(), rows, "{what:?}");
        assert_eq!(df.column("h3").is_ok(), has_cells, "{what:?}");
    }
    let err = commands::export(&ctx, What::Grid, Some("2001-01-01"), Format::Csv, None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("no snapshot for 2001-01-01"), "{err}");
    let err = commands::export(&ctx, What::Grid, Some("yesterday"), Format::Csv, None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("--date") && err.contains("yesterday"), "{err}");
    assert!(!date.is_empty());
}
