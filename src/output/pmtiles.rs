//! PMTiles version 3: a single-file archive of vector tiles addressed by Hilbert tile ids
//! (a 127-byte header, a root directory, JSON metadata, optional leaf directories, then
//! the tile data), which MapLibre (with the `pmtiles` protocol), QGIS and GDAL read from a
//! file or by HTTP range requests — the day's map for a place without a server.

use crate::config::Config;
use crate::model::layer::Layer;
use crate::model::rows::Base;
use crate::model::visibility::Audience;
use crate::output::mvt::{encode_tile, TileId};
use crate::output::tiles::{base_features, build_units, cell_features, data_max_zoom};
use crate::output::tiles::{resolution_for_zoom, TileUnit};
use crate::store::snapshot::Snapshot;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The Hilbert tile id of `z/x/y`: the tiles of the lower zooms first, then the position
/// of `(x, y)` along the Hilbert curve of zoom `z`.
pub fn tile_id(z: u8, x: u32, y: u32) -> u64 {
    let mut acc: u64 = ((1u64 << (2 * u32::from(z))) - 1) / 3;
    let (mut x, mut y) = (u64::from(x), u64::from(y));
    let mut s: u64 = if z == 0 { 0 } else { 1 << (z - 1) };
    while s > 0 {
        let rx = u64::from(x & s > 0);
        let ry = u64::from(y & s > 0);
        acc += s * s * ((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = s.wrapping_mul(2).wrapping_sub(1).wrapping_sub(x);
                y = s.wrapping_mul(2).wrapping_sub(1).wrapping_sub(y);
            }
            std::mem::swap(&mut x, &mut y);
        }
        s >>= 1;
    }
    acc
}

/// A directory entry: tiles `tile_id .. tile_id + run_length` share the bytes at `offset`
/// (`run_length` 0: a leaf directory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    tile_id: u64,
    offset: u64,
    length: u32,
    run_length: u32,
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A directory, column by column, as the specification lays it out.
fn directory(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 6 + 4);
    varint(&mut out, entries.len() as u64);
    let mut last = 0;
    for e in entries {
        varint(&mut out, e.tile_id - last);
        last = e.tile_id;
    }
    for e in entries {
        varint(&mut out, u64::from(e.run_length));
    }
    for e in entries {
        varint(&mut out, u64::from(e.length));
    }
    for (i, e) in entries.iter().enumerate() {
        let follows = i > 0 && {
            let p = entries[i - 1];
            e.offset == p.offset + u64::from(p.length)
        };
        varint(&mut out, if follows { 0 } else { e.offset + 1 });
    }
    out
}

/// The header and root directory must fit in the first 16 KiB.
const ROOT_LIMIT: usize = 16_384 - 127;

/// Gzip, the archive's internal compression (directories and metadata).
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// The root directory, and the leaf directories when all entries do not fit in the root,
/// each gzipped.
fn directories(entries: &[Entry]) -> (Vec<u8>, Vec<u8>) {
    let root = gzip(&directory(entries));
    if root.len() <= ROOT_LIMIT {
        return (root, Vec::new());
    }
    let mut per_leaf = 4096;
    loop {
        let mut leaves = Vec::new();
        let mut root_entries = Vec::new();
        for chunk in entries.chunks(per_leaf) {
            let leaf = gzip(&directory(chunk));
            root_entries.push(Entry {
                tile_id: chunk[0].tile_id,
                offset: leaves.len() as u64,
                length: u32::try_from(leaf.len()).unwrap_or(u32::MAX),
                run_length: 0,
            });
            leaves.extend_from_slice(&leaf);
        }
        let root = gzip(&directory(&root_entries));
        if root.len() <= ROOT_LIMIT {
            return (root, leaves);
        }
        per_leaf *= 2;
    }
}

/// An archive being built: tiles added in any order, identical tiles stored once.
#[derive(Debug, Default)]
pub struct Archive {
    tiles: Vec<(u64, Vec<u8>)>,
}

/// What the header says of the tiles besides their addresses.
#[derive(Debug, Clone)]
pub struct Header {
    /// Lowest zoom.
    pub min_zoom: u8,
    /// Highest zoom.
    pub max_zoom: u8,
    /// `[west, south, east, north]`.
    pub bounds: [f64; 4],
    /// Initial zoom of a viewer.
    pub center_zoom: u8,
}

impl Archive {
    /// Adds the tile `z/x/y`.
    pub fn add(&mut self, z: u8, x: u32, y: u32, bytes: Vec<u8>) {
        self.tiles.push((tile_id(z, x, y), bytes));
    }

    /// Number of tiles added.
    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    /// No tile added.
    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }

    /// The archive's bytes: uncompressed MVT tiles (as the server's identity encoding),
    /// gzipped directories and JSON metadata.
    pub fn finish(mut self, header: &Header, metadata: &Value) -> Vec<u8> {
        self.tiles.sort_by_key(|t| t.0);
        self.tiles.dedup_by_key(|t| t.0);
        let mut data: Vec<u8> = Vec::new();
        let mut seen: HashMap<&[u8], (u64, u32)> = HashMap::new();
        let mut entries: Vec<Entry> = Vec::new();
        for (id, bytes) in &self.tiles {
            let (offset, length) = *seen.entry(bytes.as_slice()).or_insert_with(|| {
                let at = data.len() as u64;
                data.extend_from_slice(bytes);
                (at, u32::try_from(bytes.len()).unwrap_or(u32::MAX))
            });
            match entries.last_mut() {
                Some(last)
                    if last.offset == offset
                        && last.tile_id + u64::from(last.run_length) == *id =>
                {
                    last.run_length += 1;
                }
                _ => entries.push(Entry {
                    tile_id: *id,
                    offset,
                    length,
                    run_length: 1,
                }),
            }
        }
        let (root, leaves) = directories(&entries);
        let meta = gzip(metadata.to_string().as_bytes());
        let root_at = 127u64;
        let meta_at = root_at + root.len() as u64;
        let leaves_at = meta_at + meta.len() as u64;
        let data_at = leaves_at + leaves.len() as u64;
        let mut out = Vec::with_capacity(data_at as usize + data.len());
        out.extend_from_slice(b"PMTiles");
        out.push(3);
        for v in [
            root_at,
            root.len() as u64,
            meta_at,
            meta.len() as u64,
            leaves_at,
            leaves.len() as u64,
            data_at,
            data.len() as u64,
            self.tiles.len() as u64,
            entries.len() as u64,
            seen.len() as u64,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        // Clustered (data in tile-id order), internal compression 2 = gzip, tile compression
        // 1 = none (the tiles as the server's identity encoding), tile type 1 = MVT.
        out.extend_from_slice(&[1, 2, 1, 1, header.min_zoom, header.max_zoom]);
        let e7 = |v: f64| ((v * 1e7).round() as i32).to_le_bytes();
        let b = header.bounds;
        for v in [b[0], b[1], b[2], b[3]] {
            out.extend_from_slice(&e7(v));
        }
        out.push(header.center_zoom);
        out.extend_from_slice(&e7((b[0] + b[2]) / 2.0));
        out.extend_from_slice(&e7((b[1] + b[3]) / 2.0));
        debug_assert_eq!(out.len(), 127);
        out.extend_from_slice(&root);
        out.extend_from_slice(&meta);
        out.extend_from_slice(&leaves);
        out.extend_from_slice(&data);
        out
    }
}

/// The tile column and row of a longitude and latitude at zoom `z` (Web Mercator).
fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let lat = lat.clamp(-85.0511, 85.0511).to_radians();
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    let max = n - 1.0;
    (x.clamp(0.0, max) as u32, y.clamp(0.0, max) as u32)
}

/// The layers of an archive for `audience`: risk; coverage gaps and bases with deployments.
pub fn layers_for(audience: Audience) -> Vec<Layer> {
    [Layer::Risk, Layer::CoverageGaps, Layer::Bases]
        .into_iter()
        .filter(|l| audience.may_read_layer(*l))
        .collect()
}

/// The tile `z/x/y` of a snapshot: the server's tile of each layer of `layers` (those with
/// features), one after the other. A vector tile is a list of layers, so the concatenation
/// of tiles is one tile holding all their layers, each byte for byte as `/tiles` serves it.
pub fn snapshot_tile(
    units: &[TileUnit],
    active: &[crate::coverage::ActiveBase<'_>],
    (res, layers): (u8, &[Layer]),
    tile: TileId,
    audience: Audience,
) -> Vec<u8> {
    let mut out = Vec::new();
    for layer in layers {
        let features = match layer {
            Layer::Bases => base_features(active, tile),
            _ => cell_features(units, res, *layer, tile, audience),
        };
        if let Some(bytes) = encode_tile(layer.id(), &features) {
            out.extend_from_slice(&bytes);
        }
    }
    out
}

/// The archive of a snapshot's tiles from zoom 0 to the zoom of the grid's own cells, over
/// its extent, with the layers `audience` may see.
pub fn snapshot_archive(
    snap: &Snapshot,
    bases: &[Base],
    config: &Config,
    audience: Audience,
) -> Result<Vec<u8>, crate::analysis::rollup::RollupError> {
    let base = config.grid.resolution;
    let max_zoom = data_max_zoom(base);
    let layers = layers_for(audience);
    let active = crate::coverage::snapshot_bases(bases, snap, &config.coverage);
    let b = crate::output::shape::extent(
        snap.cells
            .iter()
            .filter_map(|r| crate::grid::cell_from_u64(r.cell).ok())
            .map(crate::output::shape::Shape::cell)
            .collect::<Vec<_>>()
            .iter(),
    )
    .unwrap_or([-180.0, -85.0, 180.0, 85.0]);
    let mut archive = Archive::default();
    let mut units_at: HashMap<u8, Vec<TileUnit>> = HashMap::new();
    for z in 0..=max_zoom {
        let res = resolution_for_zoom(z, base);
        let units = match units_at.entry(res) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(build_units(&snap.cells, res, base)?)
            }
        };
        let units = units.as_slice();
        let (x0, y0) = tile_of(b[0], b[3], z);
        let (x1, y1) = tile_of(b[2], b[1], z);
        // One tile more on every side: the buffer of a neighbour may reach the extent.
        let last = (1u32 << z) - 1;
        for x in x0.saturating_sub(1)..=(x1 + 1).min(last) {
            for y in y0.saturating_sub(1)..=(y1 + 1).min(last) {
                let Some(tile) = TileId::new(z, x, y) else {
                    continue;
                };
                let bytes = snapshot_tile(units, &active, (res, &layers), tile, audience);
                if !bytes.is_empty() {
                    archive.add(z, x, y, bytes);
                }
            }
        }
    }
    let fields = json!({"h3": "String", "resolution": "Number", "risk": "Number", "risk_mean": "Number", "tier": "String", "cells": "Number", "high_cells": "Number", "population": "Number"});
    let vector_layers: Vec<Value> = layers
        .iter()
        .map(|l| json!({"id": l.id(), "minzoom": 0, "maxzoom": max_zoom, "fields": if *l == Layer::Bases {
            json!({"id": "String", "mission": "String", "location": "String", "troops": "Number", "reach_km": "Number", "protects": "Boolean"})
        } else { fields.clone() }}))
        .collect();
    let metadata = json!({
        "name": format!("Vigil {}", snap.date),
        "description": format!("Vigil snapshot {} ({})", snap.date, snap.info.sha256),
        "attribution": snap.attribution.join("; "),
        "type": "overlay",
        "format": "pbf",
        "date": snap.date,
        "version": snap.info.sha256,
        "vector_layers": vector_layers,
    });
    let header = Header {
        min_zoom: 0,
        max_zoom,
        bounds: b,
        center_zoom: max_zoom.saturating_sub(3),
    };
    Ok(archive.finish(&header, &metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_ids_follow_the_hilbert_curve() {
        assert_eq!(tile_id(0, 0, 0), 0);
        assert_eq!(tile_id(1, 0, 0), 1);
        assert_eq!(tile_id(1, 0, 1), 2);
        assert_eq!(tile_id(1, 1, 1), 3);
        assert_eq!(tile_id(1, 1, 0), 4);
        assert_eq!(tile_id(2, 0, 0), 5);
        // Values of the specification's reference implementation.
        assert_eq!(tile_id(12, 3423, 1763), 19_078_479);
        assert_eq!(tile_id(3, 3, 3), 31);
        // Every tile of a zoom once, in the zoom's range.
        let mut ids: Vec<u64> = (0..16)
            .flat_map(|x| (0..16).map(move |y| tile_id(4, x, y)))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 256);
        assert_eq!((ids[0], ids[255]), (85, 340));
    }

    #[test]
    fn a_directory_is_column_oriented_with_contiguous_offsets_elided() {
        let e = |tile_id, offset, length| Entry {
            tile_id,
            offset,
            length,
            run_length: 1,
        };
        let d = directory(&[e(1, 0, 10), e(2, 10, 5), e(5, 0, 10)]);
        assert_eq!(d, [3, 1, 1, 3, 1, 1, 1, 10, 5, 10, 1, 0, 1]);
    }

    #[test]
    fn identical_tiles_are_stored_once_and_runs_merge() {
        let mut a = Archive::default();
        a.add(1, 0, 0, vec![7; 3]);
        a.add(1, 0, 1, vec![7; 3]);
        a.add(1, 1, 0, vec![9; 2]);
        let header = Header {
            min_zoom: 1,
            max_zoom: 1,
            bounds: [-10.0, -5.0, 10.0, 5.0],
            center_zoom: 1,
        };
        let bytes = a.finish(&header, &json!({}));
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap());
        assert_eq!(&bytes[..8], b"PMTiles\x03");
        assert_eq!(u64_at(72), 3, "addressed tiles");
        assert_eq!(u64_at(80), 2, "entries: ids 1–2 one run, id 4");
        assert_eq!(u64_at(88), 2, "contents");
        assert_eq!(u64_at(64), 5, "tile data bytes");
        let data = u64_at(56) as usize;
        assert_eq!(&bytes[data..], &[7, 7, 7, 9, 9]);
        assert_eq!(
            i32::from_le_bytes(bytes[102..106].try_into().unwrap()),
            -100_000_000
        );
    }
}
