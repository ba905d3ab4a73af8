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
pub enum Kind {
    /// `civilian_harm`: the H amount (signal factor 1).
    Harm,
    /// `armed_clash`, `remote_violence`: the C amount (signal factor ½ in spread and trend).
    Conflict,
    /// Anything else: counted in `events`, no weight.
    Other,
}

impl Kind {
    /// The factor of the event in the spread and trend signals.
    pub fn signal_factor(self) -> f64 {
        match self {
            Kind::Harm => 1.0,
            Kind::Conflict => 0.5,
            Kind::Other => 0.0,
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
    pub kind: Vec<Kind>,
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
        let n = df.height();
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

        let known_of = |i: usize| -> i32 {
            let d = days.get(i).unwrap_or(i32::MAX);
            match published.get(i) {
                Some(p) => d.max(i32::try_from(p.div_euclid(DAY)).unwrap_or(i32::MAX)),
                None => d,
            }
        };
        // Known day of every record by `source:source_id`, for the links.
        let mut known_by_id: HashMap<(&str, &str), i32> = HashMap::new();
        if duplicate_of.iter().any(|d| d.is_some()) {
            for i in 0..n {
                if let (Some(s), Some(id)) = (source.get(i), source_id.get(i)) {
                    known_by_id.insert((s, id), known_of(i));
                }
            }
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|i| days.get(*i).unwrap_or(i32::MAX));
        let mut set = EventSet::default();
        for i in order {
            let (Some(c), Some(d)) = (cell.get(i), days.get(i)) else {
                continue;
            };
            set.cell.push(c);
            set.day.push(d);
            set.known.push(known_of(i));
            set.counted_until.push(
                duplicate_of
                    .get(i)
                    .and_then(|t| t.split_once(':'))
                    .and_then(|k| known_by_id.get(&k).copied())
                    .unwrap_or(i32::MAX),
            );
            let cat = category.get(i).unwrap_or("");
            set.kind.push(match cat {
                "civilian_harm" => Kind::Harm,
                "armed_clash" | "remote_violence" => Kind::Conflict,
                _ => Kind::Other,
            });
            let f = fatalities.get(i).unwrap_or(0);
            set.severity.push(severity(f));
            set.precision.push(
                precision
                    .get(i)
                    .and_then(Precision::parse)
                    .unwrap_or(Precision::Country),
            );
            set.civilian_deaths.push(civ.get(i).unwrap_or(0));
            if labels {
                set.labels.push(EventLabel {
                    id: format!(
                        "{}:{}",
                        source.get(i).unwrap_or(""),
                        source_id.get(i).unwrap_or("")
                    ),
                    category: cat.to_owned(),
                    fatalities: f,
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
