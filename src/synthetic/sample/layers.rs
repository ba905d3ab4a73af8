//! The static layers of the sample: admin boundaries (geoBoundaries-style GeoJSON),
//! population per cell and monthly rainfall.

use super::world::*;
use crate::grid::{cell_of, center, distance_km};
use crate::model::rand::SplitMix64;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A dividing line from south to north at longitude `x`, wavy but shared by both sides.
pub(super) fn divider(rng: &mut SplitMix64, x: f64) -> Vec<[f64; 2]> {
    let steps = 12;
    (0..=steps)
        .map(|i| {
            let lat = SOUTH + (NORTH - SOUTH) * i as f64 / steps as f64;
            let wiggle = if i == 0 || i == steps {
                0.0
            } else {
                0.06 * rng.normal()
            };
            [round6(x + wiggle), round6(lat)]
        })
        .collect()
}

pub(super) fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

pub(super) fn admin_geojson(rng: &mut SplitMix64) -> String {
    let west = vec![[WEST, SOUTH], [WEST, NORTH]];
    let east = vec![[EAST, SOUTH], [EAST, NORTH]];
    let mut lines = vec![west];
    for x in DIVIDERS {
        lines.push(divider(rng, x));
    }
    lines.push(east);
    let mut features = Vec::new();
    for (i, name) in PREFECTURES.iter().enumerate() {
        // Counter-clockwise: up the east line, back down the west line.
        let mut ring: Vec<[f64; 2]> = lines[i + 1].clone();
        ring.extend(lines[i].iter().rev().copied());
        ring.push(ring[0]);
        let coords: Vec<String> = ring
            .iter()
            .map(|p| format!("[{},{}]", p[0], p[1]))
            .collect();
        features.push(format!(
            "{{\"type\":\"Feature\",\"properties\":{{\"shapeName\":\"{name}\",\"shapeISO\":\"KD-{n:02}\",\"shapeID\":\"KDR-ADM1-{n}\",\"shapeGroup\":\"KDR\",\"shapeType\":\"ADM1\"}},\"geometry\":{{\"type\":\"Polygon\",\"coordinates\":[[{}]]}}}}",
            coords.join(","),
            n = i + 1
        ));
    }
    format!(
        "{{\"type\":\"FeatureCollection\",\"name\":\"Kandara ADM1 (synthetic)\",\"features\":[\n{}\n]}}\n",
        features.join(",\n")
    )
}

pub(super) fn population_csv(rng: &mut SplitMix64) -> String {
    let res = h3o::Resolution::Seven;
    let mut cells: BTreeMap<u64, f64> = BTreeMap::new();
    let step = 0.012;
    let mut lat = SOUTH;
    while lat < NORTH {
        let mut lon = WEST;
        while lon < EAST {
            if let Ok(c) = cell_of(lat, lon, res) {
                cells.entry(u64::from(c)).or_insert(0.0);
            }
            lon += step;
        }
        lat += step;
    }
    let mut out = String::from("h3,population\n");
    for (cell, _) in cells {
        let Ok(ci) = h3o::CellIndex::try_from(cell) else {
            continue;
        };
        let (clat, clon) = center(ci);
        if (RESERVE[0]..=RESERVE[2]).contains(&clon) && (RESERVE[1]..=RESERVE[3]).contains(&clat) {
            continue;
        }
        let mut pop = 25.0 * (1.0 + 0.5 * rng.normal()).max(0.1);
        for t in &TOWNS {
            let d = distance_km((clat, clon), (t.lat, t.lon));
            let sigma = 1.5 + t.people.sqrt() / 120.0;
            // Share of the town's people in a 5.16 km² cell of a Gaussian settlement.
            pop += t.people * 5.16 / (std::f64::consts::TAU * sigma * sigma)
                * (-(d * d) / (2.0 * sigma * sigma)).exp();
        }
        let pop = pop.round();
        if pop >= 1.0 {
            let _ = writeln!(out, "{ci},{pop}");
        }
    }
    out
}

pub(super) fn rainfall_csv(rng: &mut SplitMix64) -> String {
    // Monthly climatology (mm) of a Sudanian–Guinean savanna: rainy May–October.
    const NORMAL: [f64; 12] = [
        5.0, 15.0, 45.0, 95.0, 160.0, 185.0, 215.0, 245.0, 205.0, 150.0, 35.0, 8.0,
    ];
    let mut out = String::from("lat,lon,date,variable,value\n");
    let years: Vec<f64> = (0..3).map(|_| 1.0 + 0.12 * rng.normal()).collect();
    for (yi, year) in (FIRST_DAY.0..=LAST_DAY.0).enumerate() {
        for (m, normal) in NORMAL.iter().enumerate() {
            let mut lat = SOUTH + 0.125;
            while lat < NORTH {
                let mut lon = WEST + 0.125;
                while lon < EAST {
                    // Wetter in the south.
                    let gradient = 1.0 + 0.25 * (6.5 - lat);
                    let v = (normal * gradient * years[yi] * (1.0 + 0.15 * rng.normal())).max(0.0);
                    let _ = writeln!(
                        out,
                        "{lat:.3},{lon:.3},{year}-{:02}-01,precip_mm,{v:.1}",
                        m + 1
                    );
                    lon += 0.25;
                }
                lat += 0.25;
            }
        }
    }
    out
}
