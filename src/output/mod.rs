//! Encodings of what the store and the analyses hold: GeoJSON features, export files (CSV,
//! GeoJSON, Parquet) and Mapbox vector tiles.

pub mod export;
pub mod mvt;
pub mod render;
