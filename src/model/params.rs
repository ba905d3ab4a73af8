//! The fitted parameters recorded with every snapshot: the normalisation (reference levels
//! of the index amounts) and the calibration (a logistic model from the index components
//! to a probability of civilian harm).

use crate::model::cell::CellRecord;
use serde::{Deserialize, Serialize};

/// The reference levels that turn raw amounts into threat units, fixed either by the
/// configuration defaults or by `vigil normalise` on a reference period, and recorded with
/// every snapshot (`manifest.json`), so that a score means the same from day to day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalisation {
    /// `defaults` or `reference YYYY-MM-DD..YYYY-MM-DD every N days, quantile q`.
    pub basis: String,
    /// Reference level of the civilian-harm amount H.
    pub harm: f64,
    /// Reference level of the armed-conflict amount C.
    pub conflict: f64,
    /// Reference level of the spread amount S.
    pub spread: f64,
    /// Reference level of the neighbourhood trend amounts (baseline b and escalation E).
    pub trend: f64,
}

impl Normalisation {
    /// The levels in component order (harm, conflict, spread, trend).
    pub fn levels(&self) -> [f64; 4] {
        [self.harm, self.conflict, self.spread, self.trend]
    }
}

/// The model's inputs, in coefficient order: the five threat components (0–1), the same
/// as log-loads (ln(1 + load / [`LOAD_FLOOR`]), the load being −ln(1 − component)),
/// climate stress (0–1) and exposure (0–1). Most civilian harm falls where the threat is
/// nil or a trace, and a trace already multiplies the odds: the log-load tells a trace
/// from nothing across orders of magnitude, the saturating component lets the fit flatten
/// at the top.
pub const FEATURES: [&str; 12] = [
    "harm",
    "conflict",
    "spread",
    "baseline",
    "escalation",
    "harm_log_load",
    "conflict_log_load",
    "spread_log_load",
    "baseline_log_load",
    "escalation_log_load",
    "climate",
    "exposure",
];

/// The load below which a log-load input hardly moves: ln(1 + load / floor) rises by about
/// one per factor e of the load from the floor up, so that a trace of activity nearby and
/// none are told apart.
pub const LOAD_FLOOR: f64 = 1e-3;

/// Number of inputs.
pub const P: usize = FEATURES.len();

/// A fitted calibration, as stored in the manifest and with each snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// What it was fitted on: `origins A..B every N days`.
    pub basis: String,
    /// The horizon the probability refers to, days.
    pub horizon_days: u32,
    /// The last day whose events the fit saw (last origin + horizon).
    pub fitted_until: String,
    /// Input names, in the order of `coefficients` ([`FEATURES`]).
    pub features: Vec<String>,
    /// Intercept (log-odds).
    pub intercept: f64,
    /// One per input (log-odds per unit, ≥ 0).
    pub coefficients: Vec<f64>,
    /// Training rows (cells × origins, after sampling the cells without an event).
    pub rows: usize,
    /// Of which followed by an event.
    pub positives: usize,
    /// The weighted share of cell-origins followed by an event (climatology).
    pub base_rate: f64,
}

impl Calibration {
    /// The inputs of a snapshot cell.
    pub fn inputs(r: &CellRecord) -> [f64; P] {
        inputs(&r.components(), r.exposure)
    }

    /// The stored coefficients in [`FEATURES`] order, matched by name: an input the stored
    /// model lacks counts 0, a name this version does not know is left out.
    pub fn weights(&self) -> [f64; P] {
        let mut w = [0.0; P];
        for (name, b) in self.features.iter().zip(&self.coefficients) {
            if let Some(j) = FEATURES.iter().position(|f| f == name) {
                w[j] = *b;
            }
        }
        w
    }

    /// The probability of civilian harm within the horizon for these inputs.
    pub fn probability(&self, x: &[f64; P]) -> f64 {
        self.probability_with(&self.weights(), x)
    }

    /// [`Self::probability`] with the weights of [`Self::weights`] (computed once for a
    /// grid).
    pub fn probability_with(&self, weights: &[f64; P], x: &[f64; P]) -> f64 {
        let eta = self.intercept + weights.iter().zip(x).map(|(b, v)| b * v).sum::<f64>();
        sigmoid(eta)
    }
}

/// The inputs from the index components (in [`crate::risk::index::COMPONENTS`] order) and
/// the exposure ([`FEATURES`]). Each threat component c = 1 − e^(−load) saturates at 1,
/// where a cell hit again and again looks like one hit twice; its load −ln(1 − c) does not.
/// Components of exactly 1 (a load beyond f64's resolution) count as a load of 36.
pub fn inputs(components: &[f64; 6], exposure: f64) -> [f64; P] {
    let mut x = [0.0; P];
    for (k, c) in components[..5].iter().enumerate() {
        let c = c.clamp(0.0, 1.0);
        x[k] = c;
        x[5 + k] = (-(1.0 - c).max(1e-16).ln() / LOAD_FLOOR).ln_1p();
    }
    x[10] = components[5].clamp(0.0, 1.0);
    x[11] = exposure;
    x
}

pub(crate) fn sigmoid(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}
