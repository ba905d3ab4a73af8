//! Civilian deaths outside every base's reach (methodology §7.5): for each event of
//! violence against civilians, whether a base active on the event's day reached its
//! location; per year, the share of civilian deaths that fell outside. This is the
//! literature's coverage question (Geo-PKO) asked of the events themselves, independent of
//! the risk index.

use super::report::{share, ReportRow};
use crate::config::CoverageConfig;
use crate::coverage::{active_bases, ActiveBase};
use crate::grid::distance_km;
use crate::model::day::ymd_from_days;
use crate::model::rows::{Base, Category, Event, Precision};
use serde::Serialize;
use std::collections::BTreeMap;

/// Civilian deaths inside and outside reach in one year.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct YearReach {
    /// Calendar year of the events.
    pub year: i32,
    /// Events of violence against civilians with at least one death.
    pub events: usize,
    /// Their civilian deaths.
    pub civilian_deaths: i64,
    /// Deaths outside the reach of every base with protection capacity.
    pub outside_protection: i64,
    /// Deaths outside the reach of every base, observers included.
    pub outside_presence: i64,
    /// Civilian deaths of precisely located events (exact or near).
    pub precise_deaths: i64,
    /// Of which outside every protecting base's reach.
    pub precise_outside_protection: i64,
}

impl YearReach {
    /// Share of civilian deaths outside every protecting base's reach.
    pub fn share_outside(&self) -> Option<f64> {
        (self.civilian_deaths > 0)
            .then(|| self.outside_protection as f64 / self.civilian_deaths as f64)
    }

    /// The same for precisely located events.
    pub fn precise_share_outside(&self) -> Option<f64> {
        (self.precise_deaths > 0)
            .then(|| self.precise_outside_protection as f64 / self.precise_deaths as f64)
    }
}

/// A row of the report: the year's figures and shares.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReachRow {
    /// The figures.
    #[serde(flatten)]
    pub year: YearReach,
    /// Share of civilian deaths outside every protecting base's reach.
    pub share_outside: Option<f64>,
    /// Same, precisely located events only.
    pub precise_share_outside: Option<f64>,
}

impl ReportRow for ReachRow {
    fn header() -> Vec<&'static str> {
        vec![
            "year",
            "events",
            "civilian_deaths",
            "outside_protection",
            "outside_presence",
            "share_outside",
            "precise_deaths",
            "precise_share_outside",
        ]
    }

    fn cells(&self) -> Vec<String> {
        let y = &self.year;
        vec![
            y.year.to_string(),
            y.events.to_string(),
            y.civilian_deaths.to_string(),
            y.outside_protection.to_string(),
            y.outside_presence.to_string(),
            share(self.share_outside),
            y.precise_deaths.to_string(),
            share(self.precise_share_outside),
        ]
    }
}

/// Whether any of `bases` reaches `at`, and whether any protecting one does.
fn reached(bases: &[ActiveBase<'_>], at: (f64, f64)) -> (bool, bool) {
    let (mut any, mut protected) = (false, false);
    for b in bases {
        if distance_km(at, (b.base.lat, b.base.lon)) <= b.radius_km {
            any = true;
            protected |= b.protects;
            if protected {
                break;
            }
        }
    }
    (any, protected)
}

/// Per year of `from..=to`, the civilian deaths of violence against civilians inside and
/// outside reach. Events reported again by another source count once; country-level
/// events are left out (no location); deaths are the civilian deaths when the source
/// gives them, else all deaths. Reach is by size on the event's first day, without the
/// rainy-season reduction.
pub fn outside_reach(
    events: &[Event],
    bases: &[Base],
    cfg: &CoverageConfig,
    from: i32,
    to: i32,
) -> Vec<ReachRow> {
    let mut by_day: BTreeMap<i32, Vec<&Event>> = BTreeMap::new();
    for e in events {
        let deaths = e.civilian_fatalities.unwrap_or(e.fatalities);
        if e.category == Category::CivilianHarm
            && e.duplicate_of.is_none()
            && e.precision != Precision::Country
            && deaths > 0
            && (from..=to).contains(&e.date_start)
        {
            by_day.entry(e.date_start).or_default().push(e);
        }
    }
    let mut years: BTreeMap<i32, YearReach> = BTreeMap::new();
    for (day, evs) in by_day {
        let active = active_bases(bases, day, cfg, |_, _| false);
        let year = ymd_from_days(day).0;
        let y = years.entry(year).or_insert_with(|| YearReach {
            year,
            ..Default::default()
        });
        for e in evs {
            let deaths = e.civilian_fatalities.unwrap_or(e.fatalities);
            let (any, protected) = reached(&active, (e.lat, e.lon));
            let precise = matches!(e.precision, Precision::Exact | Precision::Near);
            y.events += 1;
            y.civilian_deaths += deaths;
            if !protected {
                y.outside_protection += deaths;
            }
            if !any {
                y.outside_presence += deaths;
            }
            if precise {
                y.precise_deaths += deaths;
                if !protected {
                    y.precise_outside_protection += deaths;
                }
            }
        }
    }
    years
        .into_values()
        .map(|year| ReachRow {
            share_outside: year.share_outside(),
            precise_share_outside: year.precise_share_outside(),
            year,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::day::days_from_ymd;

    fn event(lat: f64, lon: f64, day: i32, deaths: i64, category: Category) -> Event {
        let id = format!("{lat}{lon}{day}");
        let mut e = Event::at("ucdp_ged", &id, day, (lat, lon), None, category, deaths);
        e.civilian_fatalities = Some(deaths);
        e
    }

    #[test]
    fn deaths_inside_and_outside_a_company_base() {
        let d = days_from_ymd(2016, 3, 1).unwrap_or_default();
        // A 200-troop company base: reach 15 km. One degree of longitude at 6.5° N is
        // ≈110.5 km, so 0.1° ≈ 11 km (inside) and 0.2° ≈ 22 km (outside).
        let bases = vec![Base::at(
            "M",
            "Here",
            (6.5, 21.0),
            0,
            (d - 10, d + 10),
            Some(200),
        )];
        let cfg = CoverageConfig::default();
        let events = vec![
            event(6.5, 21.1, d, 3, Category::CivilianHarm),
            event(6.5, 21.2, d, 5, Category::CivilianHarm),
            // After the base closed: outside.
            event(6.5, 21.1, d + 11, 2, Category::CivilianHarm),
            // Not violence against civilians: left out.
            event(6.5, 21.2, d, 7, Category::ArmedClash),
        ];
        let rows = outside_reach(&events, &bases, &cfg, d - 100, d + 100);
        assert_eq!(rows.len(), 1);
        let y = &rows[0].year;
        assert_eq!((y.year, y.events, y.civilian_deaths), (2016, 3, 10));
        assert_eq!((y.outside_protection, y.outside_presence), (7, 7));
        assert_eq!(rows[0].share_outside, Some(0.7));
    }
}
