//! Responsiveness (methodology §7.4): for cells that entered high or critical, the days
//! until they were covered, from the stored snapshots of a range. Cells not yet covered
//! when the range ends are censored, so the median and the shares covered within 30 and
//! 90 days are Kaplan–Meier estimates (plain shares when nothing is censored).

use super::report::{num, share, ReportRow};
use crate::coverage::CoverageError;
use crate::model::cell::Tier;
use crate::model::day::{format_date, parse_iso_date, ymd_from_days};
use crate::store::snapshot::load_columns;
use crate::store::Store;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// What the tracker needs of one cell of one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation<'a> {
    /// The cell.
    pub cell: u64,
    /// High or critical.
    pub high: bool,
    /// High or critical in the previous snapshot (`None`: not in it, or no previous one).
    pub prev_high: Option<bool>,
    /// Covered.
    pub covered: bool,
    /// Mission of the nearest base.
    pub mission: Option<&'a str>,
}

/// One cell's time from entering high or critical to being covered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Episode {
    /// The cell.
    pub cell: u64,
    /// Mission of its nearest base when it entered.
    pub mission: String,
    /// Day it entered (days since 1970-01-01).
    pub entered: i32,
    /// Days until covered (0: covered when it entered); `None`: not covered by the end.
    pub days_to_cover: Option<i32>,
    /// Days followed (to coverage or to the end of the range).
    pub followed: i32,
}

/// Follows cells through the snapshots of a range, in date order.
#[derive(Debug, Default)]
pub struct Tracker {
    open: HashMap<u64, (i32, String)>,
    /// High at the first snapshot without a known entry: skipped until they leave high.
    unknown_entry: HashSet<u64>,
    done: Vec<Episode>,
    seen: usize,
}

impl Tracker {
    /// Observes the snapshot of `date` (all its cells).
    pub fn observe<'a>(&mut self, date: i32, cells: impl IntoIterator<Item = Observation<'a>>) {
        let first = self.seen == 0;
        self.seen += 1;
        let mut still_unknown = HashSet::new();
        for o in cells {
            if o.high && self.unknown_entry.contains(&o.cell) {
                still_unknown.insert(o.cell);
                continue;
            }
            if o.high && !self.open.contains_key(&o.cell) {
                let entered = match o.prev_high {
                    Some(p) => !p,
                    // Not in the previous snapshot: it entered, unless there is none to see.
                    None => !first,
                };
                if entered {
                    let mission = o.mission.unwrap_or(super::summary::NO_BASE).to_owned();
                    self.open.insert(o.cell, (date, mission));
                } else {
                    still_unknown.insert(o.cell);
                    continue;
                }
            }
            if o.covered {
                if let Some((start, mission)) = self.open.remove(&o.cell) {
                    self.done.push(Episode {
                        cell: o.cell,
                        mission,
                        entered: start,
                        days_to_cover: Some(date - start),
                        followed: date - start,
                    });
                }
            }
        }
        self.unknown_entry = still_unknown;
    }

    /// The episodes, the open ones censored at `end`; sorted by entry day and cell.
    pub fn finish(mut self, end: i32) -> Vec<Episode> {
        for (cell, (start, mission)) in self.open {
            self.done.push(Episode {
                cell,
                mission,
                entered: start,
                days_to_cover: None,
                followed: end - start,
            });
        }
        self.done.sort_by_key(|e| (e.entered, e.cell));
        self.done
    }
}

/// The episodes of the stored snapshots dated `from..=to`, and how many snapshots were read.
pub fn episodes(store: &Store, from: i32, to: i32) -> Result<(Vec<Episode>, usize), CoverageError> {
    let (lo, hi) = (format_date(from), format_date(to));
    let dates: Vec<(&String, &crate::store::SnapshotInfo)> = store
        .manifest()
        .snapshots
        .range(lo.clone()..=hi.clone())
        .collect();
    if dates.is_empty() {
        return Err(CoverageError::NoSnapshots { from: lo, to: hi });
    }
    let mut tracker = Tracker::default();
    for (date, _) in &dates {
        let cells = load_columns(
            store,
            date,
            &["cell", "tier", "prev_tier", "covered", "mission"],
        )?;
        tracker.observe(
            parse_iso_date(date).unwrap_or(from),
            cells.iter().map(|r| Observation {
                cell: r.cell,
                high: r.tier.is_high(),
                prev_high: r.prev_tier.map(Tier::is_high),
                covered: r.coverage.covered,
                mission: r.coverage.mission.as_deref(),
            }),
        );
    }
    Ok((tracker.finish(to), dates.len()))
}

/// Kaplan–Meier survival of "not yet covered": `(day, S(day))` after each day with a
/// coverage, for episodes `(days, covered)`.
pub fn kaplan_meier(times: &[(i32, bool)]) -> Vec<(i32, f64)> {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let mut at_risk = sorted.len();
    let mut s = 1.0;
    let mut out = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let t = sorted[i].0;
        let (mut events, mut leaving) = (0, 0);
        while i < sorted.len() && sorted[i].0 == t {
            events += usize::from(sorted[i].1);
            leaving += 1;
            i += 1;
        }
        if events > 0 {
            s *= 1.0 - events as f64 / at_risk as f64;
            out.push((t, s));
        }
        at_risk -= leaving;
    }
    out
}

/// The responsiveness of a group of episodes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Responsiveness {
    /// Mission, or `all`.
    pub mission: String,
    /// Year of entry, or `None` for all years.
    pub year: Option<i32>,
    /// Cells that entered high or critical.
    pub entered: usize,
    /// Of which covered by the end of the range.
    pub covered: usize,
    /// Of which covered on the day they entered.
    pub covered_at_entry: usize,
    /// Median days to coverage (`None`: fewer than half were covered).
    pub median_days: Option<i32>,
    /// Estimated share covered within 30 days (`None`: nobody followed that long).
    pub within_30d: Option<f64>,
    /// Estimated share covered within 90 days.
    pub within_90d: Option<f64>,
}

impl Responsiveness {
    /// The figures of `group` under `mission` / `year`.
    pub fn of(mission: &str, year: Option<i32>, group: &[&Episode]) -> Responsiveness {
        let times: Vec<(i32, bool)> = group
            .iter()
            .map(|e| (e.followed, e.days_to_cover.is_some()))
            .collect();
        let km = kaplan_meier(&times);
        let longest = times.iter().map(|t| t.0).max().unwrap_or(0);
        let survival = |t: i32| {
            (longest >= t).then(|| {
                km.iter()
                    .take_while(|(d, _)| *d <= t)
                    .last()
                    .map_or(1.0, |(_, s)| *s)
            })
        };
        Responsiveness {
            mission: mission.to_owned(),
            year,
            entered: group.len(),
            covered: group.iter().filter(|e| e.days_to_cover.is_some()).count(),
            covered_at_entry: group.iter().filter(|e| e.days_to_cover == Some(0)).count(),
            median_days: km.iter().find(|(_, s)| *s <= 0.5).map(|(d, _)| *d),
            within_30d: survival(30).map(|s| 1.0 - s),
            within_90d: survival(90).map(|s| 1.0 - s),
        }
    }
}

impl ReportRow for Responsiveness {
    fn header() -> Vec<&'static str> {
        vec![
            "mission",
            "year",
            "entered",
            "covered",
            "at_entry",
            "median_days",
            "within_30d",
            "within_90d",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.mission.clone(),
            self.year.map_or_else(|| "all".into(), |y| y.to_string()),
            self.entered.to_string(),
            self.covered.to_string(),
            self.covered_at_entry.to_string(),
            self.median_days
                .map_or_else(|| "-".into(), |d| num(f64::from(d), 0)),
            share(self.within_30d),
            share(self.within_90d),
        ]
    }
}

/// Rows per mission and year, each mission over all years, and everything (`all`, all years).
pub fn table(episodes: &[Episode]) -> Vec<Responsiveness> {
    let mut groups: BTreeMap<(&str, Option<i32>), Vec<&Episode>> = BTreeMap::new();
    for e in episodes {
        let year = ymd_from_days(e.entered).0;
        for key in [
            (e.mission.as_str(), Some(year)),
            (e.mission.as_str(), None),
            (super::summary::ALL, None),
        ] {
            groups.entry(key).or_default().push(e);
        }
    }
    let mut rows: Vec<Responsiveness> = groups
        .iter()
        .map(|((m, y), g)| Responsiveness::of(m, *y, g))
        .collect();
    // `all` last; within a mission, the years then the mission's total.
    rows.sort_by_key(|r| {
        (
            r.mission == super::summary::ALL,
            r.mission.clone(),
            r.year.is_none(),
            r.year,
        )
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(cell: u64, high: bool, prev: Option<bool>, covered: bool) -> Observation<'static> {
        Observation {
            cell,
            high,
            prev_high: prev,
            covered,
            mission: Some("M"),
        }
    }

    #[test]
    fn days_from_entry_to_coverage() {
        let mut t = Tracker::default();
        // Day 0: cell 1 is high with no known entry (skipped); cell 2 low.
        t.observe(0, [obs(1, true, None, false), obs(2, false, None, false)]);
        // Day 7: cell 2 enters, uncovered; cell 3 appears high and covered (0 days).
        t.observe(
            7,
            [
                obs(1, true, Some(true), false),
                obs(2, true, Some(false), false),
                obs(3, true, None, true),
            ],
        );
        // Day 14: cell 2 drops to elevated, still uncovered: the episode stays open.
        t.observe(14, [obs(2, false, Some(true), false)]);
        // Day 28: cell 2 covered (21 days after it entered); cell 4 enters, never covered.
        t.observe(
            28,
            [
                obs(2, false, Some(false), true),
                obs(4, true, Some(false), false),
            ],
        );
        let eps = t.finish(100);
        let got: Vec<(u64, i32, Option<i32>, i32)> = eps
            .iter()
            .map(|e| (e.cell, e.entered, e.days_to_cover, e.followed))
            .collect();
        assert_eq!(
            got,
            vec![(2, 7, Some(21), 21), (3, 7, Some(0), 0), (4, 28, None, 72)]
        );
        let all = Responsiveness::of("all", None, &eps.iter().collect::<Vec<_>>());
        assert_eq!((all.entered, all.covered, all.covered_at_entry), (3, 2, 1));
        // S: 2/3 after day 0, 1/3 after day 21; the censored episode stays at risk.
        assert_eq!(all.median_days, Some(21));
        assert!((all.within_30d.unwrap_or_default() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(all.within_90d, None, "nobody was followed 90 days");
    }

    #[test]
    fn kaplan_meier_without_censoring_is_the_plain_share() {
        let km = kaplan_meier(&[(5, true), (10, true), (10, true), (40, true)]);
        assert_eq!(km, vec![(5, 0.75), (10, 0.25), (40, 0.0)]);
        // Censored at 8: the two events at 10 face three at risk.
        let km = kaplan_meier(&[(5, true), (8, false), (10, true), (10, true)]);
        assert_eq!(km, vec![(5, 0.75), (10, 0.0)]);
        let r = Responsiveness::of("m", None, &[]);
        assert_eq!((r.entered, r.median_days, r.within_30d), (0, None, None));
    }
}
