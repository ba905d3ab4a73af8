//! Backtesting the early warning (issue 7): how well snapshots scored as of an origin
//! anticipate what happened in the following horizon, against reference forecasts.
//! This version holds the metrics; the rolling-origin runner comes with the rest of issue 7.

pub mod metrics;
