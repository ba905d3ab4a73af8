//! Vigil's integration tests, in one binary (one link of polars and axum instead of one
//! per file). Each module drives the library, the `vigil` binary or the HTTP server the way
//! a user or a GIS client does; tests that read the real extracts in `../shared/data/real`
//! skip, saying so, when they are absent.

#[allow(dead_code)]
mod common;

mod api;
mod asof;
mod backtest;
mod bad_input;
mod browser;
mod bucket;
mod container;
mod coverage;
mod deploy;
mod determinism;
mod explain;
mod export;
mod gdal;
mod gis_clients;
mod hostile;
mod integrity;
mod interop;
mod layers;
mod normalise;
mod openapi_check;
mod peers;
mod pipeline;
mod properties;
mod qgis;
mod real_car_backtest;
mod real_car_range;
mod real_car_reach;
mod real_data;
mod seasonal_reach;
mod serve_cli;
mod shards;
mod tiles;
mod update;
mod web;
mod worked_example;
