//! What is known at each origin (the snapshot scored as of that day, the reference
//! forecasts) and what followed it.

use super::BacktestError;
use crate::config::Config;
use crate::model::cell::CellRecord;
use crate::model::params::P;
use crate::model::rows::Table;
use crate::risk::{Engine, EventClass, EventSet, Prior};
use crate::store::Store;
use std::collections::HashMap;

/// A pseudo-random number in [0, 1) of a cell at an origin (SplitMix64 of both), for the
/// random ranking (`salt` 0) and for sampling training rows.
pub(super) fn random_score(cell: u64, origin: i32, salt: u64) -> f64 {
    let mut r = crate::model::rand::SplitMix64::new(
        cell ^ (origin as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt,
    );
    r.next_f64()
}

/// The radius of the "history within 10 km" reference, km.
pub(super) const HISTORY_NEAR_KM: f64 = 10.0;

/// What is known at an origin and what followed.
pub(super) struct Observation {
    pub(super) rows: Vec<CellRecord>,
    /// The forecast's inputs of each row.
    pub(super) features: Vec<[f32; P]>,
    pub(super) persistence: Vec<f64>,
    pub(super) history: Vec<f64>,
    /// Civilian-harm events within 10 km over the last year (counted here, apart from the
    /// forecast's inputs, as an analyst would).
    pub(super) history_10km: Vec<f64>,
    /// Per horizon: civilian-harm events and civilian deaths per cell in (d, d + h].
    pub(super) future: Vec<(Vec<f64>, Vec<f64>)>,
}

/// The events of origins `from..=to`'s look-back and horizons: the truth and the reference
/// forecasts.
pub(super) fn outcome_events(
    store: &Store,
    from: i32,
    to: i32,
    horizons: &[u32],
) -> Result<EventSet, BacktestError> {
    let max_h = horizons.iter().copied().max().unwrap_or(30) as i32;
    let path = store
        .table_path(crate::model::rows::Event::NAME)
        .map_err(crate::risk::ScoreError::from)?
        .ok_or(BacktestError::NoEvents)?;
    Ok(EventSet::load(&path, from - 366, to + max_h, false)?)
}

/// Scores origins as of their day and looks up what happened next.
pub(super) struct Observer {
    pub(super) engine: Engine,
    pub(super) prior: Prior,
    pub(super) ev: EventSet,
    pub(super) horizons: Vec<u32>,
    /// Cells within 10 km of each event cell met so far.
    near: HashMap<u64, Vec<u64>>,
    res: h3o::Resolution,
}

impl Observer {
    pub(super) fn new(
        store: &Store,
        config: &Config,
        from: i32,
        to: i32,
        horizons: &[u32],
    ) -> Result<Self, BacktestError> {
        let ev = outcome_events(store, from, to, horizons)?;
        let mut engine = Engine::for_forecast(store, config, from, to)?;
        engine.keep_features(true);
        Ok(Observer {
            engine,
            prior: Prior::of(store),
            ev,
            horizons: horizons.to_vec(),
            near: HashMap::new(),
            res: crate::grid::resolution(config.grid.resolution)
                .map_err(crate::risk::ScoreError::from)?,
        })
    }

    pub(super) fn at(&mut self, d: i32) -> Result<Observation, BacktestError> {
        let mut scored = self.engine.score(&self.prior, d)?;
        let features = scored.features.take().unwrap_or_default();

        let pos: HashMap<u64, usize> = scored
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.cell, i))
            .collect();
        let n = scored.rows.len();
        let max_h = self.horizons.iter().copied().max().unwrap_or(30) as i32;
        let mut persistence = vec![0.0; n];
        let mut history = vec![0.0; n];
        let mut history_10km = vec![0.0; n];
        let k = crate::grid::rings_for_km(HISTORY_NEAR_KM, self.res);
        let mut future: Vec<(Vec<f64>, Vec<f64>)> = self
            .horizons
            .iter()
            .map(|_| (vec![0.0; n], vec![0.0; n]))
            .collect();
        let ev = &self.ev;
        for i in ev.dated(d - 365, d + max_h) {
            if ev.kind[i] != EventClass::Harm || ev.counted_until[i] != i32::MAX {
                continue;
            }
            let day = ev.day[i];
            if day <= d && ev.known[i] <= d {
                let near = self.near.entry(ev.cell[i]).or_insert_with(|| {
                    crate::risk::within(ev.cell[i], k, HISTORY_NEAR_KM)
                        .into_iter()
                        .map(|(c, _)| c)
                        .collect()
                });
                for c in near.iter() {
                    if let Some(&p) = pos.get(c) {
                        history_10km[p] += 1.0;
                    }
                }
            }
            let Some(&p) = pos.get(&ev.cell[i]) else {
                continue;
            };
            if day <= d && ev.known[i] <= d {
                history[p] += 1.0;
                if day > d - 30 {
                    persistence[p] += 1.0;
                }
            }
            for (k, h) in self.horizons.iter().enumerate() {
                if day > d && day <= d + *h as i32 {
                    future[k].0[p] += 1.0;
                    future[k].1[p] += ev.civilian_deaths[i] as f64;
                }
            }
        }
        Ok(Observation {
            rows: scored.rows,
            features,
            persistence,
            history,
            history_10km,
            future,
        })
    }
}
