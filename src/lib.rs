//! Vigil: a spatial early-warning and coverage-gap service for UN peace operations.
//!
//! # Code map
//!
//! Layers, from the bottom up (a module uses only those below it; `tests/it/layers.rs`
//! checks it):
//!
//! | layer | modules | holds |
//! |---|---|---|
//! | shared types | [`model`], [`grid`] | rows, cells, days, layers, visibility; H3 and sphere geometry |
//! | settings | [`config`] | typed `vigil.toml` |
//! | storage | [`store`] | Parquet tables and snapshots, manifest, lock, garbage collection |
//! | inputs | [`ingest`], [`coverage`] | one reader per format; reach, active bases, gaps |
//! | method | [`risk`], [`analysis`] | the index and its engine; summaries, roll-ups, scenarios, plans, alerts |
//! | encodings | [`output`] | GeoJSON, exports, vector tiles |
//! | edges | [`evaluation`], [`server`] | backtest and calibration; HTTP |
//! | fixtures | [`synthetic`] | the demo sample and benchmark stores |
//! | use cases | [`app`] | one function per command, typed results |
//!
//! The binary (`main.rs`, `cli/`) sits on top and does the printing. `docs/architecture.md`
//! has a paragraph per folder.
//!
//! The modules are public so that the integration tests and benchmarks can reach each
//! layer; the types most callers need are re-exported here.

pub mod analysis;
pub mod app;
pub mod config;
pub mod coverage;
pub mod delivery;
pub mod evaluation;
pub mod grid;
pub mod ingest;
pub mod model;
pub mod output;
pub mod risk;
pub mod server;
pub mod store;
pub mod synthetic;

pub use app::{Context, Error};
pub use config::{Config, ConfigError};
pub use ingest::{IngestError, Kind as IngestKind};
pub use model::cell::{CellRecord, Tier};
pub use model::layer::Layer;
pub use model::rows::{Area, AreaCell, Base, Category, Event, Precision};
pub use model::visibility::Audience;
pub use risk::{Engine, ScoreError};
pub use server::{router, AppState, ServeError};
pub use store::snapshot::Snapshot;
pub use store::{Store, StoreError};
