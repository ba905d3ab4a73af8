//! Vigil: a spatial early-warning and coverage-gap service for UN peace operations.
//!
//! Layers, from the bottom up (a module uses only those below it; `tests/it/layers.rs`
//! checks it): [`model`] and [`grid`] → [`config`] → [`store`] → [`ingest`], [`coverage`]
//! → [`risk`], [`analysis`] → [`output`] → [`evaluation`], [`server`] → [`synthetic`] →
//! [`app`]. The binary (`main.rs`, `cli/`) sits on top. See `docs/architecture.md`.

pub mod analysis;
pub mod app;
pub mod config;
pub mod coverage;
pub mod evaluation;
pub mod grid;
pub mod ingest;
pub mod model;
pub mod output;
pub mod risk;
pub mod server;
pub mod store;
pub mod synthetic;
