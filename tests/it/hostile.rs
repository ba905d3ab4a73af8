//! Hostile and implausible inputs (issue 12): each ends quickly with a clear message and
//! the store unchanged, or is reported row by row. Every file is generated here.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn vigil(store: &Path, args: &[&str]) -> (Output, Duration) {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .env_remove("VIGIL_STORE")
        .env_remove("VIGIL_CONFIG")
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    (out, t.elapsed())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("{e}"));
    p
}

/// Ingests `file` as `kind` into a scored sample store; expects a refusal within 5 s whose
/// message contains `needle`, and the store byte for byte as before.
fn refused(kind: &str, file: &Path, needle: &str) {
    let (_dir, ctx, _) = common::scored_store();
    let before = common::tree(&ctx.store);
    let (out, took) = vigil(&ctx.store, &["ingest", kind, &file.display().to_string()]);
    let err = String::from_utf8_lossy(&out.stderr);
    println!(
        "{kind} {}: {:.2} s: {}",
        file.display(),
        took.as_secs_f64(),
        err.trim()
    );
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let after: Vec<_> = common::tree(&ctx.store)
        .into_iter()
        .filter(|(f, _)| !f.starts_with("rejects/"))
        .collect();
    let before: Vec<_> = before
        .into_iter()
        .filter(|(f, _)| !f.starts_with("rejects/"))
        .collect();
    assert!(before == after, "the store changed");
}

/// A little-endian TIFF header declaring `w` × `h` float pixels and no pixel data.
fn huge_tiff(w: u32, h: u32) -> Vec<u8> {
    let entries: [(u16, u16, u32, u32); 10] = [
        (256, 4, 1, w),  // ImageWidth
        (257, 4, 1, h),  // ImageLength
        (258, 3, 1, 32), // BitsPerSample
        (259, 3, 1, 1),  // Compression: none
        (262, 3, 1, 1),  // Photometric
        (273, 4, 1, 8),  // StripOffsets
        (277, 3, 1, 1),  // SamplesPerPixel
        (278, 4, 1, h),  // RowsPerStrip
        (279, 4, 1, 4),  // StripByteCounts
        (339, 3, 1, 3),  // SampleFormat: float
    ];
    let mut b = Vec::new();
    b.extend_from_slice(b"II*\0");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&[0u8; 8]);
    b.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, typ, count, value) in entries {
        b.extend_from_slice(&tag.to_le_bytes());
        b.extend_from_slice(&typ.to_le_bytes());
        b.extend_from_slice(&count.to_le_bytes());
        if typ == 3 {
            b.extend_from_slice(&(value as u16).to_le_bytes());
            b.extend_from_slice(&[0, 0]);
        } else {
            b.extend_from_slice(&value.to_le_bytes());
        }
    }
    b.extend_from_slice(&0u32.to_le_bytes());
    b
}

#[test]
fn a_tiny_geotiff_declaring_ten_billion_pixels_is_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let tif = huge_tiff(100_000, 100_000);
    assert!(tif.len() < 300);
    let f = write(dir.path(), "chirps-v2.0.2023.07.tif", &tif);
    refused("population", &f, "ingest.max_raster_bytes");
    refused("climate", &f, "ingest.max_raster_bytes");
}

#[test]
fn an_areas_polygon_across_the_antimeridian_written_past_180_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let gj = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"shapeName":"Over the line"},
      "geometry":{"type":"Polygon","coordinates":[[[179.5,-1],[180.5,-1],[180.5,1],[179.5,1],[179.5,-1]]]}}]}"#;
    let f = write(dir.path(), "dateline.geojson", gj.as_bytes());
    refused("areas", &f, "outside longitude");
}

#[test]
fn a_ten_megabyte_property_rejects_its_feature_quickly() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let big = "x".repeat(10 << 20);
    let gj = format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"shapeName":"{big}"}},
      "geometry":{{"type":"Polygon","coordinates":[[[21.0,6.5],[21.2,6.5],[21.2,6.7],[21.0,6.7],[21.0,6.5]]]}}}}]}}"#
    );
    let f = write(dir.path(), "bigprop.geojson", gj.as_bytes());
    refused("areas", &f, "property too long");
}

#[test]
fn areas_that_would_fill_more_than_max_cells_are_refused_with_the_count() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // Most of Africa at resolution 7: ~6 million km², well over a million cells.
    let gj = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"shapeName":"Continent"},
      "geometry":{"type":"Polygon","coordinates":[[[-10,-20],[40,-20],[40,20],[-10,20],[-10,-20]]]}}]}"#;
    let f = write(dir.path(), "continent.geojson", gj.as_bytes());
    let (_d, ctx, _) = common::scored_store();
    let cfg = write(dir.path(), "small.toml", b"[grid]\nmax_cells = 1000000\n");
    let (out, took) = vigil(
        &ctx.store,
        &[
            "--config",
            &cfg.display().to_string(),
            "ingest",
            "areas",
            &f.display().to_string(),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    println!("continent: {:.2} s: {}", took.as_secs_f64(), err.trim());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("grid.max_cells = 1000000") && err.contains("would fill about"),
        "{err}"
    );
    assert!(took < Duration::from_secs(5));
}

#[test]
fn population_cells_at_resolution_0_that_spread_past_max_cells_are_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut csv = String::from("h3,population\n");
    for c in h3o::CellIndex::base_cells() {
        csv.push_str(&format!("{c},1000\n"));
    }
    assert!(csv.len() < 4_000);
    let f = write(dir.path(), "res0.csv", csv.as_bytes());
    refused("population", &f, "more than grid.max_cells = 20000000");
}

#[test]
fn a_stray_quote_in_the_population_file_is_refused_naming_the_swallowed_lines() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(common::sample_dir().join("population.csv"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert!(lines.len() > 5_001);
    lines[5_000] = format!("\"{}", lines[5_000]);
    let f = write(
        dir.path(),
        "stray.csv",
        (lines.join("\n") + "\n").as_bytes(),
    );
    refused("population", &f, "unterminated quote");
}

#[test]
fn implausible_events_are_rejects_and_duplicates_in_a_file_are_named() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut csv =
        String::from("event_id_cnty,event_date,event_type,latitude,longitude,fatalities\n");
    for i in 0..100 {
        csv.push_str(&format!(
            "OK{i},2024-03-{:02},Battles,6.5,21.1,1\n",
            1 + i % 28
        ));
    }
    csv.push_str("OK7,2024-03-08,Battles,6.5,21.1,2\n"); // the same id again
    csv.push_str("F1,9999-12-31,Battles,6.5,21.1,0\n");
    csv.push_str("F2,1800-01-01,Battles,6.5,21.1,0\n");
    csv.push_str("F3,2024-03-01,Battles,6.5,21.1,1e30\n");
    csv.push_str("F4,2024-03-01,Battles,6.5,21.1,2.5\n");
    let f = write(dir.path(), "odd.csv", csv.as_bytes());
    let cfg = write(
        dir.path(),
        "lenient.toml",
        b"[ingest]\nmax_reject_share = 0.5\n",
    );
    let store = dir.path().join("store");
    let (out, _) = vigil(
        &store,
        &[
            "--config",
            &cfg.display().to_string(),
            "ingest",
            "acled",
            &f.display().to_string(),
        ],
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "105 rows read, 100 accepted, 4 rejected, 0 already stored",
        "1 rows repeat the id of an earlier row of the same file",
        "rejected (date in the future): 1",
        "rejected (date before 1946): 1",
        "rejected (implausible fatalities): 1",
        "rejected (fractional fatalities): 1",
    ] {
        assert!(report.contains(needle), "expected `{needle}` in:\n{report}");
    }
    // A plain `vigil score` never picks a day after today.
    let (out, _) = vigil(&store, &["score"]);
    assert!(out.status.success());
    let s = vigil::store::Store::open(&store, 7).unwrap_or_else(|e| panic!("{e}"));
    let latest = s.latest_snapshot().unwrap_or_default().to_owned();
    assert!(
        latest <= vigil::model::day::format_date(vigil::model::day::today()),
        "{latest}"
    );
}

#[test]
fn a_header_naming_a_column_twice_is_an_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let f = write(
        dir.path(),
        "dup.csv",
        b"event_id_cnty,event_date,event_type,latitude,longitude,fatalities,Fatalities\nA,2024-01-01,Battles,6.5,21,1,2\n",
    );
    refused("acled", &f, "names column `fatalities` twice");
}

#[test]
fn an_area_with_no_cell_or_an_invalid_polygon_is_a_warning_naming_the_feature() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let gj = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"shapeName":"Speck"},
       "geometry":{"type":"Polygon","coordinates":[[[21.0,6.5],[21.0001,6.5],[21.0001,6.5001],[21.0,6.5]]]}},
      {"type":"Feature","properties":{"shapeName":"Bowtie"},
       "geometry":{"type":"Polygon","coordinates":[[[21.0,6.5],[21.3,6.8],[21.3,6.5],[21.0,6.8],[21.0,6.5]]]}}]}"#;
    let f = write(dir.path(), "odd.geojson", gj.as_bytes());
    let store = dir.path().join("store");
    let (out, _) = vigil(&store, &["ingest", "areas", &f.display().to_string()]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.contains("warning: feature 1 (Speck): no cell centre"),
        "{report}"
    );
    assert!(
        report.contains("warning: feature 2 (Bowtie): invalid polygon"),
        "{report}"
    );
}
