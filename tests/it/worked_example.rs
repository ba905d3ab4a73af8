//! The worked example of docs/methodology.md §9, end to end: two events written to a store,
//! scored by the engine, give the hand-computed numbers.

use vigil::config::Config;
use vigil::model::cell::Tier;
use vigil::model::day::days_from_ymd;
use vigil::model::rows::{Category, Event, PopulationCell, Table};
use vigil::store::snapshot::Snapshot;
use vigil::store::Store;

fn event(id: &str, day: i32, fatalities: i64, cell: u64) -> Event {
    Event::at(
        "acled",
        id,
        day,
        (6.5, 21.0),
        Some(cell),
        Category::CivilianHarm,
        fatalities,
    )
}

#[test]
fn the_worked_example_by_hand_is_what_the_engine_scores() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut store =
        Store::open_writer(dir.path(), 7, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let cell = vigil::grid::cell_of(6.5, 21.0, h3o::Resolution::Seven)
        .map(u64::from)
        .unwrap_or_else(|e| panic!("{e}"));
    let d = days_from_ymd(2024, 6, 30).unwrap_or_default();
    let events = vec![event("A", d - 30, 3, cell), event("B", d - 5, 0, cell)];
    let population = vec![PopulationCell {
        cell,
        population: 250.0,
    }];
    store
        .publish(
            vec![
                (
                    "events",
                    Event::to_frame(&events).unwrap_or_else(|e| panic!("{e}")),
                ),
                (
                    "population",
                    PopulationCell::to_frame(&population).unwrap_or_else(|e| panic!("{e}")),
                ),
            ],
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let config = Config::default();
    vigil::risk::score_day(&mut store, &config, Some(d)).unwrap_or_else(|e| panic!("{e}"));
    let snap = Snapshot::load(&store, None).unwrap_or_else(|e| panic!("{e}"));
    let r = snap
        .index
        .get(&cell)
        .map(|i| snap.cells[*i].clone())
        .unwrap_or_else(|| panic!("cell in grid"));
    let close = |got: f64, want: f64| (got - want).abs() < 1e-6;
    // Components: 1 − exp(−load) of each part; load shares.
    assert!(close(r.harm, 0.426_356), "harm {}", r.harm);
    assert!(close(r.baseline, 0.007_815), "baseline {}", r.baseline);
    assert!(
        close(r.escalation, 0.010_661),
        "escalation {}",
        r.escalation
    );
    assert_eq!((r.conflict, r.spread, r.climate), (0.0, 0.0, 0.0));
    assert!(close(r.hazard, 0.436_906), "hazard {}", r.hazard);
    assert!(close(r.exposure, 0.632_121));
    assert!(close(r.risk, 0.525_526), "risk {}", r.risk);
    assert_eq!(r.tier, Tier::High);
    assert!(close(r.harm_share, 0.967_677));
    assert!(close(r.baseline_share, 0.013_661));
    assert!(close(r.escalation_share, 0.018_663));
    assert_eq!(r.events, 2);
    assert_eq!(r.civilian_fatalities_90d, 3);
    assert_eq!(r.precise_share, Some(1.0));
    // Without population data exposure is neutral and the snapshot says so.
    assert!(!snap.info.exposure_neutral);
}
