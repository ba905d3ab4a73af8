//! Encodings of what the store and the analyses hold: GeoJSON features, export files (CSV,
//! GeoJSON, GeoParquet) and Mapbox vector tiles.

pub mod export;
pub mod geoparquet;
pub mod mvt;
pub mod render;
pub mod shape;
