//! Property tests of the scoring engine on random small stores: an added civilian-harm event
//! never lowers any cell's risk; a cell with no residents is never high or critical; data
//! dated or published after D never change snapshot D.

use proptest::prelude::*;
use std::collections::HashMap;
use vigil::config::Config;
use vigil::model::cell::CellRecord;
use vigil::model::rows::{Category, Event, PopulationCell, Precision, Table};
use vigil::risk::Engine;
use vigil::store::Store;

const D: i32 = 19_900; // 2024-06-26

#[derive(Debug, Clone)]
struct Spec {
    dlat: f64,
    dlon: f64,
    age: i32,
    published_after: i32,
    fatalities: i64,
    category: u8,
    precision: u8,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        -0.2f64..0.2,
        -0.2f64..0.2,
        -30i32..420,
        0i32..40,
        0i64..30,
        0u8..4,
        0u8..4,
    )
        .prop_map(
            |(dlat, dlon, age, published_after, fatalities, category, precision)| Spec {
                dlat,
                dlon,
                age,
                published_after,
                fatalities,
                category,
                precision,
            },
        )
}

fn event(i: usize, s: &Spec) -> Event {
    let (lat, lon) = (6.5 + s.dlat, 21.0 + s.dlon);
    let day = D - s.age;
    let category = [
        Category::CivilianHarm,
        Category::ArmedClash,
        Category::RemoteViolence,
        Category::Unrest,
    ][s.category as usize];
    let cell = vigil::grid::cell_of(lat, lon, h3o::Resolution::Seven)
        .ok()
        .map(u64::from);
    Event {
        published_at: Some(i64::from(day + s.published_after) * 86_400 + 3_600),
        precision: [
            Precision::Exact,
            Precision::Near,
            Precision::Admin1,
            Precision::Region,
        ][s.precision as usize],
        ..Event::at(
            "acled",
            &format!("E{i}"),
            day,
            (lat, lon),
            cell,
            category,
            s.fatalities,
        )
    }
}

/// Residents in every other cell of `events` (the rest have none).
fn population(events: &[Event]) -> Vec<PopulationCell> {
    let mut cells: Vec<u64> = events.iter().filter_map(|e| e.cell).collect();
    cells.sort_unstable();
    cells.dedup();
    cells
        .iter()
        .enumerate()
        .map(|(i, c)| PopulationCell {
            cell: *c,
            population: if i % 2 == 0 { 0.0 } else { 300.0 },
        })
        .collect()
}

/// Scores day `d` of a fresh store holding `events` and `population`.
fn score(events: &[Event], population: &[PopulationCell], d: i32) -> HashMap<u64, CellRecord> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut store =
        Store::open_writer(dir.path(), 7, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    store
        .publish(
            vec![
                (
                    "events",
                    Event::to_frame(events).unwrap_or_else(|e| panic!("{e}")),
                ),
                (
                    "population",
                    PopulationCell::to_frame(population).unwrap_or_else(|e| panic!("{e}")),
                ),
            ],
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let config = Config::default();
    let mut engine = Engine::new(&store, &config, d, d).unwrap_or_else(|e| panic!("{e}"));
    let scored = engine
        .score(&vigil::risk::Prior::of(&store), d)
        .unwrap_or_else(|e| panic!("{e}"));
    scored.rows.into_iter().map(|r| (r.cell, r)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn an_added_civilian_harm_event_never_lowers_any_cell(
        specs in proptest::collection::vec(spec(), 1..30),
        mut extra in spec(),
    ) {
        extra.category = 0;
        let mut events: Vec<Event> = specs.iter().enumerate().map(|(i, s)| event(i, s)).collect();
        let people = population(&events);
        let before = score(&events, &people, D);
        events.push(event(999, &extra));
        let after = score(&events, &people, D);
        for (cell, r) in &before {
            let now = after.get(cell).map_or(f64::NAN, |a| a.risk);
            prop_assert!(now >= r.risk, "cell {cell:x}: {} → {now}", r.risk);
        }
    }

    #[test]
    fn a_cell_without_residents_is_never_high(specs in proptest::collection::vec(spec(), 1..40)) {
        let events: Vec<Event> = specs.iter().enumerate().map(|(i, s)| event(i, s)).collect();
        for r in score(&events, &population(&events), D).values() {
            if r.population.unwrap_or(0.0) + r.displaced <= 0.0 {
                prop_assert_eq!(r.risk, 0.0);
                prop_assert!(!r.tier.is_high());
            }
        }
    }

    #[test]
    fn data_known_only_after_d_never_change_snapshot_d(
        specs in proptest::collection::vec(spec(), 1..30),
        later in proptest::collection::vec(spec(), 1..10),
    ) {
        let events: Vec<Event> = specs.iter().enumerate().map(|(i, s)| event(i, s)).collect();
        let people = population(&events);
        let before = score(&events, &people, D);
        let mut more = events.clone();
        for (i, s) in later.iter().enumerate() {
            let mut e = event(1000 + i, s);
            // Dated after D, or dated before but published after D.
            if e.date_end <= D {
                e.published_at = Some(i64::from(D + 1 + s.published_after) * 86_400);
            }
            more.push(e);
        }
        let after = score(&more, &people, D);
        prop_assert_eq!(before, after);
    }
}
