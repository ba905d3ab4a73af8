//! Seasonal mobility (issue 5): in a month whose expected rainfall at a base exceeds
//! `rainy_month_mm`, its reach shrinks by `rainy_reach_factor`, and the snapshot says so.

use vigil::config::Config;
use vigil::grid::{cell_of, center};
use vigil::model::day::days_from_ymd;
use vigil::model::rows::{Base, Category, ClimateValue, Event, Table};
use vigil::store::snapshot::Snapshot;
use vigil::store::Store;

fn day(y: i32, m: u32, d: u32) -> i32 {
    days_from_ymd(y, m, d).unwrap_or_default()
}

#[test]
fn a_rainy_month_halves_a_base_reach() {
    let res = h3o::Resolution::Seven;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut store =
        Store::open_writer(dir.path(), 7, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let cell = |lat: f64, lon: f64| {
        cell_of(lat, lon, res)
            .map(u64::from)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let base_cell = cell(6.5, 21.0);
    // A company: 15 km, 7.5 km in the rainy season.
    let base = Base::at(
        "M",
        "Riverside",
        (6.5, 21.0),
        base_cell,
        (day(2020, 1, 1), day(2030, 1, 1)),
        Some(200),
    );
    // A village ≈11 km east of the base.
    let village = cell(6.5, 21.1);
    let km = vigil::grid::distance_km(
        (6.5, 21.0),
        vigil::grid::cell_from_u64(village)
            .map(center)
            .unwrap_or_default(),
    );
    assert!(km > 7.5 && km < 15.0, "{km}");
    // Rainfall at the base: wet Julys (250 mm), dry Decembers (10 mm), 2021–2023.
    let mut rain = Vec::new();
    for y in 2021..=2023 {
        for (m, mm) in [(7, 250.0), (12, 10.0)] {
            rain.push(ClimateValue {
                cell: base_cell,
                period: day(y, m, 1),
                variable: "precip_mm".into(),
                value: mm,
            });
        }
    }
    let event = Event::at(
        "acled",
        "E1",
        day(2024, 1, 1),
        (6.5, 21.1),
        Some(village),
        Category::CivilianHarm,
        1,
    );
    store
        .publish(
            vec![
                (
                    "events",
                    Event::to_frame(&[event]).unwrap_or_else(|e| panic!("{e}")),
                ),
                (
                    "bases",
                    Base::to_frame(&[base]).unwrap_or_else(|e| panic!("{e}")),
                ),
                (
                    "climate",
                    ClimateValue::to_frame(&rain).unwrap_or_else(|e| panic!("{e}")),
                ),
            ],
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let config = Config::default();
    let covered = |store: &mut Store, d: i32| {
        let (date, info) =
            vigil::risk::score_day(store, &config, Some(d)).unwrap_or_else(|e| panic!("{e}"));
        let snap = Snapshot::load(store, Some(&date)).unwrap_or_else(|e| panic!("{e}"));
        let r = snap
            .index
            .get(&village)
            .map(|i| snap.cells[*i].clone())
            .unwrap_or_else(|| panic!("village in grid"));
        (r.coverage.covered, info.reduced_bases)
    };
    // July: expected 250 mm > 200 → reach 7.5 km, the village is out of reach.
    assert_eq!(
        covered(&mut store, day(2024, 7, 15)),
        (false, vec!["Riverside (M)".to_owned()])
    );
    // December: dry, full 15 km reach.
    assert_eq!(covered(&mut store, day(2024, 12, 15)), (true, vec![]));
    // A wetter threshold than the Julys: no reduction.
    let mut wet = Config::default();
    wet.coverage.rainy_month_mm = 300.0;
    let (date, info) = vigil::risk::score_day(&mut store, &wet, Some(day(2024, 7, 16)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(info.reduced_bases.is_empty(), "{date}");
}
