//! The forecast (methodology §13): a logistic regression on the multi-scale as-of features
//! of [`crate::risk::features`] that turns a cell's situation into P(at least one
//! civilian-harm event in the cell within the horizon).
//!
//! The model is fitted by the backtest on rolling origins of a tuning window only
//! (`vigil calibrate`, or `vigil backtest --tune-until`), stored in the manifest like the
//! normalisation, recorded with every snapshot scored after it, and applied per cell by the
//! engine (the snapshot's `probability` column). Inputs are standardised (weighted mean
//! and standard deviation of the training rows), a ridge penalty keeps the many correlated
//! counts in check, and the coefficients of the inputs that can only mean more danger
//! ([`crate::model::params::monotone`]) are kept ≥ 0, so that the probability never falls
//! when violence nearby grows.

use crate::model::params::{monotone, sigmoid, standardised, P};

/// Training rows: inputs, outcome and weight (the inverse of the sampling rate).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainingSet {
    /// Inputs per row.
    pub x: Vec<[f32; P]>,
    /// Whether an event followed.
    pub y: Vec<bool>,
    /// Weight per row.
    pub w: Vec<f64>,
    /// Origin (day) of each row, when known: the rows of the last year of origins check
    /// the fit's calibration ([`fit_recalibrated`]).
    pub origin: Vec<i32>,
}

impl TrainingSet {
    /// Adds a row.
    pub fn push(&mut self, x: [f32; P], y: bool, w: f64) {
        self.x.push(x);
        self.y.push(y);
        self.w.push(w);
    }

    /// Adds a row of origin `origin`.
    pub fn push_at(&mut self, x: [f32; P], y: bool, w: f64, origin: i32) {
        self.push(x, y, w);
        self.origin.push(origin);
    }

    /// The rows `keep` selects.
    fn subset(&self, keep: impl Fn(usize) -> bool) -> TrainingSet {
        let mut t = TrainingSet::default();
        for i in (0..self.len()).filter(|i| keep(*i)) {
            t.push(self.x[i], self.y[i], self.w[i]);
        }
        t
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
}

/// Why a calibration could not be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    /// Every row had the same outcome: nothing to separate.
    #[error("cannot calibrate on {rows} cell-origins of which {positives} were followed by civilian harm: the tuning window needs both outcomes (widen it, or ingest more events)")]
    OneOutcome {
        /// Rows.
        rows: usize,
        /// Positive rows.
        positives: usize,
    },
    /// Newton's method did not converge.
    #[error("the logistic fit did not converge in {0} iterations")]
    NoConvergence(usize),
}

/// A fitted model before it is labelled with its basis.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// Intercept (log-odds at the mean inputs).
    pub intercept: f64,
    /// One per standardised input.
    pub coefficients: [f64; P],
    /// Weighted mean of each input.
    pub means: [f64; P],
    /// Weighted standard deviation of each input (1 where it never varied).
    pub scales: [f64; P],
    /// Weighted share of positives.
    pub base_rate: f64,
    /// Newton iterations.
    pub iterations: usize,
}

/// Ridge penalty on the standardised coefficients (not the intercept), per unit of the
/// weight of the rarer outcome, so that it means the same on a small theatre and a large
/// one: ½ · RIDGE · (weight of the events) · Σ β². Enough to share the weight among the
/// many correlated counts and to keep an input that separates the outcomes finite.
pub const RIDGE: f64 = 0.1;
const MAX_ITER: usize = 60;

/// Weighted mean and standard deviation of every input.
fn moments(data: &TrainingSet) -> ([f64; P], [f64; P]) {
    let total: f64 = data.w.iter().sum();
    let mut mean = [0.0; P];
    for (x, w) in data.x.iter().zip(&data.w) {
        for j in 0..P {
            mean[j] += w * f64::from(x[j]);
        }
    }
    mean.iter_mut().for_each(|m| *m /= total);
    let mut var = [0.0; P];
    for (x, w) in data.x.iter().zip(&data.w) {
        for j in 0..P {
            var[j] += w * (f64::from(x[j]) - mean[j]).powi(2);
        }
    }
    let scale = var.map(|v| {
        let s = (v / total).sqrt();
        if s > 1e-9 {
            s
        } else {
            1.0
        }
    });
    (mean, scale)
}

/// Fits a weighted logistic regression of `y` on the standardised inputs by projected
/// Newton steps (each step the box-constrained minimum of the quadratic model, found by
/// coordinate descent), with a ridge penalty and non-negative coefficients where
/// [`monotone`].
pub fn fit(data: &TrainingSet) -> Result<Fit, CalibrationError> {
    use rayon::prelude::*;
    const Q: usize = P + 1;
    let positives = data.y.iter().filter(|y| **y).count();
    if positives == 0 || positives == data.len() {
        return Err(CalibrationError::OneOutcome {
            rows: data.len(),
            positives,
        });
    }
    let total_w: f64 = data.w.iter().sum();
    let pos_w: f64 = data
        .y
        .iter()
        .zip(&data.w)
        .filter(|(y, _)| **y)
        .map(|(_, w)| w)
        .sum();
    let base_rate = pos_w / total_w;
    let ridge = RIDGE * pos_w.min(total_w - pos_w);
    let (mean, scale) = moments(data);
    let row = |i: usize| -> [f64; Q] {
        let mut z = [1.0; Q];
        for j in 0..P {
            z[j + 1] = standardised(data.x[i][j], mean[j], scale[j]);
        }
        z
    };
    let eta_of = |beta: &[f64; Q], z: &[f64; Q]| -> f64 {
        let mut e = 0.0;
        for j in 0..Q {
            e += beta[j] * z[j];
        }
        e
    };
    let objective = |beta: &[f64; Q]| -> f64 {
        // Fixed chunks summed in order: the same bits on any number of threads.
        let ll: f64 = chunks(data.len())
            .into_par_iter()
            .map(|range| {
                range
                    .map(|i| {
                        let eta = eta_of(beta, &row(i));
                        let l = if data.y[i] {
                            -softplus(-eta)
                        } else {
                            -softplus(eta)
                        };
                        data.w[i] * l
                    })
                    .sum::<f64>()
            })
            .collect::<Vec<f64>>()
            .into_iter()
            .sum();
        ll - 0.5 * ridge * beta[1..].iter().map(|b| b * b).sum::<f64>()
    };
    let mut beta = [0.0; Q];
    beta[0] = (base_rate / (1.0 - base_rate)).ln();
    let mut current = objective(&beta);
    for it in 1..=MAX_ITER {
        let (mut g, mut h) = chunks(data.len())
            .into_par_iter()
            .map(|range| {
                let (mut g, mut h) = (vec![0.0; Q], vec![0.0; Q * Q]);
                for i in range {
                    let z = row(i);
                    let p = sigmoid(eta_of(&beta, &z));
                    let resid = data.w[i] * (f64::from(u8::from(data.y[i])) - p);
                    let curv = data.w[i] * p * (1.0 - p);
                    for a in 0..Q {
                        g[a] += resid * z[a];
                        let cz = curv * z[a];
                        let ha = &mut h[a * Q..a * Q + a + 1];
                        for (b, hb) in ha.iter_mut().enumerate() {
                            *hb += cz * z[b];
                        }
                    }
                }
                (g, h)
            })
            .collect::<Vec<_>>()
            .into_iter()
            .fold(
                (vec![0.0; Q], vec![0.0; Q * Q]),
                |(mut g1, mut h1), (g2, h2)| {
                    g1.iter_mut().zip(&g2).for_each(|(a, b)| *a += b);
                    h1.iter_mut().zip(&h2).for_each(|(a, b)| *a += b);
                    (g1, h1)
                },
            );
        for a in 0..Q {
            for b in 0..a {
                h[b * Q + a] = h[a * Q + b];
            }
            if a > 0 {
                g[a] -= ridge * beta[a];
                h[a * Q + a] += ridge;
            }
        }
        let step = constrained_step(&h, &g, &beta);
        // Step halving keeps every iteration an ascent; β and β + step are both feasible,
        // so is every point between.
        let mut t = 1.0;
        loop {
            let mut next = beta;
            for j in 0..Q {
                next[j] += t * step[j];
            }
            let value = objective(&next);
            if value >= current - 1e-12 * current.abs() || t < 1e-6 {
                let moved = step.iter().map(|s| (t * s).abs()).fold(0.0, f64::max);
                beta = next;
                let gain = value - current;
                current = value;
                if moved < 1e-7 || gain.abs() < 1e-10 * current.abs().max(1.0) {
                    let mut coefficients = [0.0; P];
                    coefficients.copy_from_slice(&beta[1..]);
                    return Ok(Fit {
                        intercept: beta[0],
                        coefficients,
                        means: mean,
                        scales: scale,
                        base_rate,
                        iterations: it,
                    });
                }
                break;
            }
            t /= 2.0;
        }
    }
    Err(CalibrationError::NoConvergence(MAX_ITER))
}

/// Events a held-out year needs before its rows may recalibrate a fit.
const RECALIBRATION_EVENTS: usize = 20;

/// Fits on every row, then recalibrates: a first fit on the rows of origins before
/// `holdout_from` predicts the later rows (the last year of the tuning window, the
/// closest to the days the model will score), and a logistic regression of their outcome
/// on that fit's log-odds gives an intercept and slope that the full fit's log-odds are
/// mapped through. This corrects a model whose probabilities are too flat or too steep
/// out of sample, and a level of violence that changed within the tuning window. Without
/// origins, or with fewer than [`RECALIBRATION_EVENTS`] events held out, the full fit as
/// it is.
pub fn fit_recalibrated(data: &TrainingSet, holdout_from: i32) -> Result<Fit, CalibrationError> {
    let mut full = fit(data)?;
    if data.origin.len() != data.len() {
        return Ok(full);
    }
    let held = |i: usize| data.origin[i] >= holdout_from;
    let late = data.subset(held);
    let early = data.subset(|i| !held(i));
    let late_events = late.y.iter().filter(|y| **y).count();
    if late_events < RECALIBRATION_EVENTS || early.y.iter().all(|y| !*y) {
        return Ok(full);
    }
    let first = fit(&early)?;
    let eta: Vec<f64> = late.x.iter().map(|x| log_odds(&first, x)).collect();
    let Some((a, b)) = platt(&eta, &late.y, &late.w) else {
        return Ok(full);
    };
    let b = b.max(0.0);
    full.intercept = a + b * full.intercept;
    full.coefficients.iter_mut().for_each(|c| *c *= b);
    Ok(full)
}

/// The log-odds of a fit at inputs `x`.
fn log_odds(f: &Fit, x: &[f32; P]) -> f64 {
    let mut e = f.intercept;
    for (j, v) in x.iter().enumerate() {
        e += f.coefficients[j] * standardised(*v, f.means[j], f.scales[j]);
    }
    e
}

/// The weighted logistic regression of `y` on one input `eta`: (intercept, slope), by
/// Newton's method; `None` if it does not converge.
fn platt(eta: &[f64], y: &[bool], w: &[f64]) -> Option<(f64, f64)> {
    let (mut a, mut b) = (0.0, 1.0);
    for _ in 0..100 {
        let (mut g, mut h) = ([0.0; 2], [0.0; 3]);
        for ((e, y), w) in eta.iter().zip(y).zip(w) {
            let p = sigmoid(a + b * e);
            let r = w * (f64::from(u8::from(*y)) - p);
            let c = w * p * (1.0 - p);
            g[0] += r;
            g[1] += r * e;
            h[0] += c;
            h[1] += c * e;
            h[2] += c * e * e;
        }
        let det = h[0] * h[2] - h[1] * h[1];
        if det.abs() < 1e-300 || !det.is_finite() {
            return None;
        }
        let da = (h[2] * g[0] - h[1] * g[1]) / det;
        let db = (h[0] * g[1] - h[1] * g[0]) / det;
        a += da;
        b += db;
        if da.abs().max(db.abs()) < 1e-10 {
            return (a.is_finite() && b.is_finite()).then_some((a, b));
        }
    }
    None
}

/// The step δ that maximises the quadratic model gᵀδ − ½ δᵀHδ subject to β + δ ≥ 0 on the
/// monotone inputs: cyclic coordinate descent, each coordinate solved exactly and clipped.
fn constrained_step(h: &[f64], g: &[f64], beta: &[f64]) -> Vec<f64> {
    let q = g.len();
    let mut d = vec![0.0; q];
    // hd = H δ, kept up to date.
    let mut hd = vec![0.0; q];
    for _sweep in 0..2_000 {
        let mut largest: f64 = 0.0;
        for j in 0..q {
            let hjj = h[j * q + j];
            if hjj <= 0.0 {
                continue;
            }
            let mut next = d[j] + (g[j] - hd[j]) / hjj;
            if j > 0 && monotone(j - 1) {
                next = next.max(-beta[j]);
            }
            let change = next - d[j];
            if change != 0.0 {
                for (k, v) in hd.iter_mut().enumerate() {
                    *v += h[k * q + j] * change;
                }
                d[j] = next;
                largest = largest.max(change.abs());
            }
        }
        if largest < 1e-12 {
            break;
        }
    }
    d
}

/// ln(1 + e^x) without overflow.
fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// `0..n` cut into consecutive ranges of a fixed size (the last shorter).
fn chunks(n: usize) -> Vec<std::ops::Range<usize>> {
    const CHUNK: usize = 8_192;
    (0..n.div_ceil(CHUNK))
        .map(|c| c * CHUNK..((c + 1) * CHUNK).min(n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::{feature_names, Calibration};
    use crate::model::rand::SplitMix64;

    /// Rows drawn from a known logistic model on inputs 0 and 1 (input 2 is noise).
    fn simulated(intercept: f64, b: [f64; 2], n: usize, seed: u64) -> TrainingSet {
        let mut r = SplitMix64::new(seed);
        let mut t = TrainingSet::default();
        for _ in 0..n {
            let mut x = [0.0f32; P];
            x[0] = r.next_f64() as f32;
            x[1] = r.next_f64() as f32;
            x[2] = r.next_f64() as f32;
            let p = sigmoid(intercept + b[0] * f64::from(x[0]) + b[1] * f64::from(x[1]));
            t.push(x, r.next_f64() < p, 1.0);
        }
        t
    }

    fn calibration(f: &Fit) -> Calibration {
        Calibration {
            basis: String::new(),
            horizon_days: 30,
            fitted_until: String::new(),
            features: feature_names(),
            intercept: f.intercept,
            coefficients: f.coefficients.to_vec(),
            means: f.means.to_vec(),
            scales: f.scales.to_vec(),
            rows: 0,
            positives: 0,
            base_rate: f.base_rate,
        }
    }

    #[test]
    fn the_fit_is_the_same_bits_on_one_thread_or_several() {
        let t = simulated(-3.0, [2.0, 1.0], 50_000, 5);
        let on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap_or_else(|e| panic!("{e}"))
                .install(|| fit(&t).unwrap_or_else(|e| panic!("{e}")))
        };
        let (one, four) = (on(1), on(4));
        assert_eq!(one.intercept.to_bits(), four.intercept.to_bits());
        for (a, b) in one.coefficients.iter().zip(&four.coefficients) {
            assert_eq!(a.to_bits(), b.to_bits(), "{one:?} vs {four:?}");
        }
    }

    #[test]
    fn recovers_known_coefficients() {
        let t = simulated(-3.0, [2.0, 1.0], 200_000, 11);
        let f = fit(&t).unwrap_or_else(|e| panic!("{e}"));
        // Back on the raw scale: coefficient / scale, shrunk a little by the ridge (by the
        // same factor for both), the noise at about 0.
        let raw = |j: usize| f.coefficients[j] / f.scales[j];
        assert!(raw(0) > 1.6 && raw(0) <= 2.05, "{f:?}");
        assert!((raw(0) / raw(1) - 2.0).abs() < 0.2, "{f:?}");
        assert!(raw(2).abs() < 0.15, "noise: {f:?}");
        for j in 3..P {
            assert_eq!(f.coefficients[j], 0.0, "input {j} never varies");
        }
        // The probability at a point matches the generating model.
        let cal = calibration(&f);
        let mut x = [0.0f32; P];
        x[0] = 0.5;
        x[1] = 0.5;
        x[2] = 0.5;
        let p = cal.probability(&x);
        assert!((p - sigmoid(-3.0 + 1.5)).abs() < 0.03, "{p}");
    }

    #[test]
    fn a_harmful_looking_input_with_a_negative_effect_is_fixed_at_zero() {
        // Input 1 is monotone (a count): its negative effect is not learnt.
        assert!(monotone(1));
        let t = simulated(-1.0, [2.0, -1.5], 50_000, 5);
        let f = fit(&t).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.coefficients[1], 0.0, "{f:?}");
        assert!(f.coefficients[0] > 0.3, "{f:?}");
        for (j, b) in f.coefficients.iter().enumerate() {
            assert!(!monotone(j) || *b >= 0.0);
        }
    }

    #[test]
    fn a_weight_counts_like_repeated_rows() {
        let base = simulated(-2.0, [1.5, 0.5], 5_000, 3);
        let mut doubled = base.clone();
        let mut weighted = base.clone();
        for i in 0..base.len() {
            if !base.y[i] && i % 2 == 0 {
                doubled.push(base.x[i], false, 1.0);
                weighted.w[i] = 2.0;
            }
        }
        let (a, b) = (
            fit(&doubled).unwrap_or_else(|e| panic!("{e}")),
            fit(&weighted).unwrap_or_else(|e| panic!("{e}")),
        );
        assert!((a.intercept - b.intercept).abs() < 1e-6, "{a:?} {b:?}");
        for j in 0..P {
            assert!((a.coefficients[j] - b.coefficients[j]).abs() < 1e-6);
        }
        assert!((a.base_rate - b.base_rate).abs() < 1e-12);
    }

    #[test]
    fn recalibration_steepens_a_fit_that_is_too_flat() {
        // Known model; a held-out year whose effect is twice as steep: the recalibrated
        // slope follows the held-out rows.
        let mut t = TrainingSet::default();
        let mut r = SplitMix64::new(7);
        for i in 0..120_000 {
            let origin = i32::from(i >= 80_000);
            let mut x = [0.0f32; P];
            x[0] = r.next_f64() as f32;
            let b = if origin == 1 { 4.0 } else { 2.0 };
            let p = sigmoid(-3.0 + b * f64::from(x[0]));
            t.push_at(x, r.next_f64() < p, 1.0, origin);
        }
        let plain = fit(&t).unwrap_or_else(|e| panic!("{e}"));
        let re = fit_recalibrated(&t, 1).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            re.coefficients[0] > plain.coefficients[0] * 1.3,
            "{plain:?} {re:?}"
        );
        // Without origins, nothing to hold out.
        let mut bare = t.clone();
        bare.origin.clear();
        assert_eq!(fit_recalibrated(&bare, 1), fit(&bare));
        let (a, b) = platt(
            &[0.0, 1.0, 0.0, 1.0],
            &[false, true, true, false],
            &[1.0; 4],
        )
        .unwrap_or((9.0, 9.0));
        assert!(a.abs() < 1e-9 && b.abs() < 1e-9, "{a} {b}");
    }

    #[test]
    fn one_outcome_is_refused() {
        let mut t = TrainingSet::default();
        t.push([0.0; P], false, 1.0);
        t.push([1.0; P], false, 1.0);
        assert_eq!(
            fit(&t),
            Err(CalibrationError::OneOutcome {
                rows: 2,
                positives: 0
            })
        );
        assert!(fit(&TrainingSet::default()).is_err());
    }

    #[test]
    fn separable_data_stay_finite() {
        // Every row with input 0 at 1 is followed by an event, none at 0: the ridge keeps
        // the coefficient finite and the probabilities ordered.
        let mut t = TrainingSet::default();
        for i in 0..100 {
            let mut x = [0.0f32; P];
            x[0] = f32::from(u8::from(i % 2 == 0));
            t.push(x, i % 2 == 0, 1.0);
        }
        let f = fit(&t).unwrap_or_else(|e| panic!("{e}"));
        let cal = calibration(&f);
        let mut hit = [0.0f32; P];
        hit[0] = 1.0;
        let (p1, p0) = (cal.probability(&hit), cal.probability(&[0.0; P]));
        assert!(p1.is_finite() && p1 > 0.85 && p0 < 0.15, "{p1} {p0}");
    }

    #[test]
    fn stored_coefficients_are_matched_by_name() {
        let names = feature_names();
        let cal = Calibration {
            basis: String::new(),
            horizon_days: 30,
            fitted_until: String::new(),
            features: vec!["exposure".into(), names[0].clone()],
            intercept: -1.0,
            coefficients: vec![0.5, 2.0],
            means: vec![0.0, 1.0],
            scales: vec![1.0, 2.0],
            rows: 0,
            positives: 0,
            base_rate: 0.0,
        };
        assert!(cal.unknown_features().is_empty());
        let w = cal.weights();
        let e = crate::model::params::at::EXPOSURE;
        assert_eq!(
            (w.beta[0], w.beta[e], w.mean[0], w.scale[0]),
            (2.0, 0.5, 1.0, 2.0)
        );
        let mut x = [0.0f32; P];
        x[0] = 3.0;
        x[e] = 1.0;
        // −1 + 2 · (3 − 1) / 2 + 0.5 · 1.
        assert!((cal.probability(&x) - sigmoid(1.5)).abs() < 1e-12);
        let old = Calibration {
            features: vec!["harm".into()],
            ..cal
        };
        assert_eq!(old.unknown_features(), ["harm"]);
    }

    #[test]
    fn the_constrained_step_solves_a_small_problem() {
        // Maximise g·d − ½ dᵀHd with H = I: d = g, clipped where β + d < 0 on a monotone
        // input (index 1 is input 0, a count).
        let q = 3;
        let mut h = vec![0.0; q * q];
        for j in 0..q {
            h[j * q + j] = 1.0;
        }
        let d = constrained_step(&h, &[0.5, -2.0, 1.0], &[0.0, 0.5, 0.0]);
        assert!(
            (d[0] - 0.5).abs() < 1e-12 && (d[1] + 0.5).abs() < 1e-12 && (d[2] - 1.0).abs() < 1e-12,
            "{d:?}"
        );
    }
}
