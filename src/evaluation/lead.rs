//! Lead times: how long before each civilian-harm event its cell (or a cell near it) was
//! flagged — by the index's high tiers or by the forecast's watch.

use super::metrics;
use crate::risk::{EventClass, EventSet};
use serde::Serialize;
use std::collections::HashSet;

/// How far back a high tier may precede an event to count as its warning, days.
pub const LEAD_WINDOW_DAYS: i32 = 90;
/// How far back a watch (or a high tier, near the event) may precede it, days: the
/// forecast's horizon.
pub const WATCH_WINDOW_DAYS: i32 = 30;
/// "Near": within this distance of the event's cell, km.
pub const NEAR_KM: f64 = 10.0;

/// Lead times of one kind of flag.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadTimes {
    /// `high tier` (the index's high or critical) or `watch` (the forecast's budget).
    pub flag: String,
    /// An event counts as flagged when a flagged cell lies within this distance of its
    /// cell (0: the cell itself), km.
    pub near_km: f64,
    /// `all`, `tuning` or `evaluation`: the origins whose flags count.
    pub window: String,
    /// Calendar year of the events, or `None` for all of the window's.
    pub year: Option<i32>,
    /// Civilian-harm events in the grid dated after the window's first origin and by its
    /// last origin + the look-back (one per cell and day), within `year` if given.
    pub events: usize,
    /// Of which preceded by a high or critical flag of their cell at some origin within
    /// the look-back before them.
    pub flagged: usize,
    /// Median days from the first such flag to the event.
    pub median_days: Option<f64>,
    /// The look-back, days.
    pub window_days: i32,
}

/// For each civilian-harm event after the first origin of `flags` (and in `year`, if
/// given): the earliest origin within `lookback` days before it at which its cell was high
/// or critical.
pub(super) fn lead_times(
    ev: &EventSet,
    (flag, flags): (&str, &[(i32, HashSet<u64>)]),
    grid: &HashSet<u64>,
    (window, year): (&str, Option<i32>),
    (lookback, near_km): (i32, f64),
    res: h3o::Resolution,
) -> LeadTimes {
    let k = crate::grid::rings_for_km(near_km, res);
    let mut seen = HashSet::new();
    let mut leads = Vec::new();
    let mut events = 0;
    let mut first = flags.first().map_or(0, |f| f.0) + 1;
    let mut last = flags.last().map_or(0, |f| f.0) + lookback;
    if let Some(y) = year {
        first = first.max(crate::model::day::days_from_ymd(y, 1, 1).unwrap_or(first));
        last = last.min(crate::model::day::days_from_ymd(y, 12, 31).unwrap_or(last));
    }
    for i in ev.dated(first, last) {
        if ev.kind[i] != EventClass::Harm || ev.counted_until[i] != i32::MAX {
            continue;
        }
        let (cell, day) = (ev.cell[i], ev.day[i]);
        // Only cells of some origin's grid count; events of the same cell and day once.
        if !grid.contains(&cell) || !seen.insert((cell, day)) {
            continue;
        }
        events += 1;
        let near: Vec<u64> = if near_km > 0.0 {
            crate::risk::within(cell, k, near_km)
                .into_iter()
                .map(|(c, _)| c)
                .collect()
        } else {
            vec![cell]
        };
        let earliest = flags
            .iter()
            .filter(|(d, _)| *d < day && *d >= day - lookback)
            .find(|(_, set)| near.iter().any(|c| set.contains(c)))
            .map(|(d, _)| *d);
        if let Some(d) = earliest {
            leads.push(f64::from(day - d));
        }
    }
    LeadTimes {
        flag: flag.to_owned(),
        near_km,
        window: window.to_owned(),
        year,
        events,
        flagged: leads.len(),
        median_days: metrics::median(&leads),
        window_days: lookback,
    }
}
