//! New rows merged with the stored tables into the frames an ingest publishes, and the
//! facts recorded about the file (extent, dates, counts).

use super::merge::{link_cross_source, merge_events, supersede_candidates};
use super::{areas, geopko, IngestError, Parsed, Reject};
use crate::config::Config;
use crate::model::day::format_date;
use crate::model::rows::{
    Area, AreaCell, Base, ClimateValue, Event, IdpSite, PopulationCell, Table,
};
use crate::store::{IngestRecord, Store};
use polars::prelude::DataFrame;
use std::collections::BTreeMap;

pub(super) type Tables = (Vec<(&'static str, DataFrame)>, Vec<Reject>);

fn frame<T: Table>(rows: &[T]) -> Result<(&'static str, DataFrame), IngestError> {
    T::to_frame(rows)
        .map(|df| (T::NAME, df))
        .map_err(|source| IngestError::Table {
            table: T::NAME,
            source,
        })
}

/// The bounding box (west, south, east, north) of `(lat, lon)` points.
fn bbox(points: impl Iterator<Item = (f64, f64)>) -> Option<[f64; 4]> {
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    let mut any = false;
    for (lat, lon) in points {
        any = true;
        b = [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)];
    }
    any.then_some(b)
}

fn extent(record: &mut IngestRecord, points: impl Iterator<Item = (f64, f64)>) {
    record.bbox = bbox(points);
}

/// The first and last of `dates`, as text.
fn day_range(dates: impl Iterator<Item = i32>) -> Option<[String; 2]> {
    let (mut lo, mut hi) = (i32::MAX, i32::MIN);
    for d in dates {
        lo = lo.min(d);
        hi = hi.max(d);
    }
    (lo <= hi).then(|| [format_date(lo), format_date(hi)])
}

fn date_range(record: &mut IngestRecord, dates: impl Iterator<Item = i32>) {
    record.date_range = day_range(dates);
}

/// Frees `rows` on another thread when there are many (a million events' strings take
/// some 60 ms of CPU to free), while the caller goes on to encode and publish.
fn drop_aside<T: Send + 'static>(rows: Vec<T>) {
    if rows.len() < 100_000 {
        return;
    }
    // A thread that cannot be started drops the rows here instead.
    let _ = std::thread::Builder::new()
        .name("drop-rows".into())
        .spawn(move || drop(rows));
}

pub(super) fn events_tables(
    store: &Store,
    config: &Config,
    parsed: Parsed<Event>,
    record: &mut IngestRecord,
) -> Result<Tables, IngestError> {
    record.rows_read = parsed.rows_read;
    record.accepted = parsed.rows.len();
    // Two passes over a million rows: one on each core.
    (record.bbox, record.date_range) = rayon::join(
        || bbox(parsed.rows.iter().map(|e| (e.lat, e.lon))),
        || day_range(parsed.rows.iter().map(|e| e.date_start)),
    );
    let t = std::time::Instant::now();
    let merged = merge_events(store.read::<Event>()?, parsed.rows);
    record.duplicates = merged.already_stored;
    record.duplicates_in_file = merged.in_file;
    record.accepted -= merged.in_file;
    let merged = merged.rows;
    let mut rows = merged;
    record.superseded = supersede_candidates(&mut rows);
    record.linked = link_cross_source(&mut rows, &config.ingest);
    tracing::debug!(ms = t.elapsed().as_millis(), "merge and link");
    let t = std::time::Instant::now();
    let table = frame(&rows)?;
    tracing::debug!(ms = t.elapsed().as_millis(), "frame");
    drop_aside(rows);
    Ok((vec![table], parsed.rejects))
}

pub(super) fn bases_tables(
    store: &Store,
    config: &Config,
    parsed: Parsed<geopko::RawBase>,
    record: &mut IngestRecord,
) -> Result<Tables, IngestError> {
    record.rows_read = parsed.rows_read;
    record.accepted = parsed.rows.len();
    extent(record, parsed.rows.iter().map(|b| (b.base.lat, b.base.lon)));
    date_range(record, parsed.rows.iter().map(|b| b.base.valid_from));
    let mut merged: BTreeMap<geopko::BaseKey, Base> = store
        .read::<Base>()?
        .into_iter()
        .map(|b| (geopko::key(&b), b))
        .collect();
    // Several rows of one map at one location are several units there: combine them.
    let mut incoming: BTreeMap<geopko::BaseKey, Base> = BTreeMap::new();
    for raw in parsed.rows {
        match incoming.entry(geopko::key(&raw.base)) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(raw.base);
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                record.combined += 1;
                geopko::combine(o.get_mut(), &raw.base);
            }
        }
    }
    for (key, base) in incoming {
        if merged.insert(key, base).is_some() {
            record.duplicates += 1;
        }
    }
    let mut rows: Vec<Base> = merged.into_values().collect();
    geopko::assign_validity(&mut rows, config.ingest.base_max_validity_days);
    Ok((vec![frame(&rows)?], parsed.rejects))
}

pub(super) fn population_tables(
    store: &Store,
    parsed: Parsed<PopulationCell>,
    record: &mut IngestRecord,
) -> Result<Tables, IngestError> {
    record.rows_read = parsed.rows_read;
    let mut incoming: BTreeMap<u64, f64> = BTreeMap::new();
    for p in &parsed.rows {
        *incoming.entry(p.cell).or_default() += p.population;
    }
    record.accepted = parsed.rows.len();
    extent(
        record,
        incoming
            .keys()
            .filter_map(|c| crate::grid::cell_from_u64(*c).ok())
            .map(crate::grid::center),
    );
    let mut merged: BTreeMap<u64, f64> = store
        .read::<PopulationCell>()?
        .into_iter()
        .map(|p| (p.cell, p.population))
        .collect();
    for (cell, pop) in incoming {
        if merged.insert(cell, pop).is_some() {
            record.duplicates += 1;
        }
    }
    let rows: Vec<PopulationCell> = merged
        .into_iter()
        .map(|(cell, population)| PopulationCell { cell, population })
        .collect();
    Ok((vec![frame(&rows)?], parsed.rejects))
}

pub(super) fn climate_tables(
    store: &Store,
    parsed: Parsed<ClimateValue>,
    record: &mut IngestRecord,
) -> Result<Tables, IngestError> {
    record.rows_read = parsed.rows_read;
    record.accepted = parsed.rows.len();
    date_range(record, parsed.rows.iter().map(|c| c.period));
    let key = |c: &ClimateValue| (c.cell, c.period, c.variable.clone());
    let mut merged: BTreeMap<(u64, i32, String), ClimateValue> = store
        .read::<ClimateValue>()?
        .into_iter()
        .map(|c| (key(&c), c))
        .collect();
    // Several points of one file in the same cell are averaged.
    let mut sums: BTreeMap<(u64, i32, String), (f64, usize)> = BTreeMap::new();
    for c in &parsed.rows {
        let e = sums.entry(key(c)).or_default();
        e.0 += c.value;
        e.1 += 1;
    }
    for ((cell, period, variable), (sum, n)) in sums {
        let k = (cell, period, variable.clone());
        let v = ClimateValue {
            cell,
            period,
            variable,
            value: sum / n as f64,
        };
        if merged.insert(k, v).is_some() {
            record.duplicates += 1;
        }
    }
    let rows: Vec<ClimateValue> = merged.into_values().collect();
    Ok((vec![frame(&rows)?], parsed.rejects))
}

pub(super) fn idp_tables(
    store: &Store,
    parsed: Parsed<IdpSite>,
    record: &mut IngestRecord,
) -> Result<Tables, IngestError> {
    record.rows_read = parsed.rows_read;
    record.accepted = parsed.rows.len();
    extent(record, parsed.rows.iter().map(|s| (s.lat, s.lon)));
    date_range(record, parsed.rows.iter().filter_map(|s| s.date));
    let key = |s: &IdpSite| (s.site.clone(), s.date);
    let mut merged: BTreeMap<(String, Option<i32>), IdpSite> = store
        .read::<IdpSite>()?
        .into_iter()
        .map(|s| (key(&s), s))
        .collect();
    for site in parsed.rows {
        if merged.insert(key(&site), site).is_some() {
            record.duplicates += 1;
        }
    }
    let rows: Vec<IdpSite> = merged.into_values().collect();
    Ok((vec![frame(&rows)?], parsed.rejects))
}

pub(super) fn areas_tables(
    store: &Store,
    parsed: areas::ParsedAreas,
    record: &mut IngestRecord,
) -> Result<Tables, IngestError> {
    record.rows_read = parsed.features;
    record.accepted = parsed.areas.len();
    for w in &parsed.warnings {
        tracing::warn!("{w}");
    }
    record.warnings.extend(parsed.warnings.iter().cloned());
    let replaced: std::collections::HashSet<String> =
        parsed.areas.iter().map(|a| a.area_id.clone()).collect();
    let mut areas: Vec<Area> = store
        .read::<Area>()?
        .into_iter()
        .filter(|a| !replaced.contains(&a.area_id))
        .collect();
    record.duplicates = replaced.len() + areas.len()
        - areas
            .iter()
            .map(|a| a.area_id.clone())
            .chain(replaced.iter().cloned())
            .collect::<std::collections::HashSet<_>>()
            .len();
    let mut cells: Vec<AreaCell> = store
        .read::<AreaCell>()?
        .into_iter()
        .filter(|c| !replaced.contains(&c.area_id))
        .collect();
    areas.extend(parsed.areas);
    cells.extend(parsed.cells);
    areas.sort_by(|a, b| (&a.level, &a.area_id).cmp(&(&b.level, &b.area_id)));
    // A cell belongs to at most one area per level: the first by area id keeps it.
    cells.sort_by(|a, b| (&a.level, a.cell, &a.area_id).cmp(&(&b.level, b.cell, &b.area_id)));
    cells.dedup_by(|b, a| a.level == b.level && a.cell == b.cell);
    let points: Vec<(f64, f64)> = cells
        .iter()
        .filter_map(|c| crate::grid::cell_from_u64(c.cell).ok())
        .map(crate::grid::center)
        .collect();
    extent(record, points.into_iter());
    Ok((vec![frame(&areas)?, frame(&cells)?], parsed.rejects))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::merge::ev;

    #[test]
    fn a_newer_version_of_an_event_replaces_the_older_one() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut store = Store::open_writer(dir.path(), 7, &Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let publish = |store: &mut Store, rows: Vec<Event>| {
            let parsed = Parsed {
                rows_read: rows.len(),
                rows,
                rejects: vec![],
            };
            let mut record = IngestRecord::default();
            let (tables, _) = events_tables(store, &Config::default(), parsed, &mut record)
                .unwrap_or_else(|e| panic!("{e}"));
            store
                .publish(tables, None)
                .unwrap_or_else(|e| panic!("{e}"));
            record
        };
        publish(&mut store, vec![ev("acled", "A1", 100, Some(1_000), 1)]);
        let r = publish(&mut store, vec![ev("acled", "A1", 100, Some(2_000), 5)]);
        assert_eq!(r.duplicates, 1);
        publish(&mut store, vec![ev("acled", "A1", 100, Some(1_500), 9)]);
        let rows: Vec<Event> = store.read().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].fatalities, 5,
            "the newest upload wins, an older one does not"
        );
    }

    #[test]
    fn overlapping_areas_of_one_level_never_share_a_cell() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(dir.path(), 7).unwrap_or_else(|e| panic!("{e}"));
        let cell = |a: &str, level: &str, c: u64| AreaCell {
            area_id: a.into(),
            level: level.into(),
            cell: c,
        };
        let area = |id: &str, level: &str| Area {
            area_id: id.into(),
            name: id.into(),
            level: level.into(),
            parent: None,
            geometry: "null".into(),
        };
        let parsed = areas::ParsedAreas {
            areas: vec![
                area("B", "sector"),
                area("A", "sector"),
                area("M", "mission"),
            ],
            cells: vec![
                cell("B", "sector", 1),
                cell("B", "sector", 2),
                cell("A", "sector", 2),
                cell("M", "mission", 2),
            ],
            rejects: vec![],
            features: 3,
            warnings: Vec::new(),
        };
        let mut record = IngestRecord::default();
        let (tables, _) =
            areas_tables(&store, parsed, &mut record).unwrap_or_else(|e| panic!("{e}"));
        let cells = AreaCell::from_frame(&tables[1].1).unwrap_or_else(|e| panic!("{e}"));
        let sector2: Vec<&AreaCell> = cells
            .iter()
            .filter(|c| c.level == "sector" && c.cell == 2)
            .collect();
        assert_eq!(sector2.len(), 1);
        assert_eq!(
            sector2[0].area_id, "A",
            "the first area by id keeps a contested cell"
        );
        assert_eq!(
            cells.iter().filter(|c| c.cell == 2).count(),
            2,
            "one per level"
        );
    }
}
