//! The rules that merge newly read events into the stored ones: one row per
//! (`source`, `source_id`) with the newest version winning, UCDP Candidate superseded by
//! final GED, and UCDP reports linked to the ACLED report of the same incident.

use super::ucdp;
use crate::model::rows::{Category, Event};
use std::collections::HashMap;

/// What [`merge_events`] made.
#[derive(Debug)]
pub struct Merged {
    /// The stored rows with the new ones merged in.
    pub rows: Vec<Event>,
    /// New rows whose key was stored before (replaced, or kept when older).
    pub already_stored: usize,
    /// New rows whose key an earlier row of the same file had.
    pub in_file: usize,
}

/// Merges newly read events into the stored ones by (`source`, `source_id`): an update of
/// an event replaces it (in place) unless its publication time is older. Counts new rows
/// whose key was stored and those whose key an earlier new row had.
pub fn merge_events(existing: Vec<Event>, new: Vec<Event>) -> Merged {
    if existing.is_empty() && all_keys_unique(&new) {
        return Merged {
            rows: new,
            already_stored: 0,
            in_file: 0,
        };
    }
    let stored = existing.len();
    let mut in_file = 0;
    let mut slots: Vec<Option<Event>> = existing.into_iter().chain(new).map(Some).collect();
    // Per key: where it first appears (its place in the table) and which row wins.
    let mut places: Vec<(usize, usize)> = Vec::with_capacity(slots.len());
    let mut duplicates = 0;
    {
        let mut seen: ahash::AHashMap<(&str, &str), usize> =
            ahash::AHashMap::with_capacity(slots.len());
        for (i, e) in slots.iter().enumerate() {
            let Some(e) = e else { continue };
            match seen.entry((&*e.source, e.source_id.as_str())) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(places.len());
                    places.push((i, i));
                }
                std::collections::hash_map::Entry::Occupied(o) => {
                    let place = &mut places[*o.get()];
                    if place.0 >= stored || place.1 >= stored {
                        in_file += 1;
                    } else {
                        duplicates += 1;
                    }
                    let best = slots[place.1].as_ref().and_then(|x| x.published_at);
                    if best.unwrap_or(i64::MIN) <= e.published_at.unwrap_or(i64::MIN) {
                        place.1 = i;
                    }
                }
            }
        }
    }
    // `places` is in order of first appearance: stored rows keep their order, an update
    // takes the place of the row it replaces, and new rows follow in file order.
    let rows = places
        .into_iter()
        .filter_map(|(_, best)| slots[best].take())
        .collect();
    Merged {
        rows,
        already_stored: duplicates,
        in_file,
    }
}

/// Whether no two rows share a (`source`, `source_id`) key. The keys' 64-bit hashes are
/// sorted on every core and compared: all distinct proves the keys distinct; an equal pair
/// (a duplicate, or a rare collision) is settled by the exact test.
fn all_keys_unique(rows: &[Event]) -> bool {
    use rayon::prelude::*;
    let state = ahash::RandomState::new();
    let mut hashes: Vec<u64> = rows
        .par_iter()
        .map(|e| state.hash_one((&*e.source, e.source_id.as_str())))
        .collect();
    hashes.par_sort_unstable();
    hashes.windows(2).all(|w| w[0] != w[1]) || keys_unique_exactly(rows)
}

fn keys_unique_exactly(rows: &[Event]) -> bool {
    let mut seen: ahash::AHashSet<(&str, &str)> = ahash::AHashSet::with_capacity(rows.len());
    rows.iter()
        .all(|e| seen.insert((&*e.source, e.source_id.as_str())))
}

fn compatible(a: Category, b: Category) -> bool {
    let violent = |c| matches!(c, Category::ArmedClash | Category::RemoteViolence);
    a == b || (violent(a) && violent(b))
}

/// Links each UCDP event to the ACLED event describing the same incident (dates at most
/// `duplicate_window_days` apart, points at most `duplicate_km` apart, compatible
/// categories; the nearest, then the earliest id, each ACLED event used once) by setting its
/// `duplicate_of`. Links are recomputed from scratch on every ingest. Returns the number of
/// linked events.
pub fn link_cross_source(rows: &mut [Event], cfg: &crate::config::IngestConfig) -> usize {
    // One pass: every link is dropped (they are recomputed) while looking for UCDP events.
    let mut any_ucdp = false;
    for e in rows.iter_mut() {
        any_ucdp |= e.source.starts_with("ucdp");
        if e.duplicate_of.is_some() {
            e.duplicate_of = None;
        }
    }
    if !any_ucdp {
        return 0;
    }
    // Candidates are bucketed by day and by a coarse cell (res 5, edge ≈ 8.5 km): the incident
    // of a UCDP event lies in its coarse cell's disk, whose radius grows with duplicate_km.
    let coarse = |cell: Option<u64>| {
        cell.and_then(|c| crate::grid::cell_from_u64(c).ok())
            .and_then(|c| c.parent(h3o::Resolution::Five))
    };
    let rings = crate::grid::rings_for_km(cfg.duplicate_km, h3o::Resolution::Five);
    let mut buckets: HashMap<(i32, h3o::CellIndex), Vec<usize>> = HashMap::new();
    for (i, e) in rows.iter().enumerate() {
        if e.source == "acled" {
            if let Some(c) = coarse(e.cell) {
                buckets.entry((e.date_start, c)).or_default().push(i);
            }
        }
    }
    let window = i32::try_from(cfg.duplicate_window_days).unwrap_or(i32::MAX / 4);
    let mut used = vec![false; rows.len()];
    let mut links = Vec::new();
    for (i, e) in rows.iter().enumerate() {
        let Some(home) = coarse(e.cell).filter(|_| e.source.starts_with("ucdp")) else {
            continue;
        };
        let area: Vec<h3o::CellIndex> = home.grid_disk(rings);
        let mut best: Option<(f64, usize)> = None;
        for day in e.date_start - window..=e.date_end + window {
            for c in &area {
                for &j in buckets.get(&(day, *c)).map_or(&[][..], Vec::as_slice) {
                    let a = &rows[j];
                    if used[j] || !compatible(a.category, e.category) {
                        continue;
                    }
                    let d = crate::grid::distance_km((a.lat, a.lon), (e.lat, e.lon));
                    let better = best.is_none_or(|(bd, bj)| d < bd || (d == bd && j < bj));
                    if d <= cfg.duplicate_km && better {
                        best = Some((d, j));
                    }
                }
            }
        }
        if let Some((_, j)) = best {
            used[j] = true;
            links.push((i, format!("{}:{}", rows[j].source, rows[j].source_id)));
        }
    }
    let n = links.len();
    for (i, target) in links {
        rows[i].duplicate_of = Some(target);
    }
    n
}

/// Drops UCDP Candidate events of the period a final GED release covers (up to the last
/// GED event date). Returns how many were dropped.
pub fn supersede_candidates(rows: &mut Vec<Event>) -> usize {
    let Some(ged_end) = rows
        .iter()
        .filter(|e| e.source == ucdp::GED)
        .map(|e| e.date_end)
        .max()
    else {
        return 0;
    };
    let before = rows.len();
    rows.retain(|e| !(e.source == ucdp::CANDIDATE && e.date_start <= ged_end));
    before - rows.len()
}

#[cfg(test)]
/// An event for tests.
pub(super) fn ev(
    source: &str,
    id: &str,
    day: i32,
    published: Option<i64>,
    fatalities: i64,
) -> Event {
    Event {
        published_at: published,
        civilian_fatalities: Some(fatalities),
        ..Event::at(
            source,
            id,
            day,
            (6.5, 21.0),
            Some(0x872a1072bffffff),
            crate::model::rows::Category::CivilianHarm,
            fatalities,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::ucdp;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_hashed_uniqueness_test_agrees_with_the_exact_one(
            keys in proptest::collection::vec((0u8..3, 0u16..400), 0..300)
        ) {
            let rows: Vec<Event> = keys
                .iter()
                .map(|(s, id)| ev(["acled", ucdp::GED, ucdp::CANDIDATE][*s as usize], &id.to_string(), 1, None, 0))
                .collect();
            let distinct: std::collections::HashSet<_> = keys.iter().collect();
            prop_assert_eq!(all_keys_unique(&rows), distinct.len() == keys.len());
            prop_assert_eq!(keys_unique_exactly(&rows), distinct.len() == keys.len());
        }
    }

    #[test]
    fn final_ged_supersedes_candidate_events_of_its_period() {
        let mut rows = vec![
            ev(ucdp::CANDIDATE, "c1", 100, None, 1),
            ev(ucdp::CANDIDATE, "c2", 300, None, 1),
            ev(ucdp::GED, "g1", 200, None, 1),
            ev("acled", "a1", 50, None, 1),
        ];
        assert_eq!(supersede_candidates(&mut rows), 1);
        let ids: Vec<&str> = rows.iter().map(|e| e.source_id.as_str()).collect();
        assert_eq!(ids, ["c2", "g1", "a1"]);
    }

    #[test]
    fn acled_and_ucdp_reports_of_one_incident_are_linked() {
        let cfg = crate::config::IngestConfig::default();
        let mut near = ev(ucdp::GED, "g1", 101, None, 4);
        near.lat += 0.02; // ≈2.2 km
        let mut far = ev(ucdp::GED, "g2", 100, None, 4);
        far.lat += 0.1; // ≈11 km
        let mut clash = ev(ucdp::GED, "g3", 100, None, 4);
        clash.category = Category::ArmedClash;
        let mut rows = vec![ev("acled", "a1", 100, Some(1), 3), near, far, clash];
        assert_eq!(link_cross_source(&mut rows, &cfg), 1);
        assert_eq!(rows[1].duplicate_of.as_deref(), Some("acled:a1"));
        assert_eq!(rows[2].duplicate_of, None, "too far");
        assert_eq!(
            rows[3].duplicate_of, None,
            "incompatible category, and a1 is taken"
        );
        assert_eq!(
            rows[0].duplicate_of, None,
            "ACLED is the record that counts"
        );
    }
}
