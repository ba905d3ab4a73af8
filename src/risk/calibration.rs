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
    /// The highest probability: P = ceiling × σ(log-odds) (1 before recalibration).
    pub ceiling: f64,
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
                        ceiling: 1.0,
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

/// Events a held-out year (and the origins before it) need before its rows may
/// recalibrate a fit.
const RECALIBRATION_EVENTS: usize = 20;

/// The last years of the tuning window held out in turn to recalibrate the fit.
pub const RECALIBRATION_YEARS: i32 = 3;

/// Fits on every row, then recalibrates on rolling origins: each held-out block of
/// origins (from `holdouts[k]` to the next start; the last years of the tuning window) is
/// predicted by a fit on the origins before it, and the pooled out-of-sample log-odds
/// against their outcomes give the [`Recalibration`] (intercept, slope, ceiling) that the
/// full fit's log-odds are mapped through. This corrects a model whose probabilities are
/// too flat or too steep out of sample, a level of violence that changed within the
/// tuning window, and the near-certainty a logistic model would give the few cells with
/// far more violence than the rest, when some of them went quiet the next year. Several
/// years rather than one, so that the map has seen hot spots both flare up and cool
/// down. A block with fewer than [`RECALIBRATION_EVENTS`] events (held out, or before it)
/// is skipped; without origins or any usable block, the full fit as it is.
pub fn fit_recalibrated(data: &TrainingSet, holdouts: &[i32]) -> Result<Fit, CalibrationError> {
    let mut full = fit(data)?;
    if data.origin.len() != data.len() || holdouts.is_empty() {
        return Ok(full);
    }
    let (mut eta, mut y, mut w) = (Vec::new(), Vec::new(), Vec::new());
    for (k, from) in holdouts.iter().enumerate() {
        let until = holdouts.get(k + 1).copied().unwrap_or(i32::MAX);
        let held = data.subset(|i| (*from..until).contains(&data.origin[i]));
        let before = data.subset(|i| data.origin[i] < *from);
        if held.y.iter().filter(|y| **y).count() < RECALIBRATION_EVENTS
            || before.y.iter().filter(|y| **y).count() < RECALIBRATION_EVENTS
        {
            continue;
        }
        let first = fit(&before)?;
        eta.extend(held.x.iter().map(|x| log_odds(&first, x)));
        y.extend(held.y);
        w.extend(held.w);
    }
    if eta.is_empty() {
        return Ok(full);
    }
    let Some(map) = recalibration(&eta, &y, &w) else {
        return Ok(full);
    };
    tracing::debug!(?map, rows = eta.len(), "recalibration");
    full.intercept = map.intercept + map.slope * full.intercept;
    full.coefficients.iter_mut().for_each(|c| *c *= map.slope);
    full.ceiling = map.ceiling;
    Ok(full)
}

/// How a fit's log-odds η are mapped to a probability out of sample:
/// P = ceiling × σ(intercept + slope × η).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Recalibration {
    /// Added to the log-odds.
    intercept: f64,
    /// Multiplies the log-odds (≥ 0: the order of the cells is kept).
    slope: f64,
    /// The highest probability.
    ceiling: f64,
}

/// Ceilings tried: 1 and down to 1 % in steps of about 8 %.
fn ceilings() -> impl Iterator<Item = f64> {
    (0..=60).map(|k| 0.01f64.powf(f64::from(k) / 60.0))
}

/// The recalibration of held-out log-odds `eta` against their outcomes: for each
/// [`ceilings`] value the maximum-likelihood intercept and slope (Fisher scoring), the
/// most likely of all kept. The slope is kept ≥ 0, so that the order of the cells (and
/// every ranking measure) is what the fit says; the ceiling lets the top of the scale
/// bend, where a few cells with far more violence than the rest would otherwise be given
/// near-certainty. `None` without convergence.
fn recalibration(eta: &[f64], y: &[bool], w: &[f64]) -> Option<Recalibration> {
    let mut start = (0.0, 1.0);
    let mut best: Option<(f64, Recalibration)> = None;
    for ceiling in ceilings() {
        // Each ceiling starts from the last one's solution (the ceilings fall slowly).
        let Some((intercept, slope)) = scaled_platt(eta, y, w, ceiling, start) else {
            continue;
        };
        start = (intercept, slope.max(0.0));
        let m = Recalibration {
            intercept,
            slope: slope.max(0.0),
            ceiling,
        };
        let ll = log_likelihood(eta, y, w, m);
        if ll.is_finite() && best.is_none_or(|(b, _)| ll > b) {
            best = Some((ll, m));
        }
    }
    best.map(|(_, m)| m)
}

/// Σ w · log P(y) under a recalibration.
fn log_likelihood(eta: &[f64], y: &[bool], w: &[f64], m: Recalibration) -> f64 {
    eta.iter()
        .zip(y)
        .zip(w)
        .map(|((e, y), w)| {
            let p = m.ceiling * sigmoid(m.intercept + m.slope * e);
            w * if *y { p.ln() } else { (-p).ln_1p() }
        })
        .sum()
}

/// The maximum-likelihood (intercept, slope) of P = ceiling × σ(a + b·η), by Fisher
/// scoring with step halving from `start`.
fn scaled_platt(
    eta: &[f64],
    y: &[bool],
    w: &[f64],
    ceiling: f64,
    start: (f64, f64),
) -> Option<(f64, f64)> {
    let (mut a, mut b) = start;
    let ll = |a: f64, b: f64| {
        log_likelihood(
            eta,
            y,
            w,
            Recalibration {
                intercept: a,
                slope: b,
                ceiling,
            },
        )
    };
    let mut current = ll(a, b);
    for _ in 0..100 {
        let (mut g, mut h) = ([0.0; 2], [0.0; 3]);
        for ((e, y), w) in eta.iter().zip(y).zip(w) {
            let s = sigmoid(a + b * e);
            let p = (ceiling * s).clamp(1e-300, 1.0 - 1e-15);
            let dp = ceiling * s * (1.0 - s);
            let v = p * (1.0 - p);
            let r = w * (f64::from(u8::from(*y)) - p) * dp / v;
            let c = w * dp * dp / v;
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
        let mut t = 1.0;
        loop {
            let next = ll(a + t * da, b + t * db);
            if next >= current || t < 1e-6 {
                a += t * da;
                b += t * db;
                let gain = next - current;
                current = next;
                if (t * da).abs().max((t * db).abs()) < 1e-10 || gain.abs() < 1e-12 {
                    return (a.is_finite() && b.is_finite()).then_some((a, b));
                }
                break;
            }
            t /= 2.0;
        }
    }
    (a.is_finite() && b.is_finite()).then_some((a, b))
}

/// The log-odds of a fit at inputs `x`.
fn log_odds(f: &Fit, x: &[f32; P]) -> f64 {
    let mut e = f.intercept;
    for (j, v) in x.iter().enumerate() {
        e += f.coefficients[j] * standardised(*v, f.means[j], f.scales[j]);
    }
    e
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
            ceiling: f.ceiling,
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
        let re = fit_recalibrated(&t, &[1]).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            re.coefficients[0] > plain.coefficients[0] * 1.3,
            "{plain:?} {re:?}"
        );
        // Without origins, nothing to hold out.
        let mut bare = t.clone();
        bare.origin.clear();
        assert_eq!(fit_recalibrated(&bare, &[1]), fit(&bare));
        let (a, b) = scaled_platt(
            &[0.0, 1.0, 0.0, 1.0],
            &[false, true, true, false],
            &[1.0; 4],
            1.0,
            (0.0, 1.0),
        )
        .unwrap_or((9.0, 9.0));
        assert!(a.abs() < 1e-9 && b.abs() < 1e-9, "{a} {b}");
    }

    #[test]
    fn the_recalibration_finds_a_ceiling() {
        // Outcomes drawn from 0.2 · σ(η): the ceiling and slope are recovered, and the
        // order of η is kept.
        let mut r = SplitMix64::new(3);
        let (mut eta, mut y) = (Vec::new(), Vec::new());
        for _ in 0..200_000 {
            let e = r.next_f64() * 12.0 - 8.0;
            y.push(r.next_f64() < 0.2 * sigmoid(e));
            eta.push(e);
        }
        let w = vec![1.0; eta.len()];
        let m = recalibration(&eta, &y, &w).unwrap_or_else(|| panic!("no recalibration"));
        assert!((0.16..0.25).contains(&m.ceiling), "{m:?}");
        assert!((0.8..1.25).contains(&m.slope), "{m:?}");
        assert!(m.intercept.abs() < 0.5, "{m:?}");
        // Plain logistic outcomes: no ceiling below 1 is more likely than a small one.
        let y: Vec<bool> = eta
            .iter()
            .map(|e| r.next_f64() < sigmoid(e + 4.0))
            .collect();
        let m = recalibration(&eta, &y, &w).unwrap_or_else(|| panic!("no recalibration"));
        assert!(m.ceiling > 0.85, "{m:?}");
    }

    #[test]
    fn every_held_out_year_recalibrates_the_fit() {
        // Three origins from a model whose chance never exceeds 0.3: the origins 1 and 2,
        // each predicted by a fit on the origins before it, bring the ceiling down, so
        // that the most violent cells get about 0.3, not near-certainty.
        let mut t = TrainingSet::default();
        let mut r = SplitMix64::new(9);
        for i in 0..180_000 {
            let mut x = [0.0f32; P];
            x[0] = r.next_f64() as f32;
            let p = 0.3 * sigmoid(-5.0 + 12.0 * f64::from(x[0]));
            t.push_at(x, r.next_f64() < p, 1.0, i / 60_000);
        }
        let plain = calibration(&fit(&t).unwrap_or_else(|e| panic!("{e}")));
        let re = fit_recalibrated(&t, &[1, 2]).unwrap_or_else(|e| panic!("{e}"));
        assert!((0.2..0.45).contains(&re.ceiling), "{re:?}");
        let mut top = [0.0f32; P];
        top[0] = 1.0;
        let p = calibration(&re).probability(&top);
        assert!(
            (p - 0.3).abs() < 0.07,
            "{p} (plain fit {})",
            plain.probability(&top)
        );
        assert!(plain.probability(&top) > p, "the plain fit is more certain");
        // A held-out year without enough events before it is skipped.
        assert_eq!(fit_recalibrated(&t, &[0]), fit(&t));
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
            ceiling: 1.0,
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
