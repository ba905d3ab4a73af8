//! Plain SVG line charts for the backtest's figures (precision–recall curves, reliability
//! diagram, skill by year): no plotting dependency, output that any browser, QGIS report or
//! slide deck shows, and text that tests can read.

use crate::output::xml::escape;
use std::fmt::Write as _;

/// An axis: its label, range and whether it is logarithmic.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Label.
    pub label: String,
    /// Lowest value shown.
    pub min: f64,
    /// Highest value shown.
    pub max: f64,
    /// Logarithmic (base 10); `min` must then be positive.
    pub log: bool,
}

impl Axis {
    /// A linear axis.
    pub fn linear(label: &str, min: f64, max: f64) -> Self {
        Axis {
            label: label.to_owned(),
            min,
            max,
            log: false,
        }
    }

    /// A base-10 logarithmic axis.
    pub fn log(label: &str, min: f64, max: f64) -> Self {
        Axis {
            label: label.to_owned(),
            min,
            max,
            log: true,
        }
    }

    /// Position of `v` along the axis, 0 (min) to 1 (max), clamped.
    pub fn fraction(&self, v: f64) -> f64 {
        let f = if self.log {
            let (a, b) = (self.min.log10(), self.max.log10());
            (v.max(self.min).log10() - a) / (b - a)
        } else {
            (v - self.min) / (self.max - self.min)
        };
        if f.is_finite() {
            f.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// Tick values: the powers of ten within a log axis; on a linear one, the multiples of
    /// the round step (1, 2 or 5 × 10ᵏ) that gives at most six ticks (years stay whole).
    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let (a, b) = (
                self.min.log10().ceil() as i32,
                self.max.log10().floor() as i32,
            );
            return (a..=b).map(|e| 10f64.powi(e)).collect();
        }
        let span = self.max - self.min;
        if !(span > 0.0 && span.is_finite()) {
            return vec![self.min];
        }
        let raw = span / 5.0;
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * magnitude)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * magnitude);
        let first = (self.min / step).ceil() as i64;
        let last = (self.max / step + 1e-9).floor() as i64;
        (first..=last).map(|i| i as f64 * step).collect()
    }
}

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Points (x, y), drawn in the order given.
    pub points: Vec<(f64, f64)>,
}

/// A line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Title.
    pub title: String,
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis.
    pub y: Axis,
    /// Lines.
    pub series: Vec<Series>,
    /// Draws the diagonal y = x (reliability diagrams).
    pub diagonal: bool,
}

const W: f64 = 640.0;
const H: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 55.0;
/// Colour-blind-safe palette (Okabe–Ito), one per series in order.
const COLOURS: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
];

fn tick_label(v: f64, log: bool) -> String {
    if log && v < 0.01 {
        format!("{v:.0e}")
    } else if v.fract() == 0.0 && v.abs() >= 1.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').to_owned()
    }
}

impl Chart {
    /// Plot coordinates of a data point.
    pub fn position(&self, x: f64, y: f64) -> (f64, f64) {
        let pw = W - LEFT - RIGHT;
        let ph = H - TOP - BOTTOM;
        (
            LEFT + self.x.fraction(x) * pw,
            TOP + (1.0 - self.y.fraction(y)) * ph,
        )
    }

    /// The chart as an SVG document.
    pub fn svg(&self) -> String {
        let mut s = String::new();
        let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
            LEFT + pw / 2.0,
            escape(&self.title)
        );
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>"##
        );
        for t in self.x.ticks() {
            let (x, _) = self.position(t, self.y.min.max(f64::MIN_POSITIVE));
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{}" stroke="#ddd"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
                TOP + ph,
                TOP + ph + 16.0,
                tick_label(t, self.x.log)
            );
        }
        for t in self.y.ticks() {
            let (_, y) = self.position(self.x.min.max(f64::MIN_POSITIVE), t);
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                LEFT + pw,
                LEFT - 6.0,
                y + 4.0,
                tick_label(t, self.y.log)
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            LEFT + pw / 2.0,
            H - 14.0,
            escape(&self.x.label)
        );
        let _ = writeln!(
            s,
            r#"<text x="18" y="{0}" text-anchor="middle" transform="rotate(-90 18 {0})">{1}</text>"#,
            TOP + ph / 2.0,
            escape(&self.y.label)
        );
        if self.diagonal {
            let lo = self.x.min.max(self.y.min);
            let hi = self.x.max.min(self.y.max);
            let (x1, y1) = self.position(lo, lo);
            let (x2, y2) = self.position(hi, hi);
            let _ = writeln!(
                s,
                r##"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="#999" stroke-dasharray="4 4"/>"##
            );
        }
        for (i, series) in self.series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let points: Vec<String> = series
                .points
                .iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|(x, y)| {
                    let (px, py) = self.position(*x, *y);
                    format!("{px:.1},{py:.1}")
                })
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline class="series" data-name="{}" fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
                escape(&series.name),
                points.join(" ")
            );
            for p in &points {
                let (px, py) = p.split_once(',').unwrap_or(("0", "0"));
                let _ = writeln!(
                    s,
                    r#"<circle cx="{px}" cy="{py}" r="2.5" fill="{colour}"/>"#
                );
            }
            let ly = TOP + 10.0 + 20.0 * i as f64;
            let lx = W - RIGHT + 15.0;
            let _ = writeln!(
                s,
                r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2"/><text x="{}" y="{}">{}</text>"#,
                lx + 20.0,
                lx + 26.0,
                ly + 4.0,
                escape(&series.name)
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> Chart {
        Chart {
            title: "AP <by> year".into(),
            x: Axis::linear("year", 2019.0, 2022.0),
            y: Axis::log("average precision", 1e-3, 1.0),
            series: vec![
                Series {
                    name: "index".into(),
                    points: vec![(2019.0, 0.1), (2022.0, 1.0)],
                },
                Series {
                    name: "random".into(),
                    points: vec![(2019.0, 0.001), (2020.0, f64::NAN)],
                },
            ],
            diagonal: false,
        }
    }

    #[test]
    fn axes_map_values_into_the_plot_area() {
        let c = chart();
        // x: 2019 at the left edge, 2022 at the right; y: 1e-3 at the bottom, 1 at the top.
        assert_eq!(c.position(2019.0, 1e-3), (LEFT, H - BOTTOM));
        assert_eq!(c.position(2022.0, 1.0), (W - RIGHT, TOP));
        // Log axis: 10^-1.5 is halfway between 1e-3 and 1.
        let (_, y) = c.position(2020.5, 10f64.powf(-1.5));
        assert!((y - (TOP + (H - TOP - BOTTOM) / 2.0)).abs() < 1e-9);
        // Out of range and zero values are clamped to the edges.
        assert_eq!(c.position(2030.0, 0.0), (W - RIGHT, H - BOTTOM));
        assert_eq!(Axis::log("p", 1e-4, 1.0).ticks().len(), 5);
        // Linear ticks at round steps: whole years, tenths of a share.
        assert_eq!(
            Axis::linear("year", 2018.5, 2022.5).ticks(),
            vec![2019.0, 2020.0, 2021.0, 2022.0]
        );
        let shares = Axis::linear("recall", 0.0, 1.0).ticks();
        assert_eq!(shares.len(), 6);
        assert!((shares[1] - 0.2).abs() < 1e-12 && (shares[5] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_svg_has_one_line_and_legend_entry_per_series() {
        let svg = chart().svg();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains(r#"data-name="index""#) && svg.contains(">random</text>"));
        // The NaN point is left out: index has 2 markers, random 1.
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("AP &lt;by&gt; year"), "text is escaped");
        assert!(!svg.contains("NaN"));
    }
}
