//! Encodings of what the store and the analyses hold: GeoJSON features, export files (CSV,
//! GeoJSON, GeoParquet) and Mapbox vector tiles.

pub mod alert;
pub mod atom;
pub mod cap;
pub mod export;
pub mod features;
pub mod geopackage;
pub mod geoparquet;
pub mod kit;
pub mod mvt;
pub mod pmtiles;
pub mod render;
pub mod schema;
pub mod shape;
pub mod tiles;
pub mod xml;
