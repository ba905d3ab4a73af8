//! Deterministic synthetic sample: a fictional mission area ("Kandara", mission MINUKA)
//! placed in real coordinates in Central Africa, three years of daily history, written in
//! the real file formats (ACLED, UCDP GED, Geo-PKO v2, `h3,population`, tidy rainfall,
//! geoBoundaries-style GeoJSON). Nothing in it is real data.
//!
//! Violence follows a self-exciting (Hawkes) process: background events around hotspots,
//! each event triggering offspring nearby in space and time, with reprisals against
//! civilians after clashes and fewer events in the rainy season. Temporary operating bases
//! open near recent violence, so deployments lag risk as they do in practice.

mod deployments;
mod events_csv;
mod layers;
mod violence;
mod world;

use deployments::geopko_csv;
use events_csv::{acled_csv, ucdp_csv};
use layers::{admin_geojson, population_csv, rainfall_csv};
use violence::{make_event, pick_kind, simulate, SimEvent};
use world::*;

use crate::model::rand::SplitMix64;
use std::path::Path;

/// Errors of the sample generator.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// Writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The seed of the committed sample.
pub const DEFAULT_SEED: u64 = 7;

/// File names of the sample, in ingest order, with their ingest kind.
pub const FILES: [(&str, &str); 6] = [
    ("areas", "admin1.geojson"),
    ("population", "population.csv"),
    ("climate", "rainfall.csv"),
    ("geopko", "geopko.csv"),
    ("acled", "acled.csv"),
    ("ucdp", "ucdp_ged.csv"),
];

/// Writes the sample into `out` (created if needed).
pub fn generate(out: &Path, seed: u64) -> Result<Vec<String>, SampleError> {
    std::fs::create_dir_all(out).map_err(|source| SampleError::Io {
        path: out.display().to_string(),
        source,
    })?;
    let mut rng = SplitMix64::new(seed);
    let events = simulate(&mut rng);
    let files = [
        ("admin1.geojson", admin_geojson(&mut rng)),
        ("population.csv", population_csv(&mut rng)),
        ("rainfall.csv", rainfall_csv(&mut rng)),
        ("geopko.csv", geopko_csv(&mut rng, &events)),
        ("acled.csv", acled_csv(&mut rng, &events)),
        ("ucdp_ged.csv", ucdp_csv(&mut rng, &events)),
    ];
    let mut written = Vec::new();
    for (name, text) in files {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|source| SampleError::Io {
            path: path.display().to_string(),
            source,
        })?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// `n` synthetic events in the ACLED export layout, spread over ten years and a 15° × 10°
/// box of Central Africa: the input of the ingest benchmarks (not a realistic history).
pub fn scaled_acled(n: usize, seed: u64) -> String {
    let mut rng = SplitMix64::new(seed);
    let first = day((2015, 1, 1));
    let mut events: Vec<SimEvent> = (0..n)
        .map(|_| {
            let d = first + rng.below(3652) as i32;
            let lat = 0.0 + 10.0 * rng.next_f64();
            let lon = 15.0 + 15.0 * rng.next_f64();
            let kind = pick_kind(&mut rng, None);
            let group = rng.below(GROUPS.len() as u64) as usize;
            make_event(&mut rng, d, lat, lon, kind, group)
        })
        .collect();
    events.sort_by_key(|e| e.day);
    acled_csv(&mut rng, &events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulation_is_self_exciting_and_seasonal() {
        let mut rng = SplitMix64::new(DEFAULT_SEED);
        let events = simulate(&mut rng);
        assert!(
            events.len() > 1500 && events.len() < 8000,
            "{}",
            events.len()
        );
        let rainy = events.iter().filter(|e| season(e.day) < 1.0).count();
        assert!(
            rainy * 2 < events.len(),
            "fewer events in the rainy half of the year"
        );
        assert!(events.iter().all(|e| inside(e.lat, e.lon)));
    }
}
