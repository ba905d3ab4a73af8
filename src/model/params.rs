//! The fitted parameters recorded with every snapshot: the normalisation (reference levels
//! of the index amounts) and the calibration (the forecast: a logistic model from
//! multi-scale as-of features to a probability of civilian harm).

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

/// Radii of the event-count features, km (0: the cell itself).
pub const RADII_KM: [f64; 5] = [0.0, 5.0, 10.0, 25.0, 50.0];
/// Labels of [`RADII_KM`] in feature names.
pub const RADII: [&str; 5] = ["cell", "5km", "10km", "25km", "50km"];
/// Windows of the event-count features, days before the day scored (that day included).
pub const WINDOWS_DAYS: [i32; 4] = [30, 90, 365, 1095];
/// The classes of events counted: civilian harm, armed clashes, remote violence.
pub const CLASSES: [&str; 3] = ["harm", "clash", "remote"];
/// How far back the features look, days.
pub const FEATURE_LOOKBACK_DAYS: i32 = 1095;

/// Positions of the feature groups in the model's input vector.
pub mod at {
    use super::{CLASSES, RADII, WINDOWS_DAYS};
    const R: usize = RADII.len();
    /// Events of class `c` within radius `r` over window `w` (ln(1 + count)).
    pub const fn count(c: usize, r: usize, w: usize) -> usize {
        (c * R + r) * WINDOWS_DAYS.len() + w
    }
    /// Recency of violence within radius `r`.
    pub const RECENCY: usize = CLASSES.len() * R * WINDOWS_DAYS.len();
    /// Trend (last 90 days against the three-year rate) within radius `r`.
    pub const TREND: usize = RECENCY + R;
    /// Civilian deaths of the last year within radius `r` (ln(1 + deaths)).
    pub const DEATHS: usize = TREND + R;
    /// Proximity of the nearest violent event of the last year.
    pub const PROXIMITY: usize = DEATHS + R;
    /// Civilian-harm events of the last year per 1,000 km² of the cell's first-level area.
    pub const ADMIN: usize = PROXIMITY + 1;
    /// Civilian-harm events of the whole store over the last 90 and 365 days: the
    /// theatre's level of violence, which moves every cell's chance together.
    pub const THEATRE: usize = ADMIN + 1;
    /// ln(1 + residents).
    pub const POPULATION: usize = THEATRE + 2;
    /// ln(1 + people in IDP sites).
    pub const DISPLACED: usize = POPULATION + 1;
    /// The index's five threat components as log-loads.
    pub const LOG_LOADS: usize = DISPLACED + 1;
    /// Climate stress (0–1).
    pub const CLIMATE: usize = LOG_LOADS + 5;
    /// Exposure (0–1).
    pub const EXPOSURE: usize = CLIMATE + 1;
    /// Number of inputs.
    pub const P: usize = EXPOSURE + 1;
}

/// Number of inputs of the forecast model.
pub const P: usize = at::P;

/// The forecast model's inputs, in coefficient order, as of the day scored (nothing dated
/// or published later): for civilian harm, armed clashes and remote violence, the events
/// in the cell and within 5, 10, 25 and 50 km over the last 30, 90, 365 and 1,095 days
/// (ln(1 + count), each event weighted by its location precision); per radius the recency
/// of violence, its trend and the civilian deaths of the last year; the proximity of the
/// nearest violent event of the last year; the admin area's rate of civilian harm; people
/// and displaced people in the cell; and the index's own components (log-loads), climate
/// stress and exposure.
pub fn feature_names() -> Vec<String> {
    let mut v = Vec::with_capacity(P);
    for c in CLASSES {
        for r in RADII {
            for w in WINDOWS_DAYS {
                v.push(format!("{c}_{r}_{w}d"));
            }
        }
    }
    v.extend(RADII.iter().map(|r| format!("recency_{r}")));
    v.extend(RADII.iter().map(|r| format!("trend_{r}")));
    v.extend(RADII.iter().map(|r| format!("civilian_deaths_{r}_365d")));
    for n in [
        "proximity_365d",
        "admin_harm_rate_365d",
        "theatre_harm_rate_90d",
        "theatre_harm_rate_365d",
        "population_log",
        "displaced_log",
        "harm_log_load",
        "conflict_log_load",
        "spread_log_load",
        "baseline_log_load",
        "escalation_log_load",
        "climate",
        "exposure",
    ] {
        v.push(n.to_owned());
    }
    v
}

/// Whether input `j` may only raise the probability (its coefficient is kept ≥ 0): more
/// violence nearby, more recent, more deaths, closer — never less risk. The trend,
/// population, displacement, climate and exposure may go either way.
pub fn monotone(j: usize) -> bool {
    j < at::TREND
        || (at::DEATHS..at::POPULATION).contains(&j)
        || (at::LOG_LOADS..at::CLIMATE).contains(&j)
}

/// The load below which a log-load input hardly moves: ln(1 + load / floor) rises by about
/// one per factor e of the load from the floor up, so that a trace of activity nearby and
/// none are told apart.
pub const LOAD_FLOOR: f64 = 1e-3;

/// A fitted forecast model, as stored in the manifest and with each snapshot: a logistic
/// regression on standardised inputs, P(at least one civilian-harm event in the cell
/// within the horizon) = σ(intercept + Σ coefficient × (x − mean) / scale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// What it was fitted on: `origins A..B every N days`.
    pub basis: String,
    /// The horizon the probability refers to, days.
    pub horizon_days: u32,
    /// The last day whose events the fit saw (last origin + horizon).
    pub fitted_until: String,
    /// Input names, in the order of `coefficients` ([`feature_names`]).
    pub features: Vec<String>,
    /// Intercept (log-odds at the mean inputs).
    pub intercept: f64,
    /// One per input (log-odds per standard deviation).
    pub coefficients: Vec<f64>,
    /// Mean of each input over the training rows (weighted).
    #[serde(default)]
    pub means: Vec<f64>,
    /// Standard deviation of each input over the training rows (1 where it never varied).
    #[serde(default)]
    pub scales: Vec<f64>,
    /// Training rows (cells × origins, after sampling the cells without an event).
    pub rows: usize,
    /// Of which followed by an event.
    pub positives: usize,
    /// The weighted share of cell-origins followed by an event (climatology).
    pub base_rate: f64,
    /// The highest probability the model gives: P = ceiling × σ(log-odds). Fitted with the
    /// recalibration on held-out rows (even the most violent cell of a theatre is not
    /// certain to see harm within the horizon, and a logistic model that adds up many
    /// correlated counts would say so); 1 for a model without it.
    #[serde(default = "one")]
    pub ceiling: f64,
}

fn one() -> f64 {
    1.0
}

/// Standardised inputs are capped at this many standard deviations from the mean: a cell
/// with ten times the violence of the busiest cells of the training rows is not ten
/// times as certain. (Without the cap, and with the model's [`Calibration::ceiling`]
/// bounding the probability instead, the very top is ordered better — every year's
/// average precision above the 12-month history on CAR — but the top 5 % of cells, the
/// watch and the gaps catch less: `docs/evaluation.md`.)
pub const Z_CAP: f64 = 4.0;

/// An input standardised and capped.
pub fn standardised(x: f32, mean: f64, scale: f64) -> f64 {
    ((f64::from(x) - mean) / scale).clamp(-Z_CAP, Z_CAP)
}

/// A calibration's coefficients, means and scales in [`feature_names`] order (computed
/// once for a grid).
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    /// Intercept.
    pub intercept: f64,
    /// Coefficient per standard deviation.
    pub beta: [f64; P],
    /// Mean.
    pub mean: [f64; P],
    /// Scale.
    pub scale: [f64; P],
    /// The highest probability ([`Calibration::ceiling`]).
    pub ceiling: f64,
}

impl Weights {
    /// The part of the log-odds each input adds: coefficient × standardised value.
    pub fn contributions(&self, x: &[f32; P]) -> [f64; P] {
        let mut c = [0.0; P];
        for j in 0..P {
            c[j] = self.beta[j] * standardised(x[j], self.mean[j], self.scale[j]);
        }
        c
    }

    /// The probability of civilian harm within the horizon for these inputs.
    pub fn probability(&self, x: &[f32; P]) -> f64 {
        let mut eta = self.intercept;
        for (j, v) in x.iter().enumerate() {
            if self.beta[j] != 0.0 {
                eta += self.beta[j] * standardised(*v, self.mean[j], self.scale[j]);
            }
        }
        self.ceiling * sigmoid(eta)
    }
}

impl Calibration {
    /// The stored names this version does not know (a model fitted by an older version on
    /// other inputs): such a model is not applied.
    pub fn unknown_features(&self) -> Vec<String> {
        let names = feature_names();
        self.features
            .iter()
            .filter(|f| !names.contains(f))
            .cloned()
            .collect()
    }

    /// The stored coefficients in [`feature_names`] order, matched by name: an input the
    /// stored model lacks counts 0.
    pub fn weights(&self) -> Weights {
        let names = feature_names();
        let mut w = Weights {
            intercept: self.intercept,
            beta: [0.0; P],
            mean: [0.0; P],
            scale: [1.0; P],
            ceiling: if self.ceiling > 0.0 && self.ceiling <= 1.0 {
                self.ceiling
            } else {
                1.0
            },
        };
        for (k, name) in self.features.iter().enumerate() {
            if let Some(j) = names.iter().position(|f| f == name) {
                w.beta[j] = self.coefficients.get(k).copied().unwrap_or(0.0);
                w.mean[j] = self.means.get(k).copied().unwrap_or(0.0);
                w.scale[j] = self
                    .scales
                    .get(k)
                    .copied()
                    .filter(|s| *s > 0.0 && s.is_finite())
                    .unwrap_or(1.0);
            }
        }
        w
    }

    /// The probability of civilian harm within the horizon for these inputs.
    pub fn probability(&self, x: &[f32; P]) -> f64 {
        self.weights().probability(x)
    }
}

/// The index's threat components (in [`crate::risk::index::COMPONENTS`] order) as
/// log-loads: ln(1 + load / [`LOAD_FLOOR`]), the load being −ln(1 − component). Each
/// component c = 1 − e^(−load) saturates at 1, where a cell hit again and again looks
/// like one hit twice; its load does not. Components of exactly 1 (a load beyond f64's
/// resolution) count as a load of 36.
pub fn log_loads(components: &[f64; 6]) -> [f64; 5] {
    let mut x = [0.0; 5];
    for (k, c) in components[..5].iter().enumerate() {
        let c = c.clamp(0.0, 1.0);
        x[k] = (-(1.0 - c).max(1e-16).ln() / LOAD_FLOOR).ln_1p();
    }
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

/// The `k` of `candidates` (indexes into `value`) of highest value, of equal values the
/// lower index first: a budget of k cells is never exceeded by ties.
pub fn top(value: &[f64], candidates: &[usize], k: usize) -> Vec<usize> {
    let mut c = candidates.to_vec();
    let k = k.min(c.len());
    if k == 0 {
        return Vec::new();
    }
    let order = |a: &usize, b: &usize| value[*b].total_cmp(&value[*a]).then(a.cmp(b));
    c.select_nth_unstable_by(k - 1, order);
    c.truncate(k);
    c
}
