//! Calibration (methodology §13): a logistic model on the index components that turns a
//! cell's scores into P(at least one civilian-harm event in the cell within the horizon).
//!
//! The model is fitted by the backtest on rolling origins of a tuning window only
//! (`vigil calibrate`, or `vigil backtest --tune-until`), stored in the manifest like the
//! normalisation, recorded with every snapshot scored after it, and applied per cell by the
//! engine (the snapshot's `probability` column). Its coefficients are constrained to be
//! non-negative, so that, like the index, the probability never falls when a threat
//! component or the exposure grows.

use crate::model::params::{sigmoid, P};

/// Training rows: inputs, outcome and weight (the inverse of the sampling rate).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainingSet {
    /// Inputs per row.
    pub x: Vec<[f64; P]>,
    /// Whether an event followed.
    pub y: Vec<bool>,
    /// Weight per row.
    pub w: Vec<f64>,
}

impl TrainingSet {
    /// Adds a row.
    pub fn push(&mut self, x: [f64; P], y: bool, w: f64) {
        self.x.push(x);
        self.y.push(y);
        self.w.push(w);
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
    /// Intercept.
    pub intercept: f64,
    /// One per input, ≥ 0.
    pub coefficients: [f64; P],
    /// Weighted share of positives.
    pub base_rate: f64,
    /// Newton iterations over all active-set rounds.
    pub iterations: usize,
}

/// Ridge penalty on the coefficients (not the intercept), per unit of the weight of the
/// rarer outcome: enough to keep an input that never varies (exposure without population
/// data) or separates the outcomes perfectly at a finite value, too small to move the
/// others. (Scaled by all rows instead, it outweighed the information of a few thousand
/// events among millions of cell-origins and flattened the probabilities of the hottest
/// cells a hundredfold.)
const RIDGE: f64 = 1e-3;
const MAX_ITER: usize = 100;

/// Fits a weighted logistic regression of `y` on the inputs by Newton's method (IRLS),
/// with non-negative coefficients: an input whose coefficient comes out negative is fixed
/// at 0 and the model refitted (active set), until every free coefficient is ≥ 0.
pub fn fit(data: &TrainingSet) -> Result<Fit, CalibrationError> {
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
    let mut free = [true; P];
    let mut iterations = 0;
    loop {
        let rarer = pos_w.min(total_w - pos_w);
        let (beta, it) = newton(data, &free, rarer * RIDGE, base_rate)?;
        iterations += it;
        // The most negative free coefficient leaves the model, if any.
        let worst = (0..P)
            .filter(|j| free[*j] && beta[j + 1] < 0.0)
            .min_by(|a, b| beta[a + 1].total_cmp(&beta[b + 1]));
        match worst {
            Some(j) => free[j] = false,
            None => {
                let mut coefficients = [0.0; P];
                for j in 0..P {
                    coefficients[j] = if free[j] { beta[j + 1] } else { 0.0 };
                }
                return Ok(Fit {
                    intercept: beta[0],
                    coefficients,
                    base_rate,
                    iterations,
                });
            }
        }
    }
}

/// Newton's method on the penalised log-likelihood over the free inputs; returns the
/// parameters (intercept first) and the iterations used.
///
/// Sums run over fixed chunks of rows added in order, so the fit is the same to the last
/// bit on one core or many (a rayon `sum` adds in whatever order the threads finish).
fn newton(
    data: &TrainingSet,
    free: &[bool; P],
    ridge: f64,
    base_rate: f64,
) -> Result<([f64; P + 1], usize), CalibrationError> {
    use rayon::prelude::*;
    const Q: usize = P + 1;
    let active: Vec<usize> = std::iter::once(0)
        .chain((0..P).filter(|j| free[*j]).map(|j| j + 1))
        .collect();
    let k = active.len();
    let mut beta = [0.0; Q];
    beta[0] = (base_rate / (1.0 - base_rate)).ln();
    let row = |i: usize| -> [f64; Q] {
        let mut z = [1.0; Q];
        z[1..].copy_from_slice(&data.x[i]);
        z
    };
    let objective = |beta: &[f64; Q]| -> f64 {
        // Fixed chunks summed in order: the same bits on any number of threads.
        let ll: f64 = chunks(data.len())
            .into_par_iter()
            .map(|range| {
                range
                    .map(|i| {
                        let z = row(i);
                        let eta: f64 = (0..Q).map(|j| beta[j] * z[j]).sum();
                        // log σ(η) = −ln(1 + e^{−η}); log(1 − σ(η)) = −ln(1 + e^{η}).
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
    let mut current = objective(&beta);
    for it in 1..=MAX_ITER {
        // Gradient and Hessian over the active parameters.
        // Per fixed chunk, then added in chunk order: deterministic whatever the threads.
        let (grad, hess) = chunks(data.len())
            .into_par_iter()
            .map(|range| {
                let (mut g, mut h) = (vec![0.0; k], vec![0.0; k * k]);
                for i in range {
                    let z = row(i);
                    let eta: f64 = (0..Q).map(|j| beta[j] * z[j]).sum();
                    let p = sigmoid(eta);
                    let resid = data.w[i] * (f64::from(u8::from(data.y[i])) - p);
                    let curv = data.w[i] * p * (1.0 - p);
                    for (a, &ja) in active.iter().enumerate() {
                        g[a] += resid * z[ja];
                        for (b, &jb) in active.iter().enumerate().take(a + 1) {
                            h[a * k + b] += curv * z[ja] * z[jb];
                        }
                    }
                }
                (g, h)
            })
            .collect::<Vec<_>>()
            .into_iter()
            .fold(
                (vec![0.0; k], vec![0.0; k * k]),
                |(mut g1, mut h1), (g2, h2)| {
                    g1.iter_mut().zip(&g2).for_each(|(a, b)| *a += b);
                    h1.iter_mut().zip(&h2).for_each(|(a, b)| *a += b);
                    (g1, h1)
                },
            );
        let mut g = grad;
        let mut h = hess;
        for a in 0..k {
            for b in 0..a {
                h[b * k + a] = h[a * k + b];
            }
            if active[a] != 0 {
                g[a] -= ridge * beta[active[a]];
                h[a * k + a] += ridge;
            }
        }
        let Some(step) = solve(h, g, k) else {
            return Err(CalibrationError::NoConvergence(it));
        };
        // Step halving keeps every iteration an ascent.
        let mut t = 1.0;
        loop {
            let mut next = beta;
            for (a, &j) in active.iter().enumerate() {
                next[j] += t * step[a];
            }
            let value = objective(&next);
            if value >= current - 1e-12 * current.abs() || t < 1e-6 {
                let moved = step.iter().map(|s| (t * s).abs()).fold(0.0, f64::max);
                beta = next;
                let gain = value - current;
                current = value;
                if moved < 1e-9 || gain.abs() < 1e-12 * current.abs().max(1.0) {
                    return Ok((beta, it));
                }
                break;
            }
            t /= 2.0;
        }
    }
    Err(CalibrationError::NoConvergence(MAX_ITER))
}

/// ln(1 + e^x) without overflow.
fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// Solves the symmetric positive definite system `a x = b` (row-major `n × n`) by Gaussian
/// elimination with partial pivoting; `None` when singular.
fn solve(mut a: Vec<f64>, mut b: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    for c in 0..n {
        let pivot = (c..n).max_by(|x, y| a[x * n + c].abs().total_cmp(&a[y * n + c].abs()))?;
        if a[pivot * n + c].abs() < 1e-300 {
            return None;
        }
        if pivot != c {
            for j in 0..n {
                a.swap(c * n + j, pivot * n + j);
            }
            b.swap(c, pivot);
        }
        for r in c + 1..n {
            let f = a[r * n + c] / a[c * n + c];
            if f != 0.0 {
                for j in c..n {
                    a[r * n + j] -= f * a[c * n + j];
                }
                b[r] -= f * b[c];
            }
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|j| a[r * n + j] * x[j]).sum();
        x[r] = (b[r] - s) / a[r * n + r];
    }
    Some(x)
}

/// `0..n` cut into consecutive ranges of a fixed size (the last shorter).
fn chunks(n: usize) -> Vec<std::ops::Range<usize>> {
    const CHUNK: usize = 16_384;
    (0..n.div_ceil(CHUNK))
        .map(|c| c * CHUNK..((c + 1) * CHUNK).min(n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::{inputs, Calibration, FEATURES, LOAD_FLOOR};
    use crate::model::rand::SplitMix64;

    /// Rows drawn from a known logistic model on the first two inputs.
    fn simulated(intercept: f64, b: [f64; 2], n: usize, seed: u64) -> TrainingSet {
        let mut r = SplitMix64::new(seed);
        let mut t = TrainingSet::default();
        for _ in 0..n {
            let mut x = [0.0; P];
            x[0] = r.next_f64();
            x[1] = r.next_f64();
            x[11] = 1.0;
            let p = sigmoid(intercept + b[0] * x[0] + b[1] * x[1]);
            t.push(x, r.next_f64() < p, 1.0);
        }
        t
    }

    #[test]
    fn the_fit_is_the_same_bits_on_one_thread_or_several() {
        let t = simulated(-3.0, [2.0, 1.0], 100_000, 5);
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
        // Exposure is constant (1): it and the intercept share −3.
        let intercept = f.intercept + f.coefficients[11];
        assert!((intercept + 3.0).abs() < 0.1, "{f:?}");
        assert!((f.coefficients[0] - 2.0).abs() < 0.1, "{f:?}");
        assert!((f.coefficients[1] - 1.0).abs() < 0.1, "{f:?}");
        for j in 2..11 {
            assert_eq!(f.coefficients[j], 0.0, "input {j} never varies: {f:?}");
        }
    }

    #[test]
    fn a_harmful_looking_input_with_a_negative_effect_is_fixed_at_zero() {
        let t = simulated(-1.0, [2.0, -1.5], 50_000, 5);
        let f = fit(&t).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.coefficients[1], 0.0, "{f:?}");
        assert!(f.coefficients[0] > 1.0, "{f:?}");
        assert!(f.coefficients.iter().all(|b| *b >= 0.0));
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
        // Every row with harm 1 is followed by an event, none with harm 0: the ridge keeps
        // the coefficient finite and the probabilities ordered.
        let mut t = TrainingSet::default();
        for i in 0..100 {
            let mut x = [0.0; P];
            x[0] = f64::from(u8::from(i % 2 == 0));
            t.push(x, i % 2 == 0, 1.0);
        }
        let f = fit(&t).unwrap_or_else(|e| panic!("{e}"));
        let cal = Calibration {
            basis: String::new(),
            horizon_days: 30,
            fitted_until: String::new(),
            features: FEATURES.map(String::from).to_vec(),
            intercept: f.intercept,
            coefficients: f.coefficients.to_vec(),
            rows: 100,
            positives: 50,
            base_rate: f.base_rate,
        };
        let mut hit = [0.0; P];
        hit[0] = 1.0;
        let (p1, p0) = (cal.probability(&hit), cal.probability(&[0.0; P]));
        assert!(p1.is_finite() && p1 > 0.99 && p0 < 0.01, "{p1} {p0}");
    }

    #[test]
    fn inputs_are_log_loads_and_grow_with_every_component() {
        // A component of 1 − e^(−2) is a load of 2: ln 3.
        let c = 1.0 - (-2.0f64).exp();
        let x = inputs(&[c, 0.0, 0.0, 0.0, 0.0, 0.4], 0.7);
        assert_eq!(x[0], c);
        assert!((x[5] - (1.0 + 2.0 / LOAD_FLOOR).ln()).abs() < 1e-9, "{x:?}");
        assert_eq!((x[1], x[6], x[10], x[11]), (0.0, 0.0, 0.4, 0.7));
        // Saturated components stay finite and ordered.
        let (near, full) = (
            inputs(&[1.0 - 1e-12, 0.0, 0.0, 0.0, 0.0, 0.0], 1.0),
            inputs(&[1.0, 0.0, 0.0, 0.0, 0.0, 0.0], 1.0),
        );
        assert!(near[5].is_finite() && full[5].is_finite() && full[5] >= near[5]);
        for i in 0..5 {
            let mut lo = [0.3; 6];
            let mut hi = lo;
            hi[i] = 0.6;
            lo[5] = 0.0;
            hi[5] = 0.0;
            let (a, b) = (inputs(&lo, 1.0), inputs(&hi, 1.0));
            assert!(b[i] > a[i] && b[5 + i] > a[5 + i]);
        }
    }

    #[test]
    fn stored_coefficients_are_matched_by_name() {
        let cal = Calibration {
            basis: String::new(),
            horizon_days: 30,
            fitted_until: String::new(),
            features: vec!["exposure".into(), "unknown".into(), "harm".into()],
            intercept: -1.0,
            coefficients: vec![0.5, 9.0, 2.0],
            rows: 0,
            positives: 0,
            base_rate: 0.0,
        };
        let w = cal.weights();
        assert_eq!((w[0], w[11]), (2.0, 0.5));
        assert_eq!(w.iter().sum::<f64>(), 2.5, "the unknown name is left out");
        let mut x = [0.0; P];
        x[0] = 1.0;
        x[11] = 1.0;
        assert!((cal.probability(&x) - sigmoid(1.5)).abs() < 1e-15);
    }

    #[test]
    fn solves_a_small_system() {
        let x = solve(vec![4.0, 1.0, 1.0, 3.0], vec![1.0, 2.0], 2).unwrap_or_default();
        assert!((x[0] - 1.0 / 11.0).abs() < 1e-12 && (x[1] - 7.0 / 11.0).abs() < 1e-12);
        assert_eq!(solve(vec![1.0, 2.0, 2.0, 4.0], vec![1.0, 1.0], 2), None);
    }
}
