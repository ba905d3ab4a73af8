//! The events a scoring run needs, read once with polars (selection by date, severity,
//! precision factor, publication day) into plain columns that the day loop walks.

use super::ScoreError;
use crate::model::rows::Precision;
use polars::prelude::*;
use std::collections::HashMap;
use std::path::Path;

/// Seconds in a day.
const DAY: i64 = 86_400;

/// What an event adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventClass {
    /// `civilian_harm`: the H amount (signal factor 1).
    Harm,
    /// `armed_clash`, `remote_violence`: the C amount (signal factor ½ in spread and trend).
    Conflict,
    /// Anything else: counted in `events`, no weight.
    Other,
}

impl EventClass {
    /// The amount (H or C) the event's decayed weight adds to; `Other` adds to none.
    pub fn weighs(self) -> bool {
        self != EventClass::Other
    }

    /// The factor of the event in the spread and trend signals.
    pub fn signal_factor(self) -> f64 {
        match self {
            EventClass::Harm => 1.0,
            EventClass::Conflict => 0.5,
            EventClass::Other => 0.0,
        }
    }
}

/// The day an event becomes known: its last day, or the day it was published when later.
/// Nothing is counted, scored or served before the day it was known (the as-of rule).
pub fn known_day(date_end: i32, published_at: Option<i64>) -> i32 {
    match published_at {
        Some(p) => date_end.max(i32::try_from(p.div_euclid(DAY)).unwrap_or(i32::MAX)),
        None => date_end,
    }
}

/// The ages at which an event weighs, from the scoring configuration: the one place the
/// scoring window, the recent and baseline periods and the look-back are derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ages {
    /// An event younger than this adds its decayed weight to H or C and to the spread.
    pub window: i32,
    /// An event younger than this adds to the recent trend amount.
    pub recent: i32,
    /// Else, younger than this adds to the baseline trend amount.
    pub trend: i32,
}

/// Which trend amount an event of some age adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    /// The recent period.
    Recent,
    /// The baseline period.
    Baseline,
}

impl Ages {
    /// The ages of `cfg`.
    pub fn of(cfg: &crate::config::ScoreConfig) -> Self {
        Ages {
            window: cfg.window_days as i32,
            recent: cfg.recent_days as i32,
            trend: (cfg.recent_days + cfg.baseline_days) as i32,
        }
    }

    /// How many days back from a day events can still count on it.
    pub fn lookback(self) -> i32 {
        self.window.max(self.trend)
    }

    /// The days of events to read for scoring `from..=to` (two spare days before the
    /// look-back, for the links between records).
    pub fn read_from(self, from: i32) -> i32 {
        from - self.lookback() - 2
    }

    /// Whether an event of `age` days weighs in H, C and the spread.
    pub fn weighs(self, age: i32) -> bool {
        age < self.window
    }

    /// The trend amount an event of `age` days adds to, if any.
    pub fn trend(self, age: i32) -> Option<Trend> {
        if age < self.recent {
            Some(Trend::Recent)
        } else if age < self.trend {
            Some(Trend::Baseline)
        } else {
            None
        }
    }
}

/// Precision factor p of a point-located event (methodology §2).
pub fn precision_factor(p: Precision) -> f64 {
    match p {
        Precision::Exact => 1.0,
        Precision::Near => 0.8,
        Precision::Admin2 => 0.4,
        Precision::Admin1 => 0.2,
        Precision::Region => 0.1,
        Precision::Country => 0.0,
    }
}

/// Severity 1 + ln(1 + fatalities).
pub fn severity(fatalities: i64) -> f64 {
    1.0 + (1.0 + fatalities.max(0) as f64).ln()
}

/// What `explain` shows of an event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventLabel {
    /// `source:source_id`.
    pub id: String,
    /// Canonical category.
    pub category: String,
    /// Fatalities.
    pub fatalities: i64,
}

/// Placed events dated within a range, sorted by last day (then by the table's order).
#[derive(Debug, Clone, Default)]
pub struct EventSet {
    /// Base-resolution cell of the event's point.
    pub cell: Vec<u64>,
    /// Last day (days since 1970-01-01).
    pub day: Vec<i32>,
    /// First day on which the event is known: its last day, or its publication day when
    /// later.
    pub known: Vec<i32>,
    /// The event counts on day D only while D < `counted_until`: the day its twin in
    /// another source becomes known (`i32::MAX` when it has none).
    pub counted_until: Vec<i32>,
    /// What it adds to.
    pub kind: Vec<EventClass>,
    /// Remote violence (shelling, air strikes, mines, IEDs): a `Conflict` event counted
    /// apart by the forecast's features.
    pub remote: Vec<bool>,
    /// 1 + ln(1 + fatalities).
    pub severity: Vec<f64>,
    /// Location precision.
    pub precision: Vec<Precision>,
    /// Civilian deaths (civilian_fatalities, else fatalities of civilian-harm events).
    pub civilian_deaths: Vec<i64>,
    /// Labels, when asked for.
    pub labels: Vec<EventLabel>,
}

impl EventSet {
    /// Number of events.
    pub fn len(&self) -> usize {
        self.day.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.day.is_empty()
    }

    /// Whether event `i` counts on day `d`: known by then, and not yet superseded by the
    /// record it was linked to as a duplicate. The one counting rule of scoring and explain.
    pub fn counts_on(&self, i: usize, d: i32) -> bool {
        self.known[i] <= d && d < self.counted_until[i]
    }

    /// The events that count on day `d` (those of the look-back that [`Self::counts_on`]).
    pub fn counting_on(&self, d: i32, ages: Ages) -> impl Iterator<Item = usize> + '_ {
        self.dated(d - ages.lookback() + 1, d)
            .filter(move |i| self.counts_on(*i, d))
    }

    /// Indexes of the events whose last day lies in `from..=to`.
    pub fn dated(&self, from: i32, to: i32) -> std::ops::Range<usize> {
        let a = self.day.partition_point(|d| *d < from);
        let b = self.day.partition_point(|d| *d <= to);
        a..b.max(a)
    }

    /// Reads the placed events of `events_path` whose last day is within `from..=to`.
    /// `labels` adds what `explain` shows.
    pub fn load(events_path: &Path, from: i32, to: i32, labels: bool) -> Result<Self, ScoreError> {
        let path = PlRefPath::try_from_path(events_path)?;
        let day = col("date_end").cast(DataType::Int32);
        let is_harm = col("category").eq(lit("civilian_harm"));
        let civilian_deaths = when(col("civilian_fatalities").is_not_null())
            .then(col("civilian_fatalities"))
            .when(is_harm)
            .then(col("fatalities"))
            .otherwise(lit(0i64))
            .cast(DataType::Int64);
        let df = LazyFrame::scan_parquet(path, ScanArgsParquet::default())?
            .filter(
                col("cell")
                    .is_not_null()
                    .and(day.clone().gt_eq(lit(from)))
                    .and(day.clone().lt_eq(lit(to))),
            )
            .select([
                col("cell"),
                day.alias("day"),
                col("published_at").cast(DataType::Int64),
                col("category"),
                col("precision"),
                col("fatalities").cast(DataType::Int64),
                civilian_deaths.alias("civ"),
                col("source"),
                col("source_id"),
                col("duplicate_of"),
            ])
            .collect()?;
        let cell = df.column("cell")?.u64()?;
        let days = df.column("day")?.i32()?;
        let published = df.column("published_at")?.i64()?;
        let category = df.column("category")?.str()?;
        let precision = df.column("precision")?.str()?;
        let fatalities = df.column("fatalities")?.i64()?;
        let civ = df.column("civ")?.i64()?;
        let source = df.column("source")?.str()?;
        let source_id = df.column("source_id")?.str()?;
        let duplicate_of = df.column("duplicate_of")?.str()?;

        // Each column read once, in order, into plain vectors (a chunked array's `get` finds
        // the chunk on every call); the rows are then taken in the order of their days.
        let cells: Vec<Option<u64>> = cell.iter().collect();
        let day_of: Vec<i32> = days.iter().map(|d| d.unwrap_or(i32::MAX)).collect();
        let known: Vec<i32> = day_of
            .iter()
            .zip(published.iter())
            .map(|(d, p)| known_day(*d, p))
            .collect();
        let class: Vec<(EventClass, bool)> = category
            .iter()
            .map(|c| match c.unwrap_or("") {
                "civilian_harm" => (EventClass::Harm, false),
                "armed_clash" => (EventClass::Conflict, false),
                "remote_violence" => (EventClass::Conflict, true),
                _ => (EventClass::Other, false),
            })
            .collect();
        let precision: Vec<Precision> = precision
            .iter()
            .map(|p| p.and_then(Precision::parse).unwrap_or(Precision::Country))
            .collect();
        let fatalities: Vec<i64> = fatalities.iter().map(|f| f.unwrap_or(0)).collect();
        let civ: Vec<i64> = civ.iter().map(|f| f.unwrap_or(0)).collect();
        // Known day of every record by `source:source_id`, for the links.
        let mut counted_until = vec![i32::MAX; day_of.len()];
        if duplicate_of.iter().any(|d| d.is_some()) {
            let mut known_by_id: HashMap<(&str, &str), i32> = HashMap::new();
            for ((s, id), k) in source.iter().zip(source_id.iter()).zip(&known) {
                if let (Some(s), Some(id)) = (s, id) {
                    known_by_id.insert((s, id), *k);
                }
            }
            for (until, d) in counted_until.iter_mut().zip(duplicate_of.iter()) {
                if let Some(k) = d
                    .and_then(|t| t.split_once(':'))
                    .and_then(|k| known_by_id.get(&k))
                {
                    *until = *k;
                }
            }
        }
        let mut order: Vec<usize> = (0..day_of.len()).collect();
        order.sort_by_key(|i| day_of[*i]);
        let mut set = EventSet::default();
        for i in order {
            let (Some(c), d) = (cells[i], day_of[i]) else {
                continue;
            };
            if d == i32::MAX {
                continue;
            }
            set.cell.push(c);
            set.day.push(d);
            set.known.push(known[i]);
            set.counted_until.push(counted_until[i]);
            set.kind.push(class[i].0);
            set.remote.push(class[i].1);
            set.severity.push(severity(fatalities[i]));
            set.precision.push(precision[i]);
            set.civilian_deaths.push(civ[i]);
            if labels {
                set.labels.push(EventLabel {
                    id: format!(
                        "{}:{}",
                        source.get(i).unwrap_or(""),
                        source_id.get(i).unwrap_or("")
                    ),
                    category: category.get(i).unwrap_or("").to_owned(),
                    fatalities: fatalities[i],
                });
            }
        }
        Ok(set)
    }
}

/// The last day of any placed event.
pub fn last_event_date(events_path: &Path) -> Result<i32, ScoreError> {
    let path = PlRefPath::try_from_path(events_path)?;
    let df = LazyFrame::scan_parquet(path, ScanArgsParquet::default())?
        .filter(col("cell").is_not_null())
        .select([col("date_end").cast(DataType::Int32).max().alias("last")])
        .collect()?;
    df.column("last")?.i32()?.get(0).ok_or(ScoreError::NoEvents)
}

/// Of stored event rows (those of a scoring window), the ones that count on day `d` by the
/// rule of [`EventSet::counts_on`]: known by `d`, and not superseded by a record known by `d`
/// that they were linked to as duplicates.
pub fn rows_counting_on(
    mut rows: Vec<crate::model::rows::Event>,
    d: i32,
) -> Vec<crate::model::rows::Event> {
    rows.retain(|e| known_day(e.date_end, e.published_at) <= d);
    let known: std::collections::HashSet<(String, String)> = rows
        .iter()
        .map(|e| (e.source.to_string(), e.source_id.clone()))
        .collect();
    rows.retain(|e| {
        e.duplicate_of
            .as_deref()
            .and_then(|t| t.split_once(':'))
            .is_none_or(|(s, id)| !known.contains(&(s.to_owned(), id.to_owned())))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rows::{Category, Event};

    fn event(
        source: &str,
        id: &str,
        day: i32,
        published_day: Option<i32>,
        dup: Option<&str>,
    ) -> Event {
        Event {
            source: crate::model::rows::source_name(source),
            source_id: id.into(),
            date_start: day,
            date_end: day,
            published_at: published_day.map(|p| i64::from(p) * DAY + 3_600),
            lat: 0.0,
            lon: 0.0,
            cell: None,
            precision: Precision::Exact,
            category: Category::CivilianHarm,
            civilian_targeted: true,
            fatalities: 1,
            civilian_fatalities: None,
            actor1: String::new(),
            actor2: String::new(),
            admin1: String::new(),
            admin2: String::new(),
            duplicate_of: dup.map(String::from),
        }
    }

    #[test]
    fn rows_count_from_the_day_known_until_their_duplicate_is_known() {
        let rows = vec![
            event("acled", "1", 100, None, Some("ucdp_ged:9")),
            event("ucdp_ged", "9", 100, Some(105), None),
            event("acled", "2", 101, Some(110), None),
        ];
        let ids = |d: i32| -> Vec<String> {
            rows_counting_on(rows.clone(), d)
                .into_iter()
                .map(|e| e.source_id)
                .collect()
        };
        // Day 104: the ACLED record counts, its UCDP duplicate is not yet known.
        assert_eq!(ids(104), ["1"]);
        // Day 105: the UCDP record is known and supersedes it.
        assert_eq!(ids(105), ["9"]);
        // Day 110: the late-published record appears.
        assert_eq!(ids(110), ["9", "2"]);
        assert_eq!(known_day(100, Some(99 * DAY)), 100);
        assert_eq!(known_day(100, Some(105 * DAY + 5)), 105);
    }

    #[test]
    fn the_ages_split_the_look_back() {
        let cfg = crate::config::ScoreConfig::default();
        let a = Ages::of(&cfg);
        assert_eq!(a.lookback(), a.window.max(a.trend));
        assert!(a.weighs(0) && !a.weighs(a.window));
        assert_eq!(a.trend(0), Some(Trend::Recent));
        assert_eq!(a.trend(a.recent), Some(Trend::Baseline));
        assert_eq!(a.trend(a.trend), None);
    }
}
