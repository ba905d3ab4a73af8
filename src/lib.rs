//! Vigil: a spatial early-warning and coverage-gap service for UN peace operations.
//!
//! Data flows one way: [`ingest`] → [`store`] → [`score`] (with [`coverage`]) →
//! [`snapshot`] → [`api`] and [`export`]. See `docs/architecture.md`.

pub mod api;
pub mod backtest;
pub mod commands;
pub mod config;
pub mod coverage;
pub mod explain;
pub mod export;
pub mod grid;
pub mod ingest;
pub mod lock;
pub mod mvt;
pub mod render;
pub mod rollup;
pub mod sample;
pub mod score;
pub mod snapshot;
pub mod store;
pub mod synthetic;
pub mod tables;
pub mod util;
