//! A backtest presented: SVG figures, the Markdown table and report, a calibration in one
//! line.

use super::{plot, Backtest, ModelMetrics, MODELS};
use crate::model::params::Calibration;

impl Backtest {
    /// The window the figures show: `evaluation` with a tuning window, else `all`.
    pub fn reported_window(&self) -> &'static str {
        if self.metrics.iter().any(|m| m.window == "evaluation") {
            "evaluation"
        } else {
            "all"
        }
    }

    /// The figures, as (file name, SVG): per horizon, the precision–recall curves of every
    /// model, the calibrated model's reliability diagram, and each model's average
    /// precision by year, over the reported window.
    pub fn plots(&self) -> Vec<(String, String)> {
        use plot::{Axis, Chart, Series};
        let window = self.reported_window();
        let mut horizons: Vec<u32> = self.metrics.iter().map(|m| m.horizon).collect();
        horizons.dedup();
        let mut out = Vec::new();
        for h in horizons {
            let rows: Vec<&ModelMetrics> = self
                .metrics
                .iter()
                .filter(|m| m.horizon == h && m.window == window)
                .collect();
            let whole = |model: &str| {
                rows.iter()
                    .find(|m| m.model == model && m.year.is_none())
                    .copied()
            };
            let pr = Chart {
                title: format!("Precision–recall, {h}-day horizon ({window} window)"),
                x: Axis::linear(
                    "recall (share of cells with civilian harm that follows)",
                    0.0,
                    1.0,
                ),
                y: Axis::log("precision", 1e-5, 1.0),
                series: MODELS
                    .iter()
                    .filter_map(|m| whole(m))
                    .filter_map(|r| {
                        r.pr_curve.as_ref().map(|c| Series {
                            name: r.model.clone(),
                            points: c.iter().map(|p| (p.recall, p.precision)).collect(),
                        })
                    })
                    .collect(),
                diagonal: false,
            };
            out.push((format!("pr_curve_{h}d.svg"), pr.svg()));
            if let Some(bins) = whole("forecast").and_then(|r| r.reliability.as_ref()) {
                let rel = Chart {
                    title: format!("Reliability of the forecast probability, {h} days"),
                    x: Axis::log("predicted probability", 1e-6, 1.0),
                    y: Axis::log("observed frequency", 1e-6, 1.0),
                    series: vec![Series {
                        name: "forecast".into(),
                        points: bins
                            .iter()
                            .map(|b| (b.mean_predicted, b.observed))
                            .collect(),
                    }],
                    diagonal: true,
                };
                out.push((format!("reliability_{h}d.svg"), rel.svg()));
            }
            let years: Vec<i32> = rows.iter().filter_map(|m| m.year).collect();
            let (lo, hi) = (
                years.iter().copied().min().unwrap_or(0),
                years.iter().copied().max().unwrap_or(0),
            );
            let skill = Chart {
                title: format!("Average precision by year, {h}-day horizon"),
                x: Axis::linear(
                    "year of the origin",
                    f64::from(lo) - 0.5,
                    f64::from(hi) + 0.5,
                ),
                y: Axis::log("average precision", 1e-4, 1.0),
                series: MODELS
                    .iter()
                    .map(|model| Series {
                        name: (*model).to_owned(),
                        points: rows
                            .iter()
                            .filter(|m| m.model == *model)
                            .filter_map(|m| Some((f64::from(m.year?), m.average_precision?)))
                            .collect(),
                    })
                    .filter(|s| !s.points.is_empty())
                    .collect(),
                diagonal: false,
            };
            out.push((format!("skill_by_year_{h}d.svg"), skill.svg()));
        }
        out
    }
}

/// The results as a Markdown table (one row per horizon, window, year and model).
pub fn markdown(rows: &[ModelMetrics]) -> String {
    let f = |x: Option<f64>| x.map_or_else(|| "–".to_owned(), |v| format!("{v:.3}"));
    let mut s = String::from(
        "| horizon | window | year | model | origins (with events) | ROC-AUC | AP | top 1 % | top 5 % | top 10 % | deaths top 5 % | predicted / observed | Brier skill |\n|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} d | {} | {} | {} | {} ({}) | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.horizon,
            r.window,
            r.year.map_or_else(|| "all".to_owned(), |y| y.to_string()),
            r.model,
            r.origins,
            r.origins_with_events,
            f(r.roc_auc),
            f(r.average_precision),
            f(r.recall_events[0]),
            f(r.recall_events[1]),
            f(r.recall_events[2]),
            f(r.recall_deaths[1]),
            match (r.mean_probability, r.observed_rate) {
                (Some(p), Some(o)) if o > 0.0 => format!("{:.2}", p / o),
                _ => "–".to_owned(),
            },
            r.brier_skill
                .map_or_else(|| "–".to_owned(), |b| format!("{b:.1e}")),
        ));
    }
    s
}

impl Backtest {
    /// The Markdown report: the metrics table, the calibrations and lead times.
    pub fn report(&self) -> String {
        let result = self;
        let mut s = markdown(&result.metrics);
        for c in &result.calibrations {
            s.push('\n');
            match &c.calibration {
                Some(cal) => s.push_str(&format!(
                    "calibration, {} days ({}): {}\n",
                    c.horizon,
                    c.source,
                    calibration_line(cal)
                )),
                None => s.push_str(&format!("calibration, {} days: none\n", c.horizon)),
            }
            if let Some(note) = &c.note {
                s.push_str(&format!("  note: {note}\n"));
            }
        }
        for lead in result.lead.iter().filter(|l| l.year.is_none()) {
            let flag = if lead.flag == "watch" {
                "on watch"
            } else {
                "high or critical"
            };
            let place = if lead.near_km > 0.0 {
                format!("a cell within {} km", lead.near_km)
            } else {
                "their cell".to_owned()
            };
            s.push_str(&format!(
            "lead time, {} ({} window): {} of {} civilian-harm events had {place} {flag} within {} days before; median lead {} days\n",
            lead.flag,
            lead.window,
            lead.flagged,
            lead.events,
            lead.window_days,
            lead.median_days.map_or_else(|| "–".to_owned(), |m| format!("{m:.0}"))
        ));
            let years: Vec<String> = result
                .lead
                .iter()
                .filter(|l| {
                    l.window == lead.window
                        && l.flag == lead.flag
                        && l.near_km == lead.near_km
                        && l.window_days == lead.window_days
                        && l.events > 0
                })
                .filter_map(|l| {
                    Some(format!(
                        "{} {}/{}{}",
                        l.year?,
                        l.flagged,
                        l.events,
                        l.median_days
                            .map_or_else(String::new, |m| format!(" ({m:.0} d)"))
                    ))
                })
                .collect();
            s.push_str(&format!("  by year of the event: {}\n", years.join(", ")));
        }
        for g in &result.gap_capture {
            s.push_str(&gap_capture_line(g));
        }
        s
    }
}

/// Forward gap capture of a window or a year of it, one line.
fn gap_capture_line(g: &super::GapCapture) -> String {
    let pct = |x: Option<f64>| x.map_or_else(|| "–".to_owned(), |v| format!("{:.1} %", v * 100.0));
    let when = g
        .year
        .map_or_else(|| format!("{} window", g.window), |y| format!("  {y}"));
    format!(
        "gap capture ({when}): of {:.0} civilian deaths in the {} days after {} origins outside every base's reach, {} in a gap cell, {} within {} km of one; gaps are {:.3} % of cells, with their surroundings {:.2} %\n",
        g.deaths_outside_reach,
        g.horizon_days,
        g.origins,
        pct(g.share_in_gap),
        pct(g.share_near_gap),
        super::GAP_NEAR_KM,
        g.gap_cell_share * 100.0,
        g.near_cell_share * 100.0
    )
}

/// A calibration, one line.
pub fn calibration_line(c: &Calibration) -> String {
    // The largest coefficients (per standard deviation of their input), by size.
    let mut terms: Vec<(&String, f64)> = c
        .features
        .iter()
        .zip(&c.coefficients)
        .filter(|(_, b)| **b != 0.0)
        .map(|(f, b)| (f, *b))
        .collect();
    terms.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    let zero = c.coefficients.len() - terms.len();
    let mut terms: Vec<String> = terms
        .iter()
        .take(8)
        .map(|(f, b)| format!("{f} {b:+.3}"))
        .collect();
    terms.push(format!("{zero} inputs at 0"));
    format!(
        "{}, horizon {} days, seen events up to {}; intercept {:.3}, per standard deviation {}; {} rows ({} followed by civilian harm), base rate {:.5}, ceiling {:.3}",
        c.basis,
        c.horizon_days,
        c.fitted_until,
        c.intercept,
        terms.join(", "),
        c.rows,
        c.positives,
        c.base_rate,
        c.ceiling
    )
}
