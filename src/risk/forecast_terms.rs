//! A cell's forecast probability decomposed into the parts its inputs add to the
//! log-odds (coefficient × standardised value), each said in plain words.

use crate::model::params::{
    at, feature_names, Calibration, CLASSES, FEATURE_LOOKBACK_DAYS, P, RADII, RADII_KM,
    WINDOWS_DAYS,
};
use serde::Serialize;

/// One input's part in a cell's forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastTerm {
    /// The input's name ([`feature_names`]).
    pub feature: String,
    /// What it says about the cell, in words.
    pub words: String,
    /// The part of the log-odds it adds (negative: it lowers the chance).
    pub contribution: f64,
}

/// A cell's forecast, explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastExplanation {
    /// The probability, recomputed from the inputs (equal to the snapshot's).
    pub probability: f64,
    /// The horizon, days.
    pub horizon_days: u32,
    /// The log-odds of a cell at the training rows' mean inputs.
    pub intercept: f64,
    /// The highest probability of the model: probability = ceiling × σ(intercept + the
    /// terms' contributions).
    pub ceiling: f64,
    /// Every input with a part, largest part (in size) first.
    pub terms: Vec<ForecastTerm>,
}

impl ForecastExplanation {
    /// The explanation of inputs `x` under `cal`.
    pub fn of(cal: &Calibration, x: &[f32; P]) -> Self {
        let w = cal.weights();
        let parts = w.contributions(x);
        let names = feature_names();
        let mut terms: Vec<ForecastTerm> = (0..P)
            .filter(|j| parts[*j] != 0.0)
            .map(|j| ForecastTerm {
                feature: names[j].clone(),
                words: words(j, x[j]),
                contribution: parts[j],
            })
            .collect();
        terms.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
        ForecastExplanation {
            probability: w.probability(x),
            horizon_days: cal.horizon_days,
            intercept: w.intercept,
            ceiling: w.ceiling,
            terms,
        }
    }
}

/// `within 25 km` / `in the cell`.
fn place(r: usize) -> String {
    if r == 0 {
        "in the cell".to_owned()
    } else {
        format!("within {} km", RADII_KM[r])
    }
}

/// A weighted count, as people read it.
fn count(v: f64) -> String {
    if (v - v.round()).abs() < 0.05 {
        format!("{v:.0}")
    } else {
        format!("about {v:.1}")
    }
}

/// What input `j` of value `x` says, in words.
pub fn words(j: usize, x: f32) -> String {
    let x = f64::from(x);
    let un_log = x.exp() - 1.0;
    let classes = [
        "civilian-harm events",
        "armed clashes",
        "remote-violence events",
    ];
    if j < at::RECENCY {
        let per = RADII.len() * WINDOWS_DAYS.len();
        let (c, r, w) = (
            j / per,
            (j % per) / WINDOWS_DAYS.len(),
            j % WINDOWS_DAYS.len(),
        );
        debug_assert!(c < CLASSES.len());
        return format!(
            "{} {} {} in the last {} days",
            count(un_log),
            classes[c],
            place(r),
            WINDOWS_DAYS[w]
        );
    }
    if j < at::TREND {
        let r = j - at::RECENCY;
        if x <= 0.0 {
            return format!(
                "no violence {} in the last {FEATURE_LOOKBACK_DAYS} days",
                place(r)
            );
        }
        let days = (f64::from(FEATURE_LOOKBACK_DAYS).ln_1p() - x).exp() - 1.0;
        return format!("last violence {} {days:.0} days before", place(r));
    }
    if j < at::DEATHS {
        let r = j - at::TREND;
        return format!(
            "violence {} in the last 90 days at {:.1} × its three-year rate",
            place(r),
            x.exp()
        );
    }
    if j < at::PROXIMITY {
        let r = j - at::DEATHS;
        return format!(
            "{} civilian deaths {} in the last year",
            count(un_log),
            place(r)
        );
    }
    match j {
        at::PROXIMITY => {
            let km = (100f64.ln_1p() - x).exp() - 1.0;
            if km >= 99.0 {
                "no violence within 50 km in the last year".to_owned()
            } else if km < 0.5 {
                "violence in the cell in the last year".to_owned()
            } else {
                format!("nearest violence of the last year within {km:.0} km")
            }
        }
        at::ADMIN => format!(
            "{} civilian-harm events per 1,000 km² in its area in the last year",
            count(un_log)
        ),
        j if j == at::THEATRE => format!(
            "{} civilian-harm events across the theatre in the last 90 days",
            count(un_log)
        ),
        j if j == at::THEATRE + 1 => format!(
            "{} civilian-harm events across the theatre in the last year",
            count(un_log)
        ),
        at::POPULATION => format!("{un_log:.0} residents"),
        at::DISPLACED => format!("{un_log:.0} people in IDP sites"),
        at::CLIMATE => format!("climate stress {x:.2}"),
        at::EXPOSURE => format!("exposure {x:.2}"),
        j if (at::LOG_LOADS..at::CLIMATE).contains(&j) => {
            let load = un_log * crate::model::params::LOAD_FLOOR;
            let names = [
                "civilian harm",
                "armed conflict",
                "spread",
                "neighbourhood baseline",
                "escalation",
            ];
            format!(
                "index component {} at {:.2}",
                names[j - at::LOG_LOADS],
                1.0 - (-load).exp()
            )
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_said_in_words() {
        assert_eq!(
            words(at::count(0, 3, 1), 13f32.ln()),
            "12 civilian-harm events within 25 km in the last 90 days"
        );
        assert_eq!(
            words(at::count(1, 0, 2), 1.8f32.ln()),
            "about 0.8 armed clashes in the cell in the last 365 days"
        );
        let recency = (f64::from(FEATURE_LOOKBACK_DAYS).ln_1p() - 11f64.ln()) as f32;
        assert_eq!(
            words(at::RECENCY + 1, recency),
            "last violence within 5 km 10 days before"
        );
        assert_eq!(
            words(at::PROXIMITY, 0.0),
            "no violence within 50 km in the last year"
        );
        assert_eq!(
            words(at::DEATHS + 2, 4f32.ln()),
            "3 civilian deaths within 10 km in the last year"
        );
    }
}
