//! Episodes: the alerting cells of a day grouped into connected groups of neighbours, each
//! followed from day to day — it begins once, is updated while it grows, and closes when
//! its cells fall back (or become covered).
//!
//! A day's *hot* cells are those at high or critical risk (risk episodes) and the coverage
//! gaps (gap episodes). Hot cells within `join_km` of each other (touching cells at 0)
//! form one group. A group that shares a cell with an open episode of the same kind
//! continues it (the oldest, when it joins several: the others close, merged into it); a
//! group that shares none begins a new episode; an open episode that no group continues
//! closes. An episode's message is sent when it begins, whenever cells join it, and when it
//! closes; cells leaving it change only what is followed, not what was announced.

use crate::model::cell::CellRecord;
use crate::model::episode::{compass, AlertLog, Change, Episode, EpisodeKind, NearestBase};
use crate::model::rows::Base;
use std::collections::{BTreeMap, HashMap, HashSet};

/// How cells group and how long closed episodes stay.
#[derive(Debug, Clone, Copy)]
pub struct Grouping {
    /// Hot cells whose centres are within this many grid rings join one group.
    pub rings: u32,
    /// Closed episodes are dropped from the log this many days after they closed.
    pub keep_closed_days: u32,
}

impl Grouping {
    /// Rings for `join_km` at the H3 resolution `res`: 1 (touching cells) plus one per
    /// centre spacing within `join_km`.
    pub fn new(join_km: f64, res: h3o::Resolution, keep_closed_days: u32) -> Self {
        let spacing = res.edge_length_km() * 3f64.sqrt();
        let extra = if join_km > 0.0 {
            (join_km / spacing).floor().min(50.0) as u32
        } else {
            0
        };
        Self {
            rings: 1 + extra,
            keep_closed_days,
        }
    }
}

/// Advances `log` by the snapshot of `date` (its cells): returns the episodes that got a
/// new version on that day, in the order they changed. `bases` names the nearest base.
pub fn advance(
    log: &mut AlertLog,
    date: &str,
    cells: &[CellRecord],
    bases: &[Base],
    grouping: Grouping,
) -> Vec<Episode> {
    let day = crate::model::day::parse_iso_date(date).unwrap_or_default();
    let mut changed = Vec::new();
    for kind in [EpisodeKind::Risk, EpisodeKind::Gap] {
        let hot: HashMap<u64, &CellRecord> = cells
            .iter()
            .filter(|r| is_hot(r, kind))
            .map(|r| (r.cell, r))
            .collect();
        let groups = groups(&hot, grouping.rings);
        // Which open episode of this kind follows each cell.
        let mut follows: HashMap<u64, usize> = HashMap::new();
        for (i, e) in log.episodes.iter().enumerate() {
            if e.kind == kind && e.is_open() {
                for c in e.tracked.iter() {
                    follows.entry(*c).or_insert(i);
                }
            }
        }
        let mut continued: HashSet<usize> = HashSet::new();
        for group in &groups {
            let mut matched: Vec<usize> = group
                .iter()
                .filter_map(|c| follows.get(c).copied())
                .collect();
            matched.sort_unstable();
            matched.dedup();
            let records: Vec<&CellRecord> = group.iter().map(|c| hot[c]).collect();
            let Some((&first, merged)) = matched.split_first() else {
                log.begun += 1;
                let id = format!("{}-{}-{}", kind.as_str(), date.replace('-', ""), log.begun);
                let mut e = describe(id, kind, date, &records, bases);
                e.tracked = group.clone();
                changed.push(e.clone());
                continued.insert(log.episodes.len());
                log.episodes.push(e);
                continue;
            };
            continued.insert(first);
            let grew = {
                let announced: HashSet<u64> = log.episodes[first].cells.iter().copied().collect();
                group.iter().any(|c| !announced.contains(c))
            };
            let e = &mut log.episodes[first];
            e.tracked = group.clone();
            if grew {
                let mut next = describe(e.id.clone(), kind, &e.opened, &records, bases);
                next.dates = e.dates.clone();
                next.dates.push(date.to_owned());
                next.version = e.version + 1;
                next.change = Change::Updated;
                next.updated = date.to_owned();
                next.tracked = group.clone();
                *e = next;
                changed.push(e.clone());
            }
            for &m in merged {
                continued.insert(m);
                let into = log.episodes[first].id.clone();
                let e = &mut log.episodes[m];
                close(e, date);
                e.merged_into = Some(into);
                changed.push(e.clone());
            }
        }
        for (i, e) in log.episodes.iter_mut().enumerate() {
            if e.kind == kind && e.is_open() && !continued.contains(&i) {
                close(e, date);
                changed.push(e.clone());
            }
        }
    }
    let keep = i32::try_from(grouping.keep_closed_days).unwrap_or(i32::MAX);
    log.episodes.retain(|e| {
        e.closed
            .as_deref()
            .and_then(crate::model::day::parse_iso_date)
            .is_none_or(|c| day - c <= keep)
    });
    log.through = Some(date.to_owned());
    changed
}

/// Whether a cell belongs to an episode of `kind` on its day.
fn is_hot(r: &CellRecord, kind: EpisodeKind) -> bool {
    match kind {
        EpisodeKind::Risk => r.tier.is_high(),
        EpisodeKind::Gap => r.flags.gap,
    }
}

fn close(e: &mut Episode, date: &str) {
    e.version += 1;
    e.dates.push(date.to_owned());
    e.change = Change::Closed;
    e.updated = date.to_owned();
    e.closed = Some(date.to_owned());
    e.tracked.clear();
}

/// The connected groups of `hot` (cells within `rings` grid rings of each other), each
/// sorted, in the order of their smallest cell.
fn groups(hot: &HashMap<u64, &CellRecord>, rings: u32) -> Vec<Vec<u64>> {
    let mut order: Vec<u64> = hot.keys().copied().collect();
    order.sort_unstable();
    let mut seen: HashSet<u64> = HashSet::with_capacity(order.len());
    let mut out = Vec::new();
    for start in order {
        if !seen.insert(start) {
            continue;
        }
        let mut group = vec![start];
        let mut stack = vec![start];
        while let Some(c) = stack.pop() {
            let Ok(cell) = h3o::CellIndex::try_from(c) else {
                continue;
            };
            for n in cell.grid_disk::<Vec<_>>(rings) {
                let n = u64::from(n);
                if hot.contains_key(&n) && seen.insert(n) {
                    group.push(n);
                    stack.push(n);
                }
            }
        }
        group.sort_unstable();
        out.push(group);
    }
    out
}

/// An episode's first version made of `records`.
fn describe(
    id: String,
    kind: EpisodeKind,
    date: &str,
    records: &[&CellRecord],
    bases: &[Base],
) -> Episode {
    let n = records.len().max(1) as f64;
    let mut areas: BTreeMap<&str, usize> = BTreeMap::new();
    let mut missions: BTreeMap<&str, usize> = BTreeMap::new();
    for r in records {
        if let Some(a) = r.area.as_deref() {
            *areas.entry(a).or_default() += 1;
        }
        if let Some(m) = r.coverage.mission.as_deref() {
            *missions.entry(m).or_default() += 1;
        }
    }
    let by_count = |m: BTreeMap<&str, usize>| {
        let mut v: Vec<(&str, usize)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v.into_iter().map(|(s, _)| s.to_owned()).collect::<Vec<_>>()
    };
    let peak = records
        .iter()
        .copied()
        .max_by(|a, b| a.risk.total_cmp(&b.risk).then(b.cell.cmp(&a.cell)));
    let lat = records.iter().map(|r| r.lat).sum::<f64>() / n;
    let lon = records.iter().map(|r| r.lon).sum::<f64>() / n;
    let probability = records
        .iter()
        .filter_map(|r| r.probability)
        .max_by(f64::total_cmp);
    let people = records
        .iter()
        .any(|r| r.population.is_some())
        .then(|| records.iter().filter_map(|r| r.population).sum::<f64>());
    let nearest_base = peak
        .and_then(|p| p.coverage.nearest_base.as_deref())
        .and_then(|label| bases.iter().find(|b| crate::coverage::label(b) == label))
        .map(|b| NearestBase {
            name: b.location.clone(),
            km: crate::grid::distance_km((b.lat, b.lon), (lat, lon)),
            direction: compass(bearing((b.lat, b.lon), (lat, lon))).to_owned(),
        });
    let tier = records
        .iter()
        .map(|r| r.tier)
        .max()
        .unwrap_or(crate::model::cell::Tier::Low);
    Episode {
        id,
        kind,
        version: 1,
        change: Change::New,
        opened: date.to_owned(),
        updated: date.to_owned(),
        dates: vec![date.to_owned()],
        closed: None,
        merged_into: None,
        cells: {
            let mut c: Vec<u64> = records.iter().map(|r| r.cell).collect();
            c.sort_unstable();
            c
        },
        tracked: Vec::new(),
        areas: by_count(areas),
        missions: by_count(missions),
        lat,
        lon,
        peak_risk: peak.map_or(0.0, |p| p.risk),
        mean_risk: records.iter().map(|r| r.risk).sum::<f64>() / n,
        tier: tier.as_str().to_owned(),
        peak_cell: peak.map_or(0, |p| p.cell),
        probability,
        people,
        events: records.iter().map(|r| r.events).sum(),
        civilian_fatalities_30d: records.iter().map(|r| r.civilian_fatalities_30d).sum(),
        nearest_base,
        drivers: Vec::new(),
    }
}

/// Initial great-circle bearing from `a` to `b` (degrees clockwise from north).
fn bearing(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, la2) = (a.0.to_radians(), b.0.to_radians());
    let dl = (b.1 - a.1).to_radians();
    let y = dl.sin() * la2.cos();
    let x = la1.cos() * la2.sin() - la1.sin() * la2.cos() * dl.cos();
    y.atan2(x).to_degrees()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cell::Tier;
    use h3o::{CellIndex, LatLng, Resolution};

    fn cell_at(lat: f64, lon: f64) -> CellIndex {
        LatLng::new(lat, lon)
            .map(|ll| ll.to_cell(Resolution::Seven))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn record(c: CellIndex, tier: Tier, area: &str, gap: bool) -> CellRecord {
        let ll = LatLng::from(c);
        let mut r = CellRecord::quiet(u64::from(c), (ll.lat(), ll.lng()));
        r.tier = tier;
        r.risk = match tier {
            Tier::Critical => 0.9,
            Tier::High => 0.7,
            _ => 0.1,
        };
        r.area = Some(area.into());
        r.flags.gap = gap;
        r.events = 2;
        r
    }

    fn grouping() -> Grouping {
        Grouping::new(0.0, Resolution::Seven, 30)
    }

    #[test]
    fn neighbouring_cells_form_one_episode_named_after_their_area() {
        let centre = cell_at(6.5, 21.9);
        let ring: Vec<CellIndex> = centre.grid_disk(1);
        let far = cell_at(4.0, 18.5);
        let mut cells: Vec<CellRecord> = ring
            .iter()
            .map(|c| record(*c, Tier::High, "Haute-Kotto", false))
            .collect();
        cells[0].tier = Tier::Critical;
        cells[0].risk = 0.95;
        cells.push(record(far, Tier::Low, "Ombella-M'Poko", false));
        let mut log = AlertLog::default();
        let changed = advance(&mut log, "2024-06-01", &cells, &[], grouping());
        assert_eq!(changed.len(), 1, "{changed:?}");
        let e = &changed[0];
        assert_eq!(e.kind, EpisodeKind::Risk);
        assert_eq!(e.change, Change::New);
        assert_eq!(e.cells.len(), 7);
        assert_eq!(e.areas, vec!["Haute-Kotto".to_owned()]);
        assert_eq!(e.tier, "critical");
        assert_eq!(e.peak_risk, 0.95);
        assert_eq!(e.events, 14);
        assert_eq!(e.id, "risk-20240601-1");
    }

    #[test]
    fn an_episode_that_grows_is_updated_not_duplicated_and_closes_when_it_falls_back() {
        let centre = cell_at(6.5, 21.9);
        let one: Vec<CellRecord> = centre
            .grid_disk::<Vec<_>>(1)
            .iter()
            .map(|c| record(*c, Tier::High, "Haute-Kotto", false))
            .collect();
        let two: Vec<CellRecord> = centre
            .grid_disk::<Vec<_>>(2)
            .iter()
            .map(|c| record(*c, Tier::High, "Haute-Kotto", false))
            .collect();
        let mut log = AlertLog::default();
        assert_eq!(
            advance(&mut log, "2024-06-01", &one, &[], grouping()).len(),
            1
        );
        // The same cells the next day: nothing to say.
        assert!(advance(&mut log, "2024-06-02", &one, &[], grouping()).is_empty());
        // It grows: the same episode, version 2.
        let grown = advance(&mut log, "2024-06-03", &two, &[], grouping());
        assert_eq!(grown.len(), 1);
        assert_eq!(grown[0].id, "risk-20240601-1");
        assert_eq!(grown[0].version, 2);
        assert_eq!(grown[0].change, Change::Updated);
        assert_eq!(grown[0].cells.len(), 19);
        // It shrinks back: followed, not announced.
        assert!(advance(&mut log, "2024-06-04", &one, &[], grouping()).is_empty());
        assert_eq!(log.episodes.len(), 1);
        // Its cells fall back: closed, version 3.
        let quiet: Vec<CellRecord> = one
            .iter()
            .map(|r| {
                record(
                    CellIndex::try_from(r.cell).unwrap_or(centre),
                    Tier::Low,
                    "Haute-Kotto",
                    false,
                )
            })
            .collect();
        let closed = advance(&mut log, "2024-06-05", &quiet, &[], grouping());
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].change, Change::Closed);
        assert_eq!(closed[0].version, 3);
        assert_eq!(closed[0].closed.as_deref(), Some("2024-06-05"));
        // Kept for `keep_closed_days`, then dropped.
        advance(&mut log, "2024-07-04", &quiet, &[], grouping());
        assert_eq!(log.episodes.len(), 1);
        advance(&mut log, "2024-07-06", &quiet, &[], grouping());
        assert!(log.episodes.is_empty());
        assert_eq!(log.through.as_deref(), Some("2024-07-06"));
    }

    #[test]
    fn gaps_are_episodes_of_their_own_and_separate_groups_are_separate_episodes() {
        let a = cell_at(6.5, 21.9);
        let b = cell_at(5.0, 17.0);
        let cells = vec![
            record(a, Tier::Critical, "Haute-Kotto", true),
            record(b, Tier::High, "Ouham", false),
        ];
        let mut log = AlertLog::default();
        let changed = advance(&mut log, "2024-06-01", &cells, &[], grouping());
        let kinds: Vec<(EpisodeKind, usize)> =
            changed.iter().map(|e| (e.kind, e.cells.len())).collect();
        assert_eq!(
            kinds,
            vec![
                (EpisodeKind::Risk, 1),
                (EpisodeKind::Risk, 1),
                (EpisodeKind::Gap, 1)
            ]
        );
        // Two groups joining on a later day merge into the older episode.
        let between: Vec<CellRecord> = a
            .grid_path_cells(b)
            .map(|p| p.filter_map(Result::ok).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .map(|c| record(c, Tier::High, "Ouham", false))
            .collect();
        let merged = advance(&mut log, "2024-06-02", &between, &[], grouping());
        let closed: Vec<&Episode> = merged
            .iter()
            .filter(|e| e.kind == EpisodeKind::Risk && e.change == Change::Closed)
            .collect();
        assert_eq!(closed.len(), 1, "{merged:?}");
        assert!(closed[0].merged_into.is_some());
    }

    #[test]
    fn a_join_distance_groups_cells_that_do_not_touch() {
        let a = cell_at(6.5, 21.9);
        let b = a
            .grid_ring_fast(3)
            .flatten()
            .next()
            .unwrap_or_else(|| panic!("a ring"));
        let cells = vec![
            record(a, Tier::High, "Haute-Kotto", false),
            record(b, Tier::High, "Haute-Kotto", false),
        ];
        let apart = advance(
            &mut AlertLog::default(),
            "2024-06-01",
            &cells,
            &[],
            grouping(),
        );
        assert_eq!(apart.len(), 2);
        let near = Grouping::new(10.0, Resolution::Seven, 30);
        assert!(near.rings >= 3, "{near:?}");
        let together = advance(&mut AlertLog::default(), "2024-06-01", &cells, &[], near);
        assert_eq!(together.len(), 1);
    }

    #[test]
    fn bearings_point_the_right_way() {
        assert!((bearing((0.0, 0.0), (1.0, 0.0)) - 0.0).abs() < 1e-9);
        assert!((bearing((0.0, 0.0), (0.0, 1.0)) - 90.0).abs() < 1e-9);
        assert_eq!(compass(bearing((6.0, 22.0), (6.2, 22.2))), "NE");
    }
}
