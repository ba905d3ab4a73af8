//! The cell-origin rows a backtest judged, written out (`vigil backtest --rows`) so that a
//! forecast can be studied outside Vigil — another model fitted on the same inputs, or the
//! best a ranking could score once calibrated (`benches/forecast/bounds.py`).
//!
//! Every cell followed by civilian harm within a horizon is kept; the others are sampled by
//! stratum — violence (harm or clashes) within 10 km in the last year, any violence within
//! 50 km in the last three years, quiet — at fixed rates, each kept row weighted by the
//! inverse of its rate, so that weighted sums estimate sums over every cell. The sample is
//! a function of the cell and the origin alone: the same rows in every run.

use super::observe::{random_score, Observation};
use super::BacktestError;
use crate::model::params::{at, feature_names, Calibration, CLASSES, P, RADII, WINDOWS_DAYS};
use polars::prelude::*;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Sampling rates of the cells not followed by civilian harm: violence within 10 km in the
/// last year, any violence within 50 km in the last three years, quiet.
pub const SAMPLE_RATES: [f64; 3] = [0.2, 0.02, 0.005];
/// The salt of the sample's pseudo-random draw (apart from the training rows' and the
/// random ranking's).
const SALT: u64 = 0xD0D0;
/// Rows buffered before a row group is written.
const GROUP_ROWS: usize = 200_000;

/// The stratum of a cell from its inputs: 0 violence within 10 km in the last year, 1 any
/// violence within 50 km in the last three years, 2 quiet.
fn stratum(x: &[f32; P]) -> usize {
    let (r10, year) = (2, 2);
    let (r50, three) = (RADII.len() - 1, WINDOWS_DAYS.len() - 1);
    if (0..2).any(|c| x[at::count(c, r10, year)] > 0.0) {
        0
    } else if (0..CLASSES.len()).any(|c| x[at::count(c, r50, three)] > 0.0) {
        1
    } else {
        2
    }
}

/// Rows being written to a Parquet file.
pub struct RowsOut {
    path: PathBuf,
    horizons: Vec<u32>,
    writer: Option<polars::io::parquet::write::BatchedWriter<File>>,
    rows: Buffer,
    written: usize,
}

#[derive(Default)]
struct Buffer {
    origin: Vec<i32>,
    cell: Vec<u64>,
    window: Vec<&'static str>,
    weight: Vec<f64>,
    events: Vec<Vec<f64>>,
    deaths: Vec<Vec<f64>>,
    forecast: Vec<Vec<Option<f64>>>,
    persistence: Vec<f64>,
    history: Vec<f64>,
    history_10km: Vec<f64>,
    index: Vec<f64>,
    inputs: Vec<[f32; P]>,
}

impl RowsOut {
    /// Creates `path` (replacing it) for a backtest of these horizons.
    pub fn create(path: &Path, horizons: &[u32]) -> Result<Self, BacktestError> {
        let mut out = RowsOut {
            path: path.to_path_buf(),
            horizons: horizons.to_vec(),
            writer: None,
            rows: Buffer::default(),
            written: 0,
        };
        out.rows.events = vec![Vec::new(); horizons.len()];
        out.rows.deaths = vec![Vec::new(); horizons.len()];
        out.rows.forecast = vec![Vec::new(); horizons.len()];
        let file = File::create(path).map_err(|e| out.error(e))?;
        let schema = out.frame().map_err(|e| out.error(e))?.schema().clone();
        let writer = ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .batched(&schema)
            .map_err(|e| out.error(e))?;
        out.writer = Some(writer);
        Ok(out)
    }

    fn error(&self, reason: impl std::fmt::Display) -> BacktestError {
        BacktestError::RowsOut {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }

    /// Adds the sampled cells of origin `d` (`window` its window; `calibrations` per
    /// horizon, when the run scored the forecast there).
    pub(super) fn add(
        &mut self,
        obs: &Observation,
        d: i32,
        window: &'static str,
        calibrations: &[Option<Calibration>],
    ) -> Result<(), BacktestError> {
        let weights: Vec<Option<crate::model::params::Weights>> = calibrations
            .iter()
            .map(|c| c.as_ref().map(Calibration::weights))
            .collect();
        let b = &mut self.rows;
        for (i, (r, x)) in obs.rows.iter().zip(&obs.features).enumerate() {
            let followed = obs.future.iter().any(|(events, _)| events[i] > 0.0);
            let rate = if followed {
                1.0
            } else {
                SAMPLE_RATES[stratum(x)]
            };
            if random_score(r.cell, d, SALT) >= rate {
                continue;
            }
            b.origin.push(d);
            b.cell.push(r.cell);
            b.window.push(window);
            b.weight.push(1.0 / rate);
            for (k, (events, deaths)) in obs.future.iter().enumerate() {
                b.events[k].push(events[i]);
                b.deaths[k].push(deaths[i]);
                b.forecast[k].push(
                    weights
                        .get(k)
                        .and_then(Option::as_ref)
                        .map(|w| w.probability(x)),
                );
            }
            b.persistence.push(obs.persistence[i]);
            b.history.push(obs.history[i]);
            b.history_10km.push(obs.history_10km[i]);
            b.index.push(r.risk);
            b.inputs.push(*x);
        }
        if self.rows.origin.len() >= GROUP_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// The buffered rows as a frame.
    fn frame(&self) -> PolarsResult<DataFrame> {
        let b = &self.rows;
        let mut columns = vec![
            Column::new("origin".into(), &b.origin).cast(&DataType::Date)?,
            Column::new("cell".into(), &b.cell),
            Column::new("window".into(), &b.window),
            Column::new("weight".into(), &b.weight),
        ];
        for (k, h) in self.horizons.iter().enumerate() {
            columns.push(Column::new(format!("events_{h}d").into(), &b.events[k]));
            columns.push(Column::new(format!("deaths_{h}d").into(), &b.deaths[k]));
        }
        columns.push(Column::new("persistence".into(), &b.persistence));
        columns.push(Column::new("history".into(), &b.history));
        columns.push(Column::new("history_10km".into(), &b.history_10km));
        columns.push(Column::new("index".into(), &b.index));
        for (k, h) in self.horizons.iter().enumerate() {
            columns.push(Column::new(format!("forecast_{h}d").into(), &b.forecast[k]));
        }
        for (j, name) in feature_names().into_iter().enumerate() {
            let v: Vec<f32> = b.inputs.iter().map(|x| x[j]).collect();
            columns.push(Column::new(name.into(), v));
        }
        DataFrame::new_infer_height(columns)
    }

    fn flush(&mut self) -> Result<(), BacktestError> {
        if self.rows.origin.is_empty() {
            return Ok(());
        }
        let frame = self.frame().map_err(|e| self.error(e))?;
        let Some(writer) = self.writer.as_mut() else {
            return Err(self.error("the file is already closed"));
        };
        writer
            .write_batch(&frame)
            .map_err(|e| BacktestError::RowsOut {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        self.written += frame.height();
        let b = &mut self.rows;
        b.origin.clear();
        b.cell.clear();
        b.window.clear();
        b.weight.clear();
        b.events.iter_mut().for_each(Vec::clear);
        b.deaths.iter_mut().for_each(Vec::clear);
        b.forecast.iter_mut().for_each(Vec::clear);
        b.persistence.clear();
        b.history.clear();
        b.history_10km.clear();
        b.index.clear();
        b.inputs.clear();
        Ok(())
    }

    /// Writes what is buffered and closes the file; returns the rows written.
    pub fn finish(mut self) -> Result<usize, BacktestError> {
        self.flush()?;
        if let Some(writer) = self.writer.take() {
            writer.finish().map_err(|e| self.error(e))?;
        }
        Ok(self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strata_follow_the_inputs() {
        let mut x = [0.0f32; P];
        assert_eq!(stratum(&x), 2);
        x[at::count(2, RADII.len() - 1, WINDOWS_DAYS.len() - 1)] = 1.0;
        assert_eq!(stratum(&x), 1);
        x[at::count(1, 2, 2)] = 0.5;
        assert_eq!(stratum(&x), 0);
        // Remote violence within 10 km alone is not the first stratum.
        let mut y = [0.0f32; P];
        y[at::count(2, 2, 2)] = 1.0;
        y[at::count(2, RADII.len() - 1, WINDOWS_DAYS.len() - 1)] = 1.0;
        assert_eq!(stratum(&y), 1);
    }
}
