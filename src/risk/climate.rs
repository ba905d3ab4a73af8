//! Climate stress (methodology §6): a drought or rainfall-deficit signal per cell, as known
//! on the snapshot day, from the `climate` table.

use crate::config::ScoreConfig;
use crate::grid::{cell_from_u64, center, unit, unit_distance_km, Unit};
use crate::model::day::{days_from_ymd, ymd_from_days};
use crate::model::rows::ClimateValue;
use ahash::AHashMap;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// A climate point in a bucket: its unit vector, its stress, its cell.
type Point = (Unit, f64, u64);

/// How the chosen variable becomes a stress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    /// Already standardised (SPEI, standardised anomaly): stress = clamp(−z / 2, 0, 1).
    Standardised,
    /// Monthly rainfall, mm: standardised against the same calendar month at the same
    /// point over the periods known so far (at least three).
    Rainfall,
}

/// The climate series of the variable used for stress, per climate cell.
#[derive(Debug, Clone)]
pub struct ClimateModel {
    /// The variable used (`spei_3`, …, `precip_anomaly` or `precip_mm`).
    pub variable: String,
    measure: Measure,
    /// Climate cells, sorted.
    points: Vec<u64>,
    /// Per point: (period, value) sorted by period.
    series: Vec<Vec<(i32, f64)>>,
    /// Every period present, sorted.
    periods: Vec<i32>,
    /// Largest distance from a cell centre to the climate point it takes, km.
    climate_km: f64,
}

/// First day of the month after the one starting on `period`.
pub fn next_month(period: i32) -> i32 {
    let (y, m, _) = ymd_from_days(period);
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    days_from_ymd(y, m, 1).unwrap_or(i32::MAX)
}

/// The preferred variable among those loaded: `spei_3`, another SPEI scale (shortest
/// first), `precip_anomaly`, then `precip_mm`.
fn choose(rows: &[ClimateValue]) -> Option<(String, Measure)> {
    let mut names: Vec<&str> = rows.iter().map(|r| r.variable.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    if names.contains(&"spei_3") {
        return Some(("spei_3".into(), Measure::Standardised));
    }
    let spei = names
        .iter()
        .filter_map(|n| {
            n.strip_prefix("spei_")
                .and_then(|s| s.parse::<u32>().ok())
                .map(|k| (k, *n))
        })
        .min();
    if let Some((_, n)) = spei {
        return Some((n.to_owned(), Measure::Standardised));
    }
    if names.contains(&"precip_anomaly") {
        return Some(("precip_anomaly".into(), Measure::Standardised));
    }
    names
        .contains(&"precip_mm")
        .then(|| ("precip_mm".into(), Measure::Rainfall))
}

impl ClimateModel {
    /// Builds the model from the `climate` table; `None` when no usable variable is loaded.
    pub fn new(rows: &[ClimateValue], cfg: &ScoreConfig) -> Option<Self> {
        let (variable, measure) = choose(rows)?;
        Self::build(rows, variable, measure, cfg.climate_km)
    }

    /// The monthly rainfall (`precip_mm`) series alone, for seasonal reach; `None` when no
    /// rainfall is loaded.
    pub fn rainfall(rows: &[ClimateValue], climate_km: f64) -> Option<Self> {
        rows.iter()
            .any(|r| r.variable == "precip_mm")
            .then_some(())?;
        Self::build(rows, "precip_mm".into(), Measure::Rainfall, climate_km)
    }

    fn build(
        rows: &[ClimateValue],
        variable: String,
        measure: Measure,
        climate_km: f64,
    ) -> Option<Self> {
        let mut by_point: BTreeMap<u64, BTreeMap<i32, f64>> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.variable == variable) {
            if r.value.is_finite() {
                by_point
                    .entry(r.cell)
                    .or_default()
                    .insert(r.period, r.value);
            }
        }
        let mut periods: Vec<i32> = by_point.values().flat_map(|s| s.keys().copied()).collect();
        periods.sort_unstable();
        periods.dedup();
        Some(ClimateModel {
            variable,
            measure,
            points: by_point.keys().copied().collect(),
            series: by_point
                .into_values()
                .map(|s| s.into_iter().collect())
                .collect(),
            periods,
            climate_km,
        })
    }

    /// The point nearest to `at` within `climate_km` (ties to the lower point cell).
    pub fn nearest_point(&self, at: (f64, f64)) -> Option<usize> {
        let u = unit(at);
        let mut best: Option<(f64, u64, usize)> = None;
        for (i, p) in self.points.iter().enumerate() {
            let Ok(c) = cell_from_u64(*p) else { continue };
            let dist = unit_distance_km(&u, &unit(center(c)));
            if dist <= self.climate_km
                && best.is_none_or(|(bd, bc, _)| dist < bd || (dist == bd && *p < bc))
            {
                best = Some((dist, *p, i));
            }
        }
        best.map(|(_, _, i)| i)
    }

    /// The expected value of calendar month `month` (1–12) at point `i`: the mean of that
    /// month's values over the periods that have ended by day `d` (`None` without any).
    pub fn month_mean(&self, i: usize, month: u32, d: i32) -> Option<f64> {
        let values: Vec<f64> = self
            .series
            .get(i)?
            .iter()
            .filter(|(p, _)| next_month(*p) <= d && ymd_from_days(*p).1 == month)
            .map(|(_, v)| *v)
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }

    /// The period used on day `d`: the latest month that has ended by `d`.
    pub fn period_for(&self, d: i32) -> Option<i32> {
        self.periods
            .iter()
            .rev()
            .find(|p| next_month(**p) <= d)
            .copied()
    }

    /// Stress of one point in `period`, using only periods up to it.
    fn point_stress(&self, series: &[(i32, f64)], period: i32) -> Option<f64> {
        let upto = series.partition_point(|(p, _)| *p <= period);
        let (p, v) = *series[..upto].last()?;
        if p != period {
            return None;
        }
        let z = match self.measure {
            Measure::Standardised => v,
            Measure::Rainfall => {
                let month = ymd_from_days(period).1;
                let same: Vec<f64> = series[..upto]
                    .iter()
                    .filter(|(q, _)| ymd_from_days(*q).1 == month)
                    .map(|(_, x)| *x)
                    .collect();
                if same.len() < 3 {
                    return Some(0.0);
                }
                let n = same.len() as f64;
                let mean = same.iter().sum::<f64>() / n;
                let sd = (same.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
                if sd <= 0.0 {
                    return Some(0.0);
                }
                (v - mean) / sd
            }
        };
        Some((-z / 2.0).clamp(0.0, 1.0))
    }

    /// Stress of each cell centre in `period`: the stress of the nearest climate point
    /// (its cell's centre) within `climate_km`, ties to the lower point cell; 0 when none
    /// is that close.
    pub fn stress(&self, period: i32, centres: &[(f64, f64)]) -> Vec<f64> {
        // Points in lat/lon buckets at least climate_km wide, so that the nearest point
        // within reach is in the 3 × 3 buckets around a cell.
        let lat_max = centres.iter().map(|c| c.0.abs()).fold(0.0f64, f64::max);
        let b_lat = self.climate_km / 111.0;
        let b_lon = b_lat / (lat_max + b_lat).min(85.0).to_radians().cos();
        let key =
            |(lat, lon): (f64, f64)| ((lat / b_lat).floor() as i64, (lon / b_lon).floor() as i64);
        let mut buckets: AHashMap<(i64, i64), Vec<Point>> = AHashMap::new();
        for (point, series) in self.points.iter().zip(&self.series) {
            let Some(s) = self.point_stress(series, period) else {
                continue;
            };
            let Ok(c) = cell_from_u64(*point) else {
                continue;
            };
            let ll = center(c);
            buckets
                .entry(key(ll))
                .or_default()
                .push((unit(ll), s, *point));
        }
        centres
            .par_iter()
            .map(|c| {
                let u = unit(*c);
                let (i, j) = key(*c);
                let mut best: Option<(f64, u64, f64)> = None;
                for di in -1..=1 {
                    for dj in -1..=1 {
                        let Some(points) = buckets.get(&(i + di, j + dj)) else {
                            continue;
                        };
                        for (pu, s, cell) in points {
                            let d = unit_distance_km(&u, pu);
                            if d <= self.climate_km
                                && best.is_none_or(|(bd, bc, _)| d < bd || (d == bd && *cell < bc))
                            {
                                best = Some((d, *cell, *s));
                            }
                        }
                    }
                }
                best.map_or(0.0, |(_, _, s)| s)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::cell_of;
    use h3o::{CellIndex, Resolution};

    fn rows(cell: u64, variable: &str, values: &[(i32, u32, f64)]) -> Vec<ClimateValue> {
        values
            .iter()
            .map(|(y, m, v)| ClimateValue {
                cell,
                period: days_from_ymd(*y, *m, 1).unwrap_or(0),
                variable: variable.into(),
                value: *v,
            })
            .collect()
    }

    #[test]
    fn spei_drought_is_stress_and_a_month_is_used_once_it_has_ended() {
        let res = Resolution::Seven;
        let cfg = ScoreConfig::default();
        let here = cell_of(6.5, 21.0, res).map(u64::from).unwrap_or(0);
        let mut all = rows(here, "spei_3", &[(2024, 1, -1.0), (2024, 2, -3.0)]);
        all.extend(rows(here, "precip_mm", &[(2024, 1, 5.0)]));
        let m = ClimateModel::new(&all, &cfg).unwrap_or_else(|| panic!("model"));
        assert_eq!(m.variable, "spei_3");
        let feb15 = days_from_ymd(2024, 2, 15).unwrap_or(0);
        let mar1 = days_from_ymd(2024, 3, 1).unwrap_or(0);
        assert_eq!(m.period_for(feb15), days_from_ymd(2024, 1, 1));
        assert_eq!(m.period_for(mar1), days_from_ymd(2024, 2, 1));
        let near = crate::grid::cell_from_u64(here)
            .map(|c| {
                c.grid_disk::<Vec<CellIndex>>(3)
                    .last()
                    .map(|n| u64::from(*n))
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        let far = cell_of(8.0, 23.0, res).map(u64::from).unwrap_or(0);
        let centres: Vec<(f64, f64)> = [here, near, far]
            .iter()
            .map(|c| cell_from_u64(*c).map(center).unwrap_or_default())
            .collect();
        let s = m.stress(days_from_ymd(2024, 1, 1).unwrap_or(0), &centres);
        assert_eq!(s, vec![0.5, 0.5, 0.0]);
        let s = m.stress(days_from_ymd(2024, 2, 1).unwrap_or(0), &centres);
        assert_eq!(s[0], 1.0, "SPEI −3 is beyond extreme: stress 1");
    }

    #[test]
    fn rainfall_is_standardised_against_the_same_month_of_earlier_years_only() {
        let res = Resolution::Seven;
        let cfg = ScoreConfig::default();
        let here = cell_of(6.5, 21.0, res).map(u64::from).unwrap_or(0);
        let all = rows(
            here,
            "precip_mm",
            &[
                (2021, 7, 200.0),
                (2022, 7, 220.0),
                (2023, 7, 180.0),
                (2024, 7, 100.0),
                (2024, 8, 10.0),
            ],
        );
        let m = ClimateModel::new(&all, &cfg).unwrap_or_else(|| panic!("model"));
        let centres = vec![cell_from_u64(here).map(center).unwrap_or_default()];
        // July 2024 against Julys 2021–2024: mean 175, sd 52.6 → z = −1.43 → stress 0.71.
        let s = m.stress(days_from_ymd(2024, 7, 1).unwrap_or(0), &centres)[0];
        let same = [200.0, 220.0, 180.0, 100.0];
        let mean = same.iter().sum::<f64>() / 4.0;
        let sd = (same.iter().map(|x: &f64| (x - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
        assert!((s - (-(100.0 - mean) / sd / 2.0)).abs() < 1e-12, "{s}");
        // Too few Augusts: no stress.
        assert_eq!(
            m.stress(days_from_ymd(2024, 8, 1).unwrap_or(0), &centres)[0],
            0.0
        );
        // July 2023 sees only the Julys up to 2023 (mean 200, sd 20): z = −1, stress 0.5;
        // the dry July 2024 does not change it.
        assert_eq!(
            m.stress(days_from_ymd(2023, 7, 1).unwrap_or(0), &centres)[0],
            0.5
        );
    }
}
