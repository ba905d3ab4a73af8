//! Where each event's weight sits: at its cell with its precision factor, or spread over the
//! cells of its admin area; and the numbered source cells the engine walks.

use super::areas::AreaIndex;
use super::events::{precision_factor, EventClass, EventSet};
use crate::model::rows::Precision;
use std::collections::HashMap;

/// Where an event's weight sits: `(cell, factor)` pairs. An admin1/admin2 event whose
/// ADM1/ADM2 area is loaded is spread over that area (factor 1/n each); any other event
/// stays at its cell with its precision factor. `None` for events without weight.
pub fn placement<'a>(areas: &'a AreaIndex, precision: Precision, cell: u64) -> Placed<'a> {
    let level = match precision {
        Precision::Admin1 => Some("ADM1"),
        Precision::Admin2 => Some("ADM2"),
        _ => None,
    };
    match level.and_then(|l| areas.area_of(l, cell)) {
        Some(area) if !area.is_empty() => Placed::Area(area),
        _ => Placed::Point(cell, precision_factor(precision)),
    }
}

/// An event's placement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placed<'a> {
    /// Spread evenly over the cells of its admin area.
    Area(&'a [u64]),
    /// At its cell, with this precision factor.
    Point(u64, f64),
}

/// The source of an event that has none (dated before the index's look-back).
pub(super) const NO_SOURCE: u32 = u32::MAX;

/// Placement of an event, by source index.
#[derive(Debug, Clone, Copy)]
pub(super) enum Place {
    /// Without weight (events of other kinds).
    None,
    /// At a source, with its precision factor and whether it is precise (exact or near).
    Point(u32, f64, bool),
    /// Spread over an area's sources (index into [`Sources::area_sources`]).
    Area(u32),
}

/// The source cells of a range's events (every cell an event sits in or is spread over),
/// numbered in cell order, and where each event's weight goes.
pub(super) struct Sources {
    /// The source cells, sorted.
    pub(super) cells: Vec<u64>,
    /// Per event: where its weight sits.
    pub(super) place: Vec<Place>,
    /// Per event: the source of its own cell.
    pub(super) own: Vec<u32>,
    /// Per admin area an event is spread over: its sources.
    pub(super) area_sources: Vec<Vec<u32>>,
}

impl Sources {
    /// Places every event of `events` dated from `from` on, spreading admin-level events
    /// over the areas of `index`; earlier events (loaded for the forecast's longer
    /// look-back) get no place and no source.
    pub(super) fn of(events: &EventSet, index: &AreaIndex, from: i32) -> Self {
        // Source cells: every cell an event sits in or is spread over.
        let mut source_of: HashMap<u64, u32> = HashMap::new();
        let mut sources: Vec<u64> = Vec::new();
        let mut source = |c: u64, sources: &mut Vec<u64>| -> u32 {
            *source_of.entry(c).or_insert_with(|| {
                sources.push(c);
                (sources.len() - 1) as u32
            })
        };
        let mut area_ids: HashMap<*const u64, u32> = HashMap::new();
        let mut area_sources: Vec<Vec<u32>> = Vec::new();
        let mut place = Vec::with_capacity(events.len());
        let mut own = Vec::with_capacity(events.len());
        for i in 0..events.len() {
            if events.day[i] < from {
                own.push(NO_SOURCE);
                place.push(Place::None);
                continue;
            }
            let cell = events.cell[i];
            own.push(source(cell, &mut sources));
            if events.kind[i] == EventClass::Other {
                place.push(Place::None);
                continue;
            }
            place.push(match placement(index, events.precision[i], cell) {
                Placed::Point(c, p) => Place::Point(
                    source(c, &mut sources),
                    p,
                    matches!(events.precision[i], Precision::Exact | Precision::Near),
                ),
                Placed::Area(cells) => {
                    let key = cells.as_ptr();
                    let id = match area_ids.get(&key) {
                        Some(id) => *id,
                        None => {
                            let ids = cells.iter().map(|c| source(*c, &mut sources)).collect();
                            area_sources.push(ids);
                            let id = (area_sources.len() - 1) as u32;
                            area_ids.insert(key, id);
                            id
                        }
                    };
                    Place::Area(id)
                }
            });
        }
        // Sources in cell order: sums over sources then run in an order that does not depend
        // on which other events are loaded (snapshot D must not change, to the last bit,
        // when events known only later are added).
        let mut order: Vec<u32> = (0..sources.len() as u32).collect();
        order.sort_unstable_by_key(|i| sources[*i as usize]);
        let mut rank = vec![0u32; sources.len()];
        for (r, i) in order.iter().enumerate() {
            rank[*i as usize] = r as u32;
        }
        let sources: Vec<u64> = order.iter().map(|i| sources[*i as usize]).collect();
        for o in own.iter_mut().filter(|o| **o != NO_SOURCE) {
            *o = rank[*o as usize];
        }
        for p in &mut place {
            if let Place::Point(s, ..) = p {
                *s = rank[*s as usize];
            }
        }
        for a in &mut area_sources {
            for s in a {
                *s = rank[*s as usize];
            }
        }
        Sources {
            cells: sources,
            place,
            own,
            area_sources,
        }
    }
}
