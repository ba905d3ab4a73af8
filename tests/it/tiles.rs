//! Issue 6: vector tiles and TileJSON on the sample. Tiles are decoded here by a minimal
//! protobuf reader written from the MVT 2.1 specification, and — when gdal-bin is
//! installed (CI installs it) — by GDAL's MVT driver.

use crate::common;

use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::sync::{Arc, OnceLock};
use vigil::server::{self, AppState};

fn state() -> Arc<AppState> {
    static STORE: OnceLock<(tempfile::TempDir, vigil::app::Context)> = OnceLock::new();
    let (_, ctx) = STORE.get_or_init(|| {
        let (dir, ctx, _) = common::scored_store();
        (dir, ctx)
    });
    server::load_state(&ctx.store, vigil::config::Config::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn get(
    s: &Arc<AppState>,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let a = common::call(s, axum::http::Method::GET, uri, headers, None).await;
    (a.status, a.headers, a.body)
}

// --- a minimal MVT reader -------------------------------------------------------------

fn varint(b: &[u8], i: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    while *i < b.len() {
        let byte = b[*i];
        *i += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            break;
        }
        shift += 7;
    }
    v
}

/// (field, wire type, varint value or bytes) of each field of a message.
fn fields(b: &[u8]) -> Vec<(u64, u64, u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let key = varint(b, &mut i);
        let (field, wire) = (key >> 3, key & 7);
        match wire {
            0 => out.push((field, wire, varint(b, &mut i), Vec::new())),
            1 => {
                out.push((field, wire, 0, b[i..i + 8].to_vec()));
                i += 8;
            }
            2 => {
                let n = varint(b, &mut i) as usize;
                out.push((field, wire, 0, b[i..i + n].to_vec()));
                i += n;
            }
            w => panic!("unexpected wire type {w}"),
        }
    }
    out
}

pub(crate) struct Layer {
    pub(crate) name: String,
    pub(crate) version: u64,
    pub(crate) extent: u64,
    pub(crate) keys: Vec<String>,
    /// Per feature: its properties (key → string form of the value) and geometry type.
    pub(crate) features: Vec<(BTreeMap<String, String>, u64)>,
}

pub(crate) fn decode(tile: &[u8]) -> Vec<Layer> {
    fields(tile)
        .into_iter()
        .filter(|f| f.0 == 3)
        .map(|(_, _, _, body)| {
            let fs = fields(&body);
            let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
            let keys: Vec<String> = fs.iter().filter(|f| f.0 == 3).map(|f| text(&f.3)).collect();
            let values: Vec<String> = fs
                .iter()
                .filter(|f| f.0 == 4)
                .map(|f| {
                    let v = fields(&f.3);
                    match v.first() {
                        Some((1, _, _, s)) => text(s),
                        Some((3, _, _, d)) => {
                            f64::from_le_bytes(d[..8].try_into().unwrap_or([0; 8])).to_string()
                        }
                        Some((6, _, z, _)) => (((*z >> 1) as i64) ^ -((*z & 1) as i64)).to_string(),
                        Some((7, _, b, _)) => (*b == 1).to_string(),
                        other => panic!("value {other:?}"),
                    }
                })
                .collect();
            let features = fs
                .iter()
                .filter(|f| f.0 == 2)
                .map(|f| {
                    let ff = fields(&f.3);
                    let mut props = BTreeMap::new();
                    let mut kind = 0;
                    for (field, _, v, bytes) in ff {
                        if field == 2 {
                            let mut i = 0;
                            let mut tags = Vec::new();
                            while i < bytes.len() {
                                tags.push(varint(&bytes, &mut i) as usize);
                            }
                            for kv in tags.chunks(2) {
                                props.insert(keys[kv[0]].clone(), values[kv[1]].clone());
                            }
                        }
                        if field == 3 {
                            kind = v;
                        }
                    }
                    (props, kind)
                })
                .collect();
            Layer {
                name: fs
                    .iter()
                    .find(|f| f.0 == 1)
                    .map(|f| text(&f.3))
                    .unwrap_or_default(),
                version: fs.iter().find(|f| f.0 == 15).map_or(0, |f| f.2),
                extent: fs.iter().find(|f| f.0 == 5).map_or(0, |f| f.2),
                keys,
                features,
            }
        })
        .collect()
}

// --------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_cover_the_grid_without_seams_and_decode() {
    let s = state();
    // Zoom 7 (H3 res 5): every tile over the sample's area.
    let mut seen: BTreeMap<String, i64> = BTreeMap::new();
    let mut tiles = 0;
    for x in 70..=73 {
        for y in 59..=63 {
            let (status, headers, body) = get(&s, &format!("/tiles/risk/7/{x}/{y}.mvt"), &[]).await;
            if status == StatusCode::NO_CONTENT {
                assert!(body.is_empty());
                continue;
            }
            assert_eq!(status, StatusCode::OK, "7/{x}/{y}");
            assert_eq!(
                headers["content-type"],
                "application/vnd.mapbox-vector-tile"
            );
            tiles += 1;
            let layers = decode(&body);
            assert_eq!(layers.len(), 1);
            let l = &layers[0];
            assert_eq!((l.name.as_str(), l.version, l.extent), ("risk", 2, 4096));
            for k in ["h3", "risk", "tier", "cells", "population"] {
                assert!(l.keys.iter().any(|x| x == k), "{k}");
            }
            for (props, kind) in &l.features {
                assert_eq!(*kind, 3, "polygons");
                assert_eq!(props["resolution"], "5");
                let cells: i64 = props["cells"].parse().unwrap_or(0);
                if let Some(prev) = seen.insert(props["h3"].clone(), cells) {
                    assert_eq!(prev, cells, "the same unit in two tiles is the same unit");
                }
            }
        }
    }
    assert!(tiles >= 2, "the sample spans several zoom-7 tiles");
    // No seams and no holes: every grid cell is in exactly one res-5 unit drawn somewhere.
    assert_eq!(seen.values().sum::<i64>(), 10_476);
    let snap = &s.current().snapshot;
    let parents: BTreeSet<String> = snap
        .cells
        .iter()
        .filter_map(|r| vigil::grid::cell_from_u64(r.cell).ok())
        .filter_map(|c| c.parent(h3o::Resolution::Five))
        .map(|c| c.to_string())
        .collect();
    assert_eq!(parents, seen.keys().cloned().collect::<BTreeSet<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tile_http_behaviour() {
    let s = state();
    let (st, _, _) = get(&s, "/tiles/risk/7/0/0.mvt", &[]).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "empty tile");
    for uri in [
        "/tiles/risk/7/200/0.mvt",
        "/tiles/risk/17/0/0.mvt",
        "/tiles/risk/-1/0/0.mvt",
        "/tiles/risk/7/71/61.png",
        "/tiles/risk/7/71/x.mvt",
        "/tiles/roads/7/71/61.mvt",
    ] {
        let (st, h, _) = get(&s, uri, &[]).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(h["content-type"], "application/problem+json");
    }
    let (_, _, plain) = get(&s, "/tiles/risk/7/71/61.mvt", &[]).await;
    let (st, h, gz) = get(
        &s,
        "/tiles/risk/7/71/61.mvt",
        &[("accept-encoding", "gzip, br")],
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(h["content-encoding"], "gzip");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut unzipped)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unzipped, plain);
    assert!(gz.len() < plain.len());
    // Versioned URLs (as TileJSON gives them) are immutable; ETag/304 as everywhere.
    let tj: Value = serde_json::from_slice(&get(&s, "/tiles/risk/tilejson.json", &[]).await.2)
        .unwrap_or_default();
    let template = tj["tiles"][0].as_str().unwrap_or_default().to_owned();
    let url = template
        .trim_start_matches("http://vigil.test")
        .replace("{z}", "7")
        .replace("{x}", "71")
        .replace("{y}", "61");
    let (st, h, _) = get(&s, &url, &[]).await;
    assert_eq!(st, StatusCode::OK);
    assert!(h["cache-control"]
        .to_str()
        .unwrap_or_default()
        .contains("immutable"));
    let etag = h["etag"].to_str().unwrap_or_default().to_owned();
    let (st, _, _) = get(&s, &url, &[("if-none-match", &etag)]).await;
    assert_eq!(st, StatusCode::NOT_MODIFIED);
    // Gaps and bases layers.
    // The zoom-10 tile of a known gap cell holds it, and only gap units.
    let gap = s
        .current()
        .snapshot
        .cells
        .iter()
        .find(|r| r.flags.gap)
        .map(|r| (r.cell, r.lat, r.lon))
        .unwrap_or_else(|| panic!("the sample has gaps"));
    let n = 1024.0;
    let x = ((gap.2 + 180.0) / 360.0 * n).floor();
    let lat = gap.1.to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    let (st, _, gaps) = get(&s, &format!("/tiles/coverage-gaps/10/{x}/{y}.mvt"), &[]).await;
    assert_eq!(st, StatusCode::OK);
    let features = &decode(&gaps)[0].features;
    let h3 = vigil::grid::cell_from_u64(gap.0)
        .map(|c| c.to_string())
        .unwrap_or_default();
    assert!(features.iter().any(|(p, _)| p["h3"] == h3), "{h3}");
    for (props, _) in features {
        assert!(props["gap_cells"].parse::<i64>().unwrap_or(0) > 0);
    }
    let (st, _, bases) = get(&s, "/tiles/bases/5/17/15.mvt", &[]).await;
    assert_eq!(st, StatusCode::OK);
    let l = &decode(&bases)[0];
    assert_eq!(l.name, "bases");
    assert!(l.features.iter().all(|(_, k)| *k == 1), "points");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tilejson_is_valid_tilejson_3() {
    let s = state();
    for layer in ["risk", "coverage-gaps", "bases"] {
        let (st, _, body) = get(&s, &format!("/tiles/{layer}/tilejson.json"), &[]).await;
        assert_eq!(st, StatusCode::OK);
        let tj: Value = serde_json::from_slice(&body).unwrap_or_default();
        // The required members of TileJSON 3.0.0 and the types it gives the others.
        assert_eq!(tj["tilejson"], "3.0.0");
        let tiles = tj["tiles"].as_array().cloned().unwrap_or_default();
        assert!(
            !tiles.is_empty()
                && tiles
                    .iter()
                    .all(|t| t.as_str().is_some_and(|u| u.contains("{z}/{x}/{y}")))
        );
        let vl = tj["vector_layers"].as_array().cloned().unwrap_or_default();
        assert_eq!(vl.len(), 1);
        assert_eq!(vl[0]["id"], layer);
        assert!(vl[0]["fields"]
            .as_object()
            .is_some_and(|f| f.values().all(Value::is_string)));
        let (minz, maxz) = (
            tj["minzoom"].as_u64().unwrap_or(99),
            tj["maxzoom"].as_u64().unwrap_or(0),
        );
        assert!(minz <= maxz && maxz <= 30);
        // The sample's grid is H3 resolution 7, drawn cell for cell from zoom 9 on.
        assert_eq!(maxz, 9, "TileJSON ends where the data do");
        assert_eq!(vl[0]["maxzoom"], 9);
        let b: Vec<f64> = tj["bounds"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        assert!(b.len() == 4 && b[0] < b[2] && b[1] < b[3] && b[0] >= -180.0 && b[3] <= 90.0);
        assert_eq!(tj["center"].as_array().map(Vec::len), Some(3));
        assert!(tj["attribution"].is_string() && tj["scheme"] == "xyz");
    }
    let (st, _, _) = get(&s, "/tiles/roads/tilejson.json", &[]).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdal_reads_the_tile() {
    if std::process::Command::new("ogrinfo")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("VIGIL_REQUIRE_GDAL").is_none(),
            "ogrinfo missing"
        );
        eprintln!("skipping: ogrinfo (gdal-bin) is not installed");
        return;
    }
    let s = state();
    let (_, _, body) = get(&s, "/tiles/risk/7/71/61.mvt", &[]).await;
    let ours = decode(&body)[0].features.len();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // GDAL takes z/x/y from the path.
    let path = dir.path().join("7/71/61.mvt");
    std::fs::create_dir_all(dir.path().join("7/71")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&path, &body).unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new("ogrinfo")
        .args(["-ro", "-so", &path.display().to_string(), "risk"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("Feature Count: {ours}")),
        "{ours} in {text}"
    );
    for field in ["h3: String", "risk: Real", "tier: String", "cells: Integer"] {
        assert!(text.contains(field), "{field} in {text}");
    }
    assert!(text.contains("Pseudo-Mercator"));
}
